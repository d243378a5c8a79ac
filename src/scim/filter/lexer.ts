import { Rejection } from './failure.js';

/**
 * Tokens of the RFC 7644 §3.4.2.2 filter language, shared by filters and PATCH paths.
 * Keywords and operators are plain `word`s: the parser tells them from attribute names by position,
 * so an attribute may be called `and` or `pr` without any escaping.
 */
export type Token =
  | { readonly kind: 'word'; readonly start: number; readonly end: number; readonly text: string }
  | { readonly kind: 'string'; readonly start: number; readonly end: number; readonly value: string }
  | { readonly kind: 'number'; readonly start: number; readonly end: number; readonly value: number }
  | { readonly kind: '(' | ')' | '[' | ']' | '.' | 'end'; readonly start: number; readonly end: number };

const WHITESPACE = new Set([' ', '\t', '\n', '\r']);
const PUNCTUATION = new Set(['(', ')', '[', ']', '.']);
/** An attribute path, a URN-qualified one included (`urn:…:2.0:User:manager.$ref`), or a keyword. */
const WORD_START = /[A-Za-z$]/;
const WORD_PART = /[A-Za-z0-9_$:.-]/;
/** A number candidate runs as far as a word would, so `12abc` is one bad number, not `12` then `abc`. */
const NUMBER_START = /[-0-9]/;
const NUMBER_PART = /[A-Za-z0-9_$:.+-]/;
/** RFC 8259 §6. */
const JSON_NUMBER = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$/;
const SIMPLE_ESCAPES: ReadonlyMap<string, string> = new Map([
  ['"', '"'],
  ['\\', '\\'],
  ['/', '/'],
  ['b', '\b'],
  ['f', '\f'],
  ['n', '\n'],
  ['r', '\r'],
  ['t', '\t'],
]);
const MAX_SHOWN = 40;

/** Splits `text` into tokens ending with an `end` token. Throws `Rejection` with the offending position. */
export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i];
    if (WHITESPACE.has(ch)) {
      i += 1;
    } else if (PUNCTUATION.has(ch)) {
      tokens.push({ kind: ch as '(' | ')' | '[' | ']' | '.', start: i, end: i + 1 });
      i += 1;
    } else if (ch === '"') {
      const token = readString(text, i);
      tokens.push(token);
      i = token.end;
    } else if (NUMBER_START.test(ch)) {
      const token = readNumber(text, i);
      tokens.push(token);
      i = token.end;
    } else if (WORD_START.test(ch)) {
      const end = runEnd(text, i + 1, WORD_PART);
      tokens.push({ kind: 'word', start: i, end, text: text.slice(i, end) });
      i = end;
    } else {
      throw new Rejection(`unexpected character \`${String.fromCodePoint(text.codePointAt(i) as number)}\``, i);
    }
  }
  tokens.push({ kind: 'end', start: text.length, end: text.length });
  return tokens;
}

/** How a token reads in an error message: its source text in backticks, shortened if long. */
export function describeToken(token: Token, text: string): string {
  if (token.kind === 'end') return 'the end of the input';
  const source = text.slice(token.start, token.end);
  return `\`${source.length > MAX_SHOWN ? `${source.slice(0, MAX_SHOWN)}…` : source}\``;
}

function runEnd(text: string, from: number, part: RegExp): number {
  let end = from;
  while (end < text.length && part.test(text[end])) end += 1;
  return end;
}

function readNumber(text: string, start: number): Token {
  const end = runEnd(text, start + 1, NUMBER_PART);
  const source = text.slice(start, end);
  if (!JSON_NUMBER.test(source)) throw new Rejection(`invalid number \`${source}\``, start);
  const value = Number(source);
  // `1e999` is valid JSON but not a finite number; no attribute could hold it.
  if (!Number.isFinite(value)) throw new Rejection(`number \`${source}\` is out of range`, start);
  return { kind: 'number', start, end, value };
}

/** A JSON string (RFC 8259 §7): the escapes are decoded, raw control characters are refused. */
function readString(text: string, start: number): Token {
  let value = '';
  let i = start + 1;
  while (i < text.length) {
    const ch = text[i];
    if (ch === '"') return { kind: 'string', start, end: i + 1, value };
    if (ch === '\\') {
      const [decoded, length] = readEscape(text, i);
      value += decoded;
      i += length;
    } else if (ch < ' ') {
      throw new Rejection(`control character U+${hex4(ch)} must be escaped in a string`, i);
    } else {
      value += ch;
      i += 1;
    }
  }
  throw new Rejection('unterminated string', start);
}

/** Decodes the escape at `at` (a backslash); returns the text and the escape's length. */
function readEscape(text: string, at: number): [string, number] {
  const letter = text.charAt(at + 1);
  const simple = SIMPLE_ESCAPES.get(letter);
  if (simple !== undefined) return [simple, 2];
  const digits = text.slice(at + 2, at + 6);
  // Each `\uXXXX` is one UTF-16 code unit, so surrogate pairs written as two escapes join up.
  if (letter === 'u' && /^[0-9a-fA-F]{4}$/.test(digits)) return [String.fromCharCode(parseInt(digits, 16)), 6];
  throw new Rejection(`invalid escape \`${text.slice(at, letter === 'u' ? at + 6 : at + 2)}\` in string`, at);
}

function hex4(ch: string): string {
  return ch.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0');
}

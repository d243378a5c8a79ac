import type { Result } from '../../core/errors.js';
import type { AttrPath, CompareOp, Filter, FilterValue } from '../../core/filter.js';
import { attempt, Rejection } from './failure.js';
import { describeToken, tokenize, type Token } from './lexer.js';
import { printAttrPath } from './print.js';

/**
 * Bounds on untrusted input. Depth counts nesting of `( )`, `not ( )` and `[ ]`, which is what makes
 * the parser (and every later consumer) recurse; a long flat `a and b and c …` is bounded by `maxNodes`.
 */
export interface FilterLimits {
  /** Characters (UTF-16 code units). */
  readonly maxLength: number;
  /** AST nodes: `compare`, `present`, `and`, `or`, `not`, `valuePath`. */
  readonly maxNodes: number;
  readonly maxDepth: number;
}

export const DEFAULT_FILTER_LIMITS: FilterLimits = { maxLength: 4096, maxNodes: 256, maxDepth: 32 };

/**
 * Parses an RFC 7644 §3.4.2.2 filter into an AST of paths as written (resolve them with `resolveFilter`).
 * Keywords, operators and `true`/`false`/`null` are case-insensitive; `and` binds tighter than `or`,
 * both associate to the left. Entra's `emails[type eq "work"].value eq "x"` is read as
 * `emails[type eq "work" and value eq "x"]`, which means the same and leaves one valuePath form.
 * Failures are `invalid_filter` with a detail such as ``position 9: expected a value …, found `)` ``.
 *
 * @example parseFilter('userName eq "bjensen" and not (emails pr)')
 */
export function parseFilter(text: string, limits: Partial<FilterLimits> = {}): Result<Filter<AttrPath>> {
  return attempt('invalid_filter', () => {
    const parser = new Parser(text, { ...DEFAULT_FILTER_LIMITS, ...limits });
    const filter = parser.filter(false);
    parser.expectEnd('`and`, `or` or the end of the filter');
    return filter;
  });
}

const OPERATORS: ReadonlySet<string> = new Set<CompareOp | 'pr'>([
  'eq',
  'ne',
  'co',
  'sw',
  'ew',
  'gt',
  'ge',
  'lt',
  'le',
  'pr',
]);
const LITERALS: ReadonlyMap<string, FilterValue> = new Map([
  ['true', true],
  ['false', false],
  ['null', null],
]);
/** RFC 7644 ATTRNAME, plus `$ref` (RFC 7643 §2.4 uses it as a sub-attribute name). */
const ATTRNAME = /^(?:[a-z][a-z0-9_-]*|\$ref)$/i;
const URN = /^urn(?::[^:]+)+$/i;

/**
 * Recursive descent over the tokens of one filter or PATCH path. `parsePatchPath` drives it too, so
 * both grammars share one reading of attribute paths and of `attr[filter].sub`.
 * Methods throw `Rejection`; the entry points wrap them in `attempt`.
 */
export class Parser {
  private readonly tokens: readonly Token[];
  private index = 0;
  private nodes = 0;
  private depth = 0;

  constructor(
    private readonly text: string,
    private readonly limits: FilterLimits,
  ) {
    if (text.length > limits.maxLength) {
      throw new Rejection(`input longer than the limit of ${limits.maxLength} characters`, limits.maxLength);
    }
    this.tokens = tokenize(text);
  }

  peek(): Token {
    // INVARIANT: the token list ends with an `end` token and `next` never moves past it.
    return this.tokens[this.index];
  }

  next(): Token {
    const token = this.peek();
    if (token.kind !== 'end') this.index += 1;
    return token;
  }

  expectEnd(expected: string): void {
    if (this.peek().kind !== 'end') throw this.unexpected(expected);
  }

  /** `or`-separated conjunctions. Inside `[ ]` a further valuePath is refused, as the RFC's valFilter does. */
  filter(inValuePath: boolean): Filter<AttrPath> {
    let left = this.conjunction(inValuePath);
    while (this.atWord('or')) {
      this.next();
      left = this.node({ kind: 'or', left, right: this.conjunction(inValuePath) });
    }
    return left;
  }

  /** `attr` or `attr.sub`, optionally URN-qualified; the URN is everything before the last `:`. */
  attrPath(expected: string): AttrPath {
    const token = this.peek();
    if (token.kind !== 'word') throw this.unexpected(expected);
    this.next();
    const colon = token.text.lastIndexOf(':');
    const uri = colon < 0 ? undefined : token.text.slice(0, colon);
    const [attr, sub, ...rest] = token.text.slice(colon + 1).split('.');
    const valid =
      (uri === undefined || URN.test(uri)) &&
      ATTRNAME.test(attr) &&
      (sub === undefined || ATTRNAME.test(sub)) &&
      rest.length === 0;
    if (!valid) throw new Rejection(`invalid attribute path \`${token.text}\``, token.start);
    return { ...(uri === undefined ? {} : { uri }), attr, ...(sub === undefined ? {} : { sub }) };
  }

  /** `[filter]` after `path`, then an optional `.sub` (Entra's `emails[type eq "work"].value`). */
  valueFilter(path: AttrPath): { readonly filter: Filter<AttrPath>; readonly sub?: string } {
    const open = this.next();
    if (path.sub !== undefined) {
      throw new Rejection(`\`[\` must follow a top-level attribute, not \`${printAttrPath(path)}\``, open.start);
    }
    const filter = this.nested(open, () => this.filter(true));
    this.expect(']', '`and`, `or` or `]`');
    if (this.peek().kind !== '.') return { filter };
    this.next();
    return { filter, sub: this.attrName() };
  }

  private conjunction(inValuePath: boolean): Filter<AttrPath> {
    let left = this.term(inValuePath);
    while (this.atWord('and')) {
      this.next();
      left = this.node({ kind: 'and', left, right: this.term(inValuePath) });
    }
    return left;
  }

  private term(inValuePath: boolean): Filter<AttrPath> {
    const token = this.peek();
    if (token.kind === '(') {
      this.next();
      return this.parenthesised(token, inValuePath);
    }
    // `not` is a keyword only before `(`; elsewhere it is an attribute name like any other.
    if (this.atWord('not') && this.tokens[this.index + 1]?.kind === '(') {
      this.next();
      const filter = this.parenthesised(this.next(), inValuePath);
      return this.node({ kind: 'not', filter });
    }
    return this.attributeExpression(inValuePath);
  }

  private parenthesised(open: Token, inValuePath: boolean): Filter<AttrPath> {
    const filter = this.nested(open, () => this.filter(inValuePath));
    this.expect(')', '`and`, `or` or `)`');
    return filter;
  }

  private attributeExpression(inValuePath: boolean): Filter<AttrPath> {
    const path = this.attrPath('an attribute path, `not` or `(`');
    if (this.peek().kind !== '[') return this.test(path);
    if (inValuePath) throw new Rejection('a value path cannot contain another value path', this.peek().start);
    const { filter, sub } = this.valueFilter(path);
    if (sub === undefined) return this.node({ kind: 'valuePath', path, filter });
    const test = this.test({ attr: sub });
    return this.node({ kind: 'valuePath', path, filter: this.node({ kind: 'and', left: filter, right: test }) });
  }

  /** `pr`, or a comparison operator and its value. */
  private test(path: AttrPath): Filter<AttrPath> {
    const token = this.peek();
    const op = token.kind === 'word' ? token.text.toLowerCase() : '';
    if (!OPERATORS.has(op)) {
      throw this.unexpected('an operator (`eq`, `ne`, `co`, `sw`, `ew`, `gt`, `ge`, `lt`, `le` or `pr`)');
    }
    this.next();
    if (op === 'pr') return this.node({ kind: 'present', path });
    return this.node({ kind: 'compare', path, op: op as CompareOp, value: this.value() });
  }

  private value(): FilterValue {
    const token = this.peek();
    if (token.kind === 'string' || token.kind === 'number') {
      this.next();
      return token.value;
    }
    const literal = token.kind === 'word' ? LITERALS.get(token.text.toLowerCase()) : undefined;
    if (literal === undefined) throw this.unexpected('a value (a string, a number, `true`, `false` or `null`)');
    this.next();
    return literal;
  }

  private attrName(): string {
    const token = this.peek();
    if (token.kind !== 'word' || !ATTRNAME.test(token.text)) throw this.unexpected('a sub-attribute name');
    this.next();
    return token.text;
  }

  private nested<T>(open: Token, parse: () => T): T {
    this.depth += 1;
    if (this.depth > this.limits.maxDepth) {
      throw new Rejection(`nested deeper than the limit of ${this.limits.maxDepth} levels`, open.start);
    }
    const result = parse();
    this.depth -= 1;
    return result;
  }

  private node(node: Filter<AttrPath>): Filter<AttrPath> {
    this.nodes += 1;
    if (this.nodes > this.limits.maxNodes) {
      throw new Rejection(`more than the limit of ${this.limits.maxNodes} expressions`, this.peek().start);
    }
    return node;
  }

  private expect(kind: Token['kind'], expected: string): void {
    if (this.peek().kind !== kind) throw this.unexpected(expected);
    this.next();
  }

  private atWord(keyword: string): boolean {
    const token = this.peek();
    return token.kind === 'word' && token.text.toLowerCase() === keyword;
  }

  private unexpected(expected: string): Rejection {
    const token = this.peek();
    return new Rejection(`expected ${expected}, found ${describeToken(token, this.text)}`, token.start);
  }
}

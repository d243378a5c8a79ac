import { describe, expect, it } from 'vitest';
import { etagOf, matchesIfMatch, matchesIfNoneMatch } from './etag.js';

describe('etagOf', () => {
  it('is the weak tag of the version', () => {
    expect(etagOf(42)).toBe('W/"42"');
  });
});

describe('matchesIfMatch (true: the write goes on; false: 412)', () => {
  it.each([
    ['*', true],
    [' * ', true],
    ['W/"42"', true],
    ['"42"', true],
    ['w/"42"', true],
    ['42', true],
    ['W/"41", W/"42"', true],
    ['W/"41",W/"42"', true],
    ['"a,b", W/"42"', true],
    ['W/"41"', false],
    ['W/"420"', false],
    ['W/"4"', false],
    ['', false],
    ['W/"42', false],
    ['garbage "x"', false],
  ])('%j at version 42 → %s', (header, expected) => {
    expect(matchesIfMatch(header, 42)).toBe(expected);
  });
});

describe('matchesIfNoneMatch (true: send the body; false: 304)', () => {
  it.each([
    ['W/"42"', false],
    ['"42"', false],
    ['W/"1", W/"42"', false],
    ['*', false],
    ['W/"41"', true],
    ['W/"41", "43"', true],
    ['', true],
  ])('%j at version 42 → %s', (header, expected) => {
    expect(matchesIfNoneMatch(header, 42)).toBe(expected);
  });

  it('agrees with etagOf', () => {
    expect(matchesIfNoneMatch(etagOf(7), 7)).toBe(false);
    expect(matchesIfMatch(etagOf(7), 7)).toBe(true);
  });
});

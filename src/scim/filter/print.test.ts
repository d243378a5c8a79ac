import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AttrPath, CompareOp, Filter } from '../../core/filter.js';
import { parseFilter } from './parser.js';
import { printAttrPath, printFilter } from './print.js';

type F = Filter<AttrPath>;
const OPS: readonly CompareOp[] = ['eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le'];

/** RFC 7644 ATTRNAMEs, including keywords, which the parser must read as names where names go. */
const name = fc.oneof(
  fc.stringMatching(/^[A-Za-z][A-Za-z0-9_-]{0,8}$/),
  fc.constantFrom('$ref', 'and', 'or', 'not', 'pr', 'eq', 'true', 'null'),
);
const uri = fc.constantFrom(
  'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User',
  'urn:ietf:params:scim:schemas:core:2.0:User',
  'urn:example:scim:1.0:Custom-Thing',
);
const path = (withSub: boolean): fc.Arbitrary<AttrPath> =>
  fc
    .record({
      uri: fc.option(uri, { nil: undefined }),
      attr: name,
      sub: withSub ? fc.option(name, { nil: undefined }) : fc.constant(undefined),
    })
    .map(({ uri, attr, sub }) => ({
      ...(uri === undefined ? {} : { uri }),
      attr,
      ...(sub === undefined ? {} : { sub }),
    }));
const value = fc.oneof(
  fc.string({ unit: 'binary' }),
  fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)) }),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
);
const leaf: fc.Arbitrary<F> = fc.oneof(
  fc.record({ kind: fc.constant('compare' as const), path: path(true), op: fc.constantFrom(...OPS), value }),
  fc.record({ kind: fc.constant('present' as const), path: path(true) }),
);

/** Random ASTs of the shapes the parser produces: no valuePath inside a valuePath, none on `a.b`. */
const { filter } = fc.letrec<{ filter: F; inner: F }>((tie) => ({
  filter: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.record({ kind: fc.constantFrom('and' as const, 'or' as const), left: tie('filter'), right: tie('filter') }),
    fc.record({ kind: fc.constant('not' as const), filter: tie('filter') }),
    fc.record({ kind: fc.constant('valuePath' as const), path: path(false), filter: tie('inner') }),
  ),
  inner: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.record({ kind: fc.constantFrom('and' as const, 'or' as const), left: tie('inner'), right: tie('inner') }),
    fc.record({ kind: fc.constant('not' as const), filter: tie('inner') }),
  ),
}));

/** The round trip is about printing, not limits: random trees may be larger than the defaults allow. */
const ROOMY = { maxLength: 1_000_000, maxNodes: 100_000, maxDepth: 1_000 };

describe('printFilter', () => {
  it('round-trips: parseFilter(printFilter(ast)) equals ast', () => {
    fc.assert(
      fc.property(filter, (ast) => {
        const reparsed = parseFilter(printFilter(ast), ROOMY);
        // toEqual, not toStrictEqual: fc.record builds null-prototype objects. It still tells -0 from 0.
        expect(reparsed).toEqual({ ok: true, value: ast });
      }),
      { numRuns: 1000 },
    );
  });

  it.each([
    ['a eq 1 or b eq 2 and c eq 3', 'a eq 1 or b eq 2 and c eq 3'],
    ['(a eq 1 or b eq 2) and c eq 3', '(a eq 1 or b eq 2) and c eq 3'],
    ['a pr and (b pr and c pr)', 'a pr and (b pr and c pr)'],
    ['((a pr) and b pr) and c pr', 'a pr and b pr and c pr'],
    ['a pr or (b pr and c pr)', 'a pr or b pr and c pr'],
    ['NOT(a PR)', 'not (a pr)'],
    ['emails[type eq "work"].value eq "x"', 'emails[type eq "work" and value eq "x"]'],
    ['a eq "caf\\u00e9 \\"q\\""', 'a eq "café \\"q\\""'],
    ['a eq -0', 'a eq -0'],
    ['a eq 1E2', 'a eq 100'],
    ['a eq TRUE', 'a eq true'],
  ])('prints `%s` as `%s`', (text, printed) => {
    const result = parseFilter(text);
    expect(result.ok && printFilter(result.value)).toBe(printed);
  });
});

describe('printAttrPath', () => {
  it.each([
    [{ attr: 'userName' }, 'userName'],
    [{ attr: 'name', sub: 'givenName' }, 'name.givenName'],
    [{ uri: 'urn:x:User', attr: 'manager', sub: 'value' }, 'urn:x:User:manager.value'],
    [{ uri: 'urn:x:User', attr: '' }, 'urn:x:User'],
  ])('%o → %s', (path, text) => {
    expect(printAttrPath(path)).toBe(text);
  });
});

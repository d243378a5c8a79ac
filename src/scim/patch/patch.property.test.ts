import fc from 'fast-check';
import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../core/errors.js';
import type { ScimDoc } from '../../store/store.js';
import { normalizeResource, type MemberValue } from '../resource/normalize.js';
import { groupResourceType, userResourceType } from '../schema/resource-types.js';
import { ENTERPRISE_USER_SCHEMA as ENT, PATCH_OP, USER_SCHEMA } from '../schema/urns.js';
import { applyPatch, memberDelta, type PatchResult } from './index.js';

const msg = (Operations: unknown[]) => ({ schemas: [PATCH_OP], Operations });

// --- users -----------------------------------------------------------------------------------

const text = fc.constantFrom('a', 'B', 'x@y', '', 'True');
const bool = fc.oneof(fc.boolean(), fc.constantFrom('True', 'False', 'tRuE'));
const anything = fc.oneof(text, bool, fc.integer(), fc.constant(null), fc.constant({ value: 'a' }), fc.constant([]));
const addOrReplace = fc.constantFrom('add', 'replace', 'Add', 'Replace');
const email = fc.record(
  { value: text, type: fc.constantFrom('work', 'home', 'other'), primary: bool, display: text },
  { requiredKeys: ['value'] },
);

const userOp = fc.oneof(
  fc.record({
    op: addOrReplace,
    path: fc.constantFrom(
      'title',
      'displayName',
      'NICKNAME',
      'userName',
      'name.givenName',
      'name.familyName',
      `${ENT}:department`,
      `${ENT}:manager.value`,
      'emails[type eq "work"].value',
      'emails[type eq "home"].display',
      'emails.display',
    ),
    value: text,
  }),
  fc.record({ op: addOrReplace, path: fc.constantFrom('active', 'emails[type eq "work"].primary', 'emails[value eq "a"].primary'), value: bool }),
  fc.record({ op: addOrReplace, path: fc.constant('emails'), value: fc.oneof(fc.array(email, { maxLength: 3 }), email) }),
  fc.record({ op: addOrReplace, path: fc.constant('emails[type eq "other"]'), value: email }),
  fc.record({
    op: addOrReplace,
    path: fc.constant(`${ENT}:manager`),
    value: fc.oneof(text, fc.record({ value: text }), fc.tuple(fc.record({ value: text, $ref: fc.constant('../Users/x') }))),
  }),
  fc.record({ op: addOrReplace, path: fc.constant('name'), value: fc.record({ givenName: text, familyName: text }, { requiredKeys: [] }) }),
  fc.record({
    op: fc.constantFrom('remove', 'Remove'),
    path: fc.constantFrom(
      'title',
      'name',
      'name.givenName',
      'emails',
      'emails[type eq "work"]',
      'emails[primary eq true]',
      'emails.type',
      `${ENT}:manager`,
      `${ENT}:manager[value eq "a"]`,
      ENT,
      'active',
      'userName',
    ),
  }),
  fc.record({ op: fc.constant('remove'), path: fc.constantFrom('emails', `${ENT}:manager`), value: fc.array(fc.record({ value: text }), { maxLength: 2 }) }),
  fc.record({
    op: addOrReplace,
    value: fc.record(
      {
        displayName: text,
        'name.givenName': text,
        [`${ENT}:employeeNumber`]: text,
        [ENT]: fc.record({ costCenter: text }),
        active: bool,
        id: fc.constant('u-1'),
        emails: fc.array(email, { maxLength: 2 }),
      },
      { requiredKeys: [] },
    ),
  }),
  // Operations that are often invalid: they must fail with an AppError and nothing else.
  fc.record({ op: fc.constantFrom('add', 'replace', 'remove', 'move'), path: fc.constantFrom('active', 'title', 'id', 'groups', 'emails[value co "x"].type', 'name.nope', 'emails['), value: anything }),
);

const initialUser: fc.Arbitrary<ScimDoc> = fc
  .record(
    { title: text, name: fc.record({ givenName: text, familyName: text }, { requiredKeys: [] }), emails: fc.array(email, { maxLength: 3 }), [ENT]: fc.record({ department: text, manager: text }, { requiredKeys: [] }) },
    { requiredKeys: [] },
  )
  .map((extra) => {
    try {
      return normalizeResource({ schemas: [USER_SCHEMA], userName: 'u', ...extra }, userResourceType, 'create').doc;
    } catch {
      return { userName: 'u', active: true };
    }
  });

/** Runs a PATCH; any throw must be an `AppError` a client caused. */
function attempt(input: ScimDoc, ops: unknown[]): PatchResult | undefined {
  try {
    return applyPatch({ ...input, id: 'u-1' }, msg(ops), userResourceType);
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).not.toBe('internal');
    return undefined;
  }
}

/**
 * The change vocabulary, derived from the schemas rather than from `diffDocs`: simple and
 * multi-valued attributes whole, singular complex ones per sub-attribute, extensions URN-qualified.
 */
const changePaths: { path: string; read: (doc: ScimDoc) => unknown }[] = [
  ...userResourceType.schema.attributes.map((def) => ({ schema: undefined as string | undefined, def })),
  { schema: undefined, def: { name: 'externalId' } },
  ...userResourceType.extensions.flatMap((e) => e.schema.attributes.map((def) => ({ schema: e.schema.id as string | undefined, def }))),
].flatMap(({ schema, def }) => {
  const container = (doc: ScimDoc) => ((schema === undefined ? doc : doc[schema]) ?? {}) as ScimDoc;
  const prefix = schema === undefined ? '' : `${schema}:`;
  const subs = 'subAttributes' in def && def.subAttributes !== undefined && !def.multiValued ? def.subAttributes : undefined;
  if (subs === undefined) return [{ path: `${prefix}${def.name}`, read: (doc: ScimDoc) => container(doc)[def.name] }];
  return subs.map((sub) => ({
    path: `${prefix}${def.name}.${sub.name}`,
    read: (doc: ScimDoc) => ((container(doc)[def.name] ?? {}) as ScimDoc)[sub.name],
  }));
});

describe('applyPatch properties', () => {
  it('(a) only AppErrors, and every result is a valid, already-normalized resource', () => {
    fc.assert(
      fc.property(initialUser, fc.array(userOp, { minLength: 1, maxLength: 6 }), (input, ops) => {
        const result = attempt(input, ops);
        if (result === undefined) return;
        const revalidated = normalizeResource({ schemas: [USER_SCHEMA, ENT], ...result.doc }, userResourceType, 'replace', input);
        // PUT defaults `active`; apart from that, the PATCH result is a fixpoint of validation.
        expect(revalidated.doc).toEqual({ active: true, ...result.doc });
      }),
      { numRuns: 2000 },
    );
  });

  it('(b) changes are exactly the paths whose values differ', () => {
    fc.assert(
      fc.property(initialUser, fc.array(userOp, { minLength: 1, maxLength: 6 }), (input, ops) => {
        const result = attempt(input, ops);
        if (result === undefined) return;
        const expected = changePaths
          .filter(({ read }) => !isDeepStrictEqual(read(input), read(result.doc)))
          .map(({ path, read }) => ({ path, before: read(input) ?? null, after: read(result.doc) ?? null }));
        const byPath = (a: { path: string }, b: { path: string }) => a.path.localeCompare(b.path);
        expect([...result.changes].sort(byPath)).toEqual(expected.sort(byPath));
      }),
      { numRuns: 2000 },
    );
  });
});

// --- group members ------------------------------------------------------------------------------

const ids = ['u1', 'u2', 'u3', 'u4', 'g1'] as const;
const id = fc.constantFrom(...ids);
const fastOp = fc.oneof(
  fc.record({
    op: fc.constantFrom('add', 'Add'),
    path: fc.constantFrom('members', 'Members'),
    value: fc.array(fc.record({ value: id, display: fc.constant('x'), $ref: fc.constant(null) }, { requiredKeys: ['value'] }), { maxLength: 3 }),
  }),
  fc.record({
    op: fc.constantFrom('remove', 'Remove'),
    path: fc.constant('members'),
    value: fc.array(fc.record({ value: id, type: fc.constantFrom('User', 'Group') }, { requiredKeys: ['value'] }), { minLength: 1, maxLength: 3 }),
  }),
  id.map((v) => ({ op: 'remove', path: `members[value eq "${v}"]` })),
);
const slowOp = fc.oneof(
  fc.constant({ op: 'remove', path: 'members' }),
  fc.array(id).map((vs) => ({ op: 'replace', path: 'members', value: vs.map((value) => ({ value })) })),
  fc.constant({ op: 'replace', path: 'displayName', value: 'New' }),
  id.map((value) => ({ op: 'add', path: 'members', value: [{ value, type: value.startsWith('g') ? 'Group' : 'User' }] })),
  id.map((value) => ({ op: 'remove', path: `members[value eq "${value}" or type eq "Group"]` })),
);
const initialMembers = fc.subarray([...ids]).map((vs) => vs.map((value): MemberValue => ({ value, type: value.startsWith('g') ? 'Group' : 'User' })));

function viaPatch(members: MemberValue[], ops: unknown[]): Set<string> {
  const result = applyPatch({ displayName: 'Eng', members }, msg(ops), groupResourceType);
  return new Set((result.members ?? members).map((m) => m.value));
}

function viaDelta(members: MemberValue[], delta: { add: string[]; remove: string[] }): Set<string> {
  // As `applyMemberDelta` does: removals, then additions.
  const out = new Set(members.map((m) => m.value));
  for (const v of delta.remove) out.delete(v);
  for (const v of delta.add) out.add(v);
  return out;
}

describe('memberDelta properties', () => {
  it('(c) member-only messages always take the fast path, with the same result as applyPatch', () => {
    fc.assert(
      fc.property(initialMembers, fc.array(fastOp, { minLength: 1, maxLength: 8 }), (members, ops) => {
        const delta = memberDelta(msg(ops));
        expect(delta).toBeDefined();
        expect(viaDelta(members, delta as NonNullable<typeof delta>)).toEqual(viaPatch(members, ops));
      }),
      { numRuns: 2000 },
    );
  });

  it('(c) whenever a mixed message takes the fast path, it agrees with applyPatch', () => {
    fc.assert(
      fc.property(initialMembers, fc.array(fc.oneof(fastOp, slowOp), { minLength: 1, maxLength: 6 }), (members, ops) => {
        const delta = memberDelta(msg(ops));
        if (delta !== undefined) expect(viaDelta(members, delta)).toEqual(viaPatch(members, ops));
      }),
      { numRuns: 2000 },
    );
  });
});

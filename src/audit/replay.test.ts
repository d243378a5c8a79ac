import { describe, expect, it } from 'vitest';
import type { AttributeChange, Change, ChangeSet } from '../core/change.js';
import { diffDocs } from '../scim/resource/diff.js';
import { ENTERPRISE_USER_SCHEMA } from '../scim/schema/urns.js';
import type { ChangeRecord, ScimDoc } from '../store/store.js';
import { HistoryState } from './replay.js';

const actor = { tokenId: null, kind: 'system' } as const;

/** Feeds changes to a state one revision after another, each one second later than the last. */
function replay(state: HistoryState, ...changes: Change[]): HistoryState {
  for (const change of changes) {
    const revision = state.revision + 1;
    state.apply({ revision, at: new Date(Date.UTC(2026, 0, 1, 0, 0, revision)).toISOString(), actor, change });
  }
  return state;
}

function scim(
  resourceType: 'User' | 'Group',
  resourceId: string,
  operation: ChangeSet['operation'],
  attributes: AttributeChange[] = [],
  members: { added?: string[]; removed?: string[] } = {},
): ChangeSet {
  return { resourceType, resourceId, operation, attributes, membersAdded: members.added ?? [], membersRemoved: members.removed ?? [] };
}

/** Builds a user's document from a create and then an update, both as `diffDocs` describes them. */
function roundTrip(before: ScimDoc, after: ScimDoc): ScimDoc | undefined {
  const state = replay(HistoryState.empty(), scim('User', 'u1', 'create', diffDocs({}, before)), scim('User', 'u1', 'patch', diffDocs(before, after)));
  return state.user('u1')?.doc;
}

function memberships(state: HistoryState): string[] {
  return state.toSnapshot().memberships.map((m) => `${m.groupId}>${m.memberId}:${m.memberType}`);
}

describe('HistoryState documents', () => {
  it('rebuilds core attributes and sub-attributes', () => {
    const before = { userName: 'alice', active: true, name: { givenName: 'Alice', familyName: 'Smith' } };
    const after = { userName: 'alice', active: false, title: 'SRE', name: { givenName: 'Alicia', familyName: 'Smith', formatted: 'Alicia Smith' } };
    expect(roundTrip(before, after)).toEqual(after);
  });

  it('rebuilds enterprise extension attributes, manager.value included', () => {
    const before = { userName: 'alice', [ENTERPRISE_USER_SCHEMA]: { department: 'Eng' } };
    const after = { userName: 'alice', [ENTERPRISE_USER_SCHEMA]: { department: 'Ops', manager: { value: 'u9' }, employeeNumber: '7' } };
    expect(roundTrip(before, after)).toEqual(after);
    expect(roundTrip(after, before)).toEqual(before);
  });

  it('removes attributes whose after is null, and drops the objects that leaves empty', () => {
    const before = { userName: 'alice', title: 'SRE', name: { givenName: 'Alice' }, [ENTERPRISE_USER_SCHEMA]: { manager: { value: 'u9' } } };
    expect(roundTrip(before, { userName: 'alice' })).toEqual({ userName: 'alice' });
  });

  it('replaces multi-valued attributes whole', () => {
    const before = { userName: 'alice', emails: [{ value: 'a@x', primary: true }, { value: 'b@x' }] };
    const after = { userName: 'alice', emails: [{ value: 'c@x', type: 'work' }] };
    expect(roundTrip(before, after)).toEqual(after);
  });

  it('turns a simple value into a complex one and back', () => {
    expect(roundTrip({ userName: 'a', x: 'simple' }, { userName: 'a', x: { y: 1 } })).toEqual({ userName: 'a', x: { y: 1 } });
    expect(roundTrip({ userName: 'a', x: { y: 1 } }, { userName: 'a', x: 'simple' })).toEqual({ userName: 'a', x: 'simple' });
  });

  it('never changes a document it has handed out', () => {
    const state = replay(HistoryState.empty(), scim('User', 'u1', 'create', diffDocs({}, { userName: 'a', name: { givenName: 'A' } })));
    const first = state.user('u1')!.doc;
    replay(state, scim('User', 'u1', 'patch', [{ path: 'name.givenName', before: 'A', after: 'B' }]));
    expect(first).toEqual({ userName: 'a', name: { givenName: 'A' } });
    expect(state.user('u1')!.doc).toEqual({ userName: 'a', name: { givenName: 'B' } });
  });

  it('keeps created, and takes version and lastModified from the last change', () => {
    const state = replay(HistoryState.empty(), scim('User', 'u1', 'create', diffDocs({}, { userName: 'a' })), scim('User', 'u1', 'replace', diffDocs({ userName: 'a' }, { userName: 'b' })));
    expect(state.user('u1')).toMatchObject({ created: '2026-01-01T00:00:01.000Z', lastModified: '2026-01-01T00:00:02.000Z', version: 2 });
  });
});

describe('HistoryState memberships', () => {
  const setup = () =>
    replay(
      HistoryState.empty(),
      scim('User', 'u1', 'create', diffDocs({}, { userName: 'a' })),
      scim('User', 'u2', 'create', diffDocs({}, { userName: 'b' })),
      scim('Group', 'g1', 'create', diffDocs({}, { displayName: 'Eng' }), { added: ['u1'] }),
      scim('Group', 'g2', 'create', diffDocs({}, { displayName: 'Ops' }), { added: ['g1', 'u2'] }),
    );

  it('adds and removes members, a known group as a Group, anything else as a User', () => {
    const state = setup();
    expect(memberships(state)).toEqual(['g1>u1:User', 'g2>g1:Group', 'g2>u2:User']);
    replay(state, scim('Group', 'g2', 'patch', [], { added: ['u1'], removed: ['u2'] }));
    expect(memberships(state)).toEqual(['g1>u1:User', 'g2>g1:Group', 'g2>u1:User']);
  });

  it('stamps the users a membership change reaches, nested ones included', () => {
    const state = replay(setup(), scim('Group', 'g2', 'patch', [], { removed: ['g1'] }));
    expect(state.user('u1')!.version).toBe(5);
    // u2 joined g2 when g2 was created, and stays put.
    expect(state.user('u2')!.version).toBe(4);
    expect(state.group('g2')!.version).toBe(5);
  });

  it('a deleted group leaves every membership, as group and as member', () => {
    const state = replay(setup(), scim('Group', 'g1', 'delete', diffDocs({ displayName: 'Eng' }, {}), { removed: ['u1'] }));
    expect(memberships(state)).toEqual(['g2>u2:User']);
    expect(state.group('g1')).toBeUndefined();
    expect(state.group('g2')!.version).toBe(5);
    // The users inside lose it from their `groups`.
    expect(state.user('u1')!.version).toBe(5);
  });

  it('a deleted user leaves every group it was in', () => {
    const state = replay(setup(), scim('User', 'u2', 'delete', diffDocs({ userName: 'b' }, {})));
    expect(memberships(state)).toEqual(['g1>u1:User', 'g2>g1:Group']);
    expect(state.toSnapshot().users.map((u) => u.id)).toEqual(['u1']);
  });

  it('a rename stamps the users inside', () => {
    const state = replay(setup(), scim('Group', 'g2', 'patch', [{ path: 'displayName', before: 'Ops', after: 'Ops2' }]));
    expect(state.user('u1')!.version).toBe(5);
    expect(state.user('u2')!.version).toBe(5);
    expect(state.group('g2')!.doc).toEqual({ displayName: 'Ops2' });
  });
});

describe('HistoryState policy', () => {
  const policy = (objectKind: string, objectId: string, operation: 'create' | 'replace' | 'delete', before: unknown, after: unknown): Change => ({
    kind: 'policy',
    objectKind,
    objectId,
    operation,
    before,
    after,
  });

  it('creates, replaces and deletes objects, ordered by kind then id', () => {
    const reader = { name: 'reader', permissions: ['doc:read'] };
    const wider = { name: 'reader', permissions: ['doc:read', 'doc:write'] };
    const state = replay(
      HistoryState.empty(),
      policy('role', 'reader', 'create', null, reader),
      policy('binding', 'b2', 'create', null, { id: 'b2' }),
      policy('binding', 'b1', 'create', null, { id: 'b1' }),
      policy('role', 'reader', 'replace', reader, wider),
      policy('binding', 'b2', 'delete', { id: 'b2' }, null),
    );
    expect(state.toSnapshot().policy).toEqual([
      { kind: 'binding', id: 'b1', doc: { id: 'b1' }, version: 3, created: '2026-01-01T00:00:03.000Z', lastModified: '2026-01-01T00:00:03.000Z' },
      { kind: 'role', id: 'reader', doc: wider, version: 4, created: '2026-01-01T00:00:01.000Z', lastModified: '2026-01-01T00:00:04.000Z' },
    ]);
  });
});

describe('HistoryState', () => {
  it('encodes and decodes to the same state', () => {
    const state = replay(
      HistoryState.empty(),
      scim('User', 'u1', 'create', diffDocs({}, { userName: 'a', [ENTERPRISE_USER_SCHEMA]: { department: 'Eng' } })),
      scim('Group', 'g1', 'create', diffDocs({}, { displayName: 'Eng' }), { added: ['u1'] }),
      { kind: 'policy', objectKind: 'role', objectId: 'r', operation: 'create', before: null, after: { name: 'r', permissions: [] } },
    );
    const decoded = HistoryState.decode(state.encode());
    expect(decoded.revision).toBe(3);
    expect(decoded.toSnapshot()).toEqual(state.toSnapshot());
    // And it goes on from there.
    replay(decoded, scim('Group', 'g1', 'patch', [], { removed: ['u1'] }));
    expect(decoded.toSnapshot().memberships).toEqual([]);
  });

  it('round-trips through a snapshot', () => {
    const state = replay(HistoryState.empty(), scim('User', 'u1', 'create', diffDocs({}, { userName: 'a' })), scim('Group', 'g1', 'create', diffDocs({}, { displayName: 'G' }), { added: ['u1'] }));
    expect(HistoryState.fromSnapshot(state.toSnapshot()).toSnapshot()).toEqual(state.toSnapshot());
  });

  it('refuses a revision out of order', () => {
    const state = HistoryState.empty();
    const record = (revision: number): ChangeRecord => ({ revision, at: '2026-01-01T00:00:00.000Z', actor, change: scim('User', `u${revision}`, 'create') });
    expect(() => state.apply(record(2))).toThrow(/revision 2/);
    state.apply(record(1));
    expect(() => state.apply(record(1))).toThrow();
    expect(state.revision).toBe(1);
  });
});

import { describe, expect, it } from 'vitest';
import type { Change } from '../core/change.js';
import type { AccessChangeRecord } from '../store/store.js';
import {
  accessEvent,
  changeEvent,
  comparePositions,
  END,
  formatPosition,
  isKnownPattern,
  matchesPattern,
  parsePosition,
  type Position,
} from './event.js';

const actor = { tokenId: 'tok-1', kind: 'scim' as const, requestId: 'req-9', userAgent: 'Okta SCIM' };
const scim = (resourceType: 'User' | 'Group', operation: 'create' | 'replace' | 'patch' | 'delete'): Change => ({
  resourceType,
  resourceId: 'r1',
  operation,
  attributes: [],
  membersAdded: [],
  membersRemoved: [],
});
const access = (effect: 'allow' | 'deny', change: 'gained' | 'lost'): AccessChangeRecord => ({
  revision: 7,
  seq: 2,
  at: '2031-01-01T00:00:07.000Z',
  userId: 'u1',
  permission: 'env:deploy',
  scope: 'env:prod',
  effect,
  change,
  detail: { reason: 'added to group ops' },
});

describe('changeEvent', () => {
  it.each([
    ['User', 'create', 'user.created'],
    ['User', 'replace', 'user.updated'],
    ['User', 'patch', 'user.updated'],
    ['User', 'delete', 'user.deleted'],
    ['Group', 'create', 'group.created'],
    ['Group', 'patch', 'group.updated'],
    ['Group', 'delete', 'group.deleted'],
  ] as const)('%s %s is %s, id the revision, data the change', (type, operation, expected) => {
    const change = scim(type, operation);
    const event = changeEvent('t1', { revision: 7, at: '2031-01-01T00:00:07.000Z', actor, change });
    expect(event).toEqual({
      id: '7',
      type: expected,
      tenant: 't1',
      revision: 7,
      time: '2031-01-01T00:00:07.000Z',
      actor: { kind: 'scim', tokenId: 'tok-1', requestId: 'req-9' },
      data: change,
    });
  });

  it.each([
    ['create', 'policy.created'],
    ['replace', 'policy.updated'],
    ['delete', 'policy.deleted'],
  ] as const)('a policy %s is %s and names the object kind', (operation, expected) => {
    const change: Change = { kind: 'policy', objectKind: 'binding', objectId: 'b1', operation, before: null, after: null };
    const event = changeEvent('t1', { revision: 3, at: 'x', actor, change });
    expect(event.type).toBe(expected);
    expect(event.data).toMatchObject({ objectKind: 'binding', objectId: 'b1' });
  });
});

describe('accessEvent', () => {
  it.each([
    ['allow', 'gained', 'access.granted'],
    ['deny', 'lost', 'access.granted'],
    ['allow', 'lost', 'access.revoked'],
    ['deny', 'gained', 'access.revoked'],
  ] as const)('%s %s is %s', (effect, change, expected) => {
    const event = accessEvent('t1', access(effect, change), actor);
    expect(event).toEqual({
      id: '7.2',
      type: expected,
      tenant: 't1',
      revision: 7,
      time: '2031-01-01T00:00:07.000Z',
      actor: { kind: 'scim', tokenId: 'tok-1', requestId: 'req-9' },
      data: { user: 'u1', permission: 'env:deploy', scope: 'env:prod', effect, change, detail: { reason: 'added to group ops' } },
    });
  });

  it('has no actor when none is given', () => {
    expect(accessEvent('t1', access('allow', 'gained'))).not.toHaveProperty('actor');
  });
});

describe('positions', () => {
  it('parses and formats event ids and whole revisions', () => {
    expect(parsePosition('12')).toEqual({ revision: 12, seq: 0 });
    expect(parsePosition('12.3')).toEqual({ revision: 12, seq: 3 });
    expect(parsePosition('12.*')).toEqual({ revision: 12, seq: END });
    for (const text of ['0', '12', '12.3', '12.*']) expect(formatPosition(parsePosition(text)!)).toBe(text);
    for (const text of ['', 'x', '-1', '1.', '.1', '1.2.3', '1e3', '1234567890123456']) expect(parsePosition(text)).toBeUndefined();
  });

  it('orders R, R.1, R.2, …, R.10, R.*, R+1', () => {
    const ids = ['8', '7.10', '7.*', '7', '7.2', '7.1'];
    const sorted = ids.map((id) => parsePosition(id)!).sort(comparePositions).map(formatPosition);
    expect(sorted).toEqual(['7', '7.1', '7.2', '7.10', '7.*', '8']);
    const same: Position = { revision: 7, seq: END };
    expect(comparePositions(same, { ...same })).toBe(0);
  });
});

describe('patterns', () => {
  it.each([
    ['user.created', 'user.created', true],
    ['user.created', 'user.updated', false],
    ['user.*', 'user.deleted', true],
    ['user.*', 'group.created', false],
    ['access.*', 'access.revoked', true],
    ['*', 'policy.updated', true],
  ])('%s matches %s: %s', (pattern, type, expected) => {
    expect(matchesPattern(pattern, type)).toBe(expected);
  });

  it('knows the patterns that can match something', () => {
    for (const pattern of ['*', 'user.*', 'group.*', 'policy.*', 'access.*', 'access.granted', 'policy.deleted']) {
      expect(isKnownPattern(pattern), pattern).toBe(true);
    }
    for (const pattern of ['user', 'users.*', 'user.renamed', '*.created', 'user.**', 'u*', '']) {
      expect(isKnownPattern(pattern), pattern).toBe(false);
    }
  });
});

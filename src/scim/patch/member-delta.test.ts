import { describe, expect, it } from 'vitest';
import { PATCH_OP } from '../schema/urns.js';
import { memberDelta } from './index.js';

const msg = (...Operations: unknown[]) => ({ schemas: [PATCH_OP], Operations });

describe('memberDelta', () => {
  it.each([
    ['Entra add', [{ op: 'Add', path: 'members', value: [{ $ref: null, value: 'f648f8d5' }] }], { add: ['f648f8d5'], remove: [] }],
    ['Entra remove by value list', [{ op: 'Remove', path: 'members', value: [{ $ref: null, value: 'f648f8d5' }] }], { add: [], remove: ['f648f8d5'] }],
    ['Entra remove by filter (aadOptscim062020)', [{ op: 'remove', path: 'members[value eq "7f4bc1a3"]' }], { add: [], remove: ['7f4bc1a3'] }],
    [
      'Okta remove by filter, add by value with display',
      [
        { op: 'remove', path: 'members[value eq "89bb1940"]' },
        { op: 'add', path: 'members', value: [{ value: '23a35c27', display: 'test.user@okta.local' }] },
      ],
      { add: ['23a35c27'], remove: ['89bb1940'] },
    ],
    ['a lone member object', [{ op: 'add', path: 'Members', value: { value: 'u1' } }], { add: ['u1'], remove: [] }],
    ['a typed removal (type does not matter to removal)', [{ op: 'remove', path: 'members', value: [{ value: 'u1', type: 'User' }] }], { add: [], remove: ['u1'] }],
    ['an empty add', [{ op: 'add', path: 'members', value: [] }], { add: [], remove: [] }],
    [
      'the later operation wins (add, remove)',
      [
        { op: 'add', path: 'members', value: [{ value: 'u1' }, { value: 'u2' }] },
        { op: 'remove', path: 'members[value eq "u1"]' },
      ],
      { add: ['u2'], remove: ['u1'] },
    ],
    [
      'the later operation wins (remove, add)',
      [
        { op: 'remove', path: 'members', value: [{ value: 'u1' }] },
        { op: 'add', path: 'members', value: [{ value: 'u1' }] },
      ],
      { add: ['u1'], remove: [] },
    ],
    [
      'URN-qualified path',
      [{ op: 'add', path: 'urn:ietf:params:scim:schemas:core:2.0:Group:members', value: [{ value: 'u1' }] }],
      { add: ['u1'], remove: [] },
    ],
  ])('%s', (_label, ops, expected) => {
    expect(memberDelta(msg(...ops))).toEqual(expected);
  });

  it.each([
    ['an invalid message', { Operations: [{ op: 'add', path: 'members', value: [{ value: 'u1' }] }] }],
    ['replace of members (Okta full push)', msg({ op: 'replace', path: 'members', value: [{ value: 'u1' }] })],
    ['remove of all members', msg({ op: 'remove', path: 'members' })],
    ['remove with a null value', msg({ op: 'remove', path: 'members', value: null })],
    ['a rename next to a member add', msg({ op: 'add', path: 'members', value: [{ value: 'u1' }] }, { op: 'replace', path: 'displayName', value: 'x' })],
    ['Okta pathless rename', msg({ op: 'replace', value: { id: 'g', displayName: 'x' } })],
    ['a filter on another sub-attribute', msg({ op: 'remove', path: 'members[type eq "User"]' })],
    ['a filter with more than the id', msg({ op: 'remove', path: 'members[value eq "u1" and type eq "User"]' })],
    ['add on a filter path', msg({ op: 'add', path: 'members[value eq "u1"]', value: { value: 'u1' } })],
    ['a sub-attribute path', msg({ op: 'remove', path: 'members.type' })],
    ['a member without value', msg({ op: 'add', path: 'members', value: [{ display: 'x', type: 'User' }] })],
    ['a claimed type, which only the full path checks', msg({ op: 'add', path: 'members', value: [{ value: 'u1', type: 'User' }] })],
    ['a bad path', msg({ op: 'remove', path: 'members[value eq' })],
  ])('is undefined for %s', (_label, body) => {
    expect(memberDelta(body)).toBeUndefined();
  });
});

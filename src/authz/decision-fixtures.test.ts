import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { AppError } from '../core/errors.js';
import { ENTERPRISE_USER_SCHEMA } from '../scim/schema/urns.js';
import { findSubject } from '../service/access.js';
import type { StoredGroup, StoredUser, TenantSnapshot } from '../store/store.js';
import { decide, type Decision } from './evaluate.js';
import { POLICY_KINDS, policyKey, type PolicyKind } from './model.js';
import { parsePolicyFile } from './policy-file.js';
import { TenantIndex } from './tenant-index.js';

/**
 * Decision fixtures as data (`test/fixtures/authz/*.yaml`): given users, groups and a policy file,
 * at a time, a check must give the expected decision and reasons. One case table for the engine's
 * semantics, readable without reading code, in the spirit of Cerbos's and OpenFGA's test data.
 */
interface FixtureUser {
  id: string;
  userName: string;
  externalId?: string;
  title?: string;
  department?: string;
  active?: boolean;
  groups?: string[];
}

interface FixtureGroup {
  id: string;
  displayName: string;
  externalId?: string;
  parents?: string[];
}

interface FixtureCheck {
  name: string;
  at?: string;
  check: { user: string; action: string; resource: string; properties?: Record<string, unknown>; context?: Record<string, unknown> };
  expect: {
    allow?: boolean;
    error?: string;
    missing?: string;
    reasons?: Record<string, unknown>[];
    considered?: Record<string, unknown>[];
    via?: { kind: string; path?: string[]; rule?: string };
  };
}

interface Fixture {
  name: string;
  at?: string;
  given: { users?: FixtureUser[]; groups?: FixtureGroup[]; policy: unknown };
  checks: FixtureCheck[];
}

const FIXTURES = join(import.meta.dirname, '../../test/fixtures/authz');

function snapshotOf(fixture: Fixture): TenantSnapshot {
  const parsed = parsePolicyFile(stringify(fixture.given.policy));
  if (!parsed.ok) throw new Error(`fixture policy is not valid: ${JSON.stringify(parsed.problems)}`);
  const stamp = { version: 1, created: '2026-01-01T00:00:00.000Z', lastModified: '2026-01-01T00:00:00.000Z' };
  const users: StoredUser[] = (fixture.given.users ?? []).map((u) => ({
    id: u.id,
    ...stamp,
    doc: {
      userName: u.userName,
      active: u.active ?? true,
      ...(u.externalId ? { externalId: u.externalId } : {}),
      ...(u.title ? { title: u.title } : {}),
      ...(u.department ? { [ENTERPRISE_USER_SCHEMA]: { department: u.department } } : {}),
    },
  }));
  const groups: StoredGroup[] = (fixture.given.groups ?? []).map((g) => ({
    id: g.id,
    ...stamp,
    doc: { displayName: g.displayName, ...(g.externalId ? { externalId: g.externalId } : {}) },
  }));
  const memberships = [
    ...(fixture.given.users ?? []).flatMap((u) => (u.groups ?? []).map((g) => ({ groupId: g, memberId: u.id, memberType: 'User' as const }))),
    ...(fixture.given.groups ?? []).flatMap((g) => (g.parents ?? []).map((p) => ({ groupId: p, memberId: g.id, memberType: 'Group' as const }))),
  ];
  const policy = POLICY_KINDS.flatMap((kind: PolicyKind) =>
    [...parsed.set[kind].values()].map((doc) => ({ kind, id: policyKey(kind, doc as never), doc, ...stamp })),
  );
  return { revision: 1, users, groups, memberships, policy };
}

function run(index: TenantIndex, fixture: Fixture, c: FixtureCheck): Decision | AppError {
  const colon = c.check.resource.indexOf(':');
  try {
    const user = findSubject(index, { type: 'user', id: c.check.user });
    return decide(index, {
      user,
      action: c.check.action,
      resource: {
        type: c.check.resource.slice(0, colon),
        id: c.check.resource.slice(colon + 1),
        ...(c.check.properties ? { properties: c.check.properties } : {}),
      },
      ...(c.check.context ? { context: c.check.context } : {}),
      now: new Date(c.at ?? fixture.at ?? '2026-06-01T00:00:00Z'),
    });
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
}

for (const file of readdirSync(FIXTURES).filter((f) => f.endsWith('.yaml'))) {
  const fixture = parse(readFileSync(join(FIXTURES, file), 'utf8')) as Fixture;
  describe(`${file}: ${fixture.name}`, () => {
    const index = TenantIndex.build(snapshotOf(fixture));
    for (const c of fixture.checks) {
      it(c.name, () => {
        const outcome = run(index, fixture, c);
        const { expect: want } = c;
        if (want.error !== undefined) {
          expect(outcome).toBeInstanceOf(AppError);
          expect((outcome as AppError).code).toBe(want.error);
          return;
        }
        if (outcome instanceof AppError) throw outcome;
        expect(outcome.allowed).toBe(want.allow);
        if (want.missing !== undefined) expect(outcome.missing).toContain(want.missing);
        if (want.reasons) expect(outcome.reasons).toMatchObject(want.reasons);
        if (want.considered) {
          expect(outcome.considered).toEqual(expect.arrayContaining(want.considered.map((r) => expect.objectContaining(r))));
        }
        if (want.via) {
          const via = outcome.reasons[0]?.via;
          expect(via?.kind).toBe(want.via.kind);
          if (want.via.path) expect(via?.kind === 'group' ? via.path.map((hop) => hop.displayName) : []).toEqual(want.via.path);
          if (want.via.rule) expect(via?.kind === 'rule' ? via.rule : undefined).toBe(want.via.rule);
        }
      });
    }
  });
}

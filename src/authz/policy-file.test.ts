import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { emptyPolicySet, type PolicySet } from './model.js';
import { isEmptyPlan, parsePolicyFile, planPolicy, printPolicyFile, type PolicyPlan } from './policy-file.js';
import type { PolicyProblem } from './validate.js';

const EXAMPLE = readFileSync(join(import.meta.dirname, '../../examples/policy.yaml'), 'utf8');

function parsed(text: string): PolicySet {
  const result = parsePolicyFile(text);
  if (!result.ok) throw new Error(`expected the file to parse: ${JSON.stringify(result.problems)}`);
  return result.set;
}

function problems(text: string): readonly (PolicyProblem | string)[] {
  const result = parsePolicyFile(text);
  if (result.ok) throw new Error('expected the file to be rejected');
  return result.problems;
}

describe('parsePolicyFile', () => {
  it('reads the example', () => {
    const set = parsed(EXAMPLE);
    expect([...set.resourceType.keys()]).toEqual(['project', 'database', 'service']);
    expect(set.resourceType.get('project')).toMatchObject({ actions: ['read', 'write', 'admin'], description: expect.any(String) });
    expect(set.resource.get('database:cards')).toEqual({
      type: 'database',
      id: 'cards',
      parent: 'project:payments',
      attributes: { env: 'prod', pii: true },
    });
    expect(set.role.get('db-admin')).toMatchObject({ permissions: ['database:*'], includes: ['db-writer'] });
    expect(set.groupMapping.get('shop-engineers')?.group).toEqual({ externalId: '6f1c2a0e-4b1d-4c59-9a8e-2d5f0b7c9e11' });
    expect(set.groupMapping.get('dba-teams')?.group).toEqual({ displayNamePattern: 'dba-*' });
    expect(set.attributeRule.get('engineering-managers')?.filter).toContain('enterprise:2.0:User:department eq "Engineering"');
    expect(set.binding.get('no-cards-for-contractors')?.effect).toBe('deny');
    expect(set.binding.get('managers-deploy-with-mfa')).toMatchObject({ subject: { type: 'rule' }, condition: 'context.mfa == true' });
    expect(set.binding.get('auditor-payments-2026')?.expiresAt).toBe('2026-12-31T23:59:59.000Z');
    expect(set.grant.size).toBe(0);
  });

  it('reads an empty file as an empty set', () => {
    expect(parsed('')).toEqual(emptyPolicySet());
    expect(parsed('# nothing yet\n')).toEqual(emptyPolicySet());
    expect(parsed('{}')).toEqual(emptyPolicySet());
    expect(parsed('bindings:\n')).toEqual(emptyPolicySet());
  });

  it('reads JSON', () => {
    const set = parsed(JSON.stringify({ resourceTypes: { db: ['read'] }, roles: { r: { permissions: ['db:read'] } } }));
    expect(set.role.get('r')).toEqual({ name: 'r', permissions: ['db:read'] });
  });

  it('reports a YAML syntax error with its line', () => {
    const [problem] = problems('resourceTypes:\n  db: [read, write\nroles: {}\n');
    expect(problem).toMatch(/^line 3, column \d+: /);
  });

  it('reports a repeated key with its line', () => {
    const [problem] = problems('roles:\n  r: { permissions: [] }\n  r: { permissions: [] }\n');
    expect(problem).toMatch(/^line 3, column 3: map keys must be unique/);
  });

  it('refuses several documents and alias bombs', () => {
    expect(problems('roles: {}\n---\nroles: {}\n')).toEqual(['line 2, column 1: a policy file holds one YAML document, not several']);
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]', ...'bcdefg'.split('').map((k, i) => `${k}: &${k} [${Array(10).fill(`*${'abcdefg'[i]}`).join(', ')}]`)];
    expect(problems(bomb.join('\n'))).toEqual([expect.stringContaining('alias')]);
  });

  it('refuses unknown top-level keys, grants and sections of the wrong shape', () => {
    expect(problems('resourceType:\n  db: [read]\n')).toEqual([
      expect.stringContaining('unknown top-level key `resourceType`'),
    ]);
    expect(problems('grants: []\n')).toEqual([expect.stringContaining('`grants` cannot be in a policy file')]);
    expect(problems('bindings: {}\nroles: []\n')).toEqual([
      '`roles` must be a mapping of names to definitions',
      '`bindings` must be a list',
    ]);
    expect(problems('- a\n')).toEqual([expect.stringContaining('must be a mapping of')]);
  });

  it('names the entry of each shape problem', () => {
    const text = [
      'resourceTypes:',
      '  db: { actions: [], descripton: x }',
      'roles:',
      '  r: { name: r, permissions: ["db:read"] }',
      'bindings:',
      '  - { subject: { type: everyone }, role: r, scope: "*" }',
      '  - { id: b2, subject: { type: everyone }, rol: r, scope: "*" }',
    ].join('\n');
    expect(problems(text)).toEqual([
      { kind: 'resourceType', id: 'db', message: 'unknown field `descripton` (did you mean `description`?)' },
      { kind: 'resourceType', id: 'db', message: '`actions` must be a non-empty list of names' },
      { kind: 'role', id: 'r', message: expect.stringContaining('`name` is not a field here') },
      { kind: 'binding', id: 'bindings[0]', message: '`id` is required' },
      { kind: 'binding', id: 'b2', message: 'unknown field `rol` (did you mean `role`?)' },
      { kind: 'binding', id: 'b2', message: '`role` is required' },
    ]);
  });

  it('refuses an id defined twice', () => {
    const text = 'resourceTypes: { db: [read] }\nresources:\n  - { type: db, id: a }\n  - { type: db, id: a, parent: "db:b" }\n';
    expect(problems(text)).toEqual([{ kind: 'resource', id: 'db:a', message: '`db:a` is defined more than once in `resources`' }]);
  });

  it('checks the set as a whole', () => {
    const text = 'resourceTypes: { db: [read] }\nroles:\n  r: { permissions: ["db:write"] }\n';
    expect(problems(text)).toEqual([
      { kind: 'role', id: 'r', message: 'permission `db:write`: resource type `db` has no action `write`' },
    ]);
  });
});

describe('printPolicyFile', () => {
  it('round-trips the example', () => {
    const set = parsed(EXAMPLE);
    const printed = printPolicyFile(set);
    expect(parsed(printed)).toEqual(set);
    expect(printPolicyFile(parsed(printed))).toBe(printed);
  });

  it('is deterministic whatever the order of keys and objects', () => {
    const set = parsed(EXAMPLE);
    const shuffled = emptyPolicySet();
    for (const kind of Object.keys(set) as (keyof PolicySet)[]) {
      const reversed = [...set[kind].entries()].reverse();
      for (const [key, object] of reversed) {
        const keys = Object.keys(object).reverse();
        (shuffled[kind] as Map<string, unknown>).set(key, Object.fromEntries(keys.map((k) => [k, (object as never)[k]])));
      }
    }
    expect(printPolicyFile(shuffled)).toBe(printPolicyFile(set));
  });

  it('uses the short forms', () => {
    const printed = printPolicyFile(parsed(EXAMPLE));
    expect(printed).toContain('  database: [ connect, read, write, admin ]\n');
    expect(printed).toContain('subject: { type: rule, id: engineering-managers }');
    expect(printed.indexOf('resourceTypes:')).toBeLessThan(printed.indexOf('resources:'));
    expect(printed.indexOf('attributeRules:')).toBeLessThan(printed.indexOf('bindings:'));
  });

  it('prints an empty set as an empty mapping, and leaves temporary grants out', () => {
    const set = emptyPolicySet();
    set.grant.set('g', {
      id: 'g',
      subject: { type: 'user', id: 'u' },
      role: 'r',
      scope: '*',
      expiresAt: '2030-01-01T00:00:00.000Z',
      reason: 'x',
    });
    expect(printPolicyFile(set)).toBe('{}\n');
    expect(parsed(printPolicyFile(set))).toEqual(emptyPolicySet());
  });
});

describe('planPolicy', () => {
  const current = parsed(EXAMPLE);

  function ids(plan: PolicyPlan, part: keyof PolicyPlan): string[] {
    return plan[part].map((e) => `${e.kind}:${e.id}`);
  }

  it('is empty between equal sets, whatever order their keys are in', () => {
    const again = parsed(printPolicyFile(current));
    expect(isEmptyPlan(planPolicy(current, again))).toBe(true);
    const reordered = emptyPolicySet();
    for (const [key, role] of current.role) {
      const { name, ...rest } = role;
      reordered.role.set(key, { ...rest, name });
    }
    expect(isEmptyPlan(planPolicy({ ...current, role: reordered.role }, current))).toBe(true);
  });

  it('creates everything in dependency order into an empty model', () => {
    const plan = planPolicy(emptyPolicySet(), current);
    expect(plan.replace).toEqual([]);
    expect(plan.delete).toEqual([]);
    const created = ids(plan, 'create');
    const kinds = [...new Set(plan.create.map((e) => e.kind))];
    expect(kinds).toEqual(['resourceType', 'resource', 'role', 'attributeRule', 'groupMapping', 'binding']);
    // Parents before children, included roles before the roles that include them.
    expect(created.indexOf('resource:project:shop')).toBeLessThan(created.indexOf('resource:database:orders'));
    expect(created.indexOf('resource:project:payments')).toBeLessThan(created.indexOf('resource:database:cards'));
    for (const [before, after] of [
      ['db-reader', 'db-writer'],
      ['db-writer', 'db-admin'],
      ['db-admin', 'project-admin'],
      ['viewer', 'deployer'],
      ['deployer', 'project-admin'],
    ]) {
      expect(created.indexOf(`role:${before}`)).toBeLessThan(created.indexOf(`role:${after}`));
    }
    expect(plan.create[0]).toEqual({ kind: 'resourceType', id: 'database', after: current.resourceType.get('database') });
  });

  it('deletes in reverse dependency order', () => {
    const plan = planPolicy(current, emptyPolicySet());
    expect(plan.create).toEqual([]);
    const deleted = ids(plan, 'delete');
    const kinds = [...new Set(plan.delete.map((e) => e.kind))];
    expect(kinds).toEqual(['binding', 'groupMapping', 'attributeRule', 'role', 'resource', 'resourceType']);
    expect(deleted.indexOf('resource:database:orders')).toBeLessThan(deleted.indexOf('resource:project:shop'));
    expect(deleted.indexOf('role:project-admin')).toBeLessThan(deleted.indexOf('role:db-admin'));
    expect(plan.delete[0]).toMatchObject({ kind: 'binding', before: expect.any(Object) });
    expect(plan.delete[0]!.after).toBeUndefined();
  });

  it('creates, replaces and deletes, and never touches temporary grants', () => {
    const withGrant = { ...current, grant: new Map([['g1', grantFixture()]]) };
    const desired = parsed(
      EXAMPLE.replace('service: [read, deploy, restart]', 'service: [read, deploy, restart, rollback]')
        .replace(/  - id: staging-for-everyone[\s\S]*?(?=  - id: no-cards)/, '')
        .concat('  - { id: new-binding, subject: { type: everyone }, role: viewer, scope: "project:shop" }\n'),
    );
    const plan = planPolicy(withGrant, desired);
    expect(ids(plan, 'create')).toEqual(['binding:new-binding']);
    expect(ids(plan, 'replace')).toEqual(['resourceType:service']);
    expect(plan.replace[0]).toMatchObject({ before: { actions: ['read', 'deploy', 'restart'] }, after: { actions: expect.arrayContaining(['rollback']) } });
    expect(ids(plan, 'delete')).toEqual(['binding:staging-for-everyone']);
    expect(isEmptyPlan(plan)).toBe(false);
  });

  it('ignores grants in the desired set too', () => {
    const desired = { ...current, grant: new Map([['g1', grantFixture()]]) };
    expect(isEmptyPlan(planPolicy(current, desired))).toBe(true);
  });
});

function grantFixture() {
  return {
    id: 'g1',
    subject: { type: 'user' as const, id: 'u1' },
    role: 'viewer',
    scope: '*',
    expiresAt: '2030-01-01T00:00:00.000Z',
    reason: 'INC-1',
  };
}

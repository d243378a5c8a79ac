import { describe, expect, it } from 'vitest';
import { emptyPolicySet, type PolicyKind, type PolicyObjects } from './model.js';
import { parsePolicyObject, validatePolicySet, type PolicyProblem } from './validate.js';

const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

/** The problems of one parse, or a failure naming the value when it unexpectedly parsed. */
function problemsOf(kind: PolicyKind, input: unknown): readonly string[] {
  const parsed = parsePolicyObject(kind, input);
  if (parsed.ok) throw new Error(`expected ${kind} to be rejected: ${JSON.stringify(parsed.value)}`);
  return parsed.problems;
}

function valueOf<K extends PolicyKind>(kind: K, input: unknown): PolicyObjects[K] {
  const parsed = parsePolicyObject(kind, input);
  if (!parsed.ok) throw new Error(`expected ${kind} to parse: ${parsed.problems.join('; ')}`);
  return parsed.value;
}

describe('parsePolicyObject', () => {
  describe('resourceType', () => {
    it('accepts a name, actions and a description', () => {
      expect(valueOf('resourceType', { name: 'database', actions: ['read', 'write'], description: 'SQL' })).toEqual({
        name: 'database',
        actions: ['read', 'write'],
        description: 'SQL',
      });
    });

    it('needs a non-empty list of actions', () => {
      expect(problemsOf('resourceType', { name: 'database', actions: [] })).toEqual([
        '`actions` must be a non-empty list of names',
      ]);
      expect(problemsOf('resourceType', { name: 'database' })).toEqual(['`actions` is required']);
    });

    it('refuses repeated actions and actions with `:` or `*`', () => {
      expect(problemsOf('resourceType', { name: 'db', actions: ['read', 'read'] })[0]).toContain('lists `read` more than once');
      expect(problemsOf('resourceType', { name: 'db', actions: ['db:read'] })[0]).toContain('`actions[0]` must be a name');
      expect(problemsOf('resourceType', { name: 'db', actions: ['*'] })[0]).toContain('`actions[0]` must be a name');
    });

    it('refuses names that are too long, empty or not exact', () => {
      expect(valueOf('resourceType', { name: 'a'.repeat(128), actions: ['x'] }).name).toHaveLength(128);
      expect(problemsOf('resourceType', { name: 'a'.repeat(129), actions: ['x'] })[0]).toContain('`name` must be a name');
      expect(problemsOf('resourceType', { name: '', actions: ['x'] })[0]).toContain('`name` must be a name');
      expect(problemsOf('resourceType', { name: ' database', actions: ['x'] })[0]).toContain('not ` database`');
    });

    it('refuses unknown fields, suggesting the near one', () => {
      expect(problemsOf('resourceType', { name: 'db', actions: ['read'], descripton: 'x' })).toEqual([
        'unknown field `descripton` (did you mean `description`?)',
      ]);
    });

    it('refuses what is not an object', () => {
      expect(problemsOf('resourceType', ['db'])[0]).toContain('expected an object');
      expect(problemsOf('resourceType', null)[0]).toContain('expected an object');
    });
  });

  describe('resource', () => {
    it('accepts a parent and JSON attributes; an id may hold colons and spaces', () => {
      const resource = { type: 'database', id: 'eu:orders db', parent: 'project:shop', attributes: { env: 'prod', tags: ['a'], n: 1 } };
      expect(valueOf('resource', resource)).toEqual(resource);
    });

    it('refuses `*`, U+0000 and over-long ids', () => {
      expect(problemsOf('resource', { type: 'database', id: '*' })[0]).toContain('`id` must be 1 to 512 characters');
      expect(problemsOf('resource', { type: 'database', id: 'a\u0000b' })[0]).toContain('without U+0000');
      expect(valueOf('resource', { type: 'database', id: 'x'.repeat(512) }).id).toHaveLength(512);
      expect(problemsOf('resource', { type: 'database', id: 'x'.repeat(513) })[0]).toContain('`id` must be 1 to 512');
    });

    it('needs the parent as `type:id`', () => {
      expect(problemsOf('resource', { type: 'database', id: 'orders', parent: 'shop' })[0]).toContain(
        '`parent` must be `type:id` of a resource, not `shop`',
      );
      expect(problemsOf('resource', { type: 'database', id: 'orders', parent: 'project:*' })[0]).toContain('`parent`');
    });

    it('needs attributes to be a JSON object', () => {
      expect(problemsOf('resource', { type: 'db', id: 'a', attributes: ['x'] })).toEqual(['`attributes` must be an object']);
      expect(problemsOf('resource', { type: 'db', id: 'a', attributes: { load: { max: Infinity } } })[0]).toContain(
        '`attributes.load.max` must be a string, a finite number',
      );
    });
  });

  describe('role', () => {
    it('accepts permissions, wildcards and includes', () => {
      const role = { name: 'dba', permissions: ['database:*', 'project:read'], includes: ['reader'] };
      expect(valueOf('role', role)).toEqual(role);
    });

    it('allows empty permissions only with includes', () => {
      expect(valueOf('role', { name: 'both', permissions: [], includes: ['reader', 'writer'] }).permissions).toEqual([]);
      expect(problemsOf('role', { name: 'nothing', permissions: [] })).toEqual([
        '`permissions` may be empty only when `includes` names a role',
      ]);
    });

    it('needs each permission as `type:action` or `type:*`', () => {
      expect(problemsOf('role', { name: 'r', permissions: ['database'] })[0]).toContain(
        '`permissions[0]` must be `type:action` or `type:*`, not `database`',
      );
      expect(problemsOf('role', { name: 'r', permissions: ['*:read'] })[0]).toContain('`permissions[0]`');
      expect(problemsOf('role', { name: 'r', permissions: ['db:read:x'] })[0]).toContain('`permissions[0]`');
    });

    it('needs includes to be a list of role names', () => {
      expect(problemsOf('role', { name: 'r', permissions: ['db:read'], includes: 'reader' })[0]).toContain(
        '`includes` must be a list of role names',
      );
    });
  });

  describe('binding', () => {
    const binding = { id: 'b1', subject: { type: 'user', userName: 'alice' }, role: 'reader', scope: '*' };

    it('accepts every subject shape', () => {
      for (const subject of [
        { type: 'user', id: 'u1' },
        { type: 'user', userName: 'Alice@Example.com' },
        { type: 'user', externalId: 'emp-1' },
        { type: 'group', id: 'g1' },
        { type: 'group', externalId: 'aad-1' },
        { type: 'group', displayName: 'Engineering' },
        { type: 'rule', id: 'managers' },
        { type: 'everyone' },
      ]) {
        expect(valueOf('binding', { ...binding, subject }).subject).toEqual(subject);
      }
    });

    it('needs exactly one identifying key in the subject', () => {
      expect(problemsOf('binding', { ...binding, subject: { type: 'user', id: 'u1', userName: 'alice' } })).toEqual([
        '`subject` of type `user` must have exactly one of `id`, `userName`, `externalId`',
      ]);
      expect(problemsOf('binding', { ...binding, subject: { type: 'group' } })[0]).toContain('exactly one of `id`');
      expect(problemsOf('binding', { ...binding, subject: { type: 'everyone', id: 'x' } })).toEqual(['unknown field `subject.id`']);
      expect(problemsOf('binding', { ...binding, subject: { type: 'user', displayName: 'x' } })).toContain(
        'unknown field `subject.displayName`',
      );
    });

    it('needs the subject as an object', () => {
      expect(problemsOf('binding', { ...binding, subject: 'alice' })[0]).toContain('`subject` must be an object');
    });

    it('needs a known subject type', () => {
      expect(problemsOf('binding', { ...binding, subject: { type: 'team', id: 'x' } })[0]).toContain(
        '`subject.type` must be one of `user`, `group`, `rule`, `everyone`, not `team`',
      );
    });

    it('refuses a misspelt field', () => {
      const { role: _role, ...rest } = binding;
      expect(problemsOf('binding', { ...rest, rol: 'reader' })).toEqual([
        'unknown field `rol` (did you mean `role`?)',
        '`role` is required',
      ]);
    });

    it('checks the id, the scope and the effect', () => {
      expect(valueOf('binding', { ...binding, id: 'urn:team:eng' }).id).toBe('urn:team:eng');
      expect(problemsOf('binding', { ...binding, id: 'a*' })[0]).toContain('`id` must be a name');
      expect(problemsOf('binding', { ...binding, scope: 'database' })[0]).toContain(
        '`scope` must be `*`, `type:*` or `type:id`, not `database`',
      );
      expect(valueOf('binding', { ...binding, scope: 'database:*' }).scope).toBe('database:*');
      expect(valueOf('binding', { ...binding, effect: 'deny' }).effect).toBe('deny');
      expect(problemsOf('binding', { ...binding, effect: 'block' })[0]).toContain('`effect` must be `allow` or `deny`, not `block`');
    });

    it('normalises expiresAt to an ISO instant and refuses one without a zone', () => {
      expect(valueOf('binding', { ...binding, expiresAt: '2030-01-01T01:00:00+01:00' }).expiresAt).toBe('2030-01-01T00:00:00.000Z');
      expect(problemsOf('binding', { ...binding, expiresAt: '2030-01-01T00:00:00' })[0]).toContain(
        '`expiresAt` must be an ISO 8601 instant with a time zone',
      );
      expect(problemsOf('binding', { ...binding, expiresAt: '2030-02-30T00:00:00Z' })[0]).toContain('`expiresAt`');
    });

    it('needs a non-empty condition', () => {
      expect(problemsOf('binding', { ...binding, condition: ' ' })[0]).toContain('`condition` must be a non-empty string');
    });
  });

  describe('groupMapping', () => {
    const mapping = { id: 'm1', role: 'reader', scope: '*' };

    it('accepts each way of naming groups', () => {
      for (const group of [{ id: 'g' }, { externalId: 'x' }, { displayName: 'Eng' }, { displayNamePattern: 'eng-*' }]) {
        expect(valueOf('groupMapping', { ...mapping, group }).group).toEqual(group);
      }
    });

    it('needs exactly one of them', () => {
      expect(problemsOf('groupMapping', { ...mapping, group: { id: 'g', displayName: 'Eng' } })).toEqual([
        '`group` must have exactly one of `id`, `externalId`, `displayName`, `displayNamePattern`',
      ]);
      expect(problemsOf('groupMapping', { ...mapping, group: {} })[0]).toContain('exactly one of');
    });
  });

  describe('attributeRule', () => {
    it('accepts a filter and needs it non-empty', () => {
      expect(valueOf('attributeRule', { id: 'r', filter: 'title pr', role: 'reader', scope: '*' }).filter).toBe('title pr');
      expect(problemsOf('attributeRule', { id: 'r', filter: '', role: 'reader', scope: '*' })[0]).toContain(
        '`filter` must be a non-empty string',
      );
    });
  });

  describe('grant', () => {
    const grant = {
      id: 'g1',
      subject: { type: 'user', id: 'u1' },
      role: 'oncall',
      scope: 'service:api',
      expiresAt: '2030-01-01T00:00:00Z',
      reason: 'INC-42',
    };

    it('accepts a grant to a user', () => {
      expect(valueOf('grant', grant)).toEqual({ ...grant, expiresAt: '2030-01-01T00:00:00.000Z' });
    });

    it('always expires and says why', () => {
      const { expiresAt: _e, ...open } = grant;
      expect(problemsOf('grant', open)).toEqual(['`expiresAt` is required']);
      expect(problemsOf('grant', { ...grant, reason: '' })[0]).toContain('`reason` must be a non-empty string');
    });

    it('is for a user only', () => {
      expect(problemsOf('grant', { ...grant, subject: { type: 'group', id: 'g' } })[0]).toContain(
        '`subject.type` must be `user`, not `group`',
      );
    });

    it('has no effect field', () => {
      expect(problemsOf('grant', { ...grant, effect: 'deny' })).toEqual(['unknown field `effect`']);
    });
  });
});

/** A valid model to break one rule at a time. */
function baseSet() {
  const set = emptyPolicySet();
  set.resourceType.set('project', { name: 'project', actions: ['read'] });
  set.resourceType.set('database', { name: 'database', actions: ['connect', 'read', 'write'] });
  set.resource.set('project:shop', { type: 'project', id: 'shop' });
  set.resource.set('database:orders', { type: 'database', id: 'orders', parent: 'project:shop' });
  set.role.set('reader', { name: 'reader', permissions: ['database:connect', 'database:read'] });
  set.role.set('dba', { name: 'dba', permissions: ['database:*'], includes: ['reader'] });
  set.attributeRule.set('sales', {
    id: 'sales',
    filter: `${ENTERPRISE}:department eq "Sales" and title co "Manager"`,
    role: 'reader',
    scope: '*',
  });
  set.groupMapping.set('eng', { id: 'eng', group: { externalId: 'aad-eng' }, role: 'reader', scope: 'project:shop' });
  set.binding.set('b1', { id: 'b1', subject: { type: 'rule', id: 'sales' }, role: 'dba', scope: 'database:*' });
  set.grant.set('g1', {
    id: 'g1',
    subject: { type: 'user', id: 'u1' },
    role: 'dba',
    scope: 'database:orders',
    expiresAt: '2030-01-01T00:00:00.000Z',
    reason: 'INC-42',
  });
  return set;
}

function only(problems: PolicyProblem[]): PolicyProblem {
  expect(problems).toHaveLength(1);
  return problems[0]!;
}

describe('validatePolicySet', () => {
  it('accepts a valid set and the empty set', () => {
    expect(validatePolicySet(baseSet())).toEqual([]);
    expect(validatePolicySet(emptyPolicySet())).toEqual([]);
  });

  describe('roles', () => {
    it('needs the type of each permission declared', () => {
      const set = baseSet();
      set.role.set('ops', { name: 'ops', permissions: ['server:ssh'] });
      expect(only(validatePolicySet(set))).toMatchObject({ kind: 'role', id: 'ops' });
      expect(validatePolicySet(set)[0]!.message).toContain('permission `server:ssh` names resource type `server`, which is not declared');
      set.role.set('ops', { name: 'ops', permissions: ['server:*'] });
      expect(only(validatePolicySet(set)).message).toContain('resource type `server`');
    });

    it('needs the action declared by the type', () => {
      const set = baseSet();
      set.role.set('dropper', { name: 'dropper', permissions: ['database:drop'] });
      const problem = only(validatePolicySet(set));
      expect(problem).toMatchObject({ kind: 'role', id: 'dropper' });
      expect(problem.message).toContain('resource type `database` has no action `drop`');
    });

    it('needs included roles to exist', () => {
      const set = baseSet();
      set.role.set('dba', { name: 'dba', permissions: [], includes: ['reader', 'writer'] });
      expect(only(validatePolicySet(set))).toMatchObject({ kind: 'role', id: 'dba', message: 'includes role `writer`, which does not exist' });
    });

    it('reports an include cycle with its path', () => {
      const set = baseSet();
      set.role.set('a', { name: 'a', permissions: ['project:read'], includes: ['b'] });
      set.role.set('b', { name: 'b', permissions: [], includes: ['c'] });
      set.role.set('c', { name: 'c', permissions: [], includes: ['a', 'reader'] });
      const problem = only(validatePolicySet(set));
      expect(problem).toMatchObject({ kind: 'role', id: 'a' });
      expect(problem.message).toContain('`a → b → c → a`');
    });

    it('reports a role that includes itself', () => {
      const set = baseSet();
      set.role.set('reader', { name: 'reader', permissions: ['database:read'], includes: ['reader'] });
      expect(only(validatePolicySet(set)).message).toContain('`reader → reader`');
    });
  });

  describe('resources', () => {
    it('needs the type declared', () => {
      const set = baseSet();
      set.resource.set('server:web', { type: 'server', id: 'web' });
      expect(only(validatePolicySet(set))).toMatchObject({
        kind: 'resource',
        id: 'server:web',
        message: 'resource type `server` is not declared',
      });
    });

    it('needs the parent registered', () => {
      const set = baseSet();
      set.resource.set('database:carts', { type: 'database', id: 'carts', parent: 'project:cart' });
      expect(only(validatePolicySet(set))).toMatchObject({
        kind: 'resource',
        id: 'database:carts',
        message: 'parent `project:cart` is not a registered resource',
      });
    });

    it('reports a parent cycle once, with its path', () => {
      const set = baseSet();
      set.resource.set('project:a', { type: 'project', id: 'a', parent: 'project:b' });
      set.resource.set('project:b', { type: 'project', id: 'b', parent: 'project:a' });
      const problem = only(validatePolicySet(set));
      expect(problem).toMatchObject({ kind: 'resource', id: 'project:a' });
      expect(problem.message).toContain('`project:a → project:b → project:a`');
    });

    it('accepts a deep hierarchy', () => {
      const set = baseSet();
      set.resource.set('database:eu', { type: 'database', id: 'eu', parent: 'database:orders' });
      set.resource.set('database:eu-1', { type: 'database', id: 'eu-1', parent: 'database:eu' });
      expect(validatePolicySet(set)).toEqual([]);
    });
  });

  describe('bindings, mappings, rules and grants', () => {
    it('need their role to exist', () => {
      const set = baseSet();
      set.binding.set('b2', { id: 'b2', subject: { type: 'everyone' }, role: 'admin', scope: '*' });
      set.grant.set('g2', { ...set.grant.get('g1')!, id: 'g2', role: 'oncall' });
      expect(validatePolicySet(set)).toEqual([
        { kind: 'binding', id: 'b2', message: 'role `admin` does not exist' },
        { kind: 'grant', id: 'g2', message: 'role `oncall` does not exist' },
      ]);
    });

    it('need the type of their scope declared, but not the resource registered', () => {
      const set = baseSet();
      set.groupMapping.set('m2', { id: 'm2', group: { id: 'g' }, role: 'reader', scope: 'server:*' });
      set.groupMapping.set('m3', { id: 'm3', group: { id: 'g' }, role: 'reader', scope: 'database:not-registered' });
      const problem = only(validatePolicySet(set));
      expect(problem).toMatchObject({ kind: 'groupMapping', id: 'm2' });
      expect(problem.message).toContain('scope `server:*` names resource type `server`, which is not declared');
    });

    it('need the attribute rule a binding names', () => {
      const set = baseSet();
      set.binding.set('b1', { id: 'b1', subject: { type: 'rule', id: 'marketing' }, role: 'dba', scope: '*' });
      expect(only(validatePolicySet(set))).toMatchObject({ kind: 'binding', id: 'b1' });
      expect(validatePolicySet(set)[0]!.message).toContain('attribute rule `marketing`, which does not exist');
    });

    it('need an attribute rule filter that compiles against the User schema', () => {
      const set = baseSet();
      set.attributeRule.set('bad', { id: 'bad', filter: 'departmnt eq "Sales"', role: 'reader', scope: '*' });
      set.attributeRule.set('syntax', { id: 'syntax', filter: 'title eq', role: 'reader', scope: '*' });
      const problems = validatePolicySet(set);
      expect(problems.map((p) => [p.kind, p.id])).toEqual([
        ['attributeRule', 'bad'],
        ['attributeRule', 'syntax'],
      ]);
      expect(problems[0]!.message).toContain('unknown attribute `departmnt`');
    });

    it('need `*` as the only wildcard of a displayName pattern', () => {
      const set = baseSet();
      set.groupMapping.set('q', { id: 'q', group: { displayNamePattern: 'eng-?' }, role: 'reader', scope: '*' });
      set.groupMapping.set('plain', { id: 'plain', group: { displayNamePattern: 'eng' }, role: 'reader', scope: '*' });
      set.groupMapping.set('ok', { id: 'ok', group: { displayNamePattern: 'eng-*-admins' }, role: 'reader', scope: '*' });
      const problems = validatePolicySet(set);
      expect(problems.map((p) => p.id)).toEqual(['q', 'plain']);
      expect(problems[0]!.message).toContain('`*` is the only wildcard');
      expect(problems[1]!.message).toContain('has no `*`');
    });

    it('need a condition that compiles', () => {
      const set = baseSet();
      set.binding.set('mfa', { id: 'mfa', subject: { type: 'everyone' }, role: 'reader', scope: '*', condition: 'context.mfa == true' });
      expect(validatePolicySet(set)).toEqual([]);
      set.binding.set('mfa', { id: 'mfa', subject: { type: 'everyone' }, role: 'reader', scope: '*', condition: 'context.mfa ==' });
      const problem = only(validatePolicySet(set));
      expect(problem).toMatchObject({ kind: 'binding', id: 'mfa' });
      expect(problem.message).toContain('`condition` does not compile');
    });
  });

  describe('objects from storage', () => {
    it('reports a bad shape under the key it is stored at, and checks nothing more of it', () => {
      const set = baseSet();
      (set.binding as Map<string, unknown>).set('b9', { id: 'b9', subject: { type: 'user' }, role: 'nobody', scope: '*' });
      expect(only(validatePolicySet(set))).toMatchObject({ kind: 'binding', id: 'b9', message: expect.stringContaining('exactly one of') });
    });

    it('reports an object stored under another key', () => {
      const set = baseSet();
      set.role.set('viewer', { name: 'reader2', permissions: ['project:read'] });
      expect(only(validatePolicySet(set)).message).toContain('its key is `reader2`');
    });

    it('finds dangling references left by a delete', () => {
      const set = baseSet();
      set.role.delete('reader');
      expect(validatePolicySet(set).map((p) => `${p.kind}:${p.id}`)).toEqual(['role:dba', 'attributeRule:sales', 'groupMapping:eng']);
    });
  });
});

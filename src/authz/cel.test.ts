import { describe, expect, it } from 'vitest';
import { compileCondition, type ConditionVars } from './cel.js';

const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const vars: ConditionVars = {
  subject: { userName: 'alice', title: 'Engineering Manager', groups: ['admins', 'eng'], [ENTERPRISE]: { department: 'Security' } },
  resource: { type: 'service', id: 'api', attributes: { env: 'prod', owner: 'bob', level: 3 } },
  context: { mfa: true, ip: '10.1.2.3' },
  request: { time: new Date('2029-06-01T12:00:00Z') },
};

function run(source: string, with_: ConditionVars = vars) {
  const compiled = compileCondition(source);
  if (!compiled.ok) throw new Error(compiled.error);
  return compiled.condition.evaluate(with_);
}

describe('conditions in CEL', () => {
  it.each([
    ['resource.attributes.env == "prod"', true],
    ['subject.title.contains("Manager") && context.mfa == true', true],
    ['request.time < timestamp("2030-01-01T00:00:00Z")', true],
    ['request.time + duration("8760h") < timestamp("2030-01-01T00:00:00Z")', false],
    ['"admins" in subject.groups', true],
    [`resource.attributes.owner == subject.userName || subject["${ENTERPRISE}"].department == "Security"`, true],
    ['has(context.ip) && context.ip.startsWith("10.")', true],
    ['has(context.country)', false],
    ['resource.attributes.level >= 3 && resource.attributes.level < 4', true],
  ])('%s is %s', (source, expected) => {
    expect(run(source)).toEqual({ ok: true, value: expected });
  });

  it('refuses a syntax error when compiled', () => {
    const compiled = compileCondition('context.mfa ==');
    expect(compiled.ok).toBe(false);
    if (!compiled.ok) expect(compiled.error).toContain('`context.mfa ==` is not valid');
  });

  it('refuses a variable other than subject, resource, context and request', () => {
    const compiled = compileCondition('subjet.title == "x"');
    expect(compiled.ok).toBe(false);
    if (!compiled.ok) expect(compiled.error).toMatch(/subjet/);
  });

  it('refuses an expression that cannot return a bool, and one that is too long', () => {
    expect(compileCondition('"yes"').ok).toBe(false);
    expect(compileCondition(`${'true && '.repeat(600)}true`).ok).toBe(false);
  });

  it('reports a runtime error instead of throwing', () => {
    const result = run('context.missing.field == 1');
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toContain('missing');
  });

  it('reports a result that is not a bool', () => {
    const result = run('context.ip', { ...vars, context: { ip: '10.0.0.1' } });
    expect(result).toMatchObject({ ok: false });
  });
});

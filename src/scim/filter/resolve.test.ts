import { describe, expect, it } from 'vitest';
import type { AttributeDef, ResourceTypeDef } from '../../core/attribute.js';
import type { Result } from '../../core/errors.js';
import type { Filter, ResolvedAttr } from '../../core/filter.js';
import { COMMON_ATTRIBUTES } from '../schema/common-attributes.js';
import { enterpriseUserSchema } from '../schema/enterprise-user-schema.js';
import { groupSchema } from '../schema/group-schema.js';
import { groupResourceType, userResourceType } from '../schema/resource-types.js';
import { ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, USER_SCHEMA } from '../schema/urns.js';
import { userSchema } from '../schema/user-schema.js';
import { parseAttrPath } from './path.js';
import { parseFilter } from './parser.js';
import { resolveAttrPath, resolveFilter } from './resolve.js';

type R = Filter<ResolvedAttr>;

function resolve(text: string, rt: ResourceTypeDef = userResourceType): Result<R> {
  const parsed = parseFilter(text);
  if (!parsed.ok) throw new Error(`test filter does not parse: ${parsed.error.detail}`);
  return resolveFilter(parsed.value, rt);
}

function resolved(text: string, rt: ResourceTypeDef = userResourceType): R {
  const result = resolve(text, rt);
  if (!result.ok) throw new Error(`unexpected failure: ${result.error.detail}`);
  return result.value;
}

const def = (attributes: readonly AttributeDef[], name: string): AttributeDef => {
  const found = attributes.find((a) => a.name === name);
  if (found === undefined) throw new Error(`no attribute ${name}`);
  return found;
};
const user = (name: string) => def(userSchema.attributes, name);
const common = (name: string) => def(COMMON_ATTRIBUTES, name);
const enterprise = (name: string) => def(enterpriseUserSchema.attributes, name);
const sub = (parent: AttributeDef, name: string) => def(parent.subAttributes ?? [], name);

describe('resolveFilter: names', () => {
  it('resolves core, common and sub-attributes case-insensitively to the canonical definitions', () => {
    const filter = resolved('USERNAME eq "x" and Name.GivenName sw "B" and ID eq "1"');
    expect(filter).toEqual({
      kind: 'and',
      left: {
        kind: 'and',
        left: { kind: 'compare', path: { schema: USER_SCHEMA, top: user('userName') }, op: 'eq', value: 'x' },
        right: {
          kind: 'compare',
          path: { schema: USER_SCHEMA, top: user('name'), sub: sub(user('name'), 'givenName') },
          op: 'sw',
          value: 'B',
        },
      },
      right: { kind: 'compare', path: { schema: USER_SCHEMA, top: common('id') }, op: 'eq', value: '1' },
    });
    expect(filter.kind === 'and' && filter.right.kind === 'compare' && filter.right.path.top).toBe(common('id'));
  });

  it('resolves enterprise extension attributes, qualified or not', () => {
    const department = { schema: ENTERPRISE_USER_SCHEMA, top: enterprise('department') };
    const expected = { kind: 'compare', path: department, op: 'eq', value: 'Eng' };
    expect(resolved(`${ENTERPRISE_USER_SCHEMA}:department eq "Eng"`)).toEqual(expected);
    expect(resolved('department eq "Eng"')).toEqual(expected);
    expect(resolved(`${ENTERPRISE_USER_SCHEMA.toUpperCase()}:Manager.Value eq "m"`)).toEqual({
      kind: 'compare',
      path: { schema: ENTERPRISE_USER_SCHEMA, top: enterprise('manager'), sub: sub(enterprise('manager'), 'value') },
      op: 'eq',
      value: 'm',
    });
  });

  it('accepts core-qualified names', () => {
    expect(resolved(`${USER_SCHEMA}:userName eq "x"`)).toEqual(resolved('userName eq "x"'));
  });

  it('reads a compare on a multi-valued complex attribute as one on its `value`', () => {
    const emails = user('emails');
    expect(resolved('emails co "@x"')).toEqual({
      kind: 'compare',
      path: { schema: USER_SCHEMA, top: emails, sub: sub(emails, 'value') },
      op: 'co',
      value: '@x',
    });
    const members = def(groupSchema.attributes, 'members');
    expect(resolved('id eq "g" and members eq "u"', groupResourceType)).toEqual({
      kind: 'and',
      left: { kind: 'compare', path: { schema: GROUP_SCHEMA, top: common('id') }, op: 'eq', value: 'g' },
      right: {
        kind: 'compare',
        path: { schema: GROUP_SCHEMA, top: members, sub: sub(members, 'value') },
        op: 'eq',
        value: 'u',
      },
    });
  });

  it('keeps `pr` on the attribute itself', () => {
    expect(resolved('emails pr')).toEqual({ kind: 'present', path: { schema: USER_SCHEMA, top: user('emails') } });
    expect(resolved('name pr')).toEqual({ kind: 'present', path: { schema: USER_SCHEMA, top: user('name') } });
  });
});

describe('resolveFilter: value paths', () => {
  const emails = user('emails');
  const inEmails = (name: string): ResolvedAttr => ({ schema: USER_SCHEMA, top: emails, sub: sub(emails, name) });

  it('makes inner paths absolute', () => {
    expect(resolved('emails[TYPE eq "work" and value co "@x"]')).toEqual({
      kind: 'valuePath',
      path: { schema: USER_SCHEMA, top: emails },
      filter: {
        kind: 'and',
        left: { kind: 'compare', path: inEmails('type'), op: 'eq', value: 'work' },
        right: { kind: 'compare', path: inEmails('value'), op: 'co', value: '@x' },
      },
    });
  });

  it("resolves Entra's `[filter].value eq` form like the plain one", () => {
    const plain = resolved('emails[type eq "work" and value eq "x"]');
    expect(resolved('emails[type eq "work"].value eq "x"')).toEqual(plain);
  });

  it('accepts a singular complex attribute', () => {
    const manager = enterprise('manager');
    expect(resolved(`${ENTERPRISE_USER_SCHEMA}:manager[value eq "m"]`)).toEqual({
      kind: 'valuePath',
      path: { schema: ENTERPRISE_USER_SCHEMA, top: manager },
      filter: {
        kind: 'compare',
        path: { schema: ENTERPRISE_USER_SCHEMA, top: manager, sub: sub(manager, 'value') },
        op: 'eq',
        value: 'm',
      },
    });
  });
});

describe('resolveFilter: values', () => {
  const valueOf = (text: string) => {
    const filter = resolved(text);
    return filter.kind === 'compare' ? filter.value : filter;
  };

  it('accepts booleans and, as Entra sends them, their strings in any case', () => {
    expect(valueOf('active eq true')).toBe(true);
    expect(valueOf('active eq "True"')).toBe(true);
    expect(valueOf('active ne "FALSE"')).toBe(false);
    expect(valueOf('emails.primary eq "false"')).toBe(false);
  });

  it('normalises dateTimes to ISO instants', () => {
    expect(valueOf('meta.lastModified gt "2026-01-01T00:00:00Z"')).toBe('2026-01-01T00:00:00.000Z');
    expect(valueOf('meta.created le "2026-01-01T01:30:00.5+01:30"')).toBe('2026-01-01T00:00:00.500Z');
  });

  it('rewrites comparisons with null into presence tests', () => {
    const title: ResolvedAttr = { schema: USER_SCHEMA, top: user('title') };
    expect(resolved('title eq null')).toEqual({ kind: 'not', filter: { kind: 'present', path: title } });
    expect(resolved('title ne null')).toEqual({ kind: 'present', path: title });
    const emails: ResolvedAttr = { schema: USER_SCHEMA, top: user('emails') };
    expect(resolved('emails eq null')).toEqual({ kind: 'not', filter: { kind: 'present', path: emails } });
  });
});

describe('resolveFilter: rejections', () => {
  it.each([
    ['foo eq "x"', 'unknown attribute `foo`'],
    ['name.foo pr', 'unknown attribute `name.foo`'],
    ['userName.x pr', 'unknown attribute `userName.x`'],
    [`${ENTERPRISE_USER_SCHEMA}:userName eq "x"`, 'unknown attribute'],
    ['urn:example:Other:department eq "x"', 'unknown attribute'],
    ['emails[foo pr]', 'unknown attribute `emails.foo`'],
    ['emails[emails.type eq "work"]', 'must be a sub-attribute name'],
    ['password eq "secret"', '`password` cannot be used in a filter'],
    ['password pr', '`password` cannot be used in a filter'],
    ['name eq "Barbara"', '`name` is complex'],
    ['addresses eq "x"', '`addresses` is complex'],
    ['active gt true', '`gt` does not apply to boolean attribute `active`'],
    ['meta.created co "2026"', '`co` does not apply to dateTime attribute `meta.created`'],
    ['active eq "yes"', '`active` expects `true` or `false`, not `"yes"`'],
    ['active co "true"', '`co` does not apply to boolean'],
    ['userName eq 42', '`userName` expects a string, not `42`'],
    ['userName eq true', 'expects a string'],
    ['meta.created eq "yesterday"', 'expects a date-time'],
    ['meta.created eq "2026-01-01T00:00:00"', 'expects a date-time'],
    ['meta.created eq "2026-02-30T00:00:00Z"', 'expects a date-time'],
    ['meta.created eq 1767225600000', 'expects a date-time'],
    ['title gt null', '`gt` cannot compare with `null`'],
    ['userName[value pr]', '`userName` is not a complex attribute'],
  ])('%s', (text, fragment) => {
    const result = resolve(text);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.code).toBe('invalid_filter');
    expect(result.error.detail).toContain(fragment);
  });

  it('refuses attributes of another resource type', () => {
    const result = resolve('department eq "x"', groupResourceType);
    expect(result.ok || result.error.detail).toBe('unknown attribute `department` for resource type `Group`');
  });

  it('refuses a value path nested in another (built by hand; the parser cannot produce one)', () => {
    const result = resolveFilter(
      {
        kind: 'valuePath',
        path: { attr: 'emails' },
        filter: { kind: 'valuePath', path: { attr: 'emails' }, filter: { kind: 'present', path: { attr: 'type' } } },
      },
      userResourceType,
    );
    expect(result.ok || result.error.detail).toBe('a value path cannot contain another value path');
  });
});

describe('resolveAttrPath', () => {
  const path = (text: string) => {
    const parsed = parseAttrPath(text);
    if (!parsed.ok) throw new Error(parsed.error.detail);
    return resolveAttrPath(parsed.value, userResourceType);
  };

  it('resolves to canonical definitions', () => {
    expect(path('NAME.givenname')).toEqual({
      ok: true,
      value: { schema: USER_SCHEMA, top: user('name'), sub: sub(user('name'), 'givenName') },
    });
    expect(path('meta.lastModified')).toEqual({
      ok: true,
      value: { schema: USER_SCHEMA, top: common('meta'), sub: sub(common('meta'), 'lastModified') },
    });
  });

  it.each(['foo', 'name.foo', ENTERPRISE_USER_SCHEMA])('refuses `%s` with invalid_path', (text) => {
    const result = path(text);
    expect(result.ok ? 'ok' : result.error.code).toBe('invalid_path');
  });
});

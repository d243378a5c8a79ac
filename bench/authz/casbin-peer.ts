/**
 * casbin (node-casbin 5) over the same model: its documented "RBAC with resource roles" shape,
 * with a third role graph for role → permission and the two grant terms as policy columns.
 *
 *   g   user → group → parent group …, group → displayName-pattern mapping, user → attribute rule,
 *       user → everyone (the subject graph)
 *   g2  resource → parent resource …, resource → `type:*`, `type:*` → `*` (the scope graph)
 *   g3  `type:action` → role, included role → including role (the permission graph)
 *   p   one line per binding, mapping, rule or grant: subject node, scope node, role, effect,
 *       env of its condition (`*`: none), expiry in epoch ms (`9999999999999`: none)
 *
 * What casbin does not do itself and is done when the policy is loaded: matching attribute rules
 * (SCIM filters) against users and displayName patterns against groups (both become `g` links).
 * What is passed with each request: the user's `active` flag and the resource's `env`, looked up
 * by the caller in maps built at load time (Scimitar reads both from its index). Expiry and the
 * `resource.attributes.env == "…"` condition are evaluated per request by the matcher.
 */
import { newEnforcer, newModelFromString, StringAdapter, type Enforcer } from 'casbin';
import { ACTIONS, globMatches, type CheckRequest, type Workload } from './workload.js';

const MODEL = `
[request_definition]
r = sub, obj, act, env, now, active

[policy_definition]
p = sub, obj, role, eft, env, exp

[role_definition]
g = _, _
g2 = _, _
g3 = _, _

[policy_effect]
e = some(where (p.eft == allow)) && !some(where (p.eft == deny))

[matchers]
m = r.active == true && g3(r.act, p.role) && g2(r.obj, p.obj) && g(r.sub, p.sub) && (p.env == "*" || p.env == r.env) && r.now < p.exp
`;

const NEVER = '9999999999999';

export interface CasbinPeer {
  readonly enforcer: Enforcer;
  readonly policyLines: number;
  readonly groupingLines: number;
  readonly loadMs: number;
  /** One check, as an application would ask it: the user's name, the resource, the permission. */
  check(request: CheckRequest, now: number): boolean;
}

export async function createCasbinPeer(w: Workload): Promise<CasbinPeer> {
  const started = performance.now();
  const lines: string[] = [];
  let p = 0;
  let g = 0;
  const user = (i: number) => `u:${w.users[i]!.userName}`;
  const group = (i: number) => `g:${i}`;
  for (const grant of w.grants) {
    const s = grant.subject;
    const sub =
      s.kind === 'user' ? user(s.user) : s.kind === 'group' ? group(s.group) : s.kind === 'pattern' ? `pat:${grant.id}` : s.kind === 'rule' ? `rule:${s.rule}` : 'everyone';
    lines.push(`p, ${sub}, ${grant.scope}, role:${grant.role}, ${grant.effect}, ${grant.env ?? '*'}, ${grant.expiresAt ?? NEVER}`);
    p++;
    if (s.kind === 'pattern') {
      for (const gr of w.groups) {
        if (globMatches(s.pattern, gr.displayName)) {
          lines.push(`g, ${group(gr.i)}, pat:${grant.id}`);
          g++;
        }
      }
    }
  }
  for (const gr of w.groups) {
    for (const u of gr.users) lines.push(`g, ${user(u)}, ${group(gr.i)}`);
    for (const parent of gr.parents) lines.push(`g, ${group(gr.i)}, ${group(parent)}`);
    g += gr.users.length + gr.parents.length;
  }
  for (const u of w.users) {
    for (const rule of w.rules) {
      if (rule.matches(u)) {
        lines.push(`g, ${user(u.i)}, rule:${rule.id}`);
        g++;
      }
    }
    lines.push(`g, ${user(u.i)}, everyone`);
    g++;
  }
  const types = new Set<string>();
  for (const r of w.resources) {
    types.add(r.type);
    if (r.parent) lines.push(`g2, ${r.key}, ${r.parent}`);
    lines.push(`g2, ${r.key}, ${r.type}:*`);
    g += r.parent ? 2 : 1;
  }
  for (const t of types) lines.push(`g2, ${t}:*, *`);
  g += types.size;
  for (const role of w.roles) {
    for (const permission of role.permissions) {
      const [type, action] = permission.split(':') as [string, string];
      for (const a of action === '*' ? ACTIONS : [action]) lines.push(`g3, ${type}:${a}, role:${role.name}`);
    }
    for (const included of role.includes) lines.push(`g3, role:${included}, role:${role.name}`);
  }
  const enforcer = await newEnforcer(newModelFromString(MODEL), new StringAdapter(lines.join('\n')));

  const active = w.users.map((u) => u.active);
  const env = new Map(w.resources.map((r) => [r.key, r.env]));
  return {
    enforcer,
    policyLines: p,
    groupingLines: g,
    loadMs: performance.now() - started,
    check(request, now) {
      const key = `${request.type}:${request.id}`;
      return enforcer.enforceSync(user(request.user), key, `${request.type}:${request.action}`, env.get(key) ?? '', now, active[request.user]);
    },
  };
}

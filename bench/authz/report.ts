import type { HttpRun } from './http.js';
import type { EngineRun } from './measure.js';
import type { ReindexResult, Timed } from './reindex.js';
import type { MachineInfo } from '../run-support.js';

export interface Machine extends MachineInfo {
  readonly casbin: string;
  readonly cedar: string;
}

export interface Probe {
  readonly users: number;
  readonly groups: number;
  readonly memberships: number;
  readonly policy: number;
  readonly profiles: number;
  readonly gcExposed: boolean;
  readonly snapshotMs: number;
  readonly buildMs: number;
  readonly builds: readonly number[];
  readonly rssBeforeMiB: number;
  readonly rssPeakMiB: number;
  readonly rssAfterMiB: number;
  readonly heapDeltaMiB: number;
  /** Time to write the data set through the services, ms. */
  readonly seedMs?: number;
}

export type EngineSummary = Omit<EngineRun, 'answers'> & {
  /** Requests answered differently from Scimitar, over the `calls` it made. */
  readonly mismatches: number;
  readonly mismatchExamples: readonly string[];
  readonly allowShare: number;
};

export interface WorkloadSummary {
  readonly users: number;
  readonly inactiveUsers: number;
  readonly groups: number;
  readonly nestedGroups: number;
  readonly memberships: number;
  readonly resourceTypes: number;
  readonly actionsPerType: number;
  readonly roles: number;
  readonly rolesWithIncludes: number;
  readonly rolesWithWildcards: number;
  readonly resources: number;
  readonly grantsByOrigin: Readonly<Record<string, number>>;
  readonly conditional: number;
  readonly expiring: number;
  readonly expired: number;
  readonly denies: number;
  readonly rules: number;
  readonly requests: number;
  readonly requestKinds: Readonly<Record<string, number>>;
  readonly allowShare: number;
}

export interface PatchToDecision {
  readonly iterations: number;
  readonly correct: number;
  readonly totalMs: readonly number[];
  readonly patchMs: readonly number[];
  readonly evaluationMs: readonly number[];
  readonly user: string;
  readonly resource: string;
}

export interface Report {
  readonly date: string;
  readonly command: string;
  readonly code?: string;
  readonly quick: boolean;
  readonly minutes: number;
  readonly machine: Machine;
  readonly workload: WorkloadSummary;
  readonly seeding: { readonly usersMs: number; readonly groupsMs: number; readonly policyMs: number; readonly snapshotMs: number; readonly buildMs: number };
  readonly inProcess: readonly EngineSummary[];
  readonly peers: {
    readonly casbinPolicyLines: number;
    readonly casbinGroupingLines: number;
    readonly casbinLoadMs: number;
    readonly cedarPolicies: number;
    readonly cedarLoadMs: number;
  };
  readonly http?: {
    readonly single: readonly { readonly connections: number; readonly scimitar: HttpRun; readonly bare: HttpRun }[];
    readonly batch: readonly { readonly connections: number; readonly size: number; readonly subjects: 'mixed' | 'shared'; readonly scimitar: HttpRun; readonly bare: HttpRun }[];
    readonly verified: { readonly checked: number; readonly mismatches: number };
    readonly serverRssMiB: number;
    readonly bareRssMiB: number;
    readonly patchToDecision: PatchToDecision;
  };
  readonly reindex?: ReindexResult;
  readonly build: readonly Probe[];
  readonly notes: readonly string[];
  readonly errors: Readonly<Record<string, string>>;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const int = (x: number) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '—');
const ns = (x: number) => (!Number.isFinite(x) ? '—' : x < 10_000 ? `${Math.round(x).toLocaleString('en-US')} ns` : x < 10_000_000 ? `${(x / 1000).toFixed(1)} µs` : `${(x / 1e6).toFixed(1)} ms`);
const ms = (x: number) => (!Number.isFinite(x) ? '—' : x < 10 ? `${x.toFixed(2)} ms` : x < 100 ? `${x.toFixed(1)} ms` : `${int(x)} ms`);
const times = (x: number) => (!Number.isFinite(x) ? '—' : `${x < 10 ? x.toFixed(2) : x < 100 ? x.toFixed(1) : int(x)}×`);
const pct = (x: number) => (!Number.isFinite(x) ? '—' : `${(x * 100).toFixed(0)}%`);
const mib = (x: number) => (!Number.isFinite(x) ? '—' : `${Math.round(x)} MiB`);
const verdict = (ok: boolean | undefined) => (ok === undefined ? '—' : ok ? 'pass' : '**miss**');

export interface TargetRow {
  readonly what: string;
  readonly target: string;
  readonly measured: string;
  readonly pass: boolean | undefined;
}

/** Every target of the issue, next to what this run measured. */
export function targetRows(r: Report): TargetRow[] {
  const rows: TargetRow[] = [];
  const engine = (name: string) => r.inProcess.find((e) => e.name === name);
  const scimitar = engine('Scimitar');
  const map = engine('Map (ceiling)');
  if (scimitar && map) {
    const ratio = scimitar.p50Ns / Math.max(1, map.p50Ns);
    rows.push({
      what: 'In-process check, p50 (single-call, net of the clock)',
      target: '≤ 3× the Map',
      measured: `${ns(scimitar.p50Ns)} = ${times(ratio)} the Map's ${ns(map.p50Ns)}`,
      pass: ratio <= 3,
    });
    rows.push({ what: 'In-process check, p99', target: '≤ 5 µs', measured: ns(scimitar.p99Ns), pass: scimitar.p99Ns <= 5000 });
  }
  for (const level of r.http?.single ?? []) {
    const ratio = level.scimitar.rps / level.bare.rps;
    rows.push({
      what: `HTTP single check, ${level.connections} connection${level.connections > 1 ? 's' : ''}`,
      target: '≥ 70% of bare Fastify',
      measured: `${int(level.scimitar.rps)} /s = ${pct(ratio)} of ${int(level.bare.rps)} /s`,
      pass: ratio >= 0.7 && level.scimitar.other === 0 && level.scimitar.errors === 0,
    });
  }
  const best = [...(r.http?.batch ?? [])].sort((a, b) => b.scimitar.rps - a.scimitar.rps)[0];
  if (best) {
    const checks = best.scimitar.rps * best.size;
    rows.push({
      what: `HTTP batch of ${best.size.toLocaleString('en-US')} (best: ${best.subjects} subjects, ${best.connections} connection${best.connections > 1 ? 's' : ''})`,
      target: '≥ 500,000 checks/s',
      measured: `${int(checks)} checks/s (bare Fastify, same bodies: ${int(best.bare.rps * best.size)})`,
      pass: checks >= 500_000 && best.scimitar.other === 0,
    });
  }
  if (r.reindex) {
    const { members } = r.reindex;
    const row = (label: string, t: Timed) => {
      const m = median(t.syncMs);
      rows.push({
        what: `Re-index: ${label} (${members.toLocaleString('en-US')} members)`,
        target: '≤ 50 ms',
        measured: `${ms(m)} (whole write ${ms(median(t.writeMs))})${t.verified ? '' : ' ⚠️ decision did not change'}`,
        pass: m <= 50 && t.verified,
      });
    };
    row('group mapping created', r.reindex.mapping);
    row('members added by one PATCH to a mapped group', r.reindex.addMembers);
  }
  const big = [...r.build].sort((a, b) => b.users - a.users)[0];
  if (big && big.users >= 100_000) {
    rows.push({ what: `Index build, ${big.users.toLocaleString('en-US')} users (TenantIndex.build)`, target: '≤ 2 s', measured: ms(big.buildMs), pass: big.buildMs <= 2000 });
    rows.push({
      what: `Index from the database, ${big.users.toLocaleString('en-US')} users (snapshot read + build)`,
      target: '≤ 2 s',
      measured: ms(big.snapshotMs + big.buildMs),
      pass: big.snapshotMs + big.buildMs <= 2000,
    });
    rows.push({
      what: `Process RSS with the index, ${big.users.toLocaleString('en-US')} users`,
      target: '≤ 300 MB',
      measured: `${mib(big.rssAfterMiB)} (${(big.rssAfterMiB * 1.048576).toFixed(0)} MB; the index: +${mib(big.rssAfterMiB - big.rssBeforeMiB)})`,
      pass: big.rssAfterMiB * 1.048576 <= 300,
    });
  }
  return rows;
}

export function renderMarkdown(r: Report): string {
  const L: string[] = [];
  const m = r.machine;
  const w = r.workload;
  L.push('# Scimitar permission-engine benchmark', '');
  L.push(`- **Date:** ${r.date} (run took ${r.minutes.toFixed(1)} min)`);
  L.push(`- **Command:** \`${r.command}\`${r.code ? ` at commit \`${r.code}\`` : ''}`);
  L.push(
    `- **Machine:** ${m.cores} × ${m.cpu}${m.mhz ? ` @ ${m.mhz} MHz` : ''}, ${m.memoryGiB.toFixed(1)} GiB RAM, ${m.os}; shared ` +
      `(load average ${m.loadAverageBefore.map((x) => x.toFixed(2)).join(' / ')} before${m.loadAverageAfter ? `, ${m.loadAverageAfter.map((x) => x.toFixed(2)).join(' / ')} after` : ''})`,
  );
  L.push(`- **Node:** ${m.node}; SQLite ${m.sqlite}; peers: casbin ${m.casbin}, Cedar ${m.cedar} (\`@cedar-policy/cedar-wasm\`)`);
  if (r.quick) L.push('', '> **Quick mode.** A smoke run on a small data set: the targets are stated for the full run and these figures are not comparable with them.');
  L.push('');

  L.push('## Targets', '');
  L.push('| What | Target | Measured | Result |', '|---|---|---|:---:|');
  for (const t of targetRows(r)) L.push(`| ${t.what} | ${t.target} | ${t.measured} | ${verdict(t.pass)} |`);
  for (const [phase, message] of Object.entries(r.errors)) L.push('', `⚠️ **${phase} failed:** \`${message.split('\n')[0]!.slice(0, 300)}\``);

  L.push('', '## Workload', '');
  L.push(
    `Generated in code from a fixed seed (\`bench/authz/workload.ts\`) and written into a SQLite file through the real services ` +
      `(SCIM creates in transactions of 5,000, the model with \`PolicyAdmin#apply\`, temporary grants with \`PolicyAdmin#put\`); ` +
      `the index is \`TenantIndex.build(await store.snapshot(tenant))\`.`,
    '',
  );
  L.push('| Item | Count |', '|---|---:|');
  const origin = w.grantsByOrigin;
  L.push(`| Users (enterprise extension: department, title) | ${int(w.users)} (${int(w.inactiveUsers)} inactive) |`);
  L.push(`| Groups (nested 1–3 levels deep: ${int(w.nestedGroups)}) | ${int(w.groups)} |`);
  L.push(`| Memberships (direct, users and groups) | ${int(w.memberships)} |`);
  L.push(`| Resource types × actions | ${w.resourceTypes} × ${w.actionsPerType} |`);
  L.push(`| Roles (with includes: ${w.rolesWithIncludes}, with \`type:*\`: ${w.rolesWithWildcards}) | ${w.roles} |`);
  L.push(`| Registered resources (projects → databases, folders → documents, …) | ${int(w.resources)} |`);
  L.push(`| Group mappings (by externalId, by displayName, by pattern) | ${int(origin['groupMapping'] ?? 0)} |`);
  L.push(`| Attribute rules (department / title filters) | ${int(origin['attributeRule'] ?? 0)} |`);
  L.push(`| Bindings (users, groups, a rule, everyone) | ${int(origin['binding'] ?? 0)} |`);
  L.push(`| Temporary grants | ${int(origin['grant'] ?? 0)} |`);
  L.push(`| … of all grants: with a CEL condition \`resource.attributes.env == "…"\` / expiring (already expired) / deny | ${w.conditional} / ${w.expiring} (${w.expired}) / ${w.denies} |`);
  L.push(`| Check requests in the mix (${Object.entries(w.requestKinds).map(([k, v]) => `${k} ${int(v)}`).join(', ')}) | ${int(w.requests)}, ${pct(w.allowShare)} allowed |`);
  L.push(
    '',
    `Seeding: users ${ms(r.seeding.usersMs)}, groups and memberships ${ms(r.seeding.groupsMs)}, model ${ms(r.seeding.policyMs)}; ` +
      `snapshot read ${ms(r.seeding.snapshotMs)}, \`TenantIndex.build\` ${ms(r.seeding.buildMs)} (in the benchmark process).`,
  );

  L.push('', '## 1. In-process check', '');
  L.push(
    '| Engine | Requests timed | Checks/s | Mean (batches) | p50 | p90 | p99 | × Map, p50 | × Map, checks/s | Allowed | Answers ≠ Scimitar |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  );
  const map = r.inProcess.find((e) => e.name === 'Map (ceiling)');
  for (const e of r.inProcess) {
    const p50x = map ? e.p50Ns / Math.max(1, map.p50Ns) : NaN;
    const tpx = map ? map.checksPerSecond / e.checksPerSecond : NaN;
    L.push(
      `| ${e.name} | ${int(e.calls)} | ${int(e.checksPerSecond)} | ${ns(e.meanNs)} | ${ns(e.p50Ns)} | ${ns(e.p90Ns)} | ${ns(e.p99Ns)} | ${times(p50x)} | ${times(tpx)} | ${pct(e.allowShare)} | ${e.mismatches}${e.mismatchExamples.length ? ` (e.g. ${e.mismatchExamples.slice(0, 2).join('; ')})` : ''} |`,
    );
  }
  const clock = r.inProcess.find((e) => e.method === 'batches + single calls')?.clockNs;
  L.push(
    '',
    '**Method.** Scimitar and the two Maps are measured in two rounds, one engine after the other, and the second round is reported (whichever runs first ' +
      'otherwise pays for the warm-up of the JIT and the heap). Throughput: `process.hrtime.bigint()` read around each batch of 1,000 calls (nothing else inside), the median of three passes over the mix after an ' +
      `untimed warm-up pass, with a full GC before each engine and each timed pass; "Mean (batches)" is the same figure per call. p50/p90/p99: every call timed alone between two \`process.hrtime.bigint()\` reads, minus the ` +
      `median cost of an empty timed region measured just before (${clock !== undefined ? ns(clock) : '—'} here), so these are net of the clock but still carry its jitter. ` +
      'The peers cost milliseconds a call, so they run a prefix of the same mix that fits a time budget, in one pass timed call by call (the clock is then noise). ' +
      'Scimitar gets the user already resolved (`index.findUser` once per request, outside the timing); "+ findSubject" resolves the subject by userName inside the timing, ' +
      'as the HTTP route does (`checkAccess`: `findSubject` then `isAllowed`). The Map holds every answer of the mix, precomputed, keyed `userId|action|type:id`; ' +
      'the ceiling builds the key inside the timing (a request arrives as its parts), "key prebuilt" does not. In V8 a lookup with a freshly built string key costs ' +
      'far more than the lookup itself (the string is flattened and hashed), and a tight loop of such lookups runs several times slower per call than the same calls timed ' +
      'one by one; so compare p50 with p50 and checks/s with checks/s, not one with the other.',
  );
  L.push(
    '',
    `**casbin** (${r.peers.casbinPolicyLines} \`p\` lines, ${int(r.peers.casbinGroupingLines)} \`g/g2/g3\` lines, loaded in ${ms(r.peers.casbinLoadMs)}): ` +
      'the "RBAC with resource roles" model with three role graphs — subjects (user → group → parent group, group → pattern mapping, user → rule, user → everyone), ' +
      'scopes (resource → parent, resource → `type:*` → `*`) and permissions (`type:action` → role, included role → including role) — and one `p` line per binding, ' +
      'mapping, rule or grant with its effect, condition env and expiry; effect `some(allow) && !some(deny)`. Evaluated per request: scope containment, nesting, role ' +
      'includes, deny-beats-allow, the condition and the expiry. **Left out of casbin and done at load time:** matching attribute rules (SCIM filters) and displayName ' +
      'patterns (they become `g` links); the caller passes the user\'s `active` flag and the resource\'s `env` with each request (looked up in maps, inside the timing). ' +
      'casbin scans every `p` line for each request (no index), hence its cost.',
  );
  L.push(
    '',
    `**Cedar** (${r.peers.cedarPolicies} policies, parsed once with \`preparsePolicySet\` in ${ms(r.peers.cedarLoadMs)}; each check is \`statefulIsAuthorized\`): roles are action groups, ` +
      'scopes are resource ancestors (`Resource::"type:*"` nodes for type scopes), groups/patterns/rules are principal parents, deny is `forbid`, inactive users meet ' +
      '`forbid … unless { principal.active }`, the condition is `resource.env == "…"` and the expiry `context.now < …`, both evaluated per request. Each call passes the ' +
      'entities it needs (user, resource, action, ancestors flattened into `parents`), built from precomputed objects. **Left out of Cedar and done at load time:** ' +
      'the same two as casbin (attribute rules, displayName patterns). "Cedar, empty policy set" is the same call against a policy set with no policies: the cost of ' +
      'crossing into WebAssembly with the request and entities and back with the answer (serde of the JS objects, entity parsing), which Cedar pays on every call whatever the policies.',
  );

  if (r.http) {
    const h = r.http;
    L.push('', '## 2. HTTP single check — `POST /access/v1/evaluation`', '');
    L.push(
      'The real server is `node bin/scimitar.js serve` on the benchmark\'s SQLite file (its own process, index built at start); the bare Fastify server ' +
        '(`bench/authz/bare-server.ts`) is also its own process, parses the JSON body the same way and answers the same bytes, and does nothing else (no token, no schema, no index). ' +
        'autocannon runs in the benchmark process, on the same cores (at high rates the client takes CPU from both servers alike), against each server in ' +
        'alternating rounds after a warm-up of each (Scimitar, bare, Scimitar, bare; half the phase each), so a change in background load falls on both. ' +
        `Bodies rotate over ${int(2000)} requests of the mix, subjects named by userName. ` +
        `RSS after the HTTP phases: server ${mib(h.serverRssMiB)}, bare ${mib(h.bareRssMiB)}.`,
      '',
    );
    L.push(
      '| Connections | Scimitar req/s | p50 | p99 | Bare req/s | p50 | p99 | Scimitar / bare | Non-200 (Scimitar) | Load (1 min) |',
      '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    );
    for (const l of h.single) {
      L.push(
        `| ${l.connections} | ${int(l.scimitar.rps)} | ${ms(l.scimitar.latency.p50)} | ${ms(l.scimitar.latency.p99)} | ${int(l.bare.rps)} | ${ms(l.bare.latency.p50)} | ` +
          `${ms(l.bare.latency.p99)} | ${pct(l.scimitar.rps / l.bare.rps)} | ${l.scimitar.other + l.scimitar.errors} | ${l.scimitar.load1.toFixed(1)} |`,
      );
    }
    L.push('', '## 3. HTTP batch — `POST /access/v1/evaluations`', '');
    L.push(
      '"Mixed": every item names its own subject (the mix as it is, ~110 bytes an item). "Shared": the subject is given once at the top and the 1,000 items carry ' +
        'only action and resource (AuthZEN §7.1 defaults), the usual shape of a "what may this user do on these" batch. The bare server parses the same body and ' +
        'answers 1,000 constant decisions.',
      '',
    );
    L.push('| Subjects | Connections | Batch | Scimitar batches/s | Checks/s | p50 | p99 | Bare batches/s | Bare checks/s | Scimitar / bare | Non-200 |', '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const b of h.batch) {
      L.push(
        `| ${b.subjects} | ${b.connections} | ${int(b.size)} | ${int(b.scimitar.rps)} | ${int(b.scimitar.rps * b.size)} | ${ms(b.scimitar.latency.p50)} | ${ms(b.scimitar.latency.p99)} | ` +
          `${int(b.bare.rps)} | ${int(b.bare.rps * b.size)} | ${pct(b.scimitar.rps / b.bare.rps)} | ${b.scimitar.other + b.scimitar.errors} |`,
      );
    }
    L.push('', `The server's answers over HTTP were checked against the in-process ones on ${int(h.verified.checked)} requests of the mix: ${h.verified.mismatches} differ.`);
  }

  L.push('', '## 4. Index build and memory', '');
  L.push(
    'Each in a fresh `node --expose-gc` process (`bench/authz/build-probe.ts`) on a database seeded through the services: RSS after opening the store and a GC, ' +
      'then `store.snapshot` and `TenantIndex.build`, then the snapshot dropped and three GCs. Build time is the median of the first build and two more from fresh snapshots.',
    '',
  );
  L.push('| Users | Groups | Memberships | Seeding | Snapshot read | `TenantIndex.build` | Profiles | RSS before | RSS peak | RSS with index | Index (RSS Δ) | Heap Δ |', '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const b of r.build) {
    L.push(
      `| ${int(b.users)} | ${int(b.groups)} | ${int(b.memberships)} | ${b.seedMs !== undefined ? ms(b.seedMs) : '—'} | ${ms(b.snapshotMs)} | ${ms(b.buildMs)} | ${int(b.profiles)} | ` +
        `${mib(b.rssBeforeMiB)} | ${mib(b.rssPeakMiB)} | ${mib(b.rssAfterMiB)} | ${mib(b.rssAfterMiB - b.rssBeforeMiB)} | ${mib(b.heapDeltaMiB)} |`,
    );
  }

  if (r.reindex) {
    const x = r.reindex;
    L.push('', `## 5. Re-index after a change that reaches ${int(x.members)} users`, '');
    L.push(
      `In process, through \`PolicyAdmin#put\`/\`remove\` and \`ScimService#patch\` (SQLite file, real commits), ${x.mapping.writeMs.length} times each. ` +
        '"Index sync" is `AuthzIndexes#sync`, which each write awaits after its commit (read the change-log row, apply it to the index); "whole write" includes validation, the commit and the sync. ' +
        `"Verified": a member's decision changed as the write says, every time.`,
      '',
    );
    L.push('| Change | Members reached | Index sync (median) | max | Whole write (median) | Verified |', '|---|---:|---:|---:|---:|:---:|');
    const row = (label: string, t: Timed) =>
      L.push(`| ${label} | ${int(x.members)} | ${ms(median(t.syncMs))} | ${ms(Math.max(...t.syncMs))} | ${ms(median(t.writeMs))} | ${t.verified ? 'yes' : '**no**'} |`);
    row('(a) group mapping created: `model-editor` on `*` for `bench-all-staff`', x.mapping);
    row('(a′) the same mapping deleted', x.unmapping);
    row('(b) one PATCH adds the members to `bench-mapped-empty` (mapped to `report-viewer`)', x.addMembers);
    row('(b′) one PATCH removes them all', x.removeMembers);
  }

  if (r.http) {
    const h = r.http;
    const p = h.patchToDecision;
    L.push('', '## 6. SCIM PATCH → changed decision, over HTTP', '');
    L.push(
      `User \`${p.user}\`'s title alternates between \`Director\` (the \`directors\` attribute rule gives \`auditor\` on \`*\`) and its own, so \`read\` on \`${p.resource}\` ` +
        'flips between allow and deny. Each iteration: `PATCH /scim/v2/Users/{id}` (replace `title`) and, once it answered, `POST /access/v1/evaluation`; one keep-alive ' +
        'connection each. The PATCH answers after this node\'s index applied it, so no `atLeastRevision` is passed.',
      '',
    );
    L.push('| Iterations | Decision as expected | PATCH + evaluation (median) | p90 | PATCH (median) | Evaluation (median) |', '|---:|---:|---:|---:|---:|---:|');
    L.push(
      `| ${p.iterations} | ${p.correct}/${p.iterations} | ${ms(median(p.totalMs))} | ${ms(quantile(p.totalMs, 0.9))} | ${ms(median(p.patchMs))} | ${ms(median(p.evaluationMs))} |`,
    );
  }

  if (r.notes.length > 0) L.push('', '## Notes', '', ...r.notes.map((n) => `- ${n}`));
  L.push('', 'Timings are never asserted anywhere; this file is what one run measured. The raw figures are in `authz.json` beside it.', '');
  return L.join('\n');
}

function quantile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] ?? NaN;
}

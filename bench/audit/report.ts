import type { LatencyStats } from '../scim/load.js';
import type { AuditBenchConfig } from './config.js';
import type { CliVerify, DeriveSpeed, HttpAtPhase, Series, VerifySpeed } from './history-measure.js';
import type { WritePhase, WriteProfile, WriteStoreResult } from './write-overhead.js';
import type { MachineInfo } from '../run-support.js';

export type Machine = MachineInfo;

export interface HistoryReport {
  /** Entries in the log (the tenant's revision). */
  readonly entries: number;
  /** The revision after the model, users and groups; the PATCH stream follows it. */
  readonly setupRevision: number;
  readonly users: number;
  readonly groups: number;
  readonly setupMs: number;
  readonly seedMs: number;
  readonly databaseMiB: number;
  /** The simulated time the PATCH stream covers. */
  readonly span: { readonly from: string; readonly to: string };
  readonly verify: readonly VerifySpeed[];
  readonly cli: CliVerify;
  readonly derive: DeriveSpeed;
  readonly inProcess: readonly Series[];
  readonly http: { readonly readyMs: number; readonly phases: readonly HttpAtPhase[]; readonly agreement: { checked: number; mismatches: number } } | { readonly error: string };
}

export interface Report {
  readonly date: string;
  readonly command: string;
  /** HEAD of the measured checkout, `+dirty` when `src/` had uncommitted changes. */
  readonly code: string;
  readonly baseline?: { readonly commit: string; readonly subject: string; readonly buildMs: number; readonly reused: boolean };
  readonly config: AuditBenchConfig;
  readonly machine: Machine;
  readonly postgres?: { readonly version: string; readonly settings: readonly string[] };
  readonly minutes: number;
  readonly write: readonly WriteStoreResult[];
  readonly history?: HistoryReport;
  readonly notes: readonly string[];
  readonly errors: Readonly<Record<string, string>>;
}

/** The issue's target: the audit trail adds at most 25% to a write's latency. */
const TARGET_RATIO = 1.25;

const int = (n: number) => Math.round(n).toLocaleString('en-US');
/** Requests a second: whole numbers, but one decimal below 10 (a time-travel phase may manage one a second). */
const rate = (n: number) => (n < 10 ? n.toFixed(1) : int(n));
function ms(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return '—';
  if (value < 1) return `${value.toFixed(3)} ms`;
  if (value < 10) return `${value.toFixed(2)} ms`;
  if (value < 100) return `${value.toFixed(1)} ms`;
  return `${int(value)} ms`;
}
const x = (ratio: number) => (Number.isFinite(ratio) ? `${ratio.toFixed(2)}×` : '—');
const pct = (ratio: number) => (Number.isFinite(ratio) ? `${ratio >= 1 ? '+' : '−'}${Math.abs((ratio - 1) * 100).toFixed(0)}%` : '—');
const load = (l: readonly number[] | undefined) => (l ? l.map((v) => v.toFixed(2)).join(' / ') : '—');

export function renderMarkdown(r: Report): string {
  const out: string[] = [];
  const cfg = r.config;
  out.push('# Audit trail benchmark', '');
  out.push(
    `${r.date} · \`${r.command}\` · code \`${r.code}\`` +
      (r.baseline ? ` · baseline \`${r.baseline.commit.slice(0, 7)}\` (“${r.baseline.subject}”)` : '') +
      ` · ${r.minutes.toFixed(1)} min`,
    '',
  );
  out.push(
    `Machine: ${r.machine.cores} × ${r.machine.cpu}, ${r.machine.memoryGiB.toFixed(0)} GiB, ${r.machine.os}, Node ${r.machine.node}, SQLite ${r.machine.sqlite}` +
      (r.postgres ? `, PostgreSQL ${r.postgres.version} (${r.postgres.settings.join(', ')})` : '') +
      '. ',
    `Load average (1/5/15 min) before: ${load(r.machine.loadAverageBefore)}, after: ${load(r.machine.loadAverageAfter)}. The machine is shared: ` +
      'read the ratios of builds measured in the same rounds, not the absolute figures.',
    '',
  );

  if (r.write.length > 0) renderWrite(out, r);
  if (r.history) renderHistory(out, r.history, cfg);

  if (r.notes.length > 0) out.push('## Notes', '', ...r.notes.map((n) => `- ${n}`), '');
  const errors = Object.entries(r.errors);
  for (const w of r.write) errors.push(...Object.entries(w.errors).map(([k, v]): [string, string] => [`write/${w.store} ${k}`, v]));
  if (errors.length > 0) {
    out.push('## Errors', '');
    for (const [k, v] of errors) out.push(`**${k}**`, '', '```', v, '```', '');
  }
  return `${out.join('\n')}\n`;
}

function renderWrite(out: string[], r: Report): void {
  const cfg = r.config;
  out.push('## 1. What the audit trail adds to a SCIM write', '');
  out.push(
    `Two real server processes (\`node bin/scimitar.js serve\`), each on a fresh database: the **current** build and **baseline** ` +
      `\`${r.baseline?.commit.slice(0, 7) ?? cfg.baseline}\`, the last commit before the audit trail, checked out in a temporary ` +
      '`git worktree` and built with its own `tsc -p tsconfig.build.json`. Both get the same seed: the policy of ' +
      '`bench/audit/write-policy.yaml` (applied with each build\'s own `scimitar policy apply`), ' +
      `${int(cfg.users)} users by Bulk and ${cfg.groups} groups of 100 (bench/scim fixtures). Then the same PATCH streams, from autocannon ` +
      'with keep-alive connections:',
    '',
    '- **title**: `replace title` on a random user, values that move users in and out of the attribute rules (every PATCH changes something);',
    '- **members**: one user added to a group (Entra\'s shape), a new (group, user) pair each time; Engineering and Finance groups are mapped to roles.',
    '',
    `Each phase: a warm-up per build, then ${cfg.rounds} rounds of ${(cfg.seconds / cfg.rounds).toFixed(1)} s per build, the builds alternating ` +
      '(current first in odd rounds, baseline first in even ones). After each current-build stretch the run waits until the deriver has ' +
      'caught up, so its background work never runs into the baseline\'s stretch. Figures per build are the **median over the rounds**; ' +
      'the ratio is the median of the per-round ratios (current ÷ baseline) with their range. “Overhead” is the p50 ratio − 1; ' +
      `the target is ≤ +25% (ratio ≤ ${TARGET_RATIO.toFixed(2)}).`,
    '',
  );
  for (const w of r.write) {
    out.push(`### ${w.store === 'sqlite' ? 'SQLite (file, WAL)' : 'PostgreSQL'}`, '');
    out.push(`Seeding over HTTP: current ${(w.seedMs.audit / 1000).toFixed(1)} s, baseline ${(w.seedMs.baseline / 1000).toFixed(1)} s.`, '');
    out.push(
      '| PATCH | conns | req/s current | req/s baseline | req/s ratio | p50 current | p50 baseline | p50 ratio (range) | p99 current | p99 baseline | p99 ratio (range) | overhead (p50) | ≤ 25%? |',
      '|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|',
    );
    for (const p of w.phases) {
      out.push(
        `| ${p.kind} | ${p.connections} | ${int(p.audit.rps)} | ${int(p.baseline.rps)} | ${x(p.ratio.rps)} | ${ms(p.audit.p50)} | ${ms(p.baseline.p50)} | ` +
          `${x(p.ratio.p50)} (${x(p.ratioMin.p50)}–${x(p.ratioMax.p50)}) | ${ms(p.audit.p99)} | ${ms(p.baseline.p99)} | ` +
          `${x(p.ratio.p99)} (${x(p.ratioMin.p99)}–${x(p.ratioMax.p99)}) | ${pct(p.ratio.p50)} | ${p.ratio.p50 <= TARGET_RATIO ? 'yes' : '**no**'} |`,
      );
    }
    out.push('');
    const failures = w.phases.filter((p) => p.audit.failed + p.audit.errors + p.baseline.failed + p.baseline.errors > 0);
    for (const p of failures) {
      out.push(`- ${p.kind} ×${p.connections}: current ${p.audit.failed} failed / ${p.audit.errors} errors, baseline ${p.baseline.failed} / ${p.baseline.errors}.`);
    }
    if (failures.length > 0) out.push('');

    out.push(
      '**Deriver lag** (current build only, one more stretch of the same workload): each response\'s revision is read from its ETag, and this ' +
        'process polls the `derive` cursor (`store.audit.cursor(tenant, \'derive\')`, which moves in the transaction that stores the access ' +
        'changes) every 2 ms; the lag is the time from the response to the first poll that shows the cursor past it. “Drain” is from the end of ' +
        'the stretch until the last write was derived; “drain after rounds” is the median of the same wait after each measured round.',
      '',
      '| PATCH | conns | writes/s | writes seen | lag p50 | lag p90 | lag p99 | lag max | drain | drain after rounds | not derived in 60 s |',
      '|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
    );
    for (const p of w.phases) {
      const lag = p.lag;
      const drains = p.rounds.map((k) => k.drainMs).sort((a, b) => a - b);
      const drain = drains[Math.floor(drains.length / 2)];
      out.push(
        lag
          ? `| ${p.kind} | ${p.connections} | ${int(lag.rps)} | ${int(lag.samples)} | ${ms(lag.lagMs.p50)} | ${ms(lag.lagMs.p90)} | ${ms(lag.lagMs.p99)} | ${ms(lag.lagMs.max)} | ${ms(lag.drainMs)} | ${ms(drain)} | ${lag.unresolved} |`
          : `| ${p.kind} | ${p.connections} | — | — | — | — | — | — | — | ${ms(drain)} | — |`,
      );
    }
    out.push('');
    renderRounds(out, w.phases);
    renderProfiles(out, w);
  }
}

function renderRounds(out: string[], phases: readonly WritePhase[]): void {
  out.push('<details><summary>Every round</summary>', '', '| PATCH | conns | round | first | req/s cur / base | p50 cur / base | p99 cur / base | load (1 min) | drain |', '|---|--:|--:|---|--:|--:|--:|--:|--:|');
  for (const p of phases) {
    for (const k of p.rounds) {
      out.push(
        `| ${p.kind} | ${p.connections} | ${k.round} | ${k.first} | ${int(k.audit.rps)} / ${int(k.baseline.rps)} | ${ms(k.audit.latency.p50)} / ${ms(k.baseline.latency.p50)} | ` +
          `${ms(k.audit.latency.p99)} / ${ms(k.baseline.latency.p99)} | ${k.audit.load1.toFixed(2)} | ${ms(k.drainMs)} |`,
      );
    }
  }
  out.push('', '</details>', '');
}

function renderProfiles(out: string[], w: WriteStoreResult): void {
  const entries = Object.entries(w.profiles) as [string, WriteProfile][];
  if (entries.length === 0) return;
  const names = entries.map(([b]) => (b === 'audit' ? 'current' : b));
  out.push(
    '**Where the server\'s CPU goes** during title PATCHes at the highest connection count (each server restarted under `--cpu-prof`, ' +
      'start-up and shutdown cut away). The server is one busy thread, so CPU per write is what bounds its req/s: figures are CPU µs ' +
      'per answered write (non-idle sample time ÷ writes), self time by area, then inclusive time by area (a sample counts for every area on its stack).',
    '',
  );
  const perWrite = (p: WriteProfile, s: number | undefined) => (s === undefined ? '—' : int((s * p.sampledMs * 1000) / p.writes));
  const table = (title: string, pick: (p: WriteProfile) => ReadonlyArray<{ area: string; share: number }>) => {
    const areas = new Set<string>();
    for (const [, p] of entries) for (const a of pick(p).slice(0, 12)) areas.add(a.area);
    out.push(`| ${title} | ${names.map((n) => `${n} µs/write`).join(' | ')} |`, `|---|${entries.map(() => '--:').join('|')}|`);
    for (const area of areas) out.push(`| ${area} | ${entries.map(([, p]) => perWrite(p, pick(p).find((a) => a.area === area)?.share)).join(' | ')} |`);
  };
  table('self, by area', (p) => p.selfByArea);
  out.push(
    `| **all (busy)** | ${entries.map(([, p]) => `**${int((p.sampledMs * 1000) / p.writes)}**`).join(' | ')} |`,
    `| *writes in the window* | ${entries.map(([, p]) => `${int(p.writes)} in ${p.seconds.toFixed(1)} s`).join(' | ')} |`,
    '',
  );
  table('inclusive, by area', (p) => p.inclusiveByArea.map((a) => a));
  out.push('');
  for (const [b, p] of entries) {
    out.push(`<details><summary>Hottest functions, ${b === 'audit' ? 'current' : b} (self time)</summary>`, '');
    for (const f of p.topFunctions) out.push(`- ${share(f.share)} \`${f.fn}\``);
    out.push('', '</details>', '');
  }
}

const share = (s: number | undefined) => (s === undefined ? '—' : `${(s * 100).toFixed(1)}%`);

function renderHistory(out: string[], h: HistoryReport, cfg: AuditBenchConfig): void {
  out.push('## 2. Verifying the chain', '');
  out.push(
    `One tenant in a SQLite file (${h.databaseMiB.toFixed(0)} MiB at the end), written through the real write use-cases (\`createResource\`, ` +
      `\`patchResource\`, \`PolicyAdmin#apply\`) in transactions of 2,000 writes, each with its own revision, simulated time ` +
      `(${cfg.stepSeconds} s apart), hash-chained entry and refs: bench:authz's model (20 resource types, 50 roles, ~1,000 resources, ` +
      `group mappings, attribute rules, bindings), ${int(h.users)} users and ${h.groups} groups (revision ${int(h.setupRevision)} after them, ` +
      `${(h.setupMs / 1000).toFixed(1)} s), then PATCHes to ${int(h.entries)} entries: 80% \`replace title\`, 12% one member added, ` +
      `8% one member removed (${(h.seedMs / 1000).toFixed(0)} s, ${int((h.entries - h.setupRevision) / (h.seedMs / 1000))} entries/s).`,
    '',
    '`verifyTenant` in process: reads the log 2,000 entries a page, recomputes each entry\'s HMAC over its canonical JSON and the hash before it, ' +
      'checks revisions are gap-free up to the tenant\'s counter and each checkpoint\'s Ed25519 signature (one checkpoint at the full size).',
    '',
    '| entries | time | entries/s | ok |',
    '|--:|--:|--:|---|',
    ...h.verify.map((v) => `| ${int(v.entries)} | ${(v.ms / 1000).toFixed(2)} s | ${int(v.entriesPerSecond)} | ${v.ok ? 'yes' : '**no**'} |`),
    '',
    `\`scimitar audit verify\` at ${int(h.entries)} entries, wall time from spawn to exit (Node start, open, verify): **${(h.cli.ms / 1000).toFixed(1)} s** ` +
      `(${int(h.entries / (h.cli.ms / 1000))} entries/s overall). It printed: \`${h.cli.output}\`.`,
    '',
    `Deriving the whole log from scratch (\`History#derive\`: replay, access diff per entry, access-change rows, a state snapshot every ` +
      `10,000 revisions), as a server does once after an upgrade: ${int(h.derive.entries)} entries in ${(h.derive.ms / 1000).toFixed(1)} s, ` +
      `**${int(h.derive.entriesPerSecond)} entries/s**.`,
    '',
  );

  out.push(`## 3. Time travel at ${int(h.entries)} entries`, '');
  out.push(
    `Instants drawn over the PATCH stream's simulated span (${h.span.from} → ${h.span.to}); checks from bench:authz's request mix, subject by ` +
      'userName. In process, ms per question (`revisionAt` + `indexAt` + one check, or `AccessService#check` for the current time):',
    '',
    '| series | samples | p50 | p95 | p99 | max | revisionAt p50 | indexAt p50 | replayed entries p50 (max) | what it is |',
    '|---|--:|--:|--:|--:|--:|--:|--:|--:|---|',
  );
  for (const s of h.inProcess) {
    out.push(
      `| ${s.name} | ${int(s.samples)} | ${ms(s.total.p50)} | ${ms(s.total.p95)} | ${ms(s.total.p99)} | ${ms(s.total.max)} | ${ms(s.revisionAt?.p50)} | ` +
        `${ms(s.indexAt?.p50)} | ${s.replayed ? `${int(s.replayed.p50)} (${int(s.replayed.max)})` : '—'} | ${s.meaning} |`,
    );
  }
  out.push('');
  if ('error' in h.http) {
    out.push(`Over HTTP: not measured: ${h.http.error.split('\n')[0]}`, '');
    return;
  }
  const { phases, agreement, readyMs } = h.http;
  out.push(
    `Over HTTP: \`POST /access/v1/evaluation\` against the real server on this database (ready ${(readyMs / 1000).toFixed(1)} s after spawn), ` +
      `autocannon with keep-alive connections, ${cfg.atSeconds} s a phase; latencies from autocannon's per-request timer ` +
      `(p90 instead of p95). Before the phases, ${agreement.checked} answers at four past instants were compared with the in-process ones: ` +
      `${agreement.mismatches} differ.`,
    '',
    '| phase | req/s | p50 | p90 | p99 | max | failed | what it is |',
    '|---|--:|--:|--:|--:|--:|--:|---|',
  );
  for (const p of phases) {
    const l: LatencyStats = p.result.latency;
    out.push(`| ${p.name} | ${rate(p.result.rps)} | ${ms(l.p50)} | ${ms(l.p90)} | ${ms(l.p99)} | ${ms(l.max)} | ${p.result.failed + p.result.errors} | ${p.meaning} |`);
  }
  out.push('');
}

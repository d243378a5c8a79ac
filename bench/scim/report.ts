import type { BenchConfig } from './config.js';
import type { LoadResult } from './load.js';
import type { SuiteResult } from './suite.js';
import { meets, METRICS, PEERS, PG_FACTOR, timesWorse, type Metric } from './targets.js';
import type { MachineInfo } from '../run-support.js';

export interface Machine extends MachineInfo {
  readonly postgres?: string;
  readonly postgresSettings?: readonly string[];
}

export interface Report {
  readonly date: string;
  readonly command: string;
  /** The commit measured, `+dirty` when `src/` had uncommitted changes at build time. */
  readonly code?: string;
  readonly config: BenchConfig;
  readonly machine: Machine;
  readonly minutes: number;
  readonly results: Readonly<Record<string, SuiteResult>>;
  readonly dataSize: Readonly<Record<string, string>>;
  readonly sampleSizes: Readonly<Record<string, number>>;
  readonly notes: readonly string[];
}

const STORE_TITLES: Record<string, string> = {
  sqlite: 'SQLite (file on disk, WAL, `synchronous=NORMAL`)',
  postgres: 'PostgreSQL',
  ceiling: 'Bare Fastify ceiling (same Node, same request mix, stored bodies)',
};

function fmt(value: number | undefined, unit: string): string {
  if (value === undefined || !Number.isFinite(value)) return '—';
  if (unit === 'req/s') return `${Math.round(value).toLocaleString('en-US')} /s`;
  if (unit === 'ms') return `${value < 10 ? value.toFixed(2) : value < 100 ? value.toFixed(1) : Math.round(value).toLocaleString('en-US')} ms`;
  if (unit === 's') return `${value < 10 ? value.toFixed(2) : value.toFixed(1)} s`;
  if (unit === 'MiB') return `${Math.round(value)} MiB`;
  return `${value}`;
}

function times(x: number | undefined): string {
  if (x === undefined) return '—';
  return `${x < 10 ? x.toFixed(2) : x.toFixed(1)}×`;
}

function targetText(metric: Metric): string {
  if (!metric.target) return '';
  const unit = metric.unit === 'req/s' ? '/s' : ` ${metric.unit}`;
  return `${metric.target.op} ${metric.target.value.toLocaleString('en-US')}${unit}`;
}

function yesNo(ok: boolean | undefined): string {
  return ok === undefined ? '' : ok ? 'yes' : '**NO**';
}

/** The table of one store: measured, target, met?, ceiling, × ceiling, and (PostgreSQL) × SQLite. */
function storeTable(store: string, report: Report): string[] {
  const r = report.results[store]!;
  const sqlite = report.results['sqlite'];
  const ceiling = report.results['ceiling'];
  const isPg = store === 'postgres';
  const head = isPg
    ? '| Measurement | Measured | Target (2× SQLite) | Met | × SQLite (worse by) | Bare Fastify | × ceiling (worse by) |'
    : '| Measurement | Measured | Target | Met | Bare Fastify | × ceiling (worse by) |';
  const rule = isPg ? '|---|---:|---:|:---:|---:|---:|---:|' : '|---|---:|---:|:---:|---:|---:|';
  const lines = [head, rule];
  const loaded = r.users < report.config.users ? ` ⚠️ of ${report.config.users.toLocaleString('en-US')} asked for` : '';
  lines.push(`| Users loaded | ${r.users.toLocaleString('en-US')}${loaded} |${isPg ? ' | | | | |' : ' | | | |'}`);
  for (const m of METRICS) {
    const v = m.value(r);
    const problem = m.problem(r);
    const measured = `${fmt(v, m.unit)}${problem ? ` ⚠️ ${problem.split('\n')[0]!.slice(0, 120)}` : ''}`;
    const c = ceiling ? m.value(ceiling) : undefined;
    const vsCeiling = times(timesWorse(m, v, c));
    if (isPg) {
      const s = sqlite ? m.value(sqlite) : undefined;
      const factor = timesWorse(m, v, s);
      const target = m.target && sqlite ? `≤ ${PG_FACTOR}× (${fmt(pgGoal(m, s), m.unit)})` : '';
      const met = m.target && factor !== undefined ? yesNo(!problem && factor <= PG_FACTOR) : '';
      lines.push(`| ${labelOf(m, r)} | ${measured} | ${target} | ${met} | ${times(factor)} | ${fmt(c, m.unit)} | ${vsCeiling} |`);
    } else {
      // A figure with a problem (failed requests, a walk cut short) cannot meet its target.
      const met = m.target ? (problem ? false : meets(m, v)) : undefined;
      lines.push(`| ${labelOf(m, r)} | ${measured} | ${targetText(m)} | ${yesNo(met)} | ${fmt(c, m.unit)} | ${vsCeiling} |`);
    }
  }
  return lines;
}

/** The row label, with the sizes actually used (quick runs add fewer members, Bulk may be smaller). */
function labelOf(m: Metric, r: SuiteResult): string {
  if (m.key === 'members' && r.members?.size !== undefined) {
    return `Add ${r.members.size.toLocaleString('en-US')} members in one PATCH (median)`;
  }
  if (m.key === 'bulk' && r.bulk?.size !== undefined) {
    return `Bulk of ${r.bulk.size.toLocaleString('en-US')} POST /Users (median)`;
  }
  return m.label;
}

function pgGoal(m: Metric, sqlite: number | undefined): number | undefined {
  if (sqlite === undefined) return undefined;
  return m.better === 'higher' ? sqlite / PG_FACTOR : sqlite * PG_FACTOR;
}

function loadRows(name: string, r: SuiteResult): string[] {
  const rows: string[] = [];
  const loads: [string, LoadResult | undefined][] = [
    ['POST /Users ×1', r.post1],
    ['POST /Users ×16', r.post16],
    ['POST /Groups ×16', r.groups],
    ['userName eq', r.eq],
    ['userName co', r.co],
    ['PATCH (Entra)', r.patch],
  ];
  for (const [label, l] of loads) {
    if (!l) continue;
    const statuses = Object.entries(l.statuses)
      .map(([s, c]) => `${s}: ${c.toLocaleString('en-US')}`)
      .join(', ');
    rows.push(
      `| ${name} | ${label} | ${l.connections} | ${l.responses.toLocaleString('en-US')} | ${l.seconds.toFixed(1)} | ` +
        `${Math.round(l.rps).toLocaleString('en-US')} | ${l.latency.p50.toFixed(2)} | ${l.latency.p90.toFixed(2)} | ` +
        `${l.latency.p99.toFixed(2)} | ${l.latency.max.toFixed(1)} | ${statuses}${l.errors ? `, conn errors: ${l.errors}` : ''}` +
        `${l.truncated ? ' (time limit)' : ''} | ${l.load1.toFixed(1)} |`,
    );
  }
  return rows;
}

function failures(name: string, r: SuiteResult): string[] {
  const out: string[] = [];
  const add = (phase: string, f: { request: string; status: number; body: string } | undefined) => {
    if (!f) return;
    out.push(`**${name} / ${phase}**: request\n\n\`\`\`\n${f.request}\n\`\`\`\n\nresponse \`${f.status}\`:\n\n\`\`\`\n${f.body}\n\`\`\`\n`);
  };
  add('POST /Users ×1', r.post1?.firstFailure);
  add('POST /Users ×16', r.post16?.firstFailure);
  add('POST /Groups', r.groups?.firstFailure);
  add('userName eq', r.eq?.firstFailure);
  add('userName co', r.co?.firstFailure);
  add('PATCH /Users', r.patch?.firstFailure);
  add('PATCH /Groups members', r.members?.failure);
  add('Bulk', r.bulk?.failure);
  for (const [phase, message] of Object.entries(r.errors)) {
    out.push(`**${name} / ${phase}** failed:\n\n\`\`\`\n${message}\n\`\`\`\n`);
  }
  for (const [phase, w] of [['startIndex walk', r.walkIndex], ['cursor walk', r.walkCursor]] as const) {
    if (w?.problem) out.push(`**${name} / ${phase}**: ${w.problem}\n`);
  }
  return out;
}

/** Renders the whole result file. */
export function renderMarkdown(report: Report): string {
  const { config: cfg, machine } = report;
  const stores = Object.keys(report.results).filter((s) => s !== 'ceiling');
  const L: string[] = [];
  L.push('# Scimitar SCIM benchmark', '');
  L.push(`- **Date:** ${report.date} (run took ${report.minutes.toFixed(1)} min)`);
  L.push(`- **Command:** \`${report.command}\`${report.code ? ` at commit \`${report.code}\`` : ''}`);
  L.push(
    `- **Machine:** ${machine.cores} × ${machine.cpu}${machine.mhz ? ` @ ${machine.mhz} MHz` : ''}, ${machine.memoryGiB.toFixed(1)} GiB RAM, ${machine.os}; ` +
      `shared and noisy (load average ${machine.loadAverageBefore.map((x) => x.toFixed(2)).join(' / ')} before` +
      `${machine.loadAverageAfter ? `, ${machine.loadAverageAfter.map((x) => x.toFixed(2)).join(' / ')} after` : ''})`,
  );
  L.push(`- **Node:** ${machine.node}; SQLite ${machine.sqlite}${machine.postgres ? `; PostgreSQL ${machine.postgres} (${machine.postgresSettings?.join(', ')})` : ''}`);
  L.push(
    `- **Data:** ${cfg.users.toLocaleString('en-US')} users (${cfg.post1Users.toLocaleString('en-US')} created one at a time, the rest at ${cfg.connections} connections), ` +
      `${cfg.groups.toLocaleString('en-US')} groups; timed phases ${cfg.seconds} s each after a warm-up; one-shot figures are the median of ${cfg.repeats}.`,
  );
  if (Object.keys(report.dataSize).length) {
    L.push(`- **Database size after the run:** ${Object.entries(report.dataSize).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  }
  if (cfg.users < 100_000) {
    L.push('', `> **Quick mode (${cfg.users.toLocaleString('en-US')} users).** The targets are stated for 100,000 users; these figures are not comparable with them.`);
  }
  L.push('');
  L.push(
    'Targets are the issue\'s, for SQLite on disk at 100,000 users; PostgreSQL must be within 2× of SQLite on each. ' +
      '"× ceiling" is how many times worse than a bare Fastify server answering the same requests with stored bodies of the same size ' +
      '(1.00× = as fast as the machine allows); "× SQLite" is how many times worse PostgreSQL is than SQLite. ' +
      'Throughput counts only responses with the expected status; latencies are client-side, sub-millisecond, over all responses.',
  );
  for (const store of stores) {
    L.push('', `## ${STORE_TITLES[store] ?? store}${store === 'postgres' && machine.postgres ? ` ${machine.postgres}` : ''}`, '');
    L.push(...storeTable(store, report));
  }
  const ceiling = report.results['ceiling'];
  if (ceiling) {
    L.push('', `## ${STORE_TITLES['ceiling']}`, '');
    L.push('| Measurement | Bare Fastify |', '|---|---:|');
    for (const m of METRICS) L.push(`| ${labelOf(m, ceiling)} | ${fmt(m.value(ceiling), m.unit)} |`);
    L.push(
      '',
      `Response sizes replayed (bytes): ${Object.entries(report.sampleSizes)
        .map(([k, v]) => `${k} ${v.toLocaleString('en-US')}`)
        .join(', ')}.`,
    );
  }

  L.push('', '## Peers — reported in the issue, not measured in this run', '');
  L.push(
    'Open-source SCIM servers, measured (per the issue) on this machine, **in memory, at only 10,000 users**. ' +
      'Shown for scale only; our column is SQLite on disk at the user count above.',
    '',
  );
  L.push('| What | Peers (reported in the issue, not measured here) | Scimitar, SQLite, this run |', '|---|---:|---:|');
  const sqlite = report.results['sqlite'];
  for (const p of PEERS) {
    let ours = '—';
    if (sqlite && p.what.startsWith('1,000 members')) {
      ours = `${fmt(sqlite.members?.median, 'ms')} for ${cfg.membersPerPatch.toLocaleString('en-US')} members`;
    } else {
      const metric = METRICS.find((m) => m.key === p.ours);
      if (metric && sqlite) ours = `${fmt(metric.value(sqlite), metric.unit)}${metric.problem(sqlite) ? ' ⚠️' : ''}`;
      if (p.ours === 'walkCursor' && sqlite) ours += ` for ${cfg.users.toLocaleString('en-US')} users (cursor)`;
    }
    L.push(`| ${p.what} | ${p.figure} | ${ours} |`);
  }

  L.push('', '## Load phases in detail', '');
  L.push('| System | Phase | Conns | Responses | Seconds | OK req/s | p50 ms | p90 ms | p99 ms | max ms | Statuses | Load avg |');
  L.push('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|');
  for (const [name, r] of Object.entries(report.results)) L.push(...loadRows(name, r));

  L.push('', '## Walks and one-shot requests', '');
  L.push('| System | What | Result | Detail |', '|---|---|---:|---|');
  for (const [name, r] of Object.entries(report.results)) {
    for (const [label, w] of [['walk, startIndex', r.walkIndex], ['walk, cursor', r.walkCursor]] as const) {
      if (!w) continue;
      L.push(
        `| ${name} | ${label} | ${fmt(w.seconds, 's')} | ${w.pages} pages, ${w.resources.toLocaleString('en-US')} of ${w.totalResults.toLocaleString('en-US')}` +
          `${w.distinct !== undefined ? ` (${w.distinct.toLocaleString('en-US')} distinct ids)` : ''}; page p50 ${w.pageLatency.p50.toFixed(1)} ms, p99 ${w.pageLatency.p99.toFixed(1)} ms, max ${w.pageLatency.max.toFixed(1)} ms${w.problem ? `; ⚠️ ${w.problem}` : ''} |`,
      );
    }
    for (const [label, o] of [['add members, one PATCH', r.members], ['Bulk', r.bulk], ['restart → readyz', r.restart]] as const) {
      if (!o) continue;
      L.push(`| ${name} | ${label} | ${fmt(o.median, 'ms')} | runs: ${o.ms.map((x) => `${x.toFixed(1)}`).join(', ')} ms |`);
    }
    if (r.rssAfterLoad && r.rssEnd) {
      L.push(`| ${name} | RSS | ${fmt(r.rssAfterLoad.rssMiB, 'MiB')} | after load; ${fmt(r.rssEnd.rssMiB, 'MiB')} at the end, peak ${fmt(r.rssEnd.peakMiB, 'MiB')} |`);
    }
  }

  const problems = Object.entries(report.results).flatMap(([name, r]) => failures(name, r));
  L.push('', '## Failed requests', '');
  L.push(problems.length ? problems.join('\n') : 'None: every request got the expected status.');

  const profiled = Object.entries(report.results).filter(([, r]) => r.profile);
  if (profiled.length) {
    L.push('', '## Where the server spends its CPU on `userName eq` lookups (`--cpu-prof`)', '');
    L.push(
      'Taken after the measured phases: the server restarted with `--cpu-prof`, then the same lookups at the same concurrency; ' +
        'only samples taken during the lookups count (start-up and shutdown are cut away), shares are of those samples. ' +
        '"Inclusive" counts a sample once for every area on its stack.',
    );
    for (const [name, r] of profiled) {
      const p = r.profile!;
      L.push('', `### ${name} (${p.samples.toLocaleString('en-US')} samples, ${(p.sampledMs / 1000).toFixed(1)} s of CPU)`, '');
      L.push('| Area | Self | Inclusive |', '|---|---:|---:|');
      const inclusive = new Map(p.inclusiveByArea.map((a) => [a.area, a.share]));
      const areas = [...new Set([...p.selfByArea.map((a) => a.area), ...p.inclusiveByArea.map((a) => a.area)])];
      const self = new Map(p.selfByArea.map((a) => [a.area, a.share]));
      for (const a of areas) {
        L.push(`| ${a} | ${pct(self.get(a))} | ${pct(inclusive.get(a))} |`);
      }
      L.push('', '| Hottest functions (self) | Share |', '|---|---:|');
      for (const f of p.topFunctions) L.push(`| \`${f.fn}\` | ${pct(f.share)} |`);
    }
  }

  L.push('', '## Method', '');
  L.push(
    ...[
      '- The server runs as a child process (`node bin/scimitar.js serve`, `SCIMITAR_LOG_LEVEL=warn`) on 127.0.0.1; the load generator is autocannon in the harness process, on the same 2 cores. The bare-Fastify ceiling is a separate process driven by the same generator, so both pay the same client cost.',
      '- Users look like Entra\'s: core + enterprise extension (department, employeeNumber, costCenter, manager = another user\'s id), work email, phone, address, externalId. Users 2..N have managers among the first batch.',
      '- `POST /Users ×16` is the load itself (all users after the first batch). `userName eq` picks random loaded users (seeded) and requires `totalResults: 1`. `co` searches a 5-digit fragment of the serial in `userName` (~20 matches of 100,000; no B-tree index helps).',
      '- Walks read every user, 100 a page, on one keep-alive connection, parsing each page; the real server is also checked for every id exactly once.',
      '- PATCH sends the four-operation Entra body from the issue to a different user each time. Members: one `add` of N users to a group that has 100; Bulk: 1,000 `POST /Users` operations, each checked for `201`.',
      '- RSS is `/proc/<pid>/status` of the server process. Restart is stop (SIGTERM) → spawn → first `GET /readyz` 200, on the loaded database.',
      `- PostgreSQL: a throwaway server started by \`bench/pg-server.ts\` with normal durability (${machine.postgresSettings?.join(', ') ?? 'n/a'}); it runs only during its own part of the run.`,
      ...report.notes.map((n) => `- ${n}`),
    ],
  );
  return `${L.join('\n')}\n`;
}

function pct(x: number | undefined): string {
  return x === undefined ? '' : `${(x * 100).toFixed(1)}%`;
}

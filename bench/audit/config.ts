import { resolve } from 'node:path';

export type StoreName = 'sqlite' | 'postgres';

/**
 * Everything the audit benchmark can be told, read once from the environment (the only place in
 * `bench/audit` that reads `process.env`, apart from the server's audit key file the run sets for
 * its children).
 *
 * Full run: `npm run bench:audit` (1,000,000 entries, ~21 min on 2 cores).
 * Quick run: `BENCH_ENTRIES=100000 BENCH_SECONDS=4 BENCH_STORES=sqlite npm run bench:audit` (a few minutes).
 */
export interface AuditBenchConfig {
  // --- 1. write overhead --------------------------------------------------------------------
  /** The build to compare with: the last commit before the audit trail (`BENCH_BASELINE`, default `cd31822`). */
  readonly baseline: string;
  /** Users loaded into each server before the PATCH phases (`BENCH_USERS`, default 5,000). */
  readonly users: number;
  /** Groups of 100 of those users (`BENCH_GROUPS`, default 24). */
  readonly groups: number;
  /** Measured seconds of each phase, per build, split over the rounds (`BENCH_SECONDS`, default 12). */
  readonly seconds: number;
  /** A B rounds per phase (`BENCH_ROUNDS`, default 4). */
  readonly rounds: number;
  /** Connection counts of the PATCH phases (`BENCH_CONNECTIONS`, default `1,16`). */
  readonly connections: readonly number[];
  /** Which stores the write comparison runs on (`BENCH_STORES`, default `sqlite,postgres`). */
  readonly stores: readonly StoreName[];
  /** CPU-profile both servers during a PATCH phase (`BENCH_PROFILE`, default 1). */
  readonly profile: boolean;
  // --- 2, 3. verify and time travel ---------------------------------------------------------
  /** Change-log entries of the history tenant (`BENCH_ENTRIES`, default 1,000,000); verify is also timed at 100,000 on the way. */
  readonly entries: number;
  /** Users of the history tenant (`BENCH_HISTORY_USERS`, default 10,000). */
  readonly historyUsers: number;
  /** Groups of the history tenant (`BENCH_HISTORY_GROUPS`, default 200). */
  readonly historyGroups: number;
  /** Simulated time between two writes of the history tenant, seconds (`BENCH_STEP_SECONDS`, default 30: 1M entries span ~1 year). */
  readonly stepSeconds: number;
  /** `indexAt` samples per in-process series (`BENCH_AT_SAMPLES`, default 40). */
  readonly atSamples: number;
  /** Measured seconds of each `?at=` HTTP phase (`BENCH_AT_SECONDS`, default `BENCH_SECONDS`). */
  readonly atSeconds: number;
  /** Which parts to run (`BENCH_PARTS`, default `write,history`). */
  readonly parts: readonly ('write' | 'history')[];
  // --- output and housekeeping --------------------------------------------------------------
  /** The Markdown result; the JSON goes beside it (`BENCH_OUT`, default `bench/results/audit.md`). */
  readonly out: string;
  /** Use this PostgreSQL server instead of starting one (`BENCH_PG_URL`, a maintenance-database URL). */
  readonly pgUrl: string | undefined;
  /** Keep the databases and the baseline worktree (`BENCH_KEEP=1`); a kept worktree is reused by the next run. */
  readonly keep: boolean;
  /** Hard stop of any one load stretch, seconds (`BENCH_PHASE_MAX_SECONDS`, default 600). */
  readonly phaseMaxSeconds: number;
  /** The `BENCH_*` variables that were set, to print the exact command. */
  readonly setVariables: Readonly<Record<string, string>>;
}

export function loadAuditBenchConfig(env: Readonly<Record<string, string | undefined>> = process.env): AuditBenchConfig {
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw.replace(/_/g, ''));
    if (!Number.isInteger(value) || value < min || value > max) throw new Error(`${name}=${raw}: expected an integer from ${min} to ${max}`);
    return value;
  };
  const flag = (name: string, fallback: boolean): boolean => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    return !/^(0|false|no|off)$/i.test(raw);
  };
  const list = (name: string, fallback: string, allowed: readonly string[]): string[] => {
    const values = (env[name] || fallback).split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
    for (const v of values) if (!allowed.includes(v)) throw new Error(`${name}: unknown \`${v}\` (use ${allowed.join(', ')})`);
    return values;
  };
  const seconds = int('BENCH_SECONDS', 12, 1, 600);
  const connections = (env['BENCH_CONNECTIONS'] || '1,16').split(',').map((s) => {
    const n = Number(s.trim());
    if (!Number.isInteger(n) || n < 1 || n > 256) throw new Error(`BENCH_CONNECTIONS: \`${s}\` is not a connection count from 1 to 256`);
    return n;
  });
  const baseline = env['BENCH_BASELINE'] || 'cd31822';
  if (!/^[0-9a-f]{7,40}$/i.test(baseline)) throw new Error(`BENCH_BASELINE=${baseline}: expected a commit hash`);
  return {
    baseline,
    users: int('BENCH_USERS', 5000, 200, 200_000),
    groups: int('BENCH_GROUPS', 24, 1, 1000),
    seconds,
    rounds: int('BENCH_ROUNDS', 4, 1, 20),
    connections,
    stores: list('BENCH_STORES', 'sqlite,postgres', ['sqlite', 'postgres']) as StoreName[],
    profile: flag('BENCH_PROFILE', true),
    entries: int('BENCH_ENTRIES', 1_000_000, 20_000, 10_000_000),
    historyUsers: int('BENCH_HISTORY_USERS', 10_000, 100, 1_000_000),
    historyGroups: int('BENCH_HISTORY_GROUPS', 200, 20, 10_000),
    stepSeconds: int('BENCH_STEP_SECONDS', 30, 1, 86_400),
    atSamples: int('BENCH_AT_SAMPLES', 40, 5, 10_000),
    atSeconds: int('BENCH_AT_SECONDS', seconds, 1, 600),
    parts: list('BENCH_PARTS', 'write,history', ['write', 'history']) as ('write' | 'history')[],
    out: resolve(env['BENCH_OUT'] ?? 'bench/results/audit.md'),
    pgUrl: env['BENCH_PG_URL'] || undefined,
    keep: flag('BENCH_KEEP', false),
    phaseMaxSeconds: int('BENCH_PHASE_MAX_SECONDS', 600, 10, 7200),
    setVariables: Object.fromEntries(
      Object.entries(env).filter((e): e is [string, string] => e[0].startsWith('BENCH_') && e[1] !== undefined && e[1] !== ''),
    ),
  };
}

import { resolve } from 'node:path';

export type StoreName = 'sqlite' | 'postgres';

/**
 * Everything the SCIM benchmark can be told, read once from the environment (the only place in
 * `bench/scim` that reads `process.env`).
 *
 * Full run (the numbers the targets are stated for): `npm run bench:scim`.
 * Quick run (a few minutes, same phases, smaller data): `BENCH_USERS=10000 BENCH_SECONDS=5 npm run bench:scim`.
 */
export interface BenchConfig {
  /** Users loaded before the read phases (`BENCH_USERS`, default 100,000): POST-1 batch + POST-16 load. */
  readonly users: number;
  /** Groups loaded after the users (`BENCH_GROUPS`, default 1,000). */
  readonly groups: number;
  /** Measured seconds of each timed phase: `eq`, `co`, PATCH (`BENCH_SECONDS`, default 10). */
  readonly seconds: number;
  /** Concurrent connections of the concurrent phases (`BENCH_CONNECTIONS`, default 16). */
  readonly connections: number;
  /** Users created one at a time, before the concurrent load (`BENCH_POST1_USERS`, default 2,000). */
  readonly post1Users: number;
  /** Members added to a group in one PATCH (`BENCH_MEMBERS`, default 10,000). */
  readonly membersPerPatch: number;
  /** Operations in one Bulk request (`BENCH_BULK_OPS`, default 1,000; the server's default limit). */
  readonly bulkOperations: number;
  /** How many times each one-shot measurement is repeated (`BENCH_REPEATS`, default 3; the median is reported). */
  readonly repeats: number;
  /** Which stores to measure (`BENCH_STORES`, default `sqlite,postgres`). */
  readonly stores: readonly StoreName[];
  /** Measure the bare-Fastify ceiling too (`BENCH_CEILING`, default 1). */
  readonly ceiling: boolean;
  /** CPU-profile the server during `userName eq` lookups, after the measured phases (`BENCH_PROFILE`, default 1). */
  readonly profile: boolean;
  /** The Markdown result; the JSON goes beside it (`BENCH_OUT`, default `bench/results/scim.md`). */
  readonly out: string;
  /** Use this PostgreSQL server instead of starting a throwaway one (`BENCH_PG_URL`, a maintenance-database URL). */
  readonly pgUrl: string | undefined;
  /** Keep the SQLite file and PostgreSQL data directory (`BENCH_KEEP=1`). */
  readonly keep: boolean;
  /** Hard stop for one page walk, in seconds (`BENCH_WALK_MAX_SECONDS`, default 120). */
  readonly walkMaxSeconds: number;
  /**
   * Hard stop for any one load phase, in seconds (`BENCH_PHASE_MAX_SECONDS`, default 360): a server
   * slower than ~280 creates/s does not get all 100,000 users in, and the report says how many it got.
   */
  readonly phaseMaxSeconds: number;
  /** The `BENCH_*` variables that were set, to print the exact command. */
  readonly setVariables: Readonly<Record<string, string>>;
}

export function loadBenchConfig(env: Readonly<Record<string, string | undefined>> = process.env): BenchConfig {
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw.replace(/_/g, ''));
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new Error(`${name}=${raw}: expected an integer from ${min} to ${max}`);
    }
    return value;
  };
  const flag = (name: string, fallback: boolean): boolean => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    return !/^(0|false|no|off)$/i.test(raw);
  };

  const users = int('BENCH_USERS', 100_000, 200, 1_000_000);
  const stores = (env['BENCH_STORES'] ?? 'sqlite,postgres')
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  for (const s of stores) {
    if (s !== 'sqlite' && s !== 'postgres') throw new Error(`BENCH_STORES: unknown store \`${s}\` (use sqlite, postgres)`);
  }
  const setVariables = Object.fromEntries(
    Object.entries(env).filter((e): e is [string, string] => e[0].startsWith('BENCH_') && e[1] !== undefined && e[1] !== ''),
  );

  return {
    users,
    groups: int('BENCH_GROUPS', 1000, 1, 100_000),
    seconds: int('BENCH_SECONDS', 10, 1, 600),
    connections: int('BENCH_CONNECTIONS', 16, 1, 256),
    post1Users: int('BENCH_POST1_USERS', Math.min(2000, Math.floor(users / 5)), 1, Math.floor(users / 2)),
    membersPerPatch: Math.min(int('BENCH_MEMBERS', 10_000, 1, 100_000), users),
    bulkOperations: int('BENCH_BULK_OPS', 1000, 1, 100_000),
    repeats: int('BENCH_REPEATS', 3, 1, 20),
    stores: stores as StoreName[],
    ceiling: flag('BENCH_CEILING', true),
    profile: flag('BENCH_PROFILE', true),
    out: resolve(env['BENCH_OUT'] ?? 'bench/results/scim.md'),
    pgUrl: env['BENCH_PG_URL'] || undefined,
    keep: flag('BENCH_KEEP', false),
    walkMaxSeconds: int('BENCH_WALK_MAX_SECONDS', 120, 1, 3600),
    phaseMaxSeconds: int('BENCH_PHASE_MAX_SECONDS', 360, 10, 7200),
    setVariables,
  };
}

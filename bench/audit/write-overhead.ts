/**
 * Part 1: what the audit trail adds to a SCIM write. The current build and the build before the
 * audit trail run side by side as real server processes on fresh databases with the same seed,
 * the same policy and the same PATCH streams, in interleaved rounds, so a change in the machine's
 * background load falls on both. Then, on the current build alone, how far the deriver lags behind
 * the responses under the same load.
 */
import { execFile as execFileCallback } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { openStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/store.js';
import { addMembersBody, bulkCreateBody, groupBody, PATCH_OP, prng } from '../scim/fixtures.js';
import { clip, createClient, log, runLoad, stats, type LatencyStats, type LoadRequest, type LoadResult } from '../scim/load.js';
import { median } from '../authz/report.js';
import type { ProfileSummary } from '../scim/profile.js';
import { startScimitar, type RunningSystem } from '../scim/systems.js';
import type { AuditBenchConfig, StoreName } from './config.js';

const execFile = promisify(execFileCallback);

export type BuildName = 'audit' | 'baseline';
export type WriteKind = 'title' | 'members';

/** A build to run: its checkout (the working directory of `bin/scimitar.js`) and how the report names it. */
export interface BuildUnderTest {
  readonly name: BuildName;
  readonly cwd: string;
  readonly label: string;
}

/** Current build ÷ baseline: above 1 is slower (latency) or faster (req/s). */
export interface Ratios {
  readonly p50: number;
  readonly p99: number;
  readonly rps: number;
}

export interface RoundPair {
  readonly round: number;
  /** Which build ran first in this round (the order alternates). */
  readonly first: BuildName;
  readonly audit: LoadResult;
  readonly baseline: LoadResult;
  readonly ratios: Ratios;
  /** After the current build's stretch: ms until the deriver had caught up with its last write. */
  readonly drainMs: number;
}

/** Medians over the rounds of one build. */
export interface BuildSummary {
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly responses: number;
  readonly failed: number;
  readonly errors: number;
}

/** How long after a PATCH's response the `derive` cursor passed its revision (its access changes were stored). */
export interface DeriverLag {
  readonly seconds: number;
  readonly rps: number;
  /** Writes whose revision was read from the response's ETag and then seen derived. */
  readonly samples: number;
  readonly lagMs: LatencyStats;
  /** Writes not seen derived within the wait after the stretch. */
  readonly unresolved: number;
  /** From the end of the stretch to the cursor reaching the last write. */
  readonly drainMs: number;
  /** How often the cursor was polled, ms (the resolution of the figures). */
  readonly pollMs: number;
}

export interface WritePhase {
  readonly store: StoreName;
  readonly kind: WriteKind;
  readonly connections: number;
  readonly rounds: readonly RoundPair[];
  readonly audit: BuildSummary;
  readonly baseline: BuildSummary;
  /** Median of the per-round ratios, and their range. */
  readonly ratio: Ratios;
  readonly ratioMin: Ratios;
  readonly ratioMax: Ratios;
  readonly lag?: DeriverLag;
}

export interface WriteStoreResult {
  readonly store: StoreName;
  readonly seedMs: Readonly<Record<BuildName, number>>;
  readonly phases: readonly WritePhase[];
  /** CPU profiles of both servers during title PATCHes at the highest connection count. */
  readonly profiles: Partial<Record<BuildName, WriteProfile>>;
  readonly errors: Readonly<Record<string, string>>;
}

/** A CPU profile and the writes answered while it was taken, so its figures can be read per write. */
export interface WriteProfile extends ProfileSummary {
  readonly writes: number;
  readonly seconds: number;
}

/** A database per build on this store, and whatever opening it needs. */
export interface WriteDatabases {
  readonly store: StoreName;
  /** A fresh, empty database for `build`. */
  create(build: BuildName): Promise<string>;
}

const POLICY_FILE = 'bench/audit/write-policy.yaml';
/** Titles that move users in and out of `write-policy.yaml`'s attribute rules; a counter keeps each value new. */
const TITLES = ['Director of Sales', 'Engineering Manager', 'Engineer', 'Analyst', 'Product Manager', 'Director'];
const POLL_MS = 2;

interface Running {
  readonly build: BuildUnderTest;
  readonly sys: RunningSystem;
  readonly database: string;
  readonly userIds: readonly string[];
  readonly groupIds: readonly string[];
  /** Member adds so far: each takes the next (group, user) pair, so adds are new members, not no-ops. */
  memberCursor: number;
}

/**
 * Runs the whole comparison on one store. `repo` is the current checkout (for the policy file);
 * `keyFile` is the audit key the current build's server uses, so this process can read its cursor.
 */
export async function measureWriteOverhead(
  cfg: AuditBenchConfig,
  builds: readonly [BuildUnderTest, BuildUnderTest],
  databases: WriteDatabases,
  repo: string,
  keyFile: string,
): Promise<WriteStoreResult> {
  const { store } = databases;
  const errors: Record<string, string> = {};
  const seedMs: Record<BuildName, number> = { audit: NaN, baseline: NaN };
  const running: Running[] = [];
  let reader: Store | undefined;
  try {
    for (const build of builds) {
      const database = await databases.create(build.name);
      // Each build applies the policy with its own CLI, so the model is stored the way that build stores it.
      await execFile(process.execPath, ['bin/scimitar.js', 'policy', 'apply', `${repo}/${POLICY_FILE}`, '--database', database], {
        cwd: build.cwd,
        env: process.env,
      });
      log(`write/${store}: starting ${build.label}`);
      const sys = await startScimitar(`${store}/${build.name}`, database, build.cwd);
      const started = performance.now();
      const seeded = await seedServer(sys, cfg);
      seedMs[build.name] = performance.now() - started;
      log(`write/${store}: ${build.name}: ${seeded.userIds.length} users, ${seeded.groupIds.length} groups in ${(seedMs[build.name] / 1000).toFixed(1)} s`);
      running.push({ build, sys, database, ...seeded, memberCursor: 0 });
    }
    const audit = running.find((r) => r.build.name === 'audit')!;
    const baseline = running.find((r) => r.build.name === 'baseline')!;
    reader = await openStore(audit.database, { auditKeyFile: keyFile });
    const tenant = await reader.tenants.findByName('default');
    if (!tenant) throw new Error('the current build has no `default` tenant');
    const cursor = createCursorWatch(reader, tenant.id);

    const phases: WritePhase[] = [];
    for (const kind of ['title', 'members'] as const) {
      for (const [c, connections] of cfg.connections.entries()) {
        const title = `${kind} ×${connections}`;
        try {
          phases.push(await comparePhase(cfg, store, kind, connections, 100 * (kind === 'title' ? 1 : 2) + c, audit, baseline, cursor));
        } catch (err) {
          errors[title] = err instanceof Error ? err.message : String(err);
          log(`write/${store}: ${title} FAILED: ${errors[title]}`);
        }
      }
    }

    const profiles: Partial<Record<BuildName, WriteProfile>> = {};
    if (cfg.profile) {
      const connections = Math.max(...cfg.connections);
      const seconds = Math.max(3, Math.round(cfg.seconds / 2));
      for (const r of [audit, baseline]) {
        try {
          log(`write/${store}: CPU profile of ${r.build.name}, title PATCH ×${connections}, ${seconds} s`);
          let during: LoadResult | undefined;
          const summary = await r.sys.profile!(async () => {
            during = await load(cfg, r, 'title', connections, seconds, 999);
          });
          profiles[r.build.name] = { ...summary, writes: during?.ok ?? NaN, seconds: during?.seconds ?? NaN };
        } catch (err) {
          errors[`profile ${r.build.name}`] = err instanceof Error ? err.message : String(err);
        }
      }
    }
    return { store, seedMs, phases, profiles, errors };
  } finally {
    await reader?.close();
    for (const r of running) await r.sys.shutdown();
  }
}

async function comparePhase(
  cfg: AuditBenchConfig,
  store: StoreName,
  kind: WriteKind,
  connections: number,
  seed: number,
  audit: Running,
  baseline: Running,
  cursor: CursorWatch,
): Promise<WritePhase> {
  const stretch = cfg.seconds / cfg.rounds;
  const warm = Math.max(1, Math.min(3, Math.round(stretch)));
  log(`write/${store}: ${kind} ×${connections}: warm-up ${warm} s each, then ${cfg.rounds} rounds of ${stretch.toFixed(1)} s each`);
  await load(cfg, audit, kind, connections, warm, seed * 1000);
  await cursor.drain();
  await load(cfg, baseline, kind, connections, warm, seed * 1000);
  const rounds: RoundPair[] = [];
  for (let round = 1; round <= cfg.rounds; round++) {
    const order = round % 2 === 1 ? [audit, baseline] : [baseline, audit];
    const results: Partial<Record<BuildName, LoadResult>> = {};
    let drainMs = 0;
    for (const r of order) {
      // The same stream for both builds: the same users, titles and order.
      results[r.build.name] = await load(cfg, r, kind, connections, stretch, seed * 1000 + round);
      // The deriver runs after the responses; it must not run into the other build's stretch.
      if (r === audit) drainMs = await cursor.drain();
    }
    const a = results.audit!;
    const b = results.baseline!;
    rounds.push({ round, first: order[0]!.build.name, audit: a, baseline: b, ratios: ratiosOf(a, b), drainMs });
    log(
      `  round ${round}: audit ${Math.round(a.rps)}/s p50 ${a.latency.p50.toFixed(2)} p99 ${a.latency.p99.toFixed(2)} ms | ` +
        `baseline ${Math.round(b.rps)}/s p50 ${b.latency.p50.toFixed(2)} p99 ${b.latency.p99.toFixed(2)} ms | drain ${drainMs.toFixed(0)} ms`,
    );
    for (const result of [a, b]) {
      if (result.firstFailure) log(`  first failure: ${result.firstFailure.request}\n  → ${result.firstFailure.status} ${result.firstFailure.body}`);
    }
  }
  const pick = (f: (r: Ratios) => number) => rounds.map((r) => f(r.ratios));
  const ratio = { p50: median(pick((r) => r.p50)), p99: median(pick((r) => r.p99)), rps: median(pick((r) => r.rps)) };
  const ratioMin = { p50: Math.min(...pick((r) => r.p50)), p99: Math.min(...pick((r) => r.p99)), rps: Math.min(...pick((r) => r.rps)) };
  const ratioMax = { p50: Math.max(...pick((r) => r.p50)), p99: Math.max(...pick((r) => r.p99)), rps: Math.max(...pick((r) => r.rps)) };

  log(`write/${store}: ${kind} ×${connections}: deriver lag, ${stretch.toFixed(1)} s on the current build`);
  let lag: DeriverLag | undefined;
  try {
    lag = await measureLag(cfg, audit, kind, connections, stretch, seed * 1000 + 500, cursor);
    log(`  lag p50 ${lag.lagMs.p50.toFixed(1)} ms, p99 ${lag.lagMs.p99.toFixed(1)} ms over ${lag.samples} writes (${Math.round(lag.rps)}/s), drain ${lag.drainMs.toFixed(0)} ms`);
  } catch (err) {
    log(`  lag FAILED: ${err instanceof Error ? err.message : String(err)}`);
  }
  return {
    store,
    kind,
    connections,
    rounds,
    audit: summary(rounds.map((r) => r.audit)),
    baseline: summary(rounds.map((r) => r.baseline)),
    ratio,
    ratioMin,
    ratioMax,
    ...(lag ? { lag } : {}),
  };
}

/** One stretch of one kind of PATCH against one server; the stream is a function of `seed`. */
function load(
  cfg: AuditBenchConfig,
  r: Running,
  kind: WriteKind,
  connections: number,
  seconds: number,
  seed: number,
  onWrite?: (revision: number) => void,
): Promise<LoadResult> {
  const next = kind === 'title' ? titleStream(r, seed) : memberStream(r);
  return runLoad({
    title: `${r.build.name} ${kind} ×${connections}`,
    baseUrl: r.sys.baseUrl,
    token: r.sys.token,
    connections,
    seconds,
    maxSeconds: cfg.phaseMaxSeconds,
    next,
    accept: (status) => status === 200 || status === 204,
    ...(onWrite
      ? {
          onAccepted: (_i: number, _body: string, headers: Record<string, string | string[]>) => {
            const revision = /W\/"(\d+)"/.exec(String(headers['etag'] ?? ''))?.[1];
            if (revision !== undefined) onWrite(Number(revision));
          },
        }
      : {}),
  });
}

/** `replace title` on a random user; the value carries a counter, so every PATCH changes something. */
function titleStream(r: Running, seed: number): (i: number) => LoadRequest {
  const rnd = prng(seed);
  return (i) => {
    const user = r.userIds[Math.floor(rnd() * r.userIds.length)]!;
    const value = `${TITLES[Math.floor(rnd() * TITLES.length)]!} ${seed}-${i}`;
    return {
      method: 'PATCH',
      path: `/scim/v2/Users/${user}`,
      body: JSON.stringify({ schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'title', value }] }),
    };
  };
}

/**
 * Adds one user to one group, Entra's shape. Pair k is group `k mod G` and user `⌊k / G⌋·7919 mod U`
 * (7919 is prime), so no pair repeats in G·U adds (120,000 with the defaults): every add is a new
 * member, but for the ~2% that hit one of the group's first 100.
 */
function memberStream(r: Running): (i: number) => LoadRequest {
  return () => {
    const k = r.memberCursor++;
    const groups = r.groupIds.length;
    const group = r.groupIds[k % groups]!;
    const user = r.userIds[(Math.floor(k / groups) * 7919) % r.userIds.length]!;
    return { method: 'PATCH', path: `/scim/v2/Groups/${group}`, body: addMembersBody([user]) };
  };
}

/** Users by Bulk (1,000 a request), then groups of 100 of them, each by its own POST. */
async function seedServer(sys: RunningSystem, cfg: AuditBenchConfig): Promise<{ userIds: string[]; groupIds: string[] }> {
  const client = createClient(sys.baseUrl, sys.token);
  try {
    const userIds: string[] = [];
    for (let first = 0; first < cfg.users; first += 1000) {
      const count = Math.min(1000, cfg.users - first);
      const res = await client.send('POST', '/scim/v2/Bulk', bulkCreateBody(first, count));
      if (res.status !== 200) throw new Error(`POST /scim/v2/Bulk → ${res.status}: ${clip(res.body, 500)}`);
      const ops = (JSON.parse(res.body) as { Operations: { status: string; location?: string }[] }).Operations;
      for (const op of ops) {
        if (op.status !== '201' || !op.location) throw new Error(`a Bulk create failed: ${clip(JSON.stringify(op), 500)}`);
        userIds.push(op.location.slice(op.location.lastIndexOf('/') + 1));
      }
    }
    const groupIds: string[] = [];
    for (let g = 0; g < cfg.groups; g++) {
      const members = Array.from({ length: Math.min(100, userIds.length) }, (_, k) => userIds[(g * 100 + k) % userIds.length]!);
      const res = await client.send('POST', '/scim/v2/Groups', groupBody(g, members));
      if (res.status !== 201) throw new Error(`POST /scim/v2/Groups → ${res.status}: ${clip(res.body, 500)}`);
      groupIds.push((JSON.parse(res.body) as { id: string }).id);
    }
    return { userIds, groupIds };
  } finally {
    client.close();
  }
}

interface CursorWatch {
  /** Where the `derive` cursor is now. */
  position(): Promise<number>;
  /** Waits until the cursor reaches the last revision written; resolves with the ms it took. */
  drain(timeoutMs?: number): Promise<number>;
}

function createCursorWatch(store: Store, tenantId: string): CursorWatch {
  const position = async () => Number((await store.audit.cursor(tenantId, 'derive')) ?? 0);
  return {
    position,
    async drain(timeoutMs = 120_000) {
      const started = performance.now();
      const { revision } = await store.audit.head(tenantId);
      while ((await position()) < revision) {
        if (performance.now() - started > timeoutMs) throw new Error(`the deriver did not reach revision ${revision} in ${timeoutMs} ms`);
        await sleep(POLL_MS);
      }
      return performance.now() - started;
    },
  };
}

/**
 * A stretch on the current build with the `derive` cursor polled every `POLL_MS`: each response's
 * revision (its ETag) is stamped when it arrives and resolved when the cursor first shows it passed.
 */
async function measureLag(
  cfg: AuditBenchConfig,
  r: Running,
  kind: WriteKind,
  connections: number,
  seconds: number,
  seed: number,
  cursor: CursorWatch,
): Promise<DeriverLag> {
  await cursor.drain();
  const pending: { revision: number; at: number }[] = [];
  const lags: number[] = [];
  let polling = true;
  let stoppedAt = Infinity;
  const poller = (async () => {
    while (polling || pending.length > 0) {
      const position = await cursor.position();
      const now = performance.now();
      if (pending.length > 0) {
        for (let k = pending.length - 1; k >= 0; k--) {
          if (pending[k]!.revision <= position) {
            lags.push(now - pending[k]!.at);
            pending.splice(k, 1);
          }
        }
      }
      if (!polling && now - stoppedAt > 60_000) return;
      await sleep(POLL_MS);
    }
  })();
  const result = await load(cfg, r, kind, connections, seconds, seed, (revision) => pending.push({ revision, at: performance.now() }));
  stoppedAt = performance.now();
  polling = false;
  await poller;
  return {
    seconds: result.seconds,
    rps: result.rps,
    samples: lags.length,
    lagMs: stats(lags),
    unresolved: pending.length,
    drainMs: performance.now() - stoppedAt,
    pollMs: POLL_MS,
  };
}

function ratiosOf(audit: LoadResult, baseline: LoadResult): Ratios {
  return { p50: audit.latency.p50 / baseline.latency.p50, p99: audit.latency.p99 / baseline.latency.p99, rps: audit.rps / baseline.rps };
}

function summary(results: readonly LoadResult[]): BuildSummary {
  return {
    rps: median(results.map((r) => r.rps)),
    p50: median(results.map((r) => r.latency.p50)),
    p99: median(results.map((r) => r.latency.p99)),
    responses: results.reduce((s, r) => s + r.responses, 0),
    failed: results.reduce((s, r) => s + r.failed, 0),
    errors: results.reduce((s, r) => s + r.errors, 0),
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

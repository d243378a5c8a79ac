/**
 * Parts 2 and 3 on the long-log tenant of `history-seed.ts`: how fast the chain verifies (in
 * process and through the CLI), how fast the deriver gets through the log, and what a time-travel
 * check costs next to a check at the current time, in process and over HTTP.
 */
import { execFile as execFileCallback } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { systemClock } from '../../src/core/clock.js';
import { verifyTenant } from '../../src/service/audit-admin.js';
import { checkAccess, createAccessService, type AccessRequest } from '../../src/service/access.js';
import { createAuthzIndexes } from '../../src/service/authz-service.js';
import { createHistory } from '../../src/service/history.js';
import type { Store } from '../../src/store/store.js';
import { percentile } from '../authz/measure.js';
import { prng } from '../scim/fixtures.js';
import { log, runLoad, stats, type LatencyStats, type LoadResult } from '../scim/load.js';
import type { HistoryTenant } from './history-seed.js';

const execFile = promisify(execFileCallback);

export interface VerifySpeed {
  readonly entries: number;
  readonly ms: number;
  readonly entriesPerSecond: number;
  readonly ok: boolean;
  readonly checkpoints: number;
}

/** `verifyTenant` in this process: every entry's HMAC, the revisions gap-free, each checkpoint's signature. */
export async function measureVerify(store: Store, tenantId: string): Promise<VerifySpeed> {
  const started = performance.now();
  const result = await verifyTenant(store, tenantId);
  const ms = performance.now() - started;
  if (!result.ok) log(`verify: NOT ok: ${JSON.stringify(result.firstBad)}`);
  return { entries: result.entries, ms, entriesPerSecond: result.entries / (ms / 1000), ok: result.ok, checkpoints: result.checkpoints };
}

export interface CliVerify {
  readonly command: string;
  /** Wall time of the whole process: start, open and migrate-check the database, verify, exit. */
  readonly ms: number;
  readonly output: string;
}

/** `scimitar audit verify` as an operator runs it, timed from spawn to exit. */
export async function measureCliVerify(cwd: string, database: string): Promise<CliVerify> {
  const args = ['bin/scimitar.js', 'audit', 'verify', '--tenant', 'default', '--database', database];
  const started = performance.now();
  const { stdout } = await execFile(process.execPath, args, { cwd, env: process.env, maxBuffer: 1 << 20 });
  return { command: `node ${args.join(' ')}`, ms: performance.now() - started, output: stdout.trim() };
}

export interface DeriveSpeed {
  readonly entries: number;
  readonly ms: number;
  readonly entriesPerSecond: number;
}

/** A fresh `History#derive` from the start of the log (what a server does on its first start after an upgrade). */
export async function measureDerive(store: Store, tenantId: string): Promise<DeriveSpeed> {
  const history = createHistory({ store });
  const from = Number((await store.audit.cursor(tenantId, 'derive')) ?? 0);
  const started = performance.now();
  const progress = setInterval(() => {
    void store.audit.cursor(tenantId, 'derive').then((c) => {
      const s = (performance.now() - started) / 1000;
      log(`derive: at revision ${Number(c ?? 0).toLocaleString('en-US')} after ${s.toFixed(0)} s`);
    });
  }, 30_000);
  try {
    const to = await history.derive(tenantId);
    const ms = performance.now() - started;
    return { entries: to - from, ms, entriesPerSecond: (to - from) / (ms / 1000) };
  } finally {
    clearInterval(progress);
  }
}

/** One series of timed in-process questions; every figure in ms. */
export interface Series {
  readonly name: string;
  readonly meaning: string;
  readonly samples: number;
  readonly total: LatencyStats & { readonly p95: number };
  /** `History#revisionAt` (the time → revision lookup), when the series has it. */
  readonly revisionAt?: LatencyStats;
  /** `History#indexAt` (snapshot + replay + index build, or a cache hit). */
  readonly indexAt?: LatencyStats;
  /** Entries replayed after the snapshot (cold series). */
  readonly replayed?: LatencyStats;
}

export interface TimeTravelInProcess {
  readonly span: { readonly from: string; readonly to: string };
  readonly series: readonly Series[];
}

/**
 * In process, on the seeded store: the current-time check through `AccessService#check`, then
 * `revisionAt` + `indexAt` + a check at past instants, cold (a new `History` for every sample: no
 * cached state), nearby (one `History`, instants within an hour of one another, as someone
 * investigating an incident asks), and the same instant again (the built index is cached).
 */
export async function measureTimeTravelInProcess(t: HistoryTenant, fromMs: number, toMs: number, samples: number): Promise<TimeTravelInProcess> {
  const { store, tenantId } = t;
  const requests = accessRequests(t);
  const rnd = prng(4242);
  const randomTime = () => new Date(fromMs + rnd() * (toMs - fromMs));
  const request = (k: number) => requests[k % requests.length]!;
  const series: Series[] = [];

  // Current time, through the service as the routes call it.
  const indexes = createAuthzIndexes({ store, pollMs: 0 });
  try {
    await indexes.warm();
    const access = createAccessService({ indexes, clock: systemClock, history: createHistory({ store }) });
    const n = Math.min(20_000, requests.length * 10);
    for (let k = 0; k < 1000; k++) await access.check(tenantId, request(k));
    const lat: number[] = [];
    for (let k = 0; k < n; k++) {
      const t0 = performance.now();
      await access.check(tenantId, request(k));
      lat.push(performance.now() - t0);
    }
    series.push({ name: 'current time', meaning: '`AccessService#check` without `at` (the live index)', samples: n, total: withP95(lat) });
  } finally {
    indexes.close();
  }

  const past = async (history: ReturnType<typeof createHistory>, at: Date, k: number) => {
    const t0 = performance.now();
    const revision = await history.revisionAt(tenantId, at);
    const t1 = performance.now();
    const index = await history.indexAt(tenantId, revision);
    const t2 = performance.now();
    checkAccess(index, request(k), at);
    const t3 = performance.now();
    return { revision, total: t3 - t0, revisionAt: t1 - t0, indexAt: t2 - t1 };
  };
  /** The timings of a run of `past` questions, and the series they make. */
  const pastSeries = () => {
    const total: number[] = [];
    const revisionAt: number[] = [];
    const indexAt: number[] = [];
    return {
      total,
      add(r: Awaited<ReturnType<typeof past>>): void {
        total.push(r.total);
        revisionAt.push(r.revisionAt);
        indexAt.push(r.indexAt);
      },
      series: (name: string, meaning: string, replayed?: number[]): Series => ({
        name,
        meaning,
        samples: total.length,
        total: withP95(total),
        revisionAt: stats(revisionAt),
        indexAt: stats(indexAt),
        ...(replayed ? { replayed: stats(replayed) } : {}),
      }),
    };
  };

  {
    const cold = pastSeries();
    const replayed: number[] = [];
    for (let k = 0; k < samples; k++) {
      const r = await past(createHistory({ store }), randomTime(), k);
      cold.add(r);
      replayed.push(r.revision - ((await store.audit.snapshotAtOrBefore(tenantId, r.revision))?.revision ?? 0));
    }
    series.push(
      cold.series(
        'past, cold',
        'a new `History` per sample (nothing cached): latest snapshot at or before the revision, replay to it, build the index, one check; random instants over the whole log',
        replayed,
      ),
    );
    log(`at, cold: p50 ${stats(cold.total).p50.toFixed(0)} ms, p99 ${stats(cold.total).p99.toFixed(0)} ms (replayed p50 ${stats(replayed).p50} entries)`);
  }

  {
    const history = createHistory({ store });
    const nearby = pastSeries();
    const perBase = 10;
    for (let k = 0; nearby.total.length < samples; k++) {
      const base = randomTime();
      // The first question about an incident is a cold one; the follow-ups are what is measured.
      await past(history, base, k);
      for (let j = 1; j < perBase && nearby.total.length < samples; j++) {
        const at = new Date(Math.min(toMs, base.getTime() + (rnd() * 2 - 1) * 3_600_000));
        nearby.add(await past(history, at, k * perBase + j));
      }
    }
    series.push(
      nearby.series(
        'past, nearby',
        'one `History` (4 indexes cached); after a first question at a random instant, 9 more within ±1 h of it (earlier ones replay from the snapshot, later ones from the cached state)',
      ),
    );
    log(`at, nearby: p50 ${stats(nearby.total).p50.toFixed(1)} ms, p99 ${stats(nearby.total).p99.toFixed(1)} ms`);
  }

  {
    const history = createHistory({ store });
    const at = randomTime();
    await past(history, at, 0);
    const same = pastSeries();
    for (let k = 0; k < Math.max(samples, 200); k++) same.add(await past(history, at, k));
    series.push(same.series('past, same instant', 'the same instant again: `revisionAt` (one indexed query) and the cached index, one check'));
  }
  return { span: { from: new Date(fromMs).toISOString(), to: new Date(toMs).toISOString() }, series };
}

export interface HttpAtPhase {
  readonly name: string;
  readonly meaning: string;
  readonly result: LoadResult;
}

/** `POST /access/v1/evaluation` with and without `?at=` against the real server on the seeded database. */
export async function measureTimeTravelHttp(
  t: HistoryTenant,
  server: { readonly baseUrl: string },
  token: string,
  fromMs: number,
  toMs: number,
  seconds: number,
  maxSeconds: number,
): Promise<{ phases: HttpAtPhase[]; agreement: { checked: number; mismatches: number } }> {
  const requests = accessRequests(t);
  const bodies = requests.map(evaluationBody);
  const rnd = prng(777);
  const randomTime = () => new Date(fromMs + rnd() * (toMs - fromMs)).toISOString();
  const base = new Date(fromMs + 0.6 * (toMs - fromMs)).getTime();
  const fixed = new Date(base).toISOString();
  const phase = async (name: string, meaning: string, connections: number, at: (() => string) | undefined): Promise<HttpAtPhase> => {
    log(`http: ${name}, ${connections} connection(s), ${seconds} s`);
    const result = await runLoad({
      title: name,
      baseUrl: server.baseUrl,
      token,
      connections,
      seconds,
      maxSeconds,
      next: (i) => ({ method: 'POST', path: `/access/v1/evaluation${at ? `?at=${encodeURIComponent(at())}` : ''}`, body: bodies[i % bodies.length]! }),
      accept: (status, body) => status === 200 && body.includes('"decision"'),
    });
    log(`  ${Math.round(result.rps)}/s, p50 ${result.latency.p50.toFixed(2)} ms, p99 ${result.latency.p99.toFixed(2)} ms${result.failed ? `, ${result.failed} failed` : ''}`);
    if (result.firstFailure) log(`  first failure: ${result.firstFailure.request} → ${result.firstFailure.status} ${result.firstFailure.body}`);
    return { name, meaning, result };
  };

  // The server's answers at past instants, against this process's, for a few instants.
  const agreement = await agree(t, server.baseUrl, token, requests, [0.1, 0.35, 0.6, 0.85].map((f) => new Date(fromMs + f * (toMs - fromMs))));
  log(`http: ${agreement.checked} past answers compared with in-process, ${agreement.mismatches} differ`);

  const phases: HttpAtPhase[] = [];
  phases.push(await phase('current ×1', 'no `at`: the live index', 1, undefined));
  phases.push(await phase('current ×16', 'no `at`, 16 connections', 16, undefined));
  phases.push(await phase('at random ×1', 'a random instant over the whole log each request: every one rebuilds an index (the server caches 4)', 1, randomTime));
  phases.push(
    await phase('at nearby ×1', 'instants within ±1 h of one instant: rebuilt from a cached state or the snapshot, rarely a cache hit', 1, () =>
      new Date(base + (rnd() * 2 - 1) * 3_600_000).toISOString(),
    ),
  );
  phases.push(await phase('at same ×1', 'one instant for every request: the cached index', 1, () => fixed));
  phases.push(await phase('at same ×16', 'one instant, 16 connections', 16, () => fixed));
  return { phases, agreement };
}

async function agree(
  t: HistoryTenant,
  baseUrl: string,
  token: string,
  requests: readonly AccessRequest[],
  instants: readonly Date[],
): Promise<{ checked: number; mismatches: number }> {
  const history = createHistory({ store: t.store });
  let checked = 0;
  let mismatches = 0;
  for (const at of instants) {
    const index = await history.indexAt(t.tenantId, await history.revisionAt(t.tenantId, at));
    for (let k = 0; k < 25; k++) {
      const request = requests[(k * 37) % requests.length]!;
      const expected = checkAccess(index, request, at);
      const res = await fetch(`${baseUrl}/access/v1/evaluation?at=${encodeURIComponent(at.toISOString())}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: evaluationBody(request),
      });
      const body = (await res.json()) as { decision?: boolean };
      checked++;
      if (res.status !== 200 || body.decision !== expected) mismatches++;
    }
  }
  return { checked, mismatches };
}

/** The workload's check mix (bench:authz's), by userName as a PEP sends it. */
function accessRequests(t: HistoryTenant): AccessRequest[] {
  const { workload: w } = t;
  return w.requests.map((r) => ({ subject: { type: 'user', id: w.users[r.user]!.userName }, action: r.action, resource: { type: r.type, id: r.id } }));
}

function evaluationBody(r: AccessRequest): string {
  return JSON.stringify({ subject: r.subject, action: { name: r.action }, resource: r.resource });
}

function withP95(values: readonly number[]): LatencyStats & { p95: number } {
  return { ...stats(values), p95: percentile(Float64Array.from(values).sort(), 0.95) };
}

import { performance } from 'node:perf_hooks';
import type { BenchConfig } from './config.js';
import {
  addMembersBody,
  bulkCreateBody,
  groupBody,
  prng,
  serial,
  userBody,
  userName,
  userPatchBody,
} from './fixtures.js';
import { clip, createClient, log, runLoad, stats, type Failure, type LatencyStats, type LoadResult } from './load.js';
import type { Rss } from './process.js';
import type { ProfileSummary } from './profile.js';
import type { SampleRecorder } from './samples.js';

/** What the suite runs against: the real server on one store, or the bare-Fastify ceiling. */
export interface System {
  readonly name: string;
  /** The real server: check results (distinct ids in walks, Bulk op statuses); the ceiling is not checked. */
  readonly real: boolean;
  readonly baseUrl: string;
  readonly token: string;
  rss(): Rss;
  /** Stops the server and starts it again on the same data; resolves with spawn → `/readyz` 200 in ms. */
  restart(): Promise<number>;
  /** Restarts under `--cpu-prof`, runs `during`, stops, and summarises the profile. */
  profile?(during: () => Promise<unknown>): Promise<ProfileSummary>;
}

export interface WalkResult {
  readonly seconds: number;
  readonly pages: number;
  readonly resources: number;
  readonly totalResults: number;
  /** Distinct ids seen (real server only). */
  readonly distinct?: number;
  readonly pageLatency: LatencyStats;
  readonly problem?: string;
}

export interface OneShotResult {
  readonly ms: readonly number[];
  readonly median: number;
  /** Members added, or Bulk operations sent, per request. */
  readonly size?: number;
  readonly failure?: Failure;
}

export interface SuiteResult {
  readonly system: string;
  readonly users: number;
  readonly post1?: LoadResult;
  readonly post16?: LoadResult;
  readonly groups?: LoadResult;
  readonly rssAfterLoad?: Rss;
  readonly eq?: LoadResult;
  readonly co?: LoadResult;
  readonly walkIndex?: WalkResult;
  readonly walkCursor?: WalkResult;
  readonly patch?: LoadResult;
  readonly members?: OneShotResult;
  readonly bulk?: OneShotResult;
  readonly rssEnd?: Rss;
  readonly restart?: OneShotResult;
  readonly profile?: ProfileSummary;
  /** Phases that threw (server gone, walk never ended …), by phase key. */
  readonly errors: Record<string, string>;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

const USERS = '/scim/v2/Users';
const GROUPS = '/scim/v2/Groups';
const ok2xx = (expected: number) => (status: number) => status === expected;

function idFromLocation(headers: Record<string, string | string[]>, body: string): string | undefined {
  const location = headers['location'] ?? headers['Location'];
  const value = Array.isArray(location) ? location[0] : location;
  if (value) return value.slice(value.lastIndexOf('/') + 1);
  return /"id":"([^"]+)"/.exec(body)?.[1];
}

/**
 * The whole request mix, in order: create users one at a time, then the rest at N connections (the
 * load), groups, lookups, `co` search, the two page walks, PATCH, a 10,000-member PATCH, Bulk,
 * memory, restarts, and (real server) a CPU profile of the lookups.
 */
export async function runSuite(sys: System, cfg: BenchConfig, samples?: SampleRecorder): Promise<SuiteResult> {
  const result: Mutable<SuiteResult> = { system: sys.name, users: 0, errors: {} };
  const n = cfg.users;
  const ids: string[] = new Array<string>(n + cfg.bulkOperations * cfg.repeats);
  const groupIds: string[] = [];
  const client = createClient(sys.baseUrl, sys.token);
  const common = { baseUrl: sys.baseUrl, token: sys.token, maxSeconds: cfg.phaseMaxSeconds };
  /** Indexes of the users that were created, ascending; `indexAt(k)` wraps around them. */
  const created: number[] = [];
  const indexAt = (k: number) => created[((k % created.length) + created.length) % created.length]!;
  const idOf = (k: number) => ids[indexAt(k)]!;

  const phase = async <T>(key: string, label: string, fn: () => Promise<T>): Promise<T | undefined> => {
    log(`${sys.name}: ${label}`);
    try {
      const value = await fn();
      const r = value as Partial<LoadResult> | undefined;
      if (r && typeof r === 'object' && 'rps' in r) {
        const lat = r.latency!;
        log(
          `${sys.name}: ${label}: ${Math.round(r.rps!)}/s, p50 ${lat.p50.toFixed(2)} ms, p99 ${lat.p99.toFixed(2)} ms` +
            (r.failed || r.errors ? `, ${r.failed} failed, ${r.errors} connection errors` : ''),
        );
        if (r.firstFailure) log(`  first failure: ${r.firstFailure.request}\n  → ${r.firstFailure.status} ${r.firstFailure.body}`);
      }
      return value;
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      result.errors[key] = message;
      log(`${sys.name}: ${label} FAILED: ${message}`);
      return undefined;
    }
  };

  // Phases after the load need users; when there are none the rest is skipped, not failed one by one.
  try {
    // 1. POST one at a time: these users are the managers of everybody loaded after them.
    const p1 = cfg.post1Users;
    result.post1 = await phase('post1', `POST /Users, 1 connection, ${p1.toLocaleString('en-US')} users`, () =>
      runLoad({
        ...common,
        title: 'POST /Users (1)',
        connections: 1,
        amount: p1,
        next: (i) => ({ method: 'POST', path: USERS, body: userBody(i, i > 0 ? ids[Math.floor((i - 1) / 10)] : undefined) }),
        accept: ok2xx(201),
        onAccepted: (i, body, headers) => {
          const id = idFromLocation(headers, body);
          if (id !== undefined && i < ids.length) ids[i] = id;
        },
        progressEvery: 10,
      }),
    );

    // 2. The load: the rest of the users at N connections (this phase IS the POST-16 figure).
    result.post16 = await phase(
      'post16',
      `POST /Users, ${cfg.connections} connections, ${(n - p1).toLocaleString('en-US')} users (the load)`,
      () =>
        runLoad({
          ...common,
          title: `POST /Users (${cfg.connections})`,
          connections: cfg.connections,
          amount: n - p1,
          next: (k) => {
            const i = p1 + k;
            return { method: 'POST', path: USERS, body: userBody(i, ids[i % p1]) };
          },
          accept: ok2xx(201),
          onAccepted: (k, body, headers) => {
            const id = idFromLocation(headers, body);
            if (id !== undefined && p1 + k < ids.length) ids[p1 + k] = id;
            if (samples && !samples.has('createUser')) {
              samples.offer('createUser', body);
              samples.offer('userLocation', String(headers['location'] ?? ''));
            }
          },
          progressEvery: 10,
        }),
    );
    result.users = (result.post1?.ok ?? 0) + (result.post16?.ok ?? 0);
    // The users that exist (the load may have failed or hit its time limit): everything after
    // picks among these, so a short load shows up as fewer users, not as failed lookups.
    for (let i = 0; i < n; i++) if (ids[i] !== undefined) created.push(i);
    if (created.length < n) {
      log(`${sys.name}: only ${created.length.toLocaleString('en-US')} of ${n.toLocaleString('en-US')} users were created; the rest of the run uses those`);
    }
    if (created.length === 0) throw new Error('no user was created: see the POST failures');
    const live = created.length;

    // 3. Groups, each with an even share of the users (up to 100), so users render their `groups`.
    const perGroup = Math.min(100, Math.floor(live / cfg.groups));
    result.groups = await phase('groups', `POST /Groups, ${cfg.connections} connections, ${cfg.groups} groups of ${perGroup}`, () =>
      runLoad({
        ...common,
        title: `POST /Groups (${cfg.connections})`,
        connections: cfg.connections,
        amount: cfg.groups,
        next: (g) => {
          const members: string[] = [];
          for (let k = 0; k < perGroup; k++) members.push(idOf(g * perGroup + k));
          return { method: 'POST', path: GROUPS, body: groupBody(g, members) };
        },
        accept: ok2xx(201),
        onAccepted: (g, body, headers) => {
          const id = idFromLocation(headers, body);
          if (id !== undefined) groupIds[g] = id;
          if (samples && !samples.has('createGroup')) {
            samples.offer('createGroup', body);
            samples.offer('groupLocation', String(headers['location'] ?? ''));
          }
        },
      }),
    );

    result.rssAfterLoad = await phase('rssAfterLoad', 'server RSS after the load', async () => sys.rss());

    // 4. Lookups by userName, the IdP's "does this user exist?" before every create.
    const warm = Math.min(2, Math.max(1, Math.round(cfg.seconds / 5)));
    const pick = prng(42);
    const eqPath = () => `${USERS}?filter=${encodeURIComponent(`userName eq "${userName(indexAt(Math.floor(pick() * live)))}"`)}`;
    await phase('eqWarmup', `warm-up ${warm} s`, () =>
      runLoad({ ...common, title: 'warm-up', connections: cfg.connections, seconds: warm, next: () => ({ method: 'GET', path: eqPath() }), accept: () => true }),
    );
    result.eq = await phase('eq', `GET filter=userName eq, ${cfg.connections} connections, ${cfg.seconds} s`, () =>
      runLoad({
        ...common,
        title: 'filter userName eq',
        connections: cfg.connections,
        seconds: cfg.seconds,
        next: () => ({ method: 'GET', path: eqPath() }),
        accept: (status, body) => status === 200 && body.includes('"totalResults":1'),
        onAccepted: (_i, body) => samples?.offer('eqFilter', body),
      }),
    );

    // 5. A `co` search: a 5-digit fragment of the serial in userName; no B-tree index can serve it.
    const pickCo = prng(7);
    result.co = await phase('co', `GET filter=userName co, ${cfg.connections} connections, ${cfg.seconds} s`, () =>
      runLoad({
        ...common,
        title: 'filter userName co',
        connections: cfg.connections,
        seconds: cfg.seconds,
        next: () => {
          const fragment = serial(indexAt(Math.floor(pickCo() * live))).slice(1);
          return { method: 'GET', path: `${USERS}?filter=${encodeURIComponent(`userName co "${fragment}"`)}` };
        },
        accept: (status, body) => status === 200 && body.includes('"totalResults":'),
        onAccepted: (_i, body) => samples?.offer('coFilter', body),
      }),
    );

    // 6. Page walks of every user, 100 a page, one connection, as an IdP's full sync reads them.
    result.walkIndex = await phase('walkIndex', 'walk all users by startIndex, count=100', () =>
      walk(client, sys.real, cfg, 'startIndex', samples),
    );
    result.walkCursor = await phase('walkCursor', 'walk all users by cursor (RFC 9865), count=100', () =>
      walk(client, sys.real, cfg, 'cursor', samples),
    );

    // 7. PATCH in Entra's shape; each request takes the next user, so no two are in flight on one user.
    const patchStart = Math.floor(live / 3);
    const patchLoad = (seconds: number, title: string, record: boolean) =>
      runLoad({
        ...common,
        title,
        connections: cfg.connections,
        seconds,
        next: (i) => ({ method: 'PATCH', path: `${USERS}/${idOf(patchStart + i)}`, body: userPatchBody(i) }),
        accept: ok2xx(200),
        ...(record ? { onAccepted: (_i: number, body: string) => samples?.offer('patchUser', body) } : {}),
      });
    await phase('patchWarmup', `warm-up ${warm} s`, () => patchLoad(warm, 'warm-up', false));
    result.patch = await phase('patch', `PATCH /Users/{id} (Entra shape), ${cfg.connections} connections, ${cfg.seconds} s`, () =>
      patchLoad(cfg.seconds, 'PATCH /Users (Entra)', true),
    );

    // 8. Adding members: one PATCH with `membersPerPatch` users, into a different group each time.
    const m = Math.min(cfg.membersPerPatch, live);
    result.members = await phase('members', `PATCH /Groups/{id}: add ${m.toLocaleString('en-US')} members, ×${cfg.repeats}`, () =>
      oneShot(m, cfg.repeats, async (r) => {
        const members: string[] = [];
        const start = Math.floor(live / 2) + r * m;
        for (let k = 0; k < m; k++) members.push(idOf(start + k));
        const body = addMembersBody(members);
        const path = `${GROUPS}/${groupIds[r] ?? groupIds[0] ?? 'missing'}`;
        const res = await client.send('PATCH', path, body);
        if (samples && !samples.has('patchGroupStatus')) {
          samples.offer('patchGroupStatus', res.status);
          samples.offer('patchGroup', res.body);
        }
        if (res.status !== 204 && res.status !== 200) {
          return { ms: res.ms, failure: { request: `PATCH ${path} ${clip(body, 300)}`, status: res.status, body: clip(res.body, 2000) } };
        }
        return { ms: res.ms };
      }),
    );

    // 9. Bulk: `bulkOperations` creates in one request.
    result.bulk = await phase('bulk', `POST /Bulk with ${cfg.bulkOperations} POST /Users operations, ×${cfg.repeats}`, () =>
      oneShot(cfg.bulkOperations, cfg.repeats, async (r) => {
        const first = n + r * cfg.bulkOperations;
        const body = bulkCreateBody(first, cfg.bulkOperations, ids[0]);
        const res = await client.send('POST', '/scim/v2/Bulk', body);
        samples?.offer('bulk', res.body);
        const request = `POST /scim/v2/Bulk (${cfg.bulkOperations} ops, first: ${clip(body.slice(0, 900), 400)})`;
        if (res.status !== 200) return { ms: res.ms, failure: { request, status: res.status, body: clip(res.body, 2000) } };
        if (sys.real) {
          const ops = (JSON.parse(res.body) as { Operations?: { status?: string; response?: unknown }[] }).Operations ?? [];
          const bad = ops.filter((o) => o.status !== '201');
          if (ops.length !== cfg.bulkOperations || bad.length > 0) {
            return {
              ms: res.ms,
              failure: {
                request,
                status: res.status,
                body: `${ops.length} results, ${bad.length} not 201; first: ${clip(JSON.stringify(bad[0] ?? null), 1500)}`,
              },
            };
          }
        }
        return { ms: res.ms };
      }),
    );

    result.rssEnd = await phase('rssEnd', 'server RSS at the end', async () => sys.rss());
  } catch (err) {
    result.errors['suite'] = err instanceof Error ? err.message : String(err);
    log(`${sys.name}: stopped: ${result.errors['suite']}`);
  } finally {
    client.close();
  }

  // 10. Restart-to-serving on the loaded data.
  result.restart = await phase('restart', `restart → GET /readyz 200, ×${cfg.repeats}`, () =>
    oneShot(undefined, cfg.repeats, async () => ({ ms: await sys.restart() })),
  );

  // 11. Where the lookups spend the server's CPU (after the measurements, so the profiler costs them nothing).
  if (cfg.profile && sys.profile && created.length > 0) {
    const pickProf = prng(99);
    result.profile = await phase('profile', 'CPU profile of userName eq lookups (--cpu-prof)', () =>
      sys.profile!(() =>
        runLoad({
          ...common,
          title: 'profiled eq',
          connections: cfg.connections,
          seconds: Math.min(cfg.seconds, 8),
          next: () => ({
            method: 'GET',
            path: `${USERS}?filter=${encodeURIComponent(`userName eq "${userName(indexAt(Math.floor(pickProf() * created.length)))}"`)}`,
          }),
          accept: (status) => status === 200,
        }),
      ),
    );
  }
  return result;
}

async function oneShot(
  size: number | undefined,
  repeats: number,
  once: (r: number) => Promise<{ ms: number; failure?: Failure }>,
): Promise<OneShotResult> {
  const ms: number[] = [];
  let failure: Failure | undefined;
  for (let r = 0; r < repeats; r++) {
    const outcome = await once(r);
    ms.push(outcome.ms);
    log(`  #${r + 1}: ${outcome.ms.toFixed(1)} ms${outcome.failure ? ` FAILED → ${outcome.failure.status}` : ''}`);
    if (outcome.failure && !failure) {
      failure = outcome.failure;
      log(`  failed request: ${failure.request}\n  → ${failure.status} ${failure.body}`);
    }
  }
  const sorted = [...ms].sort((a, b) => a - b);
  return {
    ms,
    median: sorted[Math.floor(sorted.length / 2)]!,
    ...(size !== undefined ? { size } : {}),
    ...(failure ? { failure } : {}),
  };
}

interface ListPage {
  totalResults?: number;
  itemsPerPage?: number;
  nextCursor?: string;
  Resources?: { id?: string }[];
}

/**
 * Reads every user, 100 a page, on one keep-alive connection, parsing each page as a client must.
 * Bounded: at most ⌈total/100⌉+10 pages and `walkMaxSeconds`.
 */
async function walk(
  client: ReturnType<typeof createClient>,
  real: boolean,
  cfg: BenchConfig,
  mode: 'startIndex' | 'cursor',
  samples?: SampleRecorder,
): Promise<WalkResult> {
  const count = 100;
  const seen = real ? new Set<string>() : undefined;
  const pageMs: number[] = [];
  const started = performance.now();
  const deadline = started + cfg.walkMaxSeconds * 1000;
  let total = -1;
  let resources = 0;
  let pages = 0;
  let problem: string | undefined;
  let startIndex = 1;
  let cursor = '';
  let maxPages = Math.ceil((cfg.users + cfg.bulkOperations * cfg.repeats) / count) + 10;

  while (pages < maxPages) {
    if (performance.now() > deadline) {
      problem = `stopped after ${cfg.walkMaxSeconds} s at page ${pages}`;
      break;
    }
    const path =
      mode === 'startIndex'
        ? `${USERS}?startIndex=${startIndex}&count=${count}`
        : `${USERS}?count=${count}&cursor=${encodeURIComponent(cursor)}`;
    const res = await client.send('GET', path);
    pageMs.push(res.ms);
    if (res.status !== 200) throw new Error(`GET ${path} → ${res.status} ${clip(res.body, 2000)}`);
    const page = JSON.parse(res.body) as ListPage;
    pages++;
    if (total < 0) {
      total = page.totalResults ?? 0;
      maxPages = Math.ceil(total / count) + 10;
    }
    const items = page.Resources ?? [];
    resources += items.length;
    if (seen) for (const r of items) if (r.id) seen.add(r.id);
    if (samples && items.length === count && pages === 2) samples.offer(mode === 'startIndex' ? 'indexPage' : 'cursorPage', res.body);
    if (pages % 200 === 0) log(`  ${mode} walk: ${resources.toLocaleString('en-US')} / ${total.toLocaleString('en-US')}`);

    if (mode === 'startIndex') {
      if (items.length === 0 || startIndex + items.length > total) break;
      startIndex += items.length;
    } else {
      if (page.nextCursor === undefined) break;
      if (items.length === 0) {
        problem = `page ${pages} is empty but has a nextCursor`;
        break;
      }
      cursor = page.nextCursor;
    }
  }
  if (pages >= maxPages && !problem) problem = `did not end after ${maxPages} pages`;
  const seconds = (performance.now() - started) / 1000;
  if (!problem && real && resources !== total) problem = `read ${resources} resources, totalResults says ${total}`;
  if (!problem && seen && seen.size !== total) problem = `${seen.size} distinct ids out of ${total}`;
  return {
    seconds,
    pages,
    resources,
    totalResults: total,
    ...(seen ? { distinct: seen.size } : {}),
    pageLatency: stats(pageMs),
    ...(problem ? { problem } : {}),
  };
}

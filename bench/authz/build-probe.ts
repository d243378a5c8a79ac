/**
 * Builds a tenant's permission index from a database in a fresh process and prints what it cost,
 * as one JSON line on stdout: the snapshot read, `TenantIndex.build`, and the resident memory the
 * index keeps (after the snapshot is dropped and the heap collected). Run by `run.ts`:
 *
 *   node --expose-gc --import tsx bench/authz/build-probe.ts sqlite:/tmp/x.db [repeats]
 *
 * A fresh process, so the memory figure is the index's alone and not the benchmark's leftovers.
 */
import { performance } from 'node:perf_hooks';
import { TenantIndex } from '../../src/authz/tenant-index.js';
import { ensureDefaultTenant } from '../../src/service/tenants.js';
import { openStore } from '../../src/store/open-store.js';

const [database, repeatsArg] = process.argv.slice(2);
if (!database) {
  process.stderr.write('usage: build-probe.ts <database-url> [repeats]\n');
  process.exit(2);
}
const gc = (globalThis as { gc?: () => void }).gc;
const collect = () => {
  for (let i = 0; i < 3; i++) gc?.();
};
const mib = () => process.memoryUsage().rss / 2 ** 20;
const heapMib = () => process.memoryUsage().heapUsed / 2 ** 20;

const store = await openStore(database);
const { tenant } = await ensureDefaultTenant(store);
collect();
const rssBefore = mib();
const heapBefore = heapMib();

let t0 = performance.now();
let snapshot: Awaited<ReturnType<typeof store.snapshot>> | undefined = await store.snapshot(tenant.id);
const snapshotMs = performance.now() - t0;
const counts = { users: snapshot.users.length, groups: snapshot.groups.length, memberships: snapshot.memberships.length, policy: snapshot.policy.length };
t0 = performance.now();
let index: TenantIndex | undefined = TenantIndex.build(snapshot);
const firstBuildMs = performance.now() - t0;
const rssPeak = mib();
snapshot = undefined;
collect();
const rssAfter = mib();
const heapAfter = heapMib();
const profiles = new Set([...index.users.values()].map((u) => u.profile)).size;

// More builds for the timing, each from a fresh snapshot; the previous index is dropped first.
const builds: number[] = [firstBuildMs];
const repeats = Number(repeatsArg ?? 2);
for (let r = 0; r < repeats; r++) {
  index = undefined;
  collect();
  const again = await store.snapshot(tenant.id);
  t0 = performance.now();
  index = TenantIndex.build(again);
  builds.push(performance.now() - t0);
}
await store.close();
const sorted = [...builds].sort((a, b) => a - b);
process.stdout.write(
  `${JSON.stringify({
    ...counts,
    profiles,
    gcExposed: gc !== undefined,
    snapshotMs,
    buildMs: sorted[Math.floor(sorted.length / 2)],
    builds,
    rssBeforeMiB: rssBefore,
    rssPeakMiB: rssPeak,
    rssAfterMiB: rssAfter,
    heapDeltaMiB: heapAfter - heapBefore,
  })}\n`,
);

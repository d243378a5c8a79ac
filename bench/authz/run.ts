/**
 * Permission-engine benchmark: Scimitar's in-process check next to casbin, Cedar and a plain `Map`
 * of precomputed answers (the ceiling); the AuthZEN decision API over HTTP next to a bare Fastify
 * server; index build time and memory at 10,000 and 100,000 users; re-index after changes that
 * reach 10,000 users; SCIM PATCH → changed decision over HTTP. Writes `bench/results/authz.md` and
 * `authz.json` beside it.
 *
 *   npm run bench:authz                 # full: ~5 min on 2 cores
 *   npm run bench:authz -- --quick      # smoke: small data, short phases, ~1 min
 *   npx tsx bench/authz/run.ts --out /tmp/authz.md --keep
 *
 * Progress goes to stderr; the Markdown also goes to stdout.
 */
import { execFile as execFileCallback, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { isAllowed, type CheckInput } from '../../src/authz/evaluate.js';
import { TenantIndex } from '../../src/authz/tenant-index.js';
import { systemClock } from '../../src/core/clock.js';
import { checkAccess } from '../../src/service/access.js';
import { issueToken } from '../../src/service/tokens.js';
import { freePort } from '../../test/setup/pg-server.js';
import { createClient, log } from '../scim/load.js';
import { readRss } from '../scim/process.js';
import { startProcess, type ServerProcess } from '../scim/process.js';
import { createCasbinPeer } from './casbin-peer.js';
import { createCedarPeer } from './cedar-peer.js';
import { combine, hammer, postJson, type HttpRun, type Stretch } from './http.js';
import { measureEngine, mismatches, type EngineRun } from './measure.js';
import { measureReindex } from './reindex.js';
import { median, renderMarkdown, type EngineSummary, type Machine, type PatchToDecision, type Probe, type Report, type WorkloadSummary } from './report.js';
import { seed, type Seeded } from './seed.js';
import { ACTIONS, TYPES, defaultShape, generateWorkload, type Workload } from './workload.js';
import { codeVersion, createCleanups, machineInfo, writeReport } from '../run-support.js';

const execFile = promisify(execFileCallback);

interface Options {
  readonly quick: boolean;
  readonly out: string;
  readonly keep: boolean;
  readonly users: number;
  readonly bigUsers: number;
  readonly requests: number;
  /** Measured seconds of each HTTP phase (after a warm-up of a fifth of it). */
  readonly seconds: number;
  /** Time budget of each slow peer, seconds. */
  readonly peerSeconds: number;
  readonly repeats: number;
  readonly patchIterations: number;
}

function options(argv: readonly string[]): Options {
  const quick = argv.includes('--quick');
  const value = (name: string) => argv.find((a) => a.startsWith(`${name}=`))?.slice(name.length + 1);
  const out = resolve(value('--out') ?? 'bench/results/authz.md');
  return quick
    ? { quick, out, keep: argv.includes('--keep'), users: 2000, bigUsers: 10_000, requests: 10_000, seconds: 2, peerSeconds: 2, repeats: 2, patchIterations: 10 }
    : { quick, out, keep: argv.includes('--keep'), users: 10_000, bigUsers: 100_000, requests: 100_000, seconds: 10, peerSeconds: 15, repeats: 5, patchIterations: 50 };
}

const { cleanups, cleanUp } = createCleanups();



function summarise(w: Workload, seeded: Seeded, answers: Uint8Array): WorkloadSummary {
  const byOrigin: Record<string, number> = {};
  for (const g of w.grants) byOrigin[g.origin] = (byOrigin[g.origin] ?? 0) + 1;
  const kinds: Record<string, number> = {};
  for (const r of w.requests) kinds[r.kind] = (kinds[r.kind] ?? 0) + 1;
  let allowed = 0;
  for (const a of answers) allowed += a;
  return {
    users: w.users.length,
    inactiveUsers: w.users.filter((u) => !u.active).length,
    groups: w.groups.length,
    nestedGroups: w.groups.filter((g) => g.parents.length > 0).length,
    memberships: seeded.memberships,
    resourceTypes: TYPES.length,
    actionsPerType: ACTIONS.length,
    roles: w.roles.length,
    rolesWithIncludes: w.roles.filter((r) => r.includes.length > 0).length,
    rolesWithWildcards: w.roles.filter((r) => r.permissions.some((p) => p.endsWith(':*'))).length,
    resources: w.resources.length,
    grantsByOrigin: byOrigin,
    conditional: w.grants.filter((g) => g.env !== undefined).length,
    expiring: w.grants.filter((g) => g.expiresAt !== undefined).length,
    expired: w.grants.filter((g) => g.expiresAt !== undefined && g.expiresAt <= w.shape.now).length,
    denies: w.grants.filter((g) => g.effect === 'deny').length,
    rules: w.rules.length,
    requests: w.requests.length,
    requestKinds: kinds,
    allowShare: allowed / Math.max(1, answers.length),
  };
}

async function probeBuild(database: string): Promise<Probe> {
  const { stdout } = await execFile(process.execPath, ['--expose-gc', '--import', 'tsx', 'bench/authz/build-probe.ts', database, '2'], {
    maxBuffer: 1 << 20,
    env: process.env,
  });
  return JSON.parse(stdout.trim().split('\n').pop()!) as Probe;
}

const evaluationBody = (w: Workload, i: number) => {
  const r = w.requests[i]!;
  return `{"subject":{"type":"user","id":"${w.users[r.user]!.userName}"},"action":{"name":"${r.action}"},"resource":{"type":"${r.type}","id":"${r.id}"}}`;
};

async function main(): Promise<void> {
  const opt = options(process.argv.slice(2));
  if (!existsSync('bin/scimitar.js') || !existsSync('dist/cli/main.js')) {
    throw new Error('run from the repository root after `npm run build` (use `npm run bench:authz`)');
  }
  const started = performance.now();
  // Read from disk: cedar-wasm's `exports` do not expose its package.json.
  const version = (pkg: string) => (JSON.parse(readFileSync(join('node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version;
  const machine: Machine = { ...machineInfo(), casbin: version('casbin'), cedar: version('@cedar-policy/cedar-wasm') };
  const code = codeVersion();
  const notes: string[] = [];
  const errors: Record<string, string> = {};
  const scratch = mkdtempSync(join(tmpdir(), 'scimitar-bench-authz-'));
  if (!opt.keep) cleanups.push(() => rmSync(scratch, { recursive: true, force: true }));
  else notes.push(`Databases kept in ${scratch}.`);
  log(`${machine.cores} × ${machine.cpu}, Node ${machine.node}; ${opt.users.toLocaleString('en-US')} users, ${opt.requests.toLocaleString('en-US')} checks${opt.quick ? ' (quick)' : ''}`);

  // --- Workload, seeding, index ---------------------------------------------------------------
  const now = Date.now();
  let w: Workload | undefined = generateWorkload(defaultShape(opt.users, opt.requests, now));
  log(`workload: ${w.groups.length} groups, ${w.resources.length} resources, ${w.roles.length} roles, ${w.grants.length} grants`);
  const seeded = await seed(w, join(scratch, 'authz.db'));
  let storeOpen = true;
  cleanups.push(async () => {
    if (storeOpen) await seeded.store.close();
  });
  log(`seeded in ${((seeded.ms.users + seeded.ms.groups + seeded.ms.policy) / 1000).toFixed(1)} s (users ${(seeded.ms.users / 1000).toFixed(1)} s)`);
  let t0 = performance.now();
  const snapshot = await seeded.store.snapshot(seeded.tenantId);
  const snapshotMs = performance.now() - t0;
  t0 = performance.now();
  const index = TenantIndex.build(snapshot);
  const buildMs = performance.now() - t0;
  log(`index: snapshot ${snapshotMs.toFixed(0)} ms, build ${buildMs.toFixed(0)} ms`);

  // --- 1. In-process ---------------------------------------------------------------------------
  const at = new Date(now);
  const n = w.requests.length;
  const inputs: CheckInput[] = w.requests.map((r) => ({
    user: index.findUser('id', seeded.userIds[r.user]!),
    action: r.action,
    resource: { type: r.type, id: r.id },
    now: at,
  }));
  const byName = w.requests.map((r) => ({ subject: { type: 'user', id: w!.users[r.user]!.userName }, action: r.action, resource: { type: r.type, id: r.id } }));
  const answers = new Map<string, boolean>();
  const parts = w.requests.map((r) => ({ user: seeded.userIds[r.user]!, action: r.action, resource: `${r.type}:${r.id}` }));
  const keys = parts.map((p) => `${p.user}|${p.action}|${p.resource}`);
  // Answers from a first, untimed pass: the Map must hold them before it is measured.
  w.requests.forEach((_, i) => answers.set(keys[i]!, isAllowed(index, inputs[i]!)));
  const fast: [string, (i: number) => boolean][] = [
    ['Scimitar', (i) => isAllowed(index, inputs[i]!)],
    ['Scimitar + findSubject (by userName)', (i) => checkAccess(index, byName[i]!, at)],
    ['Map (ceiling)', (i) => answers.get(`${parts[i]!.user}|${parts[i]!.action}|${parts[i]!.resource}`) === true],
    ['Map, key prebuilt (floor)', (i) => answers.get(keys[i]!) === true],
  ];
  // Two rounds in turn, the second reported: whichever engine runs first otherwise pays for the
  // JIT's and the heap's warm-up (measured: up to 2× on checks/s and 3× on p99).
  let runs: EngineRun[] = [];
  for (let round = 1; round <= 2; round++) {
    runs = [];
    for (const [name, call] of fast) {
      log(`in-process: ${name} (round ${round} of 2)`);
      runs.push(measureEngine(name, n, call, opt.peerSeconds));
    }
  }
  const scimitar = runs[0]!;
  log('in-process: casbin (loading)');
  const casbin = await createCasbinPeer(w);
  log(`in-process: casbin (${opt.peerSeconds} s budget)`);
  runs.push(measureEngine('casbin', n, (i) => casbin.check(w!.requests[i]!, now), opt.peerSeconds));
  log('in-process: Cedar (loading)');
  const cedar = createCedarPeer(w);
  log(`in-process: Cedar (${opt.peerSeconds} s budget)`);
  runs.push(measureEngine('Cedar (wasm)', n, (i) => cedar.check(w!.requests[i]!, now), opt.peerSeconds));
  runs.push(measureEngine('Cedar, empty policy set (call cost only)', n, (i) => cedar.emptyCall(w!.requests[i]!, now), opt.peerSeconds / 3));
  const inProcess: EngineSummary[] = runs.map((run) => {
    const bad = run.name.startsWith('Cedar, empty') ? [] : mismatches(scimitar.answers, run);
    let allowed = 0;
    for (let i = 0; i < run.calls; i++) allowed += run.answers[i]!;
    const { answers: _answers, ...rest } = run;
    return {
      ...rest,
      mismatches: bad.length,
      mismatchExamples: bad.slice(0, 5).map((i) => {
        const r = w!.requests[i]!;
        return `#${i} ${w!.users[r.user]!.userName} ${r.action} ${r.type}:${r.id} → Scimitar ${scimitar.answers[i] ? 'allow' : 'deny'}`;
      }),
      allowShare: allowed / Math.max(1, run.calls),
    };
  });
  for (const e of inProcess) log(`  ${e.name}: ${Math.round(e.checksPerSecond).toLocaleString('en-US')}/s, p50 ${e.p50Ns.toFixed(0)} ns, p99 ${e.p99Ns.toFixed(0)} ns, mismatches ${e.mismatches}/${e.calls}`);
  const peers = {
    casbinPolicyLines: casbin.policyLines,
    casbinGroupingLines: casbin.groupingLines,
    casbinLoadMs: casbin.loadMs,
    cedarPolicies: cedar.policies,
    cedarLoadMs: cedar.loadMs,
  };
  const workload = summarise(w, seeded, scimitar.answers);

  // --- 5. Re-index -----------------------------------------------------------------------------
  let reindex: Report['reindex'];
  try {
    log('re-index: mapping and membership changes reaching the big group');
    reindex = await measureReindex(w, seeded, opt.repeats);
    log(`  mapping sync ${median(reindex.mapping.syncMs).toFixed(1)} ms, members sync ${median(reindex.addMembers.syncMs).toFixed(1)} ms`);
  } catch (err) {
    errors['re-index'] = err instanceof Error ? (err.stack ?? err.message) : String(err);
    log(`re-index failed: ${errors['re-index']}`);
  }

  // --- 2, 3, 6. HTTP ---------------------------------------------------------------------------
  let http: Report['http'];
  try {
    http = await measureHttp(w, seeded, scimitar.answers, opt);
  } catch (err) {
    errors['http'] = err instanceof Error ? (err.stack ?? err.message) : String(err);
    log(`http failed: ${errors['http']}`);
  }

  // --- 4. Build and memory, 10k and 100k -------------------------------------------------------
  const build: Probe[] = [];
  const seedTotal = seeded.ms.users + seeded.ms.groups + seeded.ms.policy;
  await seeded.store.close();
  storeOpen = false;
  w = undefined;
  try {
    log(`build probe: ${opt.users.toLocaleString('en-US')} users`);
    build.push({ ...(await probeBuild(seeded.database)), seedMs: seedTotal });
    log(`scale: generating and seeding ${opt.bigUsers.toLocaleString('en-US')} users`);
    const big = generateWorkload(defaultShape(opt.bigUsers, 0, now));
    const bigSeeded = await seed(big, join(scratch, 'authz-big.db'));
    const bigSeedMs = bigSeeded.ms.users + bigSeeded.ms.groups + bigSeeded.ms.policy;
    await bigSeeded.store.close();
    log(`  seeded in ${(bigSeedMs / 1000).toFixed(1)} s; build probe`);
    build.push({ ...(await probeBuild(bigSeeded.database)), seedMs: bigSeedMs });
  } catch (err) {
    errors['build'] = err instanceof Error ? (err.stack ?? err.message) : String(err);
    log(`build probe failed: ${errors['build']}`);
  }
  for (const b of build) log(`  ${b.users.toLocaleString('en-US')} users: build ${b.buildMs.toFixed(0)} ms, RSS ${b.rssAfterMiB.toFixed(0)} MiB (+${(b.rssAfterMiB - b.rssBeforeMiB).toFixed(0)})`);

  const report: Report = {
    date: new Date().toISOString(),
    command: process.env['npm_lifecycle_event'] === 'bench:authz' ? `npm run bench:authz${opt.quick ? ' -- --quick' : ''}` : `npx tsx bench/authz/run.ts ${process.argv.slice(2).join(' ')}`.trim(),
    ...(code ? { code } : {}),
    quick: opt.quick,
    minutes: (performance.now() - started) / 60_000,
    machine: { ...machine, loadAverageAfter: loadavg() },
    workload,
    seeding: { usersMs: seeded.ms.users, groupsMs: seeded.ms.groups, policyMs: seeded.ms.policy, snapshotMs, buildMs },
    inProcess,
    peers,
    ...(http ? { http } : {}),
    ...(reindex ? { reindex } : {}),
    build,
    notes,
    errors,
  };
  writeReport(opt.out, renderMarkdown(report), report);
}

async function startServers(database: string): Promise<{ real: ServerProcess; bare: ServerProcess }> {
  const cwd = process.cwd();
  const realPort = await freePort();
  const { server: real } = await startProcess({
    command: process.execPath,
    args: ['bin/scimitar.js', 'serve', '--port', String(realPort), '--host', '127.0.0.1', '--database', database],
    env: { SCIMITAR_LOG_LEVEL: 'warn' },
    cwd,
    port: realPort,
    readyTimeoutMs: 120_000,
  });
  cleanups.push(async () => void (await real.stop()));
  const barePort = await freePort();
  const { server: bare } = await startProcess({
    command: process.execPath,
    args: ['--import', 'tsx', 'bench/authz/bare-server.ts', String(barePort)],
    cwd,
    port: barePort,
    readyTimeoutMs: 60_000,
  });
  cleanups.push(async () => void (await bare.stop()));
  return { real, bare };
}

async function measureHttp(w: Workload, s: Seeded, answers: Uint8Array, opt: Options): Promise<NonNullable<Report['http']>> {
  const authz = (await issueToken(s.store, systemClock, s.tenantId, 'authz', 'bench authz')).token;
  const scimToken = (await issueToken(s.store, systemClock, s.tenantId, 'scim', 'bench scim')).token;
  log('http: starting the server and bare Fastify');
  const { real, bare } = await startServers(s.database);

  // Answers over HTTP, against the in-process ones.
  const verifyCount = Math.min(w.requests.length, 5000);
  let mismatched = 0;
  for (let from = 0; from < verifyCount; from += 1000) {
    const items: string[] = [];
    for (let i = from; i < Math.min(verifyCount, from + 1000); i++) items.push(evaluationBody(w, i));
    const res = await postJson(real.baseUrl, '/access/v1/evaluations', authz, `{"evaluations":[${items.join(',')}]}`);
    if (res.status !== 200) throw new Error(`POST /access/v1/evaluations → ${res.status}: ${res.text.slice(0, 500)}`);
    const decisions = (JSON.parse(res.text) as { evaluations: { decision: boolean }[] }).evaluations;
    decisions.forEach((d, k) => {
      if (d.decision !== (answers[from + k] === 1)) mismatched++;
    });
  }
  log(`http: ${verifyCount} answers checked, ${mismatched} differ from in-process`);

  const singleBodies = Array.from({ length: Math.min(2000, w.requests.length) }, (_, i) => evaluationBody(w, i));
  const batchSize = 1000;
  // Mixed: every item names its own subject (the mix as it is). Shared: one subject at the top and
  // 1,000 action/resource items, AuthZEN's usual shape ("what may this user do on these?").
  const mixedBodies: string[] = [];
  const sharedBodies: string[] = [];
  for (let b = 0; b < 10 && (b + 1) * batchSize <= w.requests.length; b++) {
    const items: string[] = [];
    const shared: string[] = [];
    for (let i = b * batchSize; i < (b + 1) * batchSize; i++) {
      const r = w.requests[i]!;
      items.push(evaluationBody(w, i));
      shared.push(`{"action":{"name":"${r.action}"},"resource":{"type":"${r.type}","id":"${r.id}"}}`);
    }
    mixedBodies.push(`{"evaluations":[${items.join(',')}]}`);
    const subject = w.users[w.requests[b * batchSize]!.user]!.userName;
    sharedBodies.push(`{"subject":{"type":"user","id":"${subject}"},"evaluations":[${shared.join(',')}]}`);
  }
  /**
   * One phase against both servers: a short warm-up each, then rounds that alternate between them
   * (Scimitar, bare, Scimitar, bare), so a change in the machine's background load falls on both.
   */
  const pair = async (title: string, path: string, bodies: readonly string[], connections: number): Promise<{ scimitar: HttpRun; bare: HttpRun }> => {
    const spec = (server: ServerProcess, seconds: number) => ({ title, baseUrl: server.baseUrl, path, token: authz, bodies, connections, seconds });
    const warm = Math.max(1, Math.round(opt.seconds / 5));
    await hammer(spec(real, warm));
    await hammer(spec(bare, warm));
    const ours: Stretch[] = [];
    const theirs: Stretch[] = [];
    const rounds = 2;
    for (let k = 0; k < rounds; k++) {
      ours.push(await hammer(spec(real, opt.seconds / rounds)));
      theirs.push(await hammer(spec(bare, opt.seconds / rounds)));
    }
    const scimitar = combine(`${title} scimitar`, connections, ours);
    const bareRun = combine(`${title} bare`, connections, theirs);
    log(
      `  ${title}: ${Math.round(scimitar.rps).toLocaleString('en-US')} vs ${Math.round(bareRun.rps).toLocaleString('en-US')} req/s, ` +
        `p99 ${scimitar.latency.p99.toFixed(2)} vs ${bareRun.latency.p99.toFixed(2)} ms${scimitar.other || scimitar.errors ? `, ${scimitar.other} non-200, ${scimitar.errors} errors` : ''}`,
    );
    return { scimitar, bare: bareRun };
  };
  const single: NonNullable<Report['http']>['single'][number][] = [];
  for (const connections of [1, 16, 64]) {
    single.push({ connections, ...(await pair(`evaluation ×${connections}`, '/access/v1/evaluation', singleBodies, connections)) });
  }
  const batch: NonNullable<Report['http']>['batch'][number][] = [];
  if (mixedBodies.length > 0) {
    for (const [subjects, bodies] of [['mixed', mixedBodies], ['shared', sharedBodies]] as const) {
      for (const connections of [1, 4]) {
        const result = await pair(`evaluations[${batchSize}] ${subjects} ×${connections}`, '/access/v1/evaluations', bodies, connections);
        batch.push({ connections, size: batchSize, subjects, ...result });
      }
    }
  }
  const serverRssMiB = real.rss().rssMiB;
  const bareRssMiB = readRss(bare.pid).rssMiB;

  log('http: SCIM PATCH → changed decision');
  const patchToDecision = await patchThenDecide(w, s, real.baseUrl, scimToken, authz, opt.patchIterations);
  log(`  median ${median(patchToDecision.totalMs).toFixed(2)} ms, ${patchToDecision.correct}/${patchToDecision.iterations} as expected`);
  // Stopping twice is harmless: the cleanups registered in `startServers` find them exited.
  await bare.stop();
  await real.stop();
  return { single, batch, verified: { checked: verifyCount, mismatches: mismatched }, serverRssMiB, bareRssMiB, patchToDecision };
}

/**
 * A user whose `read` on a report flips with the `directors` rule: active, not a director, and
 * not allowed now. Its title alternates between `Director` and its own; the evaluation after each
 * PATCH must follow.
 */
async function patchThenDecide(w: Workload, s: Seeded, baseUrl: string, scimToken: string, authzToken: string, iterations: number): Promise<PatchToDecision> {
  const index = TenantIndex.build(await s.store.snapshot(s.tenantId));
  const report = w.resources.find((r) => r.type === 'report')!;
  const at = new Date();
  const candidate = w.users.find((u) => {
    if (!u.active || u.title === 'Director') return false;
    const user = index.findUser('id', s.userIds[u.i]!);
    return user !== undefined && !isAllowed(index, { user, action: 'read', resource: report, now: at });
  });
  if (!candidate) throw new Error('no user to flip');
  const id = s.userIds[candidate.i]!;
  const scim = createClient(baseUrl, scimToken);
  const authz = createClient(baseUrl, authzToken);
  const evaluation = `{"subject":{"type":"user","id":"${candidate.userName}"},"action":{"name":"read"},"resource":{"type":"report","id":"${report.id}"}}`;
  const totalMs: number[] = [];
  const patchMs: number[] = [];
  const evaluationMs: number[] = [];
  let correct = 0;
  try {
    for (let i = 0; i < iterations; i++) {
      const director = i % 2 === 0;
      const body = JSON.stringify({
        schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
        Operations: [{ op: 'replace', path: 'title', value: director ? 'Director' : candidate.title }],
      });
      const t0 = performance.now();
      const patched = await scim.send('PATCH', `/scim/v2/Users/${id}`, body);
      const t1 = performance.now();
      const decided = await authz.send('POST', '/access/v1/evaluation', evaluation);
      const t2 = performance.now();
      if (patched.status !== 200) throw new Error(`PATCH → ${patched.status}: ${patched.body.slice(0, 300)}`);
      if (decided.status !== 200) throw new Error(`evaluation → ${decided.status}: ${decided.body.slice(0, 300)}`);
      if ((JSON.parse(decided.body) as { decision: boolean }).decision === director) correct++;
      totalMs.push(t2 - t0);
      patchMs.push(t1 - t0);
      evaluationMs.push(t2 - t1);
    }
  } finally {
    scim.close();
    authz.close();
  }
  return { iterations, correct, totalMs, patchMs, evaluationMs, user: candidate.userName, resource: report.key };
}

// A full GC between engines needs `gc`: start again with `--expose-gc` (tsx through `--import`).
if ((globalThis as { gc?: unknown }).gc === undefined && process.env['BENCH_AUTHZ_CHILD'] === undefined) {
  const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, BENCH_AUTHZ_CHILD: '1' },
  });
  process.once('SIGINT', () => child.kill('SIGINT'));
  const code = await new Promise<number>((resolve) => child.once('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0))));
  process.exit(code);
}

try {
  await main();
} catch (err) {
  log(`benchmark failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exitCode = 1;
} finally {
  await cleanUp();
}

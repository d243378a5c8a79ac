/**
 * SCIM benchmark: loads users and groups into the real server on SQLite (a file on disk) and on
 * PostgreSQL, measures the request mix from the issue, measures the same mix against a bare
 * Fastify server (the machine's ceiling) in the same run, and writes `bench/results/scim.md` and
 * `scim.json` beside it.
 *
 *   npm run bench:scim                                   # full: 100,000 users, ~15–20 min on 2 cores
 *   BENCH_USERS=10000 BENCH_SECONDS=5 npm run bench:scim # quick: a few minutes
 *
 * Every knob is in `config.ts`. Progress goes to stderr; the Markdown also goes to stdout.
 */
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { externalBenchPostgres, startBenchPostgres, type BenchPostgres } from '../pg-server.js';
import { loadBenchConfig } from './config.js';
import { log } from './load.js';
import { renderMarkdown, type Machine, type Report } from './report.js';
import { SampleRecorder } from './samples.js';
import { runSuite, type SuiteResult } from './suite.js';
import { startCeiling, startScimitar, type RunningSystem } from './systems.js';
import { codeVersion, commandLine, createCleanups, machineInfo, writeReport } from '../run-support.js';

const { cleanups, cleanUp } = createCleanups();



function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(0)} MiB`;
}

async function main(): Promise<void> {
  const cfg = loadBenchConfig();
  const cwd = process.cwd();
  if (!existsSync(join(cwd, 'bin/scimitar.js')) || !existsSync(join(cwd, 'dist/cli/main.js'))) {
    throw new Error('run from the repository root after `npm run build` (use `npm run bench:scim`)');
  }
  const started = performance.now();
  const code = codeVersion(cwd);
  const machine: Machine = { ...machineInfo() };
  const results: Record<string, SuiteResult> = {};
  const dataSize: Record<string, string> = {};
  const notes: string[] = [];
  const recorder = new SampleRecorder();
  let pgInfo: Pick<Machine, 'postgres' | 'postgresSettings'> = {};
  log(`${machine.cores} × ${machine.cpu}, Node ${machine.node}; ${cfg.users.toLocaleString('en-US')} users, stores: ${cfg.stores.join(', ')}`);

  const measureCeiling = async () => {
    if (!cfg.ceiling || results['ceiling']) return;
    const samples = recorder.complete();
    if (!samples) {
      notes.push(`The bare-Fastify ceiling was not measured: no real response was captured for ${recorder.missing().join(', ')}.`);
      return;
    }
    log('ceiling: starting bare Fastify');
    const ceiling = await startCeiling(samples, cwd);
    cleanups.push(() => ceiling.shutdown());
    results['ceiling'] = await runSuite(ceiling, cfg);
    await cleanups.pop()!();
  };

  for (const store of cfg.stores) {
    let database: string;
    let scratch: string | undefined;
    let pgs: BenchPostgres | undefined;
    if (store === 'sqlite') {
      scratch = mkdtempSync(join(tmpdir(), 'scimitar-bench-'));
      if (!cfg.keep) cleanups.push(async () => rmSync(scratch!, { recursive: true, force: true }));
      database = `sqlite:${join(scratch, 'bench.db')}`;
    } else {
      log(cfg.pgUrl ? 'postgres: using BENCH_PG_URL' : 'postgres: starting a throwaway PostgreSQL server');
      pgs = cfg.pgUrl ? await externalBenchPostgres(cfg.pgUrl) : await startBenchPostgres({ keep: cfg.keep });
      cleanups.push(() => pgs!.stop());
      pgInfo = { postgres: pgs.version, postgresSettings: pgs.settings };
      database = await pgs.createDatabase('scimitar_bench');
    }

    log(`${store}: starting the server on ${database}`);
    let sys: RunningSystem;
    try {
      sys = await startScimitar(store, database, cwd);
    } catch (err) {
      notes.push(`${store}: the server did not start: ${err instanceof Error ? err.message : String(err)}`);
      log(`${store}: the server did not start: ${String(err)}`);
      if (pgs) await cleanups.pop()!();
      continue;
    }
    cleanups.push(() => sys.shutdown());
    log(`${store}: serving after ${sys.firstReadyMs.toFixed(0)} ms (pid ${sys.pid})`);
    results[store] = await runSuite(sys, cfg, recorder);

    if (store === 'postgres' && pgs) {
      const client = new pg.Client({ connectionString: database });
      await client.connect();
      const size = await client.query<{ size: string }>('select pg_database_size(current_database())::text as size');
      await client.end();
      dataSize['postgres'] = mib(Number(size.rows[0]!.size));
    }
    await cleanups.pop()!(); // the server
    if (scratch) {
      const file = join(scratch, 'bench.db');
      const bytes = ['', '-wal', '-shm'].reduce((sum, ext) => sum + (existsSync(file + ext) ? statSync(file + ext).size : 0), 0);
      dataSize['sqlite'] = `${mib(bytes)} (file + WAL)`;
      if (cfg.keep) notes.push(`SQLite database kept at ${file}.`);
    }
    if (!scratch || !cfg.keep) await cleanups.pop()!(); // the database
    // The ceiling runs after the first store, so it replays that store's real responses.
    await measureCeiling();
  }

  const report: Report = {
    date: new Date().toISOString(),
    command: commandLine('scim', cfg.setVariables),
    ...(code ? { code } : {}),
    config: cfg,
    machine: { ...machine, ...pgInfo, loadAverageAfter: loadavg() },
    minutes: (performance.now() - started) / 60_000,
    results,
    dataSize,
    sampleSizes: recorder.sizes(),
    notes,
  };
  writeReport(cfg.out, renderMarkdown(report), report);
}

try {
  await main();
} catch (err) {
  log(`benchmark failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exitCode = 1;
} finally {
  await cleanUp();
}

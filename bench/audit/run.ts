/**
 * Audit-trail benchmark: what the hash-chained change log and its outbox add to a SCIM write (the
 * current build next to the build before the audit trail, as real server processes, interleaved
 * rounds), how far the deriver lags, how fast a chain verifies (in process and `scimitar audit
 * verify`), and what a time-travel check (`?at=`) costs at 1,000,000 entries next to a check at
 * the current time. Writes `bench/results/audit.md` and `audit.json` beside it.
 *
 *   npm run bench:audit                                                        # full, ~21 min on 2 cores
 *   BENCH_ENTRIES=100000 BENCH_SECONDS=4 BENCH_STORES=sqlite npm run bench:audit  # quick, a few minutes
 *
 * Every knob is in `config.ts`. Progress goes to stderr; the Markdown also goes to stdout.
 */
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { systemClock } from '../../src/core/clock.js';
import { checkpoint } from '../../src/service/audit-admin.js';
import { issueToken } from '../../src/service/tokens.js';
import { externalBenchPostgres, startBenchPostgres, type BenchPostgres } from '../pg-server.js';
import { log } from '../scim/load.js';
import { startScimitar } from '../scim/systems.js';
import { prepareBaseline } from './baseline.js';
import { loadAuditBenchConfig, type AuditBenchConfig } from './config.js';
import { createHistoryTenant } from './history-seed.js';
import { measureCliVerify, measureDerive, measureTimeTravelHttp, measureTimeTravelInProcess, measureVerify, type VerifySpeed } from './history-measure.js';
import { renderMarkdown, type HistoryReport, type Report } from './report.js';
import { measureWriteOverhead, type BuildUnderTest, type WriteDatabases, type WriteStoreResult } from './write-overhead.js';
import { codeVersion, commandLine, createCleanups, machineInfo, writeReport } from '../run-support.js';

const { cleanups, cleanUp } = createCleanups();



function message(err: unknown): string {
  return err instanceof Error ? (err.stack ?? err.message) : String(err);
}

async function main(): Promise<void> {
  const cfg = loadAuditBenchConfig();
  const cwd = process.cwd();
  if (!existsSync(join(cwd, 'bin/scimitar.js')) || !existsSync(join(cwd, 'dist/cli/main.js'))) {
    throw new Error('run from the repository root after `npm run build` (use `npm run bench:audit`)');
  }
  const started = performance.now();
  const code = codeVersion() ?? 'unknown';
  const machine = machineInfo();
  const notes: string[] = [];
  const errors: Record<string, string> = {};
  const scratch = mkdtempSync(join(tmpdir(), 'scimitar-bench-audit-'));
  if (cfg.keep) notes.push(`Databases kept in ${scratch}.`);
  else cleanups.push(() => rmSync(scratch, { recursive: true, force: true }));
  // One audit key for every server and CLI this run starts (the servers inherit the environment),
  // so this process can open their databases too; PostgreSQL would otherwise keep it in ./data.
  const keyFile = join(scratch, 'audit-key.pem');
  process.env['SCIMITAR_AUDIT_KEY_FILE'] = keyFile;
  log(`${machine.cores} × ${machine.cpu}, Node ${machine.node}, load ${machine.loadAverageBefore.map((l) => l.toFixed(2)).join(' ')}; code ${code}`);

  // --- 1. Write overhead ---------------------------------------------------------------------
  const write: WriteStoreResult[] = [];
  let baselineInfo: Report['baseline'];
  let postgres: Report['postgres'];
  if (cfg.parts.includes('write')) {
    try {
      const baseline = await prepareBaseline(cwd, cfg.baseline, cfg.keep);
      cleanups.push(() => baseline.remove());
      baselineInfo = { commit: baseline.commit, subject: baseline.subject, buildMs: baseline.buildMs, reused: baseline.reused };
      const builds: [BuildUnderTest, BuildUnderTest] = [
        { name: 'audit', cwd, label: `current (${code})` },
        { name: 'baseline', cwd: baseline.dir, label: `${baseline.commit.slice(0, 7)} (before the audit trail)` },
      ];
      let pgs: BenchPostgres | undefined;
      for (const store of cfg.stores) {
        let databases: WriteDatabases;
        if (store === 'sqlite') {
          databases = { store, create: async (build) => `sqlite:${join(scratch, `write-${build}.db`)}` };
        } else {
          if (!pgs) {
            log(cfg.pgUrl ? 'postgres: using BENCH_PG_URL' : 'postgres: starting a throwaway PostgreSQL server');
            try {
              pgs = cfg.pgUrl ? await externalBenchPostgres(cfg.pgUrl) : await startBenchPostgres({ keep: cfg.keep });
            } catch (err) {
              errors['postgres'] = message(err);
              log(`postgres: not measured: ${errors['postgres']}`);
              continue;
            }
            const started = pgs;
            cleanups.push(() => started.stop());
            postgres = { version: pgs.version, settings: pgs.settings };
          }
          const server = pgs;
          databases = { store, create: (build) => server.createDatabase(`scimitar_audit_${build}`) };
        }
        try {
          write.push(await measureWriteOverhead(cfg, builds, databases, cwd, keyFile));
        } catch (err) {
          errors[`write/${store}`] = message(err);
          log(`write/${store} FAILED: ${errors[`write/${store}`]}`);
        }
      }
    } catch (err) {
      errors['write'] = message(err);
      log(`write FAILED: ${errors['write']}`);
    }
  }

  // --- 2, 3. Verify and time travel ------------------------------------------------------------
  let history: HistoryReport | undefined;
  if (cfg.parts.includes('history')) {
    try {
      history = await measureHistory(cfg, scratch, keyFile, cwd);
    } catch (err) {
      errors['history'] = message(err);
      log(`history FAILED: ${errors['history']}`);
    }
  }

  const report: Report = {
    date: new Date().toISOString(),
    command: commandLine('audit', cfg.setVariables),
    code,
    ...(baselineInfo ? { baseline: baselineInfo } : {}),
    config: cfg,
    machine: { ...machine, loadAverageAfter: loadavg() },
    ...(postgres ? { postgres } : {}),
    minutes: (performance.now() - started) / 60_000,
    write,
    ...(history ? { history } : {}),
    notes,
    errors,
  };
  writeReport(cfg.out, renderMarkdown(report), report);
}

async function measureHistory(cfg: AuditBenchConfig, scratch: string, keyFile: string, cwd: string): Promise<HistoryReport> {
  const file = join(scratch, 'history.db');
  log(`history: ${cfg.historyUsers.toLocaleString('en-US')} users, ${cfg.historyGroups} groups, ${cfg.entries.toLocaleString('en-US')} entries, one every ${cfg.stepSeconds} s of simulated time`);
  const t = await createHistoryTenant({
    file,
    keyFile,
    users: cfg.historyUsers,
    groups: cfg.historyGroups,
    plannedEntries: cfg.entries,
    stepMs: cfg.stepSeconds * 1000,
    requests: 2000,
  });
  let open = true;
  cleanups.push(async () => {
    if (open) await t.store.close();
  });
  const fromMs = t.clock.last;
  const setupRevision = t.revision();
  const verify: VerifySpeed[] = [];
  const seedMs: number[] = [];
  const first = Math.min(100_000, cfg.entries);
  seedMs.push(await t.grow(first));
  log(`history: verify at ${t.revision().toLocaleString('en-US')} entries`);
  verify.push(await measureVerify(t.store, t.tenantId));
  if (cfg.entries > first) {
    seedMs.push(await t.grow(cfg.entries));
    // One signed head, so the walk checks a signature too, as it would on a server's log.
    await checkpoint(t.store, t.tenantId, systemClock);
    log(`history: verify at ${t.revision().toLocaleString('en-US')} entries`);
    verify.push(await measureVerify(t.store, t.tenantId));
  }
  const toMs = t.clock.last;
  log('history: `scimitar audit verify` (CLI)');
  const cli = await measureCliVerify(cwd, t.database);
  log(`  ${(cli.ms / 1000).toFixed(1)} s: ${cli.output}`);
  log('history: deriving access changes and snapshots of the whole log');
  const derive = await measureDerive(t.store, t.tenantId);
  log(`  ${derive.entries.toLocaleString('en-US')} entries in ${(derive.ms / 1000).toFixed(1)} s (${Math.round(derive.entriesPerSecond).toLocaleString('en-US')}/s)`);

  log(`history: time travel in process, ${cfg.atSamples} samples a series`);
  const inProcess = await measureTimeTravelInProcess(t, fromMs, toMs, cfg.atSamples);

  let http: HistoryReport['http'];
  try {
    const token = (await issueToken(t.store, systemClock, t.tenantId, 'authz', 'bench audit')).token;
    log('history: starting the server on the long log');
    const sys = await startScimitar('history', t.database, cwd);
    cleanups.push(() => sys.shutdown());
    http = { readyMs: sys.firstReadyMs, ...(await measureTimeTravelHttp(t, sys, token, fromMs, toMs, cfg.atSeconds, cfg.phaseMaxSeconds)) };
    await cleanups.pop()!();
  } catch (err) {
    log(`history: HTTP FAILED: ${message(err)}`);
    http = { error: message(err) };
  }
  await t.store.close();
  open = false;
  const bytes = ['', '-wal', '-shm'].reduce((sum, ext) => sum + (existsSync(file + ext) ? statSync(file + ext).size : 0), 0);
  return {
    entries: t.revision(),
    setupRevision,
    users: t.userIds.length,
    groups: t.groupIds.length,
    setupMs: t.setupMs,
    seedMs: seedMs.reduce((a, b) => a + b, 0),
    databaseMiB: bytes / 2 ** 20,
    span: inProcess.span,
    verify,
    cli,
    derive,
    inProcess: inProcess.series,
    http,
  };
}

try {
  await main();
} catch (err) {
  log(`benchmark failed: ${message(err)}`);
  process.exitCode = 1;
} finally {
  await cleanUp();
}

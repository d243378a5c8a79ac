import Database from 'better-sqlite3';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem, type as osType } from 'node:os';
import { dirname } from 'node:path';
import { log } from './scim/load.js';

/**
 * What every benchmark runner undoes when it ends or is interrupted (servers, scratch folders,
 * worktrees), newest first; Ctrl-C stops the servers before the process exits.
 */
export function createCleanups() {
  const cleanups: (() => Promise<void> | void)[] = [];
  async function cleanUp(): Promise<void> {
    while (cleanups.length) {
      try {
        await cleanups.pop()!();
      } catch (err) {
        log(`cleanup failed: ${String(err)}`);
      }
    }
  }
  process.once('SIGINT', () => {
    log('interrupted: stopping the servers');
    void cleanUp().finally(() => process.exit(130));
  });
  return { cleanups, cleanUp };
}

/** The command that reproduces a run, for its report: the settings given, then the npm script (or tsx). */
export function commandLine(script: string, setVariables: Readonly<Record<string, string>>): string {
  const vars = Object.entries(setVariables).map(([k, v]) => `${k}=${v}`);
  const cmd = process.env['npm_lifecycle_event'] === `bench:${script}` ? `npm run bench:${script}` : `npx tsx bench/${script}/run.ts`;
  return [...vars, cmd].join(' ');
}

/** The machine a run measured on, as every report states it. */
export interface MachineInfo {
  readonly cpu: string;
  readonly cores: number;
  readonly mhz: number;
  readonly memoryGiB: number;
  readonly os: string;
  readonly node: string;
  readonly sqlite: string;
  readonly loadAverageBefore: readonly number[];
  readonly loadAverageAfter?: readonly number[];
}

export function machineInfo(): MachineInfo {
  const cpu = cpus();
  const memory = new Database(':memory:');
  const sqlite = (memory.prepare('select sqlite_version() as v').get() as { v: string }).v;
  memory.close();
  return {
    cpu: cpu[0]?.model.trim() ?? 'unknown',
    cores: cpu.length,
    mhz: cpu[0]?.speed ?? 0,
    memoryGiB: totalmem() / 2 ** 30,
    os: `${osType()} ${release()}`,
    node: process.version,
    sqlite,
    loadAverageBefore: loadavg(),
  };
}

/** HEAD, marked `+dirty` when `src/` differs from it (the build measured is what is on disk); undefined outside git. */
export function codeVersion(cwd: string = process.cwd()): string | undefined {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd, encoding: 'utf8' }).trim() !== '';
    return `${head}${dirty ? '+dirty' : ''}`;
  } catch {
    return undefined;
  }
}

/** Writes the Markdown result to `out` and the JSON beside it (`x.md` → `x.json`), and prints the Markdown. */
export function writeReport(out: string, markdown: string, report: { readonly minutes: number }): void {
  const json = `${out.replace(/\.md$/, '')}.json`;
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, markdown);
  writeFileSync(json, `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(markdown);
  log(`wrote ${out} and ${json} in ${report.minutes.toFixed(1)} min`);
}

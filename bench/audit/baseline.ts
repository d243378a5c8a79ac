import { execFile as execFileCallback } from 'node:child_process';
import { existsSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { log } from '../scim/load.js';

const execFile = promisify(execFileCallback);

/** The build before the audit trail, checked out in a temporary `git worktree` and compiled there. */
export interface BaselineBuild {
  /** The worktree: run `bin/scimitar.js` with this as the working directory. */
  readonly dir: string;
  /** The full commit hash. */
  readonly commit: string;
  readonly subject: string;
  /** Milliseconds `tsc` took; 0 when a kept worktree was reused. */
  readonly buildMs: number;
  readonly reused: boolean;
  /** `git worktree remove --force` (and the directory), unless the run keeps it. */
  remove(): Promise<void>;
}

const git = async (cwd: string, ...args: string[]) => (await execFile('git', args, { cwd, maxBuffer: 1 << 24 })).stdout.trim();

/**
 * Checks `commit` out into `<tmp>/scimitar-bench-baseline-<commit>` with `git worktree add --detach`
 * (the main checkout, its index and its branches are untouched), links the repository's
 * `node_modules` into it and builds it the way its own `build` script does (`tsc -p
 * tsconfig.build.json`). A worktree left by a run with `BENCH_KEEP=1` that is already built at that
 * commit is reused.
 */
export async function prepareBaseline(repo: string, commit: string, keep: boolean): Promise<BaselineBuild> {
  const full = await git(repo, 'rev-parse', '--verify', `${commit}^{commit}`);
  const subject = await git(repo, 'log', '-1', '--format=%s', full);
  const dir = join(tmpdir(), `scimitar-bench-baseline-${full.slice(0, 12)}`);
  const remove = async () => {
    if (keep) return;
    await git(repo, 'worktree', 'remove', '--force', dir).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
    await git(repo, 'worktree', 'prune').catch(() => undefined);
  };
  const built = existsSync(join(dir, 'dist/cli/main.js')) && (await git(dir, 'rev-parse', 'HEAD').catch(() => '')) === full;
  if (built) {
    log(`baseline: reusing the built worktree ${dir} (${full.slice(0, 7)})`);
    return { dir, commit: full, subject, buildMs: 0, reused: true, remove };
  }
  if (existsSync(dir)) {
    await git(repo, 'worktree', 'remove', '--force', dir).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
    await git(repo, 'worktree', 'prune');
  }
  log(`baseline: git worktree add ${dir} ${full.slice(0, 7)} (${subject})`);
  await git(repo, 'worktree', 'add', '--detach', dir, full);
  symlinkSync(join(repo, 'node_modules'), join(dir, 'node_modules'), 'dir');
  const started = performance.now();
  await execFile(process.execPath, [join(repo, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: dir, maxBuffer: 1 << 24 });
  const buildMs = performance.now() - started;
  log(`baseline: built in ${(buildMs / 1000).toFixed(1)} s`);
  return { dir, commit: full, subject, buildMs, reused: false, remove };
}

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

import { isAppError } from '../core/errors.js';
import type { Runtime } from '../main.js';

/** Runs a one-shot command: closes the database afterwards, and turns errors into a message and exit code 1. */
export async function withRuntime(opening: Promise<Runtime>, fn: (runtime: Runtime) => Promise<void>): Promise<void> {
  let runtime: Runtime | undefined;
  try {
    runtime = await opening;
    await fn(runtime);
  } catch (err) {
    process.stderr.write(`error: ${isAppError(err) ? err.detail : (err as Error).message}\n`);
    process.exitCode = 1;
  } finally {
    await runtime?.store.close();
  }
}

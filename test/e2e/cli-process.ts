import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';

/**
 * The CLI as a user runs it: `node bin/scimitar.js …` over the built `dist/` (npm test builds
 * first). Shared by every suite that runs the command or a server process.
 */
export const BIN = join(import.meta.dirname, '..', '..', 'bin', 'scimitar.js');

export function cli(args: readonly string[], env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    env: { ...process.env, SCIMITAR_LOG_LEVEL: 'silent', ...env },
    timeout: 60_000,
    maxBuffer: 256 * 1024 * 1024,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

export function lastLine(text: string): string {
  return text.trimEnd().split('\n').at(-1) ?? '';
}

export interface Served {
  readonly url: string;
  readonly stdout: string;
  readonly pid: number;
  stop(signal: NodeJS.Signals): Promise<number | null>;
}

/** Starts `serve` on a free port and resolves once it says where it listens. */
export function serve(database: string, env: Record<string, string> = {}): Promise<Served> {
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--database', database], {
    env: { ...process.env, SCIMITAR_LOG_LEVEL: 'silent', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${stdout}`)), 20_000);
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = /listening on (http:\/\/\S+?) /.exec(stdout);
      if (match) {
        clearTimeout(timer);
        resolve({
          url: match[1]!,
          stdout,
          pid: child.pid!,
          stop: (signal) => {
            child.kill(signal);
            return exited;
          },
        });
      }
    });
    child.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${stdout}`)));
  });
}

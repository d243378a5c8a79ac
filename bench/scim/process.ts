import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { createClient } from './load.js';

/** Resident memory of a process, from `/proc/<pid>/status`, in MiB. */
export interface Rss {
  /** VmRSS: resident now. */
  readonly rssMiB: number;
  /** VmHWM: the peak resident size so far. */
  readonly peakMiB: number;
}

export function readRss(pid: number): Rss {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssMiB: kib('VmRSS') / 1024, peakMiB: kib('VmHWM') / 1024 };
}

/** A server process the benchmark started: HTTP on 127.0.0.1, stoppable, measurable. */
export interface ServerProcess {
  readonly pid: number;
  readonly baseUrl: string;
  /** Everything it printed on stdout so far. */
  stdout(): string;
  /** Its stderr so far (kept to the last 20,000 characters). */
  stderr(): string;
  rss(): Rss;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when it has exited. */
  stop(graceMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface StartOptions {
  readonly command: string;
  readonly args: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd: string;
  readonly port: number;
  /** Give up waiting for `GET /readyz` → 200 after this long. */
  readonly readyTimeoutMs: number;
}

/**
 * Spawns a server and resolves once `GET /readyz` answers 200, with the milliseconds from spawn to
 * that answer (the restart-to-serving time). Polls every 5 ms on a fresh connection each time.
 */
export async function startProcess(options: StartOptions): Promise<{ server: ServerProcess; readyMs: number }> {
  const started = performance.now();
  const child: ChildProcess = spawn(options.command, options.args, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => {
    out += s;
  });
  child.stderr!.setEncoding('utf8').on('data', (s: string) => {
    err = (err + s).slice(-20_000);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  let hasExited = false;
  void exited.then(() => {
    hasExited = true;
  });

  const baseUrl = `http://127.0.0.1:${options.port}`;
  const server: ServerProcess = {
    pid: child.pid!,
    baseUrl,
    stdout: () => out,
    stderr: () => err,
    rss: () => readRss(child.pid!),
    async stop(graceMs = 30_000) {
      if (hasExited) return exited;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const result = await exited;
      clearTimeout(timer);
      return result;
    },
  };

  const deadline = started + options.readyTimeoutMs;
  while (performance.now() < deadline) {
    if (hasExited) {
      throw new Error(`\`${options.args.join(' ')}\` exited before it was ready:\n${out}\n${err}`);
    }
    const client = createClient(baseUrl, '');
    try {
      const res = await client.send('GET', '/readyz', undefined, 2000);
      if (res.status === 200) return { server, readyMs: performance.now() - started };
    } catch {
      // not listening yet
    } finally {
      client.close();
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  await server.stop(2000);
  throw new Error(`\`${options.args.join(' ')}\` was not ready within ${options.readyTimeoutMs} ms:\n${out}\n${err}`);
}

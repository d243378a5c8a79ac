import { execFile as execFileCallback } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { log } from './load.js';
import { freePort } from '../../test/setup/pg-server.js';
import { startProcess, type ServerProcess } from './process.js';
import { summariseProfile } from './profile.js';
import type { Samples } from './samples.js';
import type { System } from './suite.js';

const execFile = promisify(execFileCallback);
const READY_TIMEOUT_MS = 120_000;

export interface RunningSystem extends System {
  /** Milliseconds from spawn to the first `/readyz` 200 on the empty database. */
  readonly firstReadyMs: number;
  readonly pid: number;
  shutdown(): Promise<void>;
}

/**
 * The real server as a child process: `node bin/scimitar.js serve` on a free port, the SCIM token
 * taken from what it prints on first start (or issued by `token create` if it printed none).
 */
export async function startScimitar(name: string, database: string, cwd: string): Promise<RunningSystem> {
  const port = await freePort();
  const serveArgs = ['bin/scimitar.js', 'serve', '--port', String(port), '--host', '127.0.0.1', '--database', database];
  const env = { SCIMITAR_LOG_LEVEL: 'warn' };
  const spawnServer = (nodeArgs: readonly string[] = []) =>
    startProcess({ command: process.execPath, args: [...nodeArgs, ...serveArgs], env, cwd, port, readyTimeoutMs: READY_TIMEOUT_MS });

  let { server, readyMs } = await spawnServer();
  const firstReadyMs = readyMs;
  let token = /SCIM token[^:]*:\s+(\S+)/.exec(server.stdout())?.[1];
  if (!token) {
    const { stdout } = await execFile(
      process.execPath,
      ['bin/scimitar.js', 'token', 'create', '--tenant', 'default', '--scope', 'scim', '--name', 'bench', '--database', database],
      { cwd, env: { ...process.env, ...env } },
    );
    token = stdout.trim().split('\n').pop();
  }
  if (!token) throw new Error(`no SCIM token: serve printed\n${server.stdout()}`);

  const stopServer = async (s: ServerProcess) => {
    const { code, signal } = await s.stop();
    if (code !== 0) log(`${name}: server exited with ${code ?? signal}; stderr:\n${s.stderr().slice(-3000)}`);
  };

  return {
    name,
    real: true,
    baseUrl: `http://127.0.0.1:${port}`,
    token,
    firstReadyMs,
    get pid() {
      return server.pid;
    },
    rss: () => server.rss(),
    async restart() {
      await stopServer(server);
      ({ server, readyMs } = await spawnServer());
      return readyMs;
    },
    async profile(during) {
      const dir = mkdtempSync(join(tmpdir(), 'scimitar-bench-prof-'));
      await stopServer(server);
      ({ server } = await spawnServer(['--cpu-prof', '--cpu-prof-dir', dir]));
      const fromUs = Number(process.hrtime.bigint() / 1000n);
      let toUs = fromUs;
      try {
        await during();
        toUs = Number(process.hrtime.bigint() / 1000n);
      } finally {
        await stopServer(server);
        ({ server } = await spawnServer());
      }
      try {
        const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
        if (!file) throw new Error(`the profiled server wrote no .cpuprofile into ${dir}`);
        return summariseProfile(join(dir, file), { fromUs, toUs });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    shutdown: () => stopServer(server),
  };
}

/** The bare-Fastify ceiling (`ceiling-server.ts`) as a child process serving `samples`. */
export async function startCeiling(samples: Samples, cwd: string): Promise<RunningSystem> {
  const dir = mkdtempSync(join(tmpdir(), 'scimitar-bench-ceiling-'));
  const samplesPath = join(dir, 'samples.json');
  writeFileSync(samplesPath, JSON.stringify(samples));
  const port = await freePort();
  const spawnServer = () =>
    startProcess({
      command: process.execPath,
      args: ['--import', 'tsx', 'bench/scim/ceiling-server.ts', samplesPath, String(port)],
      cwd,
      port,
      readyTimeoutMs: READY_TIMEOUT_MS,
    });
  let { server, readyMs } = await spawnServer();
  const firstReadyMs = readyMs;
  return {
    name: 'ceiling',
    real: false,
    baseUrl: `http://127.0.0.1:${port}`,
    token: 'none',
    firstReadyMs,
    get pid() {
      return server.pid;
    },
    rss: () => server.rss(),
    async restart() {
      await server.stop();
      ({ server, readyMs } = await spawnServer());
      return readyMs;
    },
    async shutdown() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

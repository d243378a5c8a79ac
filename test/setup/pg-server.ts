import { execFile as execFileCallback, execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chown, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFile = promisify(execFileCallback);

/**
 * A throwaway PostgreSQL server in a folder of its own, for the test run and the benchmarks: `initdb`,
 * 127.0.0.1 on a free port, the unix socket in the folder. PostgreSQL refuses to run as root, so under
 * root every server program runs as the `postgres` user.
 */
export interface PgServer {
  /** `postgres://postgres@127.0.0.1:<port>/postgres` (the maintenance database). */
  readonly adminUrl: string;
  stop(): Promise<void>;
}

export interface PgServerOptions {
  readonly bindir: string;
  /** An empty folder for the cluster, its log and socket; removed by `stop` unless `keep`. */
  readonly dir: string;
  /** `name=value` server settings besides the listen address, e.g. `fsync=off`. */
  readonly settings: readonly string[];
  /** Extra `initdb` flags (`--no-sync` for a test server). */
  readonly initdbFlags?: readonly string[];
  /** Runs after `initdb`, before the server starts (the test setup records its owner there). */
  readonly afterInit?: () => void;
  readonly stopMode?: 'fast' | 'immediate';
  readonly keep?: boolean;
}

/** The server binaries: Debian's PostgreSQL 15, else `pg_config --bindir`, else the newest installed. */
export function findPgBinDir(): string | undefined {
  const preferred = '/usr/lib/postgresql/15/bin';
  if (existsSync(join(preferred, 'initdb'))) return preferred;
  try {
    const dir = execFileSync('pg_config', ['--bindir'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    if (dir && existsSync(join(dir, 'initdb'))) return dir;
  } catch {
    // no pg_config on PATH
  }
  try {
    const versions = readdirSync('/usr/lib/postgresql')
      .filter((v) => /^\d+$/.test(v) && existsSync(`/usr/lib/postgresql/${v}/bin/initdb`))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0]) return `/usr/lib/postgresql/${versions[0]}/bin`;
  } catch {
    // no /usr/lib/postgresql
  }
  return undefined;
}

export function pgCommand(bindir: string, program: string, args: readonly string[]): [string, string[]] {
  return process.getuid?.() === 0
    ? ['runuser', ['-u', 'postgres', '--', join(bindir, program), ...args]]
    : [join(bindir, program), [...args]];
}

export async function startPgServer(options: PgServerOptions): Promise<PgServer> {
  const { bindir, dir } = options;
  const data = join(dir, 'data');
  const log = join(dir, 'server.log');
  const run = (program: string, args: readonly string[]) => {
    const [file, argv] = pgCommand(bindir, program, args);
    return execFile(file, argv, { cwd: dir, timeout: 120_000 });
  };
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await run('pg_ctl', ['-D', data, '-m', options.stopMode ?? 'fast', '-w', '-t', '60', 'stop']).catch(() => undefined);
    if (!options.keep) await rm(dir, { recursive: true, force: true });
  };

  try {
    if (process.getuid?.() === 0) {
      const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
      const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
      await chown(dir, uid, gid);
    }
    await run('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--locale=C.UTF-8', ...(options.initdbFlags ?? [])]);
    options.afterInit?.();
    let lastError: unknown;
    for (let attempt = 0; attempt < 3; attempt++) {
      const port = await freePort();
      const settings = ['listen_addresses=127.0.0.1', `port=${port}`, `unix_socket_directories=${dir}`, ...options.settings];
      try {
        await run('pg_ctl', ['-D', data, '-l', log, '-w', '-t', '60', '-o', settings.map((s) => `-c ${s}`).join(' '), 'start']);
      } catch (err) {
        lastError = err;
        continue; // most likely the port was taken between probing and binding
      }
      return { adminUrl: `postgres://postgres@127.0.0.1:${port}/postgres`, stop };
    }
    const serverLog = await readFile(log, 'utf8').catch(() => '');
    throw new Error(`could not start PostgreSQL: ${String(lastError)}\n${serverLog}`);
  } catch (err) {
    await stop();
    throw err;
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

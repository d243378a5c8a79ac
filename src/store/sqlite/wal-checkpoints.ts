import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type BetterSqlite3 from 'better-sqlite3';

/** How often the worker folds the WAL back into the database file. */
const INTERVAL_MS = 100;
/**
 * The write connection still checkpoints by itself past this many WAL pages (~40 MB), so the WAL
 * stays bounded if the worker ever falls behind; SQLite's default is 1,000.
 */
const SAFETY_PAGES = 10_000;

/**
 * The worker's whole program. It is source text rather than a module of its own because the tests
 * run the TypeScript sources, and a worker cannot load a `.ts` file: the few lines here only open a
 * connection and checkpoint on a timer.
 */
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path);
db.pragma('busy_timeout = 5000');
const timer = setInterval(() => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch (err) {
    if (err.code !== 'SQLITE_BUSY') throw err;
  }
}, workerData.intervalMs);
parentPort.once('message', () => {
  clearInterval(timer);
  db.close();
});
`;

export interface WalCheckpoints {
  /** Stops the worker and closes its connection; the caller closes its own connections after. */
  stop(): Promise<void>;
}

/**
 * Moves WAL checkpoints off the event loop. SQLite checkpoints inside whichever commit takes the
 * WAL past 1,000 pages, so one write in a few hundred paid for copying every page written since
 * (and for an fsync): on a busy server that was a third of the commit time, and the audit trail,
 * which writes more pages per change, made it more. A worker thread with its own connection runs
 * PASSIVE checkpoints instead, which never block writers; `conn`, the write connection, keeps a
 * higher limit of its own as a safety net, and returns to SQLite's default if the worker dies.
 */
export function startWalCheckpoints(path: string, conn: BetterSqlite3.Database): WalCheckpoints {
  conn.pragma(`wal_autocheckpoint = ${SAFETY_PAGES}`);
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(WORKER, { eval: true, workerData: { path, driver, intervalMs: INTERVAL_MS } });
  worker.unref();
  let stopping = false;
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  // A dead worker leaves checkpoints to the write connection, as they were without it.
  worker.on('error', () => {
    if (!stopping && conn.open) conn.pragma('wal_autocheckpoint = 1000');
  });
  return {
    async stop() {
      stopping = true;
      // Held until it has closed its connection, so the last connection to close can remove the WAL.
      worker.ref();
      worker.postMessage('stop');
      await exited;
    },
  };
}

import { pino, type Logger } from 'pino';
import { loadConfig, type Config } from './config/config.js';
import { systemClock, type Clock } from './core/clock.js';
import { ensureDefaultTenant } from './service/tenants.js';
import { openStore } from './store/open-store.js';
import type { Store } from './store/store.js';

/**
 * The composition root: the only place that reads the environment and picks a storage backend.
 * Every command opens the database through here, so every command migrates it and makes sure the
 * `default` tenant exists.
 */
export interface Runtime {
  readonly config: Config;
  readonly store: Store;
  readonly clock: Clock;
  readonly logger: Logger;
  /** True when this call created the `default` tenant, i.e. the database was empty. */
  readonly fresh: boolean;
}

/** `server`: the process will serve for long (SQLite then checkpoints in the background). */
export async function openRuntime(overrides: Partial<Config> = {}, { server = false } = {}): Promise<Runtime> {
  const config = loadConfig(process.env, overrides);
  const logger = pino({ level: config.logLevel });
  const store = await openStore(config.database, {
    ...(config.auditKeyFile ? { auditKeyFile: config.auditKeyFile } : {}),
    backgroundCheckpoints: server,
  });
  const { created } = await ensureDefaultTenant(store);
  return { config, store, clock: systemClock, logger, fresh: created };
}

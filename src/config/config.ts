import { z } from 'zod';

/**
 * The one configuration schema. Each key has a default and an environment variable; `loadConfig`
 * is called once in the composition root and the result is passed down. Nothing else reads
 * `process.env`.
 */
const MiB = 1024 * 1024;

const ENV = {
  port: 'SCIMITAR_PORT',
  host: 'SCIMITAR_HOST',
  database: 'SCIMITAR_DATABASE',
  baseUrl: 'SCIMITAR_BASE_URL',
  logLevel: 'SCIMITAR_LOG_LEVEL',
  maxBodyBytes: 'SCIMITAR_MAX_BODY_BYTES',
  maxResults: 'SCIMITAR_MAX_RESULTS',
  defaultPageSize: 'SCIMITAR_DEFAULT_PAGE_SIZE',
  bulkMaxOperations: 'SCIMITAR_BULK_MAX_OPERATIONS',
  authzPollMs: 'SCIMITAR_AUTHZ_POLL_MS',
  auditKeyFile: 'SCIMITAR_AUDIT_KEY_FILE',
  auditCheckpointEvery: 'SCIMITAR_AUDIT_CHECKPOINT_EVERY',
  auditCheckpointIntervalMs: 'SCIMITAR_AUDIT_CHECKPOINT_INTERVAL_MS',
  auditRetentionDays: 'SCIMITAR_AUDIT_RETENTION_DAYS',
  webhookPollMs: 'SCIMITAR_WEBHOOK_POLL_MS',
  webhookMaxAttempts: 'SCIMITAR_WEBHOOK_MAX_ATTEMPTS',
  webhookRetryBaseMs: 'SCIMITAR_WEBHOOK_RETRY_BASE_MS',
  webhookTimeoutMs: 'SCIMITAR_WEBHOOK_TIMEOUT_MS',
  webhookRetentionDays: 'SCIMITAR_WEBHOOK_RETENTION_DAYS',
  webhookAllowPrivate: 'SCIMITAR_WEBHOOK_ALLOW_PRIVATE',
} as const;

export const configSchema = z.object({
  port: z.coerce.number().int().min(0).max(65535).default(8080),
  host: z.string().min(1).default('127.0.0.1'),
  database: z.string().min(1).default('sqlite:./data/scimitar.db'),
  /** Public base URL used in `Location`, `meta.location` and `$ref`; derived from the request when unset. */
  baseUrl: z.url().optional(),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Largest request body accepted (also the Bulk `maxPayloadSize`); larger bodies get 413. */
  maxBodyBytes: z.coerce.number().int().min(1024).default(4 * MiB),
  /** Largest page a list may return (`count` is clamped to it). */
  maxResults: z.coerce.number().int().min(1).max(10_000).default(1000),
  defaultPageSize: z.coerce.number().int().min(1).max(10_000).default(100),
  bulkMaxOperations: z.coerce.number().int().min(1).max(100_000).default(1000),
  /** How often the permission index looks for changes written by other nodes or processes; 0: never. */
  authzPollMs: z.coerce.number().int().min(0).max(3_600_000).default(1000),
  /**
   * The Ed25519 private key (PKCS#8 PEM) that chains the audit log and signs its checkpoints;
   * created when missing. Unset: beside a SQLite file (`<file>.audit-key.pem`), or
   * `./data/scimitar-audit-key.pem` for PostgreSQL.
   */
  auditKeyFile: z.string().min(1).optional(),
  /** Sign a checkpoint of a tenant's audit chain once its head is this many revisions past the last one. */
  auditCheckpointEvery: z.coerce.number().int().min(1).max(1_000_000).default(1000),
  /** Also sign, this often, a checkpoint of every tenant whose log moved since its last one; 0: never. */
  auditCheckpointIntervalMs: z.coerce.number().int().min(0).max(86_400_000).default(300_000),
  /** Seal (remove) audit entries older than this many days, once a day; 0 keeps them forever. */
  auditRetentionDays: z.coerce.number().int().min(0).max(36_500).default(0),
  /** How often webhook deliveries look for new events and due retries (writes wake them at once); also the SSE poll. */
  webhookPollMs: z.coerce.number().int().min(10).max(3_600_000).default(1000),
  /** A webhook delivery is given up (`dead`) after this many failed attempts. */
  webhookMaxAttempts: z.coerce.number().int().min(1).max(100).default(12),
  /** The wait after a delivery's first failure; it doubles with each further one (±20 %, at most 6 h). */
  webhookRetryBaseMs: z.coerce.number().int().min(1).max(3_600_000).default(10_000),
  /** How long one webhook attempt may take; also how long shutdown waits for attempts in flight. */
  webhookTimeoutMs: z.coerce.number().int().min(100).max(300_000).default(10_000),
  /** Webhook deliveries that ended (delivered or dead) are removed, with their attempt log, this many days later; 0 keeps them. */
  webhookRetentionDays: z.coerce.number().int().min(0).max(36_500).default(30),
  /**
   * Let webhooks go to loopback, private, link-local (cloud metadata) and reserved addresses: off,
   * so an admin token cannot aim the server at what only the server can reach. Turn it on for a
   * receiver inside your network.
   */
  webhookAllowPrivate: z.union([z.boolean(), z.stringbool()]).default(false),
});

export type Config = z.infer<typeof configSchema>;
export type ConfigKey = keyof typeof ENV;

/** Command-line flags win over the environment, which wins over defaults. */
export function loadConfig(env: Readonly<Record<string, string | undefined>>, overrides: Partial<Config> = {}): Config {
  const fromEnv: Record<string, string> = {};
  for (const [key, name] of Object.entries(ENV)) {
    const value = env[name];
    if (value !== undefined && value !== '') fromEnv[key] = value;
  }
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined));
  const parsed = configSchema.safeParse({ ...fromEnv, ...defined });
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => {
      const key = String(i.path[0] ?? '');
      const name = ENV[key as ConfigKey];
      return `${key}${name ? ` (${name})` : ''}: ${i.message}`;
    });
    throw new Error(`invalid configuration: ${issues.join('; ')}`);
  }
  return parsed.data;
}

export const CONFIG_ENV_NAMES: Readonly<Record<ConfigKey, string>> = ENV;

import { createPublicKey } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { VerifyResult } from '../audit/verify.js';
import { toInstant } from '../core/date-time.js';
import { openRuntime, type Runtime } from '../main.js';
import { checkpoint, exportEntries, planSeal, seal, verifyTenant } from '../service/audit-admin.js';
import { createHistory } from '../service/history.js';
import { DEFAULT_TENANT, requireTenant } from '../service/tenants.js';
import type { Tenant } from '../store/store.js';
import { databaseOption } from './options.js';
import { withRuntime } from './run.js';

interface TargetOptions {
  readonly database?: string;
  readonly auditKey?: string;
  /** Every tenant when absent, except for `export`. */
  readonly tenant?: string;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * `scimitar audit verify | export | checkpoint | seal`: the tamper-evident audit trail from a
 * shell (see docs/audit.md). Each opens the database with the audit key, so it needs the same key
 * file as the server (`--audit-key` or SCIMITAR_AUDIT_KEY_FILE when not the default).
 */
export function registerAudit(program: Command): void {
  const audit = program.command('audit').description('verify, export, checkpoint and seal the audit log');
  const target = (command: Command, tenant: string) =>
    command
      .option('--tenant <name>', tenant)
      .addOption(databaseOption())
      .addOption(new Option('--audit-key <file>', 'the audit key file (SCIMITAR_AUDIT_KEY_FILE; default beside the database)'));

  target(audit.command('verify'), 'tenant name (default: every tenant)')
    .description('check every entry and checkpoint; exit 1 naming the first bad revision if any tenant fails')
    .addOption(new Option('--public-key <file>', 'a public key (PEM) kept apart from the database: checkpoints must be signed with it').argParser(readPublicKey))
    .option('--json', 'print the results as JSON')
    .action((options: TargetOptions & { publicKey?: string; json?: boolean }) =>
      withAudit(options, async ({ store }, tenants) => {
        const results: (VerifyResult & { tenant: string })[] = [];
        for (const tenant of tenants) {
          const result = await verifyTenant(store, tenant.id, options.publicKey !== undefined ? { trustedPublicKey: options.publicKey } : {});
          results.push({ tenant: tenant.name, ...result });
          if (!options.json) process.stdout.write(`${verifyLine(tenant.name, result)}\n`);
        }
        if (options.json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
        if (results.some((r) => !r.ok)) process.exitCode = 1;
      }),
    );

  target(audit.command('export'), 'tenant name')
    .description('write the entries, with the access changes each caused, to stdout as JSON lines')
    .addOption(new Option('--since <time>', 'entries written at or after (ISO 8601 with a zone)').argParser(parseInstant))
    .addOption(new Option('--until <time>', 'entries written before (ISO 8601 with a zone)').argParser(parseInstant))
    .action((options: TargetOptions & { since?: string; until?: string }) =>
      withRuntime(openAudit(options), async ({ store }) => {
        const tenant = await requireTenant(store, options.tenant ?? DEFAULT_TENANT);
        const filters = { ...(options.since ? { since: options.since } : {}), ...(options.until ? { until: options.until } : {}) };
        await writeLines(exportEntries(store, tenant.id, filters));
      }),
    );

  target(audit.command('checkpoint'), 'tenant name (default: every tenant)')
    .description('sign the head of the log now, unless a checkpoint already covers it')
    .action((options: TargetOptions) =>
      withAudit(options, async ({ store, clock }, tenants) => {
        for (const tenant of tenants) {
          const signed = await checkpoint(store, tenant.id, clock);
          process.stdout.write(
            signed ? `${tenant.name}: signed checkpoint at revision ${signed.revision}\n` : `${tenant.name}: already covered by a checkpoint\n`,
          );
        }
      }),
    );

  target(audit.command('seal'), 'tenant name (default: every tenant)')
    .description('remove the entries written before a time, keeping a signed seal in their place (shows the plan without --yes)')
    .addOption(new Option('--before <time>', 'ISO 8601 with a zone, or `<n>d` for n days ago').argParser(parseHorizon).makeOptionMandatory())
    .option('--yes', 'really remove the entries', false)
    .action((options: TargetOptions & { before: (now: Date) => Date; yes: boolean }) =>
      withAudit(options, async ({ store, clock }, tenants) => {
        const before = options.before(clock.now());
        const history = createHistory({ store });
        let planned = false;
        for (const tenant of tenants) {
          // A server may not have run since the last writes: their access changes are derived first.
          await history.derive(tenant.id);
          const plan = options.yes ? await seal(store, history, tenant.id, before, clock) : await planSeal(store, tenant.id, before);
          const verb = options.yes ? 'sealed' : 'would seal';
          planned ||= plan !== undefined;
          process.stdout.write(
            plan
              ? `${tenant.name}: ${verb} up to revision ${plan.revision} (${plan.entries} entries)\n`
              : `${tenant.name}: nothing written before ${before.toISOString()} is left\n`,
          );
        }
        if (planned && !options.yes) process.stdout.write('run again with --yes to remove them\n');
      }),
    );
}

function openAudit(options: TargetOptions): Promise<Runtime> {
  return openRuntime({ database: options.database, auditKeyFile: options.auditKey });
}

/** Runs `fn` on the tenant named, or on every tenant. */
function withAudit(options: TargetOptions, fn: (runtime: Runtime, tenants: readonly Tenant[]) => Promise<void>): Promise<void> {
  return withRuntime(openAudit(options), async (runtime) => {
    const { store } = runtime;
    await fn(runtime, options.tenant !== undefined ? [await requireTenant(store, options.tenant)] : await store.tenants.list());
  });
}

/** `ok default: 1042 entries, 2 checkpoints, up to revision 1042` or `FAIL default: revision 7 (missing): …`. */
function verifyLine(tenant: string, r: VerifyResult): string {
  if (r.firstBad) return `FAIL ${tenant}: revision ${r.firstBad.revision} (${r.firstBad.problem}): ${r.firstBad.detail}`;
  const seal = r.seal ? `, after the seal at revision ${r.seal.revision} of ${r.seal.at}` : '';
  return `ok   ${tenant}: ${r.entries} entries, ${r.checkpoints} checkpoints, up to revision ${r.lastRevision}${seal}`;
}

/** Writes as fast as stdout takes it (a slow pipe pauses the reads), and stops quietly when the reader goes away (`| head`). */
async function writeLines(lines: AsyncIterable<string>): Promise<void> {
  let failed: NodeJS.ErrnoException | undefined;
  const onError = (err: NodeJS.ErrnoException) => {
    failed = err;
  };
  process.stdout.on('error', onError);
  try {
    for await (const line of lines) {
      if (failed) break;
      // `once` rejects if stdout fails while waiting.
      if (!process.stdout.write(line)) await once(process.stdout, 'drain');
    }
  } catch (err) {
    failed = err as NodeJS.ErrnoException;
  } finally {
    process.stdout.off('error', onError);
  }
  if (failed && failed.code !== 'EPIPE') throw failed;
}

function parseInstant(text: string): string {
  const instant = toInstant(text);
  if (instant === undefined) throw new InvalidArgumentError('must be a date-time with a zone, such as 2026-03-01T09:00:00Z');
  return instant;
}

/** `30d` (that many days before the command runs) or an instant. */
function parseHorizon(text: string): (now: Date) => Date {
  const days = /^(\d+)d$/.exec(text);
  if (days) return (now) => new Date(now.getTime() - Number(days[1]) * DAY_MS);
  const instant = parseInstant(text);
  return () => new Date(instant);
}

/** The SPKI PEM of a public key file (a private key file gives its public half). */
function readPublicKey(file: string): string {
  try {
    return createPublicKey(readFileSync(file, 'utf8')).export({ type: 'spki', format: 'pem' }).toString();
  } catch (err) {
    throw new InvalidArgumentError(`cannot read a public key from \`${file}\`: ${(err as Error).message}`);
  }
}

import { InvalidArgumentError, Option, type Command } from 'commander';
import { parseResourceRef } from '../authz/model.js';
import type { ResourceInput } from '../authz/evaluate.js';
import { openRuntime } from '../main.js';
import { toInstant } from '../core/date-time.js';
import { createAccessService, type AccessService, type Consistency, type Explanation } from '../service/access.js';
import { createAuthzIndexes } from '../service/authz-service.js';
import { createHistory } from '../service/history.js';
import { DEFAULT_TENANT, requireTenant } from '../service/tenants.js';
import { databaseOption } from './options.js';
import { withRuntime } from './run.js';

interface AccessOptions {
  database?: string;
  tenant: string;
  context?: Record<string, unknown>;
  at?: Date;
  json?: boolean;
}

/**
 * `check`, `explain` and `who-can` from a shell: the same service the HTTP API calls, on an index
 * built for this one command (the CLI is for people and scripts, not for the hot path).
 */
export function registerAccess(program: Command): void {
  const common = (command: Command) =>
    command
      .addOption(databaseOption())
      .option('--tenant <name>', 'tenant name', DEFAULT_TENANT)
      .addOption(new Option('--context <json>', 'the request context for conditions, as JSON').argParser(parseJsonObject))
      .addOption(new Option('--at <time>', 'answer as of this past instant (ISO 8601 with a zone), from the audit log').argParser(parseInstant))
      .option('--json', 'print the answer as JSON');

  common(program.command('check <user> <action> <resource>'))
    .description('may USER (id, userName or externalId) do ACTION on RESOURCE (type:id)? exit 0 if allowed, 2 if denied')
    .action((user: string, action: string, resource: string, options: AccessOptions) =>
      withAccess(options, async (access, tenantId) => {
        const { allowed, revision } = await access.check(tenantId, request(user, action, resource, options), asOf(options));
        print(options, { allowed, revision }, allowed ? 'allow' : 'deny');
        if (!allowed) process.exitCode = 2;
      }),
    );

  common(program.command('explain <user> <action> <resource>'))
    .description('why USER may or may not do ACTION on RESOURCE: the chain from user to permission')
    .action((user: string, action: string, resource: string, options: AccessOptions) =>
      withAccess(options, async (access, tenantId) => {
        const explanation = await access.explain(tenantId, request(user, action, resource, options), asOf(options));
        print(options, explanation, renderExplanation(explanation));
      }),
    );

  common(program.command('who-can <action> <resource>'))
    .description('the users who may do ACTION on RESOURCE (type:id)')
    .option('--limit <n>', 'most users to list', parseLimit, 1000)
    .action((action: string, resource: string, options: AccessOptions & { limit: number }) =>
      withAccess(options, async (access, tenantId) => {
        const query = { action, resource: resourceOf(resource), ...contextOf(options) };
        const page = await access.whoCan(tenantId, query, { limit: options.limit }, asOf(options));
        const lines = page.items.map((u) => `${u.userName}\t${u.id}`);
        if (page.next !== undefined) lines.push(`… more than ${options.limit}; raise --limit`);
        print(options, page, lines.join('\n'));
      }),
    );
}

function withAccess(options: AccessOptions, fn: (access: AccessService, tenantId: string) => Promise<void>): Promise<void> {
  return withRuntime(openRuntime(options.database ? { database: options.database } : {}), async ({ store, clock }) => {
    const tenant = await requireTenant(store, options.tenant);
    const indexes = createAuthzIndexes({ store, pollMs: 0 });
    try {
      await fn(createAccessService({ indexes, clock, history: createHistory({ store }) }), tenant.id);
    } finally {
      indexes.close();
    }
  });
}

function request(user: string, action: string, resource: string, options: AccessOptions) {
  return { subject: { type: 'user', id: user }, action, resource: resourceOf(resource), ...contextOf(options) };
}

function asOf(options: AccessOptions): Consistency | undefined {
  return options.at ? { at: options.at } : undefined;
}

function parseInstant(text: string): Date {
  const instant = toInstant(text);
  if (instant === undefined) throw new InvalidArgumentError('must be a date-time with a zone, such as 2026-03-01T09:00:00Z');
  return new Date(instant);
}

function contextOf(options: AccessOptions): { context?: Record<string, unknown> } {
  return options.context ? { context: options.context } : {};
}

function resourceOf(text: string): ResourceInput {
  const ref = parseResourceRef(text);
  if (!ref) throw new InvalidArgumentError(`resource \`${text}\` is not \`type:id\``);
  return ref;
}

function parseJsonObject(text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new InvalidArgumentError('must be a JSON object');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new InvalidArgumentError('must be a JSON object');
  return value as Record<string, unknown>;
}

function parseLimit(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 100_000) throw new InvalidArgumentError('must be a whole number from 1 to 100000');
  return n;
}

function print(options: AccessOptions, value: unknown, text: string): void {
  process.stdout.write(options.json ? `${JSON.stringify(value, null, 2)}\n` : `${text}\n`);
}

/** The chain for people: one line per grant, deciding ones first. */
export function renderExplanation(e: Explanation): string {
  const lines = [`${e.allowed ? 'ALLOW' : 'DENY'}  ${e.subject.userName} (revision ${e.revision})`];
  if (e.missing) lines.push(`  missing: ${e.missing}`);
  const deciding = new Set(e.reasons);
  for (const r of [...e.reasons, ...e.considered.filter((c) => !deciding.has(c))]) {
    const via =
      r.via?.kind === 'group'
        ? `group ${r.via.path.map((g) => `${g.displayName}${g.externalId ? ` [${g.externalId}]` : ''}`).join(' → ')}`
        : r.via?.kind === 'rule'
          ? `rule ${r.via.rule} (${r.via.filter})`
          : (r.via?.kind ?? 'user');
    const condition = r.condition ? `, condition ${r.condition.expression} = ${r.condition.error ?? r.condition.result}` : '';
    const expiry = r.expiresAt ? `, until ${r.expiresAt}` : '';
    lines.push(
      `  ${deciding.has(r) ? '*' : ' '} ${r.effect} ${r.permission} on ${r.scope} (matched ${r.matched ?? '-'}): ${r.outcome}` +
        `\n      via ${via} → ${r.origin} ${r.id} → role ${r.rolePath.join(' → ')}${condition}${expiry}`,
    );
  }
  return lines.join('\n');
}

import { Option, type Command } from 'commander';
import { AppError } from '../core/errors.js';
import { openRuntime } from '../main.js';
import { DEFAULT_TENANT, requireTenant } from '../service/tenants.js';
import { issueToken, TOKEN_SCOPES } from '../service/tokens.js';
import type { TokenScope } from '../store/store.js';
import { databaseOption } from './options.js';
import { withRuntime } from './run.js';

const tenantOption = () => new Option('--tenant <name>', 'tenant name').default(DEFAULT_TENANT);

export function registerToken(program: Command): void {
  const token = program.command('token').description('manage bearer tokens (stored hashed; shown once)');
  token
    .command('create')
    .description('create a token; the token alone is printed on the last line')
    .addOption(tenantOption())
    .addOption(new Option('--scope <scope>', 'what the token may use').choices(TOKEN_SCOPES).makeOptionMandatory())
    .option('--name <name>', 'a label to recognise the token by', '')
    .addOption(databaseOption())
    .action((options: { tenant: string; scope: TokenScope; name: string; database?: string }) =>
      withRuntime(openRuntime(options), async ({ store, clock }) => {
        const tenant = await requireTenant(store, options.tenant);
        const issued = await issueToken(store, clock, tenant.id, options.scope, options.name || `${options.scope} token`);
        process.stdout.write(`created ${issued.record.scope} token ${issued.record.id} for tenant ${tenant.name}\n`);
        process.stdout.write(`${issued.token}\n`);
      }),
    );
  token
    .command('list')
    .description("list a tenant's tokens (never the tokens themselves)")
    .addOption(tenantOption())
    .addOption(databaseOption())
    .action((options: { tenant: string; database?: string }) =>
      withRuntime(openRuntime(options), async ({ store }) => {
        const tenant = await requireTenant(store, options.tenant);
        for (const t of await store.tokens.list(tenant.id)) {
          const state = t.revokedAt ? `revoked ${t.revokedAt}` : 'active';
          process.stdout.write(`${t.id}\t${t.scope}\t${state}\t${t.createdAt}\t${t.name}\n`);
        }
      }),
    );
  token
    .command('revoke <id>')
    .description('revoke a token by id (see `token list`)')
    .addOption(tenantOption())
    .addOption(databaseOption())
    .action((id: string, options: { tenant: string; database?: string }) =>
      withRuntime(openRuntime(options), async ({ store, clock }) => {
        const tenant = await requireTenant(store, options.tenant);
        if (!(await store.tokens.revoke(tenant.id, id, clock.now().toISOString()))) {
          throw new AppError('not_found', `no active token \`${id}\` in tenant \`${tenant.name}\``);
        }
        process.stdout.write(`revoked ${id}\n`);
      }),
    );
}

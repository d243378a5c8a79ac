import type { Command } from 'commander';
import { openRuntime } from '../main.js';
import { createTenant } from '../service/tenants.js';
import { databaseOption } from './options.js';
import { withRuntime } from './run.js';

export function registerTenant(program: Command): void {
  const tenant = program.command('tenant').description('manage tenants (one per customer or IdP connection)');
  tenant
    .command('create <name>')
    .description('create a tenant')
    .addOption(databaseOption())
    .action((name: string, options: { database?: string }) =>
      withRuntime(openRuntime(options), async ({ store }) => {
        const created = await createTenant(store, name);
        process.stdout.write(`${created.name}\t${created.id}\n`);
      }),
    );
  tenant
    .command('list')
    .description('list tenants')
    .addOption(databaseOption())
    .action((options: { database?: string }) =>
      withRuntime(openRuntime(options), async ({ store }) => {
        for (const t of await store.tenants.list()) process.stdout.write(`${t.name}\t${t.id}\trevision ${t.revision}\n`);
      }),
    );
}

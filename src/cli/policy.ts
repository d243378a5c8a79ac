import { readFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import type { PolicySet } from '../authz/model.js';
import { parsePolicyFile, printPolicyFile, type PolicyPlan } from '../authz/policy-file.js';
import type { Actor } from '../core/change.js';
import { openRuntime } from '../main.js';
import { createPolicyAdmin, describe } from '../service/policy-admin.js';
import { DEFAULT_TENANT, requireTenant } from '../service/tenants.js';
import { databaseOption } from './options.js';
import { withRuntime } from './run.js';

const tenantOption = () => new Option('--tenant <name>', 'tenant name').default(DEFAULT_TENANT);

/** Writes from the command line have no token: they come from whoever can open the database. */
const CLI_ACTOR: Actor = { tokenId: null, kind: 'admin' };

interface TargetOptions {
  readonly tenant: string;
  readonly database?: string;
}

export function registerPolicy(program: Command): void {
  const policy = program
    .command('policy')
    .description('manage the permission model as a policy file (YAML): plan, apply, export');
  policy
    .command('plan <file>')
    .description('show what applying the file would change, without changing anything (`-` reads stdin)')
    .addOption(tenantOption())
    .addOption(databaseOption())
    .action((file: string, options: TargetOptions) => run(file, options, true));
  policy
    .command('apply <file>')
    .description('make the model equal to the file, all or nothing; temporary grants are kept (`-` reads stdin)')
    .addOption(tenantOption())
    .option('--dry-run', 'only show the plan, as `policy plan` does', false)
    .addOption(databaseOption())
    .action((file: string, options: TargetOptions & { dryRun: boolean }) => run(file, options, options.dryRun));
  policy
    .command('export')
    .description("write the tenant's model to stdout as a policy file (temporary grants are left out)")
    .addOption(tenantOption())
    .addOption(new Option('--format <format>', 'output format').choices(['yaml', 'json']).default('yaml'))
    .addOption(databaseOption())
    .action((options: TargetOptions & { format: 'yaml' | 'json' }) =>
      withRuntime(openRuntime({ database: options.database }), async ({ store, clock }) => {
        const tenant = await requireTenant(store, options.tenant);
        const admin = createPolicyAdmin({ store, clock, committed: async () => {} });
        const text = printPolicyFile(await admin.export(tenant.id));
        process.stdout.write(options.format === 'json' ? `${JSON.stringify(parseYaml(text) ?? {}, null, 2)}\n` : text);
      }),
    );
}

async function run(file: string, options: TargetOptions, dryRun: boolean): Promise<void> {
  // The file is read before the database is opened: a broken file changes nothing, not even a migration.
  const desired = readPolicyFile(file);
  if (!desired) {
    process.exitCode = 1;
    return;
  }
  await withRuntime(openRuntime({ database: options.database }), async ({ store, clock }) => {
    const tenant = await requireTenant(store, options.tenant);
    // This process keeps no permission index; a running server picks the changes up from the change log.
    const admin = createPolicyAdmin({ store, clock, committed: async () => {} });
    const applied = await admin.apply(tenant.id, CLI_ACTOR, desired, { dryRun });
    process.stdout.write(planText(applied.plan));
    if (applied.revision !== null) process.stdout.write(`applied to tenant ${tenant.name} at revision ${applied.revision}\n`);
  });
}

/** The set a file describes, or undefined after printing why it is not valid (every problem, one a line). */
function readPolicyFile(file: string): PolicySet | undefined {
  let text: string;
  try {
    text = readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (err) {
    process.stderr.write(`error: cannot read \`${file}\`: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}\n`);
    return undefined;
  }
  const parsed = parsePolicyFile(text);
  if (parsed.ok) return parsed.set;
  process.stderr.write(`error: \`${file}\` is not a valid policy file\n`);
  for (const problem of parsed.problems) {
    process.stderr.write(`  ${typeof problem === 'string' ? problem : `${describe(problem.kind)} \`${problem.id}\`: ${problem.message}`}\n`);
  }
  return undefined;
}

/**
 * One line per change, in the order they are applied (`+` create, `~` replace, `-` delete), then a
 * count, e.g. `+ role db-reader` … `plan: 2 to create, 1 to replace, 0 to delete`.
 */
function planText(plan: PolicyPlan): string {
  const lines = [
    ...plan.create.map((e) => `+ ${e.kind} ${e.id}`),
    ...plan.replace.map((e) => `~ ${e.kind} ${e.id}`),
    ...plan.delete.map((e) => `- ${e.kind} ${e.id}`),
  ];
  const total = plan.create.length + plan.replace.length + plan.delete.length;
  lines.push(
    total === 0
      ? 'plan: no changes'
      : `plan: ${plan.create.length} to create, ${plan.replace.length} to replace, ${plan.delete.length} to delete`,
  );
  return `${lines.join('\n')}\n`;
}

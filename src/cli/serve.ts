import type { Command } from 'commander';
import { buildServer } from '../http/server.js';
import { openRuntime } from '../main.js';
import { DEFAULT_TENANT, requireTenant } from '../service/tenants.js';
import { issueToken } from '../service/tokens.js';
import { databaseOption, parsePort } from './options.js';

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run the SCIM server (migrates and initialises the database first)')
    .option('--port <port>', 'port to listen on (SCIMITAR_PORT, default 8080)', parsePort)
    .option('--host <host>', 'address to listen on (SCIMITAR_HOST, default 127.0.0.1)')
    .addOption(databaseOption())
    .action(async (options: { port?: number; host?: string; database?: string }) => {
      const runtime = await openRuntime(options, { server: true });
      const { config, store, logger } = runtime;
      const tenant = await requireTenant(store, DEFAULT_TENANT);
      if ((await store.tokens.list(tenant.id)).length === 0) {
        // First start on an empty database: print the tokens once; only their hashes are kept.
        const scim = await issueToken(store, runtime.clock, tenant.id, 'scim', 'initial SCIM token');
        const admin = await issueToken(store, runtime.clock, tenant.id, 'admin', 'initial admin token');
        process.stdout.write(
          `Tenant \`${DEFAULT_TENANT}\` has no tokens yet; these two are shown once:\n` +
            `  SCIM token  (for your IdP):  ${scim.token}\n` +
            `  admin token (for admins):    ${admin.token}\n`,
        );
      }
      const app = await buildServer(runtime);
      const address = await app.listen({ port: config.port, host: config.host });
      process.stdout.write(`Scimitar is listening on ${address} (SCIM base URL ${address}/scim/v2)\n`);

      let stopping = false;
      const stop = async (signal: string) => {
        if (stopping) return;
        stopping = true;
        logger.info({ signal }, 'shutting down');
        // close() lets in-flight requests finish before the database is closed under them.
        await app.close();
        await store.close();
        process.exit(0);
      };
      process.once('SIGTERM', () => void stop('SIGTERM'));
      process.once('SIGINT', () => void stop('SIGINT'));
    });
}

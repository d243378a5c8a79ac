import { Command } from 'commander';
import { registerAccess } from './access.js';
import { registerAudit } from './audit.js';
import { registerPolicy } from './policy.js';
import { registerServe } from './serve.js';
import { registerTenant } from './tenant.js';
import { registerToken } from './token.js';

const program = new Command('scimitar')
  .description('SCIM 2.0 server with permission management')
  .showHelpAfterError();
registerServe(program);
registerTenant(program);
registerToken(program);
registerPolicy(program);
registerAccess(program);
registerAudit(program);

await program.parseAsync(process.argv);

#!/usr/bin/env node
// The CLI is compiled to dist/ by `npm install` (the `prepare` script) or `npm run build`.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write('scimitar is not built yet: run `npm run build` (or `npm install`) in the project folder\n');
  process.exit(1);
}
await import(entry.href);

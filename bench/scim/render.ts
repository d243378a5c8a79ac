/**
 * Renders a result file again from its JSON, e.g. after the report layout changed, without
 * re-running the benchmark:
 *
 *   npx tsx bench/scim/render.ts bench/results/scim.json   # rewrites bench/results/scim.md
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { renderMarkdown, type Report } from './report.js';

const [jsonPath] = process.argv.slice(2);
if (!jsonPath || !jsonPath.endsWith('.json')) {
  process.stderr.write('usage: tsx bench/scim/render.ts <result.json>\n');
  process.exit(2);
}
const report = JSON.parse(readFileSync(jsonPath, 'utf8')) as Report;
const out = jsonPath.replace(/\.json$/, '.md');
writeFileSync(out, renderMarkdown(report));
process.stderr.write(`wrote ${out}\n`);

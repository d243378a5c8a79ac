/**
 * Writes `audit.md` again from `audit.json` without re-running (after a change to the report layout):
 *
 *   npx tsx bench/audit/render.ts bench/results/audit.json
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { renderMarkdown, type Report } from './report.js';

const file = process.argv[2] ?? 'bench/results/audit.json';
const report = JSON.parse(readFileSync(file, 'utf8')) as Report;
const out = file.replace(/\.json$/, '.md');
writeFileSync(out, renderMarkdown(report));
process.stderr.write(`wrote ${out}\n`);

/**
 * SCIM filters and attribute paths: text → `parseFilter` / `parsePatchPath` / `parseAttrPath` →
 * `resolveFilter` / `resolveAttrPath` against a resource type → `evaluateFilter` (or the SQL compiler).
 */
export { evaluateFilter } from './evaluate.js';
export { DEFAULT_FILTER_LIMITS, parseFilter, type FilterLimits } from './parser.js';
export { namesWholeSchema, parseAttrPath, parsePatchPath, type PatchPath } from './path.js';
export { printAttrPath, printFilter } from './print.js';
export { resolveAttrPath, resolveFilter } from './resolve.js';

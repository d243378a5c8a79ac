import type { Result } from '../core/errors.js';
import type { Filter, ResolvedAttr } from '../core/filter.js';
import { parseFilter, resolveFilter } from '../scim/filter/index.js';
import { userResourceType } from '../scim/schema/resource-types.js';

/**
 * An attribute rule's filter, parsed and resolved against the SCIM User resource type (core schema
 * and the enterprise extension). Validation, the permission index and the matches preview all call
 * this one function, so they cannot disagree on what a rule's filter means. Failures are `invalid_filter`.
 *
 * @example compileRuleFilter('urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "Sales"')
 */
export function compileRuleFilter(text: string): Result<Filter<ResolvedAttr>> {
  const parsed = parseFilter(text);
  return parsed.ok ? resolveFilter(parsed.value, userResourceType) : parsed;
}

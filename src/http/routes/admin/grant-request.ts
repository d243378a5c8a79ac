import type { Clock } from '../../../core/clock.js';
import { AppError } from '../../../core/errors.js';
import type { Filter } from '../../../core/filter.js';
import { parseFilter, resolveFilter } from '../../../scim/filter/index.js';
import { userResourceType } from '../../../scim/schema/resource-types.js';
import type { ScimReader, StoredUser } from '../../../store/store.js';

/**
 * The shorthand an operator types when granting temporary access:
 * `{ user: "alice@example.com", role: "oncall", scope: "*", duration: "PT4H", reason: "INC-42" }`.
 * It becomes the plain grant object (`subject: { type: 'user', id }` and `expiresAt`), so what is
 * stored, exported and audited has one shape. The user is looked up now, so a typo is a 404 rather
 * than a grant to nobody.
 */
export function isGrantShorthand(body: Record<string, unknown>): boolean {
  return 'user' in body && !('subject' in body);
}

export async function expandGrantShorthand(
  body: Record<string, unknown>,
  reader: ScimReader,
  clock: Clock,
): Promise<Record<string, unknown>> {
  const { user, duration, ...rest } = body;
  if (typeof user !== 'string' || user === '') {
    throw new AppError('invalid_value', '`user` must be the id, userName or externalId of a user');
  }
  const found = await findUser(reader, user);
  if (!found) throw new AppError('not_found', `user \`${user}\` not found`);
  const grant: Record<string, unknown> = { ...rest, subject: { type: 'user', id: found.id } };
  if (duration !== undefined) {
    if (rest.expiresAt !== undefined) throw new AppError('invalid_value', 'a grant takes `duration` or `expiresAt`, not both');
    if (typeof duration !== 'string') throw new AppError('invalid_value', '`duration` must be an ISO 8601 duration such as `PT4H`');
    const ms = parseDuration(duration);
    if (ms === undefined || ms <= 0) {
      throw new AppError('invalid_value', `\`duration\` \`${duration}\` must be a positive ISO 8601 duration such as \`PT4H\` or \`P1DT12H\``);
    }
    grant.expiresAt = new Date(clock.now().getTime() + ms).toISOString();
  }
  return grant;
}

const DURATION = /^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/i;

/**
 * Milliseconds of an ISO 8601 duration in weeks, days, hours, minutes and seconds; undefined for
 * anything else. Years and months are refused: their length depends on the calendar.
 *
 * @example parseDuration('PT4H') // 14_400_000
 */
function parseDuration(text: string): number | undefined {
  const match = DURATION.exec(text);
  if (!match || text.toUpperCase() === 'P' || text.toUpperCase().endsWith('T')) return undefined;
  const [, weeks, days, hours, minutes, seconds] = match;
  const n = (part: string | undefined) => (part === undefined ? 0 : Number(part));
  return ((((n(weeks) * 7 + n(days)) * 24 + n(hours)) * 60 + n(minutes)) * 60 + n(seconds)) * 1000;
}

/** A user by SCIM id, then userName (case-insensitive), then externalId: the order checks name subjects in. */
async function findUser(reader: ScimReader, text: string): Promise<StoredUser | undefined> {
  const byId = await reader.get('User', text);
  if (byId) return byId;
  for (const attribute of ['userName', 'externalId']) {
    const page = await reader.list('User', { filter: equals(attribute, text), startIndex: 1, count: 1 });
    if (page.resources[0]) return page.resources[0];
  }
  return undefined;
}

function equals(attribute: string, value: string): Filter {
  // A JSON string literal is a SCIM filter string literal, so any value is quoted safely.
  const parsed = parseFilter(`${attribute} eq ${JSON.stringify(value)}`);
  const resolved = parsed.ok ? resolveFilter(parsed.value, userResourceType) : parsed;
  if (!resolved.ok) throw resolved.error;
  return resolved.value;
}

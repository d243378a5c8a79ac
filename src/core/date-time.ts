/** xsd:dateTime with a mandatory zone: without one, the instant would depend on the server's time zone. */
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/i;

/**
 * The instant an xsd:dateTime names, as `Date#toISOString()` (whose text order is time order),
 * or undefined when the text is not one.
 */
export function toInstant(text: string): string | undefined {
  const match = DATE_TIME.exec(text);
  const millis = Date.parse(text);
  if (match === null || Number.isNaN(millis)) return undefined;
  // Date.parse rolls `2026-02-30` over into March; a day that does not exist is an error instead.
  const [year, month, day] = match.slice(1, 4).map(Number) as [number, number, number];
  const probe = new Date(0);
  probe.setUTCFullYear(year, month - 1, day);
  if (probe.getUTCMonth() !== month - 1 || probe.getUTCDate() !== day) return undefined;
  return new Date(millis).toISOString();
}

/** A JSON object (not an array, not null): what every SCIM resource, complex value and message is. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

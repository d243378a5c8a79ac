/**
 * Entity tags for SCIM resources (RFC 7644 §3.14). A resource's version is the tenant revision of
 * the write that last changed it, and its tag is always weak: two representations of one version
 * may differ byte for byte (`attributes=`, member `display` read at request time), so they are
 * semantically equal, not octet-equal (RFC 9110 §8.8.1).
 *
 * Both matchers answer "does the precondition hold, so the request goes on?" and compare weakly.
 * RFC 9110 §13.1.1 asks for strong comparison in `If-Match`, but SCIM servers issue weak tags and
 * RFC 7644 §3.14 shows clients sending them back in `If-Match`; strong comparison would make every
 * such request fail, so we compare the opaque tags and ignore `W/` in both headers.
 */

/** `W/"<version>"`, as `meta.version` and the `ETag` header carry it. */
export function etagOf(version: number): string {
  return `W/"${version}"`;
}

/**
 * `If-Match` on a write: true when the header is `*` (the resource exists, which the caller has
 * established) or lists the resource's current tag; false means 412 Precondition Failed.
 *
 * @example matchesIfMatch('W/"7", W/"8"', 8) // true
 */
export function matchesIfMatch(header: string, version: number): boolean {
  const tags = parseTagList(header);
  return tags === '*' || tags.includes(String(version));
}

/**
 * `If-None-Match` on a read: true when no listed tag is the resource's current one, so the full
 * response is sent; false means 304 Not Modified. `*` matches any existing resource, so it is false.
 *
 * @example matchesIfNoneMatch('W/"7"', 8) // true: the client's copy is stale
 */
export function matchesIfNoneMatch(header: string, version: number): boolean {
  const tags = parseTagList(header);
  return tags !== '*' && !tags.includes(String(version));
}

/**
 * The opaque tags of a header (`#entity-tag` or `*`). Lenient where clients are sloppy: a bare
 * `7` or a lower-case `w/` still counts as tag `7`; an unterminated quote ends the list. Anything
 * unrecognised matches nothing, so `If-Match` fails with 412 and `If-None-Match` passes.
 */
function parseTagList(header: string): readonly string[] | '*' {
  if (header.trim() === '*') return '*';
  const tags: string[] = [];
  let i = 0;
  while (i < header.length) {
    if (header[i] === ',' || /\s/.test(header[i] ?? '')) {
      i += 1;
      continue;
    }
    const start = header.startsWith('W/', i) || header.startsWith('w/', i) ? i + 2 : i;
    if (header[start] === '"') {
      // An opaque tag may itself contain commas (RFC 9110 `etagc`), so read up to the closing quote.
      const end = header.indexOf('"', start + 1);
      if (end === -1) break;
      tags.push(header.slice(start + 1, end));
      i = end + 1;
    } else {
      const comma = header.indexOf(',', start);
      const stop = comma === -1 ? header.length : comma;
      const token = header.slice(start, stop).trim();
      if (token !== '' && !/["\s]/.test(token)) tags.push(token);
      i = stop;
    }
  }
  return tags;
}

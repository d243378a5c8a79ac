/**
 * Resolved SCIM filters → parameterised SQL, so `GET /Users?filter=…` runs in the database.
 *
 * The meaning is the in-memory evaluator's (`scim/filter/evaluate.ts`, whose header is the
 * specification); a property test runs random filters over random resources on SQLite and PostgreSQL
 * and checks that both give the same ids. In SQL terms:
 *
 * - Every compiled node is two-valued (TRUE or FALSE, never NULL), so `not`, `ne` and `or` cannot
 *   fall into SQL's three-valued logic: a test on a value that may be missing is guarded, by
 *   `x IS NOT NULL AND …` on a nullable column (which keeps its index usable) and by
 *   `COALESCE(…, FALSE)` on a JSON value. `ne` is `NOT (eq)`, so a missing attribute is `ne` anything.
 * - A multi-valued attribute matches when some element does: `EXISTS (SELECT 1 FROM <elements> WHERE …)`.
 *   `emails[type eq "work" and value co "@x"]` needs one element to satisfy the whole bracket;
 *   `emails.type eq "work" and emails.value co "@x"` may be satisfied by two.
 * - caseExact:false strings compare lowercased on both sides: the value in JS, the column through
 *   its `_lc` twin (written with JS `toLowerCase`) or the dialect's `lower`. SQLite's `scim_lower` is
 *   JS; PostgreSQL's `lower` follows the database's LC_CTYPE and agrees with JS on the usual letters
 *   (the property test covers ASCII and Latin-1), but may fold some rarer characters differently.
 * - `co`/`sw`/`ew` use `instr`/`substr` (`strpos`/`left`/`right`), never LIKE; `gt`/`lt`… compare by
 *   code point; booleans only `eq`; numbers numerically; dateTimes as instants.
 *
 * Where values live (store.ts): `id`, `externalId`, `meta.created`/`meta.lastModified` (ISO text in
 * `created`/`last_modified`), a user's `userName` (`user_name_lc`) and `active`, a group's
 * `displayName` (`display_name_lc`) are columns; a group's `members` are `group_members` rows; a
 * user's `groups` are computed from them (direct and, through nested groups, indirect); everything
 * else is read from the JSON `doc`, extension attributes under their schema URN.
 *
 * Not supported (`invalid_filter`): `meta.location` and `members.$ref`/`groups.$ref`, which hold the
 * base URL the store does not know, and dateTime attributes kept in the document (no schema has one).
 */
import { sql, type Expression, type SqlBool } from 'kysely';
import type { AttributeDef, AttributeType } from '../../core/attribute.js';
import { AppError } from '../../core/errors.js';
import { leafOf, type CompareOp, type Filter, type FilterValue, type ResolvedAttr } from '../../core/filter.js';
import type { JsonValue, SqlDialect } from './dialect.js';

/** Where a filter runs: which table (by its alias in the caller's query) and which dialect. */
export interface FilterTarget {
  readonly type: 'User' | 'Group';
  readonly dialect: SqlDialect;
  /** The SQL alias of the users or groups table in the caller's query, e.g. `r`. */
  readonly table: string;
}

/**
 * The WHERE condition for `filter` over the users or groups table aliased `target.table`.
 *
 * @example
 *   db.selectFrom('users as r').selectAll()
 *     .where('r.tenant_id', '=', tenantId)
 *     .where(compileFilter(resolved('emails[type eq "work" and value co "@example.com"]'), { type: 'User', dialect: sqliteDialect, table: 'r' }))
 *   // … and EXISTS (SELECT 1 FROM json_each("r"."doc", '$."emails"') AS "el" WHERE (COALESCE(scim_lower("el"."value" ->> '$."type"') = ?, FALSE) AND …))
 */
export function compileFilter(filter: Filter<ResolvedAttr>, target: FilterTarget): Expression<SqlBool> {
  return new Compiler(target, 'invalid_filter').filter(filter, undefined);
}

/**
 * An ORDER BY expression for `sortBy=path` (RFC 7644 §3.4.2.3): lowercased for caseExact:false
 * strings, in code point order on both dialects; for a multi-valued attribute, the value of the
 * primary element, else of the first. NULL when the resource has no value.
 * Relational attributes (`members`, `groups`), `meta.location` and complex attributes without a
 * `value` sub-attribute cannot be sorted by (`invalid_value`).
 *
 * @example compileSortKey(resolvedPath('emails'), target) // (SELECT scim_lower("el"."value" ->> '$."value"') FROM json_each(…) ORDER BY … LIMIT 1)
 */
export function compileSortKey(path: ResolvedAttr, target: FilterTarget): Expression<unknown> {
  return new Compiler(target, 'invalid_value').sortKey(path);
}

/** Schemas whose attributes sit at the top of the document; every other schema is an extension (evaluate.ts). */
const CORE_SCHEMAS: ReadonlySet<string> = new Set([
  'urn:ietf:params:scim:schemas:core:2.0:User',
  'urn:ietf:params:scim:schemas:core:2.0:Group',
]);

/** Aliases used inside the compiled subqueries; the caller's table must not be named like one. */
const INNER_ALIASES: ReadonlySet<string> = new Set(['el', 'gm', 'mu', 'mg', 'anc', 'ag', 'ug']);

type Bool = Expression<SqlBool>;
type TestOp = Exclude<CompareOp, 'ne'>;

const TRUE: Bool = sql<SqlBool>`TRUE`;
const FALSE: Bool = sql<SqlBool>`FALSE`;
const ORDERING: Readonly<Record<'eq' | 'gt' | 'ge' | 'lt' | 'le', string>> = { eq: '=', gt: '>', ge: '>=', lt: '<', le: '<=' };
const STRING_TYPES: ReadonlySet<AttributeType> = new Set(['string', 'reference', 'binary']);

/** One value an attribute may have (or not), as SQL. */
interface Scalar {
  readonly kind: 'scalar';
  /** The value: text for strings and dateTimes; SQL `NULL` when missing (unless `guard` is `none`). */
  readonly sql: Expression<unknown>;
  /** The same text already lowercased with JS `toLowerCase` (a `_lc` column), cheaper than `lower(sql)`. */
  readonly lowered?: Expression<unknown>;
  /** The value as an SQL number (JSON numbers). */
  readonly number?: Expression<unknown>;
  /** Whether the value is the boolean `value` (may be NULL when missing: `guard` takes care of it). */
  readonly isBoolean?: (value: boolean) => Expression<SqlBool | null>;
  /** A dateTime held as `Date#toISOString` text, so text order is time order. */
  readonly instant?: boolean;
  /**
   * How a test on it stays two-valued: `none` for NOT NULL columns, `not-null` (`x IS NOT NULL AND …`,
   * index-friendly) for nullable columns, `coalesce` (`COALESCE(…, FALSE)`) for JSON values.
   */
  readonly guard: 'none' | 'not-null' | 'coalesce';
  /** What ORDER BY uses instead of `sql`, if anything (`meta.version` sorts by number). */
  readonly sortKey?: Expression<unknown>;
}

/** A complex value: an element of a multi-valued attribute, or a singular complex attribute. */
interface Complex {
  readonly kind: 'complex';
  sub(def: AttributeDef): Scalar;
  /** The element itself, when the attribute is multi-valued and simple. */
  self(): Scalar;
  /** `pr` on the value itself: some sub-attribute is present. */
  present(): Bool;
}

/** The elements of a multi-valued attribute. */
interface Collection {
  /** Whether some element passes `test`. */
  some(test: (element: Complex) => Bool): Bool;
  /** `pick` read from the primary element, else the first; only where element order exists. */
  readonly first?: (pick: (element: Complex) => Expression<unknown>, primary: AttributeDef | undefined) => Expression<unknown>;
}

/** Where a top-level attribute's values are. */
type Place =
  | { readonly kind: 'simple'; readonly scalar: Scalar }
  | { readonly kind: 'object'; readonly exists: Bool; readonly value: Complex }
  | { readonly kind: 'many'; readonly collection: Collection; readonly complex: boolean };

class Compiler {
  private readonly dialect: SqlDialect;

  constructor(
    private readonly target: FilterTarget,
    /** What an unsupported attribute is reported as: a filter or a sort problem. */
    private readonly unsupportedCode: 'invalid_filter' | 'invalid_value',
  ) {
    if (INNER_ALIASES.has(target.table)) {
      throw new AppError('internal', `table alias \`${target.table}\` clashes with the filter compiler's own aliases`);
    }
    this.dialect = target.dialect;
  }

  // ---- filters ------------------------------------------------------------------------------

  /** `element` is the value under test inside `attr[…]`. */
  filter(node: Filter<ResolvedAttr>, element: Complex | undefined): Bool {
    switch (node.kind) {
      case 'and':
        return sql<SqlBool>`(${this.filter(node.left, element)} AND ${this.filter(node.right, element)})`;
      case 'or':
        return sql<SqlBool>`(${this.filter(node.left, element)} OR ${this.filter(node.right, element)})`;
      case 'not':
        return sql<SqlBool>`NOT (${this.filter(node.filter, element)})`;
      case 'present':
        return this.someValue(node.path, element, (value) =>
          value.kind === 'complex' ? value.present() : this.presence(value, leafOf(node.path)),
        );
      case 'compare': {
        const { path, op, value } = node;
        const test = op === 'ne' ? 'eq' : op;
        const some = this.someValue(path, element, (v) =>
          v.kind === 'complex' ? FALSE : this.compare(v, test, value, leafOf(path)),
        );
        return op === 'ne' ? sql<SqlBool>`NOT (${some})` : some;
      }
      case 'valuePath': {
        // As in the evaluator, the bracketed attribute is read from the resource even inside another
        // bracket (which the resolver rejects anyway).
        const place = this.place(node.path);
        switch (place.kind) {
          case 'many':
            return place.complex ? place.collection.some((el) => this.filter(node.filter, el)) : FALSE;
          case 'object':
            return sql<SqlBool>`(${place.exists} AND ${this.filter(node.filter, place.value)})`;
          case 'simple':
            return FALSE;
        }
      }
    }
  }

  /** Whether some value of `path` passes `test`; inside `[…]`, the values of the element under test. */
  private someValue(path: ResolvedAttr, element: Complex | undefined, test: (value: Scalar | Complex) => Bool): Bool {
    // INVARIANT (core/filter.ts): inside `[…]` every path is `{ top: the bracketed attribute, sub }`.
    if (element !== undefined) return test(path.sub === undefined ? element : element.sub(path.sub));
    const place = this.place(path);
    const { sub } = path;
    switch (place.kind) {
      case 'simple':
        return sub === undefined ? test(place.scalar) : FALSE;
      case 'object':
        return test(sub === undefined ? place.value : place.value.sub(sub));
      case 'many':
        return place.collection.some((el) => test(sub !== undefined ? el.sub(sub) : place.complex ? el : el.self()));
    }
  }

  /** `pr` on one value: there, and not `""`. */
  private presence(value: Scalar, leaf: AttributeDef): Bool {
    if (value.guard === 'none') return TRUE;
    if (STRING_TYPES.has(leaf.type) || leaf.type === 'dateTime') {
      return sql<SqlBool>`(${value.sql} IS NOT NULL AND ${value.sql} <> '')`;
    }
    return sql<SqlBool>`${value.sql} IS NOT NULL`;
  }

  /** A positive comparison of one value; FALSE where the evaluator's `matches` is false whatever the value. */
  private compare(value: Scalar, op: TestOp, expected: FilterValue, leaf: AttributeDef): Bool {
    switch (leaf.type) {
      case 'string':
      case 'reference':
      case 'binary': {
        if (typeof expected !== 'string') return FALSE;
        const text = leaf.caseExact ? value.sql : (value.lowered ?? this.dialect.lower(value.sql));
        return this.stringTest(value, text, op, leaf.caseExact ? expected : expected.toLowerCase());
      }
      case 'boolean':
        if (op !== 'eq' || typeof expected !== 'boolean' || value.isBoolean === undefined) return FALSE;
        return this.guard(value, value.isBoolean(expected));
      case 'integer':
      case 'decimal':
        if (!isOrdering(op) || typeof expected !== 'number' || value.number === undefined) return FALSE;
        return this.guard(value, sql<SqlBool>`${value.number} ${sql.raw(ORDERING[op])} ${expected}`);
      case 'dateTime': {
        if (!isOrdering(op) || typeof expected !== 'string') return FALSE;
        if (value.instant !== true) return this.unsupported(`dateTime attribute \`${leaf.name}\` outside \`meta\``);
        const millis = Date.parse(expected);
        if (Number.isNaN(millis)) return FALSE;
        const instant = new Date(millis).toISOString();
        const column = op === 'eq' ? value.sql : this.dialect.codePointOrder(value.sql);
        return this.guard(value, sql<SqlBool>`${column} ${sql.raw(ORDERING[op])} ${instant}`);
      }
      case 'complex':
        return FALSE;
    }
  }

  private stringTest(value: Scalar, text: Expression<unknown>, op: TestOp, expected: string): Bool {
    const { dialect } = this;
    if ((op === 'co' || op === 'sw' || op === 'ew') && expected === '') {
      // `""` is a substring, prefix and suffix of every string: the test is "has a value".
      return value.guard === 'none' ? TRUE : sql<SqlBool>`${value.sql} IS NOT NULL`;
    }
    switch (op) {
      case 'co':
        return this.guard(value, dialect.contains(text, expected));
      case 'sw':
        return this.guard(value, dialect.startsWith(text, expected));
      case 'ew':
        return this.guard(value, dialect.endsWith(text, expected));
      case 'eq':
        return this.guard(value, sql<SqlBool>`${text} = ${expected}`);
      case 'gt':
      case 'ge':
      case 'lt':
      case 'le':
        return this.guard(value, sql<SqlBool>`${dialect.codePointOrder(text)} ${sql.raw(ORDERING[op])} ${expected}`);
    }
  }

  /** Makes `test` (NULL exactly when the value is missing) FALSE instead of NULL. */
  private guard(value: Scalar, test: Expression<SqlBool | null>): Bool {
    switch (value.guard) {
      case 'none':
        return test as Bool;
      case 'not-null':
        return sql<SqlBool>`(${value.sql} IS NOT NULL AND ${test})`;
      case 'coalesce':
        return sql<SqlBool>`COALESCE(${test}, FALSE)`;
    }
  }

  // ---- sort keys ----------------------------------------------------------------------------

  sortKey(path: ResolvedAttr): Expression<unknown> {
    const place = this.place(path);
    const shown = path.sub === undefined ? path.top.name : `${path.top.name}.${path.sub.name}`;
    switch (place.kind) {
      case 'simple':
        return this.key(place.scalar, path.top);
      case 'object': {
        const leaf = path.sub ?? subNamed(path.top, 'value');
        if (leaf === undefined) return this.unsupported(`complex attribute \`${shown}\``);
        return this.key(place.value.sub(leaf), leaf);
      }
      case 'many': {
        const leaf = place.complex ? (path.sub ?? subNamed(path.top, 'value')) : path.top;
        if (leaf === undefined || place.collection.first === undefined) return this.unsupported(`\`${shown}\``);
        const pick = (el: Complex) => this.key(place.complex ? el.sub(leaf) : el.self(), leaf);
        return place.collection.first(pick, place.complex ? subNamed(path.top, 'primary') : undefined);
      }
    }
  }

  private key(value: Scalar, leaf: AttributeDef): Expression<unknown> {
    if (value.sortKey !== undefined) return value.sortKey;
    switch (leaf.type) {
      case 'string':
      case 'reference':
      case 'binary':
        return this.dialect.codePointOrder(leaf.caseExact ? value.sql : (value.lowered ?? this.dialect.lower(value.sql)));
      case 'integer':
      case 'decimal':
        return value.number ?? value.sql;
      case 'dateTime':
        return value.instant === true ? value.sql : this.unsupported(`dateTime attribute \`${leaf.name}\` outside \`meta\``);
      case 'boolean':
        return value.sql;
      case 'complex':
        return this.unsupported(`complex attribute \`${leaf.name}\``);
    }
  }

  // ---- where values live --------------------------------------------------------------------

  private place(path: ResolvedAttr): Place {
    const { schema, top } = path;
    const core = CORE_SCHEMAS.has(schema);
    const stored = core ? this.storedPlace(top) : undefined;
    if (stored !== undefined) return stored;
    const document = this.dialect.document(this.column('doc'));
    const json = (core ? document : document.member(schema)).member(top.name);
    if (top.multiValued) return { kind: 'many', collection: this.jsonArray(json, top), complex: top.type === 'complex' };
    if (top.type === 'complex') return { kind: 'object', exists: coalesce(json.isObject), value: this.jsonObject(json, top) };
    return { kind: 'simple', scalar: jsonScalar(json) };
  }

  /** Attributes held in columns and tables rather than the document. */
  private storedPlace(top: AttributeDef): Place | undefined {
    const { type } = this.target;
    switch (top.name) {
      case 'id':
        return simple({ sql: this.column('id'), guard: 'none' });
      case 'externalId':
        return simple({ sql: this.column('external_id'), guard: 'not-null' });
      case 'meta':
        return { kind: 'object', exists: TRUE, value: this.meta() };
      case 'userName':
        return type === 'User'
          ? simple({ sql: this.column('user_name'), lowered: this.column('user_name_lc'), guard: 'none' })
          : undefined;
      case 'active': {
        // INVARIANT: `normalizeResource` gives every user a boolean `active` (true by default), so the
        // column (`doc.active !== false`) holds exactly the document's value.
        const active = this.column('active');
        return type === 'User'
          ? simple({ sql: active, isBoolean: (v) => this.dialect.booleanEquals(active, v), guard: 'none' })
          : undefined;
      }
      case 'displayName':
        return type === 'Group'
          ? simple({ sql: this.column('display_name'), lowered: this.column('display_name_lc'), guard: 'none' })
          : undefined;
      case 'members':
        return type === 'Group' ? { kind: 'many', collection: this.members(), complex: true } : undefined;
      case 'groups':
        return type === 'User' ? { kind: 'many', collection: this.groups(), complex: true } : undefined;
      default:
        return undefined;
    }
  }

  private meta(): Complex {
    return {
      kind: 'complex',
      sub: (def) => {
        switch (def.name) {
          case 'resourceType':
            return scalar({ sql: sql.lit(this.target.type), guard: 'none' });
          case 'created':
            return scalar({ sql: this.column('created'), instant: true, guard: 'none' });
          case 'lastModified':
            return scalar({ sql: this.column('last_modified'), instant: true, guard: 'none' });
          case 'version': {
            // store.ts: `meta.version` is `W/"<version>"`.
            const version = this.column('version');
            return scalar({ sql: sql`'W/"' || ${version} || '"'`, sortKey: version, guard: 'none' });
          }
          default:
            return this.unsupported(`\`meta.${def.name}\``);
        }
      },
      self: () => this.unsupported('`meta`'),
      present: () => TRUE,
    };
  }

  private jsonArray(json: JsonValue, def: AttributeDef): Collection {
    const { dialect } = this;
    const elementOf = (element: JsonValue): Complex =>
      def.type === 'complex'
        ? this.jsonObject(element, def)
        : {
            kind: 'complex',
            sub: () => this.unsupported(`\`${def.name}\``),
            self: () => jsonScalar(element),
            present: () => this.presence(jsonScalar(element), def),
          };
    return {
      some: (test) => {
        const { from, element } = dialect.elements(json, 'el');
        return sql<SqlBool>`EXISTS (SELECT 1 FROM ${from}${where(test(elementOf(element)))})`;
      },
      first: (pick, primary) => {
        const { from, element, index } = dialect.elements(json, 'el', { ordered: true });
        const isPrimary = primary === undefined ? undefined : coalesce(element.member(primary.name).isBoolean(true));
        const order = isPrimary === undefined ? index : sql`${isPrimary} DESC, ${index}`;
        return sql`(SELECT ${pick(elementOf(element))} FROM ${from} ORDER BY ${order} LIMIT 1)`;
      },
    };
  }

  private jsonObject(json: JsonValue, def: AttributeDef): Complex {
    const sub = (d: AttributeDef): Scalar => jsonScalar(json.member(d.name));
    return {
      kind: 'complex',
      sub,
      self: () => jsonScalar(json),
      present: () => {
        const subs = (def.subAttributes ?? []).map((d) => this.presence(sub(d), d));
        return subs.length === 0 ? FALSE : sql<SqlBool>`(${sql.join(subs, sql` OR `)})`;
      },
    };
  }

  /** A group's `members`: its `group_members` rows; `display` as the store renders it (member's displayName or userName). */
  private members(): Collection {
    return {
      some: (test) => {
        let display = false;
        const element: Complex = {
          kind: 'complex',
          sub: (def) => {
            switch (def.name) {
              case 'value':
                return scalar({ sql: sql.ref('gm.member_id'), guard: 'none' });
              case 'type':
                return scalar({ sql: sql.ref('gm.member_type'), guard: 'none' });
              case 'display':
                display = true;
                return scalar({
                  sql: sql`COALESCE("mu"."display_name", "mu"."user_name", "mg"."display_name")`,
                  guard: 'not-null',
                });
              default:
                return this.unsupported(`\`members.${def.name}\``);
            }
          },
          self: () => this.unsupported('`members`'),
          present: () => TRUE,
        };
        const condition = test(element);
        const joinUsers = sql`LEFT JOIN "users" AS "mu" ON "mu"."tenant_id" = "gm"."tenant_id" AND "mu"."id" = "gm"."member_id" AND "gm"."member_type" = 'User'`;
        const joinGroups = sql`LEFT JOIN "groups" AS "mg" ON "mg"."tenant_id" = "gm"."tenant_id" AND "mg"."id" = "gm"."member_id" AND "gm"."member_type" = 'Group'`;
        const joins = display ? sql` ${joinUsers} ${joinGroups}` : sql``;
        const ofGroup = sql`"gm"."tenant_id" = ${this.column('tenant_id')} AND "gm"."group_id" = ${this.column('id')}`;
        return sql<SqlBool>`EXISTS (SELECT 1 FROM "group_members" AS "gm"${joins} WHERE ${ofGroup}${andAlso(condition)})`;
      },
    };
  }

  /**
   * A user's `groups`, as the store reads them: a recursive walk up `group_members` from the user
   * (`UNION` stops on cycles); `type` is `direct` when some path has length one, else `indirect`.
   */
  private groups(): Collection {
    return {
      some: (test) => {
        const element: Complex = {
          kind: 'complex',
          sub: (def) => {
            switch (def.name) {
              case 'value':
                return scalar({ sql: sql.ref('ug.id'), guard: 'none' });
              case 'display':
                return scalar({ sql: sql.ref('ug.display_name'), lowered: sql.ref('ug.display_name_lc'), guard: 'none' });
              case 'type': {
                const type = sql`CASE WHEN "ug"."depth" = 0 THEN 'direct' ELSE 'indirect' END`;
                return scalar({ sql: type, lowered: type, guard: 'none' });
              }
              default:
                return this.unsupported(`\`groups.${def.name}\``);
            }
          },
          self: () => this.unsupported('`groups`'),
          present: () => TRUE,
        };
        const tenant = this.column('tenant_id');
        const direct = sql`SELECT "gm"."group_id", 0 FROM "group_members" AS "gm" WHERE "gm"."tenant_id" = ${tenant} AND "gm"."member_id" = ${this.column('id')} AND "gm"."member_type" = 'User'`;
        const up = sql`SELECT "gm"."group_id", 1 FROM "anc" CROSS JOIN "group_members" AS "gm" WHERE "gm"."member_id" = "anc"."group_id" AND "gm"."tenant_id" = ${tenant} AND "gm"."member_type" = 'Group'`;
        const columns = sql`"ag"."id", "ag"."display_name", "ag"."display_name_lc"`;
        const groups = sql`SELECT ${columns}, min("anc"."depth") AS "depth" FROM "anc" CROSS JOIN "groups" AS "ag" WHERE "ag"."tenant_id" = ${tenant} AND "ag"."id" = "anc"."group_id" GROUP BY ${columns}`;
        return sql<SqlBool>`EXISTS (WITH RECURSIVE "anc"("group_id", "depth") AS (${direct} UNION ${up}) SELECT 1 FROM (${groups}) AS "ug"${where(test(element))})`;
      },
    };
  }

  private column(name: string): Expression<unknown> {
    return sql.ref(`${this.target.table}.${name}`);
  }

  private unsupported(what: string): never {
    const doing = this.unsupportedCode === 'invalid_filter' ? 'filtering on' : 'sorting by';
    throw new AppError(this.unsupportedCode, `${doing} ${what} is not supported`);
  }
}

function scalar(fields: Omit<Scalar, 'kind'>): Scalar {
  return { kind: 'scalar', ...fields };
}

function simple(fields: Omit<Scalar, 'kind'>): Place {
  return { kind: 'simple', scalar: scalar(fields) };
}

function jsonScalar(json: JsonValue): Scalar {
  return scalar({ sql: json.text, number: json.number, isBoolean: (v) => json.isBoolean(v), guard: 'coalesce' });
}

/** ` WHERE condition`, left out when it is the constant TRUE (`members pr`). */
function where(condition: Bool): Expression<unknown> {
  return condition === TRUE ? sql`` : sql` WHERE ${condition}`;
}

function andAlso(condition: Bool): Expression<unknown> {
  return condition === TRUE ? sql`` : sql` AND ${condition}`;
}

function coalesce(test: Expression<SqlBool | null>): Bool {
  return sql<SqlBool>`COALESCE(${test}, FALSE)`;
}

function isOrdering(op: TestOp): op is 'eq' | 'gt' | 'ge' | 'lt' | 'le' {
  return op !== 'co' && op !== 'sw' && op !== 'ew';
}

function subNamed(def: AttributeDef, name: string): AttributeDef | undefined {
  return def.subAttributes?.find((a) => a.name === name);
}

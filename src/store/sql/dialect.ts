import { sql, type Expression, type SqlBool } from 'kysely';

/**
 * The few SQL fragments in which SQLite and PostgreSQL differ when a filter runs in the database:
 * reading a JSON document, ranging over a JSON array, lowercasing, binding a boolean, substring
 * tests and code-point ordering. `compile-filter.ts` writes everything else once, for both; this is
 * Kysely's split between the operation tree and a per-dialect query compiler, cut down to what the
 * filter compiler needs.
 *
 * Every value a user supplies is bound as a parameter. Only JSON keys are written into the SQL text,
 * and they come from the schema definitions (`title`, `$ref`, `urn:…:enterprise:2.0:User`), never
 * from a request; they are still quoted, since extension URNs contain `:` and `.`.
 *
 * INVARIANT: the documents were written through `normalizeResource`, so a multi-valued attribute is a
 * JSON array, a complex value an object, a leaf a JSON value of its declared type (string, boolean,
 * number), and nothing is `null`. Where the in-memory evaluator would look at JSON types (a number
 * stored as a string never equals a number), the SQL relies on this instead of re-checking.
 */
export interface SqlDialect {
  /** The JSON document held in `column` (e.g. `sql.ref('r.doc')`). */
  document(column: Expression<unknown>): JsonValue;
  /**
   * A FROM item ranging over the elements of the JSON array `array`, named `alias`; no rows when the
   * array is missing. With `ordered`, `index` gives each element's position (for "the first element").
   */
  elements(array: JsonValue, alias: string, options?: { readonly ordered?: boolean }): JsonElements;
  /** Lowercase as JS `String#toLowerCase` does (SQLite: the registered `scim_lower`; PostgreSQL: `lower`). */
  lower(text: Expression<unknown>): Expression<string | null>;
  /** `column = <value>` for a boolean column (SQLite stores 0/1). */
  booleanEquals(column: Expression<unknown>, value: boolean): Expression<SqlBool>;
  /** Whether `text` contains `needle` (not empty), case-sensitively and without LIKE wildcards. */
  contains(text: Expression<unknown>, needle: string): Expression<SqlBool>;
  /** Whether `text` starts with `prefix` (not empty), case-sensitively. */
  startsWith(text: Expression<unknown>, prefix: string): Expression<SqlBool>;
  /** Whether `text` ends with `suffix` (not empty), case-sensitively. */
  endsWith(text: Expression<unknown>, suffix: string): Expression<SqlBool>;
  /**
   * `text` with a collation that orders by Unicode code point, as the evaluator's `gt`/`lt` do
   * (SQLite's default BINARY already does: UTF-8 byte order is code point order).
   */
  codePointOrder(text: Expression<unknown>): Expression<string | null>;
}

/**
 * A JSON value as SQL reaches it: a key path below a document, or an element of an array being
 * ranged over. Made and read only by the dialect that made it. Each reading is SQL `NULL` when the
 * value is missing (or JSON `null`).
 */
export interface JsonValue {
  /** A string value as SQL text; for other types only whether it is `NULL` means something. */
  readonly text: Expression<string | null>;
  /** A number value as an SQL number. */
  readonly number: Expression<number | null>;
  /** Whether the value is the JSON boolean `value`: TRUE, FALSE, or NULL when missing. */
  isBoolean(value: boolean): Expression<SqlBool | null>;
  /** Whether the value is a JSON object: TRUE, FALSE, or NULL when missing. */
  readonly isObject: Expression<SqlBool | null>;
  /** The member `key` of this (object) value. */
  member(key: string): JsonValue;
}

export interface JsonElements {
  /** `json_each(…) AS "el"` / `jsonb_array_elements(…) AS "el"("value")`. */
  readonly from: Expression<unknown>;
  readonly element: JsonValue;
  /** The element's position in the array; only with `ordered`. */
  readonly index: Expression<number>;
}

/** Code points, as SQLite's `substr`/`length` and PostgreSQL's `left`/`right` count them (not UTF-16 units). */
function codePoints(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

function checkKey(key: string): string {
  // Keys come from schema definitions; one with a double quote would need escaping that no schema needs.
  if (key.includes('"')) throw new Error(`json key \`${key}\` cannot be quoted`);
  return key;
}

// ---- SQLite ---------------------------------------------------------------------------------

/** `$."urn:…:User"."department"`: every key quoted, so `:`, `.` and `$` in names are plain characters. */
function sqlitePath(keys: readonly string[]): string {
  return `$${keys.map((k) => `."${checkKey(k)}"`).join('')}`;
}

/** A value at a key path below a JSON text (the document, or an object element's `value`). */
class SqliteJsonPath implements JsonValue {
  constructor(
    readonly json: Expression<unknown>,
    readonly keys: readonly string[],
  ) {}

  private get path() {
    return sql.lit(sqlitePath(this.keys));
  }

  get text(): Expression<string | null> {
    // `->>` gives SQL TEXT for a JSON string, INTEGER/REAL for a number, NULL when missing.
    return sql<string | null>`${this.json} ->> ${this.path}`;
  }

  get number(): Expression<number | null> {
    return sql<number | null>`${this.json} ->> ${this.path}`;
  }

  isBoolean(value: boolean): Expression<SqlBool | null> {
    return sql<SqlBool | null>`json_type(${this.json}, ${this.path}) = ${value ? 'true' : 'false'}`;
  }

  get isObject(): Expression<SqlBool | null> {
    return sql<SqlBool | null>`json_type(${this.json}, ${this.path}) = 'object'`;
  }

  member(key: string): JsonValue {
    return new SqliteJsonPath(this.json, [...this.keys, key]);
  }
}

/**
 * A row of `json_each`: `value` is the SQL value of a primitive element and the JSON text of an
 * object element; `type` names the JSON type (`text`, `integer`, `real`, `true`, `false`, `object`…).
 */
class SqliteElement implements JsonValue {
  constructor(readonly alias: string) {}

  private column(name: 'value' | 'type') {
    return sql.ref(`${this.alias}.${name}`);
  }

  get text(): Expression<string | null> {
    return this.column('value') as Expression<string | null>;
  }

  get number(): Expression<number | null> {
    return this.column('value') as Expression<number | null>;
  }

  isBoolean(value: boolean): Expression<SqlBool | null> {
    return sql<SqlBool | null>`${this.column('type')} = ${value ? 'true' : 'false'}`;
  }

  get isObject(): Expression<SqlBool | null> {
    return sql<SqlBool | null>`${this.column('type')} = 'object'`;
  }

  member(key: string): JsonValue {
    return new SqliteJsonPath(this.column('value'), [key]);
  }
}

/**
 * SQLite 3.38+ (JSON operators). Case-insensitive matching lowercases with `scim_lower`, a
 * deterministic function every connection registers as JS `toLowerCase` (SQLite's `lower` folds
 * ASCII only). Substring tests use `instr`/`substr`, never LIKE, which ignores ASCII case and
 * treats `%` and `_` as wildcards.
 */
export const sqliteDialect: SqlDialect = {
  document: (column) => new SqliteJsonPath(column, []),
  elements(array, alias) {
    if (!(array instanceof SqliteJsonPath)) throw new Error('sqlite: can only range over an array below a document');
    return {
      from: sql`json_each(${array.json}, ${sql.lit(sqlitePath(array.keys))}) AS ${sql.id(alias)}`,
      element: new SqliteElement(alias),
      index: sql.ref<number>(`${alias}.key`),
    };
  },
  lower: (text) => sql<string | null>`scim_lower(${text})`,
  booleanEquals: (column, value) => sql<SqlBool>`${column} = ${value ? 1 : 0}`,
  contains: (text, needle) => sql<SqlBool>`instr(${text}, ${needle}) > 0`,
  startsWith: (text, prefix) => sql<SqlBool>`substr(${text}, 1, ${codePoints(prefix)}) = ${prefix}`,
  // A negative start counts from the end; a suffix longer than the text gives the whole (shorter) text.
  endsWith: (text, suffix) => sql<SqlBool>`substr(${text}, ${-codePoints(suffix)}) = ${suffix}`,
  codePointOrder: (text) => text as Expression<string | null>,
};

// ---- PostgreSQL -----------------------------------------------------------------------------

/** A `jsonb` value: `keys` below `json` (the document column, or an element). */
class PostgresJson implements JsonValue {
  constructor(
    readonly json: Expression<unknown>,
    readonly keys: readonly string[],
  ) {}

  /** `"r"."doc" -> 'urn:…:User' -> 'manager'`. */
  get jsonb(): Expression<unknown> {
    return this.keys.reduce<Expression<unknown>>((acc, key) => sql`${acc} -> ${sql.lit(checkKey(key))}`, this.json);
  }

  get text(): Expression<string | null> {
    const last = this.keys[this.keys.length - 1];
    if (last === undefined) return sql<string | null>`${this.json} #>> '{}'`;
    const parent = new PostgresJson(this.json, this.keys.slice(0, -1)).jsonb;
    return sql<string | null>`${parent} ->> ${sql.lit(checkKey(last))}`;
  }

  get number(): Expression<number | null> {
    // Through text, so a missing value is NULL rather than a failed cast.
    return sql<number | null>`CAST(${this.text} AS numeric)`;
  }

  isBoolean(value: boolean): Expression<SqlBool | null> {
    return sql<SqlBool | null>`${this.jsonb} = CAST(${value ? 'true' : 'false'} AS jsonb)`;
  }

  get isObject(): Expression<SqlBool | null> {
    return sql<SqlBool | null>`jsonb_typeof(${this.jsonb}) = 'object'`;
  }

  member(key: string): JsonValue {
    return new PostgresJson(this.json, [...this.keys, key]);
  }
}

/**
 * PostgreSQL. `lower` follows the database's LC_CTYPE (the test server runs with `C.UTF-8`);
 * ordering comparisons use `COLLATE "C"` so they are code point order whatever the database collation.
 */
export const postgresDialect: SqlDialect = {
  document: (column) => new PostgresJson(column, []),
  elements(array, alias, options = {}) {
    if (!(array instanceof PostgresJson)) throw new Error('postgres: can only range over a jsonb value');
    const element = new PostgresJson(sql.ref(`${alias}.value`), []);
    const from = options.ordered
      ? sql`jsonb_array_elements(${array.jsonb}) WITH ORDINALITY AS ${sql.id(alias)}("value", "ord")`
      : sql`jsonb_array_elements(${array.jsonb}) AS ${sql.id(alias)}("value")`;
    return { from, element, index: sql.ref<number>(`${alias}.ord`) };
  },
  lower: (text) => sql<string | null>`lower(${text})`,
  booleanEquals: (column, value) => sql<SqlBool>`${column} = ${value}`,
  contains: (text, needle) => sql<SqlBool>`strpos(${text}, ${needle}) > 0`,
  startsWith: (text, prefix) => sql<SqlBool>`left(${text}, ${codePoints(prefix)}) = ${prefix}`,
  endsWith: (text, suffix) => sql<SqlBool>`right(${text}, ${codePoints(suffix)}) = ${suffix}`,
  // Parenthesised: COLLATE binds tighter than `->>`, and would otherwise attach to the key literal.
  codePointOrder: (text) => sql<string | null>`(${text}) COLLATE "C"`,
};

import type { Compilable, CompiledQuery, Kysely, QueryResult } from 'kysely';
import type { Database } from './tables.js';

/**
 * A Kysely query built and compiled once, then run with new values: the hot statements (get by
 * id, allocate a revision, insert a user, append a change, find a token) skip the builder and the
 * compiler, which cost more than SQLite's own work on an indexed lookup. The SQLite driver then
 * finds the same SQL text in its statement cache, so the statement is not even re-parsed.
 *
 * The query is built with placeholder objects standing for the arguments; after compiling, each
 * bound parameter is either one of those (filled per call) or a constant of the query (kept).
 * Placeholders work wherever Kysely binds a value (`where(col, '=', p.id)`, `values({...})`,
 * `set({...})`); not where the value shapes the SQL (`in` lists, `is null`), so keep those out.
 *
 * @example
 *   const byId = prepare<{ tenant: string; id: string }, { seq: number }>((db, p) =>
 *     db.selectFrom('users').select('seq').where('tenant_id', '=', p.tenant).where('id', '=', p.id));
 *   const { rows } = await byId.execute(db, { tenant, id });
 */
export function prepare<Args extends Record<string, unknown>, Row>(
  build: (db: Kysely<Database>, params: Args) => Compilable<Row>,
): PreparedQuery<Args, Row> {
  return new PreparedQuery(build);
}

class Placeholder {
  constructor(readonly name: string) {}
}

type Slot = { readonly arg: string } | { readonly constant: unknown };

export class PreparedQuery<Args extends Record<string, unknown>, Row> {
  private compiled?: { readonly query: CompiledQuery<Row>; readonly slots: readonly Slot[] };

  constructor(private readonly build: (db: Kysely<Database>, params: Args) => Compilable<Row>) {}

  /**
   * INVARIANT: one `PreparedQuery` serves one dialect (the first `db` it runs on compiles it), so
   * each store makes its own set.
   */
  execute(db: Kysely<Database>, args: Args): Promise<QueryResult<Row>> {
    const { query, slots } = (this.compiled ??= this.compile(db));
    const parameters = slots.map((slot) => ('arg' in slot ? args[slot.arg] : slot.constant));
    return db.executeQuery<Row>({ query: query.query, queryId: query.queryId, sql: query.sql, parameters });
  }

  async rows(db: Kysely<Database>, args: Args): Promise<Row[]> {
    return (await this.execute(db, args)).rows;
  }

  async first(db: Kysely<Database>, args: Args): Promise<Row | undefined> {
    return (await this.execute(db, args)).rows[0];
  }

  private compile(db: Kysely<Database>) {
    const params = new Proxy({} as Args, { get: (_, name) => new Placeholder(String(name)) });
    const query = this.build(db, params).compile();
    const slots = query.parameters.map((p): Slot => (p instanceof Placeholder ? { arg: p.name } : { constant: p }));
    return { query, slots };
  }
}

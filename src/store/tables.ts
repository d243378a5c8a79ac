import type { ColumnType, Generated } from 'kysely';

/**
 * The Kysely view of the schema in `migrations/{sqlite,postgres}/*.sql`. One type serves both
 * dialects, so the columns whose storage differs say so in their read type:
 *
 * - JSON columns (`doc`, `actor`, `change`) are TEXT in SQLite and JSONB in PostgreSQL: written as JSON
 *   text (PostgreSQL casts it), read back as a string or an already parsed value (`decodeJson`).
 * - `active` is INTEGER 0/1 in SQLite and BOOLEAN in PostgreSQL: written through the backend's
 *   `bool` adapter.
 * - BIGINT columns read as numbers: the PostgreSQL pool parses int8 as a number when it is safe.
 */
export interface Database {
  tenants: TenantsTable;
  tokens: TokensTable;
  users: UsersTable;
  groups: GroupsTable;
  group_members: GroupMembersTable;
  changes: ChangesTable;
  policy_objects: PolicyObjectsTable;
  schema_migrations: SchemaMigrationsTable;
}

type Json = ColumnType<unknown, string, string>;
type Bool = ColumnType<number | boolean, number | boolean, number | boolean>;

export interface TenantsTable {
  id: string;
  name: string;
  revision: ColumnType<number, number | undefined, number>;
  created_at: string;
}

export interface TokensTable {
  id: string;
  tenant_id: string;
  name: string;
  scope: string;
  hash: string;
  created_at: string;
  revoked_at: string | null;
}

export interface UsersTable {
  seq: Generated<number>;
  tenant_id: string;
  id: string;
  user_name: string;
  user_name_lc: string;
  external_id: string | null;
  display_name: string | null;
  active: Bool;
  doc: Json;
  version: number;
  created: string;
  last_modified: string;
}

export interface GroupsTable {
  seq: Generated<number>;
  tenant_id: string;
  id: string;
  display_name: string;
  display_name_lc: string;
  external_id: string | null;
  doc: Json;
  version: number;
  created: string;
  last_modified: string;
}

export interface GroupMembersTable {
  tenant_id: string;
  group_id: string;
  member_id: string;
  member_type: 'User' | 'Group';
}

export interface ChangesTable {
  tenant_id: string;
  revision: number;
  at: string;
  actor: Json;
  change: Json;
}

export interface PolicyObjectsTable {
  tenant_id: string;
  kind: string;
  id: string;
  doc: Json;
  version: number;
  created: string;
  last_modified: string;
}

export interface SchemaMigrationsTable {
  version: string;
  applied_at: string;
}

/** JSON columns come back as text from SQLite and parsed from PostgreSQL; this accepts both. */
export function decodeJson<T>(value: unknown): T {
  return (typeof value === 'string' ? JSON.parse(value) : value) as T;
}

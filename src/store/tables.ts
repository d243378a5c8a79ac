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
  change_refs: ChangeRefsTable;
  audit_checkpoints: AuditCheckpointsTable;
  access_changes: AccessChangesTable;
  audit_cursors: AuditCursorsTable;
  history_snapshots: HistorySnapshotsTable;
  webhook_subscriptions: WebhookSubscriptionsTable;
  webhook_deliveries: WebhookDeliveriesTable;
  webhook_attempts: WebhookAttemptsTable;
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
  /** Null only between the audit migration and the store's first open (which fills them). */
  hash: string | null;
  /** `User`, `Group`, or the policy object kind (`role`, `binding`…). */
  kind: string | null;
  /** The resource id or policy object id. */
  subject_id: string | null;
  actor_token: string | null;
}

export interface ChangeRefsTable {
  tenant_id: string;
  ref_id: string;
  revision: number;
}

export interface AuditCheckpointsTable {
  tenant_id: string;
  revision: number;
  hash: string;
  at: string;
  sealed: Bool;
  key_id: string;
  public_key: string;
  signature: string;
}

export interface AccessChangesTable {
  tenant_id: string;
  revision: number;
  seq: number;
  at: string;
  user_id: string;
  permission: string;
  scope: string;
  effect: string;
  change: string;
  /** JSON text on both backends (the cause, role path, condition, expiry). */
  detail: string;
}

export interface AuditCursorsTable {
  tenant_id: string;
  name: string;
  position: string;
}

export interface HistorySnapshotsTable {
  tenant_id: string;
  revision: number;
  state: Buffer;
}

export interface WebhookSubscriptionsTable {
  tenant_id: string;
  id: string;
  url: string;
  secret: string;
  /** JSON text: the event type patterns. */
  events: string;
  format: string;
  active: Bool;
  created: string;
}

export interface WebhookDeliveriesTable {
  id: string;
  tenant_id: string;
  subscription_id: string;
  event_id: string;
  event_type: string;
  payload: string;
  status: string;
  attempts: number;
  next_attempt_at: string;
  last_attempt_at: string | null;
  last_status: number | null;
  last_error: string | null;
  created: string;
}

export interface WebhookAttemptsTable {
  delivery_id: string;
  attempt: number;
  at: string;
  status: number | null;
  error: string | null;
  duration_ms: number;
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

-- Scimitar initial schema (SQLite). Column names and meanings are shared with the PostgreSQL
-- migration and with src/store/sql/compile-filter.ts: change them in all three places or none.
-- Timestamps are ISO 8601 UTC text with milliseconds, so text order is time order.

CREATE TABLE tenants (
  id         TEXT PRIMARY KEY,
  name       TEXT NOT NULL UNIQUE,
  revision   INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL
);

CREATE TABLE tokens (
  id         TEXT PRIMARY KEY,
  tenant_id  TEXT NOT NULL REFERENCES tenants (id),
  name       TEXT NOT NULL,
  scope      TEXT NOT NULL,
  hash       TEXT NOT NULL UNIQUE,
  created_at TEXT NOT NULL,
  revoked_at TEXT
);
CREATE INDEX tokens_tenant ON tokens (tenant_id);

-- seq: creation order, the stable tiebreak of every listing and the keyset of cursor walks.
-- AUTOINCREMENT so a seq is never reused after a delete (a cursor never sees a new row behind it).
CREATE TABLE users (
  seq           INTEGER PRIMARY KEY AUTOINCREMENT,
  tenant_id     TEXT NOT NULL,
  id            TEXT NOT NULL,
  user_name     TEXT NOT NULL,
  user_name_lc  TEXT NOT NULL,
  external_id   TEXT,
  display_name  TEXT,
  active        INTEGER NOT NULL,
  doc           TEXT NOT NULL,
  version       INTEGER NOT NULL,
  created       TEXT NOT NULL,
  last_modified TEXT NOT NULL,
  UNIQUE (tenant_id, id),
  UNIQUE (tenant_id, user_name_lc)
);
CREATE INDEX users_tenant_seq ON users (tenant_id, seq);
CREATE INDEX users_tenant_external_id ON users (tenant_id, external_id);

CREATE TABLE groups (
  seq             INTEGER PRIMARY KEY AUTOINCREMENT,
  tenant_id       TEXT NOT NULL,
  id              TEXT NOT NULL,
  display_name    TEXT NOT NULL,
  display_name_lc TEXT NOT NULL,
  external_id     TEXT,
  doc             TEXT NOT NULL,
  version         INTEGER NOT NULL,
  created         TEXT NOT NULL,
  last_modified   TEXT NOT NULL,
  UNIQUE (tenant_id, id)
);
CREATE INDEX groups_tenant_seq ON groups (tenant_id, seq);
CREATE INDEX groups_tenant_display_name_lc ON groups (tenant_id, display_name_lc);
CREATE INDEX groups_tenant_external_id ON groups (tenant_id, external_id);

CREATE TABLE group_members (
  tenant_id   TEXT NOT NULL,
  group_id    TEXT NOT NULL,
  member_id   TEXT NOT NULL,
  member_type TEXT NOT NULL CHECK (member_type IN ('User', 'Group')),
  PRIMARY KEY (tenant_id, group_id, member_id)
);
CREATE INDEX group_members_tenant_member ON group_members (tenant_id, member_id);

CREATE TABLE changes (
  tenant_id TEXT NOT NULL,
  revision  INTEGER NOT NULL,
  at        TEXT NOT NULL,
  actor     TEXT NOT NULL,
  change    TEXT NOT NULL,
  PRIMARY KEY (tenant_id, revision)
);

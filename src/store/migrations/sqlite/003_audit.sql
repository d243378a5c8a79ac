-- The audit trail (issue 4). The change log (`changes`) is the audit log: each row gains the hash
-- that chains it to the row before (src/audit/chain.ts says what is hashed), its kind, subject and
-- actor token as columns for queries, and `change_refs` names every id a change touches (the
-- resource, added and removed members, a policy object's subjects and scope), so "everything about
-- user U" is an index lookup. Rows written before this migration are hashed when the store opens.

ALTER TABLE changes ADD COLUMN hash TEXT;
ALTER TABLE changes ADD COLUMN kind TEXT;
ALTER TABLE changes ADD COLUMN subject_id TEXT;
ALTER TABLE changes ADD COLUMN actor_token TEXT;
-- Time travel maps an instant to the last entry written by then: one index step, not a scan.
CREATE INDEX changes_tenant_at ON changes (tenant_id, at, revision);

CREATE TABLE change_refs (
  tenant_id TEXT NOT NULL,
  ref_id    TEXT NOT NULL,
  revision  INTEGER NOT NULL,
  PRIMARY KEY (tenant_id, ref_id, revision)
);

-- Signed checkpoints of the chain head. A `sealed` one also marks the retention horizon: the
-- entries up to its revision were removed, and the chain goes on from its hash.
CREATE TABLE audit_checkpoints (
  tenant_id  TEXT NOT NULL,
  revision   INTEGER NOT NULL,
  hash       TEXT NOT NULL,
  at         TEXT NOT NULL,
  sealed     INTEGER NOT NULL,
  key_id     TEXT NOT NULL,
  public_key TEXT NOT NULL,
  signature  TEXT NOT NULL,
  PRIMARY KEY (tenant_id, revision, sealed)
);

-- Access changes derived from the log (user U gained or lost permission P on scope S), several per
-- revision. Written by the deriver together with its cursor (`audit_cursors`, name 'derive').
CREATE TABLE access_changes (
  tenant_id  TEXT NOT NULL,
  revision   INTEGER NOT NULL,
  seq        INTEGER NOT NULL,
  at         TEXT NOT NULL,
  user_id    TEXT NOT NULL,
  permission TEXT NOT NULL,
  scope      TEXT NOT NULL,
  effect     TEXT NOT NULL,
  change     TEXT NOT NULL,
  detail     TEXT NOT NULL,
  PRIMARY KEY (tenant_id, revision, seq)
);
CREATE INDEX access_changes_user ON access_changes (tenant_id, user_id, permission, revision);

CREATE TABLE audit_cursors (
  tenant_id TEXT NOT NULL,
  name      TEXT NOT NULL,
  position  TEXT NOT NULL,
  PRIMARY KEY (tenant_id, name)
);

-- The whole tenant state at a revision (gzip of JSON), so time travel replays from the nearest one
-- instead of from revision 1, and so a seal keeps the state its removed entries led to.
CREATE TABLE history_snapshots (
  tenant_id TEXT NOT NULL,
  revision  INTEGER NOT NULL,
  state     BLOB NOT NULL,
  PRIMARY KEY (tenant_id, revision)
);

CREATE TABLE webhook_subscriptions (
  tenant_id  TEXT NOT NULL,
  id         TEXT NOT NULL,
  url        TEXT NOT NULL,
  secret     TEXT NOT NULL,
  events     TEXT NOT NULL,
  format     TEXT NOT NULL,
  active     INTEGER NOT NULL,
  created    TEXT NOT NULL,
  PRIMARY KEY (tenant_id, id)
);

CREATE TABLE webhook_deliveries (
  id              TEXT PRIMARY KEY,
  tenant_id       TEXT NOT NULL,
  subscription_id TEXT NOT NULL,
  event_id        TEXT NOT NULL,
  event_type      TEXT NOT NULL,
  payload         TEXT NOT NULL,
  status          TEXT NOT NULL,
  attempts        INTEGER NOT NULL,
  next_attempt_at TEXT NOT NULL,
  last_attempt_at TEXT,
  last_status     INTEGER,
  last_error      TEXT,
  created         TEXT NOT NULL,
  UNIQUE (subscription_id, event_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX webhook_deliveries_subscription ON webhook_deliveries (tenant_id, subscription_id, created);

CREATE TABLE webhook_attempts (
  delivery_id TEXT NOT NULL,
  attempt     INTEGER NOT NULL,
  at          TEXT NOT NULL,
  status      INTEGER,
  error       TEXT,
  duration_ms INTEGER NOT NULL,
  PRIMARY KEY (delivery_id, attempt)
);

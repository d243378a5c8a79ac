-- The permission model's objects (resource types, resources, roles, bindings, group mappings,
-- attribute rules, temporary grants). The store does not interpret `kind` or `doc`: authz/model.ts
-- does. `version` is the tenant revision of the write that last changed the object.
-- kind and id order by code point (COLLATE "C", SQLite's binary order) whatever the database's
-- collation, so `policy()` lists in the same order on both backends, straight from the key.

CREATE TABLE policy_objects (
  tenant_id     TEXT NOT NULL,
  kind          TEXT COLLATE "C" NOT NULL,
  id            TEXT COLLATE "C" NOT NULL,
  doc           JSONB NOT NULL,
  version       BIGINT NOT NULL,
  created       TEXT NOT NULL,
  last_modified TEXT NOT NULL,
  PRIMARY KEY (tenant_id, kind, id)
);

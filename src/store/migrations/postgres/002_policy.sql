-- The permission model's objects (resource types, resources, roles, bindings, group mappings,
-- attribute rules, temporary grants). The store does not interpret `kind` or `doc`: authz/model.ts
-- does. `version` is the tenant revision of the write that last changed the object.

CREATE TABLE policy_objects (
  tenant_id     TEXT NOT NULL,
  kind          TEXT NOT NULL,
  id            TEXT NOT NULL,
  doc           JSONB NOT NULL,
  version       BIGINT NOT NULL,
  created       TEXT NOT NULL,
  last_modified TEXT NOT NULL,
  PRIMARY KEY (tenant_id, kind, id)
);

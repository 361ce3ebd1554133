-- Leases: when each owner (by its keyed tag) last renewed; its objects go once the lease runs out.
CREATE TABLE leases (
  owner_tag     BLOB PRIMARY KEY CHECK (length(owner_tag) = 32),
  renewed_at_ms INTEGER NOT NULL CHECK (renewed_at_ms >= 0)
) STRICT, WITHOUT ROWID;

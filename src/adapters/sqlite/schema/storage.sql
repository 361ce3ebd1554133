-- The current schema of the storage catalog, as all storage migrations together produce it (a test compares).
CREATE TABLE stored_objects (
  object_tag  BLOB PRIMARY KEY CHECK (length(object_tag) = 32),
  sender_tag  BLOB NOT NULL CHECK (length(sender_tag) = 32),
  owner_tag   BLOB NOT NULL CHECK (length(owner_tag) = 32),
  size_bytes  INTEGER NOT NULL CHECK (size_bytes > 0),
  sealed_meta BLOB NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX stored_objects_by_sender ON stored_objects (sender_tag);

CREATE TABLE pinned_owners (
  owner_tag BLOB PRIMARY KEY CHECK (length(owner_tag) = 32),
  sealed    BLOB NOT NULL
) STRICT, WITHOUT ROWID;
CREATE TABLE pointers (
  locator_tag BLOB PRIMARY KEY CHECK (length(locator_tag) = 32),
  seq         INTEGER NOT NULL CHECK (seq > 0),
  sealed      BLOB NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE blobs (
  blob_tag    BLOB PRIMARY KEY CHECK (length(blob_tag) = 32),
  locator_tag BLOB NOT NULL CHECK (length(locator_tag) = 32),
  size_bytes  INTEGER NOT NULL CHECK (size_bytes > 0)
) STRICT, WITHOUT ROWID;
CREATE INDEX blobs_by_locator ON blobs (locator_tag);

CREATE TABLE leases (
  owner_tag     BLOB PRIMARY KEY CHECK (length(owner_tag) = 32),
  renewed_at_ms INTEGER NOT NULL CHECK (renewed_at_ms >= 0)
) STRICT, WITHOUT ROWID;

CREATE TABLE quotas (
  sender_tag BLOB PRIMARY KEY CHECK (length(sender_tag) = 32),
  bytes      INTEGER NOT NULL CHECK (bytes >= 0)
) STRICT, WITHOUT ROWID;

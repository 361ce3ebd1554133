-- Share pointers and public blobs kept under owners' locator keys.
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

-- Shares and their backup state; snapshots now keep the whole summary (root manifest refs and
-- counts) as JSON in the catalog format. The version 1 snapshots table was never written by a
-- released program, so it is replaced rather than converted.
DROP TABLE snapshots;
CREATE TABLE snapshots (
  share_id      BLOB NOT NULL CHECK (length(share_id) = 16),
  seq           INTEGER NOT NULL CHECK (seq >= 1),
  created_at_ms INTEGER NOT NULL,
  file_count    INTEGER NOT NULL,
  total_bytes   INTEGER NOT NULL,
  summary       TEXT NOT NULL,
  PRIMARY KEY (share_id, seq)
) STRICT, WITHOUT ROWID;

CREATE TABLE shares (
  share_id       BLOB PRIMARY KEY CHECK (length(share_id) = 16),
  name           TEXT NOT NULL UNIQUE,
  path           TEXT,
  copies         INTEGER NOT NULL CHECK (copies BETWEEN 1 AND 16),
  schedule       TEXT,
  watch          INTEGER NOT NULL CHECK (watch IN (0, 1)),
  wrapped_key    BLOB,
  pointer_seq    INTEGER NOT NULL DEFAULT 0,
  pending_backup INTEGER NOT NULL DEFAULT 0 CHECK (pending_backup IN (0, 1)),
  last_backup_ms INTEGER,
  last_result    TEXT,
  created_at_ms  INTEGER NOT NULL,
  CHECK ((path IS NULL) = (wrapped_key IS NOT NULL))
) STRICT;

-- The current schema of the owner index, as all migrations together produce it (a test compares).
CREATE TABLE packs (
  pack_id       BLOB PRIMARY KEY CHECK (length(pack_id) = 32),
  share_id      BLOB NOT NULL CHECK (length(share_id) = 16),
  size_bytes    INTEGER NOT NULL CHECK (size_bytes > 0),
  merkle_root   BLOB NOT NULL CHECK (length(merkle_root) = 32),
  chunk_count   INTEGER NOT NULL CHECK (chunk_count > 0),
  created_at_ms INTEGER NOT NULL,
  state         TEXT NOT NULL CHECK (state IN ('spooled', 'replicating', 'replicated'))
) STRICT;
CREATE INDEX packs_by_share ON packs (share_id);

CREATE TABLE chunks (
  share_id     BLOB NOT NULL,
  chunk_id     BLOB NOT NULL CHECK (length(chunk_id) = 32),
  pack_id      BLOB NOT NULL REFERENCES packs (pack_id),
  offset_bytes INTEGER NOT NULL CHECK (offset_bytes >= 0),
  sealed_bytes INTEGER NOT NULL CHECK (sealed_bytes > 0),
  plain_bytes  INTEGER NOT NULL CHECK (plain_bytes >= 0),
  PRIMARY KEY (share_id, chunk_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX chunks_by_pack ON chunks (pack_id);

CREATE TABLE files (
  share_id   BLOB NOT NULL,
  path       TEXT NOT NULL,
  size_bytes INTEGER NOT NULL CHECK (size_bytes >= 0),
  mtime_ms   REAL NOT NULL,
  inode      INTEGER NOT NULL,
  mode       INTEGER NOT NULL,
  chunk_ids  BLOB NOT NULL CHECK (length(chunk_ids) % 32 = 0),
  PRIMARY KEY (share_id, path)
) STRICT, WITHOUT ROWID;

CREATE TABLE snapshots (
  snapshot_id   BLOB PRIMARY KEY,
  share_id      BLOB NOT NULL,
  seq           INTEGER NOT NULL,
  created_at_ms INTEGER NOT NULL,
  root_chunk_id BLOB NOT NULL CHECK (length(root_chunk_id) = 32),
  file_count    INTEGER NOT NULL,
  total_bytes   INTEGER NOT NULL,
  UNIQUE (share_id, seq)
) STRICT;

CREATE TABLE peers (
  node_id          BLOB PRIMARY KEY CHECK (length(node_id) = 32),
  url              TEXT NOT NULL,
  cert_fingerprint BLOB NOT NULL,
  first_seen_ms    INTEGER NOT NULL,
  last_seen_ms     INTEGER NOT NULL,
  state            TEXT NOT NULL CHECK (state IN ('active', 'failing', 'blocked'))
) STRICT;

CREATE TABLE replicas (
  pack_id       BLOB NOT NULL REFERENCES packs (pack_id),
  node_id       BLOB NOT NULL REFERENCES peers (node_id),
  receipt       BLOB NOT NULL,
  stored_at_ms  INTEGER NOT NULL,
  last_audit_ms INTEGER,
  status        TEXT NOT NULL CHECK (status IN ('stored', 'healthy', 'bad', 'lost')),
  PRIMARY KEY (pack_id, node_id)
) STRICT, WITHOUT ROWID;

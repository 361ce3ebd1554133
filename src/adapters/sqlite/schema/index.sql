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
  share_id      BLOB NOT NULL CHECK (length(share_id) = 16),
  seq           INTEGER NOT NULL CHECK (seq >= 1),
  created_at_ms INTEGER NOT NULL,
  file_count    INTEGER NOT NULL,
  total_bytes   INTEGER NOT NULL,
  summary       TEXT NOT NULL,
  PRIMARY KEY (share_id, seq)
) STRICT, WITHOUT ROWID;

CREATE TABLE peers (
  node_id          BLOB PRIMARY KEY CHECK (length(node_id) = 32),
  url              TEXT NOT NULL,
  cert_fingerprint BLOB NOT NULL,
  first_seen_ms    INTEGER NOT NULL,
  last_seen_ms     INTEGER NOT NULL,
  state            TEXT NOT NULL CHECK (state IN ('active', 'failing', 'blocked'))
, audits_passed INTEGER NOT NULL DEFAULT 0 CHECK (audits_passed >= 0), audits_failed INTEGER NOT NULL DEFAULT 0 CHECK (audits_failed >= 0), consecutive_failures INTEGER NOT NULL DEFAULT 0 CHECK (consecutive_failures >= 0), last_audit_ms INTEGER, last_audit_ok_ms INTEGER, score REAL NOT NULL DEFAULT 1.0 CHECK (score >= 0 AND score <= 1)) STRICT;

CREATE TABLE replicas (
  pack_id       BLOB NOT NULL REFERENCES packs (pack_id),
  node_id       BLOB NOT NULL REFERENCES peers (node_id),
  receipt       BLOB NOT NULL,
  stored_at_ms  INTEGER NOT NULL,
  last_audit_ms INTEGER,
  status        TEXT NOT NULL CHECK (status IN ('stored', 'healthy', 'bad', 'lost')), merkle_root BLOB, failures INTEGER NOT NULL DEFAULT 0 CHECK (failures >= 0),
  PRIMARY KEY (pack_id, node_id)
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

CREATE TABLE dir_trees (
  share_id BLOB NOT NULL,
  path     TEXT NOT NULL,
  mode     INTEGER NOT NULL CHECK (mode BETWEEN 0 AND 4095),
  mtime_ms REAL NOT NULL,
  entries  INTEGER NOT NULL CHECK (entries >= 0),
  tree     TEXT NOT NULL,
  PRIMARY KEY (share_id, path)
) STRICT, WITHOUT ROWID;

CREATE TABLE manifest_chunks (
  share_id BLOB NOT NULL,
  chunk_id BLOB NOT NULL CHECK (length(chunk_id) = 32),
  bytes    BLOB NOT NULL,
  PRIMARY KEY (share_id, chunk_id)
) STRICT, WITHOUT ROWID;

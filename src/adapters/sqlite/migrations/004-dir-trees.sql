-- Folder manifests of each share's last snapshot: a rescan reuses the manifest of a folder whose
-- entries are all unchanged instead of encoding and sealing it again. Cleared when a run starts
-- and written after its last pack is committed, so a crash leaves none that could be stale.
CREATE TABLE dir_trees (
  share_id BLOB NOT NULL,
  path     TEXT NOT NULL,
  mode     INTEGER NOT NULL CHECK (mode BETWEEN 0 AND 4095),
  mtime_ms REAL NOT NULL,
  entries  INTEGER NOT NULL CHECK (entries >= 0),
  tree     TEXT NOT NULL,
  PRIMARY KEY (share_id, path)
) STRICT, WITHOUT ROWID;

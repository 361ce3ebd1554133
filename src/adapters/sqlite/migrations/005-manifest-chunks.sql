-- The plaintext of the chunks of each share's newest folder manifests, by chunk id: a restore or
-- a listing reads them here instead of asking peers for them (with a proof first). Content-
-- addressed (a chunk id is the keyed hash of its plaintext, checked on every read), so a row is
-- never stale; each snapshot run keeps only those its manifests name.
CREATE TABLE manifest_chunks (
  share_id BLOB NOT NULL,
  chunk_id BLOB NOT NULL CHECK (length(chunk_id) = 32),
  bytes    BLOB NOT NULL,
  PRIMARY KEY (share_id, chunk_id)
) STRICT, WITHOUT ROWID;

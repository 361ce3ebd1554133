-- Audits: each peer's audit history and score, each replica's own Merkle root (a pack rebuilt
-- from source files has new nonces, so its copies may differ in bytes) and consecutive failures.
ALTER TABLE peers ADD COLUMN audits_passed INTEGER NOT NULL DEFAULT 0 CHECK (audits_passed >= 0);
ALTER TABLE peers ADD COLUMN audits_failed INTEGER NOT NULL DEFAULT 0 CHECK (audits_failed >= 0);
ALTER TABLE peers ADD COLUMN consecutive_failures INTEGER NOT NULL DEFAULT 0 CHECK (consecutive_failures >= 0);
ALTER TABLE peers ADD COLUMN last_audit_ms INTEGER;
ALTER TABLE peers ADD COLUMN last_audit_ok_ms INTEGER;
ALTER TABLE peers ADD COLUMN score REAL NOT NULL DEFAULT 1.0 CHECK (score >= 0 AND score <= 1);
ALTER TABLE replicas ADD COLUMN merkle_root BLOB;
UPDATE replicas SET merkle_root = (SELECT p.merkle_root FROM packs p WHERE p.pack_id = replicas.pack_id);
ALTER TABLE replicas ADD COLUMN failures INTEGER NOT NULL DEFAULT 0 CHECK (failures >= 0);

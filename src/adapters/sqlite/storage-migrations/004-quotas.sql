-- Quotas the node's admin set for single senders (by keyed tag); others get the node's default.
CREATE TABLE quotas (
  sender_tag BLOB PRIMARY KEY CHECK (length(sender_tag) = 32),
  bytes      INTEGER NOT NULL CHECK (bytes >= 0)
) STRICT, WITHOUT ROWID;

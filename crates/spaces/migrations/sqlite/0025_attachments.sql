-- Attachments of notices and messages (issue #17): files sent with them, stored under their
-- SHA-256 in the file store. Keep in step with ../postgres/0025_attachments.sql.
CREATE TABLE attachments (
    id BLOB PRIMARY KEY NOT NULL,
    -- notice | message
    owner_kind TEXT NOT NULL CHECK (owner_kind IN ('notice', 'message')),
    owner_id BLOB NOT NULL,
    position BIGINT NOT NULL,
    file_name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    bytes BIGINT NOT NULL,
    blob_hash TEXT NOT NULL,
    uploaded_by BLOB NOT NULL REFERENCES persons (id),
    created_at TEXT NOT NULL
);
CREATE INDEX attachments_owner ON attachments (owner_kind, owner_id, position);

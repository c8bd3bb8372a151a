-- Security hardening (issue #15). A region may explicitly allow connected applications to
-- register plain-http redirect URIs on non-local hosts; by default only https (or a loopback
-- address, for development) is accepted.
ALTER TABLE auth_policies ADD COLUMN allow_http_redirects BOOLEAN NOT NULL DEFAULT FALSE;

-- Identifiers that carry a person's ID number (the registry number, a login name made of it)
-- reach a connected application only if its registration asks for them and its region allows
-- it; otherwise the application gets the opaque subject.
ALTER TABLE applications ADD COLUMN release_registry_no BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE auth_policies ADD COLUMN release_registry_no BOOLEAN NOT NULL DEFAULT FALSE;

-- The audit log is tamper-evident (docs/security.md): each server node (its `writer` name)
-- links the entries it wrote into a hash chain of its own, a link per batch; a daily anchor,
-- signed with a key kept outside the database, covers the heads of every chain; entries leave
-- only after they were archived to object storage under a verified anchor.
ALTER TABLE audit_log ADD COLUMN writer TEXT;
CREATE INDEX audit_log_writer_at ON audit_log (writer, at);

CREATE TABLE audit_chain (
    writer TEXT NOT NULL,
    seq BIGINT NOT NULL,
    at TEXT NOT NULL,
    entries BIGINT NOT NULL,
    -- SHA-256 over the link's entry hashes, in order
    entries_hash TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    PRIMARY KEY (writer, seq)
);

CREATE TABLE audit_chain_entries (
    entry_id BLOB PRIMARY KEY NOT NULL,
    writer TEXT NOT NULL,
    seq BIGINT NOT NULL,
    -- the entry's time; these rows stay when the entry is archived, so every link stays
    -- verifiable
    at TEXT NOT NULL,
    entry_hash TEXT NOT NULL
);
CREATE INDEX audit_chain_entries_link ON audit_chain_entries (writer, seq);

CREATE TABLE audit_anchors (
    id BLOB PRIMARY KEY NOT NULL,
    -- one a day (YYYY-MM-DD, UTC) from the maintenance job; on demand ones carry their time
    day TEXT NOT NULL UNIQUE,
    at TEXT NOT NULL,
    -- JSON: [{"writer", "seq", "hash"}], the signed payload's heads
    heads TEXT NOT NULL,
    key_id TEXT NOT NULL,
    signature TEXT NOT NULL
);

CREATE TABLE audit_archives (
    id BLOB PRIMARY KEY NOT NULL,
    -- every entry before this time is in the archive
    up_to TEXT NOT NULL,
    object_key TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    entries BIGINT NOT NULL,
    anchor_id BLOB NOT NULL REFERENCES audit_anchors (id),
    -- signed with the anchor key: a row written by anyone else does not verify
    signature TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TRIGGER audit_log_guard_delete BEFORE DELETE ON audit_log
WHEN OLD.at >= COALESCE((SELECT MAX(up_to) FROM audit_archives), '')
BEGIN
    SELECT RAISE(ABORT, 'audit_log: only archived entries may be removed');
END;
CREATE TRIGGER audit_chain_entries_append_only BEFORE UPDATE ON audit_chain_entries
BEGIN
    SELECT RAISE(ABORT, 'audit_chain_entries is append-only');
END;
CREATE TRIGGER audit_chain_entries_no_delete BEFORE DELETE ON audit_chain_entries
BEGIN
    SELECT RAISE(ABORT, 'audit_chain_entries is append-only');
END;
CREATE TRIGGER audit_chain_append_only BEFORE UPDATE ON audit_chain
BEGIN
    SELECT RAISE(ABORT, 'audit_chain is append-only');
END;
CREATE TRIGGER audit_chain_no_delete BEFORE DELETE ON audit_chain
BEGIN
    SELECT RAISE(ABORT, 'audit_chain is append-only');
END;
CREATE TRIGGER audit_anchors_append_only BEFORE UPDATE ON audit_anchors
BEGIN
    SELECT RAISE(ABORT, 'audit_anchors is append-only');
END;
CREATE TRIGGER audit_anchors_no_delete BEFORE DELETE ON audit_anchors
BEGIN
    SELECT RAISE(ABORT, 'audit_anchors is append-only');
END;
CREATE TRIGGER audit_archives_append_only BEFORE UPDATE ON audit_archives
BEGIN
    SELECT RAISE(ABORT, 'audit_archives is append-only');
END;
CREATE TRIGGER audit_archives_no_delete BEFORE DELETE ON audit_archives
BEGIN
    SELECT RAISE(ABORT, 'audit_archives is append-only');
END;

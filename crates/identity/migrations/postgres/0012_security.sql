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
-- only after they were archived to object storage under a verified anchor. Beside these
-- triggers, `jiaoyun audit grants` takes UPDATE, DELETE and TRUNCATE from the application's
-- role and gives DELETE of archived entries to a separate retention role.
ALTER TABLE audit_log ADD COLUMN writer TEXT;
CREATE INDEX audit_log_writer_at ON audit_log (writer, at);

CREATE TABLE audit_chain (
    writer TEXT NOT NULL,
    seq BIGINT NOT NULL,
    at TIMESTAMPTZ NOT NULL,
    entries BIGINT NOT NULL,
    entries_hash TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    PRIMARY KEY (writer, seq)
);

CREATE TABLE audit_chain_entries (
    entry_id UUID PRIMARY KEY NOT NULL,
    writer TEXT NOT NULL,
    seq BIGINT NOT NULL,
    at TIMESTAMPTZ NOT NULL,
    entry_hash TEXT NOT NULL
);
CREATE INDEX audit_chain_entries_link ON audit_chain_entries (writer, seq);

CREATE TABLE audit_anchors (
    id UUID PRIMARY KEY NOT NULL,
    day TEXT NOT NULL UNIQUE,
    at TIMESTAMPTZ NOT NULL,
    heads TEXT NOT NULL,
    key_id TEXT NOT NULL,
    signature TEXT NOT NULL
);

CREATE TABLE audit_archives (
    id UUID PRIMARY KEY NOT NULL,
    up_to TIMESTAMPTZ NOT NULL,
    object_key TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    entries BIGINT NOT NULL,
    anchor_id UUID NOT NULL REFERENCES audit_anchors (id),
    -- signed with the anchor key: a row written by anyone else does not verify
    signature TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE FUNCTION audit_guard_archived() RETURNS trigger AS $$
BEGIN
    IF OLD.at >= COALESCE((SELECT MAX(up_to) FROM audit_archives), '-infinity'::timestamptz) THEN
        RAISE EXCEPTION '%: only archived entries may be removed', TG_TABLE_NAME;
    END IF;
    RETURN OLD;
END;
$$ LANGUAGE plpgsql;

CREATE FUNCTION audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER audit_log_guard_delete BEFORE DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_guard_archived();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_chain_entries_append_only BEFORE UPDATE OR DELETE ON audit_chain_entries
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_chain_entries_no_truncate BEFORE TRUNCATE ON audit_chain_entries
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_chain_append_only BEFORE UPDATE OR DELETE ON audit_chain
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_chain_no_truncate BEFORE TRUNCATE ON audit_chain
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_anchors_append_only BEFORE UPDATE OR DELETE ON audit_anchors
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_anchors_no_truncate BEFORE TRUNCATE ON audit_anchors
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_archives_append_only BEFORE UPDATE OR DELETE ON audit_archives
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_archives_no_truncate BEFORE TRUNCATE ON audit_archives
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();

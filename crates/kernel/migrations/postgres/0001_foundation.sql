-- The foundation: organisation tree, people, accounts, roles, sessions, API tokens, audit log.
-- Keep in step with ../sqlite/0001_foundation.sql (a test compares the two).
-- Text columns searched by prefix ranges use COLLATE "C" so ranges follow code points.

CREATE TABLE org_nodes (
    id UUID PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('province', 'city', 'district', 'school', 'grade', 'class')),
    parent_id UUID REFERENCES org_nodes (id),
    name TEXT COLLATE "C" NOT NULL,
    code TEXT,
    school_type TEXT,
    stages TEXT,
    grade_code TEXT,
    entry_year BIGINT,
    school_id UUID REFERENCES org_nodes (id),
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX org_nodes_kind_code ON org_nodes (kind, code);
CREATE INDEX org_nodes_parent ON org_nodes (parent_id, name);
CREATE INDEX org_nodes_school ON org_nodes (school_id, kind);

CREATE TABLE org_closure (
    ancestor_id UUID NOT NULL REFERENCES org_nodes (id),
    descendant_id UUID NOT NULL REFERENCES org_nodes (id),
    depth BIGINT NOT NULL,
    PRIMARY KEY (ancestor_id, descendant_id)
);
CREATE INDEX org_closure_descendant ON org_closure (descendant_id, depth);

CREATE TABLE terms (
    id UUID PRIMARY KEY NOT NULL,
    region_id UUID NOT NULL REFERENCES org_nodes (id),
    school_year BIGINT NOT NULL,
    term BIGINT NOT NULL,
    starts_on DATE NOT NULL,
    ends_on DATE NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX terms_region_year_term ON terms (region_id, school_year, term);

CREATE TABLE persons (
    id UUID PRIMARY KEY NOT NULL,
    org_id UUID NOT NULL REFERENCES org_nodes (id),
    name TEXT COLLATE "C" NOT NULL,
    gender TEXT NOT NULL DEFAULT '0',
    id_number TEXT,
    phone TEXT,
    email TEXT,
    staff_no TEXT,
    registry_no TEXT,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX persons_org_name ON persons (org_id, name);
CREATE INDEX persons_name ON persons (name);
CREATE UNIQUE INDEX persons_org_staff_no ON persons (org_id, staff_no);
CREATE UNIQUE INDEX persons_registry_no ON persons (registry_no);
CREATE INDEX persons_staff_no ON persons (staff_no);

CREATE TABLE accounts (
    person_id UUID PRIMARY KEY NOT NULL REFERENCES persons (id),
    username TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    must_change_password BOOLEAN NOT NULL DEFAULT FALSE,
    locale TEXT NOT NULL DEFAULT 'zh-CN',
    failed_logins BIGINT NOT NULL DEFAULT 0,
    locked_until TIMESTAMPTZ,
    last_login_at TIMESTAMPTZ,
    password_changed_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX accounts_username ON accounts (username);

CREATE TABLE role_assignments (
    id UUID PRIMARY KEY NOT NULL,
    person_id UUID NOT NULL REFERENCES persons (id),
    role TEXT NOT NULL CHECK (role IN ('admin', 'teacher', 'head_teacher', 'student', 'guardian')),
    node_id UUID NOT NULL REFERENCES org_nodes (id),
    subject TEXT,
    student_id UUID REFERENCES persons (id),
    relation TEXT,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX role_assignments_person ON role_assignments (person_id);
CREATE INDEX role_assignments_node_role ON role_assignments (node_id, role);
CREATE INDEX role_assignments_student ON role_assignments (student_id);

CREATE TABLE sessions (
    id UUID PRIMARY KEY NOT NULL,
    token_hash TEXT NOT NULL,
    person_id UUID NOT NULL REFERENCES persons (id),
    csrf_token TEXT NOT NULL,
    ip TEXT,
    user_agent TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    last_seen_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    ended_at TIMESTAMPTZ,
    end_reason TEXT
);
CREATE UNIQUE INDEX sessions_token_hash ON sessions (token_hash);
CREATE INDEX sessions_person ON sessions (person_id);

CREATE TABLE api_tokens (
    id UUID PRIMARY KEY NOT NULL,
    person_id UUID NOT NULL REFERENCES persons (id),
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ,
    last_used_at TIMESTAMPTZ,
    revoked_at TIMESTAMPTZ
);
CREATE UNIQUE INDEX api_tokens_token_hash ON api_tokens (token_hash);
CREATE INDEX api_tokens_person ON api_tokens (person_id);

CREATE TABLE audit_log (
    id UUID PRIMARY KEY NOT NULL,
    at TIMESTAMPTZ NOT NULL,
    actor_id UUID,
    actor_name TEXT,
    ip TEXT,
    user_agent TEXT,
    action TEXT NOT NULL,
    object_type TEXT,
    object_id TEXT,
    node_id UUID,
    outcome TEXT NOT NULL,
    request_id TEXT,
    detail TEXT
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_node_at ON audit_log (node_id, at);
CREATE INDEX audit_log_actor_at ON audit_log (actor_id, at);

CREATE FUNCTION audit_log_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

-- The foundation: organisation tree, people, accounts, roles, sessions, API tokens, audit log.
-- Keep in step with ../postgres/0001_foundation.sql (a test compares the two).

CREATE TABLE org_nodes (
    id BLOB PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('province', 'city', 'district', 'school', 'grade', 'class')),
    parent_id BLOB REFERENCES org_nodes (id),
    name TEXT NOT NULL,
    -- GB/T 2260 division code (regions) or 10-digit school code (schools)
    code TEXT,
    -- schools: one of the school types; grades and classes: NULL
    school_type TEXT,
    -- schools: comma-separated stages; grades and classes: their stage
    stages TEXT,
    -- grades and classes: the JY/T 1001 grade code
    grade_code TEXT,
    -- classes: the school year the class entered (2025 for the 2025-2026 cohort)
    entry_year BIGINT,
    -- grades and classes: their school
    school_id BLOB REFERENCES org_nodes (id),
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX org_nodes_kind_code ON org_nodes (kind, code);
CREATE INDEX org_nodes_parent ON org_nodes (parent_id, name);
CREATE INDEX org_nodes_school ON org_nodes (school_id, kind);

-- Every ancestor of every node (itself included, depth 0).
CREATE TABLE org_closure (
    ancestor_id BLOB NOT NULL REFERENCES org_nodes (id),
    descendant_id BLOB NOT NULL REFERENCES org_nodes (id),
    depth BIGINT NOT NULL,
    PRIMARY KEY (ancestor_id, descendant_id)
);
CREATE INDEX org_closure_descendant ON org_closure (descendant_id, depth);

CREATE TABLE terms (
    id BLOB PRIMARY KEY NOT NULL,
    region_id BLOB NOT NULL REFERENCES org_nodes (id),
    school_year BIGINT NOT NULL,
    term BIGINT NOT NULL,
    starts_on TEXT NOT NULL,
    ends_on TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE UNIQUE INDEX terms_region_year_term ON terms (region_id, school_year, term);

CREATE TABLE persons (
    id BLOB PRIMARY KEY NOT NULL,
    -- the owning node: the school (or the region, for regional staff)
    org_id BLOB NOT NULL REFERENCES org_nodes (id),
    name TEXT NOT NULL,
    -- GB/T 2261.1
    gender TEXT NOT NULL DEFAULT '0',
    id_number TEXT,
    phone TEXT,
    email TEXT,
    staff_no TEXT,
    registry_no TEXT,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX persons_org_name ON persons (org_id, name);
CREATE INDEX persons_name ON persons (name);
CREATE UNIQUE INDEX persons_org_staff_no ON persons (org_id, staff_no);
CREATE UNIQUE INDEX persons_registry_no ON persons (registry_no);
CREATE INDEX persons_staff_no ON persons (staff_no);

CREATE TABLE accounts (
    person_id BLOB PRIMARY KEY NOT NULL REFERENCES persons (id),
    username TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    must_change_password BOOLEAN NOT NULL DEFAULT FALSE,
    locale TEXT NOT NULL DEFAULT 'zh-CN',
    failed_logins BIGINT NOT NULL DEFAULT 0,
    locked_until TEXT,
    last_login_at TEXT,
    password_changed_at TEXT,
    created_at TEXT NOT NULL
);
CREATE UNIQUE INDEX accounts_username ON accounts (username);

CREATE TABLE role_assignments (
    id BLOB PRIMARY KEY NOT NULL,
    person_id BLOB NOT NULL REFERENCES persons (id),
    role TEXT NOT NULL CHECK (role IN ('admin', 'teacher', 'head_teacher', 'student', 'guardian')),
    node_id BLOB NOT NULL REFERENCES org_nodes (id),
    -- teachers: the subject (JY/T 1001 course code)
    subject TEXT,
    -- guardians: the child
    student_id BLOB REFERENCES persons (id),
    -- guardians: GB/T 4761 relationship code
    relation TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX role_assignments_person ON role_assignments (person_id);
CREATE INDEX role_assignments_node_role ON role_assignments (node_id, role);
CREATE INDEX role_assignments_student ON role_assignments (student_id);

CREATE TABLE sessions (
    id BLOB PRIMARY KEY NOT NULL,
    token_hash TEXT NOT NULL,
    person_id BLOB NOT NULL REFERENCES persons (id),
    csrf_token TEXT NOT NULL,
    ip TEXT,
    user_agent TEXT,
    created_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    ended_at TEXT,
    end_reason TEXT
);
CREATE UNIQUE INDEX sessions_token_hash ON sessions (token_hash);
CREATE INDEX sessions_person ON sessions (person_id);

CREATE TABLE api_tokens (
    id BLOB PRIMARY KEY NOT NULL,
    person_id BLOB NOT NULL REFERENCES persons (id),
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT,
    last_used_at TEXT,
    revoked_at TEXT
);
CREATE UNIQUE INDEX api_tokens_token_hash ON api_tokens (token_hash);
CREATE INDEX api_tokens_person ON api_tokens (person_id);

CREATE TABLE audit_log (
    id BLOB PRIMARY KEY NOT NULL,
    at TEXT NOT NULL,
    actor_id BLOB,
    actor_name TEXT,
    ip TEXT,
    user_agent TEXT,
    action TEXT NOT NULL,
    object_type TEXT,
    object_id TEXT,
    -- the node whose administrators may read this entry
    node_id BLOB,
    outcome TEXT NOT NULL,
    request_id TEXT,
    detail TEXT
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_node_at ON audit_log (node_id, at);
CREATE INDEX audit_log_actor_at ON audit_log (actor_id, at);

-- The audit log is append-only: only the retention purge deletes, nothing updates.
CREATE TRIGGER audit_log_append_only BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

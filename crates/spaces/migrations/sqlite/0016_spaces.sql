-- Learning spaces (issue #17): a space for each region, school, class, teacher, student and
-- guardian, opened (开通) by its owner or for them by an administrator; its columns (栏目), the
-- platform's default set per kind plus those a region adds; posts and comments with their
-- visibility. Keep in step with ../postgres/0016_spaces.sql (a test compares the two).

CREATE TABLE spaces (
    id BLOB PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('region', 'school', 'class', 'teacher', 'student', 'guardian')),
    -- a region's, school's or class's space: that node; a person's: the school (or region) they belong to
    node_id BLOB NOT NULL REFERENCES org_nodes (id),
    person_id BLOB REFERENCES persons (id),
    title TEXT NOT NULL,
    intro TEXT NOT NULL DEFAULT '',
    opened_at TEXT NOT NULL,
    -- the owner, or the administrator who opened it for them
    opened_by BLOB NOT NULL REFERENCES persons (id),
    visits BIGINT NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX spaces_of_node ON spaces (node_id) WHERE person_id IS NULL;
CREATE UNIQUE INDEX spaces_of_person ON spaces (person_id, kind) WHERE person_id IS NOT NULL;
CREATE INDEX spaces_node_kind ON spaces (node_id, kind);

-- Columns a region adds to every space of a kind in it (besides the platform's defaults).
CREATE TABLE column_templates (
    id BLOB PRIMARY KEY NOT NULL,
    region_id BLOB NOT NULL REFERENCES org_nodes (id),
    space_kind TEXT NOT NULL CHECK (space_kind IN ('region', 'school', 'class', 'teacher', 'student', 'guardian')),
    title TEXT NOT NULL,
    visibility TEXT NOT NULL CHECK (visibility IN ('region', 'school', 'class', 'private')),
    created_by BLOB NOT NULL REFERENCES persons (id),
    created_at TEXT NOT NULL
);
CREATE INDEX column_templates_region ON column_templates (region_id, space_kind);

CREATE TABLE space_columns (
    id BLOB PRIMARY KEY NOT NULL,
    space_id BLOB NOT NULL REFERENCES spaces (id),
    -- a default column's key (profile, reflections, archive, …), or NULL for a region's own
    key TEXT,
    template_id BLOB REFERENCES column_templates (id),
    title TEXT NOT NULL,
    -- posts | notices | homework | library | classes | research
    content TEXT NOT NULL,
    visibility TEXT NOT NULL CHECK (visibility IN ('region', 'school', 'class', 'private')),
    position BIGINT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE UNIQUE INDEX space_columns_key ON space_columns (space_id, key);
CREATE INDEX space_columns_space ON space_columns (space_id, position);

CREATE TABLE space_posts (
    id BLOB PRIMARY KEY NOT NULL,
    space_id BLOB NOT NULL REFERENCES spaces (id),
    column_id BLOB NOT NULL REFERENCES space_columns (id),
    author_id BLOB NOT NULL REFERENCES persons (id),
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    -- archive entries: qualification, title, training, honour, paper, open_lesson, project
    -- (a teacher's); work, award, activity, reflection, comment (a student's)
    category TEXT,
    occurred_on TEXT,
    visibility TEXT NOT NULL CHECK (visibility IN ('region', 'school', 'class', 'private')),
    -- published | held (for moderation) | removed
    state TEXT NOT NULL CHECK (state IN ('published', 'held', 'removed')),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX space_posts_column ON space_posts (column_id, created_at);
CREATE INDEX space_posts_space ON space_posts (space_id, created_at);
CREATE INDEX space_posts_author ON space_posts (author_id, created_at);

CREATE TABLE space_comments (
    id BLOB PRIMARY KEY NOT NULL,
    post_id BLOB NOT NULL REFERENCES space_posts (id),
    author_id BLOB NOT NULL REFERENCES persons (id),
    body TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('published', 'held', 'removed')),
    created_at TEXT NOT NULL
);
CREATE INDEX space_comments_post ON space_comments (post_id, created_at);

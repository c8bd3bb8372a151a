-- The shared teaching-resource library (issue #5): the textbook catalogue, files, resources,
-- their review and recommendation through the levels, quality signals, the search index's
-- change log, recommendations' inputs, and the notifications authors receive.
-- Keep in step with ../sqlite/0011_resources.sql (a test compares the two).

-- The catalogue: stage → subject → edition → volume → unit → section, maintained by a city or
-- district. Each node carries its ancestors' stage, subject, edition and volume, so a filter
-- or a facet needs no walk up the tree.
CREATE TABLE catalog_nodes (
    id UUID PRIMARY KEY NOT NULL,
    region_id UUID NOT NULL REFERENCES org_nodes (id),
    parent_id UUID REFERENCES catalog_nodes (id),
    kind TEXT NOT NULL CHECK (kind IN ('stage', 'subject', 'edition', 'volume', 'unit', 'section')),
    name TEXT NOT NULL,
    -- stage: primary | junior | senior …; subject: JY/T 1001 course code; edition: a short code
    code TEXT,
    stage TEXT NOT NULL,
    subject TEXT,
    edition_id UUID,
    volume_id UUID,
    -- volumes: the JY/T 1001 grade code and the term (1 autumn, 2 spring) they are taught in
    grade_code TEXT,
    term BIGINT,
    -- the names from the stage down, joined by ' / ': the natural key of the catalogue import
    path TEXT NOT NULL,
    position BIGINT NOT NULL,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX catalog_nodes_path ON catalog_nodes (region_id, path);
CREATE INDEX catalog_nodes_parent ON catalog_nodes (parent_id, position);
CREATE INDEX catalog_nodes_volume ON catalog_nodes (volume_id, position);

-- Stored file contents, one per SHA-256: the same file uploaded twice is stored once.
CREATE TABLE blobs (
    hash TEXT PRIMARY KEY NOT NULL,
    size BIGINT NOT NULL,
    -- the type sniffed from the content
    mime TEXT NOT NULL,
    -- document | slides | spreadsheet | pdf | image | audio | video | archive | text
    category TEXT NOT NULL,
    storage_key TEXT NOT NULL,
    -- the text extracted for search (PDF, Office), cut at a limit
    text TEXT,
    -- none (needs none: images, PDF, audio, video) | pending | ready | unavailable | failed
    preview_state TEXT NOT NULL,
    preview_key TEXT,
    preview_attempts BIGINT NOT NULL DEFAULT 0,
    preview_lease_until TIMESTAMPTZ,
    -- clean | not_scanned
    scan TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX blobs_preview ON blobs (preview_state);

-- A resumable upload: chunks arrive in any order and are kept in object storage until the
-- upload completes (any node may take any chunk) or the cleanup job removes it.
CREATE TABLE uploads (
    id UUID PRIMARY KEY NOT NULL,
    person_id UUID NOT NULL REFERENCES persons (id),
    org_id UUID NOT NULL REFERENCES org_nodes (id),
    file_name TEXT NOT NULL,
    size BIGINT NOT NULL,
    chunk_size BIGINT NOT NULL,
    -- open | assembling | complete | aborted | refused:<code> (the refusal, so its status can say why)
    state TEXT NOT NULL,
    blob_hash TEXT REFERENCES blobs (hash),
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX uploads_state ON uploads (state, updated_at);
CREATE TABLE upload_chunks (
    upload_id UUID NOT NULL REFERENCES uploads (id),
    idx BIGINT NOT NULL,
    size BIGINT NOT NULL,
    PRIMARY KEY (upload_id, idx)
);

CREATE TABLE resources (
    id UUID PRIMARY KEY NOT NULL,
    -- the owning node: the author's school (or region, for regional staff)
    org_id UUID NOT NULL REFERENCES org_nodes (id),
    author_id UUID NOT NULL REFERENCES persons (id),
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('lesson_plan', 'study_guide', 'courseware', 'micro_lesson', 'teaching_design', 'exercise', 'material', 'reference')),
    -- tags joined by a newline
    tags TEXT NOT NULL,
    blob_hash TEXT REFERENCES blobs (hash),
    file_name TEXT,
    -- private | school | district | city: how far it is shared (the highest level approved)
    scope TEXT NOT NULL CHECK (scope IN ('private', 'school', 'district', 'city')),
    -- the level whose review it waits for: school | district | city, or NULL
    pending_level TEXT CHECK (pending_level IN ('school', 'district', 'city')),
    -- bumped by every edit; a review decision names the version its reviewer saw
    version BIGINT NOT NULL,
    views BIGINT NOT NULL DEFAULT 0,
    downloads BIGINT NOT NULL DEFAULT 0,
    favourites BIGINT NOT NULL DEFAULT 0,
    comments BIGINT NOT NULL DEFAULT 0,
    rating_count BIGINT NOT NULL DEFAULT 0,
    rating_sum BIGINT NOT NULL DEFAULT 0,
    -- the mean of the reviewers' scores (1-5), NULL until one gave one
    expert_score DOUBLE PRECISION,
    -- 0-100, see docs/resources.md
    quality DOUBLE PRECISION NOT NULL DEFAULT 0,
    -- the school year and term it was uploaded in, for the per-term statistics
    school_year BIGINT,
    term BIGINT,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    deleted_at TIMESTAMPTZ
);
CREATE INDEX resources_org ON resources (org_id, created_at);
CREATE INDEX resources_author ON resources (author_id, created_at);
CREATE INDEX resources_pending ON resources (pending_level, org_id);
CREATE INDEX resources_blob ON resources (blob_hash);

-- Who sees a resource: `v` rows name the nodes whose members see it (its school, then its
-- district and city as it is recommended up); `o` rows name the nodes whose administrators see
-- it (every node above its school, once it is shared at all). The search index holds the same.
CREATE TABLE resource_audience (
    resource_id UUID NOT NULL REFERENCES resources (id),
    kind TEXT NOT NULL CHECK (kind IN ('v', 'o')),
    node_id UUID NOT NULL,
    PRIMARY KEY (resource_id, kind, node_id)
);
CREATE INDEX resource_audience_node ON resource_audience (node_id, kind);

-- Reviewers appointed at a school (教研组长) or region (教研员), besides its administrators;
-- with a subject (JY/T 1001 course code) they review only that subject.
CREATE TABLE resource_reviewers (
    node_id UUID NOT NULL REFERENCES org_nodes (id),
    person_id UUID NOT NULL REFERENCES persons (id),
    subject TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (node_id, person_id)
);
CREATE INDEX resource_reviewers_person ON resource_reviewers (person_id);

CREATE TABLE resource_catalog (
    resource_id UUID NOT NULL REFERENCES resources (id),
    catalog_id UUID NOT NULL REFERENCES catalog_nodes (id),
    PRIMARY KEY (resource_id, catalog_id)
);
CREATE INDEX resource_catalog_node ON resource_catalog (catalog_id);

-- Every step of a resource's way through the levels.
CREATE TABLE resource_reviews (
    id UUID PRIMARY KEY NOT NULL,
    resource_id UUID NOT NULL REFERENCES resources (id),
    -- school | district | city
    level TEXT NOT NULL,
    -- the school or region whose review it is
    node_id UUID NOT NULL REFERENCES org_nodes (id),
    -- submitted | approved | rejected | recommended | withdrawn | reset (edited after approval)
    decision TEXT NOT NULL,
    actor_id UUID NOT NULL REFERENCES persons (id),
    comment TEXT NOT NULL,
    -- a reviewer's expert score, 1-5
    score BIGINT,
    version BIGINT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX resource_reviews_resource ON resource_reviews (resource_id, created_at);
CREATE INDEX resource_reviews_node ON resource_reviews (node_id, created_at);

CREATE TABLE resource_favourites (
    resource_id UUID NOT NULL REFERENCES resources (id),
    person_id UUID NOT NULL REFERENCES persons (id),
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (resource_id, person_id)
);
CREATE INDEX resource_favourites_person ON resource_favourites (person_id, created_at);

CREATE TABLE resource_ratings (
    resource_id UUID NOT NULL REFERENCES resources (id),
    person_id UUID NOT NULL REFERENCES persons (id),
    stars BIGINT NOT NULL CHECK (stars BETWEEN 1 AND 5),
    comment TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (resource_id, person_id)
);

CREATE TABLE resource_comments (
    id UUID PRIMARY KEY NOT NULL,
    resource_id UUID NOT NULL REFERENCES resources (id),
    person_id UUID NOT NULL REFERENCES persons (id),
    body TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    deleted_at TIMESTAMPTZ
);
CREATE INDEX resource_comments_resource ON resource_comments (resource_id, created_at);

-- Usage, countable per school and term: view | download | rec_shown | rec_click
CREATE TABLE resource_events (
    id BIGSERIAL PRIMARY KEY,
    resource_id UUID NOT NULL REFERENCES resources (id),
    person_id UUID NOT NULL,
    -- the viewer's school or region
    org_id UUID NOT NULL,
    kind TEXT NOT NULL,
    -- rec_*: why it was recommended (next_chapter | co_download)
    detail TEXT,
    at TIMESTAMPTZ NOT NULL
);
CREATE INDEX resource_events_resource ON resource_events (resource_id, kind);
CREATE INDEX resource_events_person ON resource_events (person_id, kind, at);
CREATE INDEX resource_events_org ON resource_events (org_id, kind, at);

-- What the search index of every node follows: one entry per written resource, in commit order.
CREATE TABLE resource_changes (
    seq BIGSERIAL PRIMARY KEY,
    resource_id UUID NOT NULL,
    at TIMESTAMPTZ NOT NULL
);

-- 优秀资源评选: a region's or school's list of selected resources, published when ready.
CREATE TABLE excellent_lists (
    id UUID PRIMARY KEY NOT NULL,
    node_id UUID NOT NULL REFERENCES org_nodes (id),
    title TEXT NOT NULL,
    school_year BIGINT,
    term BIGINT,
    -- draft | published
    status TEXT NOT NULL,
    created_by UUID NOT NULL REFERENCES persons (id),
    created_at TIMESTAMPTZ NOT NULL,
    published_at TIMESTAMPTZ
);
CREATE INDEX excellent_lists_node ON excellent_lists (node_id, created_at);
CREATE TABLE excellent_entries (
    list_id UUID NOT NULL REFERENCES excellent_lists (id),
    resource_id UUID NOT NULL REFERENCES resources (id),
    position BIGINT NOT NULL,
    note TEXT NOT NULL,
    PRIMARY KEY (list_id, resource_id)
);

-- Which edition a school (or a region, for all its schools) teaches a subject from.
CREATE TABLE textbook_choices (
    node_id UUID NOT NULL REFERENCES org_nodes (id),
    stage TEXT NOT NULL,
    subject TEXT NOT NULL,
    edition_id UUID NOT NULL REFERENCES catalog_nodes (id),
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (node_id, stage, subject)
);

-- Where a class has got to in a subject, when its teacher says so (otherwise the term's
-- progress is estimated from the calendar).
CREATE TABLE class_progress (
    class_id UUID NOT NULL REFERENCES org_nodes (id),
    subject TEXT NOT NULL,
    catalog_id UUID NOT NULL REFERENCES catalog_nodes (id),
    updated_by UUID NOT NULL REFERENCES persons (id),
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (class_id, subject)
);

-- The uploads a region expects of each teacher in a term (the default is in the configuration).
CREATE TABLE resource_targets (
    region_id UUID PRIMARY KEY NOT NULL REFERENCES org_nodes (id),
    per_term BIGINT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

-- Notifications to a person (a review decision on their resource, …), read on their home page.
CREATE TABLE notifications (
    id UUID PRIMARY KEY NOT NULL,
    person_id UUID NOT NULL REFERENCES persons (id),
    -- an i18n key under `notice.`
    kind TEXT NOT NULL,
    -- the object it is about, and the page it links to
    object_id UUID,
    link TEXT,
    -- the message's arguments as a JSON object
    args TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    read_at TIMESTAMPTZ
);
CREATE INDEX notifications_person ON notifications (person_id, created_at);

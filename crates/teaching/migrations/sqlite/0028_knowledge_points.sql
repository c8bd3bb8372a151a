-- Knowledge points (知识点, issue #18): a region's tree per stage and subject, which items,
-- answers and mastery refer to. Maintained by the region's catalogue maintainers, by hand or
-- imported from a spreadsheet; a point is found by its natural key (region, stage, subject,
-- path) so re-importing a file changes nothing.
-- Keep in step with ../postgres/0028_knowledge_points.sql (a test compares the two).
CREATE TABLE knowledge_points (
    id BLOB PRIMARY KEY NOT NULL,
    region_id BLOB NOT NULL REFERENCES org_nodes (id),
    -- primary | junior | senior …
    stage TEXT NOT NULL,
    -- JY/T 1001 course code
    subject TEXT NOT NULL,
    parent_id BLOB REFERENCES knowledge_points (id),
    name TEXT NOT NULL,
    -- the names from the top point down, joined by ' / '
    path TEXT NOT NULL,
    depth BIGINT NOT NULL,
    position BIGINT NOT NULL,
    active BOOLEAN NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX knowledge_points_path ON knowledge_points (region_id, stage, subject, path);
CREATE INDEX knowledge_points_parent ON knowledge_points (parent_id, position);

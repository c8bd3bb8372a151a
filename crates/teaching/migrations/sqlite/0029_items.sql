-- The question bank's items (题库, issue #18): a school's items by stage and subject, on a
-- chapter of the catalogue and on knowledge points, each with its type, stem, options and key.
-- Keep in step with ../postgres/0029_items.sql (a test compares the two).
CREATE TABLE items (
    id BLOB PRIMARY KEY NOT NULL,
    -- the author's school: its teachers use the item
    school_id BLOB NOT NULL REFERENCES org_nodes (id),
    author_id BLOB NOT NULL REFERENCES persons (id),
    stage TEXT NOT NULL,
    -- JY/T 1001 course code
    subject TEXT NOT NULL,
    -- single | multiple | true_false | blanks | matching | ordering | pinyin | short_answer |
    -- essay | dictation | writing
    kind TEXT NOT NULL,
    -- the question; mathematics between $ … $ (LaTeX)
    stem TEXT NOT NULL,
    -- JSON: the choices, the pairs to match, or the entries to order
    options TEXT NOT NULL,
    -- JSON: how it is marked (items::score::Key)
    answer_key TEXT NOT NULL,
    -- the reference answer or explanation, shown after marking
    explanation TEXT NOT NULL,
    -- the default points, in hundredths
    points BIGINT NOT NULL,
    -- 1 (easiest) to 5
    difficulty BIGINT NOT NULL,
    -- where it comes from: 原创, 2025 中考, a workbook …
    source TEXT NOT NULL,
    -- a unit or section of the catalogue
    catalog_id BLOB REFERENCES catalog_nodes (id),
    version BIGINT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    deleted_at TEXT
);
CREATE INDEX items_school ON items (school_id, subject, updated_at);
CREATE INDEX items_catalog ON items (catalog_id);

CREATE TABLE item_points (
    item_id BLOB NOT NULL REFERENCES items (id),
    point_id BLOB NOT NULL REFERENCES knowledge_points (id),
    PRIMARY KEY (item_id, point_id)
);
CREATE INDEX item_points_point ON item_points (point_id);

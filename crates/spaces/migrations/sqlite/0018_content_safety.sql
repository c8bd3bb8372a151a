-- Content safety for minors (issue #17): a region's word list checked on posts and comments
-- (refused with the word named, or held for a moderator), and reports of posts and comments,
-- dealt with by the administrators above the space. Keep in step with
-- ../postgres/0018_content_safety.sql (a test compares the two).

CREATE TABLE sensitive_words (
    region_id BLOB NOT NULL REFERENCES org_nodes (id),
    word TEXT NOT NULL,
    -- block: refused with the word named; hold: published only once a moderator approves
    action TEXT NOT NULL CHECK (action IN ('block', 'hold')),
    created_by BLOB NOT NULL REFERENCES persons (id),
    created_at TEXT NOT NULL,
    PRIMARY KEY (region_id, word)
);

CREATE TABLE content_reports (
    id BLOB PRIMARY KEY NOT NULL,
    post_id BLOB NOT NULL REFERENCES space_posts (id),
    -- a comment on the post, or NULL for the post itself
    comment_id BLOB REFERENCES space_comments (id),
    reported_by BLOB NOT NULL REFERENCES persons (id),
    reason TEXT NOT NULL,
    created_at TEXT NOT NULL,
    -- kept (nothing wrong) | removed
    outcome TEXT CHECK (outcome IN ('kept', 'removed')),
    resolved_by BLOB REFERENCES persons (id),
    resolved_at TEXT
);
CREATE INDEX content_reports_open ON content_reports (resolved_at, created_at);

-- The words that held a post or comment, for its moderator.
ALTER TABLE space_posts ADD COLUMN held_words TEXT;
ALTER TABLE space_comments ADD COLUMN held_words TEXT;
CREATE INDEX space_posts_state ON space_posts (state, created_at);
CREATE INDEX space_comments_state ON space_comments (state, created_at);

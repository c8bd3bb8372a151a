-- Photos in posts and guardians' consent (issue #17, content safety for minors).
-- Keep in step with ../postgres/0023_photos.sql (a test compares the two).
-- How far a guardian lets their child's photos and works be shown: the class only unless a
-- guardian said more (a child under 14's personal information needs a guardian's consent).
CREATE TABLE photo_consents (
    student_id BLOB PRIMARY KEY NOT NULL REFERENCES persons (id),
    -- class | school | region
    scope TEXT NOT NULL CHECK (scope IN ('class', 'school', 'region')),
    guardian_id BLOB NOT NULL REFERENCES persons (id),
    decided_at TEXT NOT NULL
);

-- A post's photos, stored without their metadata under their SHA-256.
CREATE TABLE space_post_photos (
    id BLOB PRIMARY KEY NOT NULL,
    post_id BLOB NOT NULL REFERENCES space_posts (id),
    blob_hash TEXT NOT NULL,
    content_type TEXT NOT NULL,
    bytes BIGINT NOT NULL,
    position BIGINT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX space_post_photos_post ON space_post_photos (post_id, position);

-- The children a class photo shows (tagged by its author): their guardians' consent governs
-- who beyond the class sees it.
CREATE TABLE space_post_children (
    post_id BLOB NOT NULL REFERENCES space_posts (id),
    student_id BLOB NOT NULL REFERENCES persons (id),
    PRIMARY KEY (post_id, student_id)
);

-- The teaching routine check (教学常规检查, issue #17): a school's teaching office comments on
-- each teacher's lesson plans of a week, read from what the teacher put in the library.
-- Keep in step with ../postgres/0020_routine_check.sql (a test compares the two).
CREATE TABLE routine_comments (
    id BLOB PRIMARY KEY NOT NULL,
    school_id BLOB NOT NULL REFERENCES org_nodes (id),
    teacher_id BLOB NOT NULL REFERENCES persons (id),
    -- the Monday of the week checked
    week TEXT NOT NULL,
    author_id BLOB NOT NULL REFERENCES persons (id),
    body TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX routine_comments_week ON routine_comments (school_id, week);

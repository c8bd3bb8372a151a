-- The teaching routine check (教学常规检查, issue #17): a school's teaching office comments on
-- each teacher's lesson plans of a week, read from what the teacher put in the library.
-- Keep in step with ../sqlite/0020_routine_check.sql (a test compares the two).
CREATE TABLE routine_comments (
    id UUID PRIMARY KEY NOT NULL,
    school_id UUID NOT NULL REFERENCES org_nodes (id),
    teacher_id UUID NOT NULL REFERENCES persons (id),
    -- the Monday of the week checked
    week DATE NOT NULL,
    author_id UUID NOT NULL REFERENCES persons (id),
    body TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX routine_comments_week ON routine_comments (school_id, week);

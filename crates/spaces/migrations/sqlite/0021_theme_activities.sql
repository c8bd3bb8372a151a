-- Themed activities (主题活动, issue #17): a region, school or class runs an activity for a
-- term; participants post works; organisers feature and judge them and publish the results.
-- Keep in step with ../postgres/0021_theme_activities.sql (a test compares the two).
CREATE TABLE theme_activities (
    id BLOB PRIMARY KEY NOT NULL,
    -- the organiser: a region, a school or a class; participants are below it
    node_id BLOB NOT NULL REFERENCES org_nodes (id),
    title TEXT NOT NULL,
    -- culture | safety | moral | intellectual | physical | aesthetic | labour | family | reading | other
    theme TEXT NOT NULL,
    description TEXT NOT NULL,
    -- the term it counts for (from the region's terms, or the calendar)
    school_year BIGINT NOT NULL,
    term BIGINT NOT NULL,
    starts_on TEXT NOT NULL,
    ends_on TEXT NOT NULL,
    -- students | families | teachers
    participants TEXT NOT NULL,
    -- open | results
    state TEXT NOT NULL CHECK (state IN ('open', 'results')),
    created_by BLOB NOT NULL REFERENCES persons (id),
    created_at TEXT NOT NULL,
    results_at TEXT
);
CREATE INDEX theme_activities_node ON theme_activities (node_id, school_year, term);

-- One work per student (or per teacher) and activity.
CREATE TABLE theme_activity_works (
    id BLOB PRIMARY KEY NOT NULL,
    activity_id BLOB NOT NULL REFERENCES theme_activities (id),
    author_id BLOB NOT NULL REFERENCES persons (id),
    -- the student it is by or for (a guardian posts for their child); NULL for a teacher's
    student_id BLOB REFERENCES persons (id),
    -- the class (or the teacher's node) it comes from: a minor's work is shown in that school only
    node_id BLOB NOT NULL REFERENCES org_nodes (id),
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    -- a library resource shown with it (a video, slides)
    resource_id BLOB REFERENCES resources (id),
    -- published | held (the word list; a moderator or an organiser approves)
    state TEXT NOT NULL CHECK (state IN ('published', 'held')),
    featured BOOLEAN NOT NULL,
    -- first | second | third | excellent, and a score out of 100
    award TEXT,
    score BIGINT,
    judged_by BLOB REFERENCES persons (id),
    created_at TEXT NOT NULL
);
CREATE INDEX theme_activity_works_activity ON theme_activity_works (activity_id);
CREATE INDEX theme_activity_works_node ON theme_activity_works (node_id);

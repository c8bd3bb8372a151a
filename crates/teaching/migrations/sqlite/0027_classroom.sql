-- Classroom mode (授课, issue #18): each lesson taught from a plan, the library resources shown
-- in it, the random picker's picks and the quick in-class questions with students' answers.
-- Keep in step with ../postgres/0027_classroom.sql (a test compares the two).
CREATE TABLE classroom_sessions (
    id BLOB PRIMARY KEY NOT NULL,
    class_id BLOB NOT NULL REFERENCES org_nodes (id),
    -- JY/T 1001 course code
    subject TEXT NOT NULL,
    teacher_id BLOB NOT NULL REFERENCES persons (id),
    -- the plan taught, at the version it had
    plan_id BLOB REFERENCES lesson_plans (id),
    plan_version BIGINT,
    title TEXT NOT NULL,
    started_at TEXT NOT NULL,
    -- NULL while the lesson goes on
    ended_at TEXT
);
CREATE INDEX classroom_sessions_teacher ON classroom_sessions (teacher_id, started_at);
CREATE INDEX classroom_sessions_class ON classroom_sessions (class_id, started_at);

-- The library resources shown in a lesson (the "taught with platform resources" count).
CREATE TABLE classroom_resources (
    session_id BLOB NOT NULL REFERENCES classroom_sessions (id),
    resource_id BLOB NOT NULL REFERENCES resources (id),
    resource_version BIGINT NOT NULL,
    shown_at TEXT NOT NULL,
    PRIMARY KEY (session_id, resource_id)
);

-- The random picker: nobody is picked twice in a round until everyone has been.
CREATE TABLE classroom_picks (
    session_id BLOB NOT NULL REFERENCES classroom_sessions (id),
    seq BIGINT NOT NULL,
    round BIGINT NOT NULL,
    student_id BLOB NOT NULL REFERENCES persons (id),
    picked_at TEXT NOT NULL,
    PRIMARY KEY (session_id, seq)
);

-- A quick question put to the class: choices answered on students' phones (marked at once when
-- the teacher gave the right one), or a free answer the teacher marks.
CREATE TABLE classroom_questions (
    id BLOB PRIMARY KEY NOT NULL,
    session_id BLOB NOT NULL REFERENCES classroom_sessions (id),
    prompt TEXT NOT NULL,
    -- 0 for a free answer, else the number of options (A, B, …)
    options BIGINT NOT NULL,
    -- the right option (0 = A), if the teacher gave one
    correct BIGINT,
    opened_at TEXT NOT NULL,
    closed_at TEXT
);
CREATE INDEX classroom_questions_session ON classroom_questions (session_id, opened_at);

CREATE TABLE classroom_answers (
    question_id BLOB NOT NULL REFERENCES classroom_questions (id),
    student_id BLOB NOT NULL REFERENCES persons (id),
    -- the option chosen (0 = A), or NULL for a free answer
    choice BIGINT,
    text TEXT NOT NULL,
    -- right or wrong: by the key, or as the teacher marked it (NULL until then)
    correct BOOLEAN,
    answered_at TEXT NOT NULL,
    PRIMARY KEY (question_id, student_id)
);

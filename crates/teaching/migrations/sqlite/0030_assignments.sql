-- Assignments and tests (作业, 测评, issue #18): work set to classes or chosen students, each
-- student's submission made when the work is set (a test's attempts before it starts), every
-- answer saved as it is given, and marks as events that are never overwritten.
-- Keep in step with ../postgres/0030_assignments.sql (a test compares the two).
CREATE TABLE assignments (
    id BLOB PRIMARY KEY NOT NULL,
    -- the school of the classes it is set to
    school_id BLOB NOT NULL REFERENCES org_nodes (id),
    author_id BLOB NOT NULL REFERENCES persons (id),
    -- homework | flipped (a micro-lesson to watch before class) | test
    kind TEXT NOT NULL,
    stage TEXT NOT NULL,
    -- JY/T 1001 course code
    subject TEXT NOT NULL,
    title TEXT NOT NULL,
    instructions TEXT NOT NULL,
    -- a unit or section of the catalogue
    catalog_id BLOB REFERENCES catalog_nodes (id),
    -- the gradebook's category: homework | quiz | exam
    category TEXT NOT NULL,
    -- the term it counts in, when the region has set its terms
    term_id BLOB REFERENCES terms (id),
    opens_at TEXT NOT NULL,
    due_at TEXT NOT NULL,
    -- refuse | accept | deduct (late work loses late_deduct percent)
    late_policy TEXT NOT NULL,
    late_deduct BIGINT NOT NULL,
    -- the minutes a student is expected to spend
    expected_minutes BIGINT NOT NULL,
    -- written homework (书面作业) counts against the homework-load limits
    written BOOLEAN NOT NULL,
    -- flipped: the micro-lesson to watch
    lesson_resource_id BLOB REFERENCES resources (id),
    -- tests: the minutes a student has once started; items and options shuffled per student
    time_limit BIGINT,
    shuffle_items BOOLEAN NOT NULL,
    shuffle_options BOOLEAN NOT NULL,
    -- in hundredths: the items' points, or the teacher's for work without items
    total_points BIGINT NOT NULL,
    -- results shown to students and guardians (a test's all at once)
    released_at TEXT,
    created_at TEXT NOT NULL,
    deleted_at TEXT
);
CREATE INDEX assignments_author ON assignments (author_id, due_at);

-- The classes it is set to (with the day's homework load counted per class).
CREATE TABLE assignment_classes (
    assignment_id BLOB NOT NULL REFERENCES assignments (id),
    class_id BLOB NOT NULL REFERENCES org_nodes (id),
    -- the local date its load counts on
    load_day TEXT NOT NULL,
    PRIMARY KEY (assignment_id, class_id)
);
CREATE INDEX assignment_classes_day ON assignment_classes (class_id, load_day);

-- The items, copied when it is set: later changes to the bank do not change it.
CREATE TABLE assignment_items (
    assignment_id BLOB NOT NULL REFERENCES assignments (id),
    position BIGINT NOT NULL,
    item_id BLOB NOT NULL REFERENCES items (id),
    item_version BIGINT NOT NULL,
    kind TEXT NOT NULL,
    stem TEXT NOT NULL,
    options TEXT NOT NULL,
    answer_key TEXT NOT NULL,
    explanation TEXT NOT NULL,
    points BIGINT NOT NULL,
    PRIMARY KEY (assignment_id, position)
);

-- Library resources attached, with the version attached.
CREATE TABLE assignment_resources (
    assignment_id BLOB NOT NULL REFERENCES assignments (id),
    resource_id BLOB NOT NULL REFERENCES resources (id),
    version BIGINT NOT NULL,
    position BIGINT NOT NULL,
    PRIMARY KEY (assignment_id, resource_id)
);

-- One per student the work is set to, made when it is set.
CREATE TABLE submissions (
    id BLOB PRIMARY KEY NOT NULL,
    assignment_id BLOB NOT NULL REFERENCES assignments (id),
    student_id BLOB NOT NULL REFERENCES persons (id),
    class_id BLOB NOT NULL REFERENCES org_nodes (id),
    -- JSON: the order the items are shown in, and each item's order of options
    layout TEXT NOT NULL,
    started_at TEXT,
    -- the server's end for this student (a test: its start plus the time limit, at most the due time)
    ends_at TEXT,
    submitted_at TEXT,
    late BOOLEAN NOT NULL,
    -- the minutes the student says they spent
    minutes_spent BIGINT,
    -- flipped: when the micro-lesson was opened, and the furthest second watched of how many
    lesson_opened_at TEXT,
    watched_seconds BIGINT NOT NULL,
    lesson_seconds BIGINT NOT NULL,
    -- tests: how often the page was left
    left_page BIGINT NOT NULL,
    -- in hundredths after any late deduction: the latest marks' sum; NULL until marked
    score BIGINT,
    -- answers that wait for a teacher
    pending BIGINT NOT NULL,
    feedback TEXT NOT NULL,
    returned_at TEXT,
    version BIGINT NOT NULL
);
CREATE UNIQUE INDEX submissions_assignment_student ON submissions (assignment_id, student_id);
CREATE INDEX submissions_student ON submissions (student_id, assignment_id);
-- The runner's attempts whose end has passed without a hand-in.
CREATE INDEX submissions_open_end ON submissions (ends_at) WHERE submitted_at IS NULL AND ends_at IS NOT NULL;

-- The latest answer to each item, saved as it is given.
CREATE TABLE answers (
    submission_id BLOB NOT NULL REFERENCES submissions (id),
    position BIGINT NOT NULL,
    -- JSON: items::score::Answer
    response TEXT NOT NULL,
    saved_at TEXT NOT NULL,
    PRIMARY KEY (submission_id, position)
);

-- Photos of paper work, for an item or (position -1) the whole work, and the teacher's pen.
CREATE TABLE answer_photos (
    id BLOB PRIMARY KEY NOT NULL,
    submission_id BLOB NOT NULL REFERENCES submissions (id),
    position BIGINT NOT NULL,
    blob_hash TEXT NOT NULL,
    content_type TEXT NOT NULL,
    bytes BIGINT NOT NULL,
    created_at TEXT NOT NULL,
    -- JSON: the pen's strokes, in the photo's coordinates from 0 to 1000
    annotation TEXT,
    annotated_by BLOB REFERENCES persons (id),
    annotated_at TEXT
);
CREATE INDEX answer_photos_submission ON answer_photos (submission_id, position);

-- Marks: events, never updated or deleted. An item's mark is its latest event (the highest
-- seq: the submission's version when it was written, under the submission's lock, so the
-- order does not depend on any node's clock); position -1 marks work without items as a whole.
CREATE TABLE marks (
    id BLOB PRIMARY KEY NOT NULL,
    submission_id BLOB NOT NULL REFERENCES submissions (id),
    position BIGINT NOT NULL,
    seq BIGINT NOT NULL,
    -- in hundredths; NULL: waits for a teacher
    points BIGINT,
    -- auto | teacher | entry (typed from a paper)
    source TEXT NOT NULL,
    -- JSON: the rubric level chosen per criterion
    rubric TEXT NOT NULL,
    comment TEXT NOT NULL,
    -- why a mark changed
    reason TEXT NOT NULL,
    grader_id BLOB REFERENCES persons (id),
    created_at TEXT NOT NULL
);
CREATE INDEX marks_submission ON marks (submission_id, position, seq);

-- The gradebook's totals per student, subject, term and category, kept from the
-- submissions' scores by increments, each change a new version.
CREATE TABLE grade_totals (
    student_id BLOB NOT NULL REFERENCES persons (id),
    class_id BLOB NOT NULL REFERENCES org_nodes (id),
    subject TEXT NOT NULL,
    -- the term's id, or '' before the region sets terms
    term TEXT NOT NULL,
    category TEXT NOT NULL,
    points BIGINT NOT NULL,
    possible BIGINT NOT NULL,
    version BIGINT NOT NULL,
    PRIMARY KEY (student_id, class_id, subject, term, category)
);

-- A class's weights of the categories in a subject and term (percent).
CREATE TABLE grade_weights (
    class_id BLOB NOT NULL REFERENCES org_nodes (id),
    subject TEXT NOT NULL,
    term TEXT NOT NULL,
    category TEXT NOT NULL,
    weight BIGINT NOT NULL,
    PRIMARY KEY (class_id, subject, term, category)
);

-- A region's homework-load limits (双减): written minutes a day per grade; the nearest
-- region's row wins, and without one the national rule holds.
CREATE TABLE homework_limits (
    region_id BLOB NOT NULL REFERENCES org_nodes (id),
    stage TEXT NOT NULL,
    -- the grade's year in its stage (1 for 一年级 and 七年级)
    year BIGINT NOT NULL,
    minutes BIGINT NOT NULL,
    PRIMARY KEY (region_id, stage, year)
);

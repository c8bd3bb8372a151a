-- Mastery and practice (学情分析, 智能练习, issue #18): every marked answer is evidence of a
-- student's mastery of the item's knowledge points; an Elo-style model keeps an ability per
-- student and point (updated as the answer is marked) and a difficulty per item (updated by
-- the runner from the evidence, so a test's hand-ins never wait on an item's row); practice
-- sets are chosen from it.
-- Keep in step with ../sqlite/0031_mastery_practice.sql (a test compares the two).
CREATE TABLE mastery_evidence (
    -- time-ordered (UUID v7): the order the runner calibrates items in
    id UUID PRIMARY KEY NOT NULL,
    student_id UUID NOT NULL REFERENCES persons (id),
    item_id UUID NOT NULL REFERENCES items (id),
    -- the submission or practice set the answer belongs to, and the item's position in it
    source_id UUID NOT NULL,
    position BIGINT NOT NULL,
    -- the share of the item's points earned, 0 to 1
    score DOUBLE PRECISION NOT NULL,
    -- the student's ability (mean over the item's points) and the item's difficulty used
    theta DOUBLE PRECISION NOT NULL,
    difficulty DOUBLE PRECISION NOT NULL,
    -- counted in the item's difficulty by the runner
    calibrated BOOLEAN NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX mastery_evidence_source ON mastery_evidence (source_id, position);
CREATE INDEX mastery_evidence_student ON mastery_evidence (student_id, id);
CREATE INDEX mastery_evidence_waiting ON mastery_evidence (id) WHERE calibrated = FALSE;

-- A student's ability on a knowledge point (logits; 0: an average item's even chance).
CREATE TABLE mastery (
    student_id UUID NOT NULL REFERENCES persons (id),
    point_id UUID NOT NULL REFERENCES knowledge_points (id),
    theta DOUBLE PRECISION NOT NULL,
    answers BIGINT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (student_id, point_id)
);
CREATE INDEX mastery_point ON mastery (point_id);

-- An item's difficulty as answers showed it (without a row: its level's prior).
CREATE TABLE item_difficulty (
    item_id UUID PRIMARY KEY NOT NULL REFERENCES items (id),
    difficulty DOUBLE PRECISION NOT NULL,
    answers BIGINT NOT NULL
);

-- A student's practice set: items on their weakest points at the right difficulty.
CREATE TABLE practice_sets (
    id UUID PRIMARY KEY NOT NULL,
    student_id UUID NOT NULL REFERENCES persons (id),
    -- the school whose bank it draws on
    school_id UUID NOT NULL REFERENCES org_nodes (id),
    stage TEXT NOT NULL,
    subject TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ,
    -- in hundredths of the items' shares: the sum of the scores
    correct BIGINT NOT NULL
);
CREATE INDEX practice_sets_student ON practice_sets (student_id, created_at);

-- Its items, with the chance of success predicted when chosen, and the answer once given.
CREATE TABLE practice_items (
    set_id UUID NOT NULL REFERENCES practice_sets (id),
    position BIGINT NOT NULL,
    item_id UUID NOT NULL REFERENCES items (id),
    predicted DOUBLE PRECISION NOT NULL,
    -- JSON: items::score::Answer
    response TEXT,
    score DOUBLE PRECISION,
    PRIMARY KEY (set_id, position)
);

-- The points a set practised, with the student's ability before and after it.
CREATE TABLE practice_points (
    set_id UUID NOT NULL REFERENCES practice_sets (id),
    point_id UUID NOT NULL REFERENCES knowledge_points (id),
    theta_before DOUBLE PRECISION NOT NULL,
    theta_after DOUBLE PRECISION,
    PRIMARY KEY (set_id, point_id)
);

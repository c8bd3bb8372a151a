-- Questions placed on a plan's steps (issue #18): bank items shown on the step's slide, with
-- their formulas, and asked in class from it.
-- Keep in step with ../postgres/0034_plan_items.sql (a test compares the two).
CREATE TABLE lesson_plan_items (
    plan_id BLOB NOT NULL REFERENCES lesson_plans (id),
    version BIGINT NOT NULL,
    -- the step
    position BIGINT NOT NULL,
    seq BIGINT NOT NULL,
    item_id BLOB NOT NULL REFERENCES items (id),
    PRIMARY KEY (plan_id, version, position, seq)
);

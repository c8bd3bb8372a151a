-- The yearly selection of excellent learning spaces (优秀网络学习空间评选, issue #17) at school,
-- district and city level: weighted criteria, nominations, a panel's scores, the results.
-- Keep in step with ../sqlite/0022_space_awards.sql (a test compares the two).
CREATE TABLE space_awards (
    id UUID PRIMARY KEY NOT NULL,
    -- the organiser: a school, district or city (the selection's level)
    node_id UUID NOT NULL REFERENCES org_nodes (id),
    school_year BIGINT NOT NULL,
    title TEXT NOT NULL,
    -- the weights of content, columns, posts, visits, comments (out of 100), comma-separated
    weights TEXT NOT NULL,
    -- how many spaces are named excellent
    prizes BIGINT NOT NULL,
    -- nominating | judging | published
    state TEXT NOT NULL CHECK (state IN ('nominating', 'judging', 'published')),
    created_by UUID NOT NULL REFERENCES persons (id),
    created_at TIMESTAMPTZ NOT NULL,
    published_at TIMESTAMPTZ
);
CREATE INDEX space_awards_node ON space_awards (node_id, school_year);

-- The judging panel.
CREATE TABLE space_award_judges (
    award_id UUID NOT NULL REFERENCES space_awards (id),
    person_id UUID NOT NULL REFERENCES persons (id),
    PRIMARY KEY (award_id, person_id)
);

CREATE TABLE space_award_nominees (
    award_id UUID NOT NULL REFERENCES space_awards (id),
    space_id UUID NOT NULL REFERENCES spaces (id),
    nominated_by UUID NOT NULL REFERENCES persons (id),
    reason TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    -- at publication: the total (tenths of a point) and the place of those named excellent
    total BIGINT,
    place BIGINT,
    PRIMARY KEY (award_id, space_id)
);
CREATE INDEX space_award_nominees_space ON space_award_nominees (space_id);

-- Each judge's score of a nominee's content (0-100).
CREATE TABLE space_award_scores (
    award_id UUID NOT NULL REFERENCES space_awards (id),
    space_id UUID NOT NULL REFERENCES spaces (id),
    judge_id UUID NOT NULL REFERENCES persons (id),
    score BIGINT NOT NULL,
    scored_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (award_id, space_id, judge_id)
);

-- Guardian binding (issue #17): a class's code (and its QR code) that a guardian enters with
-- the child's name and the last four characters of an identity or registry number; the head
-- teacher approves; failed attempts are counted per person and day.
-- Keep in step with ../sqlite/0019_guardian_binding.sql (a test compares the two).

CREATE TABLE class_codes (
    class_id UUID PRIMARY KEY NOT NULL REFERENCES org_nodes (id),
    code TEXT NOT NULL,
    created_by UUID NOT NULL REFERENCES persons (id),
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX class_codes_code ON class_codes (code);

CREATE TABLE binding_requests (
    id UUID PRIMARY KEY NOT NULL,
    class_id UUID NOT NULL REFERENCES org_nodes (id),
    guardian_id UUID NOT NULL REFERENCES persons (id),
    student_id UUID NOT NULL REFERENCES persons (id),
    -- GB/T 4761 family relation
    relation TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'declined')),
    created_at TIMESTAMPTZ NOT NULL,
    decided_by UUID REFERENCES persons (id),
    decided_at TIMESTAMPTZ
);
CREATE INDEX binding_requests_class ON binding_requests (class_id, state);
CREATE INDEX binding_requests_guardian ON binding_requests (guardian_id, created_at);

CREATE TABLE binding_failures (
    person_id UUID NOT NULL REFERENCES persons (id),
    day DATE NOT NULL,
    failures BIGINT NOT NULL,
    PRIMARY KEY (person_id, day)
);

-- A school's retention period for conversations (issue #17): conversations whose last message
-- is older are removed each day, except those reported and waiting for review.
-- Keep in step with ../sqlite/0024_message_retention.sql (a test compares the two).
CREATE TABLE message_retention (
    school_id UUID PRIMARY KEY NOT NULL REFERENCES org_nodes (id),
    days BIGINT NOT NULL,
    set_by UUID NOT NULL REFERENCES persons (id),
    set_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX conversations_last_message ON conversations (school_id, last_message_at);

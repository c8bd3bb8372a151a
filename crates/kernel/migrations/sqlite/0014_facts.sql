-- The fact record (issue #17): one append-only row per countable event (a space opened, a
-- notice read, a leave requested, …), written in the same transaction as the action it counts.
-- The dashboards compute every indicator from here and never scan module tables.
-- Keep in step with ../postgres/0014_facts.sql (a test compares the two).
CREATE TABLE facts (
    id BLOB PRIMARY KEY NOT NULL,
    -- `module.event`: space.opened, notice.read, leave.requested …
    kind TEXT NOT NULL,
    -- the node the fact belongs to (a class, school or region): indicators roll up the tree from it
    node_id BLOB NOT NULL REFERENCES org_nodes (id),
    -- who did it, if a person did
    person_id BLOB,
    -- what it is about (a space, a notice, a request …)
    object_id BLOB,
    occurred_at TEXT NOT NULL,
    value BIGINT NOT NULL DEFAULT 1,
    -- the same fact recorded twice (a retry, a second click) is kept once
    idempotency_key TEXT
);
CREATE UNIQUE INDEX facts_idempotency ON facts (idempotency_key);
CREATE INDEX facts_kind_time ON facts (kind, occurred_at);
CREATE INDEX facts_node_kind ON facts (node_id, kind, occurred_at);

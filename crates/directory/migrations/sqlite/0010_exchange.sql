-- Instance-to-instance exchange (issue #4, data flows upward): a school or district running its
-- own Jiaoyun is linked to an upper-level Jiaoyun and pushes its base-data changes there.
-- Keep in step with ../postgres/0010_exchange.sql (a test compares the two).

-- One row per link, on each side under the same id. On the upper instance (`from_lower`) it
-- covers `node_id` of the upper's tree and holds the lower's public key; on the lower instance
-- (`to_upper`) it covers the local subtree at `node_id` and holds the private key it signs with.
CREATE TABLE exchange_links (
    id BLOB PRIMARY KEY NOT NULL,
    direction TEXT NOT NULL CHECK (direction IN ('to_upper', 'from_lower')),
    node_id BLOB NOT NULL REFERENCES org_nodes (id),
    -- pending (upper, waiting for the lower to pair) | active | revoked
    status TEXT NOT NULL CHECK (status IN ('pending', 'active', 'revoked')),
    -- the other side's name as it gave it
    peer_name TEXT,
    -- to_upper: the upper's base URL
    peer_url TEXT,
    -- from_lower while pending: SHA-256 of the one-time pairing code, and when it expires
    code_hash TEXT,
    code_expires_at TEXT,
    -- from_lower: the lower's Ed25519 public key (base64); to_upper: its PKCS#8 key (base64)
    public_key TEXT,
    private_key TEXT,
    -- to_upper: the last change sequence number the upper acknowledged;
    -- from_lower: the last one applied here
    seq BIGINT NOT NULL DEFAULT 0,
    -- to_upper: the push's retry state
    failures BIGINT NOT NULL DEFAULT 0,
    next_attempt_at TEXT,
    last_attempt_at TEXT,
    last_success_at TEXT,
    last_error TEXT,
    -- the node that pushes (to_upper) holds this lease while it pushes
    lease_until TEXT,
    -- counts of what went across: rows sent (to_upper) or applied (from_lower)
    rows_total BIGINT NOT NULL DEFAULT 0,
    created_by BLOB REFERENCES persons (id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX exchange_links_node ON exchange_links (node_id);
CREATE UNIQUE INDEX exchange_links_code ON exchange_links (code_hash);

-- Lower nodes whose ids differ from the upper's own node for the same school or region
-- (matched by school code or division code); grades, classes and people keep their ids.
CREATE TABLE exchange_node_map (
    link_id BLOB NOT NULL REFERENCES exchange_links (id),
    remote_id BLOB NOT NULL,
    local_id BLOB NOT NULL REFERENCES org_nodes (id),
    PRIMARY KEY (link_id, remote_id)
);

-- A record the upper would not take because it clashes with one it already holds (the same
-- registry number at another school): kept on both sides until a later push of the record
-- goes through.
CREATE TABLE exchange_conflicts (
    id BLOB PRIMARY KEY NOT NULL,
    link_id BLOB NOT NULL REFERENCES exchange_links (id),
    -- registry_no
    kind TEXT NOT NULL,
    -- the clashing value (the registry number)
    value TEXT NOT NULL,
    -- the lower's record, and its school as the lower names it
    person_id BLOB NOT NULL,
    person_name TEXT NOT NULL,
    school_code TEXT,
    school_name TEXT,
    -- where the upper holds the value: that school
    holder_school_code TEXT,
    holder_school_name TEXT,
    detected_at TEXT NOT NULL,
    resolved_at TEXT
);
CREATE UNIQUE INDEX exchange_conflicts_key ON exchange_conflicts (link_id, kind, person_id);

-- The upper's view of the accounts of people it holds from a lower instance: the accounts
-- themselves (and their passwords) stay below; the upper counts registration and activation.
CREATE TABLE exchange_accounts (
    person_id BLOB PRIMARY KEY NOT NULL REFERENCES persons (id),
    link_id BLOB NOT NULL REFERENCES exchange_links (id),
    registered BOOLEAN NOT NULL,
    activated BOOLEAN NOT NULL
);

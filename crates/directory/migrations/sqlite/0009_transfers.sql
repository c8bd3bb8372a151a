-- Transfers between schools of a region (转学, issue #4): requested by the receiving school,
-- approved by the sending school and then by the region above both (the lowest common
-- ancestor). On the final approval the student moves and each school gets its registry change
-- record (registry_changes, migration 0007).
-- Keep in step with ../postgres/0009_transfers.sql (a test compares the two).
CREATE TABLE transfer_requests (
    id BLOB PRIMARY KEY NOT NULL,
    person_id BLOB NOT NULL REFERENCES persons (id),
    from_school_id BLOB NOT NULL REFERENCES org_nodes (id),
    to_school_id BLOB NOT NULL REFERENCES org_nodes (id),
    to_class_id BLOB NOT NULL REFERENCES org_nodes (id),
    -- the region that approves last: the lowest node above both schools
    approver_node_id BLOB NOT NULL REFERENCES org_nodes (id),
    -- jyt1001_registry_change_reason
    reason TEXT NOT NULL,
    note TEXT,
    -- pending_sending → pending_district → approved; or rejected, cancelled
    status TEXT NOT NULL
        CHECK (status IN ('pending_sending', 'pending_district', 'approved', 'rejected', 'cancelled')),
    requested_by BLOB REFERENCES persons (id),
    requested_at TEXT NOT NULL,
    -- the sending school's decision
    sending_by BLOB REFERENCES persons (id),
    sending_at TEXT,
    sending_comment TEXT,
    -- the region's decision
    district_by BLOB REFERENCES persons (id),
    district_at TEXT,
    district_comment TEXT,
    -- the requester's cancellation
    cancelled_by BLOB REFERENCES persons (id),
    cancelled_at TEXT,
    -- the day the move took effect (on approval)
    effective_on TEXT,
    updated_at TEXT NOT NULL
);
CREATE INDEX transfer_requests_from ON transfer_requests (from_school_id, status);
CREATE INDEX transfer_requests_to ON transfer_requests (to_school_id, status);
CREATE INDEX transfer_requests_approver ON transfer_requests (approver_node_id, status);
-- At most one open request per student.
CREATE UNIQUE INDEX transfer_requests_open ON transfer_requests (person_id)
    WHERE status IN ('pending_sending', 'pending_district');

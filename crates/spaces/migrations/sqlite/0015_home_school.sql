-- Home-school communication (issue #17): notices with read receipts, guardians' leave requests
-- and a class's daily attendance, conversations between teachers, guardians and students.
-- Keep in step with ../postgres/0015_home_school.sql (a test compares the two).

-- A notice (通知) to groups of people. The request stores it with its targets; the runner
-- expands the targets into recipients (a district's guardians are 100,000 people).
CREATE TABLE notices (
    id BLOB PRIMARY KEY NOT NULL,
    sender_id BLOB NOT NULL REFERENCES persons (id),
    -- the class, school or region it is sent from: its administrators see the read list too
    node_id BLOB NOT NULL REFERENCES org_nodes (id),
    -- notice | homework (a class's homework notice)
    kind TEXT NOT NULL CHECK (kind IN ('notice', 'homework')),
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    -- a "confirm" button for recipients, and an optional short reply
    needs_confirm BOOLEAN NOT NULL DEFAULT FALSE,
    reply_prompt TEXT,
    -- queued (targets not yet expanded) | sent
    state TEXT NOT NULL CHECK (state IN ('queued', 'sent')),
    lease_until TEXT,
    recipients BIGINT NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    sent_at TEXT,
    reminded_at TEXT
);
CREATE INDEX notices_sender ON notices (sender_id, created_at);
CREATE INDEX notices_node ON notices (node_id, created_at);
CREATE INDEX notices_state ON notices (state, created_at);

-- Who a notice is for: the guardians, students or staff of a class, grade, school or region.
CREATE TABLE notice_targets (
    notice_id BLOB NOT NULL REFERENCES notices (id),
    node_id BLOB NOT NULL REFERENCES org_nodes (id),
    audience TEXT NOT NULL CHECK (audience IN ('guardians', 'students', 'staff')),
    PRIMARY KEY (notice_id, node_id, audience)
);

-- One row per person a notice reached, with their read receipt, confirmation and reply.
CREATE TABLE notice_recipients (
    notice_id BLOB NOT NULL REFERENCES notices (id),
    person_id BLOB NOT NULL REFERENCES persons (id),
    -- the class the read list groups them under (students and guardians), the child it is about
    class_id BLOB,
    student_id BLOB,
    read_at TEXT,
    confirmed_at TEXT,
    reply TEXT,
    reminded_at TEXT,
    PRIMARY KEY (notice_id, person_id)
);
CREATE INDEX notice_recipients_person ON notice_recipients (person_id, read_at);

-- A guardian's request for leave for their child (请假).
CREATE TABLE leave_requests (
    id BLOB PRIMARY KEY NOT NULL,
    student_id BLOB NOT NULL REFERENCES persons (id),
    class_id BLOB NOT NULL REFERENCES org_nodes (id),
    school_id BLOB NOT NULL REFERENCES org_nodes (id),
    requested_by BLOB NOT NULL REFERENCES persons (id),
    -- from the morning or afternoon of the first day to the morning or afternoon of the last
    starts_on TEXT NOT NULL,
    starts_half TEXT NOT NULL CHECK (starts_half IN ('am', 'pm')),
    ends_on TEXT NOT NULL,
    ends_half TEXT NOT NULL CHECK (ends_half IN ('am', 'pm')),
    reason TEXT NOT NULL CHECK (reason IN ('illness', 'personal')),
    -- illness: the symptoms ticked (fever, cough, …), comma-separated
    symptoms TEXT NOT NULL DEFAULT '',
    note TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'declined', 'cancelled')),
    decided_by BLOB REFERENCES persons (id),
    decided_at TEXT,
    decision_note TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX leave_requests_class ON leave_requests (class_id, state, starts_on);
CREATE INDEX leave_requests_student ON leave_requests (student_id, starts_on);

-- A class's attendance on a day was taken (by whom, when); absent students have a mark.
CREATE TABLE attendance_days (
    class_id BLOB NOT NULL REFERENCES org_nodes (id),
    day TEXT NOT NULL,
    school_id BLOB NOT NULL REFERENCES org_nodes (id),
    students BIGINT NOT NULL,
    taken_by BLOB NOT NULL REFERENCES persons (id),
    taken_at TEXT NOT NULL,
    PRIMARY KEY (class_id, day)
);
CREATE INDEX attendance_days_school ON attendance_days (school_id, day);

CREATE TABLE attendance_marks (
    student_id BLOB NOT NULL REFERENCES persons (id),
    day TEXT NOT NULL,
    class_id BLOB NOT NULL REFERENCES org_nodes (id),
    -- absent (unexplained) | late | sick_leave | personal_leave
    status TEXT NOT NULL CHECK (status IN ('absent', 'late', 'sick_leave', 'personal_leave')),
    leave_id BLOB REFERENCES leave_requests (id),
    PRIMARY KEY (student_id, day)
);
CREATE INDEX attendance_marks_class ON attendance_marks (class_id, day);

-- Conversations (会话) between teachers, guardians and students, one-to-one or in a group.
CREATE TABLE conversations (
    id BLOB PRIMARY KEY NOT NULL,
    -- the school whose retention and review apply
    school_id BLOB NOT NULL REFERENCES org_nodes (id),
    title TEXT,
    created_by BLOB NOT NULL REFERENCES persons (id),
    created_at TEXT NOT NULL,
    last_message_at TEXT NOT NULL,
    -- reported for review by a member: when, by whom, why
    reported_at TEXT,
    reported_by BLOB REFERENCES persons (id),
    report_reason TEXT
);
CREATE INDEX conversations_school ON conversations (school_id, reported_at);

CREATE TABLE conversation_members (
    conversation_id BLOB NOT NULL REFERENCES conversations (id),
    person_id BLOB NOT NULL REFERENCES persons (id),
    last_read_at TEXT,
    PRIMARY KEY (conversation_id, person_id)
);
CREATE INDEX conversation_members_person ON conversation_members (person_id);

CREATE TABLE messages (
    id BLOB PRIMARY KEY NOT NULL,
    conversation_id BLOB NOT NULL REFERENCES conversations (id),
    sender_id BLOB NOT NULL REFERENCES persons (id),
    body TEXT NOT NULL,
    -- the client's id for a message queued offline: sent twice, kept once
    client_key TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX messages_conversation ON messages (conversation_id, created_at);
CREATE UNIQUE INDEX messages_client_key ON messages (sender_id, client_key);

-- Staff and teaching-assignment imports (issue #4): import jobs of three kinds, and the hash of
-- the row that last wrote a staff record (so re-importing the same file changes nothing).
-- Keep in step with ../postgres/0008_staff_import.sql (a test compares the two).

-- SQLite cannot change a CHECK constraint: the table is rebuilt (nothing references it).
CREATE TABLE import_jobs_new (
    id BLOB PRIMARY KEY NOT NULL,
    -- the school the file is for
    school_id BLOB NOT NULL REFERENCES org_nodes (id),
    -- students (with guardians) | staff | assignments (任课安排)
    kind TEXT NOT NULL CHECK (kind IN ('students', 'staff', 'assignments')),
    file_name TEXT NOT NULL,
    -- object-storage key of the uploaded file, and its SHA-256
    file_key TEXT NOT NULL,
    file_hash TEXT NOT NULL,
    file_size BIGINT NOT NULL,
    -- checking → checked (waiting for the commit) → committing → done; or failed, discarded
    status TEXT NOT NULL
        CHECK (status IN ('checking', 'checked', 'committing', 'done', 'failed', 'discarded')),
    -- commit the good rows and skip the bad ones (otherwise all or nothing)
    partial BOOLEAN NOT NULL DEFAULT FALSE,
    -- the locale of the report and the error copy
    locale TEXT NOT NULL,
    progress_rows BIGINT NOT NULL DEFAULT 0,
    total_rows BIGINT NOT NULL DEFAULT 0,
    good_rows BIGINT NOT NULL DEFAULT 0,
    problem_count BIGINT NOT NULL DEFAULT 0,
    -- the checking report: the headers and the first problems in words, JSON
    report TEXT,
    -- the commit's outcome: counts created / updated / unchanged, JSON
    result TEXT,
    error TEXT,
    attempts BIGINT NOT NULL DEFAULT 0,
    lease_until TEXT,
    -- NULL: from the command line
    created_by BLOB REFERENCES persons (id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    finished_at TEXT
);
INSERT INTO import_jobs_new (id, school_id, kind, file_name, file_key, file_hash, file_size, status, partial,
    locale, progress_rows, total_rows, good_rows, problem_count, report, result, error, attempts, lease_until,
    created_by, created_at, updated_at, finished_at)
SELECT id, school_id, kind, file_name, file_key, file_hash, file_size, status, partial,
    locale, progress_rows, total_rows, good_rows, problem_count, report, result, error, attempts, lease_until,
    created_by, created_at, updated_at, finished_at
FROM import_jobs;
DROP TABLE import_jobs;
ALTER TABLE import_jobs_new RENAME TO import_jobs;
CREATE INDEX import_jobs_school ON import_jobs (school_id, created_at);
CREATE INDEX import_jobs_status ON import_jobs (status, lease_until);

-- The hash of what the staff row said when an import last wrote it.
ALTER TABLE staff ADD COLUMN source_hash TEXT;

-- Staff and teaching-assignment imports (issue #4): import jobs of three kinds, and the hash of
-- the row that last wrote a staff record (so re-importing the same file changes nothing).
-- Keep in step with ../sqlite/0008_staff_import.sql (a test compares the two).

-- students (with guardians) | staff | assignments (任课安排)
ALTER TABLE import_jobs DROP CONSTRAINT import_jobs_kind_check;
ALTER TABLE import_jobs ADD CONSTRAINT import_jobs_kind_check
    CHECK (kind IN ('students', 'staff', 'assignments'));

-- The hash of what the staff row said when an import last wrote it.
ALTER TABLE staff ADD COLUMN source_hash TEXT;

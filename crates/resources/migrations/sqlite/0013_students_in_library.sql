-- Resources a teacher shares with students too (学生可见): students of the classes under the
-- resource's audience find them in the library.
ALTER TABLE resources ADD COLUMN for_students BOOLEAN NOT NULL DEFAULT FALSE;

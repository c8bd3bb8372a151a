-- Base data (issue #4): the JY/T 1002/1004 elements of persons, students, family members,
-- staff and schools; class history and registry change records; import jobs; and the change
-- log that feeds upper levels and other consumers.
-- Keep in step with ../postgres/0007_base_data.sql (a test compares the two).
-- Coded columns hold the code of the named table (crates/directory/data/codes); pages show names.

-- Person core (JY/T 1002 JCXX0101).
ALTER TABLE persons ADD COLUMN former_name TEXT;
ALTER TABLE persons ADD COLUMN pinyin TEXT;
ALTER TABLE persons ADD COLUMN birth_date TEXT;
-- GB/T 2260 division
ALTER TABLE persons ADD COLUMN birthplace TEXT;
-- gbt3304_ethnicity
ALTER TABLE persons ADD COLUMN ethnicity TEXT;
-- gbt2659_country
ALTER TABLE persons ADD COLUMN nationality TEXT;
-- jyt1001_id_type
ALTER TABLE persons ADD COLUMN id_type TEXT;
-- jyt1001_gatqw (Hong Kong / Macao / Taiwan / overseas Chinese / foreign)
ALTER TABLE persons ADD COLUMN gatqw TEXT;
-- gbt4762_political_status
ALTER TABLE persons ADD COLUMN political_status TEXT;
-- registry_health (students) or gbt2261_3_health
ALTER TABLE persons ADD COLUMN health TEXT;
-- object-storage key of the photo
ALTER TABLE persons ADD COLUMN photo TEXT;
CREATE INDEX persons_org_phone ON persons (org_id, phone);

-- A school's own elements (JY/T 1002 JCXX0101 学校基本信息).
CREATE TABLE school_profiles (
    school_id BLOB PRIMARY KEY NOT NULL REFERENCES org_nodes (id),
    -- jyt1001_school_running_type
    running_type TEXT,
    -- GB/T 2260 division the school sits in
    division TEXT,
    address TEXT,
    postcode TEXT,
    head_name TEXT,
    phone TEXT,
    -- jyt1001_urban_rural_type
    urban_rural TEXT,
    -- years of schooling per stage, "primary:6,junior:3"
    schooling_years TEXT,
    founded_on TEXT,
    updated_at TEXT NOT NULL
);

-- A student's registry record (JY/T 1002 ZXXS0101 and the national registry form).
-- Class membership is the student's role assignment at the class node.
CREATE TABLE students (
    person_id BLOB PRIMARY KEY NOT NULL REFERENCES persons (id),
    school_id BLOB NOT NULL REFERENCES org_nodes (id),
    -- enrolled | suspended | left | graduated | transferred
    status TEXT NOT NULL DEFAULT 'enrolled'
        CHECK (status IN ('enrolled', 'suspended', 'left', 'graduated', 'transferred')),
    school_no TEXT,
    -- the first day of the entry month
    entry_month TEXT,
    -- jyt1001_student_category
    category TEXT,
    -- jyt1001_study_mode (day / boarding)
    study_mode TEXT,
    address TEXT,
    -- GB/T 2260 division of the hukou, and registry_hukou nature
    hukou_division TEXT,
    hukou_nature TEXT,
    -- registry_enrollment_mode
    enrollment_mode TEXT,
    -- left_behind_child
    left_behind TEXT,
    migrant_child BOOLEAN,
    only_child BOOLEAN,
    -- disability_kind / registry_inclusive_education
    disability TEXT,
    inclusion TEXT,
    -- the import that last wrote the record, and the hash of the row it wrote: the same row
    -- imported again is left alone
    source_hash TEXT,
    import_id BLOB,
    updated_at TEXT NOT NULL
);
CREATE INDEX students_school_status ON students (school_id, status);

-- Guardians and other family members of a student (JY/T 1002 ZXXS0102).
CREATE TABLE family_members (
    student_id BLOB NOT NULL REFERENCES persons (id),
    person_id BLOB NOT NULL REFERENCES persons (id),
    -- gbt4761_family_relation
    relation TEXT NOT NULL,
    is_guardian BOOLEAN NOT NULL,
    -- the order in the registry form (监护人1, 2, …)
    position BIGINT NOT NULL,
    work_unit TEXT,
    -- gbt4658_education_level
    education TEXT,
    PRIMARY KEY (student_id, person_id)
);
CREATE INDEX family_members_person ON family_members (person_id);

-- A staff member's employment (JY/T 1002 ZXJZ0101).
CREATE TABLE staff (
    person_id BLOB PRIMARY KEY NOT NULL REFERENCES persons (id),
    -- jyt1001_k12_staffing_category
    staffing_category TEXT,
    -- gbt8561_professional_title
    title TEXT,
    -- gbt4658_education_level (highest)
    education TEXT,
    -- comma-separated posts: head_teacher, subject_head, grade_head, principal, …
    positions TEXT,
    qualification_cert TEXT,
    employment_start TEXT,
    -- jyt1001_staff_status
    status TEXT,
    import_id BLOB,
    updated_at TEXT NOT NULL
);

-- Teaching assignments are role assignments (teacher, class, subject) with their weekly periods.
ALTER TABLE role_assignments ADD COLUMN weekly_periods BIGINT;

-- Each student's classes over the years: a row opens when they join a class and closes when
-- they leave it (promotion, class change, transfer, graduation).
CREATE TABLE class_history (
    id BLOB PRIMARY KEY NOT NULL,
    person_id BLOB NOT NULL REFERENCES persons (id),
    class_id BLOB NOT NULL REFERENCES org_nodes (id),
    school_id BLOB NOT NULL REFERENCES org_nodes (id),
    school_year BIGINT NOT NULL,
    -- the class's grade as it was then
    grade_name TEXT NOT NULL,
    class_name TEXT NOT NULL,
    started_on TEXT NOT NULL,
    ended_on TEXT,
    -- import | promotion | class_change | transfer | graduation | return
    reason TEXT NOT NULL
);
CREATE INDEX class_history_person ON class_history (person_id, started_on);
CREATE INDEX class_history_class ON class_history (class_id);

-- Registry change records (学籍异动): transfer, leave, suspension, return, … with the kind and
-- reason codes of JY/T 1001 (jyt1001_registry_change_kind / _reason).
CREATE TABLE registry_changes (
    id BLOB PRIMARY KEY NOT NULL,
    person_id BLOB NOT NULL REFERENCES persons (id),
    school_id BLOB NOT NULL REFERENCES org_nodes (id),
    kind TEXT NOT NULL,
    reason TEXT,
    effective_on TEXT NOT NULL,
    -- transfers: the other school
    other_school_id BLOB REFERENCES org_nodes (id),
    note TEXT,
    actor_id BLOB,
    created_at TEXT NOT NULL
);
CREATE INDEX registry_changes_person ON registry_changes (person_id, effective_on);
CREATE INDEX registry_changes_school ON registry_changes (school_id, effective_on);

-- Spreadsheet imports: uploaded and checked, then committed, each step a background job; the
-- commit is one transaction that also marks the job done. A running job whose lease has run
-- out was interrupted (a commit's transaction never committed) and is taken up again by any
-- node.
CREATE TABLE import_jobs (
    id BLOB PRIMARY KEY NOT NULL,
    -- the school the file is for
    school_id BLOB NOT NULL REFERENCES org_nodes (id),
    kind TEXT NOT NULL CHECK (kind IN ('students')),
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
CREATE INDEX import_jobs_school ON import_jobs (school_id, created_at);
CREATE INDEX import_jobs_status ON import_jobs (status, lease_until);

-- Every change to base data, in order: the cursor of the change feed and of the upward push.
CREATE TABLE base_changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    at TEXT NOT NULL,
    -- the school (or region) whose data changed
    node_id BLOB NOT NULL,
    -- person | student | staff | family | node
    entity TEXT NOT NULL,
    entity_id BLOB NOT NULL,
    -- upsert | delete
    op TEXT NOT NULL
);
CREATE INDEX base_changes_node_seq ON base_changes (node_id, seq);

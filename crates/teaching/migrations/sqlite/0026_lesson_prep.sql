-- Lesson preparation (备课, issue #18): a teacher's plan for one lesson of a class, on a chapter
-- of the textbook catalogue, in the Chinese template's sections, kept in every version; library
-- resources are linked into its steps with the version used.
-- Keep in step with ../postgres/0026_lesson_prep.sql (a test compares the two).
CREATE TABLE lesson_plans (
    id BLOB PRIMARY KEY NOT NULL,
    -- the author's school: its administrators may read the plan
    school_id BLOB NOT NULL REFERENCES org_nodes (id),
    author_id BLOB NOT NULL REFERENCES persons (id),
    class_id BLOB NOT NULL REFERENCES org_nodes (id),
    -- JY/T 1001 course code
    subject TEXT NOT NULL,
    -- a unit or section of the catalogue
    catalog_id BLOB NOT NULL REFERENCES catalog_nodes (id),
    -- the latest version's title and number (each save writes a new version)
    title TEXT NOT NULL,
    version BIGINT NOT NULL,
    -- the plan (and version) it was started from: the author's own or a colleague's shared one
    based_on BLOB REFERENCES lesson_plans (id),
    based_on_version BIGINT,
    -- shared to the library: the teaching_design resource and the version shared
    resource_id BLOB REFERENCES resources (id),
    shared_version BIGINT,
    -- the courseware made from it: a courseware resource, new versions of it after
    courseware_id BLOB REFERENCES resources (id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    deleted_at TEXT
);
CREATE INDEX lesson_plans_author ON lesson_plans (author_id, updated_at);
CREATE INDEX lesson_plans_school ON lesson_plans (school_id, updated_at);
CREATE UNIQUE INDEX lesson_plans_resource ON lesson_plans (resource_id);

-- Every version of a plan, never changed once written.
CREATE TABLE lesson_plan_versions (
    plan_id BLOB NOT NULL REFERENCES lesson_plans (id),
    version BIGINT NOT NULL,
    title TEXT NOT NULL,
    -- the template's sections: 教学目标, 重点难点, 教学准备, 板书设计, 作业设计, 教学反思
    objectives TEXT NOT NULL,
    key_points TEXT NOT NULL,
    preparation TEXT NOT NULL,
    board TEXT NOT NULL,
    homework TEXT NOT NULL,
    reflection TEXT NOT NULL,
    edited_by BLOB NOT NULL REFERENCES persons (id),
    edited_at TEXT NOT NULL,
    PRIMARY KEY (plan_id, version)
);

-- 教学过程: the timed steps of a version, in order.
CREATE TABLE lesson_plan_steps (
    plan_id BLOB NOT NULL,
    version BIGINT NOT NULL,
    position BIGINT NOT NULL,
    title TEXT NOT NULL,
    minutes BIGINT NOT NULL,
    content TEXT NOT NULL,
    PRIMARY KEY (plan_id, version, position),
    FOREIGN KEY (plan_id, version) REFERENCES lesson_plan_versions (plan_id, version)
);

-- Library resources placed into a step: linked, not copied, with the resource's version then.
CREATE TABLE lesson_plan_links (
    plan_id BLOB NOT NULL,
    version BIGINT NOT NULL,
    position BIGINT NOT NULL,
    resource_id BLOB NOT NULL REFERENCES resources (id),
    resource_version BIGINT NOT NULL,
    PRIMARY KEY (plan_id, version, position, resource_id),
    FOREIGN KEY (plan_id, version, position) REFERENCES lesson_plan_steps (plan_id, version, position)
);
CREATE INDEX lesson_plan_links_resource ON lesson_plan_links (resource_id);

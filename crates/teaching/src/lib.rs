//! Teaching (备课, 授课, 作业, 测评): lesson preparation from the library; classroom mode (the
//! plan's slides, a timer, the random picker, quick questions, each lesson taught recorded);
//! knowledge points per stage and subject (by hand or from a spreadsheet); the scoring of the
//! question bank's item types. Pages under `/teaching`; every countable action is recorded in
//! the kernel's fact record.

pub mod analysis;
pub mod assignments;
pub mod classroom;
pub mod demo;
pub mod items;
pub mod knowledge;
pub mod lesson_prep;
pub mod practice;

use axum::Router;
use kernel::{AppResult, AppState, Db, NodeId, on_db};

/// The module's strings, registered with the kernel's i18n when its routes are built.
pub static CATALOGUES: kernel::i18n::Catalogues = kernel::i18n::Catalogues {
    module: "teaching",
    zh_cn: include_str!("../locales/zh-CN.toml"),
    en: include_str!("../locales/en.toml"),
};

/// The module's pages.
pub fn routes() -> Router<AppState> {
    kernel::i18n::register(&CATALOGUES);
    lesson_prep::pages::routes()
        .merge(classroom::pages::routes())
        .merge(knowledge::pages::routes())
        .merge(items::pages::routes())
        .merge(assignments::routes())
        .merge(analysis::pages::routes())
        .merge(practice::pages::routes())
}

/// The forms that take a spreadsheet (the knowledge points' and the items' imports): served under the
/// spreadsheet upload limit.
pub fn upload_routes() -> Router<AppState> {
    kernel::i18n::register(&CATALOGUES);
    knowledge::pages::upload_routes()
        .merge(items::pages::upload_routes())
        .merge(assignments::upload_routes())
}

/// The module's background work on every node: tests whose time ran out are handed in with
/// the answers saved by then (each once, whichever node gets there first); the items'
/// difficulties follow the answers marked since.
pub async fn runner(state: AppState) {
    loop {
        match assignments::work::close_expired(&state, None).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(attempts = n, "tests handed in at their end"),
            Err(e) => tracing::error!(error = %e, "handing in ended tests failed"),
        }
        // The items' difficulties follow the answers marked since the last pass.
        loop {
            match analysis::mastery::calibrate(&state, 2_000).await {
                Ok(2_000) => continue,
                Ok(_) => break,
                Err(e) => {
                    tracing::error!(error = %e, "calibrating items failed");
                    break;
                }
            }
        }
        tokio::time::sleep(std::time::Duration::from_secs(15)).await;
    }
}

/// The kinds of facts this module records in the kernel's fact record.
pub const FACT_KINDS: &[&str] = &[
    "lesson_prep.written",
    "lesson_prep.shared",
    "teaching.lesson_taught",
    "teaching.taught_with_resources",
    "teaching.assignment_set",
    "teaching.work_submitted",
    "teaching.test_taken",
    "teaching.work_graded",
    "teaching.practice_done",
];

/// How the audit log names this module's objects.
pub const AUDIT_NAMES: &[kernel::audit::names::ObjectName] = &[
    kernel::audit::names::ObjectName {
        kind: "lesson_plan",
        sql: "SELECT title FROM lesson_plans WHERE id = $1",
    },
    kernel::audit::names::ObjectName {
        kind: "item",
        sql: "SELECT substr(stem, 1, 40) FROM items WHERE id = $1",
    },
    kernel::audit::names::ObjectName {
        kind: "knowledge_point",
        sql: "SELECT path FROM knowledge_points WHERE id = $1",
    },
    kernel::audit::names::ObjectName {
        kind: "assignment",
        sql: "SELECT title FROM assignments WHERE id = $1",
    },
    kernel::audit::names::ObjectName {
        kind: "submission",
        sql: "SELECT p.name || ' · ' || a.title FROM submissions s JOIN persons p ON p.id = s.student_id
              JOIN assignments a ON a.id = s.assignment_id WHERE s.id = $1",
    },
    kernel::audit::names::ObjectName {
        kind: "classroom_session",
        sql: "SELECT title FROM classroom_sessions WHERE id = $1",
    },
];

/// A node's name with its school and grade (`上城区实验小学 一年级 (1)班`), or its own name.
pub async fn label(db: &Db, node: NodeId) -> AppResult<String> {
    let rows: Vec<(String,)> = on_db!(db, p => sqlx::query_as(
        "SELECT n.name FROM org_closure c JOIN org_nodes n ON n.id = c.ancestor_id
         WHERE c.descendant_id = $1 AND (n.kind IN ('school', 'grade', 'class') OR c.depth = 0)
         ORDER BY c.depth DESC",
    ).bind(node).fetch_all(p).await)?;
    Ok(rows.into_iter().map(|r| r.0).collect::<Vec<_>>().join(" "))
}

/// The module's tables: lesson plans and their versions, lessons taught, knowledge points, the
/// question bank, assignments with their submissions, answers, marks and the gradebook's totals.
pub static SCHEMA: kernel::Schema = kernel::schema!("teaching", [&resources::SCHEMA]);

#[cfg(test)]
mod schema_tests {
    #[test]
    fn migration_folders_match() {
        kernel::testing::assert_folders_match(&super::SCHEMA);
    }

    #[test]
    fn catalogues_match() {
        kernel::testing::assert_catalogues_match(&super::CATALOGUES);
    }

    #[tokio::test]
    #[ignore = "needs PostgreSQL: run with TEST_DATABASE_URL set and --include-ignored (.ci/run does)"]
    async fn schema_is_the_same_on_both_databases() {
        assert!(kernel::testing::assert_schema_parity(&super::SCHEMA).await > 3);
    }
}

//! Live statistics of any node of the tree, computed from the records themselves: the district
//! and the city see the numbers of their schools without anyone reporting them. Students are
//! those enrolled in a class of the node's subtree.

pub mod api;
pub mod pages;

use crate::codes::{self, Table};
use crate::import::classes::{grade_name, school_year};
use crate::model::Stage;
use crate::nodes;
use chrono::NaiveDate;
use identity::password::UNISSUED;
use kernel::authz::{self, Permission};
use kernel::{AppResult, Ctx, NodeId, on_db};
use serde::Serialize;

/// A class of more students than this is over-size (primary 45, secondary 50).
pub fn class_size_limit(stage: Stage) -> i64 {
    match stage {
        Stage::Primary | Stage::Preschool | Stage::Special => 45,
        _ => 50,
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Count {
    /// The code (empty: not recorded).
    pub code: String,
    /// The code's name.
    pub name: String,
    pub count: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct GradeCount {
    pub stage: String,
    pub year: i64,
    pub name: String,
    pub classes: i64,
    pub students: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct NodeStats {
    pub node_id: NodeId,
    pub students: i64,
    pub by_gender: Vec<Count>,
    pub by_ethnicity: Vec<Count>,
    pub by_category: Vec<Count>,
    pub by_grade: Vec<GradeCount>,
    pub classes: i64,
    pub average_class_size: f64,
    pub largest_class: i64,
    /// Classes over 45 (primary) or 50 (secondary) students.
    pub oversize_classes: i64,
    pub teachers: i64,
    pub students_per_teacher: Option<f64>,
    pub left_behind: i64,
    pub migrant_children: i64,
    /// Students whose account has its password issued, and who have logged in.
    pub students_registered: i64,
    pub students_activated: i64,
    pub teachers_registered: i64,
    pub teachers_activated: i64,
    /// 30 September of the current school year.
    pub registration_deadline: NaiveDate,
}

/// The students enrolled in the classes of `$1`'s subtree.
macro_rules! enrolled {
    ($select:literal, $tail:literal) => {
        concat!(
            "SELECT ",
            $select,
            " FROM org_closure c
             JOIN role_assignments r ON r.node_id = c.descendant_id AND r.role = 'student'
             JOIN persons p ON p.id = r.person_id AND p.active = TRUE
             LEFT JOIN students s ON s.person_id = r.person_id
             WHERE c.ancestor_id = $1 AND COALESCE(s.status, 'enrolled') = 'enrolled' ",
            $tail
        )
    };
}

fn counts(rows: Vec<(Option<String>, i64)>, table: Table) -> Vec<Count> {
    let mut out: Vec<Count> = rows
        .into_iter()
        .map(|(code, count)| {
            let code = code.unwrap_or_default();
            let name = codes::name(table, &code).unwrap_or("").to_owned();
            Count { code, name, count }
        })
        .collect();
    out.sort_by(|a, b| b.count.cmp(&a.count).then(a.code.cmp(&b.code)));
    out
}

/// The statistics of a node, for the administrators at or above it.
pub async fn of_node(cx: &Ctx<'_>, id: NodeId) -> AppResult<NodeStats> {
    nodes::get(cx, id).await?;
    authz::require(cx.db(), cx.actor, Permission::ViewPeople, id).await?;
    let db = cx.db();
    let gender: Vec<(Option<String>, i64)> = on_db!(db, p => sqlx::query_as(
        enrolled!("p.gender, COUNT(*)", "GROUP BY p.gender")).bind(id).fetch_all(p).await)?;
    let ethnicity: Vec<(Option<String>, i64)> = on_db!(db, p => sqlx::query_as(
        enrolled!("p.ethnicity, COUNT(*)", "GROUP BY p.ethnicity")).bind(id).fetch_all(p).await)?;
    let category: Vec<(Option<String>, i64)> = on_db!(db, p => sqlx::query_as(
        enrolled!("s.category, COUNT(*)", "GROUP BY s.category")).bind(id).fetch_all(p).await)?;
    let (left_behind, migrant): (Option<i64>, Option<i64>) = on_db!(db, p => sqlx::query_as(enrolled!(
        "SUM(CASE WHEN s.left_behind IN ('1', '2') THEN 1 ELSE 0 END), SUM(CASE WHEN s.migrant_child = TRUE THEN 1 ELSE 0 END)",
        "")).bind(id).fetch_one(p).await)?;
    let (registered, activated): (Option<i64>, Option<i64>) = on_db!(db, p => sqlx::query_as(concat!(
        "SELECT SUM(CASE WHEN a.password_hash <> $2 OR x.registered THEN 1 ELSE 0 END),
                SUM(CASE WHEN a.last_login_at IS NOT NULL OR x.activated THEN 1 ELSE 0 END)
         FROM (", enrolled!("DISTINCT r.person_id", ""), ") e
         LEFT JOIN accounts a ON a.person_id = e.person_id
         LEFT JOIN exchange_accounts x ON x.person_id = e.person_id",
    )).bind(id).bind(UNISSUED).fetch_one(p).await)?;
    // Per class: its grade (stage and year) and its students.
    let classes: Vec<(NodeId, Option<String>, Option<String>, i64)> = on_db!(db, p => sqlx::query_as(concat!(
        "SELECT e.node_id, g.stages, g.grade_code, COUNT(*) FROM (",
        enrolled!("r.node_id, r.person_id", ""),
        ") e JOIN org_nodes n ON n.id = e.node_id LEFT JOIN org_nodes g ON g.id = n.parent_id
         GROUP BY e.node_id, g.stages, g.grade_code",
    )).bind(id).fetch_all(p).await)?;
    let (teachers, t_registered, t_activated): (i64, Option<i64>, Option<i64>) = on_db!(db, p => sqlx::query_as(
        "SELECT COUNT(*), SUM(CASE WHEN a.password_hash <> $2 OR x.registered THEN 1 ELSE 0 END),
                SUM(CASE WHEN a.last_login_at IS NOT NULL OR x.activated THEN 1 ELSE 0 END)
         FROM (SELECT DISTINCT r.person_id FROM org_closure c
               JOIN role_assignments r ON r.node_id = c.descendant_id AND r.role IN ('teacher', 'head_teacher')
               JOIN persons p ON p.id = r.person_id AND p.active = TRUE
               WHERE c.ancestor_id = $1) t
         LEFT JOIN accounts a ON a.person_id = t.person_id
         LEFT JOIN exchange_accounts x ON x.person_id = t.person_id",
    ).bind(id).bind(UNISSUED).fetch_one(p).await)?;

    let students: i64 = gender.iter().map(|(_, n)| n).sum();
    let mut by_grade: Vec<GradeCount> = Vec::new();
    let (mut oversize, mut largest) = (0, 0);
    for (_, stages, grade, n) in &classes {
        let stage = stages
            .as_deref()
            .and_then(|s| s.split(',').next())
            .and_then(Stage::parse)
            .unwrap_or(Stage::Primary);
        let year: i64 = grade.as_deref().and_then(|g| g.parse().ok()).unwrap_or(0);
        largest = largest.max(*n);
        if *n > class_size_limit(stage) {
            oversize += 1;
        }
        match by_grade
            .iter_mut()
            .find(|g| g.stage == stage.as_str() && g.year == year)
        {
            Some(g) => {
                g.classes += 1;
                g.students += n;
            }
            None => by_grade.push(GradeCount {
                stage: stage.as_str().into(),
                year,
                name: grade_name(stage, u8::try_from(year).unwrap_or(1)),
                classes: 1,
                students: *n,
            }),
        }
    }
    let order = |s: &str| Stage::ALL.iter().position(|x| x.as_str() == s);
    by_grade.sort_by_key(|g| (order(&g.stage), g.year));
    let today = cx.today();
    let year = school_year(today);
    let deadline = NaiveDate::from_ymd_opt(year as i32, 9, 30).unwrap_or(today);
    Ok(NodeStats {
        node_id: id,
        students,
        by_gender: counts(gender, Table::Gender),
        by_ethnicity: counts(ethnicity, Table::Ethnicity),
        by_category: counts(category, Table::StudentCategory),
        by_grade,
        classes: classes.len() as i64,
        average_class_size: if classes.is_empty() {
            0.0
        } else {
            students as f64 / classes.len() as f64
        },
        largest_class: largest,
        oversize_classes: oversize,
        teachers,
        students_per_teacher: (teachers > 0).then(|| students as f64 / teachers as f64),
        left_behind: left_behind.unwrap_or(0),
        migrant_children: migrant.unwrap_or(0),
        students_registered: registered.unwrap_or(0),
        students_activated: activated.unwrap_or(0),
        teachers_registered: t_registered.unwrap_or(0),
        teachers_activated: t_activated.unwrap_or(0),
        registration_deadline: deadline,
    })
}

/// A node's statistics page and API.
pub fn routes() -> axum::Router<kernel::AppState> {
    use axum::routing::get;
    axum::Router::new()
        .route("/admin/org/{id}/stats", get(pages::show))
        .merge(api::routes())
}

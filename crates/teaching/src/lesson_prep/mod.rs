//! Lesson preparation (备课, `lesson_prep`): a teacher's plan for one lesson of a class they
//! teach, on a unit or section of the textbook catalogue, in the sections of the Chinese
//! template (教学目标, 重点难点, 教学准备, 教学过程 in timed steps, 板书设计, 作业设计, 教学反思).
//! Library resources are placed into the steps as links with the version used, never copies.
//! Every save is a new version and the old ones stay. A plan is shared to the library as a
//! `teaching_design` resource through the library's review, and a colleague who sees that
//! resource starts a plan of their own from it.

pub mod courseware;
pub mod pages;
pub mod share;
pub mod write;

use chrono::{DateTime, Utc};
use kernel::{AppError, AppResult, CatalogId, Ctx, NodeId, PersonId, ResourceId, on_db};
use serde::Serialize;

kernel::id_type!(
    /// A lesson plan.
    PlanId => "teaching.plan_not_found",
);

/// The error code of an unknown, foreign or deleted plan.
pub const NOT_FOUND: &str = "teaching.plan_not_found";

pub const TITLE_MAX: usize = 100;
pub const SECTION_MAX: usize = 5_000;
pub const STEP_TITLE_MAX: usize = 50;
pub const STEP_CONTENT_MAX: usize = 3_000;
pub const STEPS_MAX: usize = 20;
pub const LINKS_MAX: usize = 10;
/// Bank items placed on one step (its slide's questions).
pub const ITEMS_MAX: usize = 5;
pub const MINUTES_MAX: i64 = 240;

/// The template's sections other than the steps, in their order: (field, i18n key).
pub const SECTIONS: [&str; 6] = [
    "objectives",
    "key_points",
    "preparation",
    "board",
    "homework",
    "reflection",
];

/// A plan as the lists show it: its latest title and version.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Plan {
    pub id: PlanId,
    pub school_id: NodeId,
    pub author_id: PersonId,
    pub class_id: NodeId,
    pub subject: String,
    pub catalog_id: CatalogId,
    pub title: String,
    pub version: i64,
    pub based_on: Option<PlanId>,
    pub based_on_version: Option<i64>,
    pub resource_id: Option<ResourceId>,
    pub shared_version: Option<i64>,
    /// The courseware made from it, in the library.
    pub courseware_id: Option<ResourceId>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The author's name, the class (`一年级(1)班`) and the chapter's name.
    #[sqlx(default)]
    pub author: String,
    #[sqlx(default)]
    pub class_name: String,
    #[sqlx(default)]
    pub chapter: String,
}

const PLAN_COLUMNS: &str = "l.id, l.school_id, l.author_id, l.class_id, l.subject, l.catalog_id, \
     l.title, l.version, l.based_on, l.based_on_version, l.resource_id, l.shared_version, l.courseware_id, \
     l.created_at, l.updated_at, p.name AS author, g.name || c.name AS class_name, k.name AS chapter";

const PLAN_FROM: &str = "FROM lesson_plans l JOIN persons p ON p.id = l.author_id \
     JOIN org_nodes c ON c.id = l.class_id JOIN org_nodes g ON g.id = c.parent_id \
     JOIN catalog_nodes k ON k.id = l.catalog_id";

/// One version of a plan: its sections and its steps.
#[derive(Debug, Clone, Serialize, Default, PartialEq)]
pub struct Content {
    pub title: String,
    pub objectives: String,
    pub key_points: String,
    pub preparation: String,
    pub board: String,
    pub homework: String,
    pub reflection: String,
    pub steps: Vec<Step>,
}

impl Content {
    /// A section's text by its field name (see [`SECTIONS`]).
    pub fn section(&self, field: &str) -> &str {
        match field {
            "objectives" => &self.objectives,
            "key_points" => &self.key_points,
            "preparation" => &self.preparation,
            "board" => &self.board,
            "homework" => &self.homework,
            "reflection" => &self.reflection,
            _ => "",
        }
    }

    /// The steps' minutes added up.
    pub fn minutes(&self) -> i64 {
        self.steps.iter().map(|s| s.minutes).sum()
    }

    /// The resources linked anywhere in the plan, each once.
    pub fn resources(&self) -> Vec<ResourceId> {
        let mut out: Vec<ResourceId> = Vec::new();
        for l in self.steps.iter().flat_map(|s| &s.links) {
            if !out.contains(&l.resource_id) {
                out.push(l.resource_id);
            }
        }
        out
    }
}

/// A timed step of 教学过程.
#[derive(Debug, Clone, Serialize, Default, PartialEq)]
pub struct Step {
    pub title: String,
    pub minutes: i64,
    pub content: String,
    pub links: Vec<Link>,
    /// Bank items placed on it, in order: shown on its slide and asked in class from there.
    pub items: Vec<crate::items::bank::ItemId>,
}

/// A library resource placed into a step, at the version it had then.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Link {
    pub resource_id: ResourceId,
    pub resource_version: i64,
    /// The resource's title now (empty if it is gone or the reader may not open it) and kind
    /// (empty if it is gone).
    pub title: String,
    pub kind: String,
    /// Whether the viewer may open it (else its title is shown without a link).
    pub visible: bool,
    /// The resource changed since it was placed.
    pub newer: bool,
}

/// A version in a plan's history.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct VersionInfo {
    pub version: i64,
    pub title: String,
    pub edited_at: DateTime<Utc>,
    pub editor: String,
}

/// A plan row, whoever asks (`None` if there is none or it was deleted).
pub async fn find(db: &kernel::Db, id: PlanId) -> AppResult<Option<Plan>> {
    let sql = format!("SELECT {PLAN_COLUMNS} {PLAN_FROM} WHERE l.id = $1 AND l.deleted_at IS NULL");
    Ok(
        on_db!(db, p => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(id).fetch_optional(p).await)?,
    )
}

/// A plan row even if it was deleted (a lesson taught from it still shows its slides).
pub async fn find_any(db: &kernel::Db, id: PlanId) -> AppResult<Option<Plan>> {
    let sql = format!("SELECT {PLAN_COLUMNS} {PLAN_FROM} WHERE l.id = $1");
    Ok(
        on_db!(db, p => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(id).fetch_optional(p).await)?,
    )
}

/// Whether the actor may read the plan: its author, or an administrator of its school or
/// above.
pub async fn may_read(cx: &Ctx<'_>, plan: &Plan) -> AppResult<bool> {
    Ok(plan.author_id == cx.actor.person_id
        || cx.actor.is_system()
        || kernel::authz::administers(cx.db(), cx.actor, plan.school_id).await?)
}

/// The plan, if the actor may read it (404 otherwise: a foreign id is not told apart).
pub async fn get(cx: &Ctx<'_>, id: PlanId) -> AppResult<Plan> {
    match find(cx.db(), id).await? {
        Some(p) if may_read(cx, &p).await? => Ok(p),
        _ => Err(AppError::NotFound(crate::lesson_prep::NOT_FOUND)),
    }
}

/// The plan, if the actor wrote it (404 for others: they may read it but not change it).
pub async fn get_own(cx: &Ctx<'_>, id: PlanId) -> AppResult<Plan> {
    let p = get(cx, id).await?;
    if p.author_id != cx.actor.person_id {
        return Err(AppError::Forbidden);
    }
    Ok(p)
}

/// The actor's plans, the latest changed first.
pub async fn mine(cx: &Ctx<'_>, limit: i64) -> AppResult<Vec<Plan>> {
    let sql = format!(
        "SELECT {PLAN_COLUMNS} {PLAN_FROM} WHERE l.author_id = $1 AND l.deleted_at IS NULL
         ORDER BY l.updated_at DESC, l.id DESC LIMIT $2"
    );
    Ok(
        on_db!(cx.db(), p => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(cx.actor.person_id).bind(limit).fetch_all(p).await)?,
    )
}

/// The plans of a school (or of every school below a region) for its administrators, the
/// latest changed first.
pub async fn of_school(cx: &Ctx<'_>, node: NodeId, limit: i64) -> AppResult<Vec<Plan>> {
    if !kernel::authz::administers(cx.db(), cx.actor, node).await? {
        return Err(AppError::Forbidden);
    }
    let sql = format!(
        "SELECT {PLAN_COLUMNS} {PLAN_FROM} WHERE l.deleted_at IS NULL AND l.school_id IN
           (SELECT descendant_id FROM org_closure WHERE ancestor_id = $1)
         ORDER BY l.updated_at DESC, l.id DESC LIMIT $2"
    );
    Ok(
        on_db!(cx.db(), p => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(node).bind(limit).fetch_all(p).await)?,
    )
}

/// A version's content (`None`: the latest), with each link as the viewer sees it.
pub async fn content(cx: &Ctx<'_>, plan: &Plan, version: Option<i64>) -> AppResult<Content> {
    let version = version.unwrap_or(plan.version);
    let head: Option<(String, String, String, String, String, String, String)> = on_db!(cx.db(), p => sqlx::query_as(
            "SELECT title, objectives, key_points, preparation, board, homework, reflection
             FROM lesson_plan_versions WHERE plan_id = $1 AND version = $2",
        ).bind(plan.id).bind(version).fetch_optional(p).await)?;
    let Some((title, objectives, key_points, preparation, board, homework, reflection)) = head
    else {
        return Err(AppError::NotFound(crate::lesson_prep::NOT_FOUND));
    };
    let steps: Vec<(i64, String, i64, String)> = on_db!(cx.db(), p => sqlx::query_as(
        "SELECT position, title, minutes, content FROM lesson_plan_steps
         WHERE plan_id = $1 AND version = $2 ORDER BY position",
    ).bind(plan.id).bind(version).fetch_all(p).await)?;
    let links: Vec<(i64, ResourceId, i64)> = on_db!(cx.db(), p => sqlx::query_as(
        "SELECT position, resource_id, resource_version FROM lesson_plan_links
         WHERE plan_id = $1 AND version = $2 ORDER BY position, resource_id",
    ).bind(plan.id).bind(version).fetch_all(p).await)?;
    let placed: Vec<(i64, crate::items::bank::ItemId)> = on_db!(cx.db(), p => sqlx::query_as(
        "SELECT position, item_id FROM lesson_plan_items WHERE plan_id = $1 AND version = $2 ORDER BY position, seq",
    ).bind(plan.id).bind(version).fetch_all(p).await)?;
    let viewer = resources::access::Viewer::of(cx.db(), cx.actor).await?;
    let mut seen: std::collections::HashMap<ResourceId, (String, String, bool, i64)> =
        std::collections::HashMap::new();
    for (_, id, _) in &links {
        if seen.contains_key(id) {
            continue;
        }
        let row = resources::library::resource::find(cx.db(), *id).await?;
        let entry = match row {
            Some(r) if r.deleted_at.is_none() => {
                let visible = resources::access::may_view(cx.db(), cx.actor, &viewer, &r).await?;
                // A resource the reader may not open is not named to them.
                let title = if visible {
                    r.title.clone()
                } else {
                    String::new()
                };
                (title, r.kind.clone(), visible, r.version)
            }
            _ => (String::new(), String::new(), false, 0),
        };
        seen.insert(*id, entry);
    }
    let steps = steps
        .into_iter()
        .map(|(pos, title, minutes, content)| Step {
            title,
            minutes,
            content,
            links: links
                .iter()
                .filter(|(p, _, _)| *p == pos)
                .map(|(_, id, v)| {
                    let (title, kind, visible, now) = seen.get(id).cloned().unwrap_or_default();
                    Link {
                        resource_id: *id,
                        resource_version: *v,
                        title,
                        kind,
                        visible,
                        newer: now > *v,
                    }
                })
                .collect(),
            items: placed
                .iter()
                .filter(|(p, _)| *p == pos)
                .map(|(_, i)| *i)
                .collect(),
        })
        .collect();
    Ok(Content {
        title,
        objectives,
        key_points,
        preparation,
        board,
        homework,
        reflection,
        steps,
    })
}

/// A plan's versions, the latest first.
pub async fn versions(cx: &Ctx<'_>, plan: &Plan) -> AppResult<Vec<VersionInfo>> {
    Ok(on_db!(cx.db(), p => sqlx::query_as(
        "SELECT v.version, v.title, v.edited_at, p.name AS editor FROM lesson_plan_versions v
         JOIN persons p ON p.id = v.edited_by WHERE v.plan_id = $1 ORDER BY v.version DESC",
    ).bind(plan.id).fetch_all(p).await)?)
}

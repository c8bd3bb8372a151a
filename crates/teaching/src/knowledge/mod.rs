//! Knowledge points (知识点): a region's tree per stage and subject (识字与写字 → 汉字笔画 → …),
//! which items, answers and each student's mastery refer to. The region's catalogue maintainers
//! (its administrators) keep it, by hand or from a spreadsheet ([`import`]); everyone who uses
//! the region's catalogue reads it.

pub mod import;
pub mod pages;

use chrono::{DateTime, Utc};
use kernel::audit::AuditEvent;
use kernel::{AppError, AppResult, Ctx, Db, FieldErrors, NodeId, Tx, on_db, on_tx};
use resources::catalog::edit::require_maintainer;
use serde::Serialize;
use std::collections::HashMap;

kernel::id_type!(
    /// A knowledge point.
    PointId => "teaching.knowledge_point_not_found",
);

pub const NOT_FOUND: &str = "teaching.knowledge_point_not_found";
/// Levels below the subject a tree may have.
pub const MAX_DEPTH: usize = 4;
pub const NAME_MAX: usize = 60;
/// Joins the names of a point's path.
pub const SEP: &str = " / ";

#[derive(Debug, Clone, Serialize, sqlx::FromRow, PartialEq)]
pub struct Point {
    pub id: PointId,
    pub region_id: NodeId,
    pub stage: String,
    pub subject: String,
    pub parent_id: Option<PointId>,
    pub name: String,
    pub path: String,
    pub depth: i64,
    pub position: i64,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, region_id, stage, subject, parent_id, name, path, depth, position, active, \
     created_at, updated_at";

/// A name as a point may have it: trimmed, spaces folded, not empty, at most [`NAME_MAX`]
/// characters and without the path separator.
pub fn clean_name(name: &str) -> Result<String, &'static str> {
    let n = resources::catalog::model::clean(name);
    if n.is_empty() || n.chars().count() > NAME_MAX || n.contains('/') {
        return Err("error.teaching.point_name");
    }
    Ok(n)
}

/// A point, whoever asks.
pub async fn find(db: &Db, id: PointId) -> AppResult<Option<Point>> {
    let sql = format!("SELECT {COLUMNS} FROM knowledge_points WHERE id = $1");
    Ok(
        on_db!(db, p => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(id).fetch_optional(p).await)?,
    )
}

/// A region's points of a stage and subject, depth first in their order (inactive ones too
/// when `all`).
pub async fn tree(
    db: &Db,
    region: NodeId,
    stage: &str,
    subject: &str,
    all: bool,
) -> AppResult<Vec<Point>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM knowledge_points WHERE region_id = $1 AND stage = $2 AND subject = $3
           AND (active OR $4) ORDER BY depth, position"
    );
    let rows: Vec<Point> = on_db!(db, p => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(region).bind(stage).bind(subject).bind(all).fetch_all(p).await)?;
    Ok(depth_first(rows))
}

/// Points ordered depth first, siblings by position.
pub fn depth_first(rows: Vec<Point>) -> Vec<Point> {
    let mut children: HashMap<Option<PointId>, Vec<Point>> = HashMap::new();
    for p in rows {
        children.entry(p.parent_id).or_default().push(p);
    }
    for list in children.values_mut() {
        list.sort_by_key(|p| (p.position, p.name.clone()));
    }
    let mut out = Vec::new();
    let mut stack: Vec<Point> = children.remove(&None).unwrap_or_default();
    stack.reverse();
    while let Some(p) = stack.pop() {
        if let Some(mut kids) = children.remove(&Some(p.id)) {
            kids.reverse();
            stack.extend(kids);
        }
        out.push(p);
    }
    out
}

/// A region's stage and subject that has points, with how many.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Subject {
    pub region_id: NodeId,
    pub stage: String,
    pub subject: String,
    pub points: i64,
}

/// The stages and subjects with points in `regions`.
pub async fn subjects(db: &Db, regions: &[NodeId]) -> AppResult<Vec<Subject>> {
    let mut out = Vec::new();
    for r in regions {
        let rows: Vec<Subject> = on_db!(db, p => sqlx::query_as(
            "SELECT region_id, stage, subject, COUNT(*) AS points FROM knowledge_points
             WHERE region_id = $1 AND active GROUP BY region_id, stage, subject ORDER BY stage, subject",
        ).bind(*r).fetch_all(p).await)?;
        out.extend(rows);
    }
    Ok(out)
}

/// Inserts a point (inside an import or an addition).
pub(crate) async fn insert(tx: &mut Tx, p: &Point) -> AppResult<()> {
    // Two additions of one path at once: the second is told the point is there.
    on_tx!(tx, t => sqlx::query(
        "INSERT INTO knowledge_points (id, region_id, stage, subject, parent_id, name, path, depth, position, active, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    ).bind(p.id).bind(p.region_id).bind(&p.stage).bind(&p.subject).bind(p.parent_id).bind(&p.name)
     .bind(&p.path).bind(p.depth).bind(p.position).bind(p.active).bind(p.created_at).bind(p.updated_at)
     .execute(&mut *t).await.map(|r| r.rows_affected()))
    .map_err(|e| kernel::error::unique_violation(e, "teaching.point_exists", "name"))?;
    Ok(())
}

/// A new point, added by hand.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct NewPoint {
    pub region_id: String,
    pub stage: String,
    pub subject: String,
    #[serde(default)]
    pub parent_id: String,
    pub name: String,
}

/// Adds a point at the end of its parent's (or the subject's top) points. The region's
/// catalogue maintainers only.
pub async fn add(cx: &Ctx<'_>, input: &NewPoint) -> AppResult<Point> {
    let region: NodeId = input
        .region_id
        .parse()
        .map_err(|_| AppError::NotFound("directory.node_not_found"))?;
    require_maintainer(cx, region).await?;
    let mut errors = FieldErrors::new();
    let stage = resources::catalog::model::parse_stage(&input.stage);
    if stage.is_none() {
        errors.add("stage", "error.catalog.unknown_stage");
    }
    let subject = stage.and_then(|s| resources::catalog::model::parse_subject(&input.subject, s));
    if stage.is_some() && subject.is_none() {
        errors.add("subject", "error.catalog.unknown_subject");
    }
    let name = clean_name(&input.name)
        .map_err(|k| errors.add("name", k))
        .ok();
    let parent = match input.parent_id.trim() {
        "" => None,
        id => {
            let p = match id.parse() {
                Ok(id) => find(cx.db(), id).await?,
                Err(_) => None,
            };
            let fits = p.as_ref().is_some_and(|p| {
                p.region_id == region
                    && Some(p.stage.as_str()) == stage.map(|s| s.as_str())
                    && Some(&p.subject) == subject.as_ref().map(|s| &s.0)
                    && (p.depth as usize) < MAX_DEPTH
            });
            if !fits {
                errors.add("parent_id", "error.teaching.point_parent");
            }
            p
        }
    };
    errors.into_result()?;
    let (Some(stage), Some((subject, _)), Some(name)) = (stage, subject, name) else {
        return Err(AppError::internal("a checked point"));
    };
    let path = match &parent {
        Some(p) => format!("{}{SEP}{name}", p.path),
        None => name.clone(),
    };
    let mut tx = cx.begin().await?;
    let (last,): (Option<i64>,) = on_tx!(&mut tx, t => sqlx::query_as(
        "SELECT MAX(position) FROM knowledge_points WHERE region_id = $1 AND stage = $2 AND subject = $3
           AND ((parent_id IS NULL AND $4 IS NULL) OR parent_id = $4)",
    ).bind(region).bind(stage.as_str()).bind(&subject).bind(parent.as_ref().map(|p| p.id))
     .fetch_one(&mut *t).await)?;
    let (taken,): (i64,) = on_tx!(&mut tx, t => sqlx::query_as(
        "SELECT COUNT(*) FROM knowledge_points WHERE region_id = $1 AND stage = $2 AND subject = $3 AND path = $4",
    ).bind(region).bind(stage.as_str()).bind(&subject).bind(&path).fetch_one(&mut *t).await)?;
    if taken > 0 {
        let mut f = FieldErrors::new();
        f.add("name", "error.teaching.point_exists");
        return Err(AppError::Conflict("teaching.point_exists", f));
    }
    let p = Point {
        id: PointId::new(),
        region_id: region,
        stage: stage.as_str().to_owned(),
        subject,
        parent_id: parent.as_ref().map(|p| p.id),
        name,
        path,
        depth: parent.as_ref().map_or(1, |p| p.depth + 1),
        position: last.unwrap_or(0) + 1,
        active: true,
        created_at: cx.now,
        updated_at: cx.now,
    };
    insert(&mut tx, &p).await?;
    cx.audit(
        &mut tx,
        AuditEvent::new("knowledge.add")
            .object("knowledge_point", p.id)
            .node(region)
            .detail(serde_json::json!({ "path": p.path, "stage": p.stage, "subject": p.subject })),
    )
    .await?;
    tx.commit().await?;
    Ok(p)
}

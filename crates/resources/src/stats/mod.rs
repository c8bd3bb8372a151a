//! The library's statistics for a school, district or city, for its administrators: uploads per
//! teacher in a term, resources by sharing level, the review backlog per level and node (with
//! the oldest waiting), usage (views and downloads) per school, and the teachers below the
//! upload target of their region (`resource_targets`, else `config.resources.target_per_term`).
//! Plain structs for the dashboards to come; the page is `/library/stats/{node}`, the API
//! `/api/v1/resources/stats/{node}`.

pub mod api;
mod pages;
pub mod terms;

pub use terms::TermRef;

use crate::model::{Level, Scope};
use axum::Router;
use chrono::{DateTime, Utc};
use kernel::audit::AuditEvent;
use kernel::{AppError, AppResult, AppState, Ctx, Db, NodeId, PersonId, ResourceId, on_db, on_tx};
use serde::Serialize;
use std::collections::HashMap;

/// The statistics pages and API.
pub fn routes() -> Router<AppState> {
    pages::routes().merge(api::routes())
}

/// A teacher's uploads in a term, against their target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct TeacherUploads {
    pub person_id: PersonId,
    pub name: String,
    pub school_id: NodeId,
    pub school_name: String,
    pub uploads: i64,
    /// The target of the teacher's region for a term.
    pub target: i64,
}

impl TeacherUploads {
    pub fn below_target(&self) -> bool {
        self.uploads < self.target
    }
}

/// Resources shared this far.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ScopeCount {
    /// private | school | district | city
    pub scope: String,
    pub count: i64,
}

/// What waits for review at one level of one node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Backlog {
    /// school | district | city
    pub level: String,
    /// The school or region whose review it waits for.
    pub node_id: NodeId,
    pub node_name: String,
    pub waiting: i64,
    /// Since when the one that has waited longest waits, and which it is.
    pub oldest_since: DateTime<Utc>,
    pub oldest_id: ResourceId,
    pub oldest_title: String,
}

/// Views and downloads, of one school (or region).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Usage {
    pub org_id: NodeId,
    pub org_name: String,
    pub views: i64,
    pub downloads: i64,
}

/// The upload target that applies at a node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Target {
    pub per_term: i64,
    /// The region that set it (none: the platform's default).
    pub set_at: Option<NodeId>,
    pub set_at_name: Option<String>,
}

/// Everything the statistics page shows.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct NodeStats {
    pub node_id: NodeId,
    pub node_name: String,
    pub node_kind: String,
    pub term: TermRef,
    /// The terms that may be asked for, newest first.
    pub terms: Vec<TermRef>,
    /// The target at this node (teachers below it may have their own region's).
    pub target: Target,
    /// Every teacher of the node, most uploads first (the API returns a page of them).
    pub teachers: Vec<TeacherUploads>,
    pub teachers_total: i64,
    pub uploads: i64,
    pub below_target: i64,
    /// Resources owned by the node's schools, by how far they are shared (every scope).
    pub shares: Vec<ScopeCount>,
    pub backlog: Vec<Backlog>,
    /// Views and downloads in the term by the people of each school.
    pub usage_by_viewers: Vec<Usage>,
    /// Views and downloads in the term of the resources each school owns.
    pub usage_by_owners: Vec<Usage>,
}

/// `NotFound` unless `node` is a school or region the actor administers.
pub async fn require_admin(cx: &Ctx<'_>, node: NodeId) -> AppResult<(String, String)> {
    let row: Option<(String, String)> = on_db!(cx.db(), p => sqlx::query_as(
        "SELECT name, kind FROM org_nodes WHERE id = $1",
    ).bind(node).fetch_optional(p).await)?;
    let Some((name, kind)) =
        row.filter(|(_, k)| matches!(k.as_str(), "province" | "city" | "district" | "school"))
    else {
        return Err(AppError::NotFound("directory.node_not_found"));
    };
    if !kernel::authz::administers(cx.db(), cx.actor, node).await? {
        return Err(AppError::Forbidden);
    }
    Ok((name, kind))
}

/// The target at `node`: the nearest region's at or above it, else the configured default.
pub async fn target_for(db: &Db, default: u32, node: NodeId) -> AppResult<Target> {
    let row: Option<(i64, NodeId, String)> = on_db!(db, p => sqlx::query_as(
        "SELECT t.per_term, t.region_id, o.name FROM resource_targets t
         JOIN org_closure c ON c.ancestor_id = t.region_id JOIN org_nodes o ON o.id = t.region_id
         WHERE c.descendant_id = $1 ORDER BY c.depth LIMIT 1",
    ).bind(node).fetch_optional(p).await)?;
    Ok(match row {
        Some((per_term, id, name)) => Target {
            per_term,
            set_at: Some(id),
            set_at_name: Some(name),
        },
        None => Target {
            per_term: i64::from(default),
            set_at: None,
            set_at_name: None,
        },
    })
}

/// Every teacher (teacher or head-teacher role) of the node's subtree with their uploads in
/// `term` and their region's target, most uploads first.
pub async fn uploads_per_teacher(
    db: &Db,
    default_target: u32,
    node: NodeId,
    term: &TermRef,
) -> AppResult<Vec<TeacherUploads>> {
    let teachers: Vec<(PersonId, String, NodeId, String)> = on_db!(db, p => sqlx::query_as(
        "SELECT DISTINCT p.id, p.name, p.org_id, s.name FROM role_assignments r
         JOIN org_closure c ON c.descendant_id = r.node_id
         JOIN persons p ON p.id = r.person_id JOIN org_nodes s ON s.id = p.org_id
         WHERE c.ancestor_id = $1 AND r.role IN ('teacher', 'head_teacher') AND p.active = TRUE",
    ).bind(node).fetch_all(p).await)?;
    let counts: Vec<(PersonId, i64)> = on_db!(db, p => sqlx::query_as(
        "SELECT r.author_id, COUNT(*) FROM resources r JOIN org_closure c ON c.descendant_id = r.org_id
         WHERE c.ancestor_id = $1 AND r.school_year = $2 AND r.term = $3 AND r.deleted_at IS NULL
         GROUP BY r.author_id",
    ).bind(node).bind(term.school_year).bind(term.term).fetch_all(p).await)?;
    let counts: HashMap<PersonId, i64> = counts.into_iter().collect();
    let mut targets: HashMap<NodeId, i64> = HashMap::new();
    let mut out = Vec::with_capacity(teachers.len());
    for (person_id, name, school_id, school_name) in teachers {
        let target = match targets.get(&school_id) {
            Some(t) => *t,
            None => {
                let t = target_for(db, default_target, school_id).await?.per_term;
                targets.insert(school_id, t);
                t
            }
        };
        out.push(TeacherUploads {
            uploads: counts.get(&person_id).copied().unwrap_or(0),
            person_id,
            name,
            school_id,
            school_name,
            target,
        });
    }
    out.sort_by(|a, b| {
        b.uploads
            .cmp(&a.uploads)
            .then_with(|| a.school_name.cmp(&b.school_name))
            .then_with(|| a.name.cmp(&b.name))
    });
    Ok(out)
}

/// The node's resources (not deleted) by sharing scope; every scope, zero or not.
pub async fn shares_by_level(db: &Db, node: NodeId) -> AppResult<Vec<ScopeCount>> {
    let rows: Vec<(String, i64)> = on_db!(db, p => sqlx::query_as(
        "SELECT r.scope, COUNT(*) FROM resources r JOIN org_closure c ON c.descendant_id = r.org_id
         WHERE c.ancestor_id = $1 AND r.deleted_at IS NULL GROUP BY r.scope",
    ).bind(node).fetch_all(p).await)?;
    Ok(Scope::ALL
        .iter()
        .map(|s| ScopeCount {
            scope: s.as_str().into(),
            count: rows
                .iter()
                .find(|(x, _)| x == s.as_str())
                .map_or(0, |(_, n)| *n),
        })
        .collect())
}

/// What the node's resources wait for, per level and reviewing node, with the one waiting
/// longest (since it was submitted or recommended to that level; else its last edit).
pub async fn review_backlog(db: &Db, node: NodeId) -> AppResult<Vec<Backlog>> {
    type Row = (
        ResourceId,
        String,
        NodeId,
        String,
        DateTime<Utc>,
        Option<DateTime<Utc>>,
    );
    let rows: Vec<Row> = on_db!(db, p => sqlx::query_as(
        "SELECT r.id, r.title, r.org_id, r.pending_level, r.updated_at,
                (SELECT MAX(v.created_at) FROM resource_reviews v WHERE v.resource_id = r.id
                 AND v.level = r.pending_level AND v.decision IN ('submitted', 'recommended'))
         FROM resources r JOIN org_closure c ON c.descendant_id = r.org_id
         WHERE c.ancestor_id = $1 AND r.pending_level IS NOT NULL AND r.deleted_at IS NULL",
    ).bind(node).fetch_all(p).await)?;
    let mut reviewers: HashMap<(NodeId, String), Option<NodeId>> = HashMap::new();
    let mut out: Vec<Backlog> = Vec::new();
    for (id, title, org, level, updated, submitted) in rows {
        let Some(l) = Level::parse(&level) else {
            continue;
        };
        let key = (org, level.clone());
        let at = match reviewers.get(&key) {
            Some(n) => *n,
            None => {
                let n = crate::access::level_node(db, org, l).await?;
                reviewers.insert(key, n);
                n
            }
        };
        let Some(at) = at else { continue };
        let since = submitted.unwrap_or(updated);
        match out.iter_mut().find(|b| b.level == level && b.node_id == at) {
            Some(b) => {
                b.waiting += 1;
                if since < b.oldest_since {
                    b.oldest_since = since;
                    b.oldest_id = id;
                    b.oldest_title = title;
                }
            }
            None => out.push(Backlog {
                level,
                node_id: at,
                node_name: String::new(),
                waiting: 1,
                oldest_since: since,
                oldest_id: id,
                oldest_title: title,
            }),
        }
    }
    for b in &mut out {
        b.node_name = org_name(db, b.node_id).await?;
    }
    let rank = |l: &str| Level::parse(l).map(|l| l as u8);
    out.sort_by_key(|b| (rank(&b.level), b.oldest_since));
    Ok(out)
}

async fn org_name(db: &Db, id: NodeId) -> AppResult<String> {
    let row: Option<(String,)> = on_db!(db, p => sqlx::query_as(
        "SELECT name FROM org_nodes WHERE id = $1",
    ).bind(id).fetch_optional(p).await)?;
    Ok(row.map(|r| r.0).unwrap_or_default())
}

fn fold(rows: Vec<(NodeId, String, String, i64)>) -> Vec<Usage> {
    let mut out: Vec<Usage> = Vec::new();
    for (org_id, org_name, kind, n) in rows {
        let u = match out.iter_mut().position(|u| u.org_id == org_id) {
            Some(i) => &mut out[i],
            None => {
                out.push(Usage {
                    org_id,
                    org_name,
                    views: 0,
                    downloads: 0,
                });
                let last = out.len() - 1;
                &mut out[last]
            }
        };
        match kind.as_str() {
            "view" => u.views += n,
            "download" => u.downloads += n,
            _ => {}
        }
    }
    out.sort_by(|a, b| {
        (b.views + b.downloads, &a.org_name).cmp(&(a.views + a.downloads, &b.org_name))
    });
    out
}

/// Views and downloads in `term`: by the people of each school (or region) of the node's
/// subtree, and of the resources each of its schools owns.
pub async fn usage(
    db: &Db,
    node: NodeId,
    term: &TermRef,
    zone: kernel::time::Zone,
) -> AppResult<(Vec<Usage>, Vec<Usage>)> {
    let (from, to) = term.bounds(zone);
    let by_viewers: Vec<(NodeId, String, String, i64)> = on_db!(db, p => sqlx::query_as(
        "SELECT e.org_id, o.name, e.kind, COUNT(*) FROM resource_events e
         JOIN org_closure c ON c.descendant_id = e.org_id JOIN org_nodes o ON o.id = e.org_id
         WHERE c.ancestor_id = $1 AND e.kind IN ('view', 'download') AND e.at >= $2 AND e.at < $3
         GROUP BY e.org_id, o.name, e.kind",
    ).bind(node).bind(from).bind(to).fetch_all(p).await)?;
    let by_owners: Vec<(NodeId, String, String, i64)> = on_db!(db, p => sqlx::query_as(
        "SELECT r.org_id, o.name, e.kind, COUNT(*) FROM resource_events e
         JOIN resources r ON r.id = e.resource_id
         JOIN org_closure c ON c.descendant_id = r.org_id JOIN org_nodes o ON o.id = r.org_id
         WHERE c.ancestor_id = $1 AND e.kind IN ('view', 'download') AND e.at >= $2 AND e.at < $3
         GROUP BY r.org_id, o.name, e.kind",
    ).bind(node).bind(from).bind(to).fetch_all(p).await)?;
    Ok((fold(by_viewers), fold(by_owners)))
}

/// The statistics of `node` (a school or region its administrators ask about) for `term`
/// (`(school_year, term)`; the current term if not given).
pub async fn of_node(cx: &Ctx<'_>, node: NodeId, term: Option<(i64, i64)>) -> AppResult<NodeStats> {
    let (node_name, node_kind) = require_admin(cx, node).await?;
    let db = cx.db();
    let terms = terms::of_node(db, node).await?;
    let term = terms::pick(&terms, term, cx.state.config.time_zone.date(cx.now))?;
    let default = cx.state.config.resources.target_per_term;
    let teachers = uploads_per_teacher(db, default, node, &term).await?;
    let (usage_by_viewers, usage_by_owners) =
        usage(db, node, &term, cx.state.config.time_zone).await?;
    Ok(NodeStats {
        node_id: node,
        node_name,
        node_kind,
        target: target_for(db, default, node).await?,
        uploads: teachers.iter().map(|t| t.uploads).sum(),
        below_target: teachers.iter().filter(|t| t.below_target()).count() as i64,
        teachers_total: teachers.len() as i64,
        teachers,
        shares: shares_by_level(db, node).await?,
        backlog: review_backlog(db, node).await?,
        usage_by_viewers,
        usage_by_owners,
        term,
        terms,
    })
}

/// The teachers of `node` below their target in `term`, fewest uploads first.
pub async fn below_target(
    cx: &Ctx<'_>,
    node: NodeId,
    term: Option<(i64, i64)>,
) -> AppResult<(TermRef, Vec<TeacherUploads>)> {
    require_admin(cx, node).await?;
    let terms = terms::of_node(cx.db(), node).await?;
    let term = terms::pick(&terms, term, cx.state.config.time_zone.date(cx.now))?;
    let default = cx.state.config.resources.target_per_term;
    let mut list: Vec<TeacherUploads> = uploads_per_teacher(cx.db(), default, node, &term)
        .await?
        .into_iter()
        .filter(TeacherUploads::below_target)
        .collect();
    list.reverse();
    Ok((term, list))
}

/// Sets (or, with `None`, clears) the uploads a region expects of each teacher in a term.
/// The region's administrators only.
pub async fn set_target(cx: &Ctx<'_>, region: NodeId, per_term: Option<i64>) -> AppResult<Target> {
    let (_, kind) = require_admin(cx, region).await?;
    if kind == "school" {
        return Err(AppError::field(
            "per_term",
            "error.resource_stats.not_a_region",
        ));
    }
    if let Some(n) = per_term
        && !(0..=1000).contains(&n)
    {
        return Err(AppError::field(
            "per_term",
            "error.resource_stats.target_invalid",
        ));
    }
    let mut tx = cx.begin().await?;
    match per_term {
        Some(n) => {
            on_tx!(&mut tx, c => sqlx::query(
                "INSERT INTO resource_targets (region_id, per_term, updated_at) VALUES ($1, $2, $3)
                 ON CONFLICT (region_id) DO UPDATE SET per_term = $2, updated_at = $3",
            ).bind(region).bind(n).bind(cx.now).execute(&mut *c).await.map(|r| r.rows_affected()))?;
        }
        None => {
            on_tx!(&mut tx, c => sqlx::query("DELETE FROM resource_targets WHERE region_id = $1")
                .bind(region).execute(&mut *c).await.map(|r| r.rows_affected()))?;
        }
    }
    cx.audit(
        &mut tx,
        AuditEvent::new("resource_stats.target")
            .object("node", region)
            .node(region)
            .detail(serde_json::json!({ "per_term": per_term })),
    )
    .await?;
    tx.commit().await?;
    target_for(cx.db(), cx.state.config.resources.target_per_term, region).await
}

/// The below-target list as a file (XLSX, UTF-8 CSV or GBK CSV), audited.
pub async fn below_target_file(
    cx: &Ctx<'_>,
    node: NodeId,
    term: Option<(i64, i64)>,
    format: directory::export::Format,
) -> AppResult<directory::export::File> {
    let (name, _) = require_admin(cx, node).await?;
    let (term, list) = below_target(cx, node, term).await?;
    let t = |k: &str| kernel::i18n::t(cx.actor.locale, k).to_owned();
    let table = directory::export::Table {
        stem: format!("{name}-{}-{}", t("resource_stats.file_below"), term.code()),
        columns: vec![
            ("姓名", "XM"),
            ("学校", "XX"),
            ("本学期上传", "SCS"),
            ("目标", "MB"),
        ],
        rows: list
            .iter()
            .map(|r| {
                vec![
                    r.name.clone(),
                    r.school_name.clone(),
                    r.uploads.to_string(),
                    r.target.to_string(),
                ]
            })
            .collect(),
    };
    let file = directory::export::encode(&table, format, false)?;
    let mut tx = cx.begin().await?;
    cx.audit(
        &mut tx,
        AuditEvent::new("export.resource_stats_below_target")
            .object("node", node)
            .node(node)
            .detail(serde_json::json!({ "term": term.code(), "rows": list.len() })),
    )
    .await?;
    tx.commit().await?;
    Ok(file)
}

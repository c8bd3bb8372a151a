//! Maintaining the catalogue: create, rename, reorder, remove (a node in use is deactivated,
//! an unused one deleted) and reactivate. Only administrators of the catalogue's region (a
//! city, district or province) may; every write is one transaction with its audit record.

use super::model::{
    COLUMNS, CatalogNode, NodeKind, PATH_SEP, grade_code_in_stage, parse_stage, parse_subject,
    parse_volume, stage_name,
};
use super::tree;
use kernel::audit::AuditEvent;
use kernel::{AppError, AppResult, CatalogId, Ctx, Db, FieldErrors, NodeId, Tx, on_db, on_tx};
use serde::{Deserialize, Serialize};
use standards::kinds::Stage;

/// Names are at most this long (in characters).
pub const NAME_MAX: usize = 100;

/// What a new node needs. Below a parent only the name (and, for a subject, its code if the
/// name is not a subject's); a stage needs the region (and its code if the name is not 小学,
/// 初中, …). A volume's grade and term come from its name (七年级上册) unless given.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct NewCatalogNode {
    /// For a stage: the region whose catalogue it starts.
    pub region_id: Option<NodeId>,
    /// For everything below a stage.
    pub parent_id: Option<CatalogId>,
    pub name: String,
    /// stage: primary, junior, …; subject: JY/T 1001 course code; edition: a short code.
    pub code: Option<String>,
    /// Volumes: the grade counted from 一年级 (1) to 高三 (12), if the name does not say it.
    pub grade: Option<u8>,
    /// Volumes: 1 (上册) or 2 (下册), if the name does not say it.
    pub term: Option<i64>,
    /// Where among its siblings (1 for the first); last if not given.
    pub position: Option<i64>,
}

/// A name as stored: cleaned, and refused if empty, too long or holding the path separator
/// (a slash beside a space; 1/2 is fine).
pub fn clean_name(name: &str) -> Result<String, &'static str> {
    let n = super::model::clean(name);
    if n.is_empty() || n.chars().count() > NAME_MAX || n.contains(" /") || n.contains("/ ") {
        return Err("error.catalog.name_invalid");
    }
    Ok(n)
}

/// `Forbidden` unless the actor administers `region`, which must be a region (not a school).
pub async fn require_maintainer(cx: &Ctx<'_>, region: NodeId) -> AppResult<()> {
    let kind: Option<(String,)> = on_db!(cx.db(), p => sqlx::query_as(
        "SELECT kind FROM org_nodes WHERE id = $1",
    ).bind(region).fetch_optional(p).await)?;
    let Some((kind,)) = kind else {
        return Err(AppError::NotFound("directory.node_not_found"));
    };
    if !kernel::authz::administers(cx.db(), cx.actor, region).await? {
        return Err(AppError::Forbidden);
    }
    if !matches!(kind.as_str(), "province" | "city" | "district") {
        return Err(AppError::field("region_id", "error.catalog.not_a_region"));
    }
    Ok(())
}

/// Whether the actor may maintain `region`'s catalogue.
pub async fn may_maintain(cx: &Ctx<'_>, region: NodeId) -> AppResult<bool> {
    match require_maintainer(cx, region).await {
        Ok(()) => Ok(true),
        Err(AppError::Forbidden | AppError::Invalid(_)) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Writes a new node.
pub(crate) async fn insert(tx: &mut Tx, n: &CatalogNode) -> AppResult<()> {
    on_tx!(tx, c => sqlx::query(
        "INSERT INTO catalog_nodes (id, region_id, parent_id, kind, name, code, stage, subject, edition_id,
         volume_id, grade_code, term, path, position, active, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
    ).bind(n.id).bind(n.region_id).bind(n.parent_id).bind(&n.kind).bind(&n.name).bind(&n.code)
    .bind(&n.stage).bind(&n.subject).bind(n.edition_id).bind(n.volume_id).bind(&n.grade_code)
    .bind(n.term).bind(&n.path).bind(n.position).bind(n.active).bind(n.created_at).bind(n.updated_at)
    .execute(&mut *c).await.map(|r| r.rows_affected()))
    .map_err(|e| kernel::error::unique_violation(e, "catalog.name_taken", "name"))?;
    Ok(())
}

/// A node below `parent` (or a stage, with no parent) as it would be stored; its ancestors'
/// columns copied, its own filled in.
#[allow(clippy::too_many_arguments)]
pub(crate) fn child_of(
    parent: Option<&CatalogNode>,
    region: NodeId,
    kind: NodeKind,
    name: String,
    code: Option<String>,
    stage: Stage,
    grade_code: Option<String>,
    term: Option<i64>,
    position: i64,
    now: chrono::DateTime<chrono::Utc>,
) -> CatalogNode {
    let id = CatalogId::new();
    let path = match parent {
        Some(p) => format!("{}{PATH_SEP}{name}", p.path),
        None => name.clone(),
    };
    let inherited = |f: fn(&CatalogNode) -> Option<CatalogId>| parent.and_then(f);
    CatalogNode {
        id,
        region_id: region,
        parent_id: parent.map(|p| p.id),
        kind: kind.as_str().into(),
        subject: match kind {
            NodeKind::Subject => code.clone(),
            _ => parent.and_then(|p| p.subject.clone()),
        },
        edition_id: match kind {
            NodeKind::Edition => Some(id),
            _ => inherited(|p| p.edition_id),
        },
        volume_id: match kind {
            NodeKind::Volume => Some(id),
            _ => inherited(|p| p.volume_id),
        },
        grade_code: match kind {
            NodeKind::Volume => grade_code,
            _ => parent.and_then(|p| p.grade_code.clone()),
        },
        term: match kind {
            NodeKind::Volume => term,
            _ => parent.and_then(|p| p.term),
        },
        name,
        code,
        stage: stage.as_str().into(),
        path,
        position,
        active: true,
        created_at: now,
        updated_at: now,
    }
}

async fn next_position(db: &Db, region: NodeId, parent: Option<CatalogId>) -> AppResult<i64> {
    let (max,): (Option<i64>,) = on_db!(db, p => sqlx::query_as(
        "SELECT MAX(position) FROM catalog_nodes WHERE region_id = $1
         AND ((parent_id IS NULL AND $2 IS NULL) OR parent_id = $2)",
    ).bind(region).bind(parent).fetch_one(p).await)?;
    Ok(max.unwrap_or(0) + 1)
}

/// Creates a node (see [`NewCatalogNode`]).
pub async fn create(cx: &Ctx<'_>, input: NewCatalogNode) -> AppResult<CatalogNode> {
    let parent = match input.parent_id {
        Some(p) => Some(tree::get(cx.db(), p).await?),
        None => None,
    };
    let region = match (&parent, input.region_id) {
        (Some(p), _) => p.region_id,
        (None, Some(r)) => r,
        (None, None) => {
            return Err(AppError::field(
                "region_id",
                "error.catalog.region_required",
            ));
        }
    };
    require_maintainer(cx, region).await?;
    let mut errors = FieldErrors::new();
    let name = clean_name(&input.name).unwrap_or_else(|k| {
        errors.add("name", k);
        String::new()
    });
    let code = input
        .code
        .as_deref()
        .map(standards::typed::text)
        .filter(|c| !c.is_empty());
    let (kind, stage) = match &parent {
        None => {
            let stage = code
                .as_deref()
                .and_then(parse_stage)
                .or_else(|| parse_stage(&name));
            (NodeKind::Stage, stage)
        }
        Some(p) => {
            if !p.active {
                errors.add("parent_id", "error.catalog.parent_inactive");
            }
            match p.kind().child() {
                Some(k) => (k, Stage::parse(&p.stage)),
                None => {
                    return Err(AppError::field(
                        "parent_id",
                        "error.catalog.no_children_here",
                    ));
                }
            }
        }
    };
    let Some(stage) = stage else {
        errors.add("code", "error.catalog.unknown_stage");
        return Err(AppError::Invalid(errors));
    };
    let (mut code, mut grade_code, mut term, mut name) = (code, None, None, name);
    match kind {
        NodeKind::Stage => {
            code = Some(stage.as_str().into());
            if parse_stage(&name).is_some() {
                name = stage_name(stage).into();
            }
        }
        NodeKind::Subject => {
            let by_code = code.as_deref().and_then(|c| parse_subject(c, stage));
            match by_code.or_else(|| parse_subject(&name, stage)) {
                Some((c, _)) => code = Some(c),
                None => errors.add("code", "error.catalog.unknown_subject"),
            }
        }
        NodeKind::Volume => {
            let parsed = parse_volume(&name);
            let grade = input.grade.or(parsed.map(|p| p.0));
            term = input.term.or(parsed.and_then(|p| p.1));
            if let Some(t) = term
                && !(1..=2).contains(&t)
            {
                errors.add("term", "error.catalog.term_invalid");
            }
            if let Some(g) = grade {
                match grade_code_in_stage(stage, g) {
                    Some(c) => grade_code = Some(c.to_owned()),
                    None => errors.add("grade", "error.catalog.grade_stage"),
                }
            } else if matches!(stage, Stage::Primary | Stage::Junior) {
                errors.add("name", "error.catalog.volume_unreadable");
            }
        }
        _ => {}
    }
    errors.into_result()?;
    let position = match input.position {
        Some(p) => p,
        None => next_position(cx.db(), region, parent.as_ref().map(|p| p.id)).await?,
    };
    let node = child_of(
        parent.as_ref(),
        region,
        kind,
        name,
        code,
        stage,
        grade_code,
        term,
        position,
        cx.now,
    );
    let mut tx = cx.begin().await?;
    insert(&mut tx, &node).await?;
    cx.audit(
        &mut tx,
        AuditEvent::new("catalog.create")
            .object("catalog", node.id)
            .node(region)
            .detail(serde_json::json!({ "kind": node.kind, "path": node.path })),
    )
    .await?;
    tx.commit().await?;
    Ok(node)
}

/// Records a change for every resource on these nodes (their catalogue labels changed).
async fn touch_resources(
    tx: &mut Tx,
    nodes: &[CatalogId],
    now: chrono::DateTime<chrono::Utc>,
) -> AppResult<()> {
    let mut seen = std::collections::HashSet::new();
    for n in nodes {
        let rows: Vec<(kernel::ResourceId,)> = on_tx!(tx, c => sqlx::query_as(
            "SELECT resource_id FROM resource_catalog WHERE catalog_id = $1",
        ).bind(n).fetch_all(&mut *c).await)?;
        for (r,) in rows {
            if seen.insert(r) {
                crate::changes::record(tx, r, now).await?;
            }
        }
    }
    Ok(())
}

/// Renames a node; the paths below it follow. A volume's grade and term follow its new name
/// when the name says them.
pub async fn rename(cx: &Ctx<'_>, id: CatalogId, name: &str) -> AppResult<CatalogNode> {
    let node = tree::get(cx.db(), id).await?;
    require_maintainer(cx, node.region_id).await?;
    let name = clean_name(name).map_err(|k| AppError::field("name", k))?;
    let name = match node.kind() {
        NodeKind::Stage => match parse_stage(&name) {
            Some(s) if s.as_str() != node.stage => {
                return Err(AppError::field("name", "error.catalog.stage_rename"));
            }
            _ => name,
        },
        _ => name,
    };
    let (grade_code, term) = match (node.kind(), parse_volume(&name)) {
        (NodeKind::Volume, Some((g, t))) => {
            let stage = Stage::parse(&node.stage).unwrap_or(Stage::Primary);
            let code = grade_code_in_stage(stage, g)
                .ok_or_else(|| AppError::field("name", "error.catalog.grade_stage"))?;
            (Some(code.to_owned()), t)
        }
        _ => (node.grade_code.clone(), node.term),
    };
    let old_prefix = node.path.clone();
    let new_path = match node.path.rsplit_once(PATH_SEP) {
        Some((up, _)) => format!("{up}{PATH_SEP}{name}"),
        None => name.clone(),
    };
    let subtree = tree::subtree(cx.db(), id).await?;
    let mut tx = cx.begin().await?;
    // Longest paths first would not avoid clashes either; the unique index speaks for itself.
    for n in &subtree {
        let path = format!("{new_path}{}", &n.path[old_prefix.len()..]);
        let (g, t) = if node.kind() == NodeKind::Volume {
            (grade_code.clone(), term)
        } else {
            (n.grade_code.clone(), n.term)
        };
        let own_name = if n.id == id {
            name.clone()
        } else {
            n.name.clone()
        };
        on_tx!(&mut tx, c => sqlx::query(
            "UPDATE catalog_nodes SET name = $2, path = $3, grade_code = $4, term = $5, updated_at = $6 WHERE id = $1",
        ).bind(n.id).bind(&own_name).bind(&path).bind(&g).bind(t).bind(cx.now)
        .execute(&mut *c).await.map(|r| r.rows_affected()))
        .map_err(|e| kernel::error::unique_violation(e, "catalog.name_taken", "name"))?;
    }
    let ids: Vec<CatalogId> = subtree.iter().map(|n| n.id).collect();
    touch_resources(&mut tx, &ids, cx.now).await?;
    cx.audit(
        &mut tx,
        AuditEvent::new("catalog.rename")
            .object("catalog", id)
            .node(node.region_id)
            .detail(serde_json::json!({ "from": old_prefix, "to": new_path })),
    )
    .await?;
    tx.commit().await?;
    tree::get(cx.db(), id).await
}

/// Moves a node to place `to` among its siblings (1 for the first; clamped), renumbering them
/// 1, 2, 3, …. Returns the siblings in their new order.
pub async fn reorder(cx: &Ctx<'_>, id: CatalogId, to: i64) -> AppResult<Vec<CatalogNode>> {
    let node = tree::get(cx.db(), id).await?;
    require_maintainer(cx, node.region_id).await?;
    let mut siblings: Vec<CatalogNode> = match node.parent_id {
        Some(p) => tree::children(cx.db(), p, true).await?,
        None => tree::stages(cx.db(), node.region_id, true).await?,
    };
    let from = siblings
        .iter()
        .position(|n| n.id == id)
        .ok_or(AppError::NotFound("catalog.node_not_found"))?;
    let moved = siblings.remove(from);
    let at = usize::try_from(to.max(1) - 1)
        .unwrap_or(0)
        .min(siblings.len());
    siblings.insert(at, moved);
    let mut tx = cx.begin().await?;
    for (i, n) in siblings.iter_mut().enumerate() {
        let pos = i as i64 + 1;
        if n.position != pos {
            n.position = pos;
            on_tx!(&mut tx, c => sqlx::query(
                "UPDATE catalog_nodes SET position = $2, updated_at = $3 WHERE id = $1",
            ).bind(n.id).bind(pos).bind(cx.now).execute(&mut *c).await.map(|r| r.rows_affected()))?;
        }
    }
    cx.audit(
        &mut tx,
        AuditEvent::new("catalog.reorder")
            .object("catalog", id)
            .node(node.region_id)
            .detail(serde_json::json!({ "position": at + 1 })),
    )
    .await?;
    tx.commit().await?;
    Ok(siblings)
}

/// What [`remove`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Removed {
    /// Nothing used the node or anything below it: they are gone.
    Deleted,
    /// Resources, textbook choices or class progress use it: it and everything below it are
    /// deactivated (kept, offered for nothing new).
    Deactivated,
}

/// Whether anything uses one of these nodes (resources, textbook choices, class progress).
async fn in_use(tx: &mut Tx, ids: &[CatalogId]) -> AppResult<bool> {
    for id in ids {
        let (n,): (i64,) = on_tx!(tx, c => sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM resource_catalog WHERE catalog_id = $1)
                  + (SELECT COUNT(*) FROM textbook_choices WHERE edition_id = $1)
                  + (SELECT COUNT(*) FROM class_progress WHERE catalog_id = $1)",
        ).bind(id).fetch_one(&mut *c).await)?;
        if n > 0 {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Removes a node and everything below it: deleted if nothing uses them, otherwise
/// deactivated.
pub async fn remove(cx: &Ctx<'_>, id: CatalogId) -> AppResult<Removed> {
    let node = tree::get(cx.db(), id).await?;
    require_maintainer(cx, node.region_id).await?;
    let subtree = tree::subtree(cx.db(), id).await?;
    let ids: Vec<CatalogId> = subtree.iter().map(|n| n.id).collect();
    let mut tx = cx.begin().await?;
    let used = in_use(&mut tx, &ids).await?;
    if used {
        for n in &subtree {
            on_tx!(&mut tx, c => sqlx::query(
                "UPDATE catalog_nodes SET active = FALSE, updated_at = $2 WHERE id = $1",
            ).bind(n.id).bind(cx.now).execute(&mut *c).await.map(|r| r.rows_affected()))?;
        }
        touch_resources(&mut tx, &ids, cx.now).await?;
    } else {
        // Children before parents.
        for n in subtree.iter().rev() {
            on_tx!(&mut tx, c => sqlx::query("DELETE FROM catalog_nodes WHERE id = $1")
                .bind(n.id).execute(&mut *c).await.map(|r| r.rows_affected()))?;
        }
    }
    let outcome = if used {
        Removed::Deactivated
    } else {
        Removed::Deleted
    };
    cx.audit(
        &mut tx,
        AuditEvent::new(if used {
            "catalog.deactivate"
        } else {
            "catalog.delete"
        })
        .object("catalog", id)
        .node(node.region_id)
        .detail(serde_json::json!({ "path": node.path, "nodes": ids.len() })),
    )
    .await?;
    tx.commit().await?;
    Ok(outcome)
}

/// Reactivates a deactivated node and everything below it (its parent must be active).
pub async fn reactivate(cx: &Ctx<'_>, id: CatalogId) -> AppResult<CatalogNode> {
    let node = tree::get(cx.db(), id).await?;
    require_maintainer(cx, node.region_id).await?;
    if let Some(p) = node.parent_id
        && !tree::get(cx.db(), p).await?.active
    {
        return Err(AppError::Conflict(
            "catalog.parent_inactive",
            FieldErrors::new(),
        ));
    }
    let subtree = tree::subtree(cx.db(), id).await?;
    let ids: Vec<CatalogId> = subtree.iter().map(|n| n.id).collect();
    let mut tx = cx.begin().await?;
    for n in &ids {
        on_tx!(&mut tx, c => sqlx::query(
            "UPDATE catalog_nodes SET active = TRUE, updated_at = $2 WHERE id = $1",
        ).bind(n).bind(cx.now).execute(&mut *c).await.map(|r| r.rows_affected()))?;
    }
    touch_resources(&mut tx, &ids, cx.now).await?;
    cx.audit(
        &mut tx,
        AuditEvent::new("catalog.reactivate")
            .object("catalog", id)
            .node(node.region_id),
    )
    .await?;
    tx.commit().await?;
    tree::get(cx.db(), id).await
}

/// Every node of a region's catalogue (active or not), parents before children.
pub async fn all_of_region(db: &Db, region: NodeId) -> AppResult<Vec<CatalogNode>> {
    let mut all: Vec<CatalogNode> = on_db!(db, p => sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM catalog_nodes WHERE region_id = $1"
    ))).bind(region).fetch_all(p).await)?;
    all.sort_by_key(|n| (n.kind().depth(), n.position));
    Ok(all)
}

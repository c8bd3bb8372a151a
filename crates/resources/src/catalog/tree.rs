//! Reading the catalogue: the functions the rest of the library calls (search facets, the
//! resource form's picker, recommendations). The catalogue is no secret among staff: these take
//! the database and check nothing; a page or API that shows them to a person checks first that
//! the person is staff ([`crate::access::Viewer::require_staff`]) and shows the catalogues of
//! [`regions_for`].
//!
//! Inactive nodes are left out unless a function says otherwise: a deactivated node keeps the
//! resources that hang on it but is offered for nothing new.

use super::model::{COLUMNS, CatalogNode, NodeKind};
use kernel::{Actor, AppError, AppResult, CatalogId, Db, NodeId, on_db};
use serde::Serialize;
use standards::kinds::Stage;

fn select(cond: &str) -> sqlx::AssertSqlSafe<String> {
    sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM catalog_nodes WHERE {cond}"))
}

/// A node, or `None`.
pub async fn find(db: &Db, id: CatalogId) -> AppResult<Option<CatalogNode>> {
    Ok(on_db!(db, p => sqlx::query_as(select("id = $1")).bind(id).fetch_optional(p).await)?)
}

/// A node (active or not), or `NotFound("catalog.node_not_found")`.
pub async fn get(db: &Db, id: CatalogId) -> AppResult<CatalogNode> {
    find(db, id)
        .await?
        .ok_or(AppError::NotFound("catalog.node_not_found"))
}

/// The children of a node in their order (with the inactive ones if asked).
pub async fn children(
    db: &Db,
    id: CatalogId,
    include_inactive: bool,
) -> AppResult<Vec<CatalogNode>> {
    Ok(on_db!(db, p => sqlx::query_as(select(
        "parent_id = $1 AND (active = TRUE OR $2) ORDER BY position, name",
    )).bind(id).bind(include_inactive).fetch_all(p).await)?)
}

/// A node with the nodes above it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct WithBreadcrumb {
    pub node: CatalogNode,
    /// From the stage down to the node's parent.
    pub breadcrumb: Vec<CatalogNode>,
}

/// A node and its breadcrumb (from the stage down).
pub async fn with_breadcrumb(db: &Db, id: CatalogId) -> AppResult<WithBreadcrumb> {
    let node = get(db, id).await?;
    let mut breadcrumb = Vec::new();
    let mut up = node.parent_id;
    while let Some(p) = up {
        let n = get(db, p).await?;
        up = n.parent_id;
        breadcrumb.push(n);
        if breadcrumb.len() > NodeKind::ALL.len() {
            return Err(AppError::internal("catalogue cycle"));
        }
    }
    breadcrumb.reverse();
    Ok(WithBreadcrumb { node, breadcrumb })
}

/// The regions whose catalogues a person uses: every city, district (and province) at or above
/// the nodes they belong to, from the top down. The system actor: every region with a
/// catalogue.
pub async fn regions_for(db: &Db, actor: &Actor) -> AppResult<Vec<NodeId>> {
    if actor.is_system() {
        let rows: Vec<(NodeId,)> = on_db!(db, p => sqlx::query_as(
            "SELECT DISTINCT region_id FROM catalog_nodes",
        ).fetch_all(p).await)?;
        return Ok(rows.into_iter().map(|r| r.0).collect());
    }
    let mut own: Vec<NodeId> = actor.grants.iter().map(|g| g.node_id).collect();
    own.push(actor.org_id);
    regions_above(db, &own).await
}

/// The regions at or above any of `nodes`, from the top down.
pub async fn regions_above(db: &Db, nodes: &[NodeId]) -> AppResult<Vec<NodeId>> {
    let mut out: Vec<(i64, NodeId)> = Vec::new();
    for n in nodes {
        let rows: Vec<(NodeId, i64)> = on_db!(db, p => sqlx::query_as(
            "SELECT o.id, c.depth FROM org_closure c JOIN org_nodes o ON o.id = c.ancestor_id
             WHERE c.descendant_id = $1 AND o.kind IN ('province', 'city', 'district')",
        ).bind(n).fetch_all(p).await)?;
        for (id, depth) in rows {
            if !out.iter().any(|(_, x)| *x == id) {
                out.push((depth, id));
            }
        }
    }
    // Farther above first; the org kinds order ties (a province before its city).
    out.sort_by_key(|(d, _)| std::cmp::Reverse(*d));
    Ok(out.into_iter().map(|(_, id)| id).collect())
}

/// One region's catalogue: its stages.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Catalogue {
    pub region_id: NodeId,
    pub region_name: String,
    pub stages: Vec<CatalogNode>,
}

/// The stage nodes of a region's catalogue.
pub async fn stages(
    db: &Db,
    region: NodeId,
    include_inactive: bool,
) -> AppResult<Vec<CatalogNode>> {
    Ok(on_db!(db, p => sqlx::query_as(select(
        "region_id = $1 AND parent_id IS NULL AND (active = TRUE OR $2) ORDER BY position, name",
    )).bind(region).bind(include_inactive).fetch_all(p).await)?)
}

/// The catalogues a person uses ([`regions_for`]), each with its stages; regions without a
/// catalogue are left out.
pub async fn catalogues_for(db: &Db, actor: &Actor) -> AppResult<Vec<Catalogue>> {
    let mut out = Vec::new();
    for region in regions_for(db, actor).await? {
        let stages = stages(db, region, false).await?;
        if stages.is_empty() {
            continue;
        }
        let (region_name,): (String,) = on_db!(db, p => sqlx::query_as(
            "SELECT name FROM org_nodes WHERE id = $1",
        ).bind(region).fetch_one(p).await)?;
        out.push(Catalogue {
            region_id: region,
            region_name,
            stages,
        });
    }
    Ok(out)
}

/// The editions of a stage and subject (JY/T 1001 course code) in these regions' catalogues.
pub async fn editions(
    db: &Db,
    regions: &[NodeId],
    stage: Stage,
    subject: &str,
) -> AppResult<Vec<CatalogNode>> {
    let mut out = Vec::new();
    for r in regions {
        let rows: Vec<CatalogNode> = on_db!(db, p => sqlx::query_as(select(
            "region_id = $1 AND kind = 'edition' AND stage = $2 AND subject = $3 AND active = TRUE
             ORDER BY position, name",
        )).bind(r).bind(stage.as_str()).bind(subject).fetch_all(p).await)?;
        out.extend(rows);
    }
    Ok(out)
}

/// Every active edition of these regions' catalogues, by stage, subject and order.
pub async fn all_editions(db: &Db, regions: &[NodeId]) -> AppResult<Vec<CatalogNode>> {
    let mut out = Vec::new();
    for r in regions {
        let rows: Vec<CatalogNode> = on_db!(db, p => sqlx::query_as(select(
            "region_id = $1 AND kind = 'edition' AND active = TRUE ORDER BY path",
        )).bind(r).fetch_all(p).await)?;
        out.extend(rows);
    }
    Ok(out)
}

/// The volumes of an edition in their order (七年级上册, 七年级下册, …).
pub async fn volumes(db: &Db, edition: CatalogId) -> AppResult<Vec<CatalogNode>> {
    Ok(on_db!(db, p => sqlx::query_as(select(
        "parent_id = $1 AND kind = 'volume' AND active = TRUE ORDER BY position, name",
    )).bind(edition).fetch_all(p).await)?)
}

/// The volumes of (stage, subject, edition name) in these regions' catalogues: for a picker
/// that knows the edition by name (人教版) rather than by id.
pub async fn volumes_for(
    db: &Db,
    regions: &[NodeId],
    stage: Stage,
    subject: &str,
    edition_name: &str,
) -> AppResult<Vec<CatalogNode>> {
    let mut out = Vec::new();
    for e in editions(db, regions, stage, subject).await? {
        if e.name == edition_name {
            out.extend(volumes(db, e.id).await?);
        }
    }
    Ok(out)
}

/// The units (chapters) of a volume in their order.
pub async fn units(db: &Db, volume: CatalogId) -> AppResult<Vec<CatalogNode>> {
    Ok(on_db!(db, p => sqlx::query_as(select(
        "parent_id = $1 AND kind = 'unit' AND active = TRUE ORDER BY position, name",
    )).bind(volume).fetch_all(p).await)?)
}

/// A unit with its sections.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct UnitOutline {
    pub unit: CatalogNode,
    pub sections: Vec<CatalogNode>,
}

/// A volume's units, each with its sections, in their order (one query).
pub async fn outline(db: &Db, volume: CatalogId) -> AppResult<Vec<UnitOutline>> {
    let all: Vec<CatalogNode> = on_db!(db, p => sqlx::query_as(select(
        "volume_id = $1 AND kind IN ('unit', 'section') AND active = TRUE ORDER BY position, name",
    )).bind(volume).fetch_all(p).await)?;
    let mut out: Vec<UnitOutline> = all
        .iter()
        .filter(|n| n.kind() == NodeKind::Unit)
        .map(|u| UnitOutline {
            unit: u.clone(),
            sections: Vec::new(),
        })
        .collect();
    for s in all.into_iter().filter(|n| n.kind() == NodeKind::Section) {
        if let Some(u) = out.iter_mut().find(|u| Some(u.unit.id) == s.parent_id) {
            u.sections.push(s);
        }
    }
    Ok(out)
}

/// The node and every node below it (active or not), by id: what a search for a node matches.
pub async fn subtree_ids(db: &Db, id: CatalogId) -> AppResult<Vec<CatalogId>> {
    Ok(subtree(db, id).await?.into_iter().map(|n| n.id).collect())
}

/// The node and every node below it (active or not), parents before children.
pub async fn subtree(db: &Db, id: CatalogId) -> AppResult<Vec<CatalogNode>> {
    let root = get(db, id).await?;
    let prefix = format!("{}{}", root.path, super::model::PATH_SEP);
    let len = i32::try_from(prefix.chars().count()).map_err(AppError::internal)?;
    let mut below: Vec<CatalogNode> = on_db!(db, p => sqlx::query_as(select(
        "region_id = $1 AND substr(path, 1, $2) = $3",
    )).bind(root.region_id).bind(len).bind(&prefix).fetch_all(p).await)?;
    below.sort_by_key(|n| (n.kind().depth(), n.position));
    let mut out = vec![root];
    out.extend(below);
    Ok(out)
}

/// Whether `actor` uses the catalogue `node` is in (it is one of [`regions_for`]).
pub async fn is_visible_to(db: &Db, actor: &Actor, node: &CatalogNode) -> AppResult<bool> {
    Ok(actor.is_system() || regions_for(db, actor).await?.contains(&node.region_id))
}

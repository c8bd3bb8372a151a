//! The change feed: the base-data change log of a node's subtree, read page by page with a
//! cursor, optionally with each changed entity's current record. For consumers other than a
//! linked instance (a data centre, a reporting tool). Administrators of the node only; ID
//! numbers, phones and addresses are masked by the exports' one rule unless asked for in full, and every page with
//! records is audited (`export.changes`, or `export.personal_data` when unmasked).

use super::snapshot::{self, PersonRec, Snapshot};
use crate::changes::Entity;
use crate::export::{List, Mask};
use chrono::{DateTime, Utc};
use kernel::authz::{self, Permission};
use kernel::{AppResult, Ctx, NodeId, on_db};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FeedQuery {
    /// The node whose subtree's changes to read.
    pub node: NodeId,
    /// The cursor: changes after this sequence number (0 for all).
    #[serde(default)]
    pub after: i64,
    /// Changes per page (1-1000, default 500).
    pub limit: Option<u32>,
    /// Include each changed entity's current record.
    #[serde(default)]
    pub records: bool,
    /// Records with ID numbers, phones and addresses in full (audited).
    #[serde(default)]
    pub full: bool,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct ChangeEntry {
    pub seq: i64,
    pub at: DateTime<Utc>,
    /// The school (or region) whose data changed.
    pub node_id: NodeId,
    /// person | student | staff | family | node
    pub entity: String,
    pub entity_id: uuid::Uuid,
    pub op: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FeedPage {
    pub changes: Vec<ChangeEntry>,
    /// The cursor for the next page (the last change's sequence number).
    pub next: i64,
    /// Whether more changes follow.
    pub more: bool,
    pub records: Option<Snapshot>,
}

fn mask(p: &mut PersonRec, m: Mask) {
    let id = |v: &Option<String>| v.as_deref().map(|s| m.id(Some(s)));
    p.id_number = id(&p.id_number);
    p.registry_no = id(&p.registry_no);
    p.phone = p.phone.as_deref().map(|s| m.phone(Some(s)));
    p.email = p.email.as_deref().map(|s| m.email(Some(s)));
}

pub async fn read(cx: &Ctx<'_>, q: &FeedQuery) -> AppResult<FeedPage> {
    authz::require_visible(
        cx.db(),
        cx.actor,
        Permission::ManageNode,
        q.node,
        "directory.node_not_found",
    )
    .await?;
    let limit = i64::from(q.limit.unwrap_or(500).clamp(1, 1000));
    let mut changes: Vec<ChangeEntry> = on_db!(cx.db(), p => sqlx::query_as(
        "SELECT seq, at, node_id, entity, entity_id, op FROM base_changes
         WHERE seq > $1 AND node_id IN (SELECT descendant_id FROM org_closure WHERE ancestor_id = $2)
         ORDER BY seq LIMIT $3",
    ).bind(q.after).bind(q.node).bind(limit + 1).fetch_all(p).await)?;
    let more = changes.len() as i64 > limit;
    changes.truncate(limit as usize);
    let next = changes.last().map_or(q.after, |c| c.seq);
    let records = if q.records {
        let entities: Vec<(Entity, uuid::Uuid)> = changes
            .iter()
            .filter_map(|c| Some((Entity::parse(&c.entity)?, c.entity_id)))
            .collect();
        let mut snap = snapshot::read(cx.db(), q.node, &entities).await?;
        let m = Mask::for_export(cx, q.node, q.full).await?;
        for s in &mut snap.students {
            mask(&mut s.person, m);
            if let Some(r) = &mut s.record {
                r.address = r.address.as_deref().map(|a| m.address(Some(a)));
            }
            for f in &mut s.family {
                mask(&mut f.person, m);
            }
        }
        for s in &mut snap.staff {
            mask(&mut s.person, m);
            if let Some(r) = &mut s.record {
                r.qualification_cert = r.qualification_cert.as_deref().map(|c| m.id(Some(c)));
            }
        }
        snap.people.iter_mut().for_each(|p| mask(p, m));
        crate::export::audit(cx, List::Changes, q.node, snap.len(), m).await?;
        Some(snap)
    } else {
        None
    };
    Ok(FeedPage {
        changes,
        next,
        more,
        records,
    })
}

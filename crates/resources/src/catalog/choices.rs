//! Textbook choices (`textbook_choices`): which edition a region's schools, or one school,
//! teach a stage's subject from. The nearest choice up the organisation tree wins, so a city
//! chooses for all its schools and a district or school may choose otherwise.

use super::model::{CatalogNode, NodeKind, subject_name};
use super::tree;
use kernel::audit::AuditEvent;
use kernel::{AppError, AppResult, CatalogId, Ctx, Db, NodeId, on_db, on_tx};
use serde::Serialize;
use standards::kinds::Stage;

/// The edition a school teaches `subject` (JY/T 1001 course code) from in `stage`: the choice
/// of the school, else of the nearest region above it; `None` if nobody chose (or the chosen
/// edition was deactivated).
pub async fn edition_for(
    db: &Db,
    school: NodeId,
    stage: Stage,
    subject: &str,
) -> AppResult<Option<CatalogId>> {
    let row: Option<(CatalogId,)> = on_db!(db, p => sqlx::query_as(
        "SELECT t.edition_id FROM textbook_choices t
         JOIN org_closure c ON c.ancestor_id = t.node_id
         JOIN catalog_nodes e ON e.id = t.edition_id
         WHERE c.descendant_id = $1 AND t.stage = $2 AND t.subject = $3 AND e.active = TRUE
         ORDER BY c.depth LIMIT 1",
    ).bind(school).bind(stage.as_str()).bind(subject).fetch_optional(p).await)?;
    Ok(row.map(|r| r.0))
}

/// A choice as it applies at a node.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Choice {
    pub stage: String,
    /// JY/T 1001 course code and its name.
    pub subject: String,
    pub subject_name: String,
    pub edition_id: CatalogId,
    pub edition_name: String,
    /// Where the choice was made, and whether that is above the node asked about.
    pub set_at: NodeId,
    pub set_at_name: String,
    pub inherited: bool,
}

/// The choices that apply at `node` (its own and the nearest above it, per stage and subject),
/// ordered by stage and subject.
pub async fn effective(db: &Db, node: NodeId) -> AppResult<Vec<Choice>> {
    let rows: Vec<(String, String, CatalogId, String, NodeId, String, i64)> = on_db!(db, p => sqlx::query_as(
        "SELECT t.stage, t.subject, t.edition_id, e.name, t.node_id, o.name, c.depth
         FROM textbook_choices t
         JOIN org_closure c ON c.ancestor_id = t.node_id
         JOIN catalog_nodes e ON e.id = t.edition_id
         JOIN org_nodes o ON o.id = t.node_id
         WHERE c.descendant_id = $1 AND e.active = TRUE
         ORDER BY t.stage, t.subject, c.depth",
    ).bind(node).fetch_all(p).await)?;
    let mut out: Vec<Choice> = Vec::new();
    for (stage, subject, edition_id, edition_name, set_at, set_at_name, depth) in rows {
        if out.iter().any(|c| c.stage == stage && c.subject == subject) {
            continue;
        }
        out.push(Choice {
            subject_name: subject_name(&subject),
            stage,
            subject,
            edition_id,
            edition_name,
            set_at,
            set_at_name,
            inherited: depth > 0,
        });
    }
    let order = |s: &str| Stage::ALL.iter().position(|x| x.as_str() == s);
    out.sort_by(|a, b| (order(&a.stage), &a.subject).cmp(&(order(&b.stage), &b.subject)));
    Ok(out)
}

/// The editions that may be chosen at `node`: those of the catalogues of the regions at or above
/// it, of the given stage and subject.
pub async fn candidates(
    db: &Db,
    node: NodeId,
    stage: Stage,
    subject: &str,
) -> AppResult<Vec<CatalogNode>> {
    let regions = tree::regions_above(db, &[node]).await?;
    tree::editions(db, &regions, stage, subject).await
}

/// Sets (or, with `None`, clears) the edition `node` (a region or school) teaches `subject`
/// from in `stage`. Its administrators only; the edition must be of that stage and subject, in
/// a catalogue used at the node.
pub async fn set(
    cx: &Ctx<'_>,
    node: NodeId,
    stage: Stage,
    subject: &str,
    edition: Option<CatalogId>,
) -> AppResult<()> {
    let kind: Option<(String,)> = on_db!(cx.db(), p => sqlx::query_as(
        "SELECT kind FROM org_nodes WHERE id = $1",
    ).bind(node).fetch_optional(p).await)?;
    let Some((kind,)) = kind else {
        return Err(AppError::NotFound("directory.node_not_found"));
    };
    if !kernel::authz::administers(cx.db(), cx.actor, node).await? {
        return Err(AppError::Forbidden);
    }
    if !matches!(kind.as_str(), "province" | "city" | "district" | "school") {
        return Err(AppError::field("node_id", "error.catalog.choice_node"));
    }
    if let Some(e) = edition {
        let ed = tree::find(cx.db(), e)
            .await?
            .ok_or_else(|| AppError::field("edition_id", "error.catalog.edition_invalid"))?;
        let regions = tree::regions_above(cx.db(), &[node]).await?;
        if ed.kind() != NodeKind::Edition
            || !ed.active
            || ed.stage != stage.as_str()
            || ed.subject.as_deref() != Some(subject)
            || !regions.contains(&ed.region_id)
        {
            return Err(AppError::field(
                "edition_id",
                "error.catalog.edition_invalid",
            ));
        }
    }
    let mut tx = cx.begin().await?;
    match edition {
        Some(e) => {
            on_tx!(&mut tx, c => sqlx::query(
                "INSERT INTO textbook_choices (node_id, stage, subject, edition_id, updated_at)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (node_id, stage, subject) DO UPDATE SET edition_id = $4, updated_at = $5",
            ).bind(node).bind(stage.as_str()).bind(subject).bind(e).bind(cx.now)
            .execute(&mut *c).await.map(|r| r.rows_affected()))?;
        }
        None => {
            on_tx!(&mut tx, c => sqlx::query(
                "DELETE FROM textbook_choices WHERE node_id = $1 AND stage = $2 AND subject = $3",
            ).bind(node).bind(stage.as_str()).bind(subject)
            .execute(&mut *c).await.map(|r| r.rows_affected()))?;
        }
    }
    cx.audit(
        &mut tx,
        AuditEvent::new("catalog.textbook_choice")
            .object("node", node)
            .node(node)
            .detail(serde_json::json!({
                "stage": stage.as_str(), "subject": subject, "edition_id": edition,
            })),
    )
    .await?;
    tx.commit().await
}

//! Links between instances: opening one with a one-time code (upper), pairing with it (lower),
//! revoking, listing, and the conflicts each side keeps.

use super::{ConflictRec, PairReply, PairRequest, sign};
use crate::changes::{self, Entity};
use crate::model::{Node, NodeKind};
use crate::nodes;
use chrono::{DateTime, Utc};
use kernel::authz::{self, Permission};
use kernel::{
    AppError, AppResult, AuditEvent, Ctx, Db, FieldErrors, LinkId, NodeId, PersonId, RequestMeta,
    Tx, on_db, on_tx,
};
use serde::Serialize;

/// A link as either side holds it. The private key is never serialised.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Link {
    pub id: LinkId,
    /// `to_upper` (this instance pushes) or `from_lower` (this instance receives).
    pub direction: String,
    pub node_id: NodeId,
    /// pending | active | revoked
    pub status: String,
    pub peer_name: Option<String>,
    pub peer_url: Option<String>,
    pub code_expires_at: Option<DateTime<Utc>>,
    #[serde(skip)]
    pub public_key: Option<String>,
    #[serde(skip)]
    pub private_key: Option<String>,
    /// Where the push stands in the lower's change log.
    pub seq: i64,
    pub failures: i64,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    pub last_success_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub rows_total: i64,
    pub created_at: DateTime<Utc>,
}

impl Link {
    pub fn pushes(&self) -> bool {
        self.direction == "to_upper"
    }

    /// The catalogue key naming the direction.
    pub fn direction_key(&self) -> &'static str {
        if self.pushes() {
            "data_flow.direction_to_upper"
        } else {
            "data_flow.direction_from_lower"
        }
    }

    /// The catalogue key naming the status.
    pub fn status_key(&self) -> &'static str {
        match self.status.as_str() {
            "pending" => "data_flow.status_pending",
            "active" => "data_flow.status_active",
            _ => "data_flow.status_revoked",
        }
    }
}

const COLS: &str = "id, direction, node_id, status, peer_name, peer_url, code_expires_at, public_key, private_key, seq,
    failures, next_attempt_at, last_attempt_at, last_success_at, last_error, rows_total, created_at";

pub async fn find(db: &Db, id: LinkId) -> AppResult<Option<Link>> {
    let sql = format!("SELECT {COLS} FROM exchange_links WHERE id = $1");
    Ok(on_db!(db, p => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(p).await)?)
}

/// A link the actor administers (its node), or not found.
pub async fn get(cx: &Ctx<'_>, id: LinkId) -> AppResult<Link> {
    let link = find(cx.db(), id)
        .await?
        .ok_or(AppError::NotFound("exchange.link_not_found"))?;
    authz::require_visible(
        cx.db(),
        cx.actor,
        Permission::ManageNode,
        link.node_id,
        "exchange.link_not_found",
    )
    .await?;
    Ok(link)
}

/// The links at `node` and below, newest first.
pub async fn list(cx: &Ctx<'_>, node: NodeId) -> AppResult<Vec<Link>> {
    authz::require(cx.db(), cx.actor, Permission::ManageNode, node).await?;
    let sql = format!(
        "SELECT {COLS} FROM exchange_links WHERE node_id IN (SELECT descendant_id FROM org_closure WHERE ancestor_id = $1)
         ORDER BY created_at DESC"
    );
    Ok(
        on_db!(cx.db(), p => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(node).fetch_all(p).await)?,
    )
}

/// The node a link may cover: a region or a school, administered by the actor.
async fn linkable(cx: &Ctx<'_>, node: NodeId) -> AppResult<Node> {
    let n = nodes::get(cx, node).await?;
    authz::require(cx.db(), cx.actor, Permission::ManageNode, node).await?;
    if matches!(n.kind(), Some(NodeKind::Grade | NodeKind::Class)) || n.code.is_none() {
        return Err(AppError::field("node", "error.exchange.not_linkable"));
    }
    Ok(n)
}

/// A one-time pairing code: 16 letters and digits without look-alikes, in groups of four.
fn pairing_code() -> String {
    use rand::RngCore;
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rngs::OsRng;
    let mut s = String::with_capacity(19);
    for i in 0..16 {
        if i > 0 && i % 4 == 0 {
            s.push('-');
        }
        s.push(ALPHABET[(rng.next_u32() as usize) % ALPHABET.len()] as char);
    }
    s
}

fn code_hash(code: &str) -> String {
    let normal: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    kernel::secret::token_hash(&normal)
}

/// Upper side: opens a link for a lower instance that covers `node`, and returns the one-time
/// code its administrator enters there (shown once; only its hash is kept).
pub async fn invite(cx: &Ctx<'_>, node: NodeId) -> AppResult<(Link, String)> {
    let n = linkable(cx, node).await?;
    let code = pairing_code();
    let id = LinkId::new();
    let expires = cx.now + chrono::Duration::hours(i64::from(cx.state.config.exchange.code_hours));
    let mut tx = cx.begin().await?;
    on_tx!(&mut tx, c => sqlx::query(
        "INSERT INTO exchange_links (id, direction, node_id, status, code_hash, code_expires_at, created_by, created_at, updated_at)
         VALUES ($1, 'from_lower', $2, 'pending', $3, $4, $5, $6, $6)",
    ).bind(id).bind(n.id).bind(code_hash(&code)).bind(expires).bind((!cx.actor.is_system()).then_some(cx.actor.person_id)).bind(cx.now)
    .execute(c).await.map(|_| ()))?;
    cx.audit(
        &mut tx,
        AuditEvent::new("exchange.invite")
            .object("link", id)
            .node(n.id),
    )
    .await?;
    tx.commit().await?;
    let link = find(cx.db(), id)
        .await?
        .ok_or(AppError::NotFound("exchange.link_not_found"))?;
    Ok((link, code))
}

/// Upper side: a lower instance pairs with a code. The code must be open, unexpired, and for
/// the node the lower names (same kind and national code). Used once.
pub async fn accept(
    db: &Db,
    now: DateTime<Utc>,
    meta: &RequestMeta,
    req: &PairRequest,
) -> AppResult<PairReply> {
    let invalid = || AppError::field("code", "error.exchange.code_invalid");
    if base64::Engine::decode(&base64::engine::general_purpose::STANDARD, &req.public_key)
        .map(|k| k.len())
        != Ok(32)
    {
        return Err(AppError::field("public_key", "error.exchange.key_invalid"));
    }
    let mut tx = db.begin().await?;
    let row: Option<(LinkId, NodeId, DateTime<Utc>)> = on_tx!(&mut tx, c => sqlx::query_as(
        "SELECT id, node_id, code_expires_at FROM exchange_links WHERE code_hash = $1 AND status = 'pending'",
    ).bind(code_hash(&req.code)).fetch_optional(c).await)?;
    let (id, node, expires) = row.ok_or_else(invalid)?;
    if expires < now {
        return Err(invalid());
    }
    let n: Option<(String, Option<String>, String)> = on_tx!(&mut tx, c => sqlx::query_as(
        "SELECT kind, code, name FROM org_nodes WHERE id = $1",
    ).bind(node).fetch_optional(c).await)?;
    let (kind, code, name) = n.ok_or_else(invalid)?;
    if kind != req.kind || code.as_deref() != Some(req.node_code.trim()) {
        let mut f = FieldErrors::new();
        f.add("node", "error.exchange.node_mismatch");
        return Err(AppError::Invalid(f));
    }
    let taken = on_tx!(&mut tx, c => sqlx::query(
        "UPDATE exchange_links SET status = 'active', code_hash = NULL, public_key = $2, peer_name = $3, updated_at = $4
         WHERE id = $1 AND status = 'pending'",
    ).bind(id).bind(&req.public_key).bind(req.name.trim()).bind(now).execute(c).await.map(|r| r.rows_affected()))?;
    if taken != 1 {
        return Err(invalid());
    }
    kernel::audit::record(
        &mut tx,
        now,
        kernel::audit::Who {
            id: None,
            name: Some(req.name.trim()),
        },
        meta,
        AuditEvent::new("exchange.paired")
            .object("link", id)
            .node(node),
    )
    .await?;
    tx.commit().await?;
    Ok(PairReply {
        link_id: id,
        node_id: node,
        node_name: name,
    })
}

/// A base URL as entered: http(s), no query or fragment, without a trailing slash.
fn parse_url(raw: &str) -> AppResult<String> {
    let url = raw.trim().trim_end_matches('/');
    let ok = reqwest::Url::parse(url)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
        .filter(|u| u.query().is_none() && u.fragment().is_none());
    ok.map(|_| url.to_owned())
        .ok_or_else(|| AppError::field("url", "error.exchange.url_invalid"))
}

/// Lower side: pairs `node` with the upper instance at `url` using the code its administrator
/// gave. The key pair is made here; the upper keeps the public half.
pub async fn pair(cx: &Ctx<'_>, node: NodeId, url: &str, code: &str) -> AppResult<Link> {
    let n = linkable(cx, node).await?;
    let url = parse_url(url)?;
    if code.trim().is_empty() {
        return Err(AppError::field("code", "error.exchange.code_invalid"));
    }
    let (private, public) = sign::generate()?;
    let req = PairRequest {
        code: code.trim().to_owned(),
        public_key: public,
        kind: n.kind.clone(),
        node_code: n.code.clone().unwrap_or_default(),
        name: n.name.clone(),
    };
    let reply = super::push::client()
        .post(format!("{url}/api/v1/exchange/pair"))
        .json(&req)
        .send()
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "pairing: the upper instance could not be reached");
            AppError::field("url", "error.exchange.unreachable")
        })?;
    if !reply.status().is_success() {
        // The upper names the node field when the code is for another school or region.
        let body: serde_json::Value = reply.json().await.unwrap_or_default();
        let key = if body["error"]["fields"]["node"].is_null() {
            "error.exchange.code_invalid"
        } else {
            "error.exchange.node_mismatch"
        };
        return Err(AppError::field("code", key));
    }
    let reply: PairReply = reply
        .json()
        .await
        .map_err(|_| AppError::field("url", "error.exchange.unreachable"))?;
    let mut tx = cx.begin().await?;
    on_tx!(&mut tx, c => sqlx::query(
        "INSERT INTO exchange_links (id, direction, node_id, status, peer_name, peer_url, private_key, created_by, created_at, updated_at)
         VALUES ($1, 'to_upper', $2, 'active', $3, $4, $5, $6, $7, $7)",
    ).bind(reply.link_id).bind(n.id).bind(&reply.node_name).bind(&url).bind(&private)
    .bind((!cx.actor.is_system()).then_some(cx.actor.person_id)).bind(cx.now).execute(c).await.map(|_| ()))?;
    cx.audit(
        &mut tx,
        AuditEvent::new("exchange.pair")
            .object("link", reply.link_id)
            .node(n.id)
            .detail(serde_json::json!({ "upper": url })),
    )
    .await?;
    tx.commit().await?;
    find(cx.db(), reply.link_id)
        .await?
        .ok_or(AppError::NotFound("exchange.link_not_found"))
}

/// Either side: the link stops (no more pushes are sent or accepted). Its records stay.
pub async fn revoke(cx: &Ctx<'_>, id: LinkId) -> AppResult<Link> {
    let link = get(cx, id).await?;
    let mut tx = cx.begin().await?;
    on_tx!(&mut tx, c => sqlx::query(
        "UPDATE exchange_links SET status = 'revoked', code_hash = NULL, updated_at = $2 WHERE id = $1",
    ).bind(id).bind(cx.now).execute(c).await.map(|_| ()))?;
    cx.audit(
        &mut tx,
        AuditEvent::new("exchange.revoke")
            .object("link", id)
            .node(link.node_id),
    )
    .await?;
    tx.commit().await?;
    get(cx, id).await
}

/// Lower side: push now instead of waiting for the retry (the next runner tick takes it), and
/// send the records of open conflicts again, for when the clash has been cleared up above.
pub async fn retry_now(cx: &Ctx<'_>, id: LinkId) -> AppResult<()> {
    let link = get(cx, id).await?;
    if !link.pushes() {
        return Ok(());
    }
    let open: Vec<(String, PersonId, NodeId)> = on_db!(cx.db(), p => sqlx::query_as(
        "SELECT c.kind, c.person_id, p.org_id FROM exchange_conflicts c JOIN persons p ON p.id = c.person_id
         WHERE c.link_id = $1 AND c.resolved_at IS NULL",
    ).bind(id).fetch_all(p).await)?;
    let mut tx = cx.begin().await?;
    on_tx!(&mut tx, c => sqlx::query("UPDATE exchange_links SET next_attempt_at = NULL WHERE id = $1")
        .bind(id).execute(c).await.map(|_| ()))?;
    for (kind, person, org) in &open {
        let entity = match kind.as_str() {
            "staff_no" => Entity::Staff,
            "registry_no" => Entity::Student,
            _ => Entity::Person,
        };
        changes::record(&mut tx, cx.now, *org, entity, person.0).await?;
    }
    cx.audit(
        &mut tx,
        AuditEvent::new("exchange.push_now")
            .object("link", id)
            .node(link.node_id)
            .detail(serde_json::json!({ "conflicts_resent": open.len() })),
    )
    .await?;
    tx.commit().await
}

/// A conflict as a side keeps it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Conflict {
    #[sqlx(flatten)]
    #[serde(flatten)]
    pub rec: ConflictRec,
    pub detected_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
}

/// The link's conflicts, open ones first.
pub async fn conflicts(cx: &Ctx<'_>, id: LinkId) -> AppResult<Vec<Conflict>> {
    get(cx, id).await?;
    Ok(on_db!(cx.db(), p => sqlx::query_as(
        "SELECT kind, value, person_id, person_name, school_code, school_name, holder_school_code, holder_school_name,
                detected_at, resolved_at
         FROM exchange_conflicts WHERE link_id = $1 ORDER BY resolved_at IS NOT NULL, detected_at DESC LIMIT 1000",
    ).bind(id).fetch_all(p).await)?)
}

/// Records (or renews) a conflict, on either side.
pub async fn store_conflict(
    tx: &mut Tx,
    link: LinkId,
    c: &ConflictRec,
    now: DateTime<Utc>,
) -> AppResult<()> {
    on_tx!(tx, conn => sqlx::query(
        "INSERT INTO exchange_conflicts (id, link_id, kind, value, person_id, person_name, school_code, school_name,
             holder_school_code, holder_school_name, detected_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         ON CONFLICT (link_id, kind, person_id) DO UPDATE SET value = excluded.value, person_name = excluded.person_name,
             school_code = excluded.school_code, school_name = excluded.school_name,
             holder_school_code = excluded.holder_school_code, holder_school_name = excluded.holder_school_name,
             detected_at = excluded.detected_at, resolved_at = NULL",
    ).bind(uuid::Uuid::now_v7()).bind(link).bind(&c.kind).bind(&c.value).bind(c.person_id).bind(&c.person_name)
    .bind(&c.school_code).bind(&c.school_name).bind(&c.holder_school_code).bind(&c.holder_school_name).bind(now)
    .execute(conn).await.map(|_| ()))?;
    Ok(())
}

/// Marks the open conflicts of these people resolved; returns whose were.
pub async fn resolve_conflicts(
    tx: &mut Tx,
    link: LinkId,
    people: &[PersonId],
    now: DateTime<Utc>,
) -> AppResult<Vec<PersonId>> {
    let mut out = Vec::new();
    for chunk in people.chunks(500) {
        let rows: Vec<(PersonId,)> = on_tx!(&mut *tx, c => {
            let mut qb = sqlx::QueryBuilder::new("UPDATE exchange_conflicts SET resolved_at = ");
            qb.push_bind(now).push(" WHERE link_id = ").push_bind(link).push(" AND resolved_at IS NULL AND person_id IN (");
            let mut list = qb.separated(", ");
            for p in chunk {
                list.push_bind(*p);
            }
            qb.push(") RETURNING person_id");
            qb.build_query_as().fetch_all(c).await
        })?;
        out.extend(rows.into_iter().map(|(p,)| p));
    }
    out.sort();
    out.dedup();
    Ok(out)
}

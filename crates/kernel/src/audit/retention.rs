//! Retention: entries older than `audit_retention_days` (180 by default, MLPS's minimum) leave
//! the database only after the whole log verified, a fresh anchor covered every chain, and the
//! entries were written to object storage (JSON lines, each with its link and hash, the anchor
//! last) under a record signed with the anchor key. The database lets an entry go only when
//! such a record covers its time; `verify` refuses records that are not signed.

use super::anchor::{self, Anchor, AnchorKey};
use super::chain::{self, ENTRY_COLUMNS, EntryRow};
use crate::error::{AppError, AppResult};
use crate::ids::AuditId;
use crate::{Db, on_db, on_tx};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, SubsecRound, Utc};
use sha2::{Digest, Sha256};

/// An archive as recorded.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Archive {
    pub id: AuditId,
    pub up_to: DateTime<Utc>,
    pub object_key: String,
    pub sha256: String,
    pub entries: i64,
    pub anchor_id: AuditId,
    pub signature: String,
}

impl Archive {
    pub fn payload(&self) -> String {
        format!(
            "archive\n{}\n{}\n{}\n{}\n{}",
            chain::time(self.up_to),
            self.object_key,
            self.sha256,
            self.entries,
            self.anchor_id
        )
    }

    pub fn signed_by(&self, public: &[u8]) -> bool {
        let Ok(sig) = STANDARD.decode(&self.signature) else {
            return false;
        };
        ring::signature::UnparsedPublicKey::new(&ring::signature::ED25519, public)
            .verify(self.payload().as_bytes(), &sig)
            .is_ok()
    }
}

pub const ARCHIVE_COLUMNS: &str = "id, up_to, object_key, sha256, entries, anchor_id, signature";

/// What a retention run did.
#[derive(Debug, Default)]
pub struct Outcome {
    pub archived: u64,
    pub object_key: Option<String>,
}

/// Archives and removes the entries older than `cutoff`. `put(key, bytes)` stores the archive
/// (object storage); `purger` is the database handle allowed to delete (on PostgreSQL the
/// retention role's, see `jiaoyun audit grants`). Refuses, removing nothing, when the log does
/// not verify.
pub async fn archive_and_purge(
    db: &Db,
    purger: &Db,
    key: &AnchorKey,
    cutoff: DateTime<Utc>,
    now: DateTime<Utc>,
    put: impl AsyncFnOnce(String, Vec<u8>) -> AppResult<()>,
) -> AppResult<Outcome> {
    let cutoff = cutoff.trunc_subsecs(6);
    let (older,): (i64,) = on_db!(db, p => sqlx::query_as(
        "SELECT COUNT(*) FROM audit_log WHERE at < $1").bind(cutoff).fetch_one(p).await)?;
    if older == 0 {
        return Ok(Outcome::default());
    }
    chain::link_pending(db, super::writer(), now, true).await?;
    let report = super::verify::verify(db, &key.public(), now).await?;
    if let Some(b) = report.broken {
        return Err(AppError::internal(format!(
            "audit retention stopped, the log does not verify: {b}"
        )));
    }
    let anchor = anchor::anchor(db, key, &format!("retention {}", chain::time(now)), now).await?;
    let (bytes, count) = export(db, cutoff, &anchor).await?;
    let object_key = format!(
        "audit/archive/{}-{}.jsonl",
        cutoff.format("%Y%m%dT%H%M%S"),
        anchor.id
    );
    let sha256 = chain::hex(&Sha256::digest(&bytes));
    put(object_key.clone(), bytes).await?;
    let mut a = Archive {
        id: AuditId::new(),
        up_to: cutoff,
        object_key,
        sha256,
        entries: count,
        anchor_id: anchor.id,
        signature: String::new(),
    };
    a.signature = key.sign(a.payload().as_bytes());
    let mut tx = purger.begin().await?;
    on_tx!(&mut tx, c => sqlx::query(
        "INSERT INTO audit_archives (id, up_to, object_key, sha256, entries, anchor_id, signature, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    ).bind(a.id).bind(a.up_to).bind(&a.object_key).bind(&a.sha256).bind(a.entries).bind(a.anchor_id)
    .bind(&a.signature).bind(now).execute(c).await.map(|r| r.rows_affected()))?;
    let removed = on_tx!(&mut tx, c => sqlx::query("DELETE FROM audit_log WHERE at < $1")
        .bind(cutoff).execute(c).await.map(|r| r.rows_affected()))?;
    tx.commit().await?;
    Ok(Outcome {
        archived: removed,
        object_key: Some(a.object_key),
    })
}

/// The entries before `cutoff` as JSON lines (entry, its link and hash), the anchor last.
async fn export(db: &Db, cutoff: DateTime<Utc>, anchor: &Anchor) -> AppResult<(Vec<u8>, i64)> {
    let sql =
        format!("SELECT {ENTRY_COLUMNS} FROM audit_log l WHERE l.at < $1 ORDER BY l.at, l.id");
    let rows: Vec<EntryRow> =
        on_db!(db, p => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(cutoff).fetch_all(p).await)?;
    let links: Vec<(AuditId, String, i64, String)> = on_db!(db, p => sqlx::query_as(
        "SELECT c.entry_id, c.writer, c.seq, c.entry_hash FROM audit_chain_entries c
         JOIN audit_log l ON l.id = c.entry_id WHERE l.at < $1",
    ).bind(cutoff).fetch_all(p).await)?;
    let links: std::collections::HashMap<AuditId, (String, i64, String)> = links
        .into_iter()
        .map(|(id, w, s, h)| (id, (w, s, h)))
        .collect();
    let mut out = Vec::new();
    for e in &rows {
        let (writer, seq, hash) = links
            .get(&e.id)
            .cloned()
            .unwrap_or_else(|| (String::new(), 0, String::new()));
        let line = serde_json::json!({
            "id": e.id, "at": chain::time(e.at), "actor_id": e.actor_id, "actor_name": e.actor_name,
            "ip": e.ip, "user_agent": e.user_agent, "action": e.action, "object_type": e.object_type,
            "object_id": e.object_id, "node_id": e.node_id, "outcome": e.outcome,
            "request_id": e.request_id, "detail": e.detail, "writer": e.writer,
            "chain": {"writer": writer, "seq": seq, "entry_hash": hash},
        });
        out.extend_from_slice(line.to_string().as_bytes());
        out.push(b'\n');
    }
    let trailer = serde_json::json!({"anchor": {
        "id": anchor.id, "day": anchor.day, "at": chain::time(anchor.at), "heads": anchor.heads,
        "key_id": anchor.key_id, "signature": anchor.signature,
    }});
    out.extend_from_slice(trailer.to_string().as_bytes());
    out.push(b'\n');
    Ok((out, rows.len() as i64))
}

//! Each server node's hash chain over the audit entries it wrote. The node's chainer takes the
//! entries of its `writer` that no link holds yet, a batch at a time, and appends a link:
//!
//! ```text
//! entry_hash   = SHA-256(canonical JSON of the entry, its writer included)
//! entries_hash = SHA-256(the batch's entry hashes, in entry-id order)
//! hash         = SHA-256(writer, seq, at, entries, entries_hash, prev_hash)
//! ```
//!
//! `audit_chain_entries` says which link holds each entry, with its hash, so a link stays
//! verifiable after its entries were archived and removed. Each node appends to its own chain
//! only: no node ever waits for another. Entries written before chaining existed (no writer)
//! form the `legacy` chain, linked by whichever node comes first.

use crate::error::AppResult;
use crate::{Db, on_db, on_tx};
use chrono::{DateTime, SecondsFormat, SubsecRound, Utc};
use sha2::{Digest, Sha256};

/// The previous hash of every chain's first link.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";
/// The chain of entries written before chaining existed.
pub const LEGACY: &str = "legacy";
/// Most entries in one link.
const BATCH: i64 = 2000;
/// A deep pass finds an entry committed this long after the last link's time (a long
/// transaction commits its entries late); older unlinked entries are for `verify` to report.
pub const LOOKBACK_HOURS: i64 = 6;
/// The look-back of the frequent passes, which stay cheap on a busy node.
const RECENT_MINUTES: i64 = 10;

pub use super::{AuditEntry as EntryRow, ENTRY_COLUMNS};

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

/// Times as hashed: RFC 3339 with microseconds (what both databases keep).
pub fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

pub fn entry_hash(e: &EntryRow) -> String {
    let canonical = serde_json::json!([
        e.id,
        time(e.at),
        e.actor_id,
        e.actor_name,
        e.ip,
        e.user_agent,
        e.action,
        e.object_type,
        e.object_id,
        e.node_id,
        e.outcome,
        e.request_id,
        e.detail,
        e.writer,
    ]);
    sha256_hex(canonical.to_string().as_bytes())
}

/// The hash over a link's entry hashes, given in entry-id order.
pub fn entries_hash<'a>(hashes: impl IntoIterator<Item = &'a str>) -> String {
    let mut h = Sha256::new();
    for e in hashes {
        h.update(e.as_bytes());
        h.update(b"\n");
    }
    hex(&h.finalize())
}

/// One link of a chain.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Link {
    pub writer: String,
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub entries: i64,
    pub entries_hash: String,
    pub prev_hash: String,
    pub hash: String,
}

impl Link {
    pub fn computed_hash(&self) -> String {
        let text = format!(
            "{}\n{}\n{}\n{}\n{}\n{}",
            self.writer,
            self.seq,
            time(self.at),
            self.entries,
            self.entries_hash,
            self.prev_hash
        );
        sha256_hex(text.as_bytes())
    }
}

pub const LINK_COLUMNS: &str = "writer, seq, at, entries, entries_hash, prev_hash, hash";

/// The last link of a chain.
pub async fn head(db: &Db, writer: &str) -> AppResult<Option<Link>> {
    let sql = format!(
        "SELECT {LINK_COLUMNS} FROM audit_chain WHERE writer = $1 ORDER BY seq DESC LIMIT 1"
    );
    Ok(
        on_db!(db, p => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(writer).fetch_optional(p).await)?,
    )
}

/// Links what this node wrote (and the legacy entries) that no link holds yet; returns how many
/// entries it linked. A `deep` pass looks `LOOKBACK_HOURS` back for late commits; the frequent
/// ones look ten minutes back.
pub async fn link_pending(db: &Db, writer: &str, now: DateTime<Utc>, deep: bool) -> AppResult<u64> {
    let back = if deep {
        chrono::Duration::hours(LOOKBACK_HOURS)
    } else {
        chrono::Duration::minutes(RECENT_MINUTES)
    };
    let mut total = 0;
    for chain in [Some(writer), None] {
        // From a while before the head's time, fixed for this pass, so a backlog is linked
        // whole however many batches it takes; the whole log when the chain has no link yet.
        let since = head(db, chain.unwrap_or(LEGACY))
            .await?
            .map(|l| l.at - back);
        loop {
            let n = link_batch(db, chain, since, now).await?;
            total += n;
            if n < BATCH as u64 {
                break;
            }
        }
    }
    Ok(total)
}

/// One link of at most `BATCH` entries for `writer` (`None`: the legacy entries).
async fn link_batch(
    db: &Db,
    writer: Option<&str>,
    since: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> AppResult<u64> {
    let chain = writer.unwrap_or(LEGACY);
    let last = head(db, chain).await?;
    let who = if writer.is_some() {
        "l.writer = $1"
    } else {
        "l.writer IS NULL AND $1 = 'legacy'"
    };
    let sql = format!(
        "SELECT {ENTRY_COLUMNS} FROM audit_log l
         WHERE {who} AND ($2 IS NULL OR l.at >= $2)
           AND NOT EXISTS (SELECT 1 FROM audit_chain_entries c WHERE c.entry_id = l.id)
         ORDER BY l.at, l.id LIMIT $3"
    );
    let mut rows: Vec<EntryRow> = on_db!(db, p => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(chain).bind(since).bind(BATCH).fetch_all(p).await)?;
    if rows.is_empty() {
        return Ok(0);
    }
    rows.sort_by_key(|r| r.id.0);
    let hashes: Vec<String> = rows.iter().map(entry_hash).collect();
    let link = Link {
        writer: chain.to_owned(),
        seq: last.as_ref().map_or(1, |l| l.seq + 1),
        at: now.trunc_subsecs(6),
        entries: rows.len() as i64,
        entries_hash: entries_hash(hashes.iter().map(String::as_str)),
        prev_hash: last.map_or_else(|| GENESIS.to_owned(), |l| l.hash),
        hash: String::new(),
    };
    let link = Link {
        hash: link.computed_hash(),
        ..link
    };
    let mut tx = db.begin().await?;
    on_tx!(&mut tx, c => sqlx::query(
        "INSERT INTO audit_chain (writer, seq, at, entries, entries_hash, prev_hash, hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    ).bind(&link.writer).bind(link.seq).bind(link.at).bind(link.entries).bind(&link.entries_hash)
    .bind(&link.prev_hash).bind(&link.hash).execute(c).await.map(|r| r.rows_affected()))?;
    let pairs: Vec<(&EntryRow, &String)> = rows.iter().zip(&hashes).collect();
    for chunk in pairs.chunks(400) {
        on_tx!(&mut tx, c => {
            let mut qb = sqlx::QueryBuilder::new(
                "INSERT INTO audit_chain_entries (entry_id, writer, seq, at, entry_hash) ",
            );
            qb.push_values(chunk, |mut b, (e, h)| {
                b.push_bind(e.id).push_bind(&link.writer).push_bind(link.seq).push_bind(e.at).push_bind(*h);
            });
            qb.build().execute(&mut *c).await.map(|_| ())
        })?;
    }
    tx.commit().await?;
    Ok(rows.len() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_hashes_depend_on_every_part() {
        let base = Link {
            writer: "node-a".into(),
            seq: 7,
            at: DateTime::from_timestamp(1_765_000_000, 123_456_000).unwrap_or_default(),
            entries: 3,
            entries_hash: entries_hash(["a", "b", "c"]),
            prev_hash: GENESIS.into(),
            hash: String::new(),
        };
        let h = base.computed_hash();
        assert_eq!(h.len(), 64);
        let changed = [
            Link {
                seq: 8,
                ..base.clone()
            },
            Link {
                writer: "node-b".into(),
                ..base.clone()
            },
            Link {
                entries: 2,
                ..base.clone()
            },
            Link {
                entries_hash: entries_hash(["a", "b"]),
                ..base.clone()
            },
            Link {
                prev_hash: "1".repeat(64),
                ..base.clone()
            },
        ];
        for c in changed {
            assert_ne!(c.computed_hash(), h);
        }
        assert_ne!(entries_hash(["ab", "c"]), entries_hash(["a", "bc"]));
    }
}

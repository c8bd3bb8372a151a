//! `jiaoyun audit verify`: proves every chain link by link, every entry still in the log
//! against the hash its link holds, every anchor's signature and heads, and that no entry older
//! than the chainers' look-back is outside every chain; or names the first broken entry.

use super::anchor::{ANCHOR_COLUMNS, Anchor};
use super::chain::{self, ENTRY_COLUMNS, EntryRow, GENESIS, LINK_COLUMNS, Link};
use super::retention::{ARCHIVE_COLUMNS, Archive};
use crate::error::AppResult;
use crate::ids::AuditId;
use crate::{Db, on_db};
use chrono::{DateTime, Utc};
use std::collections::HashMap;

/// Links verified per query.
const PAGE: i64 = 500;

#[derive(Debug, Default)]
pub struct Report {
    pub chains: usize,
    pub links: u64,
    /// Entries checked against their hash (those archived are checked through their link).
    pub entries: u64,
    pub archived: u64,
    pub anchors: u64,
    /// What is wrong, the first thing found; `None`: the log is intact.
    pub broken: Option<Broken>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broken {
    pub writer: String,
    pub seq: i64,
    /// The entry, when one entry is to blame.
    pub entry: Option<AuditId>,
    pub reason: String,
}

impl std::fmt::Display for Broken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "chain {} link {}", self.writer, self.seq)?;
        if let Some(e) = self.entry {
            write!(f, ", entry {e}")?;
        }
        write!(f, ": {}", self.reason)
    }
}

fn broken(writer: &str, seq: i64, entry: Option<AuditId>, reason: impl Into<String>) -> Broken {
    Broken {
        writer: writer.to_owned(),
        seq,
        entry,
        reason: reason.into(),
    }
}

#[derive(sqlx::FromRow)]
struct Member {
    entry_id: AuditId,
    seq: i64,
    at: DateTime<Utc>,
    entry_hash: String,
}

/// Verifies everything; `public_key` checks the anchors' signatures.
pub async fn verify(db: &Db, public_key: &[u8], now: DateTime<Utc>) -> AppResult<Report> {
    let mut r = Report::default();
    // Entries before an archive's time may be gone, if the archive is signed.
    let sql = format!("SELECT {ARCHIVE_COLUMNS} FROM audit_archives ORDER BY up_to");
    let archives: Vec<Archive> =
        on_db!(db, p => sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(p).await)?;
    if let Some(a) = archives.iter().find(|a| !a.signed_by(public_key)) {
        r.broken = Some(broken(
            "archive",
            0,
            None,
            format!(
                "the archive record {} is not signed by this key",
                a.object_key
            ),
        ));
        return Ok(r);
    }
    let cutoff = archives.iter().map(|a| a.up_to).max();
    let writers: Vec<(String,)> = on_db!(db, p => sqlx::query_as(
        "SELECT DISTINCT writer FROM audit_chain ORDER BY writer").fetch_all(p).await)?;
    r.chains = writers.len();
    let mut heads: HashMap<(String, i64), String> = HashMap::new();
    for (writer,) in &writers {
        if let Some(b) = verify_chain(db, writer, cutoff, &mut r, &mut heads).await? {
            r.broken = Some(b);
            return Ok(r);
        }
    }
    if let Some(b) = unchained(db, now).await? {
        r.broken = Some(b);
        return Ok(r);
    }
    let sql = format!("SELECT {ANCHOR_COLUMNS} FROM audit_anchors ORDER BY at");
    let anchors: Vec<Anchor> =
        on_db!(db, p => sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(p).await)?;
    for a in anchors {
        if !a.signed_by(public_key) {
            r.broken = Some(broken(
                "anchor",
                0,
                None,
                format!("the anchor of {} is not signed by this key", a.day),
            ));
            return Ok(r);
        }
        for h in a.heads()? {
            if heads.get(&(h.writer.clone(), h.seq)) != Some(&h.hash) {
                r.broken = Some(broken(
                    &h.writer,
                    h.seq,
                    None,
                    format!("differs from what the anchor of {} signed", a.day),
                ));
                return Ok(r);
            }
        }
        r.anchors += 1;
    }
    Ok(r)
}

/// One chain, link by link; every link's hash is kept in `heads` for the anchors.
async fn verify_chain(
    db: &Db,
    writer: &str,
    cutoff: Option<DateTime<Utc>>,
    r: &mut Report,
    heads: &mut HashMap<(String, i64), String>,
) -> AppResult<Option<Broken>> {
    let mut prev = GENESIS.to_owned();
    let mut expected_seq = 1;
    loop {
        let sql = format!(
            "SELECT {LINK_COLUMNS} FROM audit_chain WHERE writer = $1 AND seq >= $2 ORDER BY seq LIMIT $3"
        );
        let links: Vec<Link> = on_db!(db, p => sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(writer).bind(expected_seq).bind(PAGE).fetch_all(p).await)?;
        let Some(last) = links.last() else {
            return Ok(None);
        };
        let (first_seq, last_seq) = (expected_seq, last.seq);
        let members: Vec<Member> = on_db!(db, p => sqlx::query_as(
            "SELECT entry_id, seq, at, entry_hash FROM audit_chain_entries
             WHERE writer = $1 AND seq >= $2 AND seq <= $3 ORDER BY seq, entry_id",
        ).bind(writer).bind(first_seq).bind(last_seq).fetch_all(p).await)?;
        let sql = format!(
            "SELECT {ENTRY_COLUMNS} FROM audit_chain_entries c JOIN audit_log l ON l.id = c.entry_id
             WHERE c.writer = $1 AND c.seq >= $2 AND c.seq <= $3"
        );
        let entries: Vec<EntryRow> = on_db!(db, p => sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(writer).bind(first_seq).bind(last_seq).fetch_all(p).await)?;
        let entries: HashMap<AuditId, EntryRow> = entries.into_iter().map(|e| (e.id, e)).collect();
        let mut by_link: HashMap<i64, Vec<&Member>> = HashMap::new();
        for m in &members {
            by_link.entry(m.seq).or_default().push(m);
        }
        for link in &links {
            if link.seq != expected_seq {
                return Ok(Some(broken(
                    writer,
                    expected_seq,
                    None,
                    "this link is missing",
                )));
            }
            if link.prev_hash != prev {
                return Ok(Some(broken(
                    writer,
                    link.seq,
                    None,
                    "does not follow the link before it",
                )));
            }
            if link.computed_hash() != link.hash {
                return Ok(Some(broken(
                    writer,
                    link.seq,
                    None,
                    "the link itself was altered",
                )));
            }
            let held = by_link.remove(&link.seq).unwrap_or_default();
            let hashes: Vec<&str> = held.iter().map(|m| m.entry_hash.as_str()).collect();
            if held.len() as i64 != link.entries
                || chain::entries_hash(hashes.iter().copied()) != link.entries_hash
            {
                return Ok(Some(broken(
                    writer,
                    link.seq,
                    held.first().map(|m| m.entry_id),
                    "the list of its entries was altered",
                )));
            }
            for m in held {
                match entries.get(&m.entry_id) {
                    Some(e) if chain::entry_hash(e) == m.entry_hash => r.entries += 1,
                    Some(_) => {
                        return Ok(Some(broken(
                            writer,
                            link.seq,
                            Some(m.entry_id),
                            "the entry was altered",
                        )));
                    }
                    None if cutoff.is_some_and(|c| m.at < c) => r.archived += 1,
                    None => {
                        return Ok(Some(broken(
                            writer,
                            link.seq,
                            Some(m.entry_id),
                            "the entry was removed",
                        )));
                    }
                }
            }
            heads.insert((writer.to_owned(), link.seq), link.hash.clone());
            prev = link.hash.clone();
            expected_seq += 1;
            r.links += 1;
        }
    }
}

/// An entry older than the look-back that no chain holds: written behind the chainers' backs.
async fn unchained(db: &Db, now: DateTime<Utc>) -> AppResult<Option<Broken>> {
    let before = now - chrono::Duration::hours(chain::LOOKBACK_HOURS * 2);
    let row: Option<(AuditId, Option<String>)> = on_db!(db, p => sqlx::query_as(
        "SELECT l.id, l.writer FROM audit_log l
         WHERE l.at < $1 AND NOT EXISTS (SELECT 1 FROM audit_chain_entries c WHERE c.entry_id = l.id)
         ORDER BY l.at LIMIT 1",
    ).bind(before).fetch_optional(p).await)?;
    Ok(row.map(|(id, writer)| {
        broken(
            writer.as_deref().unwrap_or(chain::LEGACY),
            0,
            Some(id),
            "the entry is in no chain",
        )
    }))
}

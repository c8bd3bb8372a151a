//! Reads from a PostgreSQL streaming replica (`database_replica_url`, issue #19).
//!
//! A read that tolerates a bounded lag runs on the replica through [`AppState::read`]; it goes
//! to the primary instead when any of these holds:
//! - the request is not a GET or HEAD (a write, and what it reads, stays on the primary);
//! - the browser wrote recently and the replica has not yet replayed that write: every write
//!   answers with the cookie `jy_lsn`, the primary's WAL position after it, and a request that
//!   carries it reads from the replica only once the replica has replayed that far
//!   (read-your-writes per session, on any node, with no shared state between nodes);
//! - the replica is behind by more than `database_replica_max_lag_seconds` (it has not replayed
//!   what the primary had written that long ago), or did not answer its last poll;
//! - the read failed on the replica (it went away between two polls): it is run again on the
//!   primary, so a replica going away costs time, never an error.
//!
//! Authorization, sessions and everything inside a transaction always read the primary: only
//! the reads a module hands to [`AppState::read`] move.
//!
//! [`AppState::read`]: crate::AppState::read

use crate::db::Db;
use crate::error::{AppError, AppResult};
use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The cookie that carries the primary's WAL position after the browser's last write.
pub const COOKIE: &str = "jy_lsn";

/// How often the replica's position is read.
const POLL: Duration = Duration::from_millis(200);

/// What the request allows: set by the server around each request.
#[derive(Clone, Copy, Debug, Default)]
pub struct ReadScope {
    /// A GET or HEAD.
    pub read_only: bool,
    /// The WAL position of the browser's last write (0: none recent).
    pub after: u64,
}

tokio::task_local! {
    static SCOPE: ReadScope;
}

/// Runs `f` (a request's handling) with its read scope.
pub async fn scope<F: std::future::Future>(s: ReadScope, f: F) -> F::Output {
    SCOPE.scope(s, f).await
}

/// The current request's scope; outside a request (background work, commands) reads never
/// go to the replica.
fn current() -> ReadScope {
    SCOPE.try_with(|s| *s).unwrap_or_default()
}

/// The replica and what its last poll found.
pub struct Replica {
    pub db: Db,
    max_lag: Duration,
    /// The WAL position the replica has replayed.
    replayed: AtomicU64,
    /// It answered its last poll and is within the lag bound.
    usable: AtomicBool,
    /// The primary's position at each poll of the last `max_lag` (and one older).
    primary: Mutex<VecDeque<(Instant, u64)>>,
}

/// A WAL position (`16/B374D848`) as one number.
pub fn parse_lsn(text: &str) -> Option<u64> {
    let (hi, lo) = text.split_once('/')?;
    Some((u64::from_str_radix(hi, 16).ok()? << 32) | u64::from_str_radix(lo, 16).ok()?)
}

async fn lsn(db: &Db, sql: &'static str) -> AppResult<Option<u64>> {
    match db {
        Db::Postgres(p) => {
            let v: (Option<String>,) = sqlx::query_as(sql).fetch_one(p).await?;
            Ok(v.0.as_deref().and_then(parse_lsn))
        }
        Db::Sqlite(_) => Err(AppError::internal("a read replica needs PostgreSQL")),
    }
}

/// The primary's current WAL position (what a write just made durable is at or before it).
pub async fn primary_lsn(db: &Db) -> AppResult<u64> {
    lsn(db, "SELECT CAST(pg_current_wal_lsn() AS TEXT)")
        .await?
        .ok_or_else(|| AppError::internal("the primary has no WAL position"))
}

impl Replica {
    /// Connects lazily (a replica that is down at start is only unusable) with a short
    /// acquire timeout, so a read waits little before it falls back.
    pub fn connect(url: &str, max_connections: u32, max_lag: Duration) -> AppResult<Self> {
        if !(url.starts_with("postgres:") || url.starts_with("postgresql:")) {
            return Err(AppError::internal(
                "database_replica_url must be a postgres:// URL (a streaming replica of the primary)",
            ));
        }
        let opts = <sqlx::postgres::PgConnectOptions as std::str::FromStr>::from_str(url)?;
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(max_connections.max(2))
            .acquire_timeout(Duration::from_secs(2))
            .connect_lazy_with(opts);
        Ok(Self {
            db: Db::Postgres(pool),
            max_lag,
            replayed: AtomicU64::new(0),
            usable: AtomicBool::new(false),
            primary: Mutex::default(),
        })
    }

    /// Whether a read of the current request may go to the replica.
    pub fn serves(&self) -> bool {
        let s = current();
        s.read_only
            && self.usable.load(Ordering::Relaxed)
            && self.replayed.load(Ordering::Relaxed) >= s.after
    }

    /// The WAL position the replica had replayed at the last poll.
    pub fn replayed(&self) -> u64 {
        self.replayed.load(Ordering::Relaxed)
    }

    pub fn usable(&self) -> bool {
        self.usable.load(Ordering::Relaxed)
    }

    /// Marks it unusable until the next poll finds it well (a read failed on it).
    pub fn mark_down(&self) {
        self.usable.store(false, Ordering::Relaxed);
    }

    /// Reads both positions once and decides whether the replica is usable.
    pub async fn poll(&self, primary: &Db) {
        let now = Instant::now();
        let replayed = tokio::time::timeout(
            Duration::from_secs(2),
            lsn(&self.db, "SELECT CAST(pg_last_wal_replay_lsn() AS TEXT)"),
        )
        .await;
        let Ok(head) = primary_lsn(primary).await else {
            return;
        };
        // The position the primary had `max_lag` ago: the replica must have replayed it.
        let due = {
            let mut q = self.primary.lock().unwrap_or_else(|e| e.into_inner());
            q.push_back((now, head));
            while q.len() > 1 && q.get(1).is_some_and(|(t, _)| now - *t >= self.max_lag) {
                q.pop_front();
            }
            // Until a sample is that old, the oldest one (stricter).
            q.front().map_or(head, |(_, l)| *l)
        };
        match replayed {
            Ok(Ok(Some(r))) => {
                self.replayed.store(r, Ordering::Relaxed);
                let fresh = r >= due;
                if self.usable.swap(fresh, Ordering::Relaxed) != fresh {
                    tracing::info!(
                        usable = fresh,
                        behind_bytes = head.saturating_sub(r),
                        "read replica"
                    );
                }
            }
            Ok(Ok(None)) => {
                if self.usable.swap(false, Ordering::Relaxed) {
                    tracing::warn!("database_replica_url is not a standby (no replayed position)");
                }
            }
            Ok(Err(e)) => {
                if self.usable.swap(false, Ordering::Relaxed) {
                    tracing::warn!(error = %e, "read replica unavailable: reads go to the primary");
                }
            }
            Err(_) => {
                if self.usable.swap(false, Ordering::Relaxed) {
                    tracing::warn!("read replica not answering: reads go to the primary");
                }
            }
        }
        metrics::gauge!("db_replica_usable").set(if self.usable() { 1.0 } else { 0.0 });
        metrics::gauge!("db_replica_behind_bytes")
            .set(head.saturating_sub(self.replayed.load(Ordering::Relaxed)) as f64);
    }

    /// Polls for ever (a node's background task).
    pub async fn run(state: crate::AppState) {
        let Some(r) = state.replica.clone() else {
            return;
        };
        let mut tick = tokio::time::interval(POLL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            r.poll(&state.db).await;
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn wal_positions_parse_in_order() {
        assert_eq!(super::parse_lsn("0/0"), Some(0));
        assert_eq!(
            super::parse_lsn("16/B374D848"),
            Some((0x16 << 32) | 0xB374_D848)
        );
        assert!(super::parse_lsn("1/0") > super::parse_lsn("0/FFFFFFFF"));
        assert_eq!(super::parse_lsn("junk"), None);
    }
}

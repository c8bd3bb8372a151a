//! The revocation epoch (migration 0036): a counter that database triggers bump in every
//! transaction that revokes a grant or an access token, ends a session, or deactivates or
//! removes a person. A node may reuse what it checked or computed at epoch `E` (a token found
//! unrevoked, a person's claims) only while the epoch still reads `E`, so no cached answer
//! outlives a revocation made on any node.
//!
//! Reading it costs a query, so concurrent requests share reads: a request waits for the next
//! read that *starts after it arrived*, and every request waiting when a read starts gets its
//! answer. Each request thus sees every revocation committed before it arrived, as its own
//! query would, while a busy node reads once for many requests. Always from the primary: a
//! replica's epoch may lag.

use kernel::{AppError, AppResult, AppState, Db, on_db};
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

type Answer = Result<i64, String>;

/// The requests waiting for the next read, and whether a reader runs.
#[derive(Default)]
struct Reads {
    inner: Mutex<(Vec<oneshot::Sender<Answer>>, bool)>,
}

/// The epoch as of a read that started after this call.
pub async fn current(state: &AppState) -> AppResult<i64> {
    let reads = state.cache::<Reads>();
    let (tx, rx) = oneshot::channel();
    let start = {
        let mut r = reads.inner.lock().unwrap_or_else(|e| e.into_inner());
        r.0.push(tx);
        !std::mem::replace(&mut r.1, true)
    };
    if start {
        tokio::spawn(read_for_waiting(state.db.clone(), reads));
    }
    rx.await
        .map_err(|_| AppError::internal("the epoch reader stopped"))?
        .map_err(|e| AppError::Unavailable(format!("revocation epoch: {e}")))
}

/// Clears the "a reader runs" flag if the reader unwinds from a panic, so the next request
/// starts a new one; the requests it held get an error.
struct Unwinding(Arc<Reads>);

impl Drop for Unwinding {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let mut r = self.0.inner.lock().unwrap_or_else(|e| e.into_inner());
            r.0.clear();
            r.1 = false;
        }
    }
}

/// The reader: one read for everyone waiting when it starts, until no one waits.
async fn read_for_waiting(db: Db, reads: Arc<Reads>) {
    let _guard = Unwinding(Arc::clone(&reads));
    loop {
        let waiting = {
            let mut r = reads.inner.lock().unwrap_or_else(|e| e.into_inner());
            if r.0.is_empty() {
                r.1 = false;
                return;
            }
            std::mem::take(&mut r.0)
        };
        let answer = read(&db).await.map_err(|e| e.to_string());
        for w in waiting {
            let _ = w.send(answer.clone());
        }
    }
}

async fn read(db: &Db) -> AppResult<i64> {
    let (e,): (i64,) = on_db!(db, p => sqlx::query_as(
        "SELECT epoch FROM revocation_epoch WHERE id = 1",
    ).fetch_one(p).await)?;
    Ok(e)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use kernel::{Clock, Config};

    #[tokio::test]
    async fn a_revocation_moves_the_epoch_and_waiting_requests_share_reads() {
        let t = kernel::testing::test_db(&[&crate::SCHEMA]).await.unwrap();
        let state = AppState::new(t.db.clone(), Config::default(), Clock::System);
        let before = current(&state).await.unwrap();
        on_db!(&t.db, p => sqlx::query("INSERT INTO oauth_revoked_tokens (jti, expires_at) VALUES ('j1', $1)")
            .bind(chrono::Utc::now()).execute(p).await.map(|r| r.rows_affected()))
        .unwrap();
        let readers: Vec<_> = (0..50)
            .map(|_| {
                let state = state.clone();
                tokio::spawn(async move { current(&state).await })
            })
            .collect();
        for r in readers {
            assert_eq!(
                r.await.unwrap().unwrap(),
                before + 1,
                "every request after the revocation sees it"
            );
        }
        t.drop_db().await;
    }
}

//! Group commit: many requests' small writes committed in one transaction.
//!
//! A write path that is hit thousands of times a second with a few rows each (token grants and
//! their audit records) submits its rows as an item of a [`Batch`]. The first item to arrive
//! starts a writer task for that batch kind on this node; the writer takes every item waiting,
//! writes them in one transaction, commits, and answers each, then takes the items that
//! arrived meanwhile, until none wait. Each request still returns only after its rows are
//! committed; a database answers in one commit (one write-lock turn on SQLite, one WAL flush on
//! PostgreSQL) for as many requests as arrived during the previous one.
//!
//! If a batch fails because the database is away or full, every item's request hears so at
//! once (503, 507); if it fails for anything else, each item is written again alone, so one
//! item's error reaches that item's request, not its neighbours'. A request that gave up
//! before its group was written (its client left, or it timed out) is left out. At most
//! [`MAX_WAITING`] items wait; past it a request is refused with 503.

use crate::{AppError, AppResult, AppState, Tx};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

/// Most items in one transaction.
pub const MAX_ITEMS: usize = 256;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A kind of write that may be grouped.
pub trait Batch: Send + Sync + 'static {
    type Item: Send + Sync + 'static;
    type Output: Send + 'static;
    /// Writes `items` inside `tx`, in order (a later item sees an earlier one's rows); one
    /// output per item. An error rolls the whole batch back.
    fn write<'a>(
        state: &'a AppState,
        tx: &'a mut Tx,
        items: &'a [Self::Item],
    ) -> BoxFuture<'a, AppResult<Vec<Self::Output>>>;
}

type Waiting<B> = Vec<(
    <B as Batch>::Item,
    oneshot::Sender<AppResult<<B as Batch>::Output>>,
)>;

/// The items waiting for the writer of batch kind `B`, and whether a writer runs.
struct Queue<B: Batch> {
    inner: Mutex<(Waiting<B>, bool)>,
}

impl<B: Batch> Default for Queue<B> {
    fn default() -> Self {
        Self {
            inner: Mutex::new((Vec::new(), false)),
        }
    }
}

/// Most items waiting for one kind: past it, requests are refused (503) rather than queued.
pub const MAX_WAITING: usize = 4096;

/// Writes `item` with whatever else of its kind is waiting; returns once it is committed.
pub async fn submit<B: Batch>(state: &AppState, item: B::Item) -> AppResult<B::Output> {
    let queue = state.cache::<Queue<B>>();
    let (tx, rx) = oneshot::channel();
    let start = {
        let mut q = queue.inner.lock().unwrap_or_else(|e| e.into_inner());
        if q.0.len() >= MAX_WAITING {
            return Err(AppError::Unavailable(
                "too many writes waiting for the database".into(),
            ));
        }
        q.0.push((item, tx));
        !std::mem::replace(&mut q.1, true)
    };
    if start {
        tokio::spawn(drain::<B>(state.clone(), queue));
    }
    rx.await
        .map_err(|_| AppError::internal("the batch writer stopped"))?
}

/// Clears the queue's "a writer runs" flag if the writer unwinds from a panic, so the next
/// item starts a new one; the items it held are dropped (their requests get an error).
struct Unwinding<B: Batch>(Arc<Queue<B>>);

impl<B: Batch> Drop for Unwinding<B> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let mut q = self.0.inner.lock().unwrap_or_else(|e| e.into_inner());
            q.0.clear();
            q.1 = false;
        }
    }
}

/// The writer: batches until the queue is empty.
async fn drain<B: Batch>(state: AppState, queue: Arc<Queue<B>>) {
    let _guard = Unwinding(Arc::clone(&queue));
    loop {
        let batch: Waiting<B> = {
            let mut q = queue.inner.lock().unwrap_or_else(|e| e.into_inner());
            if q.0.is_empty() {
                q.1 = false;
                return;
            }
            let n = q.0.len().min(MAX_ITEMS);
            q.0.drain(..n).collect()
        };
        // A request that gave up (its client left, or it timed out) is not written: it must not
        // spend a refresh token whose successor nobody receives.
        let (items, answers): (Vec<_>, Vec<_>) = batch
            .into_iter()
            .filter(|(_, answer)| !answer.is_closed())
            .unzip();
        if items.is_empty() {
            continue;
        }
        match write_committed::<B>(&state, &items).await {
            Ok(outputs) => {
                for (answer, out) in answers.into_iter().zip(outputs) {
                    let _ = answer.send(Ok(out));
                }
            }
            Err(e) if items.len() == 1 => {
                if let Some(answer) = answers.into_iter().next() {
                    let _ = answer.send(Err(e));
                }
            }
            // The database is away or full: each item would fail the same way, one after
            // another; every request hears it at once.
            Err(e) if shared_fault(&e).is_some() => {
                for answer in answers {
                    if let Some(fault) = shared_fault(&e) {
                        let _ = answer.send(Err(fault));
                    }
                }
            }
            // Something in one item: each is written alone, so only that one fails.
            Err(_) => {
                for (item, answer) in items.into_iter().zip(answers) {
                    if answer.is_closed() {
                        continue;
                    }
                    let one = [item];
                    let r = write_committed::<B>(&state, &one)
                        .await
                        .and_then(|mut out| {
                            out.pop()
                                .ok_or_else(|| AppError::internal("a batch gave no output"))
                        });
                    let _ = answer.send(r);
                }
            }
        }
    }
}

/// The error every item of a group shares when the database itself failed (unreachable, pool
/// exhausted, disk full), as each request should see it (503 or 507).
fn shared_fault(e: &AppError) -> Option<AppError> {
    match e {
        AppError::Database(d) => match crate::error::db_fault(d)? {
            crate::error::Fault::Unavailable => Some(AppError::Unavailable(d.to_string())),
            crate::error::Fault::StorageFull => Some(AppError::StorageFull(d.to_string())),
        },
        AppError::Unavailable(m) => Some(AppError::Unavailable(m.clone())),
        AppError::StorageFull(m) => Some(AppError::StorageFull(m.clone())),
        _ => None,
    }
}

async fn write_committed<B: Batch>(
    state: &AppState,
    items: &[B::Item],
) -> AppResult<Vec<B::Output>> {
    let mut tx = state.db.begin().await?;
    let out = B::write(state, &mut tx, items).await?;
    if out.len() != items.len() {
        return Err(AppError::Internal(format!(
            "a batch gave {} outputs for {} items",
            out.len(),
            items.len()
        )));
    }
    tx.commit().await?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::test_db;
    use crate::{Clock, Config, on_tx};
    use std::sync::atomic::{AtomicUsize, Ordering};

    static TRANSACTIONS: AtomicUsize = AtomicUsize::new(0);

    /// Inserts numbers; a negative one breaks its transaction (NULL into a NOT NULL column).
    struct Numbers;

    impl Batch for Numbers {
        type Item = i64;
        type Output = i64;
        fn write<'a>(
            _: &'a AppState,
            tx: &'a mut Tx,
            items: &'a [i64],
        ) -> BoxFuture<'a, AppResult<Vec<i64>>> {
            Box::pin(async move {
                TRANSACTIONS.fetch_add(1, Ordering::SeqCst);
                for n in items {
                    let v = (*n >= 0).then_some(*n);
                    on_tx!(tx, c => sqlx::query("INSERT INTO batch_numbers (n) VALUES ($1)")
                        .bind(v).execute(c).await.map(|r| r.rows_affected()))?;
                }
                Ok(items.iter().map(|n| n * 10).collect())
            })
        }
    }

    async fn submit_all(state: &AppState, items: Vec<i64>) -> Vec<AppResult<i64>> {
        let tasks: Vec<_> = items
            .into_iter()
            .map(|n| {
                let state = state.clone();
                tokio::spawn(async move { submit::<Numbers>(&state, n).await })
            })
            .collect();
        let mut answers = Vec::new();
        for t in tasks {
            answers.push(t.await.unwrap());
        }
        answers
    }

    async fn stored(t: &crate::testing::TestDb) -> (i64, i64) {
        crate::on_db!(&t.db, p => sqlx::query_as(
            "SELECT COUNT(*), CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM batch_numbers",
        ).fetch_one(p).await)
        .unwrap()
    }

    #[tokio::test]
    async fn waiting_items_share_a_commit_and_a_bad_one_fails_alone() {
        let t = test_db(&[&crate::schema::SCHEMA]).await.unwrap();
        crate::on_db!(&t.db, p => sqlx::query("CREATE TABLE batch_numbers (n BIGINT NOT NULL)")
            .execute(p).await.map(|r| r.rows_affected()))
        .unwrap();
        let state = AppState::new(t.db.clone(), Config::default(), Clock::System);

        // 200 requests at once: a few transactions, every answer its own.
        let before = TRANSACTIONS.load(Ordering::SeqCst);
        let answers = submit_all(&state, (0..200).collect()).await;
        for (i, a) in answers.iter().enumerate() {
            assert_eq!(a.as_ref().ok(), Some(&(i as i64 * 10)), "item {i}");
        }
        let used = TRANSACTIONS.load(Ordering::SeqCst) - before;
        assert!(used <= 3, "200 items in {used} transactions");
        assert_eq!(stored(&t).await, (200, (0..200).sum::<i64>()));

        // A bad item among good ones: it alone fails, the others commit once each.
        let answers = submit_all(&state, vec![1000, -1, 2000]).await;
        assert_eq!(answers[0].as_ref().ok(), Some(&10_000));
        assert!(answers[1].is_err(), "the bad item fails");
        assert_eq!(answers[2].as_ref().ok(), Some(&20_000));
        assert_eq!(stored(&t).await, (202, (0..200).sum::<i64>() + 3000));

        // A request that gives up before its group is written (polled once: its item is
        // queued and a writer spawned; then dropped, as a timed-out request is) is left out.
        let mut gave_up = Box::pin(submit::<Numbers>(&state, 7));
        let first = std::future::poll_fn(|cx| std::task::Poll::Ready(gave_up.as_mut().poll(cx)));
        assert!(first.await.is_pending(), "queued, not yet written");
        drop(gave_up);
        // Later, a lone item starts a new writer; the abandoned one was not written.
        assert_eq!(submit::<Numbers>(&state, 5).await.unwrap(), 50);
        assert_eq!(stored(&t).await, (203, (0..200).sum::<i64>() + 3005));
        t.drop_db().await;
    }
}

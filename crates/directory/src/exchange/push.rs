//! The lower side of a link: a background task on every node looks for links with changes
//! the upper has not acknowledged, takes a lease on one (so one node pushes it), and sends
//! batches until the upper has caught up. A failed push waits `retry_base_ms`, doubling with
//! each failure up to `retry_max_ms`, so after an outage of days the push resumes within that
//! much of the upper's return, from where the upper stands.

use super::{Batch, Link, PushReply, links, sign, snapshot};
use crate::changes::Entity;
use chrono::{DateTime, Utc};
use kernel::{AppError, AppResult, AppState, LinkId, NodeId, on_db};
use std::time::Duration;

/// How long a node holds a link while it pushes; renewed with each batch.
const LEASE_SECONDS: i64 = 120;

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .connect_timeout(Duration::from_secs(10))
        .build()
        .unwrap_or_default()
}

/// Runs for the life of the server.
pub async fn runner(state: AppState) {
    let http = client();
    let tick = Duration::from_millis(state.config.exchange.poll_ms.max(50));
    loop {
        if let Err(e) = push_due(&state, &http).await {
            tracing::warn!(error = %e, "exchange push");
        }
        tokio::time::sleep(tick).await;
    }
}

/// Pushes every link that is due. Returns how many batches went through.
pub async fn push_due(state: &AppState, http: &reqwest::Client) -> AppResult<u64> {
    let now = state.clock.now();
    let due: Vec<(LinkId,)> = on_db!(&state.db, p => sqlx::query_as(
        "SELECT id FROM exchange_links WHERE direction = 'to_upper' AND status = 'active'
           AND (next_attempt_at IS NULL OR next_attempt_at <= $1) AND (lease_until IS NULL OR lease_until < $1)",
    ).bind(now).fetch_all(p).await)?;
    let mut sent = 0;
    for (id,) in due {
        sent += push_link(state, http, id).await?;
    }
    Ok(sent)
}

/// The next changes after `after` in the subtree of `node`: (last seq, entities).
async fn pending(
    state: &AppState,
    node: NodeId,
    after: i64,
    limit: usize,
) -> AppResult<(i64, Vec<(Entity, uuid::Uuid)>)> {
    let rows: Vec<(i64, String, uuid::Uuid)> = on_db!(&state.db, p => sqlx::query_as(
        "SELECT b.seq, b.entity, b.entity_id FROM base_changes b
         WHERE b.seq > $1 AND b.node_id IN (SELECT descendant_id FROM org_closure WHERE ancestor_id = $2)
         ORDER BY b.seq LIMIT $3",
    ).bind(after).bind(node).bind(limit as i64).fetch_all(p).await)?;
    let upto = rows.last().map_or(after, |r| r.0);
    let entities = rows
        .into_iter()
        .filter_map(|(_, e, id)| Some((Entity::parse(&e)?, id)))
        .collect();
    Ok((upto, entities))
}

async fn take_lease(state: &AppState, id: LinkId, now: DateTime<Utc>) -> AppResult<bool> {
    let until = now + chrono::Duration::seconds(LEASE_SECONDS);
    let n = on_db!(&state.db, p => sqlx::query(
        "UPDATE exchange_links SET lease_until = $2 WHERE id = $1 AND (lease_until IS NULL OR lease_until < $3)",
    ).bind(id).bind(until).bind(now).execute(p).await.map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// Pushes one link until the upper has everything or a push fails.
pub async fn push_link(state: &AppState, http: &reqwest::Client, id: LinkId) -> AppResult<u64> {
    if !take_lease(state, id, state.clock.now()).await? {
        return Ok(0);
    }
    let result = push_batches(state, http, id).await;
    on_db!(&state.db, p => sqlx::query("UPDATE exchange_links SET lease_until = NULL WHERE id = $1")
        .bind(id).execute(p).await.map(|_| ()))?;
    result
}

async fn push_batches(state: &AppState, http: &reqwest::Client, id: LinkId) -> AppResult<u64> {
    let mut sent = 0;
    loop {
        let Some(link) = links::find(&state.db, id).await? else {
            return Ok(sent);
        };
        if link.status != "active" || !link.pushes() {
            return Ok(sent);
        }
        let limit = state.config.exchange.batch_size.max(1);
        let (upto, entities) = pending(state, link.node_id, link.seq, limit).await?;
        if upto == link.seq {
            return Ok(sent);
        }
        let now = state.clock.now();
        on_db!(&state.db, p => sqlx::query(
            "UPDATE exchange_links SET last_attempt_at = $2, lease_until = $3 WHERE id = $1",
        ).bind(id).bind(now).bind(now + chrono::Duration::seconds(LEASE_SECONDS)).execute(p).await.map(|_| ()))?;
        let batch = Batch {
            link_id: id,
            after: link.seq,
            upto,
            snapshot: snapshot::read(&state.db, link.node_id, &entities).await?,
        };
        match send(http, &link, &batch, now).await {
            Ok(reply) => {
                acknowledged(state, &link, &reply).await?;
                sent += 1;
            }
            Err(why) => {
                failed(state, &link, &why).await?;
                return Ok(sent);
            }
        }
    }
}

/// Sends one batch; `Err` carries what to show the administrator.
async fn send(
    http: &reqwest::Client,
    link: &Link,
    batch: &Batch,
    now: DateTime<Utc>,
) -> Result<PushReply, String> {
    let url = link.peer_url.as_deref().ok_or("no upper address")?;
    let key = link.private_key.as_deref().ok_or("no link key")?;
    let body = serde_json::to_vec(batch).map_err(|e| e.to_string())?;
    let time = now.timestamp();
    let signature = sign::sign(key, link.id, time, &body).map_err(|e| e.to_string())?;
    let response = http
        .post(format!("{url}/api/v1/exchange/push"))
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(sign::LINK_HEADER, link.id.to_string())
        .header(sign::TIME_HEADER, time.to_string())
        .header(sign::SIGNATURE_HEADER, signature)
        .body(body)
        .send()
        .await
        .map_err(|e| format!("unreachable: {e}"))?;
    let status = response.status();
    if status.is_success() || status == reqwest::StatusCode::CONFLICT {
        return response
            .json::<PushReply>()
            .await
            .map_err(|e| format!("unreadable answer: {e}"));
    }
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    Err(format!(
        "HTTP {}: {}",
        status.as_u16(),
        body["error"]["code"].as_str().unwrap_or("")
    ))
}

async fn acknowledged(state: &AppState, link: &Link, reply: &PushReply) -> AppResult<()> {
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    for c in &reply.conflicts {
        links::store_conflict(&mut tx, link.id, c, now).await?;
    }
    links::resolve_conflicts(&mut tx, link.id, &reply.resolved, now).await?;
    if reply.gap {
        tracing::warn!(link = %link.id, from = link.seq, to = reply.seq, "the upper instance is behind: resending from its position");
    }
    kernel::on_tx!(&mut tx, c => sqlx::query(
        "UPDATE exchange_links SET seq = $2, failures = 0, next_attempt_at = NULL, last_error = NULL,
             last_success_at = $3, rows_total = rows_total + $4, updated_at = $3
         WHERE id = $1",
    ).bind(link.id).bind(reply.seq).bind(now).bind(reply.applied as i64).execute(c).await.map(|_| ()))?;
    tx.commit().await
}

/// The wait before the `failures`-th retry: the base doubled each time, at most the cap, less
/// up to a fifth at random so many lower instances do not come back in step.
pub fn backoff(base_ms: u64, max_ms: u64, failures: u32) -> Duration {
    use rand::Rng;
    let exp = base_ms.saturating_mul(1u64 << failures.saturating_sub(1).min(30));
    let ms = exp.min(max_ms);
    let jitter = rand::thread_rng().gen_range(0..=ms / 5);
    Duration::from_millis(ms - jitter)
}

async fn failed(state: &AppState, link: &Link, why: &str) -> AppResult<()> {
    let now = state.clock.now();
    let failures = link.failures + 1;
    let cfg = &state.config.exchange;
    let wait = backoff(
        cfg.retry_base_ms,
        cfg.retry_max_ms,
        u32::try_from(failures).unwrap_or(u32::MAX),
    );
    let next =
        now + chrono::Duration::from_std(wait).map_err(|e| AppError::Internal(e.to_string()))?;
    tracing::info!(link = %link.id, failures, retry_in_ms = wait.as_millis() as u64, error = why, "exchange push failed");
    on_db!(&state.db, p => sqlx::query(
        "UPDATE exchange_links SET failures = $2, next_attempt_at = $3, last_error = $4, updated_at = $5 WHERE id = $1",
    ).bind(link.id).bind(failures).bind(next).bind(why).bind(now).execute(p).await.map(|_| ()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_double_up_to_the_cap() {
        for f in 1..40 {
            let d = backoff(1_000, 600_000, f).as_millis() as u64;
            let full = (1_000u64 << (f - 1).min(30)).min(600_000);
            assert!(d <= full && d >= full - full / 5, "failure {f}: {d} ms");
        }
        assert!(backoff(1_000, 600_000, 40).as_millis() >= 480_000);
    }
}

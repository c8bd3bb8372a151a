//! The outbox's delivery (`kernel::outbox` writes the rows): on every node a runner claims due
//! rows with a lease, waits out the person's quiet hours, sends each through its channel's
//! adapter at a bounded rate, and records the outcome: sent (with the provider's id), tried
//! again later with a doubling wait, or given up after the configured attempts. A row whose
//! lease ran out while it was being sent (its node died between sending and recording) is
//! sent again and counted as uncertain; WeCom and DingTalk drop the repeat themselves (their
//! duplicate checks), so the person sees it once. A failing channel never holds up another.

mod api;
pub mod dingtalk;
pub mod email;
pub mod fake;
pub mod sms;
mod token;
pub mod web_push;
pub mod wecom;

use chrono::{DateTime, Utc};
use kernel::outbox::Channel;
use kernel::{AppResult, AppState, PersonId, on_db};
use std::sync::Arc;
use std::time::Duration;

/// A notification as a channel sends it.
pub struct Outgoing<'a> {
    /// What is notified (the outbox row's key): sent along where the provider takes a
    /// reference (SMS `OutId`, the e-mail's `Message-ID`, Web Push's `Topic`).
    pub key: &'a str,
    pub title: &'a str,
    pub body: &'a str,
    /// The full address of the page it links to.
    pub url: String,
}

/// Why a send failed, and whether to try again.
#[derive(Debug)]
pub struct SendError {
    pub message: String,
    pub retry: bool,
    /// The provider asked us to slow down.
    pub rate_limited: bool,
    /// The address is no longer valid (a Web Push subscription the browser dropped): removed.
    pub gone: bool,
}

impl SendError {
    /// A transport error, without its URL: WeCom and DingTalk take the application's secret in
    /// the token request's query, and an error message is stored and logged.
    pub fn network(e: reqwest::Error) -> Self {
        Self::retry(format!("network: {}", e.without_url()))
    }
    pub fn retry(message: String) -> Self {
        Self {
            message,
            retry: true,
            rate_limited: false,
            gone: false,
        }
    }
    pub fn permanent(message: String) -> Self {
        Self {
            retry: false,
            ..Self::retry(message)
        }
    }
    pub fn rate_limited(message: String) -> Self {
        Self {
            rate_limited: true,
            ..Self::retry(message)
        }
    }
    pub fn gone(message: String) -> Self {
        Self {
            gone: true,
            ..Self::permanent(message)
        }
    }
    /// A provider's error code: rate limits and "busy" are tried again, the rest is not.
    pub fn from_code(what: &str, code: i64, msg: &str, rate_limited: &[i64], busy: i64) -> Self {
        let limited = rate_limited.contains(&code);
        Self {
            message: format!("{what}: errcode {code} {msg}"),
            retry: limited || code == busy,
            rate_limited: limited,
            gone: false,
        }
    }
}

/// The configured channels' adapters.
pub struct Adapters {
    pub wecom: Option<wecom::WeCom>,
    pub dingtalk: Option<dingtalk::DingTalk>,
    pub sms: Option<sms::Sms>,
    pub email: Option<email::Email>,
    pub web_push: Option<web_push::WebPush>,
}

impl Adapters {
    /// The configured channels' adapters, or what is wrong with their configuration.
    pub fn from_config(config: &kernel::Config) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .build()
            .unwrap_or_default();
        let n = &config.notify;
        let host = url::Url::parse(&config.base_url())
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_else(|| "localhost".into());
        Ok(Self {
            wecom: n.wecom.clone().map(|c| wecom::WeCom::new(c, http.clone())),
            dingtalk: n
                .dingtalk
                .clone()
                .map(|c| dingtalk::DingTalk::new(c, http.clone())),
            sms: n.sms.clone().map(|c| sms::Sms::new(c, http.clone())),
            email: n
                .email
                .as_ref()
                .map(|c| email::Email::new(c, &host))
                .transpose()?,
            web_push: n
                .web_push
                .clone()
                .map(|c| web_push::WebPush::new(c, http.clone()))
                .transpose()?,
        })
    }

    async fn send(
        &self,
        channel: Channel,
        m: &Outgoing<'_>,
        address: &str,
    ) -> Result<String, SendError> {
        match (channel, self) {
            (Channel::Wecom, Self { wecom: Some(a), .. }) => a.send(m, address).await,
            (
                Channel::Dingtalk,
                Self {
                    dingtalk: Some(a), ..
                },
            ) => a.send(m, address).await,
            (Channel::Sms, Self { sms: Some(a), .. }) => a.send(m, address).await,
            (Channel::Email, Self { email: Some(a), .. }) => a.send(m, address).await,
            (
                Channel::WebPush,
                Self {
                    web_push: Some(a), ..
                },
            ) => a.send(m, address).await,
            _ => Err(SendError::retry(format!(
                "{} is not configured on this node",
                channel.as_str()
            ))),
        }
    }

    /// Whether the provider drops a repeated message itself (Web Push: while it waits).
    fn drops_repeats(channel: Channel) -> bool {
        matches!(
            channel,
            Channel::Wecom | Channel::Dingtalk | Channel::WebPush
        )
    }
}

/// How long a node holds a row it is sending.
const LEASE_SECONDS: i64 = 60;
/// Rows one pass takes per channel.
const PASS: i64 = 200;

/// Sends due notifications on every configured channel until none is due; returns how many
/// rows were dealt with (sent, deferred, retried or given up).
pub async fn deliver_due(state: &AppState, adapters: &Adapters) -> AppResult<usize> {
    let mut total = 0;
    loop {
        // Channels run side by side: a slow or failing one never holds up another.
        let passes = state
            .config
            .notify
            .channels()
            .into_iter()
            .map(|channel| pass(state, adapters, channel));
        let mut done = 0;
        for r in futures_util::future::join_all(passes).await {
            done += r?;
        }
        if done == 0 {
            return Ok(total);
        }
        total += done;
    }
}

#[derive(sqlx::FromRow)]
struct Row {
    person_id: PersonId,
    dedup_key: String,
    title: String,
    body: String,
    link: Option<String>,
    state: String,
    attempts: i64,
}

/// One pass over a channel's due rows.
async fn pass(state: &AppState, adapters: &Adapters, channel: Channel) -> AppResult<usize> {
    let now = state.clock.now();
    let rows: Vec<Row> = on_db!(&state.db, p => sqlx::query_as(
        "SELECT person_id, dedup_key, title, body, link, state, attempts FROM outbox
         WHERE channel = $1 AND ((state = 'pending' AND next_attempt_at <= $2) OR (state = 'sending' AND lease_until < $2))
         ORDER BY next_attempt_at LIMIT $3",
    ).bind(channel.as_str()).bind(now).bind(PASS).fetch_all(p).await)?;
    // At most `rate_per_second` sends a second: wait only when ahead of it.
    let rate = f64::from(state.config.notify.rate_per_second.max(1));
    let started = std::time::Instant::now();
    let mut done = 0;
    for row in rows {
        let claimed = on_db!(&state.db, p => sqlx::query(
            "UPDATE outbox SET state = 'sending', lease_until = $4, attempts = attempts + 1,
                 uncertain = uncertain + CASE WHEN state = 'sending' THEN 1 ELSE 0 END
             WHERE channel = $1 AND person_id = $2 AND dedup_key = $3
               AND ((state = 'pending' AND next_attempt_at <= $5) OR (state = 'sending' AND lease_until < $5))",
        ).bind(channel.as_str()).bind(row.person_id).bind(&row.dedup_key)
         .bind(now + chrono::Duration::seconds(LEASE_SECONDS)).bind(now)
         .execute(p).await.map(|r| r.rows_affected()))?;
        if claimed != 1 {
            continue;
        }
        if row.state == "sending" {
            let what = if Adapters::drops_repeats(channel) {
                "dropped by the provider"
            } else {
                "possibly twice"
            };
            metrics::counter!("outbox_uncertain_total", "channel" => channel.as_str()).increment(1);
            tracing::warn!(channel = channel.as_str(), key = %row.dedup_key, "a send was interrupted; sending again ({what})");
        }
        done += 1;
        deliver_one(state, adapters, channel, &row, now).await?;
        let ahead = done as f64 / rate - started.elapsed().as_secs_f64();
        if ahead > 0.0 {
            tokio::time::sleep(Duration::from_secs_f64(ahead)).await;
        }
    }
    Ok(done)
}

async fn record(
    state: &AppState,
    channel: Channel,
    row: &Row,
    sql: &'static str,
    at: DateTime<Utc>,
    text: Option<&str>,
) -> AppResult<()> {
    on_db!(&state.db, p => sqlx::query(sql).bind(channel.as_str()).bind(row.person_id).bind(&row.dedup_key)
        .bind(at).bind(text).execute(p).await.map(|r| r.rows_affected()))?;
    Ok(())
}

async fn deliver_one(
    state: &AppState,
    adapters: &Adapters,
    channel: Channel,
    row: &Row,
    now: DateTime<Utc>,
) -> AppResult<()> {
    // Quiet hours: the row waits, and the wait costs no attempt.
    let quiet: Option<(String, String)> = on_db!(&state.db, p => sqlx::query_as(
        "SELECT starts, ends FROM quiet_hours WHERE person_id = $1",
    ).bind(row.person_id).fetch_optional(p).await)?;
    if let Some((starts, ends)) = quiet {
        let at = kernel::outbox::after_quiet(now, state.config.time_zone, &starts, &ends);
        if at > now {
            return record(state, channel, row,
                "UPDATE outbox SET state = 'pending', lease_until = NULL, attempts = attempts - 1, next_attempt_at = $4, last_error = $5
                 WHERE channel = $1 AND person_id = $2 AND dedup_key = $3", at, Some("quiet hours")).await;
        }
    }
    // Web Push goes to every browser the person subscribed on; the others to their first address.
    let limit = if channel == Channel::WebPush { 20 } else { 1 };
    let addresses: Vec<(String,)> = on_db!(&state.db, p => sqlx::query_as(
        "SELECT address FROM channel_addresses WHERE person_id = $1 AND channel = $2 ORDER BY created_at LIMIT $3",
    ).bind(row.person_id).bind(channel.as_str()).bind(limit).fetch_all(p).await)?;
    if addresses.is_empty() {
        return record(
            state,
            channel,
            row,
            "UPDATE outbox SET state = 'skipped', lease_until = NULL, sent_at = $4, last_error = $5
             WHERE channel = $1 AND person_id = $2 AND dedup_key = $3",
            now,
            Some("no address"),
        )
        .await;
    }
    // The provider shows a full address (the public URL, or the listen address without one).
    let url = format!(
        "{}{}",
        state.config.base_url(),
        row.link.as_deref().unwrap_or("/")
    );
    let m = Outgoing {
        key: &row.dedup_key,
        title: &row.title,
        body: &row.body,
        url,
    };
    let mut sent: Vec<String> = Vec::new();
    let mut error: Option<SendError> = None;
    for (address,) in &addresses {
        match adapters.send(channel, &m, address).await {
            Ok(id) => sent.push(id),
            Err(e) => {
                if e.gone {
                    // The browser dropped the subscription: forget it.
                    on_db!(&state.db, p => sqlx::query(
                        "DELETE FROM channel_addresses WHERE person_id = $1 AND channel = $2 AND address = $3",
                    ).bind(row.person_id).bind(channel.as_str()).bind(address).execute(p).await.map(|r| r.rows_affected()))?;
                }
                error.get_or_insert(e);
            }
        }
    }
    let outcome = match error {
        Some(e) if sent.is_empty() => Err(e),
        _ => Ok(sent.join(" ")),
    };
    match outcome {
        Ok(id) => {
            metrics::counter!("outbox_sent_total", "channel" => channel.as_str()).increment(1);
            record(state, channel, row,
                "UPDATE outbox SET state = 'sent', lease_until = NULL, sent_at = $4, provider_id = $5, last_error = NULL
                 WHERE channel = $1 AND person_id = $2 AND dedup_key = $3", state.clock.now(), Some(&id)).await
        }
        Err(e) => {
            metrics::counter!("outbox_failures_total", "channel" => channel.as_str()).increment(1);
            tracing::warn!(channel = channel.as_str(), key = %row.dedup_key, error = %e.message, "notification not sent");
            let attempts = row.attempts + 1;
            if e.retry && attempts < i64::from(state.config.notify.max_attempts) {
                let base = state.config.notify.retry_base_seconds.max(1) as i64;
                let wait = (base << (attempts - 1).clamp(0, 20)).min(3600);
                let wait = if e.rate_limited { wait.max(60) } else { wait };
                record(state, channel, row,
                    "UPDATE outbox SET state = 'pending', lease_until = NULL, next_attempt_at = $4, last_error = $5
                     WHERE channel = $1 AND person_id = $2 AND dedup_key = $3",
                    now + chrono::Duration::seconds(wait), Some(&e.message)).await
            } else {
                record(state, channel, row,
                    "UPDATE outbox SET state = 'failed', lease_until = NULL, sent_at = $4, last_error = $5
                     WHERE channel = $1 AND person_id = $2 AND dedup_key = $3", now, Some(&e.message)).await
            }
        }
    }
}

/// The delivery runner on every node: a pass every `notify.poll_ms`.
pub async fn runner(state: AppState) {
    if state.config.notify.channels().is_empty() {
        return;
    }
    let adapters = match Adapters::from_config(&state.config) {
        Ok(a) => Arc::new(a),
        Err(e) => {
            tracing::error!(error = %e, "the outbox cannot deliver: its channels' configuration is wrong");
            return;
        }
    };
    let mut tick =
        tokio::time::interval(Duration::from_millis(state.config.notify.poll_ms.max(100)));
    loop {
        tick.tick().await;
        match deliver_due(&state, &adapters).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(rows = n, "outbox delivered"),
            Err(e) => tracing::error!(error = %e, "outbox delivery failed"),
        }
    }
}

//! The outbox: the one way every module notifies a person outside the platform. In-app
//! notifications are written to `notifications` ([`crate::notify`]); each external channel a
//! person can be reached on (Web Push, e-mail, SMS, WeCom, DingTalk) gets one outbox row per
//! thing notified, in the transaction of the action, so a notification exists exactly when its
//! action does, and a second enqueue of the same thing (a retry, another node) is kept once.
//! The delivery runner (the `channels` crate) sends each row at most once per channel and
//! person, honours quiet hours, retries with backoff and shows the sender the delivery status.

use crate::ids::PersonId;
use crate::{AppResult, AppState, Ctx, Db, FieldErrors, Tx, on_db, on_tx};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    WebPush,
    Email,
    Sms,
    Wecom,
    Dingtalk,
}

impl Channel {
    pub const ALL: [Channel; 5] = [
        Channel::WebPush,
        Channel::Email,
        Channel::Sms,
        Channel::Wecom,
        Channel::Dingtalk,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Self::WebPush => "web_push",
            Self::Email => "email",
            Self::Sms => "sms",
            Self::Wecom => "wecom",
            Self::Dingtalk => "dingtalk",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// What to tell: `kind` is what people turn on and off (`notice`, `message`, `leave`, …);
/// `dedup_key` names the thing, so it is sent once per person and channel.
#[derive(Debug, Clone)]
pub struct Message<'a> {
    pub kind: &'a str,
    pub dedup_key: &'a str,
    pub title: &'a str,
    pub body: &'a str,
    pub link: Option<&'a str>,
}

/// Who is told: one person, or everyone a query selects (`SELECT person_id FROM … WHERE … = $1`,
/// with `arg` as its one parameter): a notice to 100,000 guardians is one statement.
pub enum To<'a> {
    One(PersonId),
    Query { sql: &'a str, arg: uuid::Uuid },
}

/// Writes the outbox rows of `msg` inside `tx`: one per channel the platform has configured,
/// the person has an address on, and has not turned this kind off on. Returns how many.
pub async fn enqueue(
    state: &AppState,
    tx: &mut Tx,
    now: DateTime<Utc>,
    to: To<'_>,
    msg: &Message<'_>,
) -> AppResult<u64> {
    let channels = state.config.notify.channels();
    if channels.is_empty() {
        return Ok(0);
    }
    // The channels' names are the enum's constants, never input.
    let list = channels
        .iter()
        .map(|c| format!("'{}'", c.as_str()))
        .collect::<Vec<_>>()
        .join(", ");
    let (who, arg) = match to {
        To::One(p) => ("$1".to_owned(), p.0),
        To::Query { sql, arg } => (sql.to_owned(), arg),
    };
    let sql = format!(
        "INSERT INTO outbox (channel, person_id, dedup_key, kind, title, body, link, state, next_attempt_at, created_at)
         SELECT DISTINCT a.channel, a.person_id, $2, $3, $4, $5, $6, 'pending', $7, $7
         FROM channel_addresses a
         WHERE a.person_id IN ({who}) AND a.channel IN ({list})
           AND NOT EXISTS (SELECT 1 FROM notification_preferences p
                           WHERE p.person_id = a.person_id AND p.kind = $3 AND p.channel = a.channel AND p.enabled = FALSE)
         ON CONFLICT (channel, person_id, dedup_key) DO NOTHING"
    );
    let n = on_tx!(tx, c => sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
        .bind(arg).bind(msg.dedup_key).bind(msg.kind).bind(msg.title).bind(msg.body).bind(msg.link).bind(now)
        .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    Ok(n)
}

/// How far the outbox rows of one thing got, per channel and state (the sender's view).
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Status {
    pub channel: String,
    pub state: String,
    pub count: i64,
}

pub async fn status(db: &Db, dedup_key: &str) -> AppResult<Vec<Status>> {
    Ok(on_db!(db, p => sqlx::query_as(
        "SELECT channel, state, COUNT(*) AS count FROM outbox WHERE dedup_key = $1 GROUP BY channel, state ORDER BY channel, state",
    ).bind(dedup_key).fetch_all(p).await)?)
}

/// A person's notification settings.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Settings {
    pub addresses: Vec<(String, String)>,
    /// The (kind, channel) pairs turned off.
    pub off: Vec<(String, String)>,
    /// `HH:MM`–`HH:MM` in the region's time zone.
    pub quiet: Option<(String, String)>,
}

pub async fn settings(db: &Db, person: PersonId) -> AppResult<Settings> {
    let addresses: Vec<(String, String)> = on_db!(db, p => sqlx::query_as(
        "SELECT channel, address FROM channel_addresses WHERE person_id = $1 ORDER BY channel, created_at",
    ).bind(person).fetch_all(p).await)?;
    let off: Vec<(String, String)> = on_db!(db, p => sqlx::query_as(
        "SELECT kind, channel FROM notification_preferences WHERE person_id = $1 AND enabled = FALSE",
    ).bind(person).fetch_all(p).await)?;
    let quiet: Option<(String, String)> = on_db!(db, p => sqlx::query_as(
        "SELECT starts, ends FROM quiet_hours WHERE person_id = $1",
    ).bind(person).fetch_optional(p).await)?;
    Ok(Settings {
        addresses,
        off,
        quiet,
    })
}

/// Checks an address for its channel: an e-mail address, a mainland mobile number, a WeCom or
/// DingTalk user id, a Web Push subscription (JSON with an https endpoint and its keys).
pub fn check_address(channel: Channel, address: &str) -> Result<String, &'static str> {
    let a = address.trim();
    let ok = match channel {
        Channel::Email => {
            let mut parts = a.split('@');
            matches!((parts.next(), parts.next(), parts.next()), (Some(u), Some(d), None)
                if !u.is_empty() && d.contains('.') && !d.starts_with('.') && !d.ends_with('.'))
                && !a.contains(char::is_whitespace)
        }
        Channel::Sms => {
            a.len() == 11 && a.starts_with('1') && a.chars().all(|c| c.is_ascii_digit())
        }
        Channel::Wecom | Channel::Dingtalk => {
            !a.is_empty()
                && a.len() <= 64
                && a.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_-.@".contains(c))
        }
        Channel::WebPush => serde_json::from_str::<serde_json::Value>(a).is_ok_and(|v| {
            v["endpoint"]
                .as_str()
                .is_some_and(|e| e.starts_with("https://") || e.starts_with("http://127.0.0.1"))
                && v["keys"]["p256dh"].is_string()
                && v["keys"]["auth"].is_string()
        }),
    };
    if ok {
        Ok(a.to_owned())
    } else {
        Err("outbox.error.address")
    }
}

/// Adds (or keeps) an address of the actor's.
pub async fn add_address(cx: &Ctx<'_>, channel: Channel, address: &str) -> AppResult<()> {
    let address =
        check_address(channel, address).map_err(|k| crate::AppError::field("address", k))?;
    let mut tx = cx.begin().await?;
    on_tx!(&mut tx, c => sqlx::query(
        "INSERT INTO channel_addresses (person_id, channel, address, created_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (person_id, channel, address) DO NOTHING",
    ).bind(cx.actor.person_id).bind(channel.as_str()).bind(&address).bind(cx.now)
     .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    tx.commit().await
}

pub async fn remove_address(cx: &Ctx<'_>, channel: Channel, address: &str) -> AppResult<()> {
    on_db!(cx.db(), p => sqlx::query(
        "DELETE FROM channel_addresses WHERE person_id = $1 AND channel = $2 AND address = $3",
    ).bind(cx.actor.person_id).bind(channel.as_str()).bind(address.trim()).execute(p).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Turns a kind of notification on or off on a channel for the actor.
pub async fn set_preference(
    cx: &Ctx<'_>,
    kind: &str,
    channel: Channel,
    enabled: bool,
) -> AppResult<()> {
    on_db!(cx.db(), p => sqlx::query(
        "INSERT INTO notification_preferences (person_id, kind, channel, enabled) VALUES ($1, $2, $3, $4)
         ON CONFLICT (person_id, kind, channel) DO UPDATE SET enabled = excluded.enabled",
    ).bind(cx.actor.person_id).bind(kind).bind(channel.as_str()).bind(enabled).execute(p).await.map(|r| r.rows_affected()))?;
    Ok(())
}

fn hhmm(s: &str) -> Option<chrono::NaiveTime> {
    chrono::NaiveTime::parse_from_str(s.trim(), "%H:%M").ok()
}

/// Sets (both given) or clears (both empty) the actor's quiet hours.
pub async fn set_quiet_hours(cx: &Ctx<'_>, starts: &str, ends: &str) -> AppResult<()> {
    if starts.trim().is_empty() && ends.trim().is_empty() {
        on_db!(cx.db(), p => sqlx::query("DELETE FROM quiet_hours WHERE person_id = $1")
            .bind(cx.actor.person_id).execute(p).await.map(|r| r.rows_affected()))?;
        return Ok(());
    }
    let mut f = FieldErrors::new();
    let (s, e) = (hhmm(starts), hhmm(ends));
    if s.is_none() {
        f.add("quiet_starts", "outbox.error.time");
    }
    if e.is_none() {
        f.add("quiet_ends", "outbox.error.time");
    }
    if s.is_some() && s == e {
        f.add("quiet_ends", "outbox.error.same_time");
    }
    f.into_result()?;
    on_db!(cx.db(), p => sqlx::query(
        "INSERT INTO quiet_hours (person_id, starts, ends) VALUES ($1, $2, $3)
         ON CONFLICT (person_id) DO UPDATE SET starts = excluded.starts, ends = excluded.ends",
    ).bind(cx.actor.person_id).bind(starts.trim()).bind(ends.trim()).execute(p).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// When a notification to someone with these quiet hours may go out, at `now`: now, or the end
/// of the quiet time it falls in (in the region's zone).
pub fn after_quiet(
    now: DateTime<Utc>,
    zone: crate::time::Zone,
    starts: &str,
    ends: &str,
) -> DateTime<Utc> {
    let (Some(s), Some(e)) = (hhmm(starts), hhmm(ends)) else {
        return now;
    };
    let local = zone.local(now);
    let t = local.time();
    let quiet = if s < e {
        s <= t && t < e
    } else {
        t >= s || t < e
    };
    if !quiet {
        return now;
    }
    let day = if s > e && t >= s {
        local.date_naive() + chrono::Duration::days(1)
    } else {
        local.date_naive()
    };
    zone.at(day.and_time(e)).unwrap_or(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    #[test]
    fn quiet_hours_across_midnight_end_the_next_morning() {
        let zone = crate::time::Zone::default();
        // 22:30 in Beijing, quiet 21:00–07:00: waits until 07:00 the next day.
        assert_eq!(
            after_quiet(at("2026-12-06T22:30:00+08:00"), zone, "21:00", "07:00"),
            at("2026-12-07T07:00:00+08:00")
        );
        // 06:00: until 07:00 the same day.
        assert_eq!(
            after_quiet(at("2026-12-07T06:00:00+08:00"), zone, "21:00", "07:00"),
            at("2026-12-07T07:00:00+08:00")
        );
        // 12:00 is not quiet.
        let noon = at("2026-12-07T12:00:00+08:00");
        assert_eq!(after_quiet(noon, zone, "21:00", "07:00"), noon);
        // Quiet within a day: 12:30–14:00.
        assert_eq!(
            after_quiet(at("2026-12-07T13:00:00+08:00"), zone, "12:30", "14:00"),
            at("2026-12-07T14:00:00+08:00")
        );
        assert_eq!(after_quiet(noon, zone, "bad", "07:00"), noon);
    }

    #[test]
    fn addresses_are_checked_for_their_channel() {
        assert!(check_address(Channel::Email, " li.ming@school.cn ").is_ok());
        assert!(check_address(Channel::Email, "li.ming@school").is_err());
        assert!(check_address(Channel::Email, "a@b@c.cn").is_err());
        assert_eq!(
            check_address(Channel::Sms, "13800138000"),
            Ok("13800138000".into())
        );
        assert!(check_address(Channel::Sms, "1380013800").is_err());
        assert!(check_address(Channel::Sms, "23800138000").is_err());
        assert!(check_address(Channel::Wecom, "ZhangSan").is_ok());
        assert!(check_address(Channel::Wecom, "zhang san").is_err());
        assert!(check_address(Channel::Dingtalk, &"x".repeat(65)).is_err());
        let sub = r#"{"endpoint":"https://push.example/abc","keys":{"p256dh":"BNc","auth":"tBH"}}"#;
        assert!(check_address(Channel::WebPush, sub).is_ok());
        assert!(check_address(Channel::WebPush, r#"{"endpoint":"ftp://x"}"#).is_err());
    }
}

//! Login sessions, kept in the database so any node can serve any request. The cookie holds a
//! random token; only its hash is stored. Sessions end on logout, idle or absolute timeout,
//! password change and deactivation.

use chrono::{DateTime, Duration, Utc};
use kernel::secret::{random_token, token_hash};
use kernel::{AppResult, Config, Db, PersonId, RequestMeta, SessionId, Tx, on_db, on_tx};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionInfo {
    pub id: SessionId,
    pub person_id: PersonId,
    pub csrf_token: String,
    /// When the person logged in (the OIDC `auth_time`).
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub idle_minutes: Option<i64>,
    /// How the person authenticated (`pwd`, `pwd otp`, `hwk`, …).
    pub amr: Option<String>,
    /// Kept on a personal device ("keep me signed in"): see [`may_stay_remembered`].
    pub remembered: bool,
}

#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct SessionSummary {
    pub id: SessionId,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
}

/// A session's timeouts, from the login policy it was opened under.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub idle_minutes: u32,
    pub absolute_hours: u32,
    /// Kept on a personal device for the policy's `remember_days` (the limits above say how
    /// long).
    pub remembered: bool,
}

impl Limits {
    /// The configured defaults (`session_idle_minutes`, `session_absolute_hours`).
    pub fn from_config(config: &Config) -> Self {
        Self {
            idle_minutes: config.session_idle_minutes,
            absolute_hours: config.session_absolute_hours,
            remembered: false,
        }
    }
}

/// A new session; returns (id, token for the cookie). `amr` says how the person proved who
/// they are (OIDC authentication method references, space-separated: `pwd`, `otp`, `hwk`).
pub async fn create(
    tx: &mut Tx,
    limits: Limits,
    person: PersonId,
    amr: &str,
    meta: &RequestMeta,
    now: DateTime<Utc>,
) -> AppResult<(SessionId, String)> {
    let id = SessionId::new();
    let token = random_token();
    let expires = now + Duration::hours(i64::from(limits.absolute_hours));
    on_tx!(tx, c => sqlx::query(
        "INSERT INTO sessions (id, token_hash, person_id, csrf_token, ip, user_agent, created_at, last_seen_at,
                expires_at, idle_minutes, amr, remembered)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8, $9, $10, $11)",
    ).bind(id).bind(token_hash(&token)).bind(person).bind(random_token())
    .bind(meta.ip.as_deref()).bind(meta.user_agent.as_deref()).bind(now).bind(expires)
    .bind(i64::from(limits.idle_minutes)).bind(amr).bind(limits.remembered)
    .execute(c).await.map(|r| r.rows_affected()))?;
    Ok((id, token))
}

/// The live session for a cookie token, if any. Touches `last_seen_at` at most once a minute
/// so ordinary page views do not each cost a write.
pub async fn lookup(
    db: &Db,
    config: &Config,
    token: &str,
    now: DateTime<Utc>,
) -> AppResult<Option<SessionInfo>> {
    let row: Option<SessionInfo> = on_db!(db, p => sqlx::query_as(
        "SELECT id, person_id, csrf_token, created_at, last_seen_at, expires_at, idle_minutes, amr, remembered FROM sessions
         WHERE token_hash = $1 AND ended_at IS NULL",
    ).bind(token_hash(token)).fetch_optional(p).await)?;
    let Some(s) = row else { return Ok(None) };
    let idle = Duration::minutes(
        s.idle_minutes
            .unwrap_or_else(|| i64::from(config.session_idle_minutes)),
    );
    if now >= s.expires_at || now - s.last_seen_at >= idle {
        let reason = if now >= s.expires_at {
            "absolute_timeout"
        } else {
            "idle_timeout"
        };
        on_db!(db, p => sqlx::query("UPDATE sessions SET ended_at = $2, end_reason = $3 WHERE id = $1 AND ended_at IS NULL")
            .bind(s.id).bind(now).bind(reason).execute(p).await.map(|r| r.rows_affected()))?;
        return Ok(None);
    }
    if now - s.last_seen_at >= Duration::seconds(60) {
        on_db!(db, p => sqlx::query("UPDATE sessions SET last_seen_at = $2 WHERE id = $1")
            .bind(s.id).bind(now).execute(p).await.map(|r| r.rows_affected()))?;
    }
    Ok(Some(s))
}

/// Whether a remembered session may go on: its person administers nothing (someone made an
/// administrator since keeps no remembered session), and the policy now in force still offers
/// remembering for at least as long as it has lasted (a region that lowers `remember_days`, or
/// turns it off, shortens the sessions already open).
pub async fn may_stay_remembered(
    state: &kernel::AppState,
    actor: &kernel::Actor,
    s: &SessionInfo,
    now: DateTime<Utc>,
) -> AppResult<bool> {
    if !actor.admin_nodes().is_empty() {
        return Ok(false);
    }
    let days = crate::policy::effective(state, actor.org_id)
        .await?
        .remember_days;
    Ok(now - s.created_at < Duration::days(i64::from(days)))
}

pub async fn end(tx: &mut Tx, id: SessionId, reason: &str, now: DateTime<Utc>) -> AppResult<()> {
    on_tx!(tx, c => sqlx::query("UPDATE sessions SET ended_at = $2, end_reason = $3 WHERE id = $1 AND ended_at IS NULL")
        .bind(id).bind(now).bind(reason).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Records a change in how the session's person authenticated (a second factor set up or removed).
/// Whether a session's `amr` includes a second factor (a code or a hardware key).
pub fn is_multi_factor(amr: &str) -> bool {
    amr.split(' ').any(|m| m == "otp" || m == "hwk")
}

/// The `amr` with `method` added (`present`) or taken out, the others kept.
pub fn with_method(amr: &str, method: &str, present: bool) -> String {
    let mut ms: Vec<&str> = amr
        .split(' ')
        .filter(|m| !m.is_empty() && *m != method)
        .collect();
    if present {
        ms.push(method);
    }
    ms.join(" ")
}

pub async fn set_amr(tx: &mut Tx, id: SessionId, amr: &str) -> AppResult<()> {
    on_tx!(tx, c => sqlx::query("UPDATE sessions SET amr = $2 WHERE id = $1")
        .bind(id).bind(amr).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Ends every live session of a person (password change, deactivation); `except` keeps one.
pub async fn end_all(
    tx: &mut Tx,
    person: PersonId,
    except: Option<SessionId>,
    reason: &str,
    now: DateTime<Utc>,
) -> AppResult<u64> {
    Ok(on_tx!(tx, c => sqlx::query(
        "UPDATE sessions SET ended_at = $2, end_reason = $3
         WHERE person_id = $1 AND ended_at IS NULL AND ($4 IS NULL OR id <> $4)",
    ).bind(person).bind(now).bind(reason).bind(except)
    .execute(c).await.map(|r| r.rows_affected()))?)
}

pub async fn list_live(
    db: &Db,
    person: PersonId,
    now: DateTime<Utc>,
) -> AppResult<Vec<SessionSummary>> {
    Ok(on_db!(db, p => sqlx::query_as(
        "SELECT id, ip, user_agent, created_at, last_seen_at FROM sessions
         WHERE person_id = $1 AND ended_at IS NULL AND expires_at > $2 ORDER BY last_seen_at DESC LIMIT 50",
    ).bind(person).bind(now).fetch_all(p).await)?)
}

/// Removes sessions that ended more than `keep_days` ago (the audit log keeps their history).
pub async fn purge_ended(db: &Db, before: DateTime<Utc>) -> AppResult<u64> {
    Ok(on_db!(db, p => sqlx::query(
        "DELETE FROM sessions WHERE (ended_at IS NOT NULL AND ended_at < $1) OR expires_at < $1",
    ).bind(before).execute(p).await.map(|r| r.rows_affected()))?)
}

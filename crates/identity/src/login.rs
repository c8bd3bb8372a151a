//! Password login. Unknown accounts, wrong passwords, locked and deactivated accounts all get
//! the same answer after the same work (a hash check), so the answer tells nothing about which
//! accounts exist. Every attempt is audited.

use crate::{accounts, password, sessions};
use chrono::{DateTime, Duration, Utc};
use kernel::audit::{self, AuditEvent, Outcome, Who};
use kernel::{AppResult, AppState, PersonId, RequestMeta, SessionId, on_db};
use std::sync::OnceLock;

#[derive(Debug)]
pub struct LoginOutcome {
    pub person_id: PersonId,
    pub session_id: SessionId,
    pub token: String,
    pub locale: String,
    pub must_change_password: bool,
}

#[derive(Debug)]
pub enum LoginError {
    /// Wrong name or password, or the account cannot log in: one answer for all.
    InvalidCredentials,
    Other(kernel::AppError),
}

impl From<kernel::AppError> for LoginError {
    fn from(e: kernel::AppError) -> Self {
        Self::Other(e)
    }
}

fn dummy(state: &AppState) -> Result<&'static str, kernel::AppError> {
    static DUMMY: OnceLock<String> = OnceLock::new();
    if let Some(d) = DUMMY.get() {
        return Ok(d);
    }
    let h = password::dummy_hash(&state.config.password)?;
    Ok(DUMMY.get_or_init(|| h))
}

/// Checks an account name and password with the login rules (the same answer and work for
/// unknown accounts, failure counting and lockout, rehash when the parameters changed) and
/// audits a failure. Returns the account on success; the caller opens the session or issues
/// the tokens.
pub async fn check_password(
    state: &AppState,
    username: &str,
    pass: &str,
    meta: &RequestMeta,
) -> Result<PersonId, LoginError> {
    verify_account(state, username, pass, meta)
        .await
        .map(|a| a.person_id)
}

async fn verify_account(
    state: &AppState,
    username: &str,
    pass: &str,
    meta: &RequestMeta,
) -> Result<accounts::Account, LoginError> {
    let db = &state.db;
    let account = accounts::find_by_username(db, username).await?;
    let now = state.clock.now();
    let Some(account) = account else {
        // Same work as a real check.
        let _ = password::verify(state, pass.to_owned(), dummy(state)?.to_owned()).await?;
        audit_failure(state, None, username, meta, now, "unknown_account").await?;
        return Err(LoginError::InvalidCredentials);
    };
    let verified = password::verify(state, pass.to_owned(), account.password_hash.clone()).await?;
    let locked = account.locked_until.is_some_and(|t| t > now);
    if !account.person_active || locked || !verified.ok {
        let reason = if !account.person_active {
            "deactivated"
        } else if locked {
            "locked"
        } else {
            "wrong_password"
        };
        if reason == "wrong_password" {
            record_failure(state, account.person_id, account.failed_logins, now).await?;
        }
        audit_failure(state, Some(account.person_id), username, meta, now, reason).await?;
        return Err(LoginError::InvalidCredentials);
    }

    if verified.needs_rehash {
        let h = password::hash(state, pass.to_owned()).await?;
        on_db!(db, c => sqlx::query("UPDATE accounts SET password_hash = $2 WHERE person_id = $1")
            .bind(account.person_id).bind(h).execute(c).await.map(|r| r.rows_affected()))
        .map_err(kernel::AppError::from)?;
    }
    Ok(account)
}

/// Password login: checks the password ([`check_password`]) and opens a session.
pub async fn login(
    state: &AppState,
    username: &str,
    pass: &str,
    meta: &RequestMeta,
) -> Result<LoginOutcome, LoginError> {
    let account = verify_account(state, username, pass, meta).await?;
    let now = state.clock.now();
    // Read before the write transaction: it holds SQLite's one write lock.
    let org = org_of(state, account.person_id).await?;
    let mut tx = state.db.begin().await?;
    kernel::on_tx!(&mut tx, c => sqlx::query(
        "UPDATE accounts SET failed_logins = 0, locked_until = NULL, last_login_at = $2 WHERE person_id = $1",
    ).bind(account.person_id).bind(now).execute(c).await.map(|r| r.rows_affected())).map_err(kernel::AppError::from)?;
    let (session_id, token) =
        sessions::create(&mut tx, &state.config, account.person_id, meta, now).await?;
    audit::record(
        &mut tx,
        now,
        Who {
            id: Some(account.person_id),
            name: Some(&account.username),
        },
        meta,
        AuditEvent::new("auth.login")
            .object("session", session_id)
            .node(org),
    )
    .await?;
    tx.commit().await?;
    Ok(LoginOutcome {
        person_id: account.person_id,
        session_id,
        token,
        locale: account.locale,
        must_change_password: account.must_change_password,
    })
}

async fn org_of(state: &AppState, person: PersonId) -> AppResult<kernel::NodeId> {
    let row: (kernel::NodeId,) = on_db!(&state.db, p => sqlx::query_as("SELECT org_id FROM persons WHERE id = $1")
        .bind(person).fetch_one(p).await)?;
    Ok(row.0)
}

/// Counts a failure; at the threshold the account is locked for the configured minutes.
async fn record_failure(
    state: &AppState,
    person: PersonId,
    failures: i64,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let failures = failures + 1;
    let lock = (failures >= i64::from(state.config.lockout_threshold))
        .then(|| now + Duration::minutes(i64::from(state.config.lockout_minutes)));
    let failures = if lock.is_some() { 0 } else { failures };
    on_db!(&state.db, p => sqlx::query("UPDATE accounts SET failed_logins = $2, locked_until = COALESCE($3, locked_until) WHERE person_id = $1")
        .bind(person).bind(failures).bind(lock).execute(p).await.map(|r| r.rows_affected()))?;
    Ok(())
}

async fn audit_failure(
    state: &AppState,
    person: Option<PersonId>,
    username: &str,
    meta: &RequestMeta,
    now: DateTime<Utc>,
    reason: &str,
) -> AppResult<()> {
    let node = match person {
        Some(p) => Some(org_of(state, p).await?),
        None => None,
    };
    let mut ev = AuditEvent::new("auth.login_failed")
        .outcome(Outcome::Failure)
        .detail(serde_json::json!({ "reason": reason, "username": accounts::normalize_username(username) }));
    ev.node_id = node;
    if let Some(p) = person {
        ev = ev.object("person", p);
    }
    audit::record_alone(
        &state.db,
        now,
        Who {
            id: person,
            name: None,
        },
        meta,
        ev,
    )
    .await
}

/// Ends a session (logout) with its audit record.
pub async fn logout(
    state: &AppState,
    actor: &kernel::Actor,
    session: SessionId,
    meta: &RequestMeta,
) -> AppResult<()> {
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    sessions::end(&mut tx, session, "logout", now).await?;
    audit::record(
        &mut tx,
        now,
        Who::from(actor),
        meta,
        AuditEvent::new("auth.logout")
            .object("session", session)
            .node(actor.org_id),
    )
    .await?;
    tx.commit().await
}

/// Changes the actor's own password after checking the current one; ends their other sessions.
pub async fn change_password(
    state: &AppState,
    actor: &kernel::Actor,
    current_session: Option<SessionId>,
    current: &str,
    new: &str,
    meta: &RequestMeta,
) -> AppResult<()> {
    let Some(account) = accounts::find_by_person(&state.db, actor.person_id).await? else {
        return Err(kernel::AppError::NotFound("identity.account_not_found"));
    };
    if !password::verify(state, current.to_owned(), account.password_hash)
        .await?
        .ok
    {
        return Err(kernel::AppError::field(
            "current_password",
            "error.wrong_password",
        ));
    }
    password::check_strength(new).map_err(|k| kernel::AppError::field("new_password", k))?;
    if new == current {
        return Err(kernel::AppError::field(
            "new_password",
            "error.password_unchanged",
        ));
    }
    let h = password::hash(state, new.to_owned()).await?;
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    accounts::set_password(&mut tx, actor.person_id, &h, false, now).await?;
    let ended = sessions::end_all(
        &mut tx,
        actor.person_id,
        current_session,
        "password_changed",
        now,
    )
    .await?;
    audit::record(
        &mut tx,
        now,
        Who::from(actor),
        meta,
        AuditEvent::new("auth.password_change")
            .object("person", actor.person_id)
            .node(actor.org_id)
            .detail(serde_json::json!({ "sessions_ended": ended })),
    )
    .await?;
    tx.commit().await
}

/// One of a person's recent logins or failed login attempts, from the audit log.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LoginEvent {
    pub at: DateTime<Utc>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub action: String,
}

impl LoginEvent {
    pub fn succeeded(&self) -> bool {
        self.action == "auth.login"
    }
}

/// The person's latest logins and failed attempts, newest first, so they can spot one that was
/// not theirs.
pub async fn recent_logins(
    state: &AppState,
    person: PersonId,
    limit: i64,
) -> AppResult<Vec<LoginEvent>> {
    Ok(on_db!(&state.db, p => sqlx::query_as(
        "SELECT at, ip, user_agent, action FROM audit_log
         WHERE actor_id = $1 AND action IN ('auth.login', 'auth.login_failed')
         ORDER BY at DESC LIMIT $2",
    ).bind(person).bind(limit).fetch_all(p).await)?)
}

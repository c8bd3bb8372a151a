//! Password login. Unknown accounts, wrong passwords, locked and deactivated accounts all get
//! the same answer after the same work (a hash check), so the answer tells nothing about which
//! accounts exist. Every attempt is audited.

use crate::policy::{self, Policy, Profile};
use crate::{accounts, mfa, passkey, password, sessions, throttle};
use chrono::{DateTime, Duration, Utc};
use kernel::audit::{self, AuditEvent, Outcome, Who};
use kernel::{AppResult, AppState, NodeId, PersonId, RequestMeta, SessionId, on_db};
use std::sync::{Arc, OnceLock};

#[derive(Debug)]
pub struct LoginOutcome {
    pub person_id: PersonId,
    pub session_id: SessionId,
    pub token: String,
    pub locale: String,
    pub must_change_password: bool,
    /// The session is kept on this device this many days (its cookie outlives the browser).
    pub remembered_days: Option<u32>,
}

#[derive(Debug)]
pub enum LoginError {
    /// Wrong name or password, or the account cannot log in: one answer for all.
    InvalidCredentials,
    /// Too many failures for this account or from this address: wait until then. Unknown
    /// account names are throttled exactly like real ones, so this tells nothing either.
    Throttled(DateTime<Utc>),
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

/// An account whose password checked out, with the policy it logs in under.
pub struct Verified {
    pub account: accounts::Account,
    pub policy: Arc<Policy>,
    /// The school network the login came from, if any.
    pub network: Option<ipnet::IpNet>,
    /// The password is older than the policy allows: it must be changed now.
    pub expired: bool,
    /// The upstream provider that vouched for the person (no password was used), by name.
    pub upstream: Option<String>,
    /// The person asked to be kept signed in on this device; the policy and their roles decide.
    pub remember: bool,
    /// The account key may have counted failures, which the completed login clears.
    pub clear_failures: bool,
}

impl Verified {
    fn attempt<'a>(&'a self, meta: &'a RequestMeta) -> throttle::Attempt<'a> {
        throttle::Attempt {
            subject: &self.account.username,
            ip: meta.ip.as_deref(),
            policy: &self.policy,
            network: self.network,
        }
    }
}

/// Checks a login identifier and password with the login rules (the same answer and work for
/// unknown accounts, throttling per account and address, rehash when the parameters changed)
/// and audits a failure. Returns the account on success; the caller opens the session or
/// issues the tokens.
pub async fn check_password(
    state: &AppState,
    identifier: &str,
    pass: &str,
    meta: &RequestMeta,
) -> Result<PersonId, LoginError> {
    verify_account(state, identifier, pass, meta)
        .await
        .map(|v| v.account.person_id)
}

pub async fn verify_account(
    state: &AppState,
    identifier: &str,
    pass: &str,
    meta: &RequestMeta,
) -> Result<Verified, LoginError> {
    let db = &state.db;
    let account = accounts::find_for_login(db, identifier).await?;
    let person = account.as_ref().map(|a| a.person_id);
    let node = account.as_ref().map(|a| a.org_id);
    let policy = match node {
        Some(n) => policy::effective(state, n).await?,
        None => Arc::new(Policy::preset(Profile::Mlps, &state.config)),
    };
    let subject = account.as_ref().map_or_else(
        || accounts::normalize_username(identifier),
        |a| a.username.clone(),
    );
    let network = policy::school_network(state, meta.ip.as_deref()).await?;
    let attempt = throttle::Attempt {
        subject: &subject,
        ip: meta.ip.as_deref(),
        policy: &policy,
        network,
    };
    let now = state.clock.now();
    let keys = throttle::keys(db, &attempt, now).await?;
    if let Some((block, until)) = keys.block {
        // No hash check: the refusal is the same for known and unknown names.
        let mut tx = db.begin().await?;
        audit_failure(&mut tx, (person, node), &subject, meta, now, block.reason()).await?;
        tx.commit().await?;
        return Err(LoginError::Throttled(until));
    }
    let phc = account.as_ref().map_or_else(
        || dummy(state).map(str::to_owned),
        |a| Ok(a.password_hash.clone()),
    )?;
    let verified = password::verify(state, pass.to_owned(), phc).await?;
    let reason = match &account {
        None => Some("unknown_account"),
        Some(a) if !a.person_active => Some("deactivated"),
        Some(_) if !verified.ok => Some("wrong_password"),
        Some(_) => None,
    };
    if let Some(reason) = reason {
        let mut tx = db.begin().await?;
        let effects = if reason == "deactivated" {
            throttle::Effects::default()
        } else {
            throttle::record_failure(&mut tx, &state.config, &attempt, now).await?
        };
        audit_failure(&mut tx, (person, node), &subject, meta, now, reason).await?;
        audit_effects(&mut tx, &effects, &attempt, (person, node), meta, now).await?;
        tx.commit().await?;
        return Err(LoginError::InvalidCredentials);
    }
    let Some(account) = account else {
        return Err(LoginError::InvalidCredentials);
    };

    if verified.needs_rehash {
        let h = password::hash(state, pass.to_owned()).await?;
        on_db!(db, c => sqlx::query("UPDATE accounts SET password_hash = $2 WHERE person_id = $1")
            .bind(account.person_id).bind(h).execute(c).await.map(|r| r.rows_affected()))
        .map_err(kernel::AppError::from)?;
    }
    let expired = policy.profile == Profile::Mlps
        && policy
            .expiry_days
            .is_some_and(|d| now - account.password_set_at >= Duration::days(i64::from(d)));
    Ok(Verified {
        account,
        policy,
        network,
        expired,
        upstream: None,
        remember: false,
        clear_failures: keys.account_counted,
    })
}

/// Password login: checks the password ([`verify_account`]) and opens a session.
pub async fn login(
    state: &AppState,
    identifier: &str,
    pass: &str,
    meta: &RequestMeta,
) -> Result<LoginOutcome, LoginError> {
    let v = verify_account(state, identifier, pass, meta).await?;
    Ok(open_session(state, &v, "pwd", meta).await?)
}

/// Opens the session of a verified login (after its second factor, if any) and audits it.
pub async fn open_session(
    state: &AppState,
    v: &Verified,
    amr: &str,
    meta: &RequestMeta,
) -> AppResult<LoginOutcome> {
    let mut tx = state.db.begin().await?;
    let out = open_session_in(&mut tx, state, v, amr, meta).await?;
    tx.commit().await?;
    Ok(out)
}

/// [`open_session`] inside the caller's transaction (with what else the login used up).
async fn open_session_in(
    tx: &mut kernel::Tx,
    state: &AppState,
    v: &Verified,
    amr: &str,
    meta: &RequestMeta,
) -> AppResult<LoginOutcome> {
    let account = &v.account;
    let now = state.clock.now();
    let org = v.account.org_id;
    // Only a complete login (second factor included) clears the failure counter.
    if v.clear_failures {
        throttle::record_success(tx, &v.attempt(meta)).await?;
    }
    kernel::on_tx!(tx, c => sqlx::query(
        "UPDATE accounts SET last_login_at = $2, must_change_password = must_change_password OR $3
         WHERE person_id = $1",
    ).bind(account.person_id).bind(now).bind(v.expired).execute(c).await.map(|r| r.rows_affected()))?;
    let remembered_days = remembered_days(tx, v).await?;
    let limits = match remembered_days {
        Some(days) => sessions::Limits {
            idle_minutes: days * 24 * 60,
            absolute_hours: days * 24,
            remembered: true,
        },
        None => sessions::Limits {
            idle_minutes: v.policy.idle_minutes,
            absolute_hours: v.policy.absolute_hours,
            remembered: false,
        },
    };
    let (session_id, token) =
        sessions::create(tx, limits, account.person_id, amr, meta, now).await?;
    audit::record(
        tx,
        now,
        Who {
            id: Some(account.person_id),
            name: Some(&account.username),
        },
        meta,
        AuditEvent::new("auth.login")
            .object("session", session_id)
            .node(org)
            .detail(serde_json::json!({ "amr": amr, "upstream": v.upstream, "remembered_days": remembered_days })),
    )
    .await?;
    Ok(LoginOutcome {
        person_id: account.person_id,
        session_id,
        token,
        locale: account.locale.clone(),
        // A login through an upstream provider used no password here, so it cannot be made
        // to change one (the person may not know it).
        must_change_password: v.upstream.is_none() && (account.must_change_password || v.expired),
        remembered_days,
    })
}

/// How many days the login's session is kept on the device: what the policy allows, if the
/// person asked for it and administers nothing (read in the login's transaction).
async fn remembered_days(tx: &mut kernel::Tx, v: &Verified) -> AppResult<Option<u32>> {
    let days = v.policy.remember_days;
    if !v.remember || days == 0 {
        return Ok(None);
    }
    let (admin,): (i64,) = kernel::on_tx!(tx, c => sqlx::query_as(
        "SELECT COUNT(*) FROM role_assignments WHERE person_id = $1 AND role = 'admin'",
    ).bind(v.account.person_id).fetch_one(c).await)?;
    Ok((admin == 0).then_some(days))
}

pub(crate) async fn org_of(state: &AppState, person: PersonId) -> AppResult<kernel::NodeId> {
    let row: (kernel::NodeId,) = on_db!(&state.db, p => sqlx::query_as("SELECT org_id FROM persons WHERE id = $1")
        .bind(person).fetch_one(p).await)?;
    Ok(row.0)
}

/// Audits what a failure set off: a lock of the account key, a credential-stuffing pattern.
async fn audit_effects(
    tx: &mut kernel::Tx,
    effects: &throttle::Effects,
    attempt: &throttle::Attempt<'_>,
    (person, node): (Option<PersonId>, Option<NodeId>),
    meta: &RequestMeta,
    now: DateTime<Utc>,
) -> AppResult<()> {
    if let Some(until) = effects.account_blocked {
        let mut ev = AuditEvent::new("auth.lockout")
            .outcome(Outcome::Failure)
            .detail(serde_json::json!({
                "username": attempt.subject, "until": until,
                "profile": attempt.policy.profile.as_str(),
            }));
        ev.node_id = node;
        if let Some(p) = person {
            ev = ev.object("person", p);
        }
        let who = Who {
            id: person,
            name: None,
        };
        audit::record(tx, now, who, meta, ev).await?;
    }
    if effects.stuffing {
        let ev = AuditEvent::new("auth.credential_stuffing")
            .outcome(Outcome::Failure)
            .detail(serde_json::json!({
                "address": meta.ip, "accounts": throttle::STUFFING_ACCOUNTS,
                "minutes": throttle::WINDOW_MINUTES, "blocked_until": effects.address_blocked,
            }));
        let who = Who {
            id: None,
            name: None,
        };
        audit::record(tx, now, who, meta, ev).await?;
        tracing::warn!(address = ?meta.ip, "credential stuffing detected");
    }
    Ok(())
}

pub(crate) async fn audit_failure(
    tx: &mut kernel::Tx,
    (person, node): (Option<PersonId>, Option<NodeId>),
    username: &str,
    meta: &RequestMeta,
    now: DateTime<Utc>,
    reason: &str,
) -> AppResult<()> {
    let mut ev = AuditEvent::new("auth.login_failed")
        .outcome(Outcome::Failure)
        .detail(serde_json::json!({
            "reason": reason,
            // What a stranger typed: kept short, it is shown and exported.
            "username": username.chars().take(64).collect::<String>(),
        }));
    ev.node_id = node;
    if let Some(p) = person {
        ev = ev.object("person", p);
    }
    audit::record(
        tx,
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

/// Why a second-factor step did not log the person in.
#[derive(Debug)]
pub enum MfaError {
    /// The code was wrong; `retry` says whether this pending login may try again.
    Wrong {
        retry: bool,
    },
    /// No such pending login, or it expired: start again with the password.
    Expired,
    Throttled(DateTime<Utc>),
    Other(kernel::AppError),
}

impl From<kernel::AppError> for MfaError {
    fn from(e: kernel::AppError) -> Self {
        Self::Other(e)
    }
}

/// Where a pending login goes once complete.
#[derive(serde::Serialize, serde::Deserialize)]
struct Pending {
    next: String,
    expired: bool,
    #[serde(default)]
    upstream: Option<String>,
    #[serde(default)]
    remember: bool,
}

/// After the password: a login whose person has a second factor waits for it. Returns the
/// token for the pending login's cookie.
pub async fn await_second_factor(state: &AppState, v: &Verified, next: &str) -> AppResult<String> {
    let pending = serde_json::to_string(&Pending {
        next: next.to_owned(),
        expired: v.expired,
        upstream: v.upstream.clone(),
        remember: v.remember,
    })
    .map_err(kernel::AppError::internal)?;
    let mut tx = state.db.begin().await?;
    let token = mfa::open_challenge(
        &mut tx,
        Some(v.account.person_id),
        "mfa",
        &pending,
        state.clock.now(),
    )
    .await?;
    tx.commit().await?;
    Ok(token)
}

/// The person of a live pending login, for the passkey step.
pub async fn pending_person(state: &AppState, token: &str) -> AppResult<Option<PersonId>> {
    Ok(
        mfa::find_challenge(&state.db, token, "mfa", state.clock.now())
            .await?
            .and_then(|c| c.person_id),
    )
}

/// A verified login of a person that has passed its password step (or holds a session), for
/// the second-factor checks.
async fn verified_person(
    state: &AppState,
    person: PersonId,
    expired: bool,
    upstream: Option<String>,
    meta: &RequestMeta,
) -> Result<Verified, MfaError> {
    let Some(account) = accounts::find_by_person(&state.db, person).await? else {
        return Err(MfaError::Expired);
    };
    let org = account.org_id;
    Ok(Verified {
        policy: policy::effective(state, org).await?,
        network: policy::school_network(state, meta.ip.as_deref()).await?,
        account,
        expired,
        upstream,
        remember: false,
        clear_failures: true,
    })
}

/// Checks a code inside `tx`: a wrong one counts as a failed login of the account (and may
/// lock it) and is audited; a recovery code's use is audited. Throttled accounts are refused
/// before the code is looked at.
async fn check_code(
    state: &AppState,
    tx: &mut kernel::Tx,
    v: &Verified,
    code: &str,
    meta: &RequestMeta,
) -> Result<bool, MfaError> {
    let now = state.clock.now();
    let person = v.account.person_id;
    let who = Who {
        id: Some(person),
        name: Some(&v.account.username),
    };
    let attempt = v.attempt(meta);
    if let Some((_, until)) = throttle::check(&state.db, &attempt, now).await? {
        return Err(MfaError::Throttled(until));
    }
    match mfa::verify(tx, person, code, now).await? {
        Some(proof) => {
            if proof == mfa::Proof::RecoveryCode {
                let ev = AuditEvent::new("auth.recovery_code_used")
                    .object("person", person)
                    .node(v.account.org_id);
                audit::record(tx, now, who, meta, ev).await?;
            }
            Ok(true)
        }
        None => {
            let effects = throttle::record_failure(tx, &state.config, &attempt, now).await?;
            let ids = (Some(person), Some(v.account.org_id));
            audit_effects(tx, &effects, &attempt, ids, meta, now).await?;
            let ev = AuditEvent::new("auth.mfa_failed")
                .outcome(Outcome::Failure)
                .object("person", person)
                .node(v.account.org_id);
            audit::record(tx, now, who, meta, ev).await?;
            Ok(false)
        }
    }
}

/// The second step: a TOTP or recovery code for the pending login. Wrong codes count as login
/// failures of the account, so guessing codes is throttled like guessing passwords.
pub async fn second_factor(
    state: &AppState,
    token: &str,
    code: &str,
    meta: &RequestMeta,
) -> Result<(LoginOutcome, String), MfaError> {
    let (ch, next, v) = pending_of(state, token, meta).await?;
    let mut tx = state.db.begin().await?;
    if check_code(state, &mut tx, &v, code, meta).await? {
        complete(state, tx, ch, &v, "otp", next, meta).await
    } else {
        let retry = mfa::failed_attempt(&mut tx, ch).await?;
        tx.commit().await?;
        Err(MfaError::Wrong { retry })
    }
}

/// The pending login behind a second-step token: its id, where it goes, and the verified
/// login it continues.
async fn pending_of(
    state: &AppState,
    token: &str,
    meta: &RequestMeta,
) -> Result<(uuid::Uuid, String, Verified), MfaError> {
    let now = state.clock.now();
    let Some(ch) = mfa::find_challenge(&state.db, token, "mfa", now).await? else {
        return Err(MfaError::Expired);
    };
    let person = ch.person_id.ok_or(MfaError::Expired)?;
    let pending: Pending = serde_json::from_str(ch.state.as_deref().unwrap_or_default())
        .map_err(kernel::AppError::internal)?;
    let mut v = verified_person(state, person, pending.expired, pending.upstream, meta).await?;
    v.remember = pending.remember;
    Ok((ch.id, pending.next, v))
}

/// Closes a pending login whose second step passed (`second`: its `amr`) and opens the session.
async fn complete(
    state: &AppState,
    mut tx: kernel::Tx,
    challenge: uuid::Uuid,
    v: &Verified,
    second: &str,
    next: String,
    meta: &RequestMeta,
) -> Result<(LoginOutcome, String), MfaError> {
    if !mfa::close_challenge(&mut tx, challenge).await? {
        // Another request completed this pending login first.
        return Err(MfaError::Expired);
    }
    // The code (or recovery code) used up and the session it opened: one transaction.
    let first = if v.upstream.is_some() { "fed" } else { "pwd" };
    let out = open_session_in(&mut tx, state, v, &format!("{first} {second}"), meta).await?;
    tx.commit().await?;
    Ok((out, next))
}

/// The second step with a passkey instead of a code. A failed assertion uses up one of the
/// pending login's attempts and is audited (it cannot be guessed, so it does not lock the
/// account).
pub async fn passkey_second_factor(
    state: &AppState,
    token: &str,
    ceremony: &str,
    credential: &passkey::PublicKeyCredential,
    meta: &RequestMeta,
) -> Result<(LoginOutcome, String), MfaError> {
    let (ch, next, v) = pending_of(state, token, meta).await?;
    let person = v.account.person_id;
    let proved = passkey::finish_second_factor(state, person, ceremony, credential).await?;
    let mut tx = state.db.begin().await?;
    if proved {
        complete(state, tx, ch, &v, "hwk", next, meta).await
    } else {
        let retry = mfa::failed_attempt(&mut tx, ch).await?;
        let now = state.clock.now();
        let who = Who {
            id: Some(person),
            name: Some(&v.account.username),
        };
        let ev = AuditEvent::new("auth.mfa_failed")
            .outcome(Outcome::Failure)
            .object("person", person)
            .node(v.account.org_id)
            .detail(serde_json::json!({ "factor": "passkey" }));
        audit::record(&mut tx, now, who, meta, ev).await?;
        tx.commit().await?;
        Err(MfaError::Wrong { retry })
    }
}

/// A passwordless login with a discoverable passkey (which verified its user: two factors in
/// one). A failed assertion is audited; it tells nothing about which accounts exist.
pub async fn passwordless(
    state: &AppState,
    ceremony: &str,
    credential: &passkey::PublicKeyCredential,
    meta: &RequestMeta,
) -> Result<LoginOutcome, LoginError> {
    let now = state.clock.now();
    let person = passkey::finish_passwordless(state, ceremony, credential).await?;
    let v = match person {
        Some(p) => match verified_person(state, p, false, None, meta).await {
            Ok(v) if v.account.person_active => Some(v),
            Ok(_) | Err(MfaError::Expired) => None,
            Err(MfaError::Other(e)) => return Err(e.into()),
            Err(_) => None,
        },
        None => None,
    };
    let Some(v) = v else {
        let mut tx = state.db.begin().await?;
        audit_failure(&mut tx, (person, None), "", meta, now, "passkey_failed").await?;
        tx.commit().await?;
        return Err(LoginError::InvalidCredentials);
    };
    Ok(open_session(state, &v, "hwk", meta).await?)
}

/// A signed-in person proves their second factor again before changing it (new recovery codes,
/// turning it off). Wrong codes count as failed logins of the account, so someone at a borrowed
/// session cannot guess their way to turning it off. The caller makes the change in `tx` after
/// `Ok(true)`; a wrong code's records are committed here.
pub async fn reprove_second_factor(
    state: &AppState,
    person: PersonId,
    code: &str,
    meta: &RequestMeta,
) -> Result<Option<kernel::Tx>, MfaError> {
    let v = verified_person(state, person, false, None, meta).await?;
    let mut tx = state.db.begin().await?;
    if check_code(state, &mut tx, &v, code, meta).await? {
        Ok(Some(tx))
    } else {
        tx.commit().await?;
        Ok(None)
    }
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
/// A person's name, ID number and phone, which a new password may not contain.
pub async fn personal_data(
    db: &kernel::Db,
    person: kernel::PersonId,
) -> AppResult<(String, Option<String>, Option<String>)> {
    let row: Option<(String, Option<String>, Option<String>)> = kernel::on_db!(db, c => sqlx::query_as(
        "SELECT name, id_number, phone FROM persons WHERE id = $1",
    ).bind(person).fetch_optional(c).await)?;
    Ok(row.unwrap_or_default())
}

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
    let policy = policy::effective(state, actor.org_id).await?;
    let (name, id_number, phone) = personal_data(&state.db, actor.person_id).await?;
    let about = crate::strength::About {
        username: &account.username,
        name: Some(&name),
        id_number: id_number.as_deref(),
        phone: phone.as_deref(),
    };
    policy
        .check_new_password(new, &about)
        .map_err(|k| kernel::AppError::field("new_password", k))?;
    if new == current {
        return Err(kernel::AppError::field(
            "new_password",
            "error.password_unchanged",
        ));
    }
    if policy.profile == Profile::Mlps && policy.history > 0 {
        for old in accounts::password_history(&state.db, actor.person_id, policy.history).await? {
            if password::verify(state, new.to_owned(), old).await?.ok {
                return Err(kernel::AppError::field(
                    "new_password",
                    "error.password_reused",
                ));
            }
        }
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

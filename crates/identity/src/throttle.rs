//! Login throttling (docs/login-security.md). Failures are counted under two kinds of key:
//!
//! - **account + origin**: the account name (as typed when no such account exists, so unknown
//!   names behave exactly like real ones) and where the attempts came from: one of the region's
//!   trusted school networks, or `*` for anywhere else. The MLPS profile locks the key for
//!   `lockout_minutes` after `lockout_threshold` failures; the modern profile makes each attempt
//!   after the third wait twice as long as the one before. Failures from the internet therefore
//!   never lock a pupil out of the classroom, and a classmate's guesses never lock them out at home.
//! - **address**: outside trusted networks, an address with [`ADDRESS_LIMIT`] failures within
//!   [`WINDOW_MINUTES`] waits out the window. Trusted networks have no address key, so a whole
//!   school behind one address is never locked out together.
//!
//! Credential stuffing (failures for [`STUFFING_ACCOUNTS`] distinct accounts from one address
//! within [`WINDOW_MINUTES`]) blocks an untrusted address for [`STUFFING_BLOCK_MINUTES`] and is
//! audited; from a trusted network it is audited only.

use crate::policy::{Policy, Profile};
use chrono::{DateTime, Duration, Utc};
use ipnet::IpNet;
use kernel::{AppResult, Config, Db, Tx, on_db, on_tx};

/// Failures from one untrusted address within the window before it must wait.
pub const ADDRESS_LIMIT: i64 = 100;
/// Distinct accounts failing from one address within the window that mean credential stuffing.
pub const STUFFING_ACCOUNTS: i64 = 20;
pub const STUFFING_BLOCK_MINUTES: i64 = 60;
pub const WINDOW_MINUTES: i64 = 15;
/// A failure counter starts again after a quiet day.
const RESET_HOURS: i64 = 24;
/// The modern profile's longest delay.
const MODERN_MAX_DELAY_SECONDS: i64 = 15 * 60;

/// One login attempt's keys.
pub struct Attempt<'a> {
    /// The account name, or the normalized identifier when no account matched.
    pub subject: &'a str,
    pub ip: Option<&'a str>,
    pub policy: &'a Policy,
    /// The trusted school network the address belongs to ([`crate::policy::school_network`]).
    pub network: Option<IpNet>,
}

impl Attempt<'_> {
    fn origin(&self) -> String {
        self.network
            .map_or_else(|| "*".to_owned(), |n| n.to_string())
    }

    /// The address key, for addresses outside the trusted networks. A loopback address is a
    /// reverse proxy on this machine whose forwarded addresses are not trusted
    /// (no `trusted_proxies`): blocking it would lock everybody out, so it has none.
    fn address(&self) -> Option<&str> {
        let loopback = self
            .ip
            .and_then(|ip| ip.parse::<std::net::IpAddr>().ok())
            .is_some_and(|ip| ip.is_loopback());
        if self.network.is_some() || loopback {
            None
        } else {
            self.ip
        }
    }
}

/// Why an attempt was refused before the password was checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Block {
    /// The account key is locked (MLPS) or waiting (modern).
    Account,
    /// The address made too many failed attempts, or tried too many accounts.
    Address,
}

impl Block {
    pub fn reason(self) -> &'static str {
        match self {
            Self::Account => "locked",
            Self::Address => "address_blocked",
        }
    }
}

/// Whether the attempt must wait, and until when.
pub async fn check(
    db: &Db,
    a: &Attempt<'_>,
    now: DateTime<Utc>,
) -> AppResult<Option<(Block, DateTime<Utc>)>> {
    Ok(keys(db, a, now).await?.block)
}

/// What an attempt's keys hold now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keys {
    /// The attempt must wait until then.
    pub block: Option<(Block, DateTime<Utc>)>,
    /// The account key has counted failures (a successful login clears them).
    pub account_counted: bool,
}

/// Reads both keys of an attempt (the account's from its origin, the address's) at once.
pub async fn keys(db: &Db, a: &Attempt<'_>, now: DateTime<Utc>) -> AppResult<Keys> {
    let origin = a.origin();
    let rows: Vec<(String, Option<DateTime<Utc>>)> = on_db!(db, c => sqlx::query_as(
        "SELECT kind, blocked_until FROM login_throttle
         WHERE (kind = 'account' AND subject = $1 AND origin = $2)
            OR (kind = 'address' AND subject = $3 AND origin = '*')",
    ).bind(a.subject).bind(&origin).bind(a.address()).fetch_all(c).await)?;
    let blocked = |kind: &str| {
        rows.iter()
            .filter(|r| r.0 == kind)
            .find_map(|r| r.1.filter(|t| *t > now))
    };
    let block = blocked("account")
        .map(|until| (Block::Account, until))
        .or_else(|| blocked("address").map(|until| (Block::Address, until)));
    Ok(Keys {
        block,
        account_counted: rows.iter().any(|r| r.0 == "account"),
    })
}

/// What a failure set off.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Effects {
    /// The account key is now locked or delayed until then.
    pub account_blocked: Option<DateTime<Utc>>,
    /// The failure completed a credential-stuffing pattern (reported once per pattern).
    pub stuffing: bool,
    /// The address is now blocked until then.
    pub address_blocked: Option<DateTime<Utc>>,
}

/// Counts a failed attempt under its keys.
pub async fn record_failure(
    tx: &mut Tx,
    config: &Config,
    a: &Attempt<'_>,
    now: DateTime<Utc>,
) -> AppResult<Effects> {
    let mut effects = Effects::default();
    let origin = a.origin();
    let failures = bump(tx, "account", a.subject, &origin, now).await?;
    let block = match a.policy.profile {
        Profile::Mlps => (failures >= i64::from(config.lockout_threshold))
            .then(|| now + Duration::minutes(i64::from(config.lockout_minutes))),
        Profile::Modern => (failures >= 3).then(|| {
            let secs = 1_i64 << (failures - 3).clamp(0, 20);
            now + Duration::seconds(secs.min(MODERN_MAX_DELAY_SECONDS))
        }),
    };
    if let Some(until) = block {
        // MLPS counts afresh after a lock; the modern delays keep growing.
        let reset = a.policy.profile == Profile::Mlps;
        set_block(tx, "account", a.subject, &origin, until, reset).await?;
        effects.account_blocked = Some(until);
    }

    let Some(ip) = a.ip else { return Ok(effects) };
    on_tx!(tx, c => sqlx::query("INSERT INTO login_failures (address, username, at) VALUES ($1, $2, $3)")
        .bind(ip).bind(a.subject).bind(now).execute(c).await.map(|r| r.rows_affected()))?;
    let since = now - Duration::minutes(WINDOW_MINUTES);
    // Distinct accounts tried from the address, and this account's failures among them.
    let (distinct, this_account): (i64, i64) = on_tx!(tx, c => sqlx::query_as(
        "SELECT COUNT(DISTINCT username), COUNT(CASE WHEN username = $3 THEN 1 END)
         FROM login_failures WHERE address = $1 AND at > $2",
    ).bind(ip).bind(since).bind(a.subject).fetch_one(c).await)?;
    // Reported when a new account completes the pattern, not on every later failure.
    effects.stuffing = distinct == STUFFING_ACCOUNTS && this_account == 1;

    if let Some(addr) = a.address() {
        let n = bump(tx, "address", addr, "*", now).await?;
        let until = if distinct >= STUFFING_ACCOUNTS {
            Some(now + Duration::minutes(STUFFING_BLOCK_MINUTES))
        } else {
            (n >= ADDRESS_LIMIT).then(|| now + Duration::minutes(WINDOW_MINUTES))
        };
        if let Some(until) = until {
            set_block(tx, "address", addr, "*", until, true).await?;
            effects.address_blocked = Some(until);
        }
    }
    Ok(effects)
}

/// Adds one failure to a key (starting afresh after a quiet day); returns the count.
async fn bump(
    tx: &mut Tx,
    kind: &str,
    subject: &str,
    origin: &str,
    now: DateTime<Utc>,
) -> AppResult<i64> {
    let quiet = now - Duration::hours(RESET_HOURS);
    let window = now - Duration::minutes(WINDOW_MINUTES);
    // Address keys count within the window; account keys until a quiet day or a success.
    let cutoff = if kind == "address" { window } else { quiet };
    let (n,): (i64,) = on_tx!(tx, c => sqlx::query_as(
        "INSERT INTO login_throttle (kind, subject, origin, failures, last_failure_at)
         VALUES ($1, $2, $3, 1, $4)
         ON CONFLICT (kind, subject, origin) DO UPDATE SET
             failures = CASE WHEN login_throttle.last_failure_at < $5 THEN 1 ELSE login_throttle.failures + 1 END,
             last_failure_at = excluded.last_failure_at
         RETURNING failures",
    ).bind(kind).bind(subject).bind(origin).bind(now).bind(cutoff).fetch_one(c).await)?;
    Ok(n)
}

async fn set_block(
    tx: &mut Tx,
    kind: &str,
    subject: &str,
    origin: &str,
    until: DateTime<Utc>,
    reset: bool,
) -> AppResult<()> {
    on_tx!(tx, c => sqlx::query(
        "UPDATE login_throttle SET blocked_until = $4,
             failures = CASE WHEN $5 THEN 0 ELSE failures END
         WHERE kind = $1 AND subject = $2 AND origin = $3",
    ).bind(kind).bind(subject).bind(origin).bind(until).bind(reset)
    .execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// A successful login clears its account key.
pub async fn record_success(tx: &mut Tx, a: &Attempt<'_>) -> AppResult<()> {
    let origin = a.origin();
    on_tx!(tx, c => sqlx::query("DELETE FROM login_throttle WHERE kind = 'account' AND subject = $1 AND origin = $2")
        .bind(a.subject).bind(origin).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Forgets an account's failures from every origin (its password was just set anew).
pub async fn clear_account(tx: &mut Tx, person: kernel::PersonId) -> AppResult<()> {
    on_tx!(tx, c => sqlx::query(
        "DELETE FROM login_throttle WHERE kind = 'account'
             AND subject = (SELECT username FROM accounts WHERE person_id = $1)",
    ).bind(person).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Forgets failures older than a day and blocks that have ended (the hourly job).
pub async fn purge(db: &Db, now: DateTime<Utc>) -> AppResult<u64> {
    let quiet = now - Duration::hours(RESET_HOURS);
    let a = on_db!(db, c => sqlx::query("DELETE FROM login_failures WHERE at < $1")
        .bind(quiet).execute(c).await.map(|r| r.rows_affected()))?;
    let b = on_db!(db, c => sqlx::query(
        "DELETE FROM login_throttle WHERE last_failure_at < $1 AND (blocked_until IS NULL OR blocked_until < $2)",
    ).bind(quiet).bind(now).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(a + b)
}

//! Accounts: one per person, found by username (issue #3 adds phone, e-mail and numbers).

use chrono::{DateTime, Utc};
use kernel::error::unique_violation;
use kernel::{AppResult, Db, PersonId, Tx, on_db, on_tx};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Account {
    pub person_id: PersonId,
    pub username: String,
    pub password_hash: String,
    pub must_change_password: bool,
    pub locale: String,
    pub last_login_at: Option<DateTime<Utc>>,
    /// When the password was last set (`created_at` for a password never changed).
    pub password_set_at: DateTime<Utc>,
    pub person_active: bool,
    /// The person's owning node.
    pub org_id: kernel::NodeId,
    /// The person has a confirmed authenticator app or a passkey: a login waits for it.
    pub second_factor: bool,
}

/// The columns of [`Account`], from `accounts a JOIN persons p` (one read for a login: the
/// account, its person's node and whether a second factor follows).
macro_rules! account_columns {
    () => {
        "a.person_id, a.username, a.password_hash, a.must_change_password, a.locale,
         a.last_login_at, COALESCE(a.password_changed_at, a.created_at) AS password_set_at,
         p.active AS person_active, p.org_id,
         (EXISTS (SELECT 1 FROM mfa_totp t WHERE t.person_id = a.person_id AND t.confirmed_at IS NOT NULL)
          OR EXISTS (SELECT 1 FROM webauthn_credentials w WHERE w.person_id = a.person_id)) AS second_factor"
    };
}

/// Usernames are case-insensitive: stored and looked up in lower case, trimmed.
pub fn normalize_username(s: &str) -> String {
    s.trim().to_lowercase()
}

pub async fn find_by_username(db: &Db, username: &str) -> AppResult<Option<Account>> {
    let u = normalize_username(username);
    Ok(on_db!(db, p => sqlx::query_as(
        concat!("SELECT ", account_columns!(),
                " FROM accounts a JOIN persons p ON p.id = a.person_id WHERE a.username = $1"),
    ).bind(u).fetch_optional(p).await)?)
}

/// The account a login identifier names: the account name, else a mainland mobile number,
/// an e-mail address or a student registry number that belongs to exactly one person.
pub async fn find_for_login(db: &Db, identifier: &str) -> AppResult<Option<Account>> {
    if let Some(a) = find_by_username(db, identifier).await? {
        return Ok(Some(a));
    }
    let id = identifier.trim();
    macro_rules! by {
        ($column:literal) => {
            concat!(
                "SELECT ",
                account_columns!(),
                " FROM persons p JOIN accounts a ON a.person_id = p.id WHERE p.",
                $column,
                " = $1 LIMIT 2"
            )
        };
    }
    let (sql, value) =
        if id.len() == 11 && id.starts_with('1') && id.bytes().all(|b| b.is_ascii_digit()) {
            (by!("phone"), id.to_owned())
        } else if id.contains('@') {
            (by!("email"), id.to_lowercase())
        } else if id.len() >= 10 && id.bytes().all(|b| b.is_ascii_alphanumeric()) {
            (by!("registry_no"), id.to_uppercase())
        } else {
            return Ok(None);
        };
    let mut rows: Vec<Account> =
        on_db!(db, p => sqlx::query_as(sql).bind(&value).fetch_all(p).await)?;
    // Two people with one number: the identifier names nobody in particular.
    Ok(if rows.len() == 1 { rows.pop() } else { None })
}

pub async fn find_by_person(db: &Db, person: PersonId) -> AppResult<Option<Account>> {
    Ok(on_db!(db, p => sqlx::query_as(
        concat!("SELECT ", account_columns!(),
                " FROM accounts a JOIN persons p ON p.id = a.person_id WHERE a.person_id = $1"),
    ).bind(person).fetch_optional(p).await)?)
}

/// Creates the account of a person inside the caller's transaction.
pub async fn create(
    tx: &mut Tx,
    person: PersonId,
    username: &str,
    password_hash: &str,
    must_change_password: bool,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let u = normalize_username(username);
    on_tx!(tx, c => sqlx::query(
        "INSERT INTO accounts (person_id, username, password_hash, must_change_password, created_at)
         VALUES ($1, $2, $3, $4, $5)",
    ).bind(person).bind(&u).bind(password_hash).bind(must_change_password).bind(now)
    .execute(c).await.map(|r| r.rows_affected()))
    .map_err(|e| unique_violation(e, "identity.username_taken", "username"))?;
    Ok(())
}

/// Sets a new password hash. The old one goes to the password history (the newest 24 kept for
/// the MLPS profile's reuse rule) and the account's throttle keys are cleared, so an
/// administrator's reset also unlocks it.
pub async fn set_password(
    tx: &mut Tx,
    person: PersonId,
    password_hash: &str,
    must_change_password: bool,
    now: DateTime<Utc>,
) -> AppResult<u64> {
    on_tx!(tx, c => sqlx::query(
        "INSERT INTO password_history (person_id, password_hash, set_at)
         SELECT person_id, password_hash, COALESCE(password_changed_at, created_at) FROM accounts
         WHERE person_id = $1",
    ).bind(person).execute(c).await.map(|r| r.rows_affected()))?;
    on_tx!(tx, c => sqlx::query(
        "DELETE FROM password_history WHERE person_id = $1 AND set_at NOT IN
             (SELECT set_at FROM password_history WHERE person_id = $1 ORDER BY set_at DESC LIMIT 24)",
    ).bind(person).execute(c).await.map(|r| r.rows_affected()))?;
    crate::throttle::clear_account(tx, person).await?;
    Ok(on_tx!(tx, c => sqlx::query(
        "UPDATE accounts SET password_hash = $2, must_change_password = $3, password_changed_at = $4
         WHERE person_id = $1",
    ).bind(person).bind(password_hash).bind(must_change_password).bind(now)
    .execute(c).await.map(|r| r.rows_affected()))?)
}

/// The newest `n` earlier password hashes of a person.
pub async fn password_history(db: &Db, person: PersonId, n: u32) -> AppResult<Vec<String>> {
    let rows: Vec<(String,)> = on_db!(db, c => sqlx::query_as(
        "SELECT password_hash FROM password_history WHERE person_id = $1 ORDER BY set_at DESC LIMIT $2",
    ).bind(person).bind(i64::from(n)).fetch_all(c).await)?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

pub async fn set_locale(db: &Db, person: PersonId, locale: &str) -> AppResult<()> {
    on_db!(db, p => sqlx::query("UPDATE accounts SET locale = $2 WHERE person_id = $1")
        .bind(person).bind(locale).execute(p).await.map(|r| r.rows_affected()))?;
    Ok(())
}

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
    pub failed_logins: i64,
    pub locked_until: Option<DateTime<Utc>>,
    pub last_login_at: Option<DateTime<Utc>>,
    pub person_active: bool,
}

/// Usernames are case-insensitive: stored and looked up in lower case, trimmed.
pub fn normalize_username(s: &str) -> String {
    s.trim().to_lowercase()
}

pub async fn find_by_username(db: &Db, username: &str) -> AppResult<Option<Account>> {
    let u = normalize_username(username);
    Ok(on_db!(db, p => sqlx::query_as(
        "SELECT a.person_id, a.username, a.password_hash, a.must_change_password, a.locale,
                a.failed_logins, a.locked_until, a.last_login_at, p.active AS person_active
         FROM accounts a JOIN persons p ON p.id = a.person_id WHERE a.username = $1",
    ).bind(u).fetch_optional(p).await)?)
}

pub async fn find_by_person(db: &Db, person: PersonId) -> AppResult<Option<Account>> {
    Ok(on_db!(db, p => sqlx::query_as(
        "SELECT a.person_id, a.username, a.password_hash, a.must_change_password, a.locale,
                a.failed_logins, a.locked_until, a.last_login_at, p.active AS person_active
         FROM accounts a JOIN persons p ON p.id = a.person_id WHERE a.person_id = $1",
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

pub async fn set_password(
    tx: &mut Tx,
    person: PersonId,
    password_hash: &str,
    must_change_password: bool,
    now: DateTime<Utc>,
) -> AppResult<u64> {
    Ok(on_tx!(tx, c => sqlx::query(
        "UPDATE accounts SET password_hash = $2, must_change_password = $3, password_changed_at = $4,
                failed_logins = 0, locked_until = NULL
         WHERE person_id = $1",
    ).bind(person).bind(password_hash).bind(must_change_password).bind(now)
    .execute(c).await.map(|r| r.rows_affected()))?)
}

pub async fn set_locale(db: &Db, person: PersonId, locale: &str) -> AppResult<()> {
    on_db!(db, p => sqlx::query("UPDATE accounts SET locale = $2 WHERE person_id = $1")
        .bind(person).bind(locale).execute(p).await.map(|r| r.rows_affected()))?;
    Ok(())
}

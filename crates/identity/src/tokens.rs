//! API tokens for `Authorization: Bearer …`. Shown once at creation; only the hash is stored.

use chrono::{DateTime, Utc};
use kernel::secret::{random_token, token_hash};
use kernel::{AppResult, Db, PersonId, TokenId, Tx, on_db, on_tx};

/// Tokens start with this prefix so they are recognisable in logs and secret scanners.
pub const PREFIX: &str = "jy_";

pub async fn create(
    tx: &mut Tx,
    person: PersonId,
    name: &str,
    expires_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> AppResult<(TokenId, String)> {
    let id = TokenId::new();
    let token = format!("{PREFIX}{}", random_token());
    on_tx!(tx, c => sqlx::query(
        "INSERT INTO api_tokens (id, person_id, name, token_hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
    ).bind(id).bind(person).bind(name).bind(token_hash(&token)).bind(now).bind(expires_at)
    .execute(c).await.map(|r| r.rows_affected()))?;
    Ok((id, token))
}

/// The person a live token belongs to.
pub async fn lookup(db: &Db, token: &str, now: DateTime<Utc>) -> AppResult<Option<PersonId>> {
    if !token.starts_with(PREFIX) {
        return Ok(None);
    }
    let row: Option<(PersonId,)> = on_db!(db, p => sqlx::query_as(
        "SELECT person_id FROM api_tokens
         WHERE token_hash = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2)",
    ).bind(token_hash(token)).bind(now).fetch_optional(p).await)?;
    Ok(row.map(|r| r.0))
}

pub async fn revoke_all(tx: &mut Tx, person: PersonId, now: DateTime<Utc>) -> AppResult<u64> {
    Ok(
        on_tx!(tx, c => sqlx::query("UPDATE api_tokens SET revoked_at = $2 WHERE person_id = $1 AND revoked_at IS NULL")
        .bind(person).bind(now).execute(c).await.map(|r| r.rows_affected()))?,
    )
}

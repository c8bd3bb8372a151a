//! The second factor: TOTP (RFC 6238, as in every authenticator app) with one-time recovery
//! codes, and the pending logins that wait for it. A TOTP code is accepted once: the last
//! accepted time step is stored and a code for it or an earlier step is refused.

use chrono::{DateTime, Duration, Utc};
use kernel::secret::{random_token, token_hash};
use kernel::{AppError, AppResult, Db, PersonId, Tx, on_db, on_tx};
use rand::RngCore;
use totp_rs::{Algorithm, Secret, TOTP};

const STEP: u64 = 30;
const DIGITS: usize = 6;
/// Codes one step either side are accepted (phone clocks drift).
const SKEW: u64 = 1;
pub const RECOVERY_CODES: usize = 10;
/// Wrong codes a pending login may try before it must start again with the password.
pub const MAX_ATTEMPTS: i64 = 5;
pub const CHALLENGE_MINUTES: i64 = 5;

/// A person's TOTP enrolment.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Totp {
    pub person_id: PersonId,
    pub secret: String,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub last_step: i64,
}

fn totp(secret_base32: &str) -> AppResult<TOTP> {
    let bytes = Secret::Encoded(secret_base32.to_owned())
        .to_bytes()
        .map_err(|e| AppError::internal(format!("stored TOTP secret unreadable: {e:?}")))?;
    TOTP::new(Algorithm::SHA1, DIGITS, 1, STEP, bytes)
        .map_err(|e| AppError::internal(format!("TOTP: {e}")))
}

/// The time step a code belongs to, if it is valid near `now` and newer than `after`.
pub fn matching_step(
    secret: &str,
    code: &str,
    now: DateTime<Utc>,
    after: i64,
) -> AppResult<Option<i64>> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    let t = totp(secret)?;
    let now = u64::try_from(now.timestamp()).map_err(AppError::internal)?;
    let current = now / STEP;
    for step in current.saturating_sub(SKEW)..=current + SKEW {
        let step_i = i64::try_from(step).map_err(AppError::internal)?;
        if step_i > after && kernel::secret::constant_time_eq(&t.generate(step * STEP), &code) {
            return Ok(Some(step_i));
        }
    }
    Ok(None)
}

/// The current code of a secret (tests and the benchmark act as the authenticator app).
pub fn code_at(secret: &str, at: DateTime<Utc>) -> AppResult<String> {
    let t = totp(secret)?;
    Ok(t.generate(u64::try_from(at.timestamp()).map_err(AppError::internal)?))
}

/// The `otpauth://` URL an authenticator app scans.
pub fn otpauth_url(secret: &str, issuer: &str, account: &str) -> String {
    let enc = |s: &str| -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    format!(
        "otpauth://totp/{}:{}?secret={secret}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP}",
        enc(issuer),
        enc(account),
        enc(issuer)
    )
}

/// The URL as a QR code, an SVG document to embed in the page.
pub fn qr_svg(url: &str) -> AppResult<String> {
    let code = qrcode::QrCode::new(url.as_bytes()).map_err(AppError::internal)?;
    Ok(code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .build())
}

pub async fn totp_of(db: &Db, person: PersonId) -> AppResult<Option<Totp>> {
    Ok(on_db!(db, c => sqlx::query_as(
        "SELECT person_id, secret, confirmed_at, last_step FROM mfa_totp WHERE person_id = $1",
    ).bind(person).fetch_optional(c).await)?)
}

/// Whether the actor must log in with a second factor: an administrator under a policy that
/// asks it of administrators.
pub async fn owed(state: &kernel::AppState, actor: &kernel::Actor) -> AppResult<bool> {
    Ok(!actor.admin_nodes().is_empty()
        && crate::policy::effective(state, actor.org_id)
            .await?
            .mfa_admins)
}

/// Whether the person has a working second factor.
pub async fn enrolled(db: &Db, person: PersonId) -> AppResult<bool> {
    Ok(crate::accounts::find_by_person(db, person)
        .await?
        .is_some_and(|a| a.second_factor))
}

/// Starts (or restarts) an enrolment with a fresh secret, unconfirmed until a code proves the
/// app has it. A confirmed enrolment is replaced only after [`remove`].
pub async fn begin_totp(tx: &mut Tx, person: PersonId, now: DateTime<Utc>) -> AppResult<String> {
    let mut bytes = [0u8; 20];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let Secret::Encoded(secret) = Secret::Raw(bytes.to_vec()).to_encoded() else {
        return Err(AppError::internal("base32 encoding"));
    };
    let n = on_tx!(tx, c => sqlx::query(
        "INSERT INTO mfa_totp (person_id, secret, created_at, last_step) VALUES ($1, $2, $3, 0)
         ON CONFLICT (person_id) DO UPDATE SET secret = excluded.secret, created_at = excluded.created_at,
             last_step = 0
         WHERE mfa_totp.confirmed_at IS NULL",
    ).bind(person).bind(&secret).bind(now).execute(c).await.map(|r| r.rows_affected()))?;
    if n == 0 {
        return Err(AppError::BadRequest("identity.mfa_already_enrolled"));
    }
    Ok(secret)
}

/// Confirms an enrolment with a first code; returns the recovery codes to show once.
pub async fn confirm_totp(
    tx: &mut Tx,
    t: &Totp,
    code: &str,
    now: DateTime<Utc>,
) -> AppResult<Option<Vec<String>>> {
    let Some(step) = matching_step(&t.secret, code, now, t.last_step)? else {
        return Ok(None);
    };
    on_tx!(tx, c => sqlx::query(
        "UPDATE mfa_totp SET confirmed_at = $2, last_step = $3 WHERE person_id = $1 AND confirmed_at IS NULL",
    ).bind(t.person_id).bind(now).bind(step).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(Some(new_recovery_codes(tx, t.person_id, now).await?))
}

/// Replaces the recovery codes; returns the new ones (shown once, stored hashed).
pub async fn new_recovery_codes(
    tx: &mut Tx,
    person: PersonId,
    now: DateTime<Utc>,
) -> AppResult<Vec<String>> {
    on_tx!(tx, c => sqlx::query("DELETE FROM mfa_recovery_codes WHERE person_id = $1")
        .bind(person).execute(c).await.map(|r| r.rows_affected()))?;
    let mut codes = Vec::with_capacity(RECOVERY_CODES);
    for _ in 0..RECOVERY_CODES {
        // 10 characters from an alphabet without look-alikes, shown as xxxxx-xxxxx.
        const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
        let mut raw = [0u8; 10];
        rand::rngs::OsRng.fill_bytes(&mut raw);
        let s: String = raw
            .iter()
            .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
            .collect();
        let code = format!("{}-{}", &s[..5], &s[5..]);
        on_tx!(tx, c => sqlx::query(
            "INSERT INTO mfa_recovery_codes (person_id, code_hash, created_at) VALUES ($1, $2, $3)",
        ).bind(person).bind(token_hash(&normalize_recovery(&code))).bind(now)
        .execute(c).await.map(|r| r.rows_affected()))?;
        codes.push(code);
    }
    Ok(codes)
}

fn normalize_recovery(code: &str) -> String {
    code.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

pub async fn recovery_codes_left(db: &Db, person: PersonId) -> AppResult<i64> {
    let (n,): (i64,) = on_db!(db, c => sqlx::query_as(
        "SELECT COUNT(*) FROM mfa_recovery_codes WHERE person_id = $1 AND used_at IS NULL",
    ).bind(person).fetch_one(c).await)?;
    Ok(n)
}

/// Which second factor a code proved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proof {
    Totp,
    RecoveryCode,
}

/// Checks a code for a person: a TOTP code not used before, or an unused recovery code (which
/// is then spent). Runs in the caller's transaction so the use is recorded with the login.
pub async fn verify(
    tx: &mut Tx,
    person: PersonId,
    code: &str,
    now: DateTime<Utc>,
) -> AppResult<Option<Proof>> {
    let t: Option<Totp> = on_tx!(tx, c => sqlx::query_as(
        "SELECT person_id, secret, confirmed_at, last_step FROM mfa_totp
         WHERE person_id = $1 AND confirmed_at IS NOT NULL",
    ).bind(person).fetch_optional(c).await)?;
    let Some(t) = t else { return Ok(None) };
    if let Some(step) = matching_step(&t.secret, code, now, t.last_step)? {
        // The condition makes a concurrent second use of the same code fail.
        let n = on_tx!(tx, c => sqlx::query(
            "UPDATE mfa_totp SET last_step = $2 WHERE person_id = $1 AND last_step < $2",
        ).bind(person).bind(step).execute(c).await.map(|r| r.rows_affected()))?;
        return Ok((n == 1).then_some(Proof::Totp));
    }
    let normalized = normalize_recovery(code);
    if normalized.len() != 10 {
        return Ok(None);
    }
    let n = on_tx!(tx, c => sqlx::query(
        "UPDATE mfa_recovery_codes SET used_at = $3
         WHERE person_id = $1 AND code_hash = $2 AND used_at IS NULL",
    ).bind(person).bind(token_hash(&normalized)).bind(now).execute(c).await.map(|r| r.rows_affected()))?;
    Ok((n >= 1).then_some(Proof::RecoveryCode))
}

/// Removes the person's TOTP and recovery codes (they turned it off, or an administrator reset
/// it for someone who lost their phone).
pub async fn remove(tx: &mut Tx, person: PersonId) -> AppResult<()> {
    on_tx!(tx, c => sqlx::query("DELETE FROM mfa_totp WHERE person_id = $1")
        .bind(person).execute(c).await.map(|r| r.rows_affected()))?;
    on_tx!(tx, c => sqlx::query("DELETE FROM mfa_recovery_codes WHERE person_id = $1")
        .bind(person).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// A login that passed its password step and waits for the second factor.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Challenge {
    pub id: uuid::Uuid,
    pub person_id: Option<PersonId>,
    pub state: Option<String>,
}

/// Opens a pending login; returns the token for its cookie. `state` is the caller's JSON.
pub async fn open_challenge(
    tx: &mut Tx,
    person: Option<PersonId>,
    purpose: &str,
    state: &str,
    now: DateTime<Utc>,
) -> AppResult<String> {
    let token = random_token();
    on_tx!(tx, c => sqlx::query(
        "INSERT INTO login_challenges (id, token_hash, person_id, purpose, state, attempts, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, 0, $6, $7)",
    ).bind(uuid::Uuid::now_v7()).bind(token_hash(&token)).bind(person).bind(purpose).bind(state)
    .bind(now).bind(now + Duration::minutes(CHALLENGE_MINUTES))
    .execute(c).await.map(|r| r.rows_affected()))?;
    Ok(token)
}

/// The live pending login of a cookie token, if any.
pub async fn find_challenge(
    db: &Db,
    token: &str,
    purpose: &str,
    now: DateTime<Utc>,
) -> AppResult<Option<Challenge>> {
    Ok(on_db!(db, c => sqlx::query_as(
        "SELECT id, person_id, state FROM login_challenges
         WHERE token_hash = $1 AND purpose = $2 AND expires_at > $3 AND attempts < $4",
    ).bind(token_hash(token)).bind(purpose).bind(now).bind(MAX_ATTEMPTS).fetch_optional(c).await)?)
}

/// Counts a wrong code; returns whether the pending login may still try.
pub async fn failed_attempt(tx: &mut Tx, id: uuid::Uuid) -> AppResult<bool> {
    let (n,): (i64,) = on_tx!(tx, c => sqlx::query_as(
        "UPDATE login_challenges SET attempts = attempts + 1 WHERE id = $1 RETURNING attempts",
    ).bind(id).fetch_one(c).await)?;
    Ok(n < MAX_ATTEMPTS)
}

/// Takes a challenge away; false if it was already gone (a concurrent request took it), so
/// one challenge is never used twice.
pub async fn close_challenge(tx: &mut Tx, id: uuid::Uuid) -> AppResult<bool> {
    let n = on_tx!(tx, c => sqlx::query("DELETE FROM login_challenges WHERE id = $1")
        .bind(id).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// Removes pending logins that expired (the hourly job).
pub async fn purge_challenges(db: &Db, now: DateTime<Utc>) -> AppResult<u64> {
    Ok(
        on_db!(db, c => sqlx::query("DELETE FROM login_challenges WHERE expires_at < $1")
        .bind(now).execute(c).await.map(|r| r.rows_affected()))?,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_their_step_once_and_only_near_now() {
        let secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        let code = code_at(secret, now).unwrap_or_default();
        let step = 1_800_000_000 / 30;
        assert_eq!(
            matching_step(secret, &code, now, 0).ok().flatten(),
            Some(step)
        );
        // Already used: the stored step is this one.
        assert_eq!(matching_step(secret, &code, now, step).ok().flatten(), None);
        // A minute and a half later the code is stale.
        let later = now + Duration::seconds(90);
        assert_eq!(matching_step(secret, &code, later, 0).ok().flatten(), None);
        // Thirty seconds of drift is forgiven.
        let drift = now + Duration::seconds(30);
        assert_eq!(
            matching_step(secret, &code, drift, 0).ok().flatten(),
            Some(step)
        );
        assert_eq!(matching_step(secret, "12345", now, 0).ok().flatten(), None);
        assert_eq!(matching_step(secret, "abcdef", now, 0).ok().flatten(), None);
    }

    #[test]
    fn otpauth_url_and_qr() {
        let url = otpauth_url("ABC", "教云 Jiaoyun", "zhang san");
        assert!(url.starts_with("otpauth://totp/%E6%95%99"));
        assert!(url.contains("secret=ABC&issuer=%E6"));
        assert!(url.contains(":zhang%20san?"));
        let svg = qr_svg(&url).unwrap_or_default();
        assert!(svg.contains("<svg"));
    }

    #[test]
    fn recovery_codes_normalize() {
        assert_eq!(normalize_recovery(" AbCde-fGh23 "), "abcdefgh23");
    }
}

//! Passkeys (WebAuthn, via `webauthn-rs`): registered on the profile, used as the second factor
//! after a password, or alone (passwordless: a discoverable credential that verified its user
//! with a PIN or biometric is two factors in one).
//!
//! Each ceremony's state waits in `login_challenges` (so any node can finish it) for five
//! minutes, and is taken once. The relying party id is the host of `public_url`: browsers refuse
//! WebAuthn on bare IP addresses, so on such an address passkeys are simply not offered.

use crate::mfa;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use kernel::{AppError, AppResult, AppState, Db, PersonId, Tx, on_db, on_tx};
use std::sync::{Arc, OnceLock};
use webauthn_rs::prelude::{
    CreationChallengeResponse, DiscoverableAuthentication, Passkey, PasskeyAuthentication,
    PasskeyRegistration, RequestChallengeResponse, Url, Webauthn, WebauthnBuilder,
};

/// The browser's answers, as the web layer receives them.
pub use webauthn_rs::prelude::{PublicKeyCredential, RegisterPublicKeyCredential};

/// Ceremony purposes in `login_challenges`.
const REGISTER: &str = "passkey_register";
const SECOND_FACTOR: &str = "passkey_2fa";
const PASSWORDLESS: &str = "passkey_login";

/// The relying party for this deployment's public address, or `None` where WebAuthn cannot
/// work (an IP address).
pub fn relying_party(state: &AppState) -> Option<Arc<Webauthn>> {
    state
        .cache::<RelyingParty>()
        .0
        .get_or_init(|| {
            let origin = Url::parse(&state.config.base_url()).ok()?;
            let host = origin.domain()?.to_owned();
            // The name authenticators show beside the passkey: the platform's, in its default
            // language.
            let name = kernel::i18n::t(kernel::Locale::default(), "app.name");
            WebauthnBuilder::new(&host, &origin)
                .ok()?
                .rp_name(name)
                .build()
                .ok()
                .map(Arc::new)
        })
        .clone()
}

/// The node's relying party, built once from its configuration.
#[derive(Default)]
struct RelyingParty(OnceLock<Option<Arc<Webauthn>>>);

fn unavailable() -> AppError {
    AppError::Invalid({
        let mut e = kernel::FieldErrors::new();
        e.add("passkey", "error.identity.passkey_unavailable");
        e
    })
}

fn failed() -> AppError {
    AppError::Invalid({
        let mut e = kernel::FieldErrors::new();
        e.add("passkey", "error.identity.passkey_failed");
        e
    })
}

fn json<T: serde::Serialize>(v: &T) -> AppResult<String> {
    serde_json::to_string(v).map_err(AppError::internal)
}

/// A registered passkey, for the profile page.
#[derive(Debug, sqlx::FromRow)]
pub struct PasskeyInfo {
    pub id: uuid::Uuid,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}

pub async fn list(db: &Db, person: PersonId) -> AppResult<Vec<PasskeyInfo>> {
    Ok(on_db!(db, p => sqlx::query_as(
        "SELECT id, name, created_at, last_used_at FROM webauthn_credentials
         WHERE person_id = $1 ORDER BY created_at",
    ).bind(person).fetch_all(p).await)?)
}

pub async fn has_any(db: &Db, person: PersonId) -> AppResult<bool> {
    let row: Option<(uuid::Uuid,)> = on_db!(db, p => sqlx::query_as(
        "SELECT id FROM webauthn_credentials WHERE person_id = $1 LIMIT 1",
    ).bind(person).fetch_optional(p).await)?;
    Ok(row.is_some())
}

/// The person's passkeys with their row ids.
async fn passkeys_of(db: &Db, person: PersonId) -> AppResult<Vec<(uuid::Uuid, Passkey)>> {
    let rows: Vec<(uuid::Uuid, String)> = on_db!(db, p => sqlx::query_as(
        "SELECT id, passkey FROM webauthn_credentials WHERE person_id = $1",
    ).bind(person).fetch_all(p).await)?;
    rows.into_iter()
        .map(|(id, s)| Ok((id, serde_json::from_str(&s).map_err(AppError::internal)?)))
        .collect()
}

/// Takes a ceremony's state once (it cannot be replayed); `None` if unknown or expired.
async fn take(
    state: &AppState,
    token: &str,
    purpose: &str,
) -> AppResult<Option<(Option<PersonId>, String)>> {
    let Some(ch) = mfa::find_challenge(&state.db, token, purpose, state.clock.now()).await? else {
        return Ok(None);
    };
    let mut tx = state.db.begin().await?;
    let taken = mfa::close_challenge(&mut tx, ch.id).await?;
    tx.commit().await?;
    Ok(ch.state.filter(|_| taken).map(|s| (ch.person_id, s)))
}

async fn open(
    state: &AppState,
    person: Option<PersonId>,
    purpose: &str,
    ceremony: &str,
) -> AppResult<String> {
    let mut tx = state.db.begin().await?;
    let token = mfa::open_challenge(&mut tx, person, purpose, ceremony, state.clock.now()).await?;
    tx.commit().await?;
    Ok(token)
}

/// Starts registering a new passkey: the options for `navigator.credentials.create` and the
/// ceremony's token. The person's existing passkeys are excluded (no double registration).
pub async fn begin_registration(
    state: &AppState,
    person: PersonId,
    username: &str,
    display_name: &str,
) -> AppResult<(CreationChallengeResponse, String)> {
    let rp = relying_party(state).ok_or_else(unavailable)?;
    let exclude = passkeys_of(&state.db, person)
        .await?
        .iter()
        .map(|(_, p)| p.cred_id().clone())
        .collect::<Vec<_>>();
    let (options, reg) = rp
        .start_passkey_registration(person.0, username, display_name, Some(exclude))
        .map_err(AppError::internal)?;
    let token = open(state, Some(person), REGISTER, &json(&reg)?).await?;
    Ok((options, token))
}

/// Finishes a registration; stores the passkey under `name` (the caller supplies a default
/// in the person's language) in a transaction it returns open,
/// for the caller to audit the addition in and commit.
pub async fn finish_registration(
    state: &AppState,
    person: PersonId,
    token: &str,
    name: &str,
    credential: &RegisterPublicKeyCredential,
) -> AppResult<(Tx, uuid::Uuid)> {
    let rp = relying_party(state).ok_or_else(unavailable)?;
    let Some((Some(owner), ceremony)) = take(state, token, REGISTER).await? else {
        return Err(failed());
    };
    if owner != person {
        return Err(failed());
    }
    let reg: PasskeyRegistration = serde_json::from_str(&ceremony).map_err(AppError::internal)?;
    let passkey = rp
        .finish_passkey_registration(credential, &reg)
        .map_err(|e| {
            tracing::info!(error = %e, "passkey registration refused");
            failed()
        })?;
    let name: String = name.trim().chars().take(60).collect();
    let id = uuid::Uuid::now_v7();
    let mut tx = state.db.begin().await?;
    on_tx!(&mut tx, c => sqlx::query(
        "INSERT INTO webauthn_credentials (id, person_id, credential_id, name, passkey, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    ).bind(id).bind(person).bind(URL_SAFE_NO_PAD.encode::<&[u8]>(passkey.cred_id().as_ref()))
    .bind(&name).bind(json(&passkey)?).bind(state.clock.now())
    .execute(c).await.map(|r| r.rows_affected()))?;
    Ok((tx, id))
}

/// Removes one of the person's passkeys; false if there was none with that id.
pub async fn remove(tx: &mut Tx, person: PersonId, id: uuid::Uuid) -> AppResult<bool> {
    let n = on_tx!(tx, c => sqlx::query("DELETE FROM webauthn_credentials WHERE id = $1 AND person_id = $2")
        .bind(id).bind(person).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(n > 0)
}

/// Removes all of a person's passkeys (an administrator's reset of a lost second factor).
pub async fn remove_all(tx: &mut Tx, person: PersonId) -> AppResult<()> {
    on_tx!(tx, c => sqlx::query("DELETE FROM webauthn_credentials WHERE person_id = $1")
        .bind(person).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Records a successful use: the authenticator's counter and backup state, and when.
async fn used(
    state: &AppState,
    id: uuid::Uuid,
    mut passkey: Passkey,
    result: &webauthn_rs::prelude::AuthenticationResult,
) -> AppResult<()> {
    passkey.update_credential(result);
    on_db!(&state.db, c => sqlx::query(
        "UPDATE webauthn_credentials SET passkey = $2, last_used_at = $3 WHERE id = $1",
    ).bind(id).bind(json(&passkey)?).bind(state.clock.now())
    .execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Starts a second-factor check with one of the person's passkeys; `None` if they have none.
pub async fn begin_second_factor(
    state: &AppState,
    person: PersonId,
) -> AppResult<Option<(RequestChallengeResponse, String)>> {
    let Some(rp) = relying_party(state) else {
        return Ok(None);
    };
    let keys: Vec<Passkey> = passkeys_of(&state.db, person)
        .await?
        .into_iter()
        .map(|(_, p)| p)
        .collect();
    if keys.is_empty() {
        return Ok(None);
    }
    let (options, auth) = rp
        .start_passkey_authentication(&keys)
        .map_err(AppError::internal)?;
    let token = open(state, Some(person), SECOND_FACTOR, &json(&auth)?).await?;
    Ok(Some((options, token)))
}

/// Checks a second-factor assertion for `person`: true if one of their passkeys signed it.
pub async fn finish_second_factor(
    state: &AppState,
    person: PersonId,
    token: &str,
    credential: &PublicKeyCredential,
) -> AppResult<bool> {
    let Some(rp) = relying_party(state) else {
        return Ok(false);
    };
    let Some((Some(owner), ceremony)) = take(state, token, SECOND_FACTOR).await? else {
        return Ok(false);
    };
    if owner != person {
        return Ok(false);
    }
    let auth: PasskeyAuthentication =
        serde_json::from_str(&ceremony).map_err(AppError::internal)?;
    let Ok(result) = rp.finish_passkey_authentication(credential, &auth) else {
        return Ok(false);
    };
    let keys = passkeys_of(&state.db, person).await?;
    match keys
        .into_iter()
        .find(|(_, p)| p.cred_id() == result.cred_id())
    {
        Some((id, p)) => {
            used(state, id, p, &result).await?;
            Ok(true)
        }
        None => Ok(false),
    }
}

/// Starts a passwordless login: options for any discoverable passkey of this site.
pub async fn begin_passwordless(state: &AppState) -> AppResult<(RequestChallengeResponse, String)> {
    let rp = relying_party(state).ok_or_else(unavailable)?;
    let (options, auth) = rp
        .start_discoverable_authentication()
        .map_err(AppError::internal)?;
    let token = open(state, None, PASSWORDLESS, &json(&auth)?).await?;
    Ok((options, token))
}

/// Finishes a passwordless login: the person whose passkey signed the assertion (with user
/// verification), or `None`.
pub async fn finish_passwordless(
    state: &AppState,
    token: &str,
    credential: &PublicKeyCredential,
) -> AppResult<Option<PersonId>> {
    let Some(rp) = relying_party(state) else {
        return Ok(None);
    };
    let Some((None, ceremony)) = take(state, token, PASSWORDLESS).await? else {
        return Ok(None);
    };
    let auth: DiscoverableAuthentication =
        serde_json::from_str(&ceremony).map_err(AppError::internal)?;
    let Ok((user, cred_id)) = rp.identify_discoverable_authentication(credential) else {
        return Ok(None);
    };
    let person = PersonId(user);
    let Some((id, passkey)) = passkeys_of(&state.db, person)
        .await?
        .into_iter()
        .find(|(_, p)| AsRef::<[u8]>::as_ref(p.cred_id()) == cred_id)
    else {
        return Ok(None);
    };
    let Ok(result) = rp.finish_discoverable_authentication_v2(credential, auth, &passkey) else {
        return Ok(None);
    };
    used(state, id, passkey, &result).await?;
    Ok(Some(person))
}

//! Access tokens and ID tokens: JWTs signed with the provider's keys.
//!
//! Access tokens follow RFC 9068 (`typ: at+jwt`) and are always ES256; an application that wants
//! to check one itself reads the JWKS, the platform checks it with the same keys plus the
//! revocation tables (a revoked grant, or the token's own `jti`). ID tokens are signed with the
//! algorithm the application registered (ES256 by default, RS256 where a library needs it).

use crate::keys::{self, Alg};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{Header, Validation};
use kernel::{AppError, AppResult, AppState, GrantId, on_db};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// The claims of an access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    /// The person's id, or the client id for client-credentials tokens.
    pub sub: String,
    pub aud: String,
    pub client_id: String,
    pub scope: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
    /// The grant this token belongs to (absent for client credentials).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
}

impl AccessClaims {
    pub fn grant(&self) -> Option<GrantId> {
        self.gid.as_deref().and_then(|g| g.parse().ok())
    }
    pub fn has_scope(&self, s: &str) -> bool {
        self.scope.split(' ').any(|x| x == s)
    }
}

pub fn issuer(state: &AppState) -> String {
    state.config.base_url()
}

/// Signs an access token; returns (token, claims).
pub async fn access_token(
    state: &AppState,
    sub: String,
    client_id: &str,
    scope: &str,
    grant: Option<GrantId>,
    auth_time: Option<DateTime<Utc>>,
) -> AppResult<(String, AccessClaims)> {
    let now = state.clock.now();
    let claims = AccessClaims {
        iss: issuer(state),
        sub,
        aud: client_id.to_owned(),
        client_id: client_id.to_owned(),
        scope: scope.to_owned(),
        iat: now.timestamp(),
        exp: (now + Duration::minutes(i64::from(state.config.sso.access_token_minutes)))
            .timestamp(),
        jti: kernel::secret::random_token()[..22].to_owned(),
        gid: grant.map(|g| g.to_string()),
        auth_time: auth_time.map(|t| t.timestamp()),
    };
    let key = keys::signing_key(state, Alg::Es256).await?;
    let mut header = Header::new(key.alg.jwt());
    header.kid = Some(key.kid.clone());
    header.typ = Some("at+jwt".into());
    let token =
        jsonwebtoken::encode(&header, &claims, &key.encoding).map_err(AppError::internal)?;
    Ok((token, claims))
}

/// Why a presented token is not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejected {
    Malformed,
    BadSignature,
    Expired,
    Revoked,
}

/// Verifies an access token issued by this platform: signature by a published key (ES256 only;
/// `alg: none` and every other algorithm fail), `typ`, issuer, expiry, and revocation.
pub async fn verify_access(
    state: &AppState,
    token: &str,
) -> AppResult<Result<AccessClaims, Rejected>> {
    Ok(check_access(state, token).await?.map(|c| c.claims))
}

/// A token found valid, and the revocation epoch it was found valid at: what the caller
/// derives from it (claims) may be reused while the epoch stays the same.
pub struct Checked {
    pub claims: AccessClaims,
    pub epoch: i64,
}

/// [`verify_access`], with the epoch. A token checked before skips its signature check, and
/// its revocation check while no revocation has happened since (`identity::epoch`): one read
/// of one row instead of two lookups, and never a stale answer, whichever node revoked.
pub async fn check_access(state: &AppState, token: &str) -> AppResult<Result<Checked, Rejected>> {
    let cache = state.cache::<Verified>();
    let known = cache
        .map
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(token)
        .cloned();
    let known = match known {
        Some(k) => k,
        None => match verify_signature(state, token).await? {
            Ok(claims) => Known {
                claims,
                unrevoked_at: None,
            },
            Err(r) => return Ok(Err(r)),
        },
    };
    if known.claims.exp <= state.clock.now().timestamp() {
        return Ok(Err(Rejected::Expired));
    }
    // Read before the lookups below: a revocation committed after this read bumps the epoch
    // past it, so the next request looks again.
    let epoch = identity::epoch::current(state).await?;
    if known.unrevoked_at != Some(epoch) {
        // A grant is over when revoked, or at once when the session it came from ended (the
        // single-logout sweep revokes it a moment later).
        let (revoked,): (i64,) = on_db!(&state.db, p => sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM oauth_revoked_tokens WHERE jti = $1)
                  + (SELECT COUNT(*) FROM oauth_grants g LEFT JOIN sessions s ON s.id = g.session_id
                     WHERE g.id = $2 AND (g.revoked_at IS NOT NULL OR s.ended_at IS NOT NULL))",
        ).bind(&known.claims.jti).bind(known.claims.grant()).fetch_one(p).await)?;
        if revoked > 0 {
            return Ok(Err(Rejected::Revoked));
        }
        let mut map = cache.map.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= VERIFIED_MAX {
            map.clear();
        }
        map.insert(
            token.to_owned(),
            Known {
                claims: known.claims.clone(),
                unrevoked_at: Some(epoch),
            },
        );
    }
    Ok(Ok(Checked {
        claims: known.claims,
        epoch,
    }))
}

/// Access tokens this node has checked: their claims (the signature was good) and the epoch
/// at which they were last found unrevoked. Emptied when full.
#[derive(Default)]
struct Verified {
    map: std::sync::Mutex<std::collections::HashMap<String, Known>>,
}

#[derive(Clone)]
struct Known {
    claims: AccessClaims,
    unrevoked_at: Option<i64>,
}

/// At most this many tokens (about 1 KiB each with their claims).
pub const VERIFIED_MAX: usize = 20_000;

async fn verify_signature(
    state: &AppState,
    token: &str,
) -> AppResult<Result<AccessClaims, Rejected>> {
    let Ok(header) = jsonwebtoken::decode_header(token) else {
        return Ok(Err(Rejected::Malformed));
    };
    if header.alg != jsonwebtoken::Algorithm::ES256 || header.typ.as_deref() != Some("at+jwt") {
        return Ok(Err(Rejected::BadSignature));
    }
    let Some(kid) = header.kid else {
        return Ok(Err(Rejected::Malformed));
    };
    let Some(key) = keys::verifying_key(state, &kid).await? else {
        return Ok(Err(Rejected::BadSignature));
    };
    let mut v = Validation::new(jsonwebtoken::Algorithm::ES256);
    v.set_issuer(&[issuer(state)]);
    v.validate_aud = false;
    v.leeway = 0;
    v.validate_exp = false;
    Ok(
        jsonwebtoken::decode::<AccessClaims>(token, &key.decoding, &v)
            .map(|d| d.claims)
            .map_err(|_| Rejected::BadSignature),
    )
}

/// The left half of the SHA-256 of a token, as `at_hash` and `c_hash` need (ES256 and RS256
/// both hash with SHA-256).
pub fn half_hash(token: &str) -> String {
    let d = Sha256::digest(token.as_bytes());
    B64URL.encode(&d[..16])
}

/// Signs an ID token with the application's algorithm. `claims` holds everything but the
/// registered timing and audience claims, which are added here.
pub async fn id_token(
    state: &AppState,
    alg: &str,
    client_id: &str,
    claims: Map<String, Value>,
) -> AppResult<String> {
    sign_for_client(state, alg, client_id, claims, None).await
}

/// A back-channel logout token (OIDC Back-Channel Logout §2.4): `typ: logout+jwt`, no nonce.
pub async fn logout_token(
    state: &AppState,
    alg: &str,
    client_id: &str,
    claims: Map<String, Value>,
) -> AppResult<String> {
    sign_for_client(state, alg, client_id, claims, Some("logout+jwt")).await
}

async fn sign_for_client(
    state: &AppState,
    alg: &str,
    client_id: &str,
    mut claims: Map<String, Value>,
    typ: Option<&str>,
) -> AppResult<String> {
    let alg = Alg::parse(alg).unwrap_or(Alg::Es256);
    let now = state.clock.now();
    claims.insert("iss".into(), issuer(state).into());
    claims.insert("aud".into(), client_id.into());
    claims.insert("azp".into(), client_id.into());
    claims.insert("iat".into(), now.timestamp().into());
    claims.insert(
        "exp".into(),
        (now + Duration::minutes(i64::from(state.config.sso.id_token_minutes)))
            .timestamp()
            .into(),
    );
    let key = keys::signing_key(state, alg).await?;
    let mut header = Header::new(key.alg.jwt());
    header.kid = Some(key.kid.clone());
    if let Some(t) = typ {
        header.typ = Some(t.to_owned());
    }
    jsonwebtoken::encode(&header, &claims, &key.encoding).map_err(AppError::internal)
}

/// The claims of an ID token this platform issued, checked by signature and issuer but not
/// expiry (`id_token_hint` and logout may present an expired one).
pub async fn read_id_token(state: &AppState, token: &str) -> AppResult<Option<Map<String, Value>>> {
    let Ok(header) = jsonwebtoken::decode_header(token) else {
        return Ok(None);
    };
    let Some(kid) = header.kid else {
        return Ok(None);
    };
    let Some(key) = keys::verifying_key(state, &kid).await? else {
        return Ok(None);
    };
    if key.alg.jwt() != header.alg {
        return Ok(None);
    }
    let mut v = Validation::new(header.alg);
    v.set_issuer(&[issuer(state)]);
    v.validate_aud = false;
    v.validate_exp = false;
    v.required_spec_claims.clear();
    Ok(
        jsonwebtoken::decode::<Map<String, Value>>(token, &key.decoding, &v)
            .ok()
            .map(|d| d.claims),
    )
}

//! Client authentication at the token, revocation and introspection endpoints:
//! `client_secret_basic`, `client_secret_post`, or `none` for public clients (which then must
//! prove possession with PKCE).

use super::error::{OAuthError, OAuthResult};
use crate::apps::{self, Application};
use axum::http::{HeaderMap, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use kernel::AppState;
use std::collections::BTreeMap;

pub struct ClientCredentials {
    pub client_id: String,
    pub secret: Option<String>,
    pub basic: bool,
}

/// `application/x-www-form-urlencoded` decoding of one Basic credential part (RFC 6749 §2.3.1).
fn form_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

impl ClientCredentials {
    pub fn from_request(headers: &HeaderMap, p: &BTreeMap<String, String>) -> OAuthResult<Self> {
        let basic = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Basic ")
                    .or_else(|| v.strip_prefix("basic "))
            });
        let form_id = p.get("client_id").filter(|v| !v.is_empty());
        let form_secret = p.get("client_secret").filter(|v| !v.is_empty());
        if let Some(b) = basic {
            let bad = || {
                let mut e = OAuthError::new("invalid_client", "malformed Basic credentials");
                e.basic_challenge = true;
                e
            };
            let raw = STANDARD.decode(b.trim()).map_err(|_| bad())?;
            let raw = String::from_utf8(raw).map_err(|_| bad())?;
            let (id, secret) = raw.split_once(':').ok_or_else(bad)?;
            let (id, secret) = (
                form_decode(id).ok_or_else(bad)?,
                form_decode(secret).ok_or_else(bad)?,
            );
            if form_secret.is_some() {
                return Err(OAuthError::invalid_request(
                    "use one client authentication method, not two",
                ));
            }
            if form_id.is_some_and(|f| *f != id) {
                return Err(OAuthError::invalid_request(
                    "client_id differs from the credentials",
                ));
            }
            return Ok(Self {
                client_id: id,
                secret: Some(secret),
                basic: true,
            });
        }
        let Some(id) = form_id else {
            return Err(OAuthError::new(
                "invalid_client",
                "client authentication is required",
            ));
        };
        Ok(Self {
            client_id: id.clone(),
            secret: form_secret.cloned(),
            basic: false,
        })
    }
}

/// The authenticated application. Unknown clients and wrong secrets get the same answer.
pub async fn authenticate(state: &AppState, c: &ClientCredentials) -> OAuthResult<Application> {
    let fail = || {
        let mut e = OAuthError::new("invalid_client", "client authentication failed");
        e.basic_challenge = c.basic;
        e
    };
    let app = apps::cached_client(state, &c.client_id)
        .await?
        .filter(|a| a.protocol == "oidc")
        .ok_or_else(fail)?;
    match (&app.secret_hash, &c.secret) {
        (Some(hash), Some(secret)) => {
            if !kernel::secret::constant_time_eq(&kernel::secret::token_hash(secret), hash) {
                return Err(fail());
            }
        }
        // A confidential client must authenticate.
        (Some(_), None) => return Err(fail()),
        // A public client has no secret to present.
        (None, Some(_)) => return Err(fail()),
        (None, None) => {}
    }
    Ok(app)
}

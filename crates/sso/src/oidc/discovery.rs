//! `/.well-known/openid-configuration` and the JWKS.

use crate::claims::SUPPORTED_SCOPES;
use crate::keys;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use kernel::{AppResult, AppState};
use serde_json::json;

pub async fn configuration(State(state): State<AppState>) -> Json<serde_json::Value> {
    let iss = state.config.base_url();
    Json(json!({
        "issuer": iss,
        "authorization_endpoint": format!("{iss}/oidc/authorize"),
        "token_endpoint": format!("{iss}/oidc/token"),
        "userinfo_endpoint": format!("{iss}/oidc/userinfo"),
        "jwks_uri": format!("{iss}/oidc/jwks"),
        "revocation_endpoint": format!("{iss}/oidc/revoke"),
        "introspection_endpoint": format!("{iss}/oidc/introspect"),
        "end_session_endpoint": format!("{iss}/oidc/logout"),
        "scopes_supported": SUPPORTED_SCOPES,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["ES256", "RS256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "amr", "nonce", "sid", "azp", "at_hash",
            "name", "preferred_username", "gender", "locale", "updated_at", "email", "email_verified",
            "phone_number", "phone_number_verified", "edu"],
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
        "backchannel_logout_supported": true,
        "backchannel_logout_session_supported": true,
        "ui_locales_supported": ["zh-CN", "en"],
        // Every authorization response, errors included, carries `iss` (RFC 9207).
        "authorization_response_iss_parameter_supported": true,
    }))
}

pub async fn jwks(State(state): State<AppState>) -> AppResult<Response> {
    // Make sure there is a key to publish before anyone asks for a token.
    keys::signing_key(&state, keys::Alg::Es256).await?;
    let mut r = Json(keys::jwks(&state).await?).into_response();
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    Ok(r)
}

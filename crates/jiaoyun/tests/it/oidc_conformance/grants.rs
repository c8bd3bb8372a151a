//! The token endpoint's grants: code reuse (at once and 30 seconds later) and refresh tokens.

use super::{Auth, IdToken, Op, UserInfoBy, check_token_error, shannon_bits};
use crate::helpers::{TestApp, audit_count};
use crate::oidc_client::REDIRECT;
use chrono::Duration;
use reqwest::StatusCode;
use serde_json::Value;

fn code_form(code: &str) -> [(&str, &str); 3] {
    [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT),
    ]
}

/// oidcc-codereuse: the second use of a code fails with `invalid_grant` (400, JSON,
/// `AbstractOIDCCAuthCodeReuse.checkResponse`) and revokes what the first use issued.
#[tokio::test]
async fn oidcc_codereuse() {
    let op = Op::start().await;
    let browser = op.app.login("teacher").await;
    let req = op.request();
    let code = op.code(&browser, &req).await;
    let t = op.exchange(Auth::Basic, &code, &req, &[]).await;
    check_token_error(
        op.token(Auth::Basic, &code_form(&code)).await,
        "invalid_grant",
    )
    .await;
    assert_eq!(
        op.userinfo(t.access(), UserInfoBy::Get).await.status(),
        StatusCode::UNAUTHORIZED,
        "tokens of a reused code are revoked"
    );
    op.stop().await;
}

/// oidcc-codereuse-30seconds: the same, 30 seconds after the first use (the provider's clock is
/// moved); the first access token should be revoked (`EnsureHttpStatusCodeIs4xx`, RFC 6749 §4.1.2).
#[tokio::test]
async fn oidcc_codereuse_30seconds() {
    let op = Op::on(TestApp::start_with_fixed_clock().await, |_| {}).await;
    let browser = op.app.login("teacher").await;
    let req = op.request();
    let code = op.code(&browser, &req).await;
    let t = op.exchange(Auth::Basic, &code, &req, &[]).await;
    assert_eq!(
        op.userinfo(t.access(), UserInfoBy::Get).await.status(),
        StatusCode::OK
    );
    op.app.state.clock.advance(Duration::seconds(30));
    check_token_error(
        op.token(Auth::Basic, &code_form(&code)).await,
        "invalid_grant",
    )
    .await;
    let status = op.userinfo(t.access(), UserInfoBy::Get).await.status();
    assert!(
        status.is_client_error(),
        "the access token is revoked: {status}"
    );
    op.stop().await;
}

/// One client's part of oidcc-refresh-token: the code flow with offline_access (and
/// `prompt=consent`, `AddPromptConsentToAuthorizationEndpointRequestIfScopeContainsOfflineAccess`),
/// then `RefreshTokenRequestSteps`. Returns the first and refreshed token responses.
async fn refresh_steps(op: &Op, nonce_len: Option<usize>, with_scope: bool) -> (Value, Value) {
    let browser = op.app.login("teacher").await;
    let mut req = op
        .request()
        .set("scope", "openid offline_access")
        .set("prompt", "consent");
    if let Some(n) = nonce_len {
        req = req.set("nonce", &"n".repeat(n));
    }
    let code = op.code(&browser, &req).await;
    let first = op.exchange(Auth::Basic, &code, &req, &[]).await;
    let refresh = first.body["refresh_token"]
        .as_str()
        .expect("a refresh token");
    // EnsureRefreshTokenContainsAllowedCharactersOnly (RFC 6749 A.17: VSCHAR).
    assert!(refresh.bytes().all(|b| (0x20..=0x7e).contains(&b)));
    // WaitForOneSecond: so that the new ID token's iat differs.
    op.app.state.clock.advance(Duration::seconds(1));
    let mut form = vec![("grant_type", "refresh_token"), ("refresh_token", refresh)];
    if with_scope {
        form.push(("scope", "openid offline_access"));
    }
    let second = op.token_ok(Auth::Basic, &form).await;
    let access = second["access_token"].as_str().unwrap();
    assert!(
        shannon_bits(access) > 96.0,
        "EnsureMinimumAccessTokenEntropy"
    );
    assert!(access.bytes().all(|b| (0x20..=0x7e).contains(&b)));
    assert_ne!(access, first.access(), "a new access token");
    let rotated = second["refresh_token"]
        .as_str()
        .expect("a rotated refresh token");
    assert!(rotated.len() * 8 >= 128 && shannon_bits(rotated) > 96.0);
    assert_ne!(rotated, refresh);
    // CompareIdTokenClaims (OIDC Core §12.2).
    let new_id = op
        .check_id_token(second["id_token"].as_str().expect("an ID token"), None)
        .await;
    compare_id_tokens(&first.id, &new_id);
    // requestProtectedResource with the new access token.
    assert_eq!(
        op.userinfo(access, UserInfoBy::Get).await.status(),
        StatusCode::OK
    );
    (first.body, second)
}

fn compare_id_tokens(first: &IdToken, second: &IdToken) {
    let (a, b) = (&first.claims, &second.claims);
    for k in ["iss", "sub", "aud", "auth_time", "azp"] {
        assert_eq!(a.get(k), b.get(k), "{k} stays the same");
    }
    assert_ne!(a["iat"], b["iat"], "iat is the new token's");
}

/// oidcc-refresh-token: refresh works for each of two clients (the second with a 43-character
/// nonce and no scope in the refresh request), and a refresh token is bound to its client: the
/// second client's token presented by the first is `invalid_grant`
/// (`RefreshTokenRequestExpectingErrorSteps`). Then reuse detection: rotation, and presenting
/// an old token again revokes the whole family, access tokens included.
#[tokio::test]
async fn oidcc_refresh_token() {
    let mut op = Op::on(TestApp::start_with_fixed_clock().await, |_| {}).await;
    let grants = op.meta["grant_types_supported"].as_array().unwrap();
    assert!(grants.contains(&"refresh_token".into()));
    assert!(
        op.meta["scopes_supported"]
            .as_array()
            .unwrap()
            .contains(&"offline_access".into())
    );
    let (first, second) = refresh_steps(&op, None, true).await;

    // switchToSecondClient.
    let (id2, secret2) = crate::oidc_client::register(&op.app, |_| {}).await;
    let (id1, secret1) = op.switch_client(id2, secret2.unwrap());
    let (_, second_client) = refresh_steps(&op, Some(43), false).await;
    op.switch_client(id1, secret1);
    let theirs = second_client["refresh_token"].as_str().unwrap();
    let r = op
        .token(
            Auth::Basic,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", theirs),
                ("scope", "openid offline_access"),
            ],
        )
        .await;
    check_token_error(r, "invalid_grant").await;

    // Presenting the first refresh token again: refused, and the family is revoked.
    let old = first["refresh_token"].as_str().unwrap();
    let r = op
        .token(
            Auth::Basic,
            &[("grant_type", "refresh_token"), ("refresh_token", old)],
        )
        .await;
    check_token_error(r, "invalid_grant").await;
    let rotated = second["refresh_token"].as_str().unwrap();
    let r = op
        .token(
            Auth::Basic,
            &[("grant_type", "refresh_token"), ("refresh_token", rotated)],
        )
        .await;
    check_token_error(r, "invalid_grant").await;
    assert_eq!(
        op.userinfo(second["access_token"].as_str().unwrap(), UserInfoBy::Get)
            .await
            .status(),
        StatusCode::UNAUTHORIZED,
        "access tokens of the family die too"
    );
    // The other client's family is untouched by the first client's attempt and revocation.
    assert_eq!(
        op.userinfo(
            second_client["access_token"].as_str().unwrap(),
            UserInfoBy::Get
        )
        .await
        .status(),
        StatusCode::OK
    );
    assert!(audit_count(&op.app, "sso.token_issued").await >= 4);
    assert_eq!(audit_count(&op.app, "sso.grant_revoked").await, 1);
    op.stop().await;
}

//! The plan's happy flows and their variants: `oidcc-server`, the ID token modules, UserInfo by
//! GET and POST, the request without nonce, client_secret_post, the POSTed authorization request
//! and PKCE.

use super::{Auth, Op, UserInfoBy, at_login, back_at_client, check_error, log_in_there};
use crate::helpers::{TestApp, audit_count};
use crate::oidc_client::{REDIRECT, get, http};
use base64::Engine;
use reqwest::StatusCode;
use sha2::{Digest, Sha256};

/// `ExtractAtHash` / `ValidateAtHash`: the left half of the access token's SHA-256.
fn at_hash(access: &str) -> String {
    super::B64.encode(&Sha256::digest(access.as_bytes())[..16])
}

/// oidcc-server (`OIDCCServerTest`): the happy flow with scope=openid, client_secret_basic.
#[tokio::test]
async fn oidcc_server() {
    let op = Op::start().await;
    let browser = op.app.login("teacher").await;
    let req = op.request();
    let code = op.code(&browser, &req).await;
    let t = op.exchange(Auth::Basic, &code, &req, &[]).await;
    // Optional in the token endpoint's ID token, but right when present.
    if let Some(h) = t.id.claims.get("at_hash") {
        assert_eq!(h.as_str(), Some(at_hash(t.access()).as_str()), "at_hash");
    }
    assert!(t.id.claims.get("c_hash").is_none());
    // EnsureIdTokenDoesNotContainName and EnsureIdTokenDoesNotContainNonRequestedClaims (both
    // warnings): for scope=openid, nothing about the person but the subject.
    for k in t.id.claims.keys() {
        assert!(
            [
                "iss",
                "sub",
                "aud",
                "exp",
                "iat",
                "auth_time",
                "nonce",
                "acr",
                "amr",
                "azp",
                "at_hash",
                "c_hash",
                "nbf",
                "jti",
                "sid"
            ]
            .contains(&k.as_str()),
            "non-requested claim {k} in the ID token"
        );
    }
    // requestProtectedResource: UserInfo answers the access token.
    let r = op.userinfo(t.access(), UserInfoBy::Get).await;
    assert_eq!(r.status(), StatusCode::OK);
    op.stop().await;
}

/// oidcc-response-type-missing: without response_type the provider must redirect back with
/// `unsupported_response_type` or `invalid_request` (or show an error page).
#[tokio::test]
async fn oidcc_response_type_missing() {
    let op = Op::start().await;
    let req = op.request().without("response_type");
    let r = TestApp::client().get(op.url(&req)).send().await.unwrap();
    let q = back_at_client(&r);
    let error = check_error(&op, &q, req.get("state"));
    assert!(
        ["unsupported_response_type", "invalid_request"].contains(&error.as_str()),
        "{error}"
    );
    op.stop().await;
}

/// oidcc-idtoken-signature (`EnsureIdTokenContainsKid`, `EnsureIdTokenSignatureIsRS256`). The
/// module registers a client dynamically without an algorithm, which defaults to RS256; the
/// platform has no dynamic registration, so the static client is registered for RS256.
#[tokio::test]
async fn oidcc_idtoken_signature() {
    let op = Op::on(TestApp::start().await, |a| {
        a.id_token_alg = Some("RS256".into())
    })
    .await;
    let browser = op.app.login("teacher").await;
    let req = op.request();
    let code = op.code(&browser, &req).await;
    let t = op.exchange(Auth::Basic, &code, &req, &[]).await;
    assert_eq!(t.id.header["alg"], "RS256");
    assert!(t.id.header["kid"].is_string());
    op.stop().await;
}

/// oidcc-idtoken-rs256 (comprehensive plan): an RS256 client's ID token, kid and algorithm; the
/// relying party library's default verifier (RS256 only) accepts it.
#[tokio::test]
async fn oidcc_idtoken_rs256() {
    use openidconnect::core::CoreAuthenticationFlow;
    use openidconnect::{AuthorizationCode, CsrfToken, Nonce, TokenResponse};
    let app = TestApp::start().await;
    let (id, secret) =
        crate::oidc_client::register(&app, |a| a.id_token_alg = Some("RS256".into())).await;
    let rp = crate::oidc_client::relying_party(&app, &id, secret).await;
    let browser = app.login("student").await;
    let (url, _, nonce) = rp
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .url();
    let q = crate::oidc_client::authorize(&browser, url.as_str()).await;
    let tokens = rp
        .exchange_code(AuthorizationCode::new(get(&q, "code").unwrap().into()))
        .unwrap()
        .request_async(&http())
        .await
        .unwrap();
    let id_token = tokens.id_token().unwrap();
    let claims = id_token
        .claims(&rp.id_token_verifier(), &nonce)
        .expect("RS256 verifies");
    assert_eq!(
        claims.subject().as_str(),
        app.person_id("student").await.to_string()
    );
    let header = id_token.to_string();
    let header: serde_json::Value = serde_json::from_slice(
        &super::B64
            .decode(header.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(header["alg"], "RS256");
    assert!(header["kid"].as_str().is_some_and(|k| !k.is_empty()));
    app.stop().await;
}

/// oidcc-idtoken-unsigned: skipped by the suite when discovery does not list `none`
/// (`OIDCCCheckIdTokenSigningAlgValuesSupportedAlgNone`), which it does not; nor can a client be
/// registered for unsigned ID tokens.
#[tokio::test]
async fn oidcc_idtoken_unsigned() {
    let op = Op::start().await;
    let algs = op.meta["id_token_signing_alg_values_supported"]
        .as_array()
        .unwrap();
    assert!(!algs.contains(&"none".into()), "{algs:?}");
    let a = sso::apps::NewApplication {
        redirect_uris: vec![REDIRECT.into()],
        id_token_alg: Some("none".into()),
        ..sso::apps::NewApplication::new(crate::helpers::demo_city(&op.app).await, "oidc", "x")
    };
    let r = sso::apps::register(
        &op.app.state,
        &kernel::Actor::system(),
        &kernel::RequestMeta::cli(),
        a,
    )
    .await;
    assert!(r.is_err(), "alg none is refused");
    op.stop().await;
}

async fn userinfo_module(how: UserInfoBy) {
    let op = Op::start().await;
    let browser = op.app.login("teacher").await;
    let req = op.request();
    let code = op.code(&browser, &req).await;
    let t = op.exchange(Auth::Basic, &code, &req, &[]).await;
    let r = op.userinfo(t.access(), how).await;
    let info = op.check_userinfo(r, &t.id).await;
    assert_eq!(
        info["sub"],
        op.app.person_id("teacher").await.to_string().as_str()
    );
    op.stop().await;
}

/// oidcc-userinfo-get.
#[tokio::test]
async fn oidcc_userinfo_get() {
    userinfo_module(UserInfoBy::Get).await;
}

/// oidcc-userinfo-post-header.
#[tokio::test]
async fn oidcc_userinfo_post_header() {
    userinfo_module(UserInfoBy::PostHeader).await;
}

/// oidcc-userinfo-post-body: optional (a warning if refused); the provider supports it.
#[tokio::test]
async fn oidcc_userinfo_post_body() {
    userinfo_module(UserInfoBy::PostBody).await;
}

/// oidcc-ensure-request-without-nonce-succeeds-for-code-flow: a code, and an ID token without
/// nonce (`ValidateIdTokenNonce`).
#[tokio::test]
async fn oidcc_ensure_request_without_nonce_succeeds_for_code_flow() {
    let op = Op::start().await;
    let browser = op.app.login("teacher").await;
    let req = op.request().without("nonce");
    let code = op.code(&browser, &req).await;
    let t = op.exchange(Auth::Basic, &code, &req, &[]).await;
    assert!(t.id.claims.get("nonce").is_none());
    op.stop().await;
}

/// oidcc-server-client-secret-post: the happy flow with client_secret_post
/// (`EnsureServerConfigurationSupportsClientSecretPost`).
#[tokio::test]
async fn oidcc_server_client_secret_post() {
    let op = Op::start().await;
    let methods = op.meta["token_endpoint_auth_methods_supported"]
        .as_array()
        .unwrap();
    assert!(methods.contains(&"client_secret_post".into()));
    assert!(methods.contains(&"client_secret_basic".into()));
    let browser = op.app.login("teacher").await;
    let req = op.request();
    let code = op.code(&browser, &req).await;
    let t = op.exchange(Auth::Post, &code, &req, &[]).await;
    let r = op.userinfo(t.access(), UserInfoBy::Get).await;
    assert_eq!(r.status(), StatusCode::OK);
    op.stop().await;
}

/// oidcc-ensure-post-request-succeeds: the authorization request as a form POST. A browser does
/// not send the provider's SameSite=Lax session cookie with a cross-site POST, so the person logs
/// in first and comes back with a code.
#[tokio::test]
async fn oidcc_ensure_post_request_succeeds() {
    let op = Op::start().await;
    let req = op.request();
    let browser = TestApp::client();
    let r = browser
        .post(op.meta["authorization_endpoint"].as_str().unwrap())
        .form(&req.params)
        .send()
        .await
        .unwrap();
    let login = at_login(&r);
    let r = log_in_there(&op.app, &browser, &login, "teacher").await;
    let code = op.code_from(&back_at_client(&r), &req);
    op.exchange(Auth::Basic, &code, &req, &[]).await;
    // With the session cookie (a same-site POST) it goes straight back.
    let req = op.request();
    let r = browser
        .post(op.meta["authorization_endpoint"].as_str().unwrap())
        .form(&req.params)
        .send()
        .await
        .unwrap();
    op.code_from(&back_at_client(&r), &req);
    op.stop().await;
}

/// oidcc-ensure-request-with-valid-pkce-succeeds (`SetupPkceAndAddToAuthorizationRequest`,
/// `AddCodeVerifierToTokenEndpointRequest`), through the `openidconnect` relying party, with
/// the profile and edu scopes: what the ID token and UserInfo say about a teacher.
#[tokio::test]
async fn oidcc_ensure_request_with_valid_pkce_succeeds() {
    use openidconnect::core::{CoreAuthenticationFlow, CoreGenderClaim, CoreJwsSigningAlgorithm};
    use openidconnect::{
        AuthorizationCode, CsrfToken, Nonce, OAuth2TokenResponse, PkceCodeChallenge, Scope,
        TokenResponse, UserInfoClaims,
    };
    let app = TestApp::start().await;
    let (id, secret) = crate::oidc_client::register(&app, |_| {}).await;
    let rp = crate::oidc_client::relying_party(&app, &id, secret).await;
    let browser = app.login("teacher").await;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state, nonce) = rp
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("edu".into()))
        .set_pkce_challenge(challenge)
        .url();
    let q = crate::oidc_client::authorize(&browser, url.as_str()).await;
    assert_eq!(get(&q, "state"), Some(state.secret().as_str()));
    let code = get(&q, "code").expect("a code").to_owned();
    let tokens = rp
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http())
        .await
        .expect("code exchange");
    let verifier = rp
        .id_token_verifier()
        .set_allowed_algs(vec![CoreJwsSigningAlgorithm::EcdsaP256Sha256]);
    let claims = tokens
        .id_token()
        .expect("an ID token")
        .claims(&verifier, &nonce)
        .expect("valid ID token");
    let teacher = app.person_id("teacher").await;
    assert_eq!(claims.subject().as_str(), teacher.to_string());
    assert_eq!(
        claims.preferred_username().map(|u| u.as_str()),
        Some("teacher")
    );
    assert!(claims.auth_time().is_some(), "auth_time is present");
    let amr: Vec<String> = claims
        .auth_method_refs()
        .map(|v| v.iter().map(|r| r.as_str().to_owned()).collect())
        .unwrap_or_default();
    assert_eq!(amr, ["pwd"], "the ID token says how the person logged in");
    assert!(claims.access_token_hash().is_some(), "at_hash is present");

    let info: UserInfoClaims<crate::oidc_client::Edu, CoreGenderClaim> = rp
        .user_info(tokens.access_token().clone(), None)
        .unwrap()
        .request_async(&http())
        .await
        .expect("userinfo");
    assert_eq!(info.subject().as_str(), teacher.to_string());
    let edu = info.additional_claims().edu.clone().expect("edu claims");
    let roles = edu["roles"].as_array().unwrap();
    assert!(
        roles.iter().any(|r| r["role"] == "teacher"),
        "teacher role: {edu}"
    );
    assert!(
        edu["school_code"].as_str().is_some_and(|c| c.len() == 10),
        "school code: {edu}"
    );
    assert!(
        !edu["classes"].as_array().unwrap().is_empty(),
        "classes: {edu}"
    );
    // The library refreshes, and the refresh token rotates (reuse: oidcc_refresh_token).
    let first = tokens.refresh_token().expect("a refresh token");
    let second = rp
        .exchange_refresh_token(first)
        .unwrap()
        .request_async(&http())
        .await
        .expect("refresh");
    let rotated = second.refresh_token().expect("rotated");
    assert_ne!(rotated.secret(), first.secret());
    assert!(audit_count(&app, "sso.token_issued").await >= 2);
    app.stop().await;
}

//! The OpenID Connect provider against a real relying party library (`openidconnect`), over
//! HTTP. Each test is named after the OpenID Foundation Basic OP conformance test it mirrors
//! (`oidcc-…`); the security tests after what they attack.

use crate::helpers::{TestApp, audit_count};
use base64::Engine;
use kernel::{Actor, RequestMeta};
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreGenderClaim, CoreJwsSigningAlgorithm,
    CoreProviderMetadata,
};
use openidconnect::{
    AccessToken, AdditionalClaims, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl,
    Nonce, OAuth2TokenResponse, PkceCodeChallenge, RedirectUrl, RefreshToken, Scope, TokenResponse,
    UserInfoClaims,
};
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};
use sso::apps::NewApplication;

pub(crate) const REDIRECT: &str = "http://127.0.0.1:9/callback";

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Edu {
    edu: Option<serde_json::Value>,
}
impl AdditionalClaims for Edu {}

/// Registers an OIDC client at the demo city; returns (client_id, secret).
pub(crate) async fn register(
    app: &TestApp,
    f: impl FnOnce(&mut NewApplication),
) -> (String, Option<String>) {
    let mut a = NewApplication {
        home_url: Some("http://127.0.0.1:9/".into()),
        redirect_uris: vec![REDIRECT.into()],
        trusted: true,
        ..NewApplication::new(crate::helpers::demo_city(app).await, "oidc", "学籍系统")
    };
    f(&mut a);
    let r = sso::apps::register(&app.state, &Actor::system(), &RequestMeta::cli(), a)
        .await
        .unwrap();
    (r.client_id.unwrap(), r.client_secret)
}

/// The status UserInfo answers for this access token.
pub(crate) async fn userinfo_status(app: &TestApp, token: &str) -> StatusCode {
    http()
        .get(app.url("/oidc/userinfo"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
}

pub(crate) fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

type Rp = openidconnect::Client<
    openidconnect::EmptyAdditionalClaims,
    openidconnect::core::CoreAuthDisplay,
    CoreGenderClaim,
    openidconnect::core::CoreJweContentEncryptionAlgorithm,
    openidconnect::core::CoreJsonWebKey,
    openidconnect::core::CoreAuthPrompt,
    openidconnect::StandardErrorResponse<openidconnect::core::CoreErrorResponseType>,
    openidconnect::core::CoreTokenResponse,
    openidconnect::core::CoreTokenIntrospectionResponse,
    openidconnect::core::CoreRevocableToken,
    openidconnect::core::CoreRevocationErrorResponse,
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

pub(crate) async fn relying_party(app: &TestApp, id: &str, secret: Option<String>) -> Rp {
    let meta =
        CoreProviderMetadata::discover_async(IssuerUrl::new(app.base.clone()).unwrap(), &http())
            .await
            .expect("discovery");
    CoreClient::from_provider_metadata(
        meta,
        ClientId::new(id.into()),
        secret.map(ClientSecret::new),
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT.into()).unwrap())
}

/// Follows the authorization URL as the logged-in browser would, up to the application's
/// redirect URI; returns that URL's query parameters.
pub(crate) async fn authorize(browser: &reqwest::Client, url: &str) -> Vec<(String, String)> {
    let r = browser.get(url).send().await.unwrap();
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "authorize redirects: {}",
        r.status()
    );
    let loc = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        loc.starts_with(REDIRECT),
        "back to the application, not {loc}"
    );
    url_query(&loc)
}

pub(crate) fn url_query(url: &str) -> Vec<(String, String)> {
    reqwest::Url::parse(url)
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

pub(crate) fn get<'a>(q: &'a [(String, String)], k: &str) -> Option<&'a str> {
    q.iter().find(|(a, _)| a == k).map(|(_, v)| v.as_str())
}

/// oidcc-server (with PKCE), oidcc-userinfo-get, oidcc-scope-profile, oidcc-refresh-token.
#[tokio::test]
async fn oidcc_server_code_flow_with_pkce_userinfo_and_refresh() {
    let app = TestApp::start().await;
    let (id, secret) = register(&app, |_| {}).await;
    let rp = relying_party(&app, &id, secret).await;
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
    let q = authorize(&browser, url.as_str()).await;
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
    let id_token = tokens.id_token().expect("an ID token");
    let claims = id_token.claims(&verifier, &nonce).expect("valid ID token");
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

    let info: UserInfoClaims<Edu, CoreGenderClaim> = rp
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

    // Refresh rotates; presenting the old token again revokes the whole family.
    let first = tokens.refresh_token().expect("a refresh token").clone();
    let second = rp
        .exchange_refresh_token(&first)
        .unwrap()
        .request_async(&http())
        .await
        .expect("refresh");
    let second_refresh = second.refresh_token().expect("rotated").clone();
    assert_ne!(second_refresh.secret(), first.secret());
    let reuse = rp
        .exchange_refresh_token(&first)
        .unwrap()
        .request_async(&http())
        .await;
    assert!(
        format!("{reuse:?}").contains("invalid_grant"),
        "reuse refused: {reuse:?}"
    );
    let after = rp
        .exchange_refresh_token(&RefreshToken::new(second_refresh.secret().clone()))
        .unwrap()
        .request_async(&http())
        .await;
    assert!(after.is_err(), "the family is revoked after reuse");
    assert_eq!(
        userinfo_status(&app, second.access_token().secret()).await,
        StatusCode::UNAUTHORIZED,
        "access tokens of the family die too"
    );
    assert!(audit_count(&app, "sso.token_issued").await >= 2);
    assert_eq!(audit_count(&app, "sso.grant_revoked").await, 1);
    app.stop().await;
}

/// oidcc-codereuse: the second use fails and revokes what the first issued.
#[tokio::test]
async fn oidcc_codereuse() {
    let app = TestApp::start().await;
    let (id, secret) = register(&app, |_| {}).await;
    let rp = relying_party(&app, &id, secret).await;
    let browser = app.login("teacher").await;
    let (url, _, _) = rp
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .url();
    let q = authorize(&browser, url.as_str()).await;
    let code = get(&q, "code").unwrap().to_owned();
    let tokens = rp
        .exchange_code(AuthorizationCode::new(code.clone()))
        .unwrap()
        .request_async(&http())
        .await
        .expect("first exchange");
    let again = rp
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .request_async(&http())
        .await;
    assert!(format!("{again:?}").contains("invalid_grant"), "{again:?}");
    assert_eq!(
        userinfo_status(&app, tokens.access_token().secret()).await,
        StatusCode::UNAUTHORIZED,
        "tokens of a reused code are revoked"
    );
    app.stop().await;
}

/// oidcc-ensure-registered-redirect-uri: an unregistered redirect URI is refused on a page,
/// never redirected to (no open redirect).
#[tokio::test]
async fn oidcc_ensure_registered_redirect_uri() {
    let app = TestApp::start().await;
    let (id, _) = register(&app, |_| {}).await;
    let browser = app.login("teacher").await;
    for bad in [
        "https://evil.example/callback",
        "http://127.0.0.1:9/callback/extra",
        "http://127.0.0.1:9/callback?x=1",
    ] {
        let r = browser
            .get(app.url("/oidc/authorize"))
            .query(&[
                ("client_id", id.as_str()),
                ("redirect_uri", bad),
                ("response_type", "code"),
                ("scope", "openid"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{bad}");
        assert!(
            r.headers().get("location").is_none(),
            "no redirect to {bad}"
        );
    }
    app.stop().await;
}

/// oidcc-prompt-none-not-logged-in: `login_required` goes back with the state.
#[tokio::test]
async fn oidcc_prompt_none_not_logged_in() {
    let app = TestApp::start().await;
    let (id, _) = register(&app, |_| {}).await;
    let r = TestApp::client()
        .get(app.url("/oidc/authorize"))
        .query(&[
            ("client_id", id.as_str()),
            ("redirect_uri", REDIRECT),
            ("response_type", "code"),
            ("scope", "openid"),
            ("prompt", "none"),
            ("state", "s1"),
        ])
        .send()
        .await
        .unwrap();
    let loc = r.headers()["location"].to_str().unwrap();
    let q = url_query(loc);
    assert_eq!(get(&q, "error"), Some("login_required"));
    assert_eq!(get(&q, "state"), Some("s1"));
    // Without prompt=none an anonymous visitor goes to the login page and comes back.
    let r = TestApp::client()
        .get(app.url("/oidc/authorize"))
        .query(&[
            ("client_id", id.as_str()),
            ("redirect_uri", REDIRECT),
            ("response_type", "code"),
            ("scope", "openid"),
            ("login_hint", "teacher"),
        ])
        .send()
        .await
        .unwrap();
    let loc = r.headers()["location"].to_str().unwrap();
    assert!(
        loc.starts_with("/login?next=%2Foidc%2Fauthorize")
            || loc.starts_with("/login?next=/oidc/authorize"),
        "{loc}"
    );
    assert!(
        loc.contains("username=teacher"),
        "login_hint prefills the account: {loc}"
    );
    app.stop().await;
}

/// oidcc-idtoken-rs256: a client registered for RS256 gets tokens the library's default
/// verifier (RS256 only) accepts.
#[tokio::test]
async fn oidcc_idtoken_rs256() {
    let app = TestApp::start().await;
    let (id, secret) = register(&app, |a| a.id_token_alg = Some("RS256".into())).await;
    let rp = relying_party(&app, &id, secret).await;
    let browser = app.login("student").await;
    let (url, _, nonce) = rp
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .url();
    let q = authorize(&browser, url.as_str()).await;
    let tokens = rp
        .exchange_code(AuthorizationCode::new(get(&q, "code").unwrap().into()))
        .unwrap()
        .request_async(&http())
        .await
        .unwrap();
    let claims = tokens
        .id_token()
        .unwrap()
        .claims(&rp.id_token_verifier(), &nonce)
        .expect("RS256 verifies");
    assert_eq!(
        claims.subject().as_str(),
        app.person_id("student").await.to_string()
    );
    app.stop().await;
}

/// oidcc-server-client-secret-post, client credentials, introspection and revocation; a token of
/// client A is inactive to client B.
#[tokio::test]
async fn oidcc_client_secret_post_client_credentials_introspect_and_revoke() {
    let app = TestApp::start().await;
    let (a_id, a_secret) = register(&app, |a| {
        a.grant_types = vec!["client_credentials".into()];
        a.redirect_uris.clear();
    })
    .await;
    let (b_id, b_secret) = register(&app, |_| {}).await;
    let (a_secret, b_secret) = (a_secret.unwrap(), b_secret.unwrap());
    let c = http();
    let tok: serde_json::Value = c
        .post(app.url("/oidc/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", &a_id),
            ("client_secret", &a_secret),
            ("scope", "sync"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let access = tok["access_token"]
        .as_str()
        .expect("an access token")
        .to_owned();
    let intro = |id: String, secret: String, token: String| {
        let c = c.clone();
        let url = app.url("/oidc/introspect");
        async move {
            c.post(url)
                .basic_auth(id, Some(secret))
                .form(&[("token", token)])
                .send()
                .await
                .unwrap()
                .json::<serde_json::Value>()
                .await
                .unwrap()
        }
    };
    let mine = intro(a_id.clone(), a_secret.clone(), access.clone()).await;
    assert_eq!(mine["active"], true);
    assert_eq!(mine["client_id"], a_id.as_str());
    let theirs = intro(b_id.clone(), b_secret.clone(), access.clone()).await;
    assert_eq!(
        theirs["active"], false,
        "client B learns nothing about A's token"
    );
    // Wrong secret: invalid_client, 401.
    let r = c
        .post(app.url("/oidc/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", &a_id),
            ("client_secret", "wrong"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["error"],
        "invalid_client"
    );
    // B revoking A's token changes nothing; A revoking it ends it.
    let r = c
        .post(app.url("/oidc/revoke"))
        .basic_auth(&b_id, Some(&b_secret))
        .form(&[("token", &access)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        intro(a_id.clone(), a_secret.clone(), access.clone()).await["active"],
        true
    );
    let r = c
        .post(app.url("/oidc/revoke"))
        .basic_auth(&a_id, Some(&a_secret))
        .form(&[("token", &access)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(intro(a_id, a_secret, access).await["active"], false);
    app.stop().await;
}

/// PKCE: a public client must send a challenge, and the verifier must match it.
#[tokio::test]
async fn pkce_is_required_for_public_clients_and_checked() {
    let app = TestApp::start().await;
    let (id, secret) = register(&app, |a| a.public = true).await;
    assert!(secret.is_none(), "public clients get no secret");
    let rp = relying_party(&app, &id, None).await;
    let browser = app.login("teacher").await;
    let (url, _, _) = rp
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .url();
    let q = authorize(&browser, url.as_str()).await;
    assert_eq!(
        get(&q, "error"),
        Some("invalid_request"),
        "no PKCE, no code"
    );
    let (challenge, _) = PkceCodeChallenge::new_random_sha256();
    let (url, _, _) = rp
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .set_pkce_challenge(challenge)
        .url();
    let q = authorize(&browser, url.as_str()).await;
    let (_, wrong) = PkceCodeChallenge::new_random_sha256();
    let r = rp
        .exchange_code(AuthorizationCode::new(get(&q, "code").unwrap().into()))
        .unwrap()
        .set_pkce_verifier(wrong)
        .request_async(&http())
        .await;
    assert!(format!("{r:?}").contains("invalid_grant"), "{r:?}");
    app.stop().await;
}

/// Tokens that were not issued here, or were tampered with, are refused: `alg: none`, a
/// changed payload, and a made-up token.
#[tokio::test]
async fn tampered_and_unsigned_tokens_are_refused() {
    let app = TestApp::start().await;
    let (id, secret) = register(&app, |_| {}).await;
    let rp = relying_party(&app, &id, secret).await;
    let browser = app.login("teacher").await;
    let (url, _, _) = rp
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .url();
    let q = authorize(&browser, url.as_str()).await;
    let tokens = rp
        .exchange_code(AuthorizationCode::new(get(&q, "code").unwrap().into()))
        .unwrap()
        .request_async(&http())
        .await
        .unwrap();
    let good = tokens.access_token().secret().clone();
    let parts: Vec<&str> = good.split('.').collect();
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let none_header = b64.encode(br#"{"alg":"none","typ":"at+jwt"}"#);
    let mut payload: serde_json::Value =
        serde_json::from_slice(&b64.decode(parts[1]).unwrap()).unwrap();
    payload["sub"] = app.person_id("city_admin").await.to_string().into();
    let forged = b64.encode(payload.to_string());
    for bad in [
        format!("{none_header}.{}.", parts[1]),
        format!("{}.{forged}.{}", parts[0], parts[2]),
        "not-a-token".to_owned(),
    ] {
        let r = http()
            .get(app.url("/oidc/userinfo"))
            .bearer_auth(&bad)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{bad}");
        assert!(
            r.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .contains("invalid_token")
        );
    }
    let ok = rp
        .user_info(AccessToken::new(good), None)
        .unwrap()
        .request_async::<openidconnect::EmptyAdditionalClaims, _, CoreGenderClaim>(&http())
        .await;
    assert!(ok.is_ok(), "the real token still works: {ok:?}");
    app.stop().await;
}

/// oidcc-prompt-consent (untrusted applications): the consent page asks once; deny goes back
/// with `access_denied`; the form is CSRF-protected.
#[tokio::test]
async fn consent_is_asked_once_and_can_be_denied() {
    let app = TestApp::start().await;
    let (id, _) = register(&app, |a| a.trusted = false).await;
    let browser = app.login("teacher").await;
    let query = [
        ("client_id", id.as_str()),
        ("redirect_uri", REDIRECT),
        ("response_type", "code"),
        ("scope", "openid profile edu"),
        ("state", "s2"),
    ];
    let page = browser
        .get(app.url("/oidc/authorize"))
        .query(&query)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("学籍系统"), "names the application");
    let csrf = crate::helpers::extract_csrf(&html);
    let mut form: Vec<(&str, &str)> = query.to_vec();
    // Without the session's CSRF token nothing happens.
    let mut forged = form.clone();
    forged.push(("csrf", "forged"));
    forged.push(("decision", "allow"));
    let r = browser
        .post(app.url("/oidc/consent"))
        .form(&forged)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let mut deny = form.clone();
    deny.push(("csrf", &csrf));
    deny.push(("decision", "deny"));
    let r = browser
        .post(app.url("/oidc/consent"))
        .form(&deny)
        .send()
        .await
        .unwrap();
    let q = url_query(r.headers()["location"].to_str().unwrap());
    assert_eq!(get(&q, "error"), Some("access_denied"));
    assert_eq!(get(&q, "state"), Some("s2"));
    form.push(("csrf", &csrf));
    form.push(("decision", "allow"));
    let r = browser
        .post(app.url("/oidc/consent"))
        .form(&form)
        .send()
        .await
        .unwrap();
    let q = url_query(r.headers()["location"].to_str().unwrap());
    assert!(get(&q, "code").is_some(), "allowed: a code");
    // Asked once: the next request goes straight back with a code.
    let q = authorize(
        &browser,
        &format!(
            "{}?{}",
            app.url("/oidc/authorize"),
            query
                .iter()
                .map(|(k, v)| format!(
                    "{k}={}",
                    v.replace(' ', "%20")
                        .replace(':', "%3A")
                        .replace('/', "%2F")
                ))
                .collect::<Vec<_>>()
                .join("&")
        ),
    )
    .await;
    assert!(get(&q, "code").is_some());
    assert_eq!(audit_count(&app, "sso.consent_granted").await, 1);
    app.stop().await;
}

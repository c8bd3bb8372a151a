//! The OpenID Connect provider against a real relying party library (`openidconnect`), over
//! HTTP: what the conformance plan does not cover (client credentials, introspection,
//! revocation, PKCE for public clients, forged tokens, consent), each test named after what it
//! attacks or checks. The conformance modules are mirrored in `oidc_conformance`; the helpers
//! here serve both.

use crate::helpers::{TestApp, audit_count};
use crate::oidc_client::*;
use base64::Engine;
use openidconnect::core::{CoreAuthenticationFlow, CoreGenderClaim};
use openidconnect::{
    AccessToken, AuthorizationCode, CsrfToken, Nonce, OAuth2TokenResponse, PkceCodeChallenge,
};
use reqwest::StatusCode;

/// Client credentials (with client_secret_post), introspection and revocation; a token of
/// client A is inactive to client B.
#[tokio::test]
async fn client_credentials_with_secret_post_introspection_and_revocation() {
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
async fn asvs_v10_4_6_pkce_is_required_for_public_clients_and_checked() {
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
async fn asvs_v9_1_1_tampered_and_unsigned_tokens_are_refused() {
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
async fn asvs_v10_7_1_consent_is_asked_once_and_can_be_denied() {
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

//! Sessions across applications: logout started at the portal, by an application or by an
//! administrator reaches every application; many grants at once; connecting an application in
//! the UI and entering it from the portal.

use crate::helpers::{TestApp, audit_count};
use crate::oidc_client::{
    REDIRECT, authorize, get, http, register, relying_party, url_query, userinfo_status,
};
use base64::Engine;
use openidconnect::core::CoreAuthenticationFlow;
use openidconnect::{AuthorizationCode, CsrfToken, Nonce, OAuth2TokenResponse, TokenResponse};
use reqwest::StatusCode;

/// Logs the teacher in to a client through the code flow; returns the token response.
pub(crate) async fn signed_in(
    app: &TestApp,
    browser: &reqwest::Client,
    id: &str,
    secret: Option<String>,
) -> openidconnect::core::CoreTokenResponse {
    signed_in_with(app, browser, id, secret, &[]).await
}

/// [`signed_in`], asking for these scopes besides `openid`.
pub(crate) async fn signed_in_with(
    app: &TestApp,
    browser: &reqwest::Client,
    id: &str,
    secret: Option<String>,
    scopes: &[&str],
) -> openidconnect::core::CoreTokenResponse {
    let rp = relying_party(app, id, secret).await;
    let (url, _, _) = rp
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scopes(
            scopes
                .iter()
                .map(|s| openidconnect::Scope::new((*s).to_owned())),
        )
        .url();
    let q = authorize(browser, url.as_str()).await;
    rp.exchange_code(AuthorizationCode::new(get(&q, "code").unwrap().into()))
        .unwrap()
        .request_async(&http())
        .await
        .unwrap()
}

fn jwt_part(token: &str, i: usize) -> serde_json::Value {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    serde_json::from_slice(&b64.decode(token.split('.').nth(i).unwrap()).unwrap()).unwrap()
}

/// oidcc-backchannel-rp-initiated-logout (the OP side): logging out at the portal revokes the
/// application's tokens and posts it a logout token for the session.
#[tokio::test]
async fn portal_logout_reaches_the_application_by_back_channel() {
    let app = TestApp::start().await;
    let rx = crate::helpers::Receiver::start().await;
    let (id, secret) = register(&app, |a| {
        a.backchannel_logout_uri = Some(format!("{}/bc", rx.base))
    })
    .await;
    let browser = app.login("teacher").await;
    let tokens = signed_in(&app, &browser, &id, secret.clone()).await;
    let sid = tokens
        .id_token()
        .map(|t| jwt_part(&t.to_string(), 1)["sid"].clone())
        .unwrap();
    crate::helpers::portal_logout(&app, &browser).await;
    let form = rx.wait_for("/bc").await;
    let token = &form
        .iter()
        .find(|(k, _)| k == "logout_token")
        .expect("a logout token")
        .1;
    assert_eq!(jwt_part(token, 0)["typ"], "logout+jwt");
    let claims = jwt_part(token, 1);
    assert_eq!(claims["sid"], sid, "names the session");
    assert_eq!(claims["sub"], app.person_id("teacher").await.to_string());
    assert_eq!(claims["aud"], id.as_str());
    assert!(claims["events"]["http://schemas.openid.net/event/backchannel-logout"].is_object());
    assert!(claims.get("nonce").is_none());
    assert_eq!(
        userinfo_status(&app, tokens.access_token().secret()).await,
        StatusCode::UNAUTHORIZED,
        "the access token died with the session"
    );
    app.stop().await;
}

/// oidcc-rp-initiated-logout: with an ID token naming the person the logout is immediate and
/// returns to the registered address with the state; an unregistered address is not used.
#[tokio::test]
async fn rp_initiated_logout() {
    let app = TestApp::start().await;
    let back = "http://127.0.0.1:9/logged-out";
    let (id, secret) = register(&app, |a| a.post_logout_redirect_uris = vec![back.into()]).await;
    let browser = app.login("teacher").await;
    let tokens = signed_in(&app, &browser, &id, secret.clone()).await;
    let hint = tokens.id_token().unwrap().to_string();
    // Without a hint: a confirmation page, and the session lives on.
    let r = browser
        .get(app.url("/oidc/logout"))
        .query(&[
            ("post_logout_redirect_uri", back),
            ("client_id", id.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("action=\"/oidc/logout\""));
    assert_eq!(
        browser
            .get(app.url("/profile"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    // An unregistered address is ignored.
    let r = browser
        .get(app.url("/oidc/logout"))
        .query(&[
            ("id_token_hint", hint.as_str()),
            ("post_logout_redirect_uri", "https://evil.example/"),
            ("state", "x"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["location"], "/login");
    let browser = app.login("teacher").await;
    let tokens = signed_in(&app, &browser, &id, secret).await;
    let hint = tokens.id_token().unwrap().to_string();
    let r = browser
        .get(app.url("/oidc/logout"))
        .query(&[
            ("id_token_hint", hint.as_str()),
            ("post_logout_redirect_uri", back),
            ("state", "s3"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.headers()["location"].to_str().unwrap(),
        format!("{back}?state=s3")
    );
    let r = browser.get(app.url("/profile")).send().await.unwrap();
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "the portal session ended"
    );
    app.stop().await;
}

fn code_by_id(html: &str, id: &str) -> String {
    let marker = format!("<code id=\"{id}\">");
    let start = html
        .find(&marker)
        .map(|i| i + marker.len())
        .unwrap_or_else(|| panic!("{id} shown"));
    html[start..].split('<').next().unwrap().to_owned()
}

/// The "done when": a district administrator connects a new application in the UI and
/// enters it from the portal without logging in again.
#[tokio::test]
async fn district_admin_connects_an_application_in_the_ui_and_enters_from_the_portal() {
    let app = TestApp::start().await;
    let admin = app.login("district_admin").await;
    let page = admin.get(app.url("/admin/apps")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let csrf = crate::helpers::extract_csrf(&page.text().await.unwrap());
    let r = admin
        .post(app.url("/admin/apps"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("name", "区学籍系统"),
            ("protocol", "oidc"),
            ("home_url", "http://127.0.0.1:9/"),
            ("redirect_uris", REDIRECT),
            ("trusted", "true"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    let (id, secret) = (
        code_by_id(&html, "client-id"),
        code_by_id(&html, "client-secret"),
    );
    // Bad input: told what is wrong, nothing stored.
    let r = admin
        .post(app.url("/admin/apps"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("name", "坏应用"),
            ("protocol", "oidc"),
            ("redirect_uris", "not a url"),
        ])
        .send()
        .await
        .unwrap();
    let html = r.text().await.unwrap();
    assert!(html.contains("role=\"alert\""), "an error is shown");
    assert!(!html.contains("<td>坏应用</td>"), "nothing was stored");

    let portal = admin
        .get(app.url("/portal"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        portal.contains("data-app=\"区学籍系统\""),
        "the portal lists it"
    );
    // The application starts its login; the portal session answers without a password.
    let tokens = signed_in(&app, &admin, &id, Some(secret)).await;
    assert!(tokens.id_token().is_some());
    // A teacher elsewhere cannot connect applications.
    let teacher = app.login("teacher").await;
    let r = teacher.get(app.url("/admin/apps")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    app.stop().await;
}

/// Many exchanges at once, each code sent twice (a leaked code raced by its thief): a grant's
/// write never waits on a pool connection that another waiting writer holds (a deadlock the
/// benchmark once found), the group commit answers every request, and each code is spent once.
#[tokio::test]
async fn concurrent_code_exchanges_spend_each_code_once() {
    let app = TestApp::start().await;
    let (id, secret) = register(&app, |_| {}).await;
    let secret = secret.unwrap();
    let browser = app.login("teacher").await;
    let query = [
        ("client_id", id.as_str()),
        ("redirect_uri", REDIRECT),
        ("response_type", "code"),
        ("scope", "openid profile edu"),
    ];
    let mut codes = Vec::new();
    for _ in 0..48 {
        let r = browser
            .get(app.url("/oidc/authorize"))
            .query(&query)
            .send()
            .await
            .unwrap();
        let q = url_query(r.headers()["location"].to_str().unwrap());
        codes.push(get(&q, "code").unwrap().to_owned());
    }
    let mut set = tokio::task::JoinSet::new();
    for code in codes.iter().chain(codes.iter()) {
        let (url, id, secret, code) = (
            app.url("/oidc/token"),
            id.clone(),
            secret.clone(),
            code.clone(),
        );
        set.spawn(async move {
            let status = http()
                .post(url)
                .basic_auth(id, Some(secret))
                .form(&[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", REDIRECT),
                ])
                .send()
                .await
                .unwrap()
                .status();
            (code, status)
        });
    }
    let mut ok = std::collections::HashMap::new();
    while let Some(answer) = set.join_next().await {
        let (code, status) = answer.unwrap();
        assert!(
            status == StatusCode::OK || status == StatusCode::BAD_REQUEST,
            "{status}"
        );
        *ok.entry(code).or_insert(0) += i32::from(status == StatusCode::OK);
    }
    assert_eq!(ok.len(), 48);
    assert!(ok.values().all(|n| *n == 1), "each code once: {ok:?}");
    let (grants,): (i64,) = kernel::on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT COUNT(*) FROM oauth_grants g JOIN applications a ON a.id = g.application_id WHERE a.client_id = $1",
    ).bind(&id).fetch_one(p).await)
    .unwrap();
    assert_eq!(grants, 48, "one grant per code");
    app.stop().await;
}

/// An administrator ends a person's sessions: the person is logged out everywhere, the
/// applications included; someone outside the administrator's subtree cannot do it.
#[tokio::test]
async fn asvs_v7_4_5_an_administrator_ends_a_persons_sessions_and_their_applications_hear_of_it() {
    let app = TestApp::start().await;
    let rx = crate::helpers::Receiver::start().await;
    let (id, secret) = register(&app, |a| {
        a.backchannel_logout_uri = Some(format!("{}/bc", rx.base))
    })
    .await;
    let browser = app.login("teacher").await;
    signed_in(&app, &browser, &id, secret).await;
    let teacher = app.person_id("teacher").await;
    let outsider = app.login("student").await;
    let csrf = app.csrf(&outsider).await;
    let r = outsider
        .post(app.url(&format!("/people/{teacher}/end-sessions")))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert!(
        matches!(r.status(), StatusCode::FORBIDDEN | StatusCode::NOT_FOUND),
        "{}",
        r.status()
    );
    assert_eq!(
        browser
            .get(app.url("/profile"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    let admin = app.login("school_admin").await;
    let csrf = app.csrf(&admin).await;
    let r = admin
        .post(app.url(&format!("/people/{teacher}/end-sessions")))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        browser
            .get(app.url("/profile"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::SEE_OTHER,
        "logged out"
    );
    rx.wait_for("/bc").await;
    assert_eq!(audit_count(&app, "person.end_sessions").await, 1);
    app.stop().await;
}

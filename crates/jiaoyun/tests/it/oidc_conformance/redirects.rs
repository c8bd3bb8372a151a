//! The redirect URI modules: an unregistered URI must end on the provider's error page
//! (`ExpectRedirectUriErrorPage`), never at the client nor at the unregistered address.

use super::{Auth, Op, back_at_client};
use crate::helpers::TestApp;
use crate::oidc_client::{REDIRECT, get};
use reqwest::StatusCode;

/// The provider's error page, and no redirect anywhere.
async fn refused_on_a_page(browser: &reqwest::Client, url: &str, what: &str) {
    let r = browser.get(url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{what}");
    assert!(r.headers().get("location").is_none(), "no redirect: {what}");
}

/// oidcc-ensure-registered-redirect-uri: an unregistered redirect URI (the suite appends a
/// random path, `CreateBadRedirectUriByAppending`) is refused on a page, never redirected to
/// (no open redirect); nor is any near miss.
#[tokio::test]
async fn oidcc_ensure_registered_redirect_uri() {
    let op = Op::start().await;
    let browser = op.app.login("teacher").await;
    let random = format!(
        "{REDIRECT}/{}",
        &uuid::Uuid::now_v7().simple().to_string()[..10]
    );
    for bad in [
        random.as_str(),
        "https://evil.example/callback",
        "http://127.0.0.1:9/callback/extra",
        "http://127.0.0.1:9/callback?x=1",
    ] {
        let url = op.url(&op.request().set("redirect_uri", bad));
        refused_on_a_page(&browser, &url, bad).await;
    }
    // Anonymous too: the check comes before the login.
    let url = op.url(&op.request().set("redirect_uri", &random));
    refused_on_a_page(&TestApp::client(), &url, "anonymous").await;
    op.stop().await;
}

/// oidcc-redirect-uri-query-OK (a client registered with a query in its redirect URI, as the
/// module registers it dynamically, `AddQueryToRedirectUri`): the flow succeeds and the callback
/// keeps the registered query (`CheckMatchingCallbackParameters`).
#[tokio::test]
async fn oidcc_redirect_uri_query_ok() {
    let with_query = format!("{REDIRECT}?dummy1=lorem&dummy2=ipsum");
    let q = with_query.clone();
    let op = Op::on(TestApp::start().await, move |a| a.redirect_uris = vec![q]).await;
    let browser = op.app.login("teacher").await;
    let req = op.request().set("redirect_uri", &with_query);
    let params = super::callback(&browser, &op.url(&req)).await;
    assert_eq!(get(&params, "dummy1"), Some("lorem"));
    assert_eq!(get(&params, "dummy2"), Some("ipsum"));
    let code = op.code_from(&params, &req);
    let r = op
        .token(
            Auth::Basic,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", &with_query),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    op.stop().await;
}

/// oidcc-redirect-uri-query-added: a query added to the registered redirect URI is refused.
#[tokio::test]
async fn oidcc_redirect_uri_query_added() {
    let op = Op::start().await;
    let browser = op.app.login("teacher").await;
    let bad = format!("{REDIRECT}?foo=bar");
    refused_on_a_page(
        &browser,
        &op.url(&op.request().set("redirect_uri", &bad)),
        &bad,
    )
    .await;
    op.stop().await;
}

/// oidcc-redirect-uri-query-mismatch: registered with one query, asked with another: refused.
#[tokio::test]
async fn oidcc_redirect_uri_query_mismatch() {
    let registered = format!("{REDIRECT}?dummy1=lorem&dummy2=ipsum");
    let op = Op::on(TestApp::start().await, move |a| {
        a.redirect_uris = vec![registered]
    })
    .await;
    let browser = op.app.login("teacher").await;
    let bad = format!("{REDIRECT}?dummy1=lorem&dummy2=different");
    refused_on_a_page(
        &browser,
        &op.url(&op.request().set("redirect_uri", &bad)),
        &bad,
    )
    .await;
    op.stop().await;
}

/// oidcc-ensure-redirect-uri-in-authorization-request: a client with two redirect URIs asks
/// without one: an error page (`ExpectRedirectUriMissingErrorPage`); redirecting back would fail
/// the module (`AuthorizationEndpointRedirectedBackUnexpectedly`).
#[tokio::test]
async fn oidcc_ensure_redirect_uri_in_authorization_request() {
    let op = Op::on(TestApp::start().await, |a| {
        a.redirect_uris = vec![REDIRECT.into(), format!("{REDIRECT}2")]
    })
    .await;
    let browser = op.app.login("teacher").await;
    let url = op.url(&op.request().without("redirect_uri"));
    refused_on_a_page(&browser, &url, "no redirect_uri").await;
    // And with one of the two, the flow works.
    let req = op.request();
    let q = back_at_client(&browser.get(op.url(&req)).send().await.unwrap());
    op.code_from(&q, &req);
    op.stop().await;
}

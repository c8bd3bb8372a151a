//! V15.3.4 and V4.1.3 (the client address comes from trusted proxies only): behind a configured
//! proxy the right-most untrusted `X-Forwarded-For` entry is the client; a client that sends
//! the header itself, or rotates its first entry, neither escapes the per-address throttle nor
//! writes a forged address into the audit log.

use crate::helpers::TestApp;

async fn fail_login(app: &TestApp, forwarded: &str, user: &str) -> reqwest::StatusCode {
    let c = TestApp::client();
    let page = c
        .get(app.url("/login"))
        .header("x-forwarded-for", forwarded)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = crate::helpers::extract_csrf(&page);
    c.post(app.url("/login"))
        .header("x-forwarded-for", forwarded)
        .form(&[
            ("username", user),
            ("password", "wrong-Passw0rd"),
            ("csrf", &csrf),
        ])
        .send()
        .await
        .unwrap()
        .status()
}

async fn addresses(app: &TestApp) -> Vec<String> {
    let rows: Vec<(Option<String>,)> = kernel::on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT DISTINCT ip FROM audit_log WHERE action = 'auth.login_failed'").fetch_all(p).await)
    .unwrap();
    rows.into_iter().filter_map(|r| r.0).collect()
}

#[tokio::test]
async fn asvs_v15_3_4_forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy() {
    let app = TestApp::start().await;
    for i in 0..3 {
        fail_login(&app, &format!("198.51.100.{i}"), "no_such_user_x").await;
    }
    assert_eq!(
        addresses(&app).await,
        vec!["127.0.0.1".to_owned()],
        "the peer, not the header"
    );
    app.stop().await;
}

#[tokio::test]
async fn asvs_v4_1_3_a_client_cannot_choose_its_address_through_a_trusted_proxy() {
    let app = TestApp::start_with(|c| {
        c.trusted_proxies = kernel::config::ProxyList(vec!["127.0.0.1/32".parse().unwrap()])
    })
    .await;
    // The proxy appends the address it saw (203.0.113.9); whatever the client put first is
    // the client's own invention and rotates freely.
    let tries = identity::throttle::STUFFING_ACCOUNTS + 2;
    for i in 0..tries {
        let forged = format!("6.6.6.{i}, 203.0.113.9");
        fail_login(&app, &forged, &format!("nobody{i}")).await;
    }
    assert_eq!(addresses(&app).await, vec!["203.0.113.9".to_owned()]);
    // Credential stuffing from one address, whatever it claimed: that address is blocked.
    let blocked: Vec<(String,)> = kernel::on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT subject FROM login_throttle WHERE kind = 'address' AND blocked_until IS NOT NULL")
        .fetch_all(p).await)
    .unwrap();
    assert_eq!(blocked, vec![("203.0.113.9".to_owned(),)]);
    app.stop().await;
}

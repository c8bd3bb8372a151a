//! The CAS server over HTTP: login with service, the 1.0, 2.0 and 3.0 validation endpoints
//! (XML and JSON), single use, service mismatch, gateway, renew, and single logout.

use crate::helpers::{Receiver, TestApp, audit_count};
use kernel::{Actor, RequestMeta};
use reqwest::StatusCode;
use sso::apps::NewApplication;

async fn register_cas(app: &TestApp, prefix: &str) {
    let node = crate::helpers::demo_city(app).await;
    sso::apps::register(
        &app.state,
        &Actor::system(),
        &RequestMeta::cli(),
        NewApplication {
            service_prefix: Some(prefix.into()),
            trusted: true,
            ..NewApplication::new(node, "cas", "教务系统")
        },
    )
    .await
    .unwrap();
}

/// Logs in at /cas/login for the service; returns the ticket.
async fn ticket(app: &TestApp, browser: &reqwest::Client, service: &str) -> String {
    let r = browser
        .get(app.url("/cas/login"))
        .query(&[("service", service)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let loc = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(loc.starts_with(service), "back to the service: {loc}");
    let t = loc.split("ticket=").nth(1).expect("a ticket").to_owned();
    assert!(t.starts_with("ST-"));
    t
}

async fn validate(app: &TestApp, path: &str, q: &[(&str, &str)]) -> String {
    reqwest::Client::new()
        .get(app.url(path))
        .query(q)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

#[tokio::test]
async fn cas_tickets_validate_once_with_attributes() {
    let app = TestApp::start().await;
    let service = "http://127.0.0.1:9/jw/index";
    register_cas(&app, "http://127.0.0.1:9/jw/").await;
    let browser = app.login("teacher").await;

    let t = ticket(&app, &browser, service).await;
    let xml = validate(
        &app,
        "/cas/p3/serviceValidate",
        &[("service", service), ("ticket", &t)],
    )
    .await;
    assert!(xml.contains("<cas:user>teacher</cas:user>"), "{xml}");
    assert!(xml.contains("<cas:roles>teacher</cas:roles>"), "{xml}");
    assert!(xml.contains("<cas:schoolCode>"), "{xml}");
    let again = validate(
        &app,
        "/cas/p3/serviceValidate",
        &[("service", service), ("ticket", &t)],
    )
    .await;
    assert!(
        again.contains("code=\"INVALID_TICKET\""),
        "single use: {again}"
    );

    let t = ticket(&app, &browser, service).await;
    let other = validate(
        &app,
        "/cas/serviceValidate",
        &[("service", "http://127.0.0.1:9/jw/other"), ("ticket", &t)],
    )
    .await;
    assert!(other.contains("code=\"INVALID_SERVICE\""), "{other}");
    let after = validate(
        &app,
        "/cas/serviceValidate",
        &[("service", service), ("ticket", &t)],
    )
    .await;
    assert!(
        after.contains("INVALID_TICKET"),
        "a mismatch spends the ticket: {after}"
    );

    let t = ticket(&app, &browser, service).await;
    let json: serde_json::Value = serde_json::from_str(
        &validate(
            &app,
            "/cas/p3/serviceValidate",
            &[("service", service), ("ticket", &t), ("format", "JSON")],
        )
        .await,
    )
    .unwrap();
    assert_eq!(
        json["serviceResponse"]["authenticationSuccess"]["user"],
        "teacher"
    );

    let t = ticket(&app, &browser, service).await;
    assert_eq!(
        validate(
            &app,
            "/cas/validate",
            &[("service", service), ("ticket", &t)]
        )
        .await,
        "yes\nteacher\n"
    );
    assert_eq!(
        validate(
            &app,
            "/cas/validate",
            &[("service", service), ("ticket", &t)]
        )
        .await,
        "no\n\n"
    );

    let missing = validate(&app, "/cas/serviceValidate", &[("service", service)]).await;
    assert!(missing.contains("INVALID_REQUEST"), "{missing}");
    let made_up = validate(
        &app,
        "/cas/serviceValidate",
        &[("service", service), ("ticket", "ST-nope")],
    )
    .await;
    assert!(made_up.contains("INVALID_TICKET"), "{made_up}");
    // renew: a ticket from an existing session does not satisfy it.
    let t = ticket(&app, &browser, service).await;
    let renew = validate(
        &app,
        "/cas/serviceValidate",
        &[("service", service), ("ticket", &t), ("renew", "true")],
    )
    .await;
    assert!(renew.contains("INVALID_TICKET_SPEC"), "{renew}");
    assert_eq!(audit_count(&app, "sso.cas_ticket_validated").await, 3);
    app.stop().await;
}

#[tokio::test]
async fn cas_login_refuses_unknown_services_and_honours_gateway_and_renew() {
    let app = TestApp::start().await;
    let service = "http://127.0.0.1:9/jw/index";
    register_cas(&app, "http://127.0.0.1:9/jw/").await;
    let anon = TestApp::client();
    let r = anon
        .get(app.url("/cas/login"))
        .query(&[("service", "https://evil.example/")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::BAD_REQUEST,
        "unregistered services are refused"
    );
    assert!(r.headers().get("location").is_none());
    let r = anon
        .get(app.url("/cas/login"))
        .query(&[("service", service), ("gateway", "true")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.headers()["location"],
        service,
        "gateway: back without a ticket"
    );
    let r = anon
        .get(app.url("/cas/login"))
        .query(&[("service", service)])
        .send()
        .await
        .unwrap();
    assert!(
        r.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/login?next=")
    );
    // renew with a session: log in again first.
    let browser = app.login("teacher").await;
    let r = browser
        .get(app.url("/cas/login"))
        .query(&[("service", service), ("renew", "true")])
        .send()
        .await
        .unwrap();
    assert!(
        r.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/login?next="),
        "renew asks again"
    );
    app.stop().await;
}

#[tokio::test]
async fn cas_single_logout_posts_a_logout_request_to_the_service() {
    let app = TestApp::start().await;
    let rx = Receiver::start().await;
    let service = format!("{}/jw/index", rx.base);
    register_cas(&app, &format!("{}/jw/", rx.base)).await;
    let browser = app.login("teacher").await;
    let t = ticket(&app, &browser, &service).await;
    let xml = validate(
        &app,
        "/cas/p3/serviceValidate",
        &[("service", &service), ("ticket", &t)],
    )
    .await;
    assert!(xml.contains("authenticationSuccess"));
    let r = browser
        .get(app.url("/cas/logout"))
        .query(&[("service", service.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.headers()["location"].to_str().unwrap(),
        service,
        "back to the registered service"
    );
    let form = rx.wait_for("/jw/index").await;
    let body = &form
        .iter()
        .find(|(k, _)| k == "logoutRequest")
        .expect("a logoutRequest")
        .1;
    assert!(
        body.contains(&format!("<samlp:SessionIndex>{t}</samlp:SessionIndex>")),
        "{body}"
    );
    assert_eq!(
        browser
            .get(app.url("/profile"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::SEE_OTHER
    );
    app.stop().await;
}

//! V10.4.1 (redirect targets matched exactly): a CAS service gets a ticket only when its URL
//! is, by scheme, host, port and whole path segments, under a registered prefix.

use crate::helpers::TestApp;
use kernel::{Actor, RequestMeta};
use reqwest::StatusCode;
use sso::apps::NewApplication;

async fn register(app: &TestApp, prefix: &str) -> kernel::AppResult<sso::apps::Registered> {
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
}

fn field_key(e: &kernel::AppError, field: &str) -> String {
    e.fields()
        .and_then(|f| f.get(field))
        .unwrap_or_default()
        .to_owned()
}

async fn tickets(app: &TestApp) -> i64 {
    let (n,): (i64,) =
        kernel::on_db!(&app.state.db, p => sqlx::query_as("SELECT COUNT(*) FROM cas_tickets")
        .fetch_one(p).await)
        .unwrap();
    n
}

#[tokio::test]
async fn asvs_v10_4_1_cas_service_tickets_only_for_the_registered_host_and_path() {
    let app = TestApp::start().await;
    // A prefix without a path is refused, and says why; so are the usual tricks.
    for (prefix, key) in [
        ("https://cas2.example", "error.sso.service_no_path"),
        ("https://u@cas2.example/", "error.sso.service_userinfo"),
        (
            "https://cas2.example/a/../",
            "error.sso.service_dot_segment",
        ),
        (
            "https://cas2.example/a%2f",
            "error.sso.service_encoded_separator",
        ),
        ("https://cas2.example/a?x=1", "error.sso.service_query"),
        ("cas2.example/", "error.sso.service_not_url"),
    ] {
        let e = register(&app, prefix).await.unwrap_err();
        assert_eq!(field_key(&e, "service_prefix"), key, "{prefix}");
    }
    register(&app, "https://cas2.example/").await.unwrap();
    register(&app, "https://cas-app.example/app/")
        .await
        .unwrap();
    let browser = app.login("teacher").await;
    let login = |service: &'static str| {
        let browser = &browser;
        let app = &app;
        async move {
            browser
                .get(app.url("/cas/login"))
                .query(&[("service", service)])
                .send()
                .await
                .unwrap()
        }
    };
    for evil in [
        "https://cas2.example.evil.com/steal",
        "https://cas2.example./x",
        "https://CAS2.example@evil.com/",
        "https://evil.com\\@cas2.example/",
        "https://cas2.example:8443/",
        "http://cas2.example/",
        "https://cas-app.example/app/../../evil",
        "https://cas-app.example/app/%2e%2e/evil",
        "https://cas-app.example/app%2f..%2fevil",
        "https://cas-app.example/apple",
        "https://cаs2.example/",
    ] {
        let r = login(evil).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{evil}");
        assert!(r.headers().get("location").is_none(), "{evil}");
    }
    assert_eq!(
        tickets(&app).await,
        0,
        "no ticket was issued for any of them"
    );
    // The real ones still work, host case and default port notwithstanding.
    for good in [
        "https://cas2.example/anything",
        "https://CAS2.EXAMPLE:443/",
        "https://cas-app.example/app/home?x=1",
    ] {
        let r = login(good).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{good}");
        let loc = r.headers()["location"].to_str().unwrap().to_owned();
        assert!(loc.starts_with(good) && loc.contains("ticket=ST-"), "{loc}");
    }
    assert_eq!(tickets(&app).await, 3);
    // CAS logout's redirect follows the same rule: no open redirect.
    let r = browser
        .get(app.url("/cas/logout"))
        .query(&[("service", "https://cas2.example.evil.com/")])
        .send()
        .await
        .unwrap();
    let loc = r
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_owned())
        .unwrap_or_default();
    assert!(!loc.contains("evil.com"), "{loc}");
    app.stop().await;
}

#[tokio::test]
async fn asvs_v10_4_1_plain_http_return_addresses_need_the_regions_explicit_consent() {
    let app = TestApp::start().await;
    let city = crate::helpers::demo_city(&app).await;
    let oidc = |uri: &str| NewApplication {
        redirect_uris: vec![uri.into()],
        ..NewApplication::new(city, "oidc", "学籍系统")
    };
    let reg = |a: NewApplication| {
        let app = &app;
        async move { sso::apps::register(&app.state, &Actor::system(), &RequestMeta::cli(), a).await }
    };
    let e = reg(oidc("http://rp.example.cn/cb")).await.unwrap_err();
    assert_eq!(field_key(&e, "redirect_uris"), "error.sso.http_not_allowed");
    let e = register(&app, "http://cas.example.cn/").await.unwrap_err();
    assert_eq!(
        field_key(&e, "service_prefix"),
        "error.sso.http_not_allowed"
    );
    // Loopback (a developer's machine) and https are fine.
    for ok in [
        "http://127.0.0.1:9/cb",
        "http://localhost:8000/cb",
        "http://[::1]/cb",
        "https://rp.example.cn/cb",
    ] {
        reg(oidc(ok))
            .await
            .unwrap_or_else(|e| panic!("{ok}: {e:?}"));
    }
    // The region allows it explicitly: then it is accepted.
    let mut tx = app.state.db.begin().await.unwrap();
    let mut p = identity::policy::own(&app.state.db, city)
        .await
        .unwrap()
        .unwrap();
    p.allow_http_redirects = true;
    identity::policy::save(&mut tx, city, &p, None, app.state.clock.now())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    identity::policy::forget_cached(&app.state);
    reg(oidc("http://rp.example.cn/cb")).await.unwrap();
    app.stop().await;
}

#[tokio::test]
async fn asvs_v7_5_1_cas_renew_cannot_be_passed_with_a_crafted_login_mark() {
    let app = TestApp::start().await;
    register(&app, "https://cas2.example/").await.unwrap();
    let browser = app.login("teacher").await;
    // The mark this endpoint sets when it sends the person to log in again, forged as "any
    // login since 1970": the old session must not count as the new login renew asks for.
    let r = browser
        .get(app.url("/cas/login"))
        .query(&[
            ("service", "https://cas2.example/a"),
            ("renew", "true"),
            ("jy_login_after", "0"),
        ])
        .send()
        .await
        .unwrap();
    let loc = r.headers()["location"].to_str().unwrap();
    assert!(
        loc.starts_with("/login?next="),
        "asked to log in again: {loc}"
    );
    assert_eq!(tickets(&app).await, 0);
    app.stop().await;
}

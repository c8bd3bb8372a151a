//! V14.2.6 / V15.3.1 (only the data an application needs) and V10.3.3 (applications identify
//! people by the opaque subject): the registry number, which carries the ID number, and a login
//! name made of it reach a connected application only if its registration asks for them and
//! the region allows it, and the consent page says so.

use crate::helpers::{TestApp, demo_city};
use crate::oidc_client::{REDIRECT, allow_in_region, get, http, url_query};
use kernel::{Actor, RequestMeta};
use reqwest::StatusCode;
use sso::apps::NewApplication;

/// The demo student's login name becomes their registry number, as after an import.
async fn student_logs_in_by_registry_no(app: &TestApp) -> (kernel::PersonId, String) {
    let student = app.person_id("student").await;
    let (reg,): (String,) = kernel::on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT registry_no FROM persons WHERE id = $1").bind(student).fetch_one(p).await)
    .unwrap();
    kernel::on_db!(&app.state.db, p => sqlx::query("UPDATE accounts SET username = $2 WHERE person_id = $1")
        .bind(student).bind(reg.to_lowercase()).execute(p).await.map(|_| ()))
    .unwrap();
    (student, reg.to_lowercase())
}

async fn register(app: &TestApp, release: bool, trusted: bool) -> (String, String) {
    let a = NewApplication {
        redirect_uris: vec![REDIRECT.into()],
        trusted,
        release_registry_no: release,
        ..NewApplication::new(demo_city(app).await, "oidc", "学籍系统")
    };
    let r = sso::apps::register(&app.state, &Actor::system(), &RequestMeta::cli(), a)
        .await
        .unwrap();
    (r.client_id.unwrap(), r.client_secret.unwrap())
}

/// The code flow as the signed-in browser; returns the UserInfo answer.
async fn userinfo(
    app: &TestApp,
    browser: &reqwest::Client,
    id: &str,
    secret: &str,
) -> serde_json::Value {
    let r = browser
        .get(app.url("/oidc/authorize"))
        .query(&[
            ("client_id", id),
            ("redirect_uri", REDIRECT),
            ("response_type", "code"),
            ("scope", "openid profile edu"),
            ("state", "s"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let q = url_query(r.headers()["location"].to_str().unwrap());
    let code = get(&q, "code").expect("a code").to_owned();
    let t: serde_json::Value = http()
        .post(app.url("/oidc/token"))
        .basic_auth(id, Some(secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    http()
        .get(app.url("/oidc/userinfo"))
        .bearer_auth(t["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn asvs_v14_2_6_registry_numbers_reach_an_application_only_if_it_asks_and_the_region_allows()
{
    let app = TestApp::start().await;
    let (student, login) = student_logs_in_by_registry_no(&app).await;
    let browser = app.login(&login).await;
    let (plain_id, plain_secret) = register(&app, false, true).await;
    let (asks_id, asks_secret) = register(&app, true, true).await;
    let no_numbers = |u: &serde_json::Value| {
        assert_eq!(u["sub"], student.to_string(), "{u}");
        assert!(u.get("preferred_username").is_none(), "{u}");
        assert!(u["edu"]["registry_no"].is_null(), "{u}");
        assert!(!u.to_string().contains(&login), "{u}");
    };
    no_numbers(&userinfo(&app, &browser, &plain_id, &plain_secret).await);
    // Asking is not enough while the region does not allow it.
    no_numbers(&userinfo(&app, &browser, &asks_id, &asks_secret).await);
    allow_in_region(&app, true).await;
    no_numbers(&userinfo(&app, &browser, &plain_id, &plain_secret).await);
    let u = userinfo(&app, &browser, &asks_id, &asks_secret).await;
    assert_eq!(u["preferred_username"], login.as_str(), "{u}");
    assert_eq!(
        u["edu"]["registry_no"]
            .as_str()
            .map(str::to_lowercase)
            .as_deref(),
        Some(login.as_str())
    );

    // The consent page names it for an application that will receive it.
    let (untrusted, _) = register(&app, true, false).await;
    let page = browser
        .get(app.url("/oidc/authorize"))
        .query(&[
            ("client_id", untrusted.as_str()),
            ("redirect_uri", REDIRECT),
            ("response_type", "code"),
            ("scope", "openid edu"),
        ])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("全国学籍号（含身份证件号）"), "{page}");
    app.stop().await;
}

#[tokio::test]
async fn asvs_v14_2_6_cas_services_get_the_opaque_id_instead_of_a_registry_number() {
    let app = TestApp::start().await;
    let (student, login) = student_logs_in_by_registry_no(&app).await;
    let a = NewApplication {
        service_prefix: Some("http://127.0.0.1:9/jw/".into()),
        trusted: true,
        ..NewApplication::new(demo_city(&app).await, "cas", "教务系统")
    };
    sso::apps::register(&app.state, &Actor::system(), &RequestMeta::cli(), a)
        .await
        .unwrap();
    let browser = app.login(&login).await;
    let service = "http://127.0.0.1:9/jw/index";
    let r = browser
        .get(app.url("/cas/login"))
        .query(&[("service", service)])
        .send()
        .await
        .unwrap();
    let loc = r.headers()["location"].to_str().unwrap().to_owned();
    let ticket = loc.split("ticket=").nth(1).unwrap();
    let xml = reqwest::Client::new()
        .get(app.url("/cas/p3/serviceValidate"))
        .query(&[("service", service), ("ticket", ticket)])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        xml.contains(&format!("<cas:user>{student}</cas:user>")),
        "{xml}"
    );
    assert!(!xml.to_lowercase().contains(&login), "{xml}");
    app.stop().await;
}

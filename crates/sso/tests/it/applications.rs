//! Managing connected applications after registration: edit, limit to roles, deactivate and
//! reactivate, a new client secret; in the UI and through `/api/v1/applications`.

use crate::helpers::{TestApp, audit_count, extract_csrf};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

/// A client-credentials token request; returns the status.
async fn client_credentials(app: &TestApp, id: &str, secret: &str) -> StatusCode {
    TestApp::client()
        .post(app.url("/oidc/token"))
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .status()
}

async fn api(
    c: &Client,
    method: reqwest::Method,
    url: String,
    token: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut r = c.request(method, url).bearer_auth(token);
    if let Some(b) = body {
        r = r.json(&b);
    }
    let r = r.send().await.unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn the_api_registers_lists_changes_deactivates_and_renews_the_secret() {
    let app = TestApp::start().await;
    let admin = app.token("district_admin").await;
    let c = TestApp::client();
    let district: (kernel::NodeId,) = kernel::on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT id FROM org_nodes WHERE kind = 'district' ORDER BY name LIMIT 1").fetch_one(p).await).unwrap();
    let (status, reg) = api(
        &c,
        reqwest::Method::POST,
        app.url("/api/v1/applications"),
        &admin,
        Some(json!({
            "node_id": district.0, "protocol": "oidc", "name": "成绩分析",
            "redirect_uris": ["https://scores.example/cb"],
            "grant_types": ["authorization_code", "client_credentials"],
        })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{reg}");
    let (id, client_id, secret) = (
        reg["id"].as_str().unwrap().to_owned(),
        reg["client_id"].as_str().unwrap().to_owned(),
        reg["client_secret"].as_str().unwrap().to_owned(),
    );
    assert_eq!(
        client_credentials(&app, &client_id, &secret).await,
        StatusCode::OK
    );

    // Bad input names the field; nothing changes.
    let (status, err) = api(
        &c,
        reqwest::Method::PATCH,
        app.url(&format!("/api/v1/applications/{id}")),
        &admin,
        Some(json!({ "redirect_uris": ["not a url"], "allowed_roles": ["wizard"] })),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields = err["error"]["fields"].to_string();
    assert!(
        fields.contains("redirect_uris") && fields.contains("allowed_roles"),
        "{err}"
    );

    let (status, listed) = api(
        &c,
        reqwest::Method::GET,
        app.url("/api/v1/applications"),
        &admin,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["id"] == id.as_str())
    );
    assert!(
        listed.to_string().find("secret").is_none(),
        "no secret hash in the listing"
    );

    let (status, changed) = api(
        &c,
        reqwest::Method::PATCH,
        app.url(&format!("/api/v1/applications/{id}")),
        &admin,
        Some(json!({ "name": "成绩分析系统", "allowed_roles": ["teacher"], "active": false })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["name"], "成绩分析系统");
    assert_eq!(changed["allowed_roles"], json!(["teacher"]));
    assert_eq!(changed["active"], false);
    // Deactivated: the client is refused at once.
    assert_eq!(
        client_credentials(&app, &client_id, &secret).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(audit_count(&app, "sso.application_deactivate").await, 1);
    let (status, _) = api(
        &c,
        reqwest::Method::PATCH,
        app.url(&format!("/api/v1/applications/{id}")),
        &admin,
        Some(json!({ "active": true })),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        client_credentials(&app, &client_id, &secret).await,
        StatusCode::OK
    );

    // A new secret: the old one stops working.
    let (status, renewed) = api(
        &c,
        reqwest::Method::POST,
        app.url(&format!("/api/v1/applications/{id}/secret")),
        &admin,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let new_secret = renewed["client_secret"].as_str().unwrap();
    assert_ne!(new_secret, secret);
    assert_eq!(
        client_credentials(&app, &client_id, &secret).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        client_credentials(&app, &client_id, new_secret).await,
        StatusCode::OK
    );

    // Nobody else sees it: a teacher, a school administrator of another district.
    for who in ["teacher", "school_admin"] {
        let t = app.token(who).await;
        let (status, _) = api(
            &c,
            reqwest::Method::GET,
            app.url(&format!("/api/v1/applications/{id}")),
            &t,
            None,
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{who}");
        let (status, _) = api(
            &c,
            reqwest::Method::PATCH,
            app.url(&format!("/api/v1/applications/{id}")),
            &t,
            Some(json!({ "active": false })),
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{who}");
    }
    app.stop().await;
}

#[tokio::test]
async fn an_administrator_edits_limits_and_deactivates_an_application_in_the_ui() {
    let app = TestApp::start().await;
    let admin = app.login("district_admin").await;
    let page = admin
        .get(app.url("/admin/apps"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = extract_csrf(&page);
    let r = admin
        .post(app.url("/admin/apps"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("name", "学生成长档案"),
            ("protocol", "cas"),
            ("service_prefix", "https://growth.example/"),
            ("home_url", "https://growth.example/"),
            ("role_student", "true"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let (id,): (kernel::ApplicationId,) = kernel::on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT id FROM applications WHERE name = '学生成长档案'").fetch_one(p).await)
    .unwrap();

    // Limited to students: the student's portal lists it, the teacher's does not.
    let portal = |who: &'static str| {
        let app = &app;
        async move {
            let c = app.login(who).await;
            c.get(app.url("/portal"))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }
    };
    assert!(portal("student").await.contains("学生成长档案"));
    assert!(!portal("teacher").await.contains("学生成长档案"));

    // Edit: open it to teachers too and rename it.
    let edit = admin
        .get(app.url(&format!("/admin/apps/{id}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(edit.contains("name=\"role_student\" value=\"true\" checked"));
    let csrf = extract_csrf(&edit);
    let r = admin
        .post(app.url(&format!("/admin/apps/{id}")))
        .form(&[
            ("csrf", csrf.as_str()),
            ("name", "成长档案"),
            ("service_prefix", "https://growth.example/"),
            ("home_url", "https://growth.example/"),
            ("role_student", "true"),
            ("role_teacher", "true"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(portal("teacher").await.contains("成长档案"));
    // A bad address is explained and stored nothing.
    let r = admin
        .post(app.url(&format!("/admin/apps/{id}")))
        .form(&[
            ("csrf", csrf.as_str()),
            ("name", "x"),
            ("service_prefix", "growth"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("role=\"alert\""));

    // Deactivated: CAS refuses its service and the portal drops it.
    let r = admin
        .post(app.url(&format!("/admin/apps/{id}/active")))
        .form(&[("csrf", csrf.as_str()), ("active", "false")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let student = app.login("student").await;
    let r = student
        .get(app.url("/cas/login?service=https%3A%2F%2Fgrowth.example%2F"))
        .send()
        .await
        .unwrap();
    assert_ne!(
        r.status(),
        StatusCode::SEE_OTHER,
        "no ticket for a deactivated service"
    );
    assert!(!portal("student").await.contains("成长档案"));
    // Another district's administrator cannot even see it.
    let teacher = app.login("teacher").await;
    let r = teacher
        .get(app.url(&format!("/admin/apps/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(audit_count(&app, "sso.application_update").await, 1);
    app.stop().await;
}

/// An unknown client id is remembered for a few seconds (a flood of them costs one query
/// each), but one longer than any client id is refused without a lookup and not kept: what a
/// caller sends cannot grow the cache beyond its bound of short keys.
#[tokio::test]
async fn an_overlong_client_id_is_refused_and_not_kept() {
    let app = TestApp::start().await;
    let cache = app.state.cache::<sso::apps::ClientCache>();
    let before = cache.len();
    let long = "x".repeat(100_000);
    let status = TestApp::client()
        .post(app.url("/oidc/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", long.as_str()),
            ("client_secret", "secret"),
        ])
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(cache.len(), before, "not kept");
    assert_eq!(
        client_credentials(&app, "jy-unknownclient", "secret").await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(cache.len(), before + 1, "a miss of ordinary length is kept");
}

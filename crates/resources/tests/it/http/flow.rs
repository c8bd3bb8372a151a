//! The library end to end over HTTP, on either database: a teacher uploads a PDF in chunks,
//! makes it a resource on a chapter, shares it; the school approves and recommends it; the
//! district approves it; a teacher of another school in the district finds it by a word that
//! is only in the PDF's text, and a teacher of the other district does not until the city
//! approves it too.

use crate::helpers::TestApp;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// A teacher of the school with this code who can log in.
async fn teacher_of(app: &TestApp, school_code: &str) -> String {
    let (username,): (String,) = kernel::on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT a.username FROM accounts a JOIN persons p ON p.id = a.person_id
         JOIN org_nodes s ON s.id = p.org_id
         WHERE s.code = $1 AND EXISTS (SELECT 1 FROM role_assignments r WHERE r.person_id = p.id AND r.role = 'teacher')
         ORDER BY a.username LIMIT 1",
    ).bind(school_code).fetch_one(p).await)
    .unwrap();
    username
}

async fn api(
    app: &TestApp,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = TestApp::client()
        .request(method, app.url(path))
        .bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    let text = res.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// Uploads `bytes` in chunks of the server's size through the resumable API.
async fn upload(app: &TestApp, token: &str, name: &str, bytes: &[u8]) -> String {
    let (s, up) = api(
        app,
        token,
        reqwest::Method::POST,
        "/api/v1/uploads",
        Some(json!({"file_name": name, "size": bytes.len()})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{up}");
    let id = up["id"].as_str().unwrap().to_owned();
    let chunk = up["chunk_size"].as_u64().unwrap() as usize;
    for (i, part) in bytes.chunks(chunk).enumerate() {
        let res = TestApp::client()
            .put(app.url(&format!("/api/v1/uploads/{id}/chunks/{i}")))
            .bearer_auth(token)
            .body(part.to_vec())
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success(), "chunk {i}: {}", res.status());
    }
    let (s, done) = api(
        app,
        token,
        reqwest::Method::POST,
        &format!("/api/v1/uploads/{id}/complete"),
        None,
    )
    .await;
    assert!(s.is_success(), "{done}");
    id
}

async fn search(app: &TestApp, token: &str, q: &str) -> Vec<String> {
    let (s, r) = api(
        app,
        token,
        reqwest::Method::GET,
        &format!("/api/v1/resources/search?q={q}"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    r["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Waits until `who` finds (or stops finding) `id` by `q`: the index follows the change log.
async fn until_found(app: &TestApp, token: &str, q: &str, id: &str, found: bool) {
    for _ in 0..100 {
        if search(app, token, q).await.iter().any(|h| h == id) == found {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("{q}: {id} found should be {found}");
}

async fn decide(app: &TestApp, token: &str, id: &str, action: &str, body: Value) -> Value {
    let (s, r) = api(
        app,
        token,
        reqwest::Method::POST,
        &format!("/api/v1/resources/{id}/{action}"),
        Some(body),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{action}: {r}");
    r
}

#[tokio::test]
async fn a_shared_pdf_is_found_by_its_text_at_each_level_it_reaches() {
    let app = TestApp::start_with(|c| c.files.chunk_bytes = 4096).await;
    let teacher = app.token("teacher").await;
    // The chapter: 勾股定理 in the demo catalogue.
    let (chapter,): (kernel::CatalogId,) = kernel::on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT id FROM catalog_nodes WHERE kind = 'unit' AND name LIKE '%勾股定理%' ORDER BY path LIMIT 1",
    ).fetch_one(p).await)
    .unwrap();
    let mut lines = vec![
        "直角三角形两条直角边的平方和等于斜边的平方。".to_owned(),
        "这就是毕达哥拉斯定理。".to_owned(),
    ];
    lines
        .extend((1..=60).map(|i| format!("练习{i}：已知两条直角边为{i}和{}，求斜边的长。", i + 1)));
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    let pdf = resources::files::samples::pdf(&lines);
    assert!(pdf.len() > 4096, "the PDF takes more than one chunk");
    let upload_id = upload(&app, &teacher, "直角三角形.pdf", &pdf).await;
    let (s, r) = api(
        &app,
        &teacher,
        reqwest::Method::POST,
        "/api/v1/resources",
        Some(json!({
            "title": "直角三角形的边", "kind": "teaching_design", "description": "八年级下册",
            "catalog_ids": [chapter], "upload_id": upload_id,
        })),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    let id = r["id"].as_str().unwrap().to_owned();

    // 毕达哥拉斯 is only in the PDF. Private: only its author finds it.
    until_found(&app, &teacher, "毕达哥拉斯", &id, true).await;
    let same_district = app.token(&teacher_of(&app, "3133010002").await).await;
    let other_district = app.token(&teacher_of(&app, "2133010003").await).await;
    assert!(
        !search(&app, &same_district, "毕达哥拉斯")
            .await
            .contains(&id)
    );

    let r = decide(
        &app,
        &teacher,
        &id,
        "submit",
        json!({"version": r["version"]}),
    )
    .await;
    let school = app.token("school_admin").await;
    let r = decide(
        &app,
        &school,
        &id,
        "approve",
        json!({"version": r["version"], "score": 5, "comment": "清楚"}),
    )
    .await;
    assert_eq!(r["scope"], "school");
    let r = decide(
        &app,
        &school,
        &id,
        "recommend",
        json!({"version": r["version"], "comment": "推荐到区"}),
    )
    .await;
    assert_eq!(r["pending_level"], "district");
    // Still only the school's while the district reviews it.
    assert!(
        !search(&app, &same_district, "毕达哥拉斯")
            .await
            .contains(&id)
    );
    let district = app.token("district_admin").await;
    let r = decide(
        &app,
        &district,
        &id,
        "approve",
        json!({"version": r["version"], "score": 4}),
    )
    .await;
    assert_eq!(r["scope"], "district");
    until_found(&app, &same_district, "毕达哥拉斯", &id, true).await;
    assert!(
        !search(&app, &other_district, "毕达哥拉斯")
            .await
            .contains(&id)
    );

    let r = decide(
        &app,
        &district,
        &id,
        "recommend",
        json!({"version": r["version"]}),
    )
    .await;
    let city = app.token("city_admin").await;
    let r = decide(
        &app,
        &city,
        &id,
        "approve",
        json!({"version": r["version"]}),
    )
    .await;
    assert_eq!(r["scope"], "city");
    until_found(&app, &other_district, "毕达哥拉斯", &id, true).await;

    // The author hears of each decision.
    let (n,): (i64,) = kernel::on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT COUNT(*) FROM notifications n JOIN accounts a ON a.person_id = n.person_id WHERE a.username = 'teacher'",
    ).fetch_one(p).await)
    .unwrap();
    assert!(
        n >= 3,
        "notified of the approvals and the recommendation: {n}"
    );
    app.stop().await;
}

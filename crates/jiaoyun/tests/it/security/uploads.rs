//! V5.2.1 and V5.1.1 (files accepted up to the documented limits, refused past them with the
//! limit said): browser forms stream to disk under the import and file limits, not axum's
//! 2 MiB default, and a file over the limit is refused before it is read, naming the limit.

use crate::helpers::{TestApp, extract_csrf, node_by_code};
use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};

async fn import_form(
    app: &TestApp,
    c: &reqwest::Client,
    school: kernel::NodeId,
    bytes: Vec<u8>,
) -> reqwest::Response {
    let page = c
        .get(app.url(&format!("/admin/org/{school}/imports")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let form = Form::new()
        .text("csrf", extract_csrf(&page))
        .part("file", Part::bytes(bytes).file_name("学生名单.csv"));
    c.post(app.url(&format!("/admin/org/{school}/imports")))
        .multipart(form)
        .send()
        .await
        .unwrap()
}

/// A roster CSV of at least `bytes`, from the import's own sample generator.
fn roster(bytes: usize) -> Vec<u8> {
    let p = std::env::temp_dir().join(format!("jy-roster-{}.csv", uuid::Uuid::now_v7()));
    let rows = (bytes / 120 + 1) as u64;
    directory::import::sample::write_csv(&p, 0..rows, false, None).unwrap();
    let b = std::fs::read(&p).unwrap();
    let _ = std::fs::remove_file(&p);
    assert!(b.len() >= bytes, "{} bytes", b.len());
    b
}

#[tokio::test]
async fn asvs_v5_2_1_form_uploads_stream_up_to_the_documented_limits() {
    let app = TestApp::start().await;
    let school = node_by_code(&app, "2133010001").await;
    let admin = app.login("school_admin").await;
    // The 2.2 MB roster that got "文件没有上传完整" on the import page.
    let r = import_form(&app, &admin, school, roster(2_300_000)).await;
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "{}",
        r.text().await.unwrap()
    );
    assert!(
        r.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/admin/imports/")
    );

    // A 3 MB file through the library's form (no JavaScript): stored, the resource created.
    let teacher = app.login("teacher").await;
    let csrf = app.csrf(&teacher).await;
    let text = "《秋天》教学过程：朗读、识字、写字。\n".repeat(3_200_000 / 50);
    assert!(text.len() > 3_000_000);
    let form = Form::new()
        .text("csrf", csrf)
        .text("title", "大文件教案")
        .text("kind", "lesson_plan")
        .text("catalog_ids", first_chinese_section(&app).await)
        .part("file", Part::bytes(text.into_bytes()).file_name("教案.txt"));
    let r = teacher
        .post(app.url("/library/new"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "{}",
        r.text().await.unwrap()
    );
    assert!(
        r.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/library/r/")
    );
    app.stop().await;
}

#[tokio::test]
async fn asvs_v5_2_1_a_file_over_the_limit_is_refused_with_the_limit_said() {
    let app = TestApp::start_with(|c| {
        c.max_upload_bytes = 1024 * 1024;
        c.files.max_file_bytes = 1024 * 1024;
    })
    .await;
    let school = node_by_code(&app, "2133010001").await;
    let admin = app.login("school_admin").await;
    let r = import_form(&app, &admin, school, roster(1_500_000)).await;
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("文件太大") && page.contains("1 MiB"),
        "{page}"
    );
    let (jobs,): (i64,) =
        kernel::on_db!(&app.state.db, p => sqlx::query_as("SELECT COUNT(*) FROM import_jobs")
        .fetch_one(p).await)
        .unwrap();
    assert_eq!(jobs, 0, "nothing was stored");
    // The API says it in JSON, in the asker's language.
    let token = app.token("teacher").await;
    let r = reqwest::Client::new()
        .post(app.url("/api/v1/people"))
        .bearer_auth(&token)
        .header("accept-language", "en")
        .header("content-type", "application/json")
        .body(format!("{{\"pad\": \"{}\"}}", "x".repeat(3 * 1024 * 1024)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "too_large", "{v}");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("2 MiB"),
        "the general limit: {v}"
    );
    app.stop().await;
}

/// The demo catalogue's first section of primary Chinese.
async fn first_chinese_section(app: &TestApp) -> String {
    let (id,): (kernel::CatalogId,) = kernel::on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT id FROM catalog_nodes WHERE kind = 'section' AND subject = '13' AND stage = 'primary' AND active = TRUE ORDER BY path LIMIT 1",
    ).fetch_one(p).await).unwrap();
    id.to_string()
}

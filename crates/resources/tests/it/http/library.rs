//! The resource library over HTTP: a resource created through the API from a chunked upload,
//! its page with the preview and the download, 404 for a teacher of another school, CSRF on
//! the pages' forms, the form without JavaScript posting the file itself, review through the
//! API with the version check (409), and the library's pages rendering.

use crate::helpers::TestApp;
use kernel::on_db;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

/// A small PNG (the demo's generator).
fn png() -> Vec<u8> {
    resources::library::demo::png(16, 8, 3)
}

pub(crate) async fn section(app: &TestApp) -> String {
    let (id,): (kernel::CatalogId,) = on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT id FROM catalog_nodes WHERE kind = 'section' AND subject = '13' AND stage = 'primary' AND active = TRUE ORDER BY path LIMIT 1",
    ).fetch_one(p).await).unwrap();
    id.to_string()
}

async fn api(c: &Client, r: reqwest::RequestBuilder, token: &str) -> (StatusCode, Value) {
    let _ = c;
    let res = r.bearer_auth(token).send().await.unwrap();
    let status = res.status();
    let text = res.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Uploads `bytes` through the chunked-upload API with a bearer token; the upload's id.
async fn upload(app: &TestApp, token: &str, name: &str, bytes: &[u8]) -> String {
    let c = Client::new();
    let (s, up) = api(
        &c,
        c.post(app.url("/api/v1/uploads"))
            .json(&json!({ "file_name": name, "size": bytes.len() })),
        token,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{up}");
    let id = up["id"].as_str().unwrap().to_owned();
    let (s, ack) = api(
        &c,
        c.put(app.url(&format!("/api/v1/uploads/{id}/chunks/0")))
            .body(bytes.to_vec()),
        token,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{ack}");
    let (s, done) = api(
        &c,
        c.post(app.url(&format!("/api/v1/uploads/{id}/complete"))),
        token,
    )
    .await;
    assert_eq!(
        (s, done["state"].as_str()),
        (StatusCode::OK, Some("complete")),
        "{done}"
    );
    id
}

/// A resource of `user`'s through the API.
async fn create(app: &TestApp, token: &str, title: &str) -> Value {
    let up = upload(app, token, "识字卡片.png", &png()).await;
    let c = Client::new();
    let body = json!({
        "title": title,
        "description": "识字卡片，配图",
        "kind": "material",
        "tags": ["识字", "卡片"],
        "catalog_ids": [section(app).await],
        "upload_id": up,
    });
    let (s, r) = api(&c, c.post(app.url("/api/v1/resources")).json(&body), token).await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    r
}

async fn status(c: &Client, url: String) -> StatusCode {
    c.get(url).send().await.unwrap().status()
}

#[tokio::test]
async fn resource_library_api_creates_and_the_page_previews_and_downloads() {
    let app = TestApp::start().await;
    let token = app.token("teacher").await;
    let r = create(&app, &token, "《日月水火》识字卡片（新）").await;
    assert_eq!(
        (r["scope"].as_str(), r["version"].as_i64()),
        (Some("private"), Some(1))
    );
    assert_eq!(r["tags"], "识字\n卡片");
    let id = r["id"].as_str().unwrap().to_owned();
    let c = Client::new();
    let (s, d) = api(
        &c,
        c.get(app.url(&format!("/api/v1/resources/{id}"))),
        &token,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(d["allowed"]["submit"], true);
    assert_eq!(d["file"]["category"], "image");
    assert_eq!(d["quality_parts"]["score"], 30.0);
    assert_eq!(d["catalog"].as_array().map(Vec::len), Some(1));
    // Bad input comes back field by field.
    let (s, e) = api(
        &c,
        c.post(app.url("/api/v1/resources"))
            .json(&json!({ "title": "", "kind": "poster" })),
        &token,
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        e["error"]["fields"]["title"].is_string() && e["error"]["fields"]["kind"].is_string(),
        "{e}"
    );

    let teacher = app.login("teacher").await;
    let res = teacher
        .get(app.url(&format!("/library/r/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let page = res.text().await.unwrap();
    assert!(
        page.contains(&format!(
            "<img id=\"preview\" src=\"/library/r/{id}/preview\""
        )),
        "preview"
    );
    assert!(
        page.contains(&format!("href=\"/library/r/{id}/file\"")),
        "download link"
    );
    assert!(page.contains("《日月水火》识字卡片（新）") && page.contains("quality-parts"));
    assert!(
        page.contains(&format!("action=\"/library/r/{id}/submit\"")),
        "the author may submit"
    );

    let bytes = png();
    let res = teacher
        .get(app.url(&format!("/library/r/{id}/file")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let cd = res.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cd.starts_with("attachment;"), "{cd}");
    assert_eq!(res.headers()["content-type"], "image/png");
    assert_eq!(res.bytes().await.unwrap().as_ref(), bytes.as_slice());
    let res = teacher
        .get(app.url(&format!("/library/r/{id}/preview")))
        .header("range", "bytes=0-7")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        res.headers()["content-range"],
        format!("bytes 0-7/{}", bytes.len()).as_str()
    );
    assert!(
        res.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("inline")
    );
    assert_eq!(res.bytes().await.unwrap().as_ref(), &bytes[..8]);

    // Shared at the school, a colleague's view and download count (once a day).
    let (s, r) = api(
        &c,
        c.post(app.url(&format!("/api/v1/resources/{id}/submit")))
            .json(&json!({ "version": 1 })),
        &token,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    let admin = app.token("school_admin").await;
    let (s, r) = api(
        &c,
        c.post(app.url(&format!("/api/v1/resources/{id}/approve")))
            .json(&json!({ "version": 1, "score": 5 })),
        &admin,
    )
    .await;
    assert_eq!(
        (s, r["scope"].as_str()),
        (StatusCode::OK, Some("school")),
        "{r}"
    );
    let colleague = app.login("s0t003").await;
    for _ in 0..2 {
        assert_eq!(
            status(&colleague, app.url(&format!("/library/r/{id}"))).await,
            StatusCode::OK
        );
        assert_eq!(
            status(&colleague, app.url(&format!("/library/r/{id}/file"))).await,
            StatusCode::OK
        );
    }
    let (_, d) = api(
        &c,
        c.get(app.url(&format!("/api/v1/resources/{id}"))),
        &token,
    )
    .await;
    assert_eq!(
        (d["views"].as_i64(), d["downloads"].as_i64()),
        (Some(1), Some(1)),
        "{d}"
    );
    assert_eq!(d["expert_score"], 5.0);
    assert!(d["quality"].as_f64().unwrap() > 30.0);
    app.stop().await;
}

#[tokio::test]
async fn resource_library_a_teacher_of_another_school_gets_404() {
    let app = TestApp::start().await;
    let token = app.token("teacher").await;
    let r = create(&app, &token, "《口耳目》图片").await;
    let id = r["id"].as_str().unwrap().to_owned();
    let c = Client::new();
    api(
        &c,
        c.post(app.url(&format!("/api/v1/resources/{id}/submit")))
            .json(&json!({ "version": 1 })),
        &token,
    )
    .await;
    let admin = app.token("school_admin").await;
    let (s, _) = api(
        &c,
        c.post(app.url(&format!("/api/v1/resources/{id}/approve")))
            .json(&json!({ "version": 1 })),
        &admin,
    )
    .await;
    assert_eq!(s, StatusCode::OK);

    let other = app.login("s1t002").await;
    for path in ["", "/file", "/preview", "/edit"] {
        assert_eq!(
            status(&other, app.url(&format!("/library/r/{id}{path}"))).await,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    let other_token = app.token("s1t002").await;
    let (s, e) = api(
        &c,
        c.get(app.url(&format!("/api/v1/resources/{id}"))),
        &other_token,
    )
    .await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("resources.resource_not_found"))
    );
    let (s, _) = api(
        &c,
        c.post(app.url(&format!("/api/v1/resources/{id}/recommend")))
            .json(&json!({ "version": 1 })),
        &other_token,
    )
    .await;
    assert_eq!(
        s,
        StatusCode::NOT_FOUND,
        "cannot recommend what it cannot see"
    );
    let (s, list) = api(
        &c,
        c.get(app.url("/api/v1/resources?per_page=100")),
        &other_token,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["id"] != id.as_str())
    );
    // A colleague at the same school sees it, and may not review it.
    let colleague = app.login("s0t003").await;
    let page = colleague
        .get(app.url(&format!("/library/r/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let page = page.text().await.unwrap();
    assert!(!page.contains("recommend-form") && !page.contains("approve-form"));
    // The school's administrator may recommend it.
    let sa = app.login("school_admin").await;
    let page = sa
        .get(app.url(&format!("/library/r/{id}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("recommend-form") && page.contains("id=\"history\""));
    app.stop().await;
}

#[tokio::test]
async fn resource_library_forms_need_the_csrf_token_and_work_without_javascript() {
    let app = TestApp::start().await;
    let teacher = app.login("teacher").await;
    let csrf = app.csrf(&teacher).await;
    let node = section(&app).await;
    let form = |csrf: Option<&str>, title: &str| {
        let mut f = reqwest::multipart::Form::new();
        if let Some(t) = csrf {
            f = f.text("csrf", t.to_owned());
        }
        f.text("title", title.to_owned())
            .text("kind", "lesson_plan")
            .text("tags", "识字，朗读")
            .text("description", "一份教案")
            .text("catalog_ids", node.clone())
            .text("upload_id", "")
            .part(
                "file",
                reqwest::multipart::Part::bytes("《天地人》教学过程".as_bytes().to_vec())
                    .file_name("教案.txt"),
            )
    };
    let res = teacher
        .post(app.url("/library/new"))
        .multipart(form(None, "无令牌"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = teacher
        .post(app.url("/library/new"))
        .multipart(form(Some("wrong"), "错误令牌"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let (n,): (i64,) = on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT COUNT(*) FROM uploads WHERE file_name = '教案.txt'",
    ).fetch_one(p).await)
    .unwrap();
    assert_eq!(n, 0, "no file kept without the token");

    // Without a title the form comes back with the input kept, and the stored file too.
    let res = teacher
        .post(app.url("/library/new"))
        .multipart(form(Some(&csrf), ""))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = res.text().await.unwrap();
    assert!(
        page.contains("识字，朗读") && page.contains("一份教案") && page.contains("教案.txt"),
        "input kept"
    );
    assert!(page.contains("class=\"field-error\""));
    let res = teacher
        .post(app.url("/library/new"))
        .multipart(form(Some(&csrf), "《天地人》教案（无脚本）"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let to = res.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        to.starts_with("/library/r/") && to.ends_with("?ok=created"),
        "{to}"
    );
    let id = to
        .trim_start_matches("/library/r/")
        .trim_end_matches("?ok=created")
        .to_owned();
    let page = teacher
        .get(app.url(&to))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("《天地人》教案（无脚本）") && page.contains("<iframe id=\"preview\""));
    let body = teacher
        .get(app.url(&format!("/library/r/{id}/file")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(body, "《天地人》教学过程");

    // The small forms too.
    for (path, fields) in [
        (format!("/library/r/{id}/favourite"), vec![("on", "true")]),
        (format!("/library/r/{id}/submit"), vec![("version", "1")]),
        (format!("/library/r/{id}/comments"), vec![("body", "好")]),
        (format!("/library/r/{id}/delete"), vec![]),
    ] {
        let res = teacher
            .post(app.url(&path))
            .form(&fields)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{path}");
    }
    let with = [("csrf", csrf.as_str()), ("version", "1")];
    let res = teacher
        .post(app.url(&format!("/library/r/{id}/submit")))
        .form(&with)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    // A second submit is refused on the page (409: it waits for the school's review already).
    let res = teacher
        .post(app.url(&format!("/library/r/{id}/submit")))
        .form(&with)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CONFLICT);
    // Editing through the form (no new file) sends it back to the school's review as v2.
    let edit = reqwest::multipart::Form::new()
        .text("csrf", csrf.clone())
        .text("version", "1")
        .text("title", "《天地人》教案（修订）")
        .text("kind", "lesson_plan")
        .text("tags", "识字")
        .text("description", "修订版")
        .text("catalog_ids", node.clone())
        .text("upload_id", "")
        .part(
            "file",
            reqwest::multipart::Part::bytes(Vec::new()).file_name(""),
        );
    let res = teacher
        .post(app.url(&format!("/library/r/{id}/edit")))
        .multipart(edit)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let page = teacher
        .get(app.url(&format!("/library/r/{id}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("《天地人》教案（修订）") && page.contains("修改后退回重审"),
        "a reset step"
    );
    let body = teacher
        .get(app.url(&format!("/library/r/{id}/file")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(body, "《天地人》教学过程", "the file kept");
    app.stop().await;
}

#[tokio::test]
async fn resource_library_review_with_a_stale_version_is_409() {
    let app = TestApp::start().await;
    let token = app.token("teacher").await;
    let r = create(&app, &token, "《金木水火土》卡片").await;
    let id = r["id"].as_str().unwrap().to_owned();
    let c = Client::new();
    api(
        &c,
        c.post(app.url(&format!("/api/v1/resources/{id}/submit")))
            .json(&json!({ "version": 1 })),
        &token,
    )
    .await;
    // The author edits while the reviewer looks at version 1.
    let (s, e) = api(
        &c,
        c.patch(app.url(&format!("/api/v1/resources/{id}")))
            .json(&json!({ "version": 1, "title": "《金木水火土》卡片（改）" })),
        &token,
    )
    .await;
    assert_eq!(
        (s, e["version"].as_i64(), e["pending_level"].as_str()),
        (StatusCode::OK, Some(2), Some("school")),
        "{e}"
    );
    let admin = app.token("school_admin").await;
    let (s, err) = api(
        &c,
        c.post(app.url(&format!("/api/v1/resources/{id}/approve")))
            .json(&json!({ "version": 1, "score": 4 })),
        &admin,
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert_eq!(err["error"]["code"], "resources.changed_meanwhile");
    // The page's form says so too.
    let sa = app.login("school_admin").await;
    let csrf = app.csrf(&sa).await;
    let res = sa
        .post(app.url(&format!("/library/r/{id}/approve")))
        .form(&[
            ("csrf", csrf.as_str()),
            ("version", "1"),
            ("score", "4"),
            ("comment", "好"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let page = res.text().await.unwrap();
    assert!(
        page.contains("role=\"alert\"") && page.contains("value=\"好\""),
        "the reason and the comment kept"
    );
    // On the current version it goes through; the author's history shows both steps.
    let (s, ok) = api(
        &c,
        c.post(app.url(&format!("/api/v1/resources/{id}/approve")))
            .json(&json!({ "version": 2, "score": 4 })),
        &admin,
    )
    .await;
    assert_eq!(
        (s, ok["scope"].as_str()),
        (StatusCode::OK, Some("school")),
        "{ok}"
    );
    let (s, steps) = api(
        &c,
        c.get(app.url(&format!("/api/v1/resources/{id}/reviews"))),
        &token,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let d: Vec<&str> = steps
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["decision"].as_str())
        .collect();
    assert_eq!(d, vec!["submitted", "reset", "approved"]);
    // A rejection without a reason is 422.
    let (s, _) = api(
        &c,
        c.post(app.url(&format!("/api/v1/resources/{id}/recommend")))
            .json(&json!({ "version": 2 })),
        &admin,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let district = app.token("district_admin").await;
    let (s, e) = api(
        &c,
        c.post(app.url(&format!("/api/v1/resources/{id}/reject")))
            .json(&json!({ "version": 2, "comment": "" })),
        &district,
    )
    .await;
    assert_eq!(
        (s, e["error"]["fields"]["comment"].is_string()),
        (StatusCode::UNPROCESSABLE_ENTITY, true),
        "{e}"
    );
    let (s, q) = api(
        &c,
        c.get(app.url("/api/v1/reviews?level=district")),
        &district,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        q["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["id"] == id.as_str()),
        "{q}"
    );
    app.stop().await;
}

#[tokio::test]
async fn resource_library_pages_render() {
    let app = TestApp::start().await;
    let teacher = app.login("teacher").await;
    for (path, marker) in [
        ("/library", "library-links"),
        ("/library/new", "data-chunked-upload=\"upload_id\""),
        ("/library/new", "enctype=\"multipart/form-data\""),
        ("/library/mine", "id=\"mine\""),
        ("/library/excellent", "id=\"lists\""),
    ] {
        let res = teacher.get(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        let html = res.text().await.unwrap();
        assert!(html.contains(marker), "{path}: {marker}");
    }
    // The picker stands at ?node='s volume, with the chapter ticked, and shows the way there.
    let node = section(&app).await;
    let html = teacher
        .get(app.url(&format!("/library/new?node={node}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains(&format!(
            "<input type=\"checkbox\" name=\"catalog_ids\" value=\"{node}\" checked>"
        )),
        "preselected"
    );
    let trail = html.split("id=\"picker-trail\"").nth(1).unwrap();
    assert!(
        trail.contains(">小学</a>") && trail.contains(">语文</a>"),
        "{trail}"
    );
    // Simplified Chinese by default.
    assert!(html.contains("上传资源"));
    let sa = app.login("school_admin").await;
    for (path, marker) in [
        ("/library/review", "id=\"queue\""),
        ("/library/reviewers", "review."),
    ] {
        let res = sa.get(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        let html = res.text().await.unwrap();
        if marker == "review." {
            assert!(!html.contains(marker), "no untranslated key on {path}");
            assert!(html.contains("教研组长"));
        } else {
            assert!(html.contains(marker), "{path}: {marker}");
        }
    }
    // Teachers appoint no one; students read the library but do not upload; guardians have
    // no library.
    assert_eq!(
        status(&teacher, app.url("/library/reviewers")).await,
        StatusCode::FORBIDDEN
    );
    let student = app.login("student").await;
    assert_eq!(status(&student, app.url("/library")).await, StatusCode::OK);
    assert_eq!(
        status(&student, app.url("/library/new")).await,
        StatusCode::FORBIDDEN
    );
    let guardian = app.login("guardian").await;
    assert_eq!(
        status(&guardian, app.url("/library")).await,
        StatusCode::FORBIDDEN
    );
    // The published demo list is shown to a teacher of the district.
    let html = teacher
        .get(app.url("/library/excellent"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("上城区优秀教学资源"));
    app.stop().await;
}

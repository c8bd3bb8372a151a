//! The pages as the people who use them meet them (issue #16): each defect found by trying the
//! platform as each demo role, reproduced here over HTTP. The crawler (`crawler.rs`) and the
//! browser tests check the rest in Chromium.

use crate::helpers::{TestApp, node_by_code};
use reqwest::{Client, StatusCode};

async fn page(c: &Client, app: &TestApp, path: &str) -> (StatusCode, String) {
    let r = c.get(app.url(path)).send().await.unwrap();
    (r.status(), r.text().await.unwrap())
}

#[tokio::test]
async fn previews_may_be_framed_by_the_platforms_own_pages_only() {
    let app = TestApp::start().await;
    let teacher = app.login("teacher").await;
    let (id,): (kernel::ResourceId,) = kernel::on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT r.id FROM resources r JOIN blobs b ON b.hash = r.blob_hash
         WHERE b.category IN ('pdf', 'image') AND r.scope <> 'private' ORDER BY r.title LIMIT 1",
    ).fetch_one(p).await)
    .unwrap();
    let r = teacher
        .get(app.url(&format!("/library/r/{id}/preview")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["x-frame-options"], "SAMEORIGIN");
    let csp = r.headers()["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("frame-ancestors 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    // Every other page is still never framed, by anyone.
    let r = teacher
        .get(app.url(&format!("/library/r/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-frame-options"], "DENY");
    let csp = r.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    app.stop().await;
}

#[test]
fn no_template_carries_an_inline_style_or_script() {
    // The policy allows styles from the stylesheet only: an inline style would be blocked.
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut offending = Vec::new();
    for krate in std::fs::read_dir(&root).unwrap() {
        let dir = krate.unwrap().path().join("templates");
        let mut stack = vec![dir];
        while let Some(d) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&d) else {
                continue;
            };
            for e in entries {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                    continue;
                }
                let text = std::fs::read_to_string(&p).unwrap();
                if text.contains(" style=\"") || text.contains("<style") {
                    offending.push(format!("{} (style)", p.display()));
                }
                if text.contains("<script>") || text.contains(" onclick=") {
                    offending.push(format!("{} (inline script)", p.display()));
                }
            }
        }
    }
    assert!(offending.is_empty(), "{offending:?}");
}

#[tokio::test]
async fn times_are_in_the_regions_zone_on_pages_and_with_their_offset_in_the_api() {
    let app = TestApp::start().await;
    let admin = app.login("school_admin").await;
    let (s, html) = page(&admin, &app, "/admin/audit").await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("<time datetime=\""), "{html}");
    assert!(
        html.contains("+08:00\">"),
        "times carry Beijing time's offset"
    );
    assert!(!html.contains("UTC"), "no UTC on a page");
    // The API: RFC 3339 with an explicit offset.
    let token = app.token("school_admin").await;
    let body: serde_json::Value = reqwest::Client::new()
        .get(app.url("/api/v1/resources?per_page=1"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let at = body["items"][0]["created_at"].as_str().unwrap();
    assert!(
        chrono::DateTime::parse_from_rfc3339(at).is_ok() && (at.ends_with('Z') || at.contains('+')),
        "{at}"
    );
    app.stop().await;
}

#[tokio::test]
async fn an_error_page_keeps_the_menu_the_logout_and_a_working_language_switch() {
    let app = TestApp::start().await;
    let admin = app.login("school_admin").await;
    let city = crate::helpers::demo_city(&app).await;
    let (s, html) = page(&admin, &app, &format!("/admin/org/{city}")).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert!(
        html.contains("action=\"/logout\"") && html.contains("href=\"/admin/people\""),
        "the menu and the logout: {html}"
    );
    let csrf = crate::helpers::extract_csrf(&html);
    assert!(
        !csrf.is_empty(),
        "the language switch carries the session's token"
    );
    // Switching language there works, and leads back to the page it was pressed on.
    let r = admin
        .post(app.url("/lang"))
        .header("referer", app.url("/admin/people?page=1"))
        .form(&[("lang", "en"), ("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/admin/people?page=1");
    app.stop().await;
}

#[tokio::test]
async fn breadcrumbs_and_menus_offer_only_what_their_viewer_may_open() {
    let app = TestApp::start().await;
    let school = node_by_code(&app, "2133010001").await;
    let admin = app.login("school_admin").await;
    let (_, html) = page(&admin, &app, &format!("/admin/org/{school}")).await;
    let crumbs = html.split("<ol class=\"crumbs\">").nth(1).unwrap();
    let crumbs = crumbs.split("</ol>").next().unwrap();
    assert!(
        crumbs.contains("浙江省") && crumbs.contains("上城区"),
        "{crumbs}"
    );
    assert!(
        !crumbs.contains("<a "),
        "no link above the school: {crumbs}"
    );
    // The school's administrator: the school's imports in the menu; no region settings.
    assert!(html.contains("href=\"/admin/imports\""), "{html}");
    assert!(
        !html.contains("href=\"/admin/upstream\"") && !html.contains("href=\"/admin/security\"")
    );
    let r = admin.get(app.url("/admin/imports")).send().await.unwrap();
    assert_eq!(
        r.headers()["location"],
        format!("/admin/org/{school}/imports").as_str()
    );
    assert_eq!(
        admin
            .get(app.url("/admin/upstream"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::FORBIDDEN
    );
    // The district's administrator has them.
    let district = app.login("district_admin").await;
    let (_, html) = page(&district, &app, "/").await;
    assert!(html.contains("href=\"/admin/upstream\"") && html.contains("href=\"/admin/security\""));
    // A teacher's roster links to the students (theirs to open), not to colleagues.
    let teacher = app.login("teacher").await;
    let (_, classes) = page(&teacher, &app, "/classes").await;
    let class = classes.split("href=\"/classes/").nth(1).unwrap();
    let class = &class[..class.find('"').unwrap()];
    let (_, roster) = page(&teacher, &app, &format!("/classes/{class}")).await;
    for link in roster.split("href=\"/people/").skip(1) {
        let id = &link[..link.find('"').unwrap()];
        let (s, _) = page(&teacher, &app, &format!("/people/{id}")).await;
        assert_eq!(s, StatusCode::OK, "a roster link the teacher cannot follow");
    }
    app.stop().await;
}

#[tokio::test]
async fn the_audit_log_reads_in_words_with_names_and_links() {
    let app = TestApp::start().await;
    let admin = app.login("school_admin").await;
    let (_, html) = page(&admin, &app, "/admin/audit").await;
    assert!(html.contains("<td>登录</td>"), "translated actions: {html}");
    assert!(!html.contains("auth.login</"), "no action codes");
    assert!(
        html.contains("<option value=\"auth.login\">登录</option>"),
        "filter by name"
    );
    let (name,): (String,) = kernel::on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT p.name FROM persons p JOIN accounts a ON a.person_id = p.id WHERE a.username = 'school_admin'",
    ).fetch_one(p).await)
    .unwrap();
    assert!(
        html.contains(&format!("\">{name}</a>")),
        "people by name, linked"
    );
    let (_, filtered) = page(&admin, &app, "/admin/audit?action=auth.").await;
    assert!(filtered.contains("<td>登录</td>") && !filtered.contains("<td>导出学生</td>"));
    // The library's objects by their titles, through the names the library registered.
    let (_, library) = page(&admin, &app, "/admin/audit?action=resource.").await;
    let titles: Vec<(String,)> = kernel::on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT title FROM resources").fetch_all(p).await)
    .unwrap();
    assert!(
        titles
            .iter()
            .any(|(t,)| library.contains(&format!("{t}</"))),
        "resources by title: {library}"
    );
    app.stop().await;
}

#[tokio::test]
async fn students_find_what_is_shared_with_students_and_guardians_their_childrens_classes() {
    let app = TestApp::start().await;
    let student = app.login("student").await;
    let (s, html) = page(&student, &app, "/library").await;
    assert_eq!(s, StatusCode::OK, "{html}");
    assert!(html.contains("为学生共享的资源"), "{html}");
    let rows: Vec<(String, bool)> = kernel::on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT title, for_students FROM resources WHERE scope <> 'private' AND deleted_at IS NULL",
    ).fetch_all(p).await)
    .unwrap();
    let escaped = |t: &str| {
        t.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    assert!(
        rows.iter().any(|(t, f)| *f && html.contains(&escaped(t))),
        "a resource shared with students is listed"
    );
    for (t, f) in &rows {
        if !f {
            assert!(!html.contains(&escaped(t)), "{t} is for teachers only");
        }
    }
    assert!(
        !html.contains("href=\"/library/new\""),
        "students do not upload"
    );
    let (s, _) = page(&student, &app, "/library/search?q=%E6%95%99%E6%A1%88").await;
    assert_eq!(s, StatusCode::OK);
    // A guardian's classes page shows the child's class, not "no classes taught".
    let guardian = app.login("guardian").await;
    let (_, html) = page(&guardian, &app, "/classes").await;
    assert!(
        html.contains("孩子所在的班级") && !html.contains("没有任教的班级"),
        "{html}"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_students_record_shows_birth_date_guardians_and_classes() {
    let app = TestApp::start().await;
    let student = app.person_id("student").await;
    let admin = app.login("school_admin").await;
    let (s, html) = page(&admin, &app, &format!("/people/{student}")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("id=\"birth-date\""), "{html}");
    assert!(
        html.contains("id=\"family\"") && html.contains("id=\"class-history\""),
        "{html}"
    );
    // Phones of the family are masked until revealed.
    let family = html.split("id=\"family\"").nth(1).unwrap();
    assert!(family.contains("****"), "{family}");
    // The role form offers 学生 first for a student.
    let roles = html
        .split("<select id=\"role\" name=\"role\">")
        .nth(1)
        .unwrap();
    assert!(
        roles.trim_start().starts_with("<option value=\"student\">"),
        "{roles}"
    );
    app.stop().await;
}

#[tokio::test]
async fn an_application_for_teachers_is_not_in_an_administrators_portal() {
    let app = TestApp::start().await;
    let token = app.token("city_admin").await;
    let city = crate::helpers::demo_city(&app).await;
    let r = reqwest::Client::new()
        .post(app.url("/api/v1/applications"))
        .bearer_auth(&token)
        .json(&serde_json::json!({
            "node_id": city, "protocol": "oidc", "name": "教师备课助手",
            "home_url": "https://prep.example/", "redirect_uris": ["https://prep.example/cb"],
            "allowed_roles": ["teacher"],
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let (_, portal) = page(&app.login("city_admin").await, &app, "/portal").await;
    assert!(!portal.contains("教师备课助手"), "{portal}");
    let (_, portal) = page(&app.login("teacher").await, &app, "/portal").await;
    assert!(portal.contains("教师备课助手"), "{portal}");
    app.stop().await;
}

#[tokio::test]
async fn the_favicon_and_the_upload_page_are_small_and_found() {
    let app = TestApp::start().await;
    let r = TestApp::client()
        .get(app.url("/favicon.ico"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "image/svg+xml");
    let teacher = app.login("teacher").await;
    let (s, html) = page(&teacher, &app, "/library/new").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.len() < 20_000,
        "the upload page is {} bytes",
        html.len()
    );
    assert!(!html.contains("multiple"), "no Ctrl-click list");
    // The teacher's own textbooks are offered at once; a volume's chapters are check boxes.
    let mine = html.split("id=\"my-volumes\"").nth(1).expect("own volumes");
    let at = mine.split("?at=").nth(1).unwrap();
    let at = &at[..at.find('"').unwrap()];
    let (_, volume) = page(&teacher, &app, &format!("/library/new?at={at}")).await;
    assert!(
        volume.contains("type=\"checkbox\" name=\"catalog_ids\""),
        "{volume}"
    );
    assert!(volume.len() < 30_000);
    app.stop().await;
}

#[test]
fn the_platform_builds_without_a_system_openssl() {
    // Two commands on a machine with only the Rust toolchain: nothing may link the system's
    // OpenSSL (the passkey library once did, and needed libssl-dev and pkg-config).
    let lock = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../Cargo.lock"),
    )
    .unwrap();
    for native in ["openssl-sys", "native-tls"] {
        assert!(
            !lock.contains(&format!("name = \"{native}\"")),
            "{native} is in the dependency tree"
        );
    }
}

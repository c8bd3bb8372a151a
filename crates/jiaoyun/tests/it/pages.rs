//! The web shell over HTTP: login and logout, home pages per role, language, CSRF, audit.

use crate::helpers::{TestApp, audit_count, extract_csrf};
use reqwest::StatusCode;

#[tokio::test]
async fn every_demo_role_logs_in_and_sees_their_home_page() {
    let app = TestApp::start().await;
    let expectations = [
        ("city_admin", "杭州市"),
        ("district_admin", "上城区"),
        ("school_admin", "上城区实验小学"),
        ("teacher", "我任教的班级"),
        ("student", "我的班级"),
        ("guardian", "我的孩子"),
    ];
    for (user, expected) in expectations {
        let c = app.login(user).await;
        let r = c.get(app.url("/")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{user}");
        let body = r.text().await.unwrap();
        assert!(
            body.contains(expected),
            "{user}'s home page lacks {expected}"
        );
        assert!(
            body.len() < 100 * 1024,
            "{user}'s home page is {} bytes",
            body.len()
        );
        assert!(body.contains("lang=\"zh-CN\""));
    }
    assert_eq!(audit_count(&app, "auth.login").await, 6);
    app.stop().await;
}

#[tokio::test]
async fn anonymous_visitors_go_to_login_and_wrong_passwords_are_refused_and_audited() {
    let app = TestApp::start().await;
    let c = TestApp::client();
    let r = c.get(app.url("/admin/people")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/login?next=/admin/people");
    // Unknown account and wrong password get the same answer.
    assert_eq!(
        app.login_with("teacher", "wrong-password").await.err(),
        Some(StatusCode::UNAUTHORIZED)
    );
    assert_eq!(
        app.login_with("nobody_here", "wrong-password").await.err(),
        Some(StatusCode::UNAUTHORIZED)
    );
    assert_eq!(audit_count(&app, "auth.login_failed").await, 2);
    app.stop().await;
}

#[tokio::test]
async fn asvs_v6_3_1_five_failures_lock_the_account_for_a_while() {
    let app = TestApp::start().await;
    for _ in 0..5 {
        assert_eq!(
            app.login_with("student", "Wrong-pass1").await.err(),
            Some(StatusCode::UNAUTHORIZED)
        );
    }
    // Locked now: even the right password is refused, with a wait.
    assert_eq!(
        app.login_with("student", crate::helpers::DEMO_PASSWORD)
            .await
            .err(),
        Some(StatusCode::TOO_MANY_REQUESTS)
    );
    let reasons: Vec<(Option<String>,)> = kernel::on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT detail FROM audit_log WHERE action = 'auth.login_failed' ORDER BY at DESC LIMIT 1").fetch_all(p).await).unwrap();
    assert!(reasons[0].0.as_deref().unwrap_or("").contains("locked"));
    assert_eq!(audit_count(&app, "auth.lockout").await, 1);
    // An account name nobody has behaves exactly the same: nothing to learn from the answers.
    for _ in 0..5 {
        assert_eq!(
            app.login_with("nobody_at_all", "Wrong-pass1").await.err(),
            Some(StatusCode::UNAUTHORIZED)
        );
    }
    assert_eq!(
        app.login_with("nobody_at_all", "Wrong-pass1").await.err(),
        Some(StatusCode::TOO_MANY_REQUESTS)
    );
    app.stop().await;
}

#[tokio::test]
async fn asvs_v7_4_1_logout_ends_the_session() {
    let app = TestApp::start().await;
    let c = app.login("teacher").await;
    let csrf = app.csrf(&c).await;
    let r = c
        .post(app.url("/logout"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = c.get(app.url("/")).send().await.unwrap();
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "the old session no longer works"
    );
    assert_eq!(audit_count(&app, "auth.logout").await, 1);
    app.stop().await;
}

#[tokio::test]
async fn asvs_v3_5_1_forms_without_the_csrf_token_are_refused() {
    let app = TestApp::start().await;
    let c = app.login("school_admin").await;
    let r = c
        .post(app.url("/logout"))
        .form(&[("csrf", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // Login form without its double-submit cookie.
    let fresh = TestApp::client();
    let r = fresh
        .post(app.url("/login"))
        .form(&[
            ("username", "teacher"),
            ("password", crate::helpers::DEMO_PASSWORD),
            ("csrf", "x"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    app.stop().await;
}

#[tokio::test]
async fn the_language_switch_is_remembered_on_the_account() {
    let app = TestApp::start().await;
    let c = app.login("teacher").await;
    let csrf = app.csrf(&c).await;
    let r = c
        .post(app.url("/lang"))
        .form(&[("lang", "en"), ("csrf", csrf.as_str()), ("next", "/")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let body = c
        .get(app.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        body.contains("Classes I teach") && body.contains("lang=\"en\""),
        "English home page"
    );
    // A new login (new cookie jar) keeps English: it is stored on the account.
    let c2 = app.login("teacher").await;
    let body = c2
        .get(app.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(body.contains("Log out"));
    app.stop().await;
}

#[tokio::test]
async fn an_admin_creates_a_person_who_must_change_the_initial_password() {
    let app = TestApp::start().await;
    let c = app.login("school_admin").await;
    let school: (kernel::NodeId,) = kernel::on_db!(&app.state.db, p => sqlx::query_as("SELECT id FROM org_nodes WHERE code = '2133010001'").fetch_one(p).await).unwrap();
    let form = c
        .get(app.url(&format!("/admin/people/new?node={}", school.0)))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = extract_csrf(&form);
    // Invalid input: the errors come back beside the fields, the input is kept.
    let bad = c
        .post(app.url("/admin/people"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("org_id", &school.0.to_string()),
            ("name", "李老师"),
            ("phone", "12345"),
            ("id_number", "110105194912310021"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = bad.text().await.unwrap();
    assert!(
        body.contains("请输入 11 位手机号码")
            && body.contains("校验位不正确")
            && body.contains("value=\"李老师\"")
    );
    let ok = c
        .post(app.url("/admin/people"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("org_id", &school.0.to_string()),
            ("name", "李老师"),
            ("gender", "2"),
            ("staff_no", "T9001"),
            ("phone", "13800001111"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::CREATED);
    let body = ok.text().await.unwrap();
    let marker = "id=\"initial-password\">";
    let start = body.find(marker).unwrap() + marker.len();
    let password = body[start..].split('<').next().unwrap().to_owned();
    let newcomer = app
        .login_with("t9001", &password)
        .await
        .expect("initial password works");
    let r = newcomer.get(app.url("/")).send().await.unwrap();
    assert_eq!(
        r.headers()["location"],
        "/profile/password",
        "must change the password first"
    );
    let form = newcomer
        .get(app.url("/profile/password"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = extract_csrf(&form);
    let r = newcomer
        .post(app.url("/profile/password"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("current_password", password.as_str()),
            ("new_password", "Better-pass-2025"),
            ("confirm_password", "Better-pass-2025"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        newcomer.get(app.url("/")).send().await.unwrap().status(),
        StatusCode::OK
    );
    assert!(app.login_with("t9001", "Better-pass-2025").await.is_ok());
    assert_eq!(audit_count(&app, "person.create").await, 1);
    assert_eq!(audit_count(&app, "auth.password_change").await, 1);
    app.stop().await;
}

#[tokio::test]
async fn asvs_v14_2_4_personal_data_is_masked_until_revealed_and_the_reveal_is_audited() {
    let app = TestApp::start().await;
    let c = app.login("school_admin").await;
    let teacher = app.person_id("teacher").await;
    let page = c
        .get(app.url(&format!("/people/{teacher}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("139****"), "phone masked in the default view");
    assert_eq!(audit_count(&app, "person.view_personal_data").await, 0);
    let page = c
        .get(app.url(&format!("/people/{teacher}?reveal=true")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!page.contains("139****"), "phone in full after reveal");
    assert_eq!(audit_count(&app, "person.view_personal_data").await, 1);
    // A teacher may see a student of their class, but never unmasked.
    let t = app.login("teacher").await;
    let student = app.person_id("student").await;
    let page = t
        .get(app.url(&format!("/people/{student}?reveal=true")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("**********"),
        "registry number stays masked for a teacher"
    );
    assert_eq!(audit_count(&app, "person.view_personal_data").await, 1);
    // An imported student logs in with their registry number: the login name is masked with it.
    let (registry,): (String,) = kernel::on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT registry_no FROM persons WHERE id = $1",
    ).bind(student).fetch_one(p).await)
    .unwrap();
    kernel::on_db!(&app.state.db, p => sqlx::query("UPDATE accounts SET username = $2 WHERE person_id = $1")
        .bind(student).bind(registry.to_lowercase()).execute(p).await.map(|_| ())).unwrap();
    let page = t
        .get(app.url(&format!("/people/{student}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !page.to_lowercase().contains(&registry.to_lowercase()),
        "login name masked"
    );
    let page = c
        .get(app.url(&format!("/people/{student}?reveal=true")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(&registry.to_lowercase()),
        "in full when revealed"
    );
    app.stop().await;
}

#[tokio::test]
async fn the_audit_log_is_searchable_exportable_and_append_only() {
    let app = TestApp::start().await;
    let _ = app.login("teacher").await;
    let c = app.login("city_admin").await;
    let page = c
        .get(app.url("/admin/audit?action=auth."))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("auth.login"));
    let csv = c
        .get(app.url("/admin/audit.csv?person=teacher"))
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), StatusCode::OK);
    let text = csv.text().await.unwrap();
    assert!(text.starts_with('\u{FEFF}'));
    assert!(
        text.lines().count() >= 2 && text.contains("auth.login"),
        "{text}"
    );
    // A school administrator does not see the city administrator's login.
    let s = app.login("school_admin").await;
    let page = s
        .get(app.url("/admin/audit?person=city_admin"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!page.contains("<code>auth.login</code>"));
    // The database refuses to change an entry.
    let r = kernel::on_db!(&app.state.db, p => sqlx::query("UPDATE audit_log SET action = 'x'").execute(p).await.map(|_| ()));
    assert!(r.is_err(), "audit_log must be append-only");
    app.stop().await;
}

#[tokio::test]
async fn operational_endpoints_answer() {
    let app = TestApp::start().await;
    let c = TestApp::client();
    assert_eq!(
        c.get(app.url("/healthz"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "ok"
    );
    assert_eq!(
        c.get(app.url("/readyz")).send().await.unwrap().status(),
        StatusCode::OK
    );
    let _ = c.get(app.url("/login")).send().await.unwrap();
    let r = c.get(app.url("/login")).send().await.unwrap();
    assert!(r.headers().contains_key("x-request-id"));
    assert_eq!(r.headers()["x-frame-options"], "DENY");
    let r = c.get(app.url("/no/such/page")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    app.stop().await;
}

#[tokio::test]
async fn administration_pages_are_light_and_translated_in_both_languages() {
    let app = TestApp::start().await;
    let c = app.login("district_admin").await;
    let (district,): (kernel::NodeId,) = kernel::on_db!(&app.state.db, p => sqlx::query_as("SELECT id FROM org_nodes WHERE code = '330102'").fetch_one(p).await).unwrap();
    let teacher = app.person_id("teacher").await;
    let pages = [
        "/".to_owned(),
        format!("/admin/org/{district}"),
        format!("/admin/people?node={district}"),
        "/admin/people?q=%E7%8E%8B".to_owned(),
        format!("/admin/people/new?node={district}"),
        format!("/people/{teacher}"),
        "/admin/audit".to_owned(),
        "/profile".to_owned(),
        "/profile/password".to_owned(),
    ];
    for lang in ["zh-CN", "en"] {
        let csrf = app.csrf(&c).await;
        c.post(app.url("/lang"))
            .form(&[("lang", lang), ("csrf", csrf.as_str())])
            .send()
            .await
            .unwrap();
        for path in &pages {
            let r = c.get(app.url(path)).send().await.unwrap();
            assert_eq!(r.status(), StatusCode::OK, "{lang} {path}");
            let body = r.text().await.unwrap();
            assert!(body.len() < 100 * 1024, "{path} is {} bytes", body.len());
            assert!(body.contains(&format!("lang=\"{lang}\"")), "{lang} {path}");
            // No untranslated key leaks into the page (keys look like `section.name`).
            for marker in [
                "nav.", "people.", "org.", "error.", "audit.", "profile.", "role.",
            ] {
                assert!(
                    !body.contains(&format!(">{marker}")),
                    "{lang} {path} shows a raw key starting {marker}"
                );
            }
        }
    }
    app.stop().await;
}

#[tokio::test]
async fn the_retention_job_purges_only_entries_past_retention() {
    let app = TestApp::start().await;
    let _ = app.login("teacher").await;
    let before = audit_count(&app, "auth.login").await;
    assert_eq!(before, 1);
    // With the default retention nothing recent goes.
    jiaoyun::server::run_maintenance(&app.state).await;
    assert_eq!(audit_count(&app, "auth.login").await, 1);
    // A clock a year ahead puts today's entries past the 180 days.
    let later = kernel::AppState {
        clock: kernel::Clock::fixed(chrono::Utc::now() + chrono::Duration::days(365)),
        ..app.state.clone()
    };
    jiaoyun::server::run_maintenance(&later).await;
    assert_eq!(audit_count(&app, "auth.login").await, 0);
    app.stop().await;
}

/// People see their own recent logins, failed attempts included, and nobody else's.
#[tokio::test]
async fn the_profile_lists_ones_own_recent_logins_and_failures() {
    let app = TestApp::start().await;
    assert!(app.login_with("teacher", "wrong-password").await.is_err());
    let c = app.login("teacher").await;
    let _other = app.login("student").await;
    let page = c
        .get(app.url("/profile"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let table = &page[page.find("id=\"recent-logins\"").expect("the table")..];
    let table = &table[..table.find("</table>").unwrap()];
    assert_eq!(
        table.matches("<tr><td>").count(),
        2,
        "one login, one failure: {table}"
    );
    assert!(table.contains("<strong>"), "the failure stands out");
    app.stop().await;
}

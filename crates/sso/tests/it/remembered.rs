//! "Keep me signed in on this device": a remembered login lasts the region's `remember_days`,
//! idle or not, with a cookie that outlives the browser; administrators and regions that turned
//! it off get an ordinary session.

use crate::helpers::{DEMO_PASSWORD, TestApp, extract_csrf};
use crate::login_security::{app, set_policy};
use reqwest::StatusCode;

/// Logs in through the form, ticking "keep me signed in" or not; returns the client, the
/// session cookie's `Set-Cookie` line and the new session's (idle minutes, remembered, days
/// until it expires).
async fn log_in(
    app: &TestApp,
    user: &str,
    remember: bool,
) -> (reqwest::Client, String, (i64, bool, i64)) {
    let c = TestApp::client();
    let page = c
        .get(app.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = extract_csrf(&page);
    let mut form = vec![
        ("username", user),
        ("password", DEMO_PASSWORD),
        ("csrf", csrf.as_str()),
        ("next", "/"),
    ];
    if remember {
        form.push(("remember", "on"));
    }
    let r = c.post(app.url("/login")).form(&form).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{user} logs in");
    let cookie = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("jy_session="))
        .expect("a session cookie")
        .to_owned();
    let person = app.person_id(user).await;
    let (idle, remembered, created, expires): (
        Option<i64>,
        bool,
        chrono::DateTime<chrono::Utc>,
        chrono::DateTime<chrono::Utc>,
    ) = kernel::on_db!(&app.state.db, p => sqlx::query_as(
            "SELECT idle_minutes, remembered, created_at, expires_at FROM sessions
             WHERE person_id = $1 ORDER BY created_at DESC LIMIT 1",
        ).bind(person).fetch_one(p).await)
    .unwrap();
    (
        c,
        cookie,
        (
            idle.unwrap_or_default(),
            remembered,
            (expires - created).num_days(),
        ),
    )
}

/// Moves the person's sessions' last activity `days` back, as if the device slept that long.
async fn idle_for(app: &TestApp, user: &str, days: i64) {
    let person = app.person_id(user).await;
    let then = chrono::Utc::now() - chrono::Duration::days(days);
    kernel::on_db!(&app.state.db, p => sqlx::query("UPDATE sessions SET last_seen_at = $2 WHERE person_id = $1")
        .bind(person).bind(then).execute(p).await.map(|r| r.rows_affected()))
    .unwrap();
}

async fn signed_in(app: &TestApp, c: &reqwest::Client) -> bool {
    c.get(app.url("/profile")).send().await.unwrap().status() == StatusCode::OK
}

#[tokio::test]
async fn a_remembered_login_outlasts_idle_days_but_never_for_administrators_or_where_off() {
    let app = app().await;
    // The demo city keeps personal devices signed in for 14 days.
    let (teacher, cookie, session) = log_in(&app, "teacher", true).await;
    assert!(
        cookie.contains(&format!("Max-Age={}", 14 * 24 * 3600)),
        "the cookie outlives the browser: {cookie}"
    );
    assert_eq!(session, (14 * 24 * 60, true, 14));
    let (student, cookie, session) = log_in(&app, "student", false).await;
    assert!(
        !cookie.contains("Max-Age"),
        "an ordinary session cookie: {cookie}"
    );
    assert_eq!(session, (30, false, 0), "MLPS: 30 idle minutes, 12 hours");

    // Three days without use: the remembered session lives, the ordinary one has ended.
    idle_for(&app, "teacher", 3).await;
    idle_for(&app, "student", 3).await;
    assert!(
        signed_in(&app, &teacher).await,
        "the teacher is still signed in"
    );
    assert!(
        !signed_in(&app, &student).await,
        "the pupil must log in again"
    );

    // An administrator asking for it gets an ordinary session.
    let (_, cookie, session) = log_in(&app, "school_admin", true).await;
    assert!(!cookie.contains("Max-Age"), "{cookie}");
    assert!(!session.1, "administrators are never remembered");

    // A remembered person made an administrator since is signed out.
    let (guardian, _, session) = log_in(&app, "guardian", true).await;
    assert!(session.1);
    assert!(signed_in(&app, &guardian).await);
    let person = app.person_id("guardian").await;
    let city = testkit::demo_city(&app).await;
    kernel::on_db!(&app.state.db, p => sqlx::query(
        "INSERT INTO role_assignments (id, person_id, role, node_id, created_at) VALUES ($1, $2, 'admin', $3, $4)",
    ).bind(uuid::Uuid::now_v7()).bind(person).bind(city).bind(chrono::Utc::now())
    .execute(p).await.map(|r| r.rows_affected()))
    .unwrap();
    assert!(
        !signed_in(&app, &guardian).await,
        "an administrator keeps no remembered session"
    );

    // A region that turns it off: the remembered sessions already open end, and new ones are
    // ordinary whatever the box says.
    set_policy(&app, &[("remember_days", "0")]).await;
    identity::policy::forget_cached(&app.state);
    assert!(
        !signed_in(&app, &teacher).await,
        "the teacher's remembered session ended"
    );
    let (_, cookie, session) = log_in(&app, "student", true).await;
    assert!(!cookie.contains("Max-Age"), "{cookie}");
    assert!(!session.1, "not offered where the region turned it off");
    app.stop().await;
}

//! Login hardening: region policy profiles, throttling per account and address with trusted
//! school networks, credential-stuffing detection, password rules and history, expiry, login
//! by phone, and two-factor authentication (TOTP and recovery codes), required for administrators.

use crate::helpers::{DEMO_PASSWORD, TestApp, audit_count, extract_csrf};
use reqwest::{Client, StatusCode};

/// A server that takes the client's address from X-Forwarded-For, so tests can log in from
/// several addresses.
pub(crate) async fn app() -> TestApp {
    TestApp::start_with(|c| {
        c.trusted_proxies = kernel::config::ProxyList(vec!["127.0.0.1/32".parse().unwrap()])
    })
    .await
}

struct Answer {
    status: StatusCode,
    location: String,
    client: Client,
    body: String,
}

/// Logs in through the form from an address.
async fn login_from(app: &TestApp, ip: &str, user: &str, pass: &str) -> Answer {
    let c = TestApp::client();
    let page = c
        .get(app.url("/login"))
        .header("x-forwarded-for", ip)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = extract_csrf(&page);
    let r = c
        .post(app.url("/login"))
        .header("x-forwarded-for", ip)
        .form(&[
            ("username", user),
            ("password", pass),
            ("csrf", csrf.as_str()),
            ("next", "/"),
        ])
        .send()
        .await
        .unwrap();
    answer(r, c).await
}

async fn answer(r: reqwest::Response, client: Client) -> Answer {
    let status = r.status();
    let location = r
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = r.text().await.unwrap_or_default();
    Answer {
        status,
        location,
        client,
        body,
    }
}

/// Sets the demo city's login policy through the page, as its administrator would; `changes`
/// override the fields the page shows.
pub(crate) async fn set_policy(app: &TestApp, changes: &[(&str, &str)]) {
    let admin = login_from(app, "127.0.0.1", "city_admin", DEMO_PASSWORD).await;
    assert_eq!(admin.status, StatusCode::SEE_OTHER, "{}", admin.body);
    let c = admin.client;
    let page = c
        .get(app.url("/admin/security"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let field = |name: &str| -> String {
        let marker = format!("name=\"{name}\" value=\"");
        page.find(&marker)
            .map(|i| {
                page[i + marker.len()..]
                    .split('"')
                    .next()
                    .unwrap_or_default()
                    .to_owned()
            })
            .unwrap_or_default()
    };
    let mut form: Vec<(String, String)> = [
        "csrf",
        "node_id",
        "min_length",
        "expiry_days",
        "history",
        "idle_minutes",
        "absolute_hours",
        "remember_days",
    ]
    .iter()
    .map(|n| ((*n).to_owned(), field(n)))
    .collect();
    form.push(("profile".into(), "mlps".into()));
    for (k, v) in changes {
        form.retain(|(f, _)| f != k);
        form.push(((*k).to_owned(), (*v).to_owned()));
    }
    let r = c
        .post(app.url("/admin/security"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "{}",
        r.text().await.unwrap()
    );
}

#[tokio::test]
async fn a_school_network_is_never_locked_out_together_and_the_internet_cannot_lock_a_pupil_out_of_class()
 {
    let app = app().await;
    set_policy(&app, &[("trusted_networks", "10.1.0.0/16\n192.0.2.7")]).await;

    // Someone on the internet locks the student's account…
    for _ in 0..5 {
        let a = login_from(&app, "203.0.113.9", "student", "Wrong-pass1").await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    }
    let a = login_from(&app, "198.51.100.1", "student", DEMO_PASSWORD).await;
    assert_eq!(
        a.status,
        StatusCode::TOO_MANY_REQUESTS,
        "locked from the internet"
    );
    assert!(
        a.body.contains("15 分钟") || a.body.contains("15 minutes"),
        "says how long to wait"
    );
    // …but in the classroom, behind the school's address, the student logs in.
    let a = login_from(&app, "10.1.4.20", "student", DEMO_PASSWORD).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "not locked at school");

    // Thirty pupils mistyping behind one school address: nobody else is held up, and the
    // pattern is reported, not blocked.
    for i in 0..30 {
        let a = login_from(&app, "10.1.0.1", &format!("pupil{i:02}"), "Wrong-pass1").await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    }
    let a = login_from(&app, "10.1.0.1", "teacher", DEMO_PASSWORD).await;
    assert_eq!(
        a.status,
        StatusCode::SEE_OTHER,
        "the school address still works"
    );
    assert_eq!(audit_count(&app, "auth.credential_stuffing").await, 1);
    app.stop().await;
}

#[tokio::test]
async fn asvs_v6_3_1_credential_stuffing_from_one_address_blocks_that_address_only() {
    let app = app().await;
    for i in 0..20 {
        let a = login_from(
            &app,
            "203.0.113.50",
            &format!("victim{i:02}"),
            "Spring2024!",
        )
        .await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    assert_eq!(audit_count(&app, "auth.credential_stuffing").await, 1);
    // The address is blocked, even for a right password…
    let a = login_from(&app, "203.0.113.50", "teacher", DEMO_PASSWORD).await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS);
    // …and the accounts it tried are not: their owners log in from elsewhere.
    let a = login_from(&app, "198.51.100.2", "teacher", DEMO_PASSWORD).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    let detail: (Option<String>,) = kernel::on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT detail FROM audit_log WHERE action = 'auth.credential_stuffing'").fetch_one(p).await).unwrap();
    assert!(detail.0.unwrap_or_default().contains("blocked_until"));
    app.stop().await;
}

#[tokio::test]
async fn a_completed_login_clears_the_failures_counted_before_it() {
    let app = app().await;
    let ip = "198.51.100.7";
    // Four wrong passwords, one short of the lock, twice over with a right one between: the
    // login in the middle forgets the first four, so the account is never locked.
    for round in 0..2 {
        for i in 0..4 {
            let a = login_from(&app, ip, "teacher", "Wrong-Password-1").await;
            assert_eq!(
                a.status,
                StatusCode::UNAUTHORIZED,
                "round {round}, attempt {i}"
            );
        }
        let a = login_from(&app, ip, "teacher", DEMO_PASSWORD).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "round {round}: {}", a.body);
    }
    assert_eq!(audit_count(&app, "auth.lockout").await, 0);
    // And the counter does count: five in a row lock the account, even for the right password.
    for _ in 0..5 {
        login_from(&app, ip, "teacher", "Wrong-Password-1").await;
    }
    let a = login_from(&app, ip, "teacher", DEMO_PASSWORD).await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(audit_count(&app, "auth.lockout").await, 1);
    app.stop().await;
}

#[tokio::test]
async fn the_modern_profile_delays_instead_of_locking_and_refuses_common_passwords() {
    let app = app().await;
    set_policy(
        &app,
        &[
            ("profile", "modern"),
            ("min_length", "10"),
            ("idle_minutes", "120"),
        ],
    )
    .await;
    for _ in 0..3 {
        let a = login_from(&app, "203.0.113.9", "teacher", "Wrong-pass1").await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    }
    // The third failure asks for a one-second wait, not a fifteen-minute lock.
    let a = login_from(&app, "203.0.113.9", "teacher", DEMO_PASSWORD).await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS);
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    let a = login_from(&app, "203.0.113.9", "teacher", DEMO_PASSWORD).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    let sessions: (Option<i64>,) = kernel::on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT idle_minutes FROM sessions ORDER BY created_at DESC LIMIT 1").fetch_one(p).await)
    .unwrap();
    assert_eq!(
        sessions.0,
        Some(120),
        "the session keeps the policy's idle timeout"
    );

    let c = a.client;
    let (status, body) = app
        .change_password(&c, DEMO_PASSWORD, "woaini1314520")
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body.contains("常见密码") || body.contains("common"),
        "{body}"
    );
    // No character classes needed: length and rarity are what count.
    let (status, _) = app
        .change_password(&c, DEMO_PASSWORD, "blue kettle on the hill")
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    app.stop().await;
}

#[tokio::test]
async fn asvs_v7_3_1_mlps_sessions_idle_out_in_thirty_minutes_passwords_expire_and_history_is_kept()
{
    let app = app().await;
    set_policy(&app, &[("expiry_days", "90"), ("history", "3")]).await;
    let a = login_from(&app, "203.0.113.9", "teacher", DEMO_PASSWORD).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    assert_eq!(a.location, "/");
    let idle: (Option<i64>,) = kernel::on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT idle_minutes FROM sessions ORDER BY created_at DESC LIMIT 1").fetch_one(p).await)
    .unwrap();
    assert_eq!(idle.0, Some(30));

    // History: back to an earlier password is refused.
    let c = a.client;
    assert_eq!(
        app.change_password(&c, DEMO_PASSWORD, "Second#Pass2")
            .await
            .0,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        app.change_password(&c, "Second#Pass2", "Kettle#Hill7")
            .await
            .0,
        StatusCode::SEE_OTHER
    );
    let (status, body) = app
        .change_password(&c, "Kettle#Hill7", "Second#Pass2")
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body.contains("最近使用过") || body.contains("used recently"),
        "{body}"
    );
    assert_eq!(
        app.change_password(&c, "Kettle#Hill7", "Third#Pass3")
            .await
            .0,
        StatusCode::SEE_OTHER
    );

    // Expiry: a password set 100 days ago must be changed at the next login.
    let teacher = app.person_id("teacher").await;
    let old = chrono::Utc::now() - chrono::Duration::days(100);
    kernel::on_db!(&app.state.db, p => sqlx::query("UPDATE accounts SET password_changed_at = $2 WHERE person_id = $1")
        .bind(teacher).bind(old).execute(p).await.map(|r| r.rows_affected())).unwrap();
    let a = login_from(&app, "203.0.113.9", "teacher", "Third#Pass3").await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    assert_eq!(a.location, "/profile/password");
    app.stop().await;
}

#[tokio::test]
async fn people_log_in_with_their_phone_number_too() {
    let app = app().await;
    let (phone, username): (String, String) = kernel::on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT p.phone, a.username FROM persons p JOIN accounts a ON a.person_id = p.id
         WHERE p.phone IS NOT NULL LIMIT 1").fetch_one(p).await)
    .unwrap();
    let a = login_from(&app, "203.0.113.9", &phone, DEMO_PASSWORD).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{username} by {phone}");
    let a = login_from(&app, "203.0.113.9", "13900000000", DEMO_PASSWORD).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED, "nobody has this number");
    app.stop().await;
}

/// The signed-in client's page, with its CSRF token.
async fn page(app: &TestApp, c: &Client, path: &str) -> (String, String) {
    let body = c
        .get(app.url(path))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = extract_csrf(&body);
    (body, csrf)
}

fn between<'a>(s: &'a str, start: &str, end: &str) -> &'a str {
    let i = s.find(start).map(|i| i + start.len()).unwrap_or(s.len());
    s[i..].split(end).next().unwrap_or_default()
}

/// Sets up TOTP through the profile pages; returns the secret and the recovery codes.
async fn enrol(app: &TestApp, c: &Client) -> (String, Vec<String>) {
    let (_, csrf) = page(app, c, "/profile/mfa").await;
    let r = c
        .post(app.url("/profile/mfa/totp"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (body, csrf) = page(app, c, "/profile/mfa").await;
    assert!(body.contains("<svg"), "a QR code to scan");
    let secret = between(&body, "id=\"totp-secret\">", "<").to_owned();
    assert_eq!(secret.len(), 32, "{body}");
    // A wrong first code does not turn it on.
    let r = c
        .post(app.url("/profile/mfa/totp/confirm"))
        .form(&[("csrf", csrf.as_str()), ("code", "000000")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let code = identity::mfa::code_at(&secret, chrono::Utc::now()).unwrap();
    let r = c
        .post(app.url("/profile/mfa/totp/confirm"))
        .form(&[("csrf", csrf.as_str()), ("code", code.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let body = r.text().await.unwrap();
    let codes: Vec<String> = between(&body, "<ul class=\"codes\">", "</ul>")
        .split("<code>")
        .skip(1)
        .map(|s| s.split('<').next().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(codes.len(), 10, "{body}");
    (secret, codes)
}

/// Answers the second step of a pending login.
async fn second_step(app: &TestApp, pending: &Answer, code: &str) -> Answer {
    assert_eq!(pending.location, "/login/mfa");
    let c = pending.client.clone();
    let (_, csrf) = page(app, &c, "/login/mfa").await;
    let r = c
        .post(app.url("/login/mfa"))
        .form(&[("csrf", csrf.as_str()), ("code", code)])
        .send()
        .await
        .unwrap();
    answer(r, c).await
}

#[tokio::test]
async fn asvs_v6_6_3_totp_and_recovery_codes_guard_the_login_and_each_code_works_once() {
    let app = app().await;
    let a = login_from(&app, "203.0.113.9", "teacher", DEMO_PASSWORD).await;
    let (secret, recovery) = enrol(&app, &a.client).await;
    assert_eq!(audit_count(&app, "auth.mfa_enrolled").await, 1);

    // The password alone no longer opens a session.
    let pending = login_from(&app, "203.0.113.9", "teacher", DEMO_PASSWORD).await;
    assert_eq!(pending.status, StatusCode::SEE_OTHER);
    assert_eq!(pending.location, "/login/mfa");
    let r = pending
        .client
        .get(app.url("/profile"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "no session before the second step"
    );

    let wrong = second_step(&app, &pending, "123456").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    // The next step's code (the first one was spent on the set-up).
    let code = identity::mfa::code_at(&secret, chrono::Utc::now() + chrono::Duration::seconds(30))
        .unwrap();
    let ok = second_step(&app, &pending, &code).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    assert_eq!(ok.location, "/");
    let r = ok.client.get(app.url("/profile")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let amr: (Option<String>,) = kernel::on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT amr FROM sessions ORDER BY created_at DESC LIMIT 1").fetch_one(p).await)
    .unwrap();
    assert_eq!(amr.0.as_deref(), Some("pwd otp"));

    // The same code again: refused.
    let pending = login_from(&app, "203.0.113.9", "teacher", DEMO_PASSWORD).await;
    assert_eq!(
        second_step(&app, &pending, &code).await.status,
        StatusCode::UNAUTHORIZED
    );
    // A recovery code works, once.
    let ok = second_step(&app, &pending, &recovery[0].to_uppercase()).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    assert_eq!(audit_count(&app, "auth.recovery_code_used").await, 1);
    let pending = login_from(&app, "203.0.113.9", "teacher", DEMO_PASSWORD).await;
    assert_eq!(
        second_step(&app, &pending, &recovery[0]).await.status,
        StatusCode::UNAUTHORIZED
    );
    // Wrong codes count as failures of the account: guessing codes is throttled too.
    for _ in 0..3 {
        let _ = second_step(&app, &pending, "000000").await;
    }
    let last = second_step(&app, &pending, "000000").await;
    assert!(
        last.status == StatusCode::TOO_MANY_REQUESTS || last.location.starts_with("/login"),
        "{} {}",
        last.status,
        last.location
    );
    let a = login_from(&app, "203.0.113.9", "teacher", DEMO_PASSWORD).await;
    assert_eq!(
        a.status,
        StatusCode::TOO_MANY_REQUESTS,
        "locked after 5 failures"
    );
    app.stop().await;
}

#[tokio::test]
async fn asvs_v6_3_3_administrators_must_set_up_a_second_factor_before_anything_else() {
    let app = app().await;
    set_policy(&app, &[("mfa_admins", "on")]).await;
    let a = login_from(&app, "203.0.113.9", "district_admin", DEMO_PASSWORD).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    let c = a.client;
    for path in ["/", "/admin/people", "/portal", "/admin/apps"] {
        let r = c.get(app.url(path)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(r.headers()["location"], "/profile/mfa", "{path}");
    }
    // Not through the API with the session cookie either, nor through single sign-on.
    let r = c.get(app.url("/api/v1/me")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = c
        .get(app.url("/cas/login?service=https%3A%2F%2Fapp.example%2F"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["location"], "/profile/mfa");
    let body = c
        .get(app.url("/profile/mfa"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(body.contains("id=\"mfa-required\""));
    // A teacher is not asked.
    let t = login_from(&app, "203.0.113.9", "teacher", DEMO_PASSWORD).await;
    let r = t.client.get(app.url("/")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    // Once set up, this session counts as two-factor and the pages open.
    enrol(&app, &c).await;
    let r = c.get(app.url("/admin/people")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    app.stop().await;
}

#[tokio::test]
async fn only_region_administrators_change_the_policy_and_bad_settings_are_explained() {
    let app = app().await;
    // A school administrator sees the policy but cannot change it.
    let s = login_from(&app, "203.0.113.9", "school_admin", DEMO_PASSWORD).await;
    let (body, csrf) = page(&app, &s.client, "/admin/security").await;
    assert!(body.contains("id=\"policy-readonly\""));
    let node = between(&body, "name=\"node_id\" value=\"", "\"").to_owned();
    let r = s
        .client
        .post(app.url("/admin/security"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("node_id", node.as_str()),
            ("profile", "modern"),
            ("min_length", "8"),
            ("idle_minutes", "60"),
            ("absolute_hours", "12"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // A teacher may not even look.
    let t = login_from(&app, "203.0.113.9", "teacher", DEMO_PASSWORD).await;
    let r = t
        .client
        .get(app.url("/admin/security"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    // The city administrator gets each wrong field named.
    let a = login_from(&app, "127.0.0.1", "city_admin", DEMO_PASSWORD).await;
    let (body, csrf) = page(&app, &a.client, "/admin/security").await;
    let node = between(&body, "name=\"node_id\" value=\"", "\"").to_owned();
    let r = a
        .client
        .post(app.url("/admin/security"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("node_id", node.as_str()),
            ("profile", "mlps"),
            ("min_length", "6"),
            ("idle_minutes", "120"),
            ("absolute_hours", "12"),
            ("trusted_networks", "10.0.0.0/8\nschool"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = r.text().await.unwrap();
    assert!(body.contains("8 到 64") || body.contains("8 and 64"));
    assert!(body.contains("30 分钟") || body.contains("30 minutes"));
    assert!(
        body.contains("每行应为") || body.contains("Each line must"),
        "the bad network"
    );
    assert_eq!(audit_count(&app, "auth.policy_changed").await, 0);
    app.stop().await;
}

#[tokio::test]
async fn an_administrator_resets_the_second_factor_of_someone_who_lost_their_phone() {
    let app = app().await;
    let a = login_from(&app, "203.0.113.9", "teacher", DEMO_PASSWORD).await;
    enrol(&app, &a.client).await;
    // Setting it up again is refused, in words.
    let (_, csrf) = page(&app, &a.client, "/profile/mfa").await;
    let r = a
        .client
        .post(app.url("/profile/mfa/totp"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap().contains("双因素认证已启用"));
    let teacher = app.person_id("teacher").await;
    // A student may not; the school's administrator may.
    let s = login_from(&app, "203.0.113.9", "student", DEMO_PASSWORD).await;
    let (_, csrf) = page(&app, &s.client, "/profile").await;
    let r = s
        .client
        .post(app.url(&format!("/people/{teacher}/reset-mfa")))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert!(matches!(
        r.status(),
        StatusCode::FORBIDDEN | StatusCode::NOT_FOUND
    ));
    assert!(
        identity::mfa::enrolled(&app.state.db, teacher)
            .await
            .unwrap()
    );
    let admin = login_from(&app, "127.0.0.1", "school_admin", DEMO_PASSWORD).await;
    let (body, csrf) = page(&app, &admin.client, &format!("/people/{teacher}")).await;
    assert!(body.contains("/reset-mfa"));
    let r = admin
        .client
        .post(app.url(&format!("/people/{teacher}/reset-mfa")))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(
        !identity::mfa::enrolled(&app.state.db, teacher)
            .await
            .unwrap()
    );
    // The teacher's old session ended; the password alone logs in again.
    let r = a.client.get(app.url("/profile")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let again = login_from(&app, "203.0.113.9", "teacher", DEMO_PASSWORD).await;
    assert_eq!(again.location, "/");
    assert_eq!(audit_count(&app, "person.reset_mfa").await, 1);
    app.stop().await;
}

#[tokio::test]
async fn a_local_reverse_proxy_is_never_blocked_for_its_clients_stuffing() {
    // Without trusted proxy headers every login seems to come from the proxy on 127.0.0.1.
    let app = TestApp::start().await;
    for i in 0..25 {
        assert_eq!(
            app.login_with(&format!("victim{i:02}"), "Spring2024!")
                .await
                .err(),
            Some(StatusCode::UNAUTHORIZED)
        );
    }
    assert!(app.login_with("teacher", DEMO_PASSWORD).await.is_ok());
    app.stop().await;
}

#[tokio::test]
async fn a_return_address_with_control_or_chinese_characters_still_redirects() {
    let app = TestApp::start().await;
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
    let r = c
        .post(app.url("/login"))
        .form(&[
            ("username", "teacher"),
            ("password", DEMO_PASSWORD),
            ("csrf", csrf.as_str()),
            ("next", "/classes?q=班级\u{0}x"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/classes?q=%E7%8F%AD%E7%BA%A7%00x");
    app.stop().await;
}

#[tokio::test]
async fn a_borrowed_session_cannot_guess_its_way_to_turning_the_second_factor_off() {
    let app = app().await;
    let a = login_from(&app, "203.0.113.9", "teacher", DEMO_PASSWORD).await;
    enrol(&app, &a.client).await;
    let teacher = app.person_id("teacher").await;
    let c = a.client;
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let (_, csrf) = page(&app, &c, "/profile/mfa").await;
        let r = c
            .post(app.url("/profile/mfa/remove"))
            .header("x-forwarded-for", "203.0.113.9")
            .form(&[("csrf", csrf.as_str()), ("code", "000000")])
            .send()
            .await
            .unwrap();
        statuses.push((r.status(), r.text().await.unwrap()));
    }
    assert!(
        statuses
            .iter()
            .all(|(s, _)| *s == StatusCode::UNPROCESSABLE_ENTITY)
    );
    // After five wrong codes the account is locked: the sixth is not even checked.
    assert!(
        statuses[5].1.contains("15 分钟") || statuses[5].1.contains("15 minutes"),
        "says how long to wait"
    );
    assert!(
        identity::mfa::enrolled(&app.state.db, teacher)
            .await
            .unwrap()
    );
    assert_eq!(audit_count(&app, "auth.mfa_failed").await, 5);
    assert_eq!(audit_count(&app, "auth.lockout").await, 1);
    let again = login_from(&app, "203.0.113.9", "teacher", DEMO_PASSWORD).await;
    assert_eq!(again.status, StatusCode::TOO_MANY_REQUESTS);
    app.stop().await;
}

/// Passkeys need a domain name (browsers refuse WebAuthn on IP addresses): at 127.0.0.1 none
/// is offered and the ceremony endpoints say why; without the login form's token they refuse.
#[tokio::test]
async fn passkeys_are_not_offered_on_an_ip_address_and_need_the_form_token() {
    let app = TestApp::start().await;
    let c = TestApp::client();
    let page = c
        .get(app.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!page.contains("passkey-login"), "no passkey button");
    let csrf = extract_csrf(&page);
    let r = c
        .post(app.url("/login/passkey/begin"))
        .json(&serde_json::json!({ "csrf": "wrong" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "CSRF checked");
    let r = c
        .post(app.url("/login/passkey/begin"))
        .json(&serde_json::json!({ "csrf": csrf }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: serde_json::Value = r.json().await.unwrap();
    assert!(
        body["error"].as_str().unwrap_or_default().contains("域名"),
        "{body}"
    );
    app.stop().await;
}

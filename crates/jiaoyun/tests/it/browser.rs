//! Real headless Chromium through chromedriver: each demo role logs in and uses their home page;
//! an administrator browses the tree and searches people. Needs chromium and chromium-driver
//! (Debian packages; .ci/run installs them).

use crate::helpers::{DEMO_PASSWORD, TestApp};
use fantoccini::{Client, ClientBuilder, Locator};
use std::process::{Child, Command, Stdio};

pub struct Driver {
    process: Child,
    url: String,
}

impl Driver {
    pub async fn start() -> Driver {
        let bin = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let process = Command::new(&bin)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {bin}: {e} (install chromium-driver)"));
        let url = format!("http://127.0.0.1:{port}");
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        Driver { process, url }
    }

    pub async fn browser(&self) -> Client {
        self.browser_sized(390, 844).await
    }

    /// A browser whose window is `width` × `height` CSS pixels, keeping its console messages
    /// (errors, CSP violations) for [`console_errors`].
    pub async fn browser_sized(&self, width: u32, height: u32) -> Client {
        let profile = std::env::temp_dir().join(format!("jy-chromium-{}", uuid::Uuid::now_v7()));
        let mut caps = serde_json::Map::new();
        caps.insert("goog:chromeOptions".into(), serde_json::json!({
            "binary": std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-dev-shm-usage",
                     "--disable-component-update", "--disable-sync", "--no-first-run", format!("--window-size={width},{height}"), "--lang=zh-CN",
                     format!("--user-data-dir={}", profile.display())]
        }));
        caps.insert(
            "goog:loggingPrefs".into(),
            serde_json::json!({ "browser": "ALL" }),
        );
        ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&self.url)
            .await
            .expect("a chromium session")
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.process.kill();
    }
}

/// The browser console's errors since the last call (chromedriver's log endpoint): script
/// errors, content-security-policy violations, failed loads.
pub async fn console_errors(b: &Client) -> Vec<String> {
    #[derive(Debug)]
    struct BrowserLog;
    impl fantoccini::wd::WebDriverCompatibleCommand for BrowserLog {
        fn endpoint(
            &self,
            base: &url::Url,
            session: Option<&str>,
        ) -> Result<url::Url, url::ParseError> {
            base.join(&format!("session/{}/se/log", session.unwrap_or_default()))
        }
        fn method_and_body(&self, _: &url::Url) -> (axum::http::Method, Option<String>) {
            (
                axum::http::Method::POST,
                Some(r#"{"type":"browser"}"#.into()),
            )
        }
    }
    let entries = b.issue_cmd(BrowserLog).await.unwrap();
    entries
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["level"] == "SEVERE")
        .map(|e| e["message"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Clicks an element as a person would: scrolled to the middle of the window first (at phone
/// width the fixed bottom navigation covers the window's lower edge, where the driver would
/// otherwise scroll it).
pub async fn tap(b: &Client, locator: Locator<'_>) {
    let element = b.find(locator).await.unwrap();
    b.execute(
        "arguments[0].scrollIntoView({block: 'center'})",
        vec![serde_json::to_value(&element).unwrap()],
    )
    .await
    .unwrap();
    element.click().await.unwrap();
}

/// Clicks something that navigates and waits until the new page is there.
pub async fn click_to(b: &Client, locator: Locator<'_>) {
    let before = b.current_url().await.unwrap();
    tap(b, locator).await;
    for _ in 0..100 {
        if b.current_url().await.unwrap() != before {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    b.wait().for_element(Locator::Css("footer")).await.unwrap();
}

pub async fn log_in(b: &Client, app: &TestApp, user: &str) {
    log_in_at(b, &app.base, user).await;
}

async fn log_in_at(b: &Client, base: &str, user: &str) {
    b.goto(&format!("{base}/login")).await.unwrap();
    b.find(Locator::Id("username"))
        .await
        .unwrap()
        .send_keys(user)
        .await
        .unwrap();
    b.find(Locator::Id("password"))
        .await
        .unwrap()
        .send_keys(DEMO_PASSWORD)
        .await
        .unwrap();
    click_to(b, Locator::Css("form[action='/login'] button[type=submit]")).await;
}

pub async fn log_out(b: &Client) {
    click_to(b, Locator::Css("form[action='/logout'] button")).await;
}

#[tokio::test]
#[ignore = "needs chromium and chromedriver: run with --include-ignored (.ci/run does)"]
async fn each_demo_role_logs_in_and_finds_their_way() {
    let app = TestApp::start().await;
    let driver = Driver::start().await;
    let b = driver.browser().await;
    let cases = [
        ("city_admin", "杭州市"),
        ("district_admin", "上城区"),
        ("school_admin", "上城区实验小学"),
        ("teacher", "我任教的班级"),
        ("student", "我的班级"),
        ("guardian", "我的孩子"),
    ];
    for (user, expected) in cases {
        log_in(&b, &app, user).await;
        let text = b
            .find(Locator::Css("main"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(text.contains(expected), "{user}: {text}");
        if user == "teacher" {
            // Open the first class roster from the home page.
            click_to(&b, Locator::Css("main table a")).await;
            let roster = b
                .find(Locator::Css("main"))
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            assert!(roster.contains("学生 (8)"), "{roster}");
        }
        log_out(&b).await;
        let url = b.current_url().await.unwrap();
        assert!(
            url.path().starts_with("/login"),
            "{user} after logout: {url}"
        );
    }
    b.close().await.unwrap();
    app.stop().await;
}

#[tokio::test]
#[ignore = "needs chromium and chromedriver: run with --include-ignored (.ci/run does)"]
async fn an_administrator_browses_the_tree_searches_and_switches_language() {
    let app = TestApp::start().await;
    let driver = Driver::start().await;
    let b = driver.browser().await;
    log_in(&b, &app, "district_admin").await;
    click_to(&b, Locator::LinkText("组织机构")).await;
    let text = b
        .find(Locator::Css("main"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains("上城区实验小学") && text.contains("上城区第一中学"),
        "{text}"
    );
    click_to(&b, Locator::LinkText("上城区实验小学")).await;
    assert!(
        b.find(Locator::Css("h1"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
            .contains("上城区实验小学")
    );
    click_to(&b, Locator::LinkText("人员管理")).await;
    let (surname,): (String,) = kernel::on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT substr(name, 1, 1) FROM persons WHERE staff_no = 'S0T002'").fetch_one(p).await)
    .unwrap();
    b.find(Locator::Id("q"))
        .await
        .unwrap()
        .send_keys(&surname)
        .await
        .unwrap();
    click_to(&b, Locator::Css("form[role=search] button")).await;
    let rows = b
        .find_all(Locator::Css("main table tbody tr"))
        .await
        .unwrap();
    assert!(!rows.is_empty());
    for r in rows {
        assert!(r.text().await.unwrap().starts_with(&surname));
    }
    click_to(&b, Locator::Css("form[action='/lang'] button")).await;
    let nav = b
        .find(Locator::Css("header"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(nav.contains("People") && nav.contains("Log out"), "{nav}");
    b.close().await.unwrap();
    app.stop().await;
}

/// Chromium's virtual authenticator (WebDriver's WebAuthn extension): a platform authenticator
/// with resident keys that verifies its user, as a phone or laptop with a fingerprint does.
#[derive(Debug)]
struct AddVirtualAuthenticator;

impl fantoccini::wd::WebDriverCompatibleCommand for AddVirtualAuthenticator {
    fn endpoint(
        &self,
        base: &reqwest::Url,
        session: Option<&str>,
    ) -> Result<reqwest::Url, url_error::ParseError> {
        base.join(&format!(
            "session/{}/webauthn/authenticator",
            session.unwrap_or_default()
        ))
    }
    fn method_and_body(&self, _: &reqwest::Url) -> (reqwest::Method, Option<String>) {
        let body = serde_json::json!({
            "protocol": "ctap2", "transport": "internal", "hasResidentKey": true,
            "hasUserVerification": true, "isUserVerified": true,
            "automaticPresenceSimulation": true,
        });
        (reqwest::Method::POST, Some(body.to_string()))
    }
}

mod url_error {
    pub use reqwest::Url;
    pub type ParseError = <Url as std::str::FromStr>::Err;
}

/// Clicks a button whose script navigates; returns where it went.
async fn click_and_leave(b: &Client, id: &str) -> reqwest::Url {
    let here = b.current_url().await.unwrap().to_string();
    tap(b, Locator::Id(id)).await;
    left(b, &here).await
}

/// Waits until the address changes away from `from` (a script navigated).
async fn left(b: &Client, from: &str) -> reqwest::Url {
    for _ in 0..200 {
        let url = b.current_url().await.unwrap();
        if url.as_str() != from {
            b.wait().for_element(Locator::Css("footer")).await.unwrap();
            return b.current_url().await.unwrap();
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let status = b
        .find(Locator::Id("passkey-status"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    panic!("still at {from}: {status}");
}

async fn amr_of_last_session(app: &TestApp, person: kernel::PersonId) -> String {
    let (amr,): (Option<String>,) = kernel::on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT amr FROM sessions WHERE person_id = $1 ORDER BY created_at DESC LIMIT 1",
    ).bind(person).fetch_one(p).await)
    .unwrap();
    amr.unwrap_or_default()
}

/// A teacher adds a passkey on the profile (Chromium's virtual authenticator stands in for the
/// phone), then logs in with it alone (passwordless), then uses it as the second step after the
/// password.
#[tokio::test]
#[ignore = "needs chromium and chromedriver: run with --include-ignored (.ci/run does)"]
async fn a_teacher_adds_a_passkey_and_logs_in_with_it() {
    // WebAuthn refuses bare IP addresses: the platform is addressed as localhost.
    let app = TestApp::start_with(|c| {
        c.public_url = c
            .public_url
            .as_ref()
            .map(|u| u.replace("127.0.0.1", "localhost"));
    })
    .await;
    let base = app.base.replace("127.0.0.1", "localhost");
    let driver = Driver::start().await;
    let b = driver.browser().await;
    let teacher = app.person_id("teacher").await;

    log_in_at(&b, &base, "teacher").await;
    b.issue_cmd(AddVirtualAuthenticator).await.unwrap();
    b.goto(&format!("{base}/profile/mfa")).await.unwrap();
    b.find(Locator::Id("passkey-name"))
        .await
        .unwrap()
        .send_keys("办公室电脑")
        .await
        .unwrap();
    let url = click_and_leave(&b, "passkey-register").await;
    assert!(url.as_str().contains("done=passkey_added"), "{url}");
    let names = b
        .find(Locator::Css("#passkeys table"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(names.contains("办公室电脑"), "{names}");
    assert!(
        identity::passkey::has_any(&app.state.db, teacher)
            .await
            .unwrap()
    );
    assert_eq!(
        crate::helpers::audit_count(&app, "auth.passkey_added").await,
        1
    );
    log_out(&b).await;

    // Passwordless: no account name, no password.
    b.goto(&format!("{base}/login")).await.unwrap();
    let url = click_and_leave(&b, "passkey-login").await;
    assert_eq!(url.path(), "/", "logged in: {url}");
    assert_eq!(amr_of_last_session(&app, teacher).await, "hwk");
    log_out(&b).await;

    // The password now needs the passkey as its second step.
    log_in_at(&b, &base, "teacher").await;
    let url = b.current_url().await.unwrap();
    assert_eq!(url.path(), "/login/mfa", "second step asked for");
    let url = click_and_leave(&b, "passkey-second").await;
    assert_eq!(url.path(), "/", "{url}");
    assert_eq!(amr_of_last_session(&app, teacher).await, "pwd hwk");
    let (used,): (Option<chrono::DateTime<chrono::Utc>>,) =
        kernel::on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT last_used_at FROM webauthn_credentials WHERE person_id = $1",
    ).bind(teacher).fetch_one(p).await)
        .unwrap();
    assert!(used.is_some(), "the passkey's use is recorded");
    b.close().await.unwrap();
    app.stop().await;
}

/// Waits (the page refreshes itself) until the import's status is `want`.
async fn import_status(b: &Client, want: &str) {
    for _ in 0..300 {
        if let Ok(e) = b.find(Locator::Id("status")).await
            && e.attr("data-status").await.ok().flatten().as_deref() == Some(want)
        {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    panic!("import never reached {want}");
}

#[tokio::test]
#[ignore = "needs chromium and chromedriver: run with --include-ignored (.ci/run does)"]
async fn a_school_administrator_uploads_reads_the_report_and_commits() {
    let app = TestApp::start().await;
    let driver = Driver::start().await;
    let b = driver.browser().await;
    log_in(&b, &app, "school_admin").await;
    let (school,): (kernel::NodeId,) = kernel::on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT id FROM org_nodes WHERE code = '2133010001'").fetch_one(p).await)
    .unwrap();
    // From the school's page to its imports.
    b.goto(&app.url(&format!("/admin/org/{school}")))
        .await
        .unwrap();
    click_to(
        &b,
        Locator::Css(&format!("a[href='/admin/org/{school}/imports']")),
    )
    .await;
    let dir = std::env::temp_dir().join(format!("jy-browser-import-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("四年级学生.csv");
    directory::import::sample::write_csv(&file, 0..300, true, Some(100)).unwrap();
    b.find(Locator::Id("file"))
        .await
        .unwrap()
        .send_keys(file.to_str().unwrap())
        .await
        .unwrap();
    click_to(&b, Locator::Css("form[enctype] button[type=submit]")).await;
    import_status(&b, "checked").await;
    let report = b
        .find(Locator::Id("report"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        report.contains("第 52 行 D 列（出生日期）“2013-02-30”：日期不存在"),
        "{report}"
    );
    assert_eq!(report.lines().count(), 3, "{report}");
    assert!(b.find(Locator::Id("error-copy")).await.is_ok());
    // Committing with problems needs the "skip the bad rows" box.
    tap(&b, Locator::Css("input[name=partial]")).await;
    click_to(&b, Locator::Id("commit")).await;
    import_status(&b, "done").await;
    let created = b
        .find(Locator::Id("created"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(created, "297");
    b.close().await.unwrap();
    app.stop().await;
}

//! Real headless Chromium through chromedriver: each demo role logs in and uses their home page;
//! an administrator browses the tree and searches people. Needs chromium and chromium-driver
//! (Debian packages; .ci/run installs them).

use crate::helpers::{DEMO_PASSWORD, TestApp};
use fantoccini::{Client, ClientBuilder, Locator};
use std::process::{Child, Command, Stdio};

struct Driver {
    process: Child,
    url: String,
}

impl Driver {
    async fn start() -> Driver {
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

    async fn browser(&self) -> Client {
        let profile = std::env::temp_dir().join(format!("jy-chromium-{}", uuid::Uuid::now_v7()));
        let mut caps = serde_json::Map::new();
        caps.insert("goog:chromeOptions".into(), serde_json::json!({
            "binary": std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-dev-shm-usage",
                     "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=390,844", "--lang=zh-CN",
                     format!("--user-data-dir={}", profile.display())]
        }));
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

/// Clicks something that navigates and waits until the new page is there.
async fn click_to(b: &Client, locator: Locator<'_>) {
    let before = b.current_url().await.unwrap();
    b.find(locator).await.unwrap().click().await.unwrap();
    for _ in 0..100 {
        if b.current_url().await.unwrap() != before {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    b.wait().for_element(Locator::Css("footer")).await.unwrap();
}

async fn log_in(b: &Client, app: &TestApp, user: &str) {
    b.goto(&app.url("/login")).await.unwrap();
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

async fn log_out(b: &Client) {
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

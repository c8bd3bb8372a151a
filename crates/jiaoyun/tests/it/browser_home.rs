//! The guardian's day on a phone-sized headless Chromium, with nothing installed: the first
//! screen has the class notice to confirm and the bottom navigation; confirming shows at once
//! in the head teacher's read list; a leave request goes through the form; with the server
//! gone the last pages stay readable and a reply to the teacher waits on the phone, then is
//! sent once when the server is back. Needs chromium and chromium-driver.

use crate::browser::{Driver, click_to, console_errors, log_in, tap};
use crate::helpers::TestApp;
use fantoccini::{Client, Locator};
use kernel::on_db;
use std::time::Duration;

const SPORTS_DAY: &str = "关于举行秋季亲子运动会的通知";

async fn main_text(b: &Client) -> String {
    b.find(Locator::Css("main"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

async fn eval_bool(b: &Client, js: &str) -> bool {
    b.execute(js, vec![])
        .await
        .unwrap()
        .as_bool()
        .unwrap_or(false)
}

async fn count(app: &TestApp, sql: &'static str) -> i64 {
    let (n,): (i64,) = on_db!(&app.state.db, p => sqlx::query_as(sql).fetch_one(p).await).unwrap();
    n
}

#[tokio::test]
#[ignore = "needs chromium and chromedriver: run with --include-ignored (.ci/run does)"]
async fn a_guardian_on_a_phone_confirms_asks_leave_and_replies_offline() {
    let mut app = TestApp::start().await;
    let driver = Driver::start().await;
    let b = driver.browser_sized(360, 740).await;
    log_in(&b, &app, "guardian").await;
    let home = main_text(&b).await;
    assert!(
        home.contains(SPORTS_DAY) && home.contains("待确认"),
        "{home}"
    );
    assert!(
        b.find(Locator::Css(".tabbar"))
            .await
            .unwrap()
            .is_displayed()
            .await
            .unwrap(),
        "the bottom navigation shows at phone width"
    );
    assert!(
        eval_bool(
            &b,
            "return document.documentElement.scrollWidth <= window.innerWidth"
        )
        .await,
        "nothing scrolls sideways at 360 px"
    );
    // The notice: confirm it; the head teacher's read list counts it.
    click_to(&b, Locator::LinkText(SPORTS_DAY)).await;
    let notice_url = b.current_url().await.unwrap();
    click_to(&b, Locator::Id("confirm")).await;
    assert!(main_text(&b).await.contains("您已确认"));
    let teacher = app.login("teacher").await;
    let list = teacher
        .get(notice_url.as_str())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(list.contains("已确认 1"), "the read list updates at once");

    // Leave for tomorrow through the form (dates come filled in with today).
    b.goto(&app.url("/leave/new")).await.unwrap();
    tap(&b, Locator::Css("input[name=symptom][value=fever]")).await;
    click_to(
        &b,
        Locator::Css("form[action='/leave/new'] button[type=submit]"),
    )
    .await;
    assert!(main_text(&b).await.contains("待审批"));

    // The conversation with the head teacher, opened once while online and controlled by the
    // service worker.
    b.goto(&app.url("/messages")).await.unwrap();
    click_to(&b, Locator::Css("#conversations a")).await;
    let conversation = b.current_url().await.unwrap();
    for _ in 0..100 {
        if eval_bool(
            &b,
            "return !!(navigator.serviceWorker && navigator.serviceWorker.controller)",
        )
        .await
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    b.refresh().await.unwrap();
    b.goto(notice_url.as_str()).await.unwrap();
    b.goto(conversation.as_str()).await.unwrap();

    // The server goes away: the pages read before are still there.
    app.halt().await;
    b.goto(notice_url.as_str()).await.unwrap();
    assert!(
        main_text(&b).await.contains(SPORTS_DAY),
        "the notice reads offline"
    );
    b.goto(conversation.as_str()).await.unwrap();
    assert!(
        main_text(&b).await.contains("我会留意孩子的情况"),
        "the conversation reads offline"
    );
    b.find(Locator::Id("body"))
        .await
        .unwrap()
        .send_keys("明天会准时到校，谢谢老师")
        .await
        .unwrap();
    tap(&b, Locator::Id("send")).await;
    b.wait()
        .for_element(Locator::Id("offline-queue"))
        .await
        .expect("the reply waits on the phone");
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM messages WHERE body = '明天会准时到校，谢谢老师'"
        )
        .await,
        0
    );

    // Back online: the reply is sent once.
    app.resume().await;
    b.goto(conversation.as_str()).await.unwrap();
    let mut sent = 0;
    for _ in 0..100 {
        sent = count(
            &app,
            "SELECT COUNT(*) FROM messages WHERE body = '明天会准时到校，谢谢老师'",
        )
        .await;
        if sent > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        sent, 1,
        "the queued reply is sent when the server answers again"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    b.goto(conversation.as_str()).await.unwrap();
    assert!(main_text(&b).await.contains("明天会准时到校"));
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM messages WHERE body = '明天会准时到校，谢谢老师'"
        )
        .await,
        1,
        "sent once"
    );
    let errors: Vec<String> = console_errors(&b)
        .await
        .into_iter()
        .filter(|e| !e.contains("Failed to fetch") && !e.contains("ERR_CONNECTION_REFUSED"))
        .collect();
    assert!(errors.is_empty(), "console: {errors:?}");
    b.close().await.unwrap();
    app.stop().await;
}

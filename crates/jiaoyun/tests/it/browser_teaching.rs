//! Tests and marking on a phone-sized headless Chromium: a student starts a test, answers,
//! loses the network (DevTools' network conditions, offline) half-way, answers on, comes back,
//! and every answer is in the database and on the page after a reload; a teacher marks a
//! photographed answer with the pen, and the strokes are kept. Needs chromium and
//! chromium-driver.

use crate::browser::{Driver, click_to, console_errors, log_in, tap};
use crate::helpers::TestApp;
use fantoccini::actions::{InputSource, MOUSE_BUTTON_LEFT, PenActions, PointerAction};
use fantoccini::{Client, Locator};
use kernel::{Actor, Ctx, RequestMeta, actor::Via, on_db};
use std::time::Duration;
use teaching::assignments::{self, AssignmentId, set, work};

const JPEG: &[u8] = include_bytes!("../../../spaces/tests/fixtures/gps.jpg");

/// Chromium's network, as DevTools' "offline" switches it.
async fn network(b: &Client, offline: bool) {
    #[derive(Debug)]
    struct Conditions(bool);
    impl fantoccini::wd::WebDriverCompatibleCommand for Conditions {
        fn endpoint(
            &self,
            base: &url::Url,
            session: Option<&str>,
        ) -> Result<url::Url, url::ParseError> {
            base.join(&format!(
                "session/{}/chromium/network_conditions",
                session.unwrap_or_default()
            ))
        }
        fn method_and_body(&self, _: &url::Url) -> (axum::http::Method, Option<String>) {
            (
                axum::http::Method::POST,
                Some(
                    serde_json::json!({ "network_conditions": {
                        "offline": self.0, "latency": 0,
                        "download_throughput": 100_000_000, "upload_throughput": 100_000_000,
                    }})
                    .to_string(),
                ),
            )
        }
    }
    b.issue_cmd(Conditions(offline)).await.unwrap();
}

async fn actor(app: &TestApp, username: &str) -> Actor {
    let id = app.person_id(username).await;
    Actor::load(&app.state.db, id, Via::Session)
        .await
        .unwrap()
        .unwrap()
}

/// A test of the demo teacher's choice items for their class, open since a minute ago.
async fn a_test(app: &TestApp) -> AssignmentId {
    let teacher = actor(app, "teacher").await;
    let meta = RequestMeta::cli();
    let cx = Ctx::new(&app.state, &teacher, &meta);
    let items: Vec<_> = teaching::items::bank::list(
        &cx,
        &teaching::items::bank::Filter {
            subject: "13".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap()
    .into_iter()
    .filter(|i| matches!(i.kind.as_str(), "single" | "true_false" | "multiple"))
    .map(|i| i.id)
    .take(3)
    .collect();
    assert_eq!(items.len(), 3, "three of the demo's choice items");
    let class = teacher
        .grants_of(kernel::Role::HeadTeacher)
        .next()
        .unwrap()
        .node_id;
    let zone = app.state.config.time_zone;
    let d = set::Draft {
        kind: "test".into(),
        subject: "13".into(),
        classes: vec![class],
        title: "拼音小测".into(),
        category: "quiz".into(),
        opens_at: zone.input(cx.now - chrono::Duration::minutes(1)),
        due_at: zone.input(cx.now + chrono::Duration::minutes(59)),
        late_policy: "refuse".into(),
        expected_minutes: "20".into(),
        items,
        time_limit: "20".into(),
        shuffle_items: true,
        shuffle_options: true,
        ..Default::default()
    };
    set::create(&cx, &d).await.unwrap().0
}

async fn answers_saved(app: &TestApp, test: AssignmentId) -> i64 {
    let (n,): (i64,) = on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT COUNT(*) FROM answers a JOIN submissions s ON s.id = a.submission_id
         JOIN accounts u ON u.person_id = s.student_id WHERE s.assignment_id = $1 AND u.username = 'student'",
    ).bind(test).fetch_one(p).await)
    .unwrap();
    n
}

/// Ticks the first option of the question shown `n`th (1-based) on the page.
async fn answer(b: &Client, n: usize) {
    let sections = b
        .find_all(Locator::Css("#work-form section[data-position]"))
        .await
        .unwrap();
    let input = sections[n - 1]
        .find(Locator::Css("input[type=radio], input[type=checkbox]"))
        .await
        .unwrap();
    b.execute(
        "arguments[0].scrollIntoView({block: 'center'})",
        vec![serde_json::to_value(&input).unwrap()],
    )
    .await
    .unwrap();
    input.click().await.unwrap();
}

async fn wait_for(app: &TestApp, test: AssignmentId, n: i64) -> i64 {
    let mut got = 0;
    for _ in 0..100 {
        got = answers_saved(app, test).await;
        if got >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    got
}

#[tokio::test]
#[ignore = "needs chromium and chromedriver: run with --include-ignored (.ci/run does)"]
async fn a_student_goes_offline_mid_test_and_loses_no_answer() {
    let app = TestApp::start().await;
    let test = a_test(&app).await;
    let driver = Driver::start().await;
    let b = driver.browser_sized(360, 740).await;
    log_in(&b, &app, "student").await;
    b.goto(&app.url(&format!("/teaching/homework/{test}")))
        .await
        .unwrap();
    assert!(
        b.find_all(Locator::Css("#work-form section[data-position]"))
            .await
            .unwrap()
            .is_empty(),
        "no item before the start"
    );
    click_to(&b, Locator::Id("start-test")).await;
    b.wait()
        .for_element(Locator::Css("form[data-autosave]"))
        .await
        .unwrap();
    // The first answer goes at once.
    answer(&b, 1).await;
    assert_eq!(wait_for(&app, test, 1).await, 1, "saved as it is given");

    // Offline: two more answers wait on the phone, and the page says so.
    network(&b, true).await;
    answer(&b, 2).await;
    answer(&b, 3).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(
        answers_saved(&app, test).await,
        1,
        "nothing reaches the server offline"
    );
    let state = b
        .find(Locator::Id("save-state"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(state.contains("保存在本机"), "{state}");

    // Back online: both are sent, and a reload shows every answer ticked.
    network(&b, false).await;
    assert_eq!(wait_for(&app, test, 3).await, 3, "every answer there");
    b.refresh().await.unwrap();
    let ticked = b
        .find_all(Locator::Css("#work-form input:checked"))
        .await
        .unwrap()
        .len();
    assert!(
        ticked >= 3,
        "the page shows every answer after a reload ({ticked})"
    );
    // The time is the server's: the countdown is there and running.
    let clock = b
        .find(Locator::Css("[data-remaining]"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        clock.starts_with("19:") || clock.starts_with("20:"),
        "{clock}"
    );
    // Handing in: every answer marked.
    tap(&b, Locator::Id("submit-work")).await;
    b.wait().for_element(Locator::Id("state")).await.unwrap();
    let student = app.person_id("student").await;
    let s = assignments::submission_of(&app.state.db, test, student)
        .await
        .unwrap()
        .unwrap();
    assert!(s.submitted_at.is_some() && s.score.is_some());
    let errors: Vec<String> = console_errors(&b)
        .await
        .into_iter()
        .filter(|e| !e.contains("Failed to fetch") && !e.contains("ERR_INTERNET_DISCONNECTED"))
        .collect();
    assert!(errors.is_empty(), "console: {errors:?}");
    b.close().await.unwrap();
    app.stop().await;
}

#[tokio::test]
#[ignore = "needs chromium and chromedriver: run with --include-ignored (.ci/run does)"]
async fn a_teacher_marks_a_photo_with_the_pen() {
    let app = TestApp::start().await;
    let teacher = actor(&app, "teacher").await;
    let student = actor(&app, "student").await;
    let meta = RequestMeta::cli();
    let tcx = Ctx::new(&app.state, &teacher, &meta);
    // Homework with the demo's writing item; the student photographs the answer.
    let writing = teaching::items::bank::list(
        &tcx,
        &teaching::items::bank::Filter {
            subject: "13".into(),
            kind: "writing".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap()[0]
        .id;
    let zone = app.state.config.time_zone;
    let class = teacher
        .grants_of(kernel::Role::HeadTeacher)
        .next()
        .unwrap()
        .node_id;
    let (id, _) = set::create(
        &tcx,
        &set::Draft {
            kind: "homework".into(),
            subject: "13".into(),
            classes: vec![class],
            students: vec![student.person_id],
            title: "写一写".into(),
            category: "homework".into(),
            opens_at: zone.input(tcx.now - chrono::Duration::minutes(1)),
            due_at: zone.input(tcx.now + chrono::Duration::days(1)),
            late_policy: "accept".into(),
            expected_minutes: "10".into(),
            items: vec![writing],
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let scx = Ctx::new(&app.state, &student, &meta);
    assignments::photos::add(&scx, id, 0, vec![bytes::Bytes::from_static(JPEG)])
        .await
        .unwrap();
    work::submit(&scx, id, Some(10)).await.unwrap();
    let s = assignments::submission_of(&app.state.db, id, student.person_id)
        .await
        .unwrap()
        .unwrap();

    let driver = Driver::start().await;
    let b = driver.browser_sized(390, 844).await;
    log_in(&b, &app, "teacher").await;
    b.goto(&app.url(&format!("/teaching/submissions/{}", s.id)))
        .await
        .unwrap();
    for _ in 0..100 {
        let loaded = b
            .execute(
                "const i = document.querySelector('.pen img'); return i.complete && i.naturalWidth > 0",
                vec![],
            )
            .await
            .unwrap();
        if loaded.as_bool() == Some(true) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let svg = b.find(Locator::Css(".pen svg.strokes")).await.unwrap();
    b.execute(
        "arguments[0].scrollIntoView({block: 'center'})",
        vec![serde_json::to_value(&svg).unwrap()],
    )
    .await
    .unwrap();
    // A tick with the pen: down, two strokes, up.
    let pen = PenActions::new("pen".into())
        .then(PointerAction::MoveToElement {
            element: svg.clone(),
            duration: None,
            x: -40.0,
            y: -10.0,
        })
        .then(PointerAction::Down {
            button: MOUSE_BUTTON_LEFT,
        })
        .then(PointerAction::MoveBy {
            duration: Some(Duration::from_millis(150)),
            x: 15.0,
            y: 15.0,
        })
        .then(PointerAction::MoveBy {
            duration: Some(Duration::from_millis(150)),
            x: 40.0,
            y: -40.0,
        })
        .then(PointerAction::Up {
            button: MOUSE_BUTTON_LEFT,
        });
    b.perform_actions(pen).await.unwrap();
    let drawn = b
        .find_all(Locator::Css(".pen svg.strokes polyline"))
        .await
        .unwrap()
        .len();
    let size = b
        .execute(
            "const r = document.querySelector('.pen svg').getBoundingClientRect(); return [r.width, r.height, document.querySelector('.pen').className]",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        drawn,
        1,
        "one stroke on the photo ({size}; {:?})",
        console_errors(&b).await
    );
    // Points by the rubric's best levels, then save.
    let radios = b
        .find_all(Locator::Css(".rubric input[type=radio]"))
        .await
        .unwrap();
    assert!(!radios.is_empty(), "the writing item's rubric");
    tap(&b, Locator::Css(".rubric input[type=radio]")).await;
    click_to(&b, Locator::Id("save-marks")).await;
    let (annotation,): (Option<String>,) = on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT annotation FROM answer_photos WHERE submission_id = $1",
    ).bind(s.id).fetch_one(p).await)
    .unwrap();
    let strokes = teaching::assignments::photos::parse_strokes(&annotation.unwrap()).unwrap();
    assert_eq!(strokes.len(), 1);
    assert!(strokes[0].len() >= 2, "the stroke's points: {strokes:?}");
    // The page shows the stroke, drawn back from what was saved.
    assert_eq!(
        b.find_all(Locator::Css(".pen svg.strokes polyline"))
            .await
            .unwrap()
            .len(),
        1
    );
    let errors = console_errors(&b).await;
    assert!(errors.is_empty(), "console: {errors:?}");
    b.close().await.unwrap();
    app.stop().await;
    let _: AssignmentId = id;
}

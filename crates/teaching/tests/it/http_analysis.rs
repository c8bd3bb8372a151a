//! Analysis and practice over HTTP with the teaching demo: the teacher reads the finished
//! test's analysis (figures and SVG charts) and the class's heat map with the demo student's
//! practice; the student starts a set, hands it in through the form and reads the marks;
//! their guardian reads it too; those without a reason to see either get 404.

use crate::helpers::{TestApp, page, post};
use kernel::on_db;
use reqwest::StatusCode;

#[tokio::test]
async fn the_teacher_reads_the_demo_tests_analysis_and_the_class_heat_map() {
    let app = TestApp::start().await;
    let (test,): (uuid::Uuid,) = on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT id FROM assignments WHERE title = '第一单元 识字测验'",
    ).fetch_one(p).await)
    .unwrap();
    let teacher = app.login("teacher").await;
    let path = format!("/teaching/assignments/{test}/analysis");
    let (s, html) = page(&app, &teacher, &path).await;
    assert_eq!(s, StatusCode::OK);
    for part in [
        "id=\"summary\"",
        "id=\"pass-rate\"",
        "id=\"score-chart\"",
        "<svg class=\"chart\"",
        "id=\"item-table\"",
        "区分度",
    ] {
        assert!(html.contains(part), "{part} in the analysis");
    }
    // Twelve items, each with its figures.
    assert!(html.contains("id=\"item-12\""));
    let (s, show) = page(&app, &teacher, &format!("/teaching/assignments/{test}")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(show.contains(&path), "the assignment links to its analysis");

    let (s, heat) = page(&app, &teacher, "/teaching/mastery").await;
    assert_eq!(s, StatusCode::OK);
    assert!(heat.contains("id=\"heat-map\"") && heat.contains("全班平均"));
    assert!(heat.contains("class=\"heat-"), "coloured cells");
    let (name,): (String,) = on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT p.name FROM accounts a JOIN persons p ON p.id = a.person_id WHERE a.username = 'student'",
    ).fetch_one(p).await)
    .unwrap();
    let practice = &heat[heat.find("id=\"practice\"").unwrap()..];
    assert!(
        practice.contains(&name),
        "the demo student's practice of yesterday"
    );
    assert!(practice.contains("% → "), "how their mastery moved");

    // Neither the student nor a guardian reads the analysis; nor the heat map.
    for who in ["student", "guardian"] {
        let c = app.login(who).await;
        assert_eq!(
            page(&app, &c, &path).await.0,
            StatusCode::NOT_FOUND,
            "{who}"
        );
    }
    let c = app.login("student").await;
    let (class,): (uuid::Uuid,) = on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT class_id FROM assignment_classes WHERE assignment_id = $1",
    ).bind(test).fetch_one(p).await)
    .unwrap();
    let (s, _) = page(
        &app,
        &c,
        &format!("/teaching/mastery?class={class}&subject=13"),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_student_practises_through_the_forms_and_the_family_reads_it() {
    let app = TestApp::start().await;
    let student = app.login("student").await;
    let (s, html) = page(&app, &student, "/teaching/practice").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains("开始练习") && html.contains("未完成"),
        "a set to do"
    );
    assert!(html.contains("目前最需要练习的知识点"));

    // A new set from the form, answered with nothing chosen: all wrong, marked at once.
    let (s, to) = post(&app, &student, "/teaching/practice", &[("subject", "13")]).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(to.starts_with("/teaching/practice/"));
    let (s, form) = page(&app, &student, &to).await;
    assert_eq!(s, StatusCode::OK);
    assert!(form.contains("id=\"practice-form\""));
    let (s, done) = post(&app, &student, &to, &[]).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(done.ends_with("?done=practice_done"));
    let (_, result) = page(&app, &student, &done).await;
    assert!(result.contains("id=\"practice-score\"") && result.contains("正确率 0%"));
    assert!(result.contains("答错了") && result.contains("class=\"explanation\""));
    // Once only.
    let (s, _) = post(&app, &student, &to, &[]).await;
    assert_eq!(s, StatusCode::CONFLICT);

    // The guardian and the teacher read it; the school's administrator does not.
    for who in ["guardian", "teacher"] {
        let c = app.login(who).await;
        let (s, html) = page(&app, &c, &to).await;
        assert_eq!(s, StatusCode::OK, "{who}");
        assert!(html.contains("正确率 0%"));
    }
    let (s, _) = page(&app, &app.login("school_admin").await, &to).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // A teacher has no practice page of their own.
    let (s, _) = page(&app, &app.login("teacher").await, "/teaching/practice").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

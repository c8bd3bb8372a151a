//! Assignments over HTTP with the teaching demo: the teacher sets work through the class
//! choice and the form (the day's load recounted), the student does today's practice and hands
//! it in, photographs work, the teacher marks the half-marked set student by student and
//! returns it, the guardian reads the results; the gradebook, its export and a region's limits;
//! foreign ids are 404.

use crate::helpers::{TestApp, page, post};
use reqwest::StatusCode;

const JPEG: &[u8] = include_bytes!("../../../spaces/tests/fixtures/gps.jpg");

/// The first `href` starting with `prefix` in a page.
fn link(html: &str, prefix: &str) -> String {
    let at = html
        .find(&format!("href=\"{prefix}"))
        .unwrap_or_else(|| panic!("no link to {prefix}"))
        + 6;
    html[at..at + html[at..].find('"').unwrap()].replace("&amp;", "&")
}

/// The value of the input named `name`.
fn value(html: &str, name: &str) -> String {
    let at = html.find(&format!("name=\"{name}\" value=\"")).unwrap() + name.len() + 15;
    html[at..at + html[at..].find('"').unwrap()].to_owned()
}

#[tokio::test]
async fn homework_goes_from_the_teacher_to_the_student_and_back_to_the_family() {
    let app = TestApp::start().await;
    let teacher = app.login("teacher").await;
    let (s, list) = page(&app, &teacher, "/teaching/assignments").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        list.contains("识字二 课后练习") && list.contains("今日练习"),
        "the demo's work"
    );
    assert!(list.contains("本周书面作业量"), "the head teacher's week");

    // Setting work: the class first, then the form; the load recounted; then set.
    let (s, pick) = page(&app, &teacher, "/teaching/assignments/new").await;
    assert_eq!(s, StatusCode::OK);
    let class = value(&pick, "class");
    let (s, form) = page(
        &app,
        &teacher,
        &format!("/teaching/assignments/new?subject=13&class={class}"),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(form.contains("id=\"load-table\""));
    let opens = value(&form, "opens_at");
    let due = value(&form, "due_at");
    let mut fields = vec![
        ("kind", "homework"),
        ("subject", "13"),
        ("class", class.as_str()),
        ("title", "读一读，拍一拍"),
        ("category", "homework"),
        ("opens_at", opens.as_str()),
        ("due_at", due.as_str()),
        ("late_policy", "accept"),
        ("expected_minutes", "10"),
        ("total_points", "10"),
        ("written", "1"),
        ("action", "check"),
    ];
    let (s, checked) = post(&app, &teacher, "/teaching/assignments", &fields).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        checked.contains("class=\"below\""),
        "grade 1 has no written homework: the day is over its limit"
    );
    fields.retain(|(k, _)| *k != "action");
    fields.push(("action", "set"));
    let (s, refused) = post(&app, &teacher, "/teaching/assignments", &fields).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        refused.contains("一、二年级不布置书面作业"),
        "refused on its field"
    );
    fields.retain(|(k, _)| *k != "written");
    let (s, to) = post(&app, &teacher, "/teaching/assignments", &fields).await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{to}");
    assert!(to.contains("done=assignment_set"));
    let new_work = to
        .split('?')
        .next()
        .unwrap()
        .trim_start_matches("/teaching/assignments/")
        .to_owned();

    // The student: today's practice in the list, answered and handed in.
    let student = app.login("student").await;
    let (s, todo) = page(&app, &student, "/teaching/homework").await;
    assert_eq!(s, StatusCode::OK);
    let at = todo.find("今日练习").expect("today's practice");
    let today = todo[..at].rfind("href=\"").unwrap() + 6;
    let today = todo[today..today + todo[today..].find('"').unwrap()].to_owned();
    let (s, work) = page(&app, &student, &today).await;
    assert_eq!(s, StatusCode::OK);
    assert!(work.contains("id=\"submit-work\""));
    // The first choice of every choice item, whatever its place.
    let mut answers: Vec<(String, String)> = Vec::new();
    for (i, _) in work.match_indices("name=\"a") {
        let name = &work[i + 6..i + 6 + work[i + 6..].find('"').unwrap()];
        if name.ends_with(".choice") && !answers.iter().any(|(k, _)| k == name) {
            answers.push((name.to_owned(), "0".into()));
        }
        if name.ends_with(".value") && !answers.iter().any(|(k, _)| k == name) {
            answers.push((name.to_owned(), "true".into()));
        }
    }
    assert!(answers.len() >= 3, "{answers:?}");
    let mut f: Vec<(&str, &str)> = answers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    f.push(("minutes", "abc"));
    f.push(("action", "submit"));
    let (s, body) = post(&app, &student, &today, &f).await;
    assert_eq!(s, StatusCode::OK, "bad minutes come back on the form");
    assert!(body.contains("用时应为 0 到 600"));
    f.retain(|(k, _)| *k != "minutes");
    f.push(("minutes", "12"));
    let (s, to) = post(&app, &student, &today, &f).await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{to}");
    let (_, done) = page(&app, &student, &to).await;
    assert!(
        done.contains("已提交，等待老师批改"),
        "the matching waits for nothing, but results are not out"
    );

    // A photo of the whole work for the new, item-less homework.
    let csrf = app.csrf(&student).await;
    let form = reqwest::multipart::Form::new().text("csrf", csrf).part(
        "photo.-1",
        reqwest::multipart::Part::bytes(JPEG.to_vec()).file_name("work.jpg"),
    );
    let r = student
        .post(app.url(&format!("/teaching/homework/{new_work}/photos")))
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = r.status();
    let body = r.text().await.unwrap();
    assert_eq!(
        status,
        StatusCode::SEE_OTHER,
        "{}",
        body.split("field-error").nth(1).unwrap_or_default()
    );
    let (_, work) = page(&app, &student, &format!("/teaching/homework/{new_work}")).await;
    let photo = {
        let at = work
            .find("src=\"/teaching/photos/")
            .expect("the photo shown")
            + 5;
        work[at..at + work[at..].find('"').unwrap()].to_owned()
    };
    let r = student.get(app.url(&photo)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "image/jpeg");
    // Not for a guardian before it is returned, nor for another class's teacher.
    let guardian = app.login("guardian").await;
    assert_eq!(
        guardian.get(app.url(&photo)).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );

    // The teacher marks the half-marked set student by student.
    let (_, list) = page(&app, &teacher, "/teaching/assignments").await;
    let at = list.find("识字二 课后练习").unwrap();
    let second = list[..at].rfind("href=\"").unwrap() + 6;
    let second = list[second..second + list[second..].find('"').unwrap()].to_owned();
    let (s, show) = page(&app, &teacher, &second).await;
    assert_eq!(s, StatusCode::OK);
    assert!(show.contains("待批"), "half of it waits");
    let first = link(&show, "/teaching/submissions/");
    let (s, mark) = page(&app, &teacher, &first).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        mark.contains("class=\"pen\"") || mark.contains("评分标准"),
        "the rubric to pick"
    );
    // The writing item's position: the one whose points box is empty.
    let pos = {
        let mut pos = None;
        for (i, _) in mark.match_indices("name=\"points.") {
            let rest = &mark[i + 13..];
            let p = &rest[..rest.find('"').unwrap()];
            if rest.starts_with(&format!("{p}\" value=\"\"")) && pos.is_none() {
                pos = Some(p.to_owned());
            }
        }
        pos.expect("an unmarked item")
    };
    let key = format!("points.{pos}");
    let (s, to) = post(
        &app,
        &teacher,
        &first,
        &[(key.as_str(), "9"), ("feedback", "好"), ("action", "next")],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "more than the item's points: refused");
    assert!(to.contains("得分应在 0 到本题满分之间"));
    let (s, to) = post(
        &app,
        &teacher,
        &first,
        &[
            (key.as_str(), "3"),
            ("feedback", "字写得很认真。"),
            ("action", "next"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{to}");
    assert!(to.contains("done=returned"), "{to}");
    assert_ne!(
        to.split('?').next().unwrap(),
        first,
        "on to the next student"
    );

    // The guardian reads the returned results.
    let (s, results) = page(&app, &guardian, "/teaching/results").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        results.contains("识字一 课后练习"),
        "the demo's returned work"
    );

    // The gradebook and its export.
    let (s, book) = page(
        &app,
        &teacher,
        &format!("/teaching/gradebook?class={class}&subject=13"),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(book.contains("识字一 课后练习"));
    let export = link(&book, "/teaching/gradebook/export.xlsx");
    let r = teacher.get(app.url(&export)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.bytes().await.unwrap().starts_with(b"PK"));
    let (s, _) = post(
        &app,
        &teacher,
        "/teaching/gradebook/weights",
        &[
            ("class", class.as_str()),
            ("subject", "13"),
            ("term", ""),
            ("weight_homework", "50"),
            ("weight_quiz", "50"),
            ("weight_exam", "10"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "weights over 100 come back");

    // Foreign ids: another class's teacher sees neither the work nor the marking page.
    let (s, _) = page(&app, &student, &second).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "students have no teacher pages");
    let (s, _) = page(&app, &guardian, &first).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // The district's limits.
    let district = app.login("district_admin").await;
    let (s, limits) = page(&app, &district, "/teaching/homework-limits").await;
    assert_eq!(s, StatusCode::OK);
    let region = value(&limits, "region");
    let (s, to) = post(
        &app,
        &district,
        "/teaching/homework-limits",
        &[("region", region.as_str()), ("primary_3", "50")],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{to}");
    let (_, limits) = page(&app, &district, &to).await;
    assert!(limits.contains("value=\"50\""));
    let (s, _) = page(
        &app,
        &teacher,
        &format!("/teaching/homework-limits?region={region}"),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

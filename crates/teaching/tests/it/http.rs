//! The lesson plan pages over HTTP with the teaching demo: the teacher's list, a new plan
//! through the class choice and the editor (steps, placed resources, more rows), a save as a
//! new version, sharing, a colleague's design started from; who may open what.

use crate::helpers::{TestApp, page, post};
use kernel::on_db;
use reqwest::StatusCode;

/// The value of the first `<option … selected>` of the select named `name`, or its first.
fn selected(html: &str, id: &str) -> String {
    let start = html.find(&format!("id=\"{id}\"")).unwrap();
    let rest = &html[start..html[start..].find("</select>").unwrap() + start];
    let pick = rest.find(" selected").map_or_else(
        || rest.find("<option").unwrap(),
        |s| rest[..s].rfind("<option").unwrap(),
    );
    let v = &rest[pick..];
    let v = &v[v.find("value=\"").unwrap() + 7..];
    v[..v.find('"').unwrap()].to_owned()
}

#[tokio::test]
async fn a_teacher_writes_a_plan_through_the_pages() {
    let app = TestApp::start().await;
    let c = app.login("teacher").await;
    let (s, list) = page(&app, &c, "/teaching/plans").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        list.contains("id=\"mine\"") && list.contains("第 2 版"),
        "the demo plan is listed"
    );
    assert!(
        list.contains("/teaching/shared/"),
        "a colleague's design is offered"
    );

    // The demo teacher teaches one class and subject: the editor opens at once.
    let (s, form) = page(&app, &c, "/teaching/plans/new").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        form.contains("情境导入"),
        "the usual steps are there to start from"
    );
    let class = {
        let at = form.find("name=\"class\" value=\"").unwrap() + 20;
        form[at..at + form[at..].find('"').unwrap()].to_owned()
    };
    let chapter = selected(&form, "catalog_id");
    let link = {
        let at = form
            .find("name=\"link\" value=\"0:")
            .expect("resources to place")
            + 19;
        form[at..at + form[at..].find('"').unwrap()].to_owned()
    };
    // Asking for more rows keeps what was typed and saves nothing.
    let typed = [
        ("class", class.as_str()),
        ("catalog_id", chapter.as_str()),
        ("title", "我的新课"),
        ("objectives", "会认 8 个生字"),
        ("step_title", "导入"),
        ("step_minutes", "6"),
        ("step_content", "猜谜语"),
        ("link", link.as_str()),
        ("step_title", "练习"),
        ("step_minutes", "abc"),
        ("step_content", ""),
    ];
    let mut more = typed.to_vec();
    more.push(("more", "1"));
    let (s, body) = post(&app, &c, "/teaching/plans", &more).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        body.contains("猜谜语") && body.contains("step-title-4"),
        "three more rows"
    );
    let before: (i64,) = on_db!(&app.state.db, p => sqlx::query_as("SELECT COUNT(*) FROM lesson_plans").fetch_one(p).await).unwrap();
    // The bad minutes come back on their row with everything typed kept.
    let (s, body) = post(&app, &c, "/teaching/plans", &typed).await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains("时长应为 0 到 240"), "{body}");
    assert!(body.contains("我的新课"));
    let mut good = typed.to_vec();
    good[9] = ("step_minutes", "30");
    let (s, to) = post(&app, &c, "/teaching/plans", &good).await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{to}");
    assert!(to.ends_with("?done=plan_created"));
    let after: (i64,) = on_db!(&app.state.db, p => sqlx::query_as("SELECT COUNT(*) FROM lesson_plans").fetch_one(p).await).unwrap();
    assert_eq!(after.0, before.0 + 1);
    let path = to.split('?').next().unwrap().to_owned();
    let (s, show) = page(&app, &c, &path).await;
    assert_eq!(s, StatusCode::OK);
    assert!(show.contains("我的新课") && show.contains("共 36 分钟"));
    assert!(
        show.contains("/library/r/"),
        "the placed resource links to the library"
    );

    // Edit: a save is a new version, the old one stays readable.
    let (s, edit) = page(&app, &c, &format!("{path}/edit")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(edit.contains("name=\"version\" value=\"1\""));
    let mut changed = good.clone();
    changed[2] = ("title", "我的新课（改）");
    changed.push(("version", "1"));
    let (s, to) = post(&app, &c, &path, &changed).await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{to}");
    let (_, show) = page(&app, &c, &path).await;
    assert!(show.contains("我的新课（改）") && show.contains("?version=1"));
    let (_, old) = page(&app, &c, &format!("{path}?version=1")).await;
    assert!(old.contains("您正在查看第 1 版"));
    // The same stale save again is refused with the reason.
    let (s, body) = post(&app, &c, &path, &changed).await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains("已被保存过"), "{body}");

    // Made into courseware: a PPTX in the teacher's library, linked from the plan.
    let (s, to) = post(&app, &c, &format!("{path}/courseware"), &[]).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(to.ends_with("done=courseware_made"));
    let (_, show) = page(&app, &c, &to).await;
    assert!(show.contains("id=\"courseware-link\""));

    // Shared to the library: waiting for the school.
    let (s, to) = post(&app, &c, &format!("{path}/share"), &[]).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, show) = page(&app, &c, &to).await;
    assert!(show.contains("已共享到资源库") && show.contains("等待学校审核"));
}

#[tokio::test]
async fn the_teacher_starts_from_a_colleagues_design() {
    let app = TestApp::start().await;
    let c = app.login("teacher").await;
    let (_, list) = page(&app, &c, "/teaching/plans").await;
    let at = list.find("/teaching/shared/").unwrap();
    let path = list[at..at + list[at..].find('"').unwrap()].to_owned();
    let (s, shared) = page(&app, &c, &path).await;
    assert_eq!(s, StatusCode::OK);
    assert!(shared.contains("以此为基础备课"));
    let action = {
        let at = shared.find("/teaching/plans/").unwrap();
        shared[at..at + shared[at..].find('"').unwrap()].to_owned()
    };
    let class = selected(&shared, "copy-class");
    let (s, to) = post(&app, &c, &action, &[("class", class.as_str())]).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(to.ends_with("/edit"), "{to}");
    let (s, edit) = page(&app, &c, &to).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        edit.contains("识字学词"),
        "the colleague's steps are copied"
    );
}

#[tokio::test]
async fn plans_open_only_for_those_who_may_read_them() {
    let app = TestApp::start().await;
    let (id,): (teaching::lesson_prep::PlanId,) = on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT l.id FROM lesson_plans l JOIN accounts a ON a.person_id = l.author_id WHERE a.username = 'teacher'",
    ).fetch_one(p).await)
    .unwrap();
    let path = format!("/teaching/plans/{id}");
    for (who, status) in [
        ("teacher", StatusCode::OK),
        ("school_admin", StatusCode::OK),
        ("district_admin", StatusCode::OK),
        ("student", StatusCode::NOT_FOUND),
        ("guardian", StatusCode::NOT_FOUND),
    ] {
        let c = app.login(who).await;
        let (s, _) = page(&app, &c, &path).await;
        assert_eq!(s, status, "{who} {path}");
    }
    let admin = app.login("school_admin").await;
    let (s, list) = page(&app, &admin, "/teaching/plans").await;
    assert_eq!(s, StatusCode::OK);
    assert!(list.contains("school-plans") && list.contains(&path));
    let (s, _) = page(&app, &admin, &format!("{path}/edit")).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = post(&app, &admin, &format!("{path}/delete"), &[]).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let student = app.login("student").await;
    let (s, _) = page(&app, &student, "/teaching/plans").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = page(&app, &student, "/teaching/plans/new").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let t = app.login("teacher").await;
    let (s, _) = page(&app, &t, "/teaching/plans/not-an-id").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = page(
        &app,
        &t,
        &format!("/teaching/plans/{}", uuid::Uuid::now_v7()),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_lesson_is_taught_from_the_plan_and_the_class_answers_on_phones() {
    let app = TestApp::start().await;
    let (id,): (teaching::lesson_prep::PlanId,) = on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT l.id FROM lesson_plans l JOIN accounts a ON a.person_id = l.author_id WHERE a.username = 'teacher'",
    ).fetch_one(p).await)
    .unwrap();
    let c = app.login("teacher").await;
    let (_, list) = page(&app, &c, "/teaching/lessons").await;
    assert!(
        list.contains("其中使用平台资源 1 节"),
        "the demo lesson taught yesterday counts"
    );
    let (s, to) = post(&app, &c, &format!("/teaching/plans/{id}/teach"), &[]).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let lesson = to.clone();
    let (s, first) = page(&app, &c, &lesson).await;
    assert_eq!(s, StatusCode::OK);
    assert!(first.contains("第 1 页") && first.contains("/static/classroom.js"));
    let (_, step) = page(&app, &c, &format!("{lesson}?slide=1")).await;
    assert!(
        step.contains("id=\"timer\"") && step.contains("data-seconds=\"300\""),
        "a 5-minute step"
    );
    assert!(
        step.contains("/library/r/"),
        "the step's resource is on the slide"
    );
    let (s, to) = post(&app, &c, &format!("{lesson}/pick"), &[("slide", "1")]).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, picked) = page(&app, &c, &to).await;
    assert!(picked.contains("id=\"picked\""));
    let (s, _) = post(
        &app,
        &c,
        &format!("{lesson}/ask"),
        &[
            ("slide", "1"),
            ("prompt", "“地”字有几画？"),
            ("options", "4"),
            ("correct", "C"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);

    let student = app.login("student").await;
    let (s, q) = page(&app, &student, "/teaching/classroom").await;
    assert_eq!(s, StatusCode::OK);
    assert!(q.contains("“地”字有几画？"));
    let qid = {
        let at = q.find("action=\"/teaching/classroom/").unwrap() + 28;
        q[at..at + q[at..].find('"').unwrap()].to_owned()
    };
    let (s, to) = post(
        &app,
        &student,
        &format!("/teaching/classroom/{qid}"),
        &[("choice", "2")],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(to.ends_with("done=answered"));
    let (_, teach) = page(&app, &c, &format!("{lesson}?slide=1")).await;
    assert!(
        teach.contains("1 / 8 人已作答"),
        "the teacher sees the answer come in"
    );

    let (s, to) = post(&app, &c, &format!("{lesson}/end"), &[]).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, record) = page(&app, &c, &to).await;
    assert!(
        record.contains("已下课")
            && record.contains("id=\"used\"")
            && record.contains("/library/r/")
    );
    assert!(record.contains("“地”字有几画？"));
    // The student cannot open the lesson; the school administrator reads its record.
    let (s, _) = page(&app, &student, &lesson).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let admin = app.login("school_admin").await;
    let (s, rec) = page(&app, &admin, &lesson).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        !rec.contains("id=\"pick\""),
        "the administrator reads, does not teach"
    );
    let (s, _) = post(&app, &admin, &format!("{lesson}/pick"), &[]).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = page(&app, &c, "/teaching/classroom").await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "the classroom answer page is for students"
    );
}

#[tokio::test]
async fn knowledge_points_are_read_by_teachers_and_imported_by_the_city() {
    let app = TestApp::start().await;
    let t = app.login("teacher").await;
    let (s, body) = page(&app, &t, "/teaching/knowledge").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        body.contains("汉字笔画") && body.contains("kp-d3"),
        "the demo tree"
    );
    assert!(
        !body.contains("id=\"import\""),
        "a teacher does not maintain it"
    );

    let c = app.login("city_admin").await;
    let (s, body) = page(&app, &c, "/teaching/knowledge").await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains("id=\"import\""));
    let region = {
        let at = body.find("name=\"region_id\" value=\"").unwrap() + 24;
        body[at..at + body[at..].find('"').unwrap()].to_owned()
    };
    let send = |name: &'static str, text: &'static str| {
        let (app, c, region) = (&app, &c, region.clone());
        async move {
            let csrf = app.csrf(c).await;
            let form = reqwest::multipart::Form::new()
                .text("csrf", csrf)
                .text("region_id", region)
                .part(
                    "file",
                    reqwest::multipart::Part::bytes(text.as_bytes().to_vec()).file_name(name),
                );
            let r = c
                .post(app.url("/teaching/knowledge/import"))
                .multipart(form)
                .send()
                .await
                .unwrap();
            (r.status(), r.text().await.unwrap())
        }
    };
    let (s, body) = send(
        "物理.csv",
        "学段,学科,一级知识点,二级知识点\n初中,物理,声现象,声音的产生\n",
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert!(
        body.contains("id=\"imported\"") && body.contains("新增知识点 2 个"),
        "{body}"
    );
    let (s, body) = send(
        "错.csv",
        "学段,学科,一级知识点,二级知识点\n初中,物理,,声音的产生\n",
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body.contains("错.csv：第 2 行 C 列（一级知识点）"),
        "{body}"
    );
    let (s, _) = page(&app, &c, "/teaching/knowledge/template.xlsx").await;
    assert_eq!(s, StatusCode::OK);
    // A teacher's import is refused.
    let csrf = app.csrf(&t).await;
    let form = reqwest::multipart::Form::new()
        .text("csrf", csrf)
        .text("region_id", region.clone())
        .part(
            "file",
            reqwest::multipart::Part::bytes(b"x".to_vec()).file_name("a.csv"),
        );
    let r = t
        .post(app.url("/teaching/knowledge/import"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_teacher_writes_an_item_with_a_formula_and_tries_it() {
    let app = TestApp::start().await;
    let c = app.login("teacher").await;
    let (s, form) = page(&app, &c, "/teaching/items/new?kind=blanks").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        form.contains("name=\"point_ids\""),
        "the demo's knowledge points to choose"
    );
    let point = {
        let at = form.find("name=\"point_ids\" value=\"").unwrap() + 23;
        form[at..at + form[at..].find('"').unwrap()].to_owned()
    };
    let fields = [
        ("kind", "blanks"),
        ("stage", "primary"),
        ("subject", "13"),
        ("stem", "若 $x^2 = 4$ 且 $x > 0$，则 x = ____。"),
        ("answer", "=2"),
        ("explanation", "$\\sqrt{4} = 2$"),
        ("points", "3"),
        ("difficulty", "2"),
        ("source", "原创"),
        ("point_ids", point.as_str()),
    ];
    let (s, to) = post(&app, &c, "/teaching/items", &fields).await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{to}");
    let path = to.split('?').next().unwrap().to_owned();
    let (s, show) = page(&app, &c, &path).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        show.contains("<math") && show.contains("<msup>"),
        "MathML, not TeX"
    );
    assert!(!show.contains("$x^2"), "no raw TeX left");
    let (s, tried) = post(&app, &c, &format!("{path}/try"), &[("text", "２")]).await;
    assert_eq!(s, StatusCode::OK);
    assert!(tried.contains("回答正确，得 3 分"), "{tried}");
    let (_, tried) = post(&app, &c, &format!("{path}/try"), &[("text", "-2")]).await;
    assert!(tried.contains("得 0 分"));
    // A missing answer comes back on its field, with the stem kept.
    let mut bad = fields.to_vec();
    bad[4] = ("answer", "");
    let (s, body) = post(&app, &c, "/teaching/items", &bad).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        body.contains("每个空写一行答案") && body.contains("若 $x^2 = 4$"),
        "{body}"
    );
    let (s, list) = page(&app, &c, "/teaching/items").await;
    assert_eq!(s, StatusCode::OK);
    assert!(list.contains(&path));
    let student = app.login("student").await;
    let (s, _) = page(&app, &student, &path).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = page(&app, &student, "/teaching/items").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

/// A plan's step with a formula and a bank item placed on it: the slide shows the formula as
/// MathML and the item with its choices, and asking it makes the quick question with the item's
/// choices and key; the editor shows it placed.
#[tokio::test]
async fn a_slide_shows_its_formula_and_the_item_placed_on_it_and_asks_it() {
    let app = TestApp::start().await;
    let (id, teacher_id): (teaching::lesson_prep::PlanId, kernel::PersonId) = on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT l.id, l.author_id FROM lesson_plans l JOIN accounts a ON a.person_id = l.author_id WHERE a.username = 'teacher'",
    ).fetch_one(p).await)
    .unwrap();
    let actor = kernel::Actor::load(&app.state.db, teacher_id, kernel::actor::Via::Session)
        .await
        .unwrap()
        .unwrap();
    let meta = kernel::RequestMeta::cli();
    let cx = kernel::Ctx::new(&app.state, &actor, &meta);
    let item = teaching::items::bank::list(
        &cx,
        &teaching::items::bank::Filter {
            subject: "13".into(),
            kind: "single".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap()
    .into_iter()
    .find(|i| i.stem.contains("“天”字的声调"))
    .expect("the demo's single choice");
    let plan = teaching::lesson_prep::get(&cx, id).await.unwrap();
    let content = teaching::lesson_prep::content(&cx, &plan, None)
        .await
        .unwrap();
    let mut draft = teaching::lesson_prep::write::Draft::of(&content);
    draft.steps[1].content.push_str("\n勾股定理：$a^2+b^2=c^2$");
    draft.steps[1].items = vec![item.id];
    teaching::lesson_prep::write::save(&cx, id, plan.version, &draft)
        .await
        .unwrap();

    let c = app.login("teacher").await;
    let (_, edit) = page(&app, &c, &format!("/teaching/plans/{id}/edit")).await;
    assert!(
        edit.contains(&format!("value=\"1:{}\" checked", item.id)),
        "placed in the editor"
    );
    let (s, lesson) = post(&app, &c, &format!("/teaching/plans/{id}/teach"), &[]).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, slide) = page(&app, &c, &format!("{lesson}?slide=2")).await;
    assert!(
        slide.contains("<math") && slide.contains("<msup>"),
        "the formula as MathML"
    );
    assert!(slide.contains("id=\"slide-item-1\"") && slide.contains("“天”字的声调"));
    assert!(slide.contains("A. 第一声"), "its choices");
    let item_id = item.id.to_string();
    let (s, to) = post(
        &app,
        &c,
        &format!("{lesson}/ask-item"),
        &[("slide", "2"), ("item", item_id.as_str())],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{to}");
    let (options, correct, prompt): (i64, Option<i64>, String) =
        on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT options, correct, prompt FROM classroom_questions ORDER BY opened_at DESC LIMIT 1",
    ).fetch_one(p).await)
        .unwrap();
    assert_eq!((options, correct), (4, Some(0)));
    assert!(prompt.contains("“天”字的声调"));
    let student = app.login("student").await;
    let (_, q) = page(&app, &student, "/teaching/classroom").await;
    assert!(q.contains("“天”字的声调"), "asked on the phones");
}

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
    let (class,): (uuid::Uuid,) = on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT class_id FROM assignment_classes WHERE assignment_id = $1",
    ).bind(test).fetch_one(p).await)
    .unwrap();
    let heat_path = format!("/teaching/mastery?class={class}&subject=13");
    for who in ["student", "guardian"] {
        let c = app.login(who).await;
        assert_eq!(
            page(&app, &c, &heat_path).await.0,
            StatusCode::NOT_FOUND,
            "{who}"
        );
    }
    // The school's administrator reads the analysis and the heat map.
    let admin = app.login("school_admin").await;
    assert_eq!(page(&app, &admin, &path).await.0, StatusCode::OK);
    let (s, html) = page(&app, &admin, &heat_path).await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("id=\"heat-map\""));
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

    // The guardian, the teacher and the school's administrator read it.
    for who in ["guardian", "teacher", "school_admin"] {
        let c = app.login(who).await;
        let (s, html) = page(&app, &c, &to).await;
        assert_eq!(s, StatusCode::OK, "{who}");
        assert!(html.contains("正确率 0%"));
    }
    // A teacher has no practice page of their own.
    let (s, _) = page(&app, &app.login("teacher").await, "/teaching/practice").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

/// A one-second WAV file (8 kHz, 8-bit mono, a 440 Hz tone).
fn wav() -> Vec<u8> {
    let samples: Vec<u8> = (0..8_000)
        .map(|i| {
            let t = i as f64 / 8_000.0;
            (128.0 + 100.0 * (2.0 * std::f64::consts::PI * 440.0 * t).sin()) as u8
        })
        .collect();
    let mut out = Vec::new();
    out.extend(b"RIFF");
    out.extend((36 + samples.len() as u32).to_le_bytes());
    out.extend(b"WAVEfmt ");
    out.extend(16u32.to_le_bytes());
    out.extend(1u16.to_le_bytes()); // PCM
    out.extend(1u16.to_le_bytes()); // mono
    out.extend(8_000u32.to_le_bytes());
    out.extend(8_000u32.to_le_bytes());
    out.extend(1u16.to_le_bytes());
    out.extend(8u16.to_le_bytes());
    out.extend(b"data");
    out.extend((samples.len() as u32).to_le_bytes());
    out.extend(samples);
    out
}

#[tokio::test]
async fn a_listening_item_plays_its_library_recording_to_those_who_may_hear_it() {
    let app = TestApp::start().await;
    let (teacher_id,): (kernel::PersonId,) = on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT person_id FROM accounts WHERE username = 'teacher'",
    ).fetch_one(p).await)
    .unwrap();
    let actor = kernel::Actor::load(&app.state.db, teacher_id, kernel::actor::Via::Session)
        .await
        .unwrap()
        .unwrap();
    let meta = kernel::RequestMeta::cli();
    let cx = kernel::Ctx::new(&app.state, &actor, &meta);
    // The teacher's recording in the library, and a text file that is no recording.
    let (chapter,): (kernel::CatalogId,) = on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT id FROM catalog_nodes WHERE subject = '13' ORDER BY id LIMIT 1",
    ).fetch_one(p).await)
    .unwrap();
    let upload = |name: &'static str, bytes: Vec<u8>| {
        let cx = &cx;
        async move {
            let stream =
                futures_util::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from(bytes))]);
            let (upload, _) = resources::files::upload::store_stream(cx, name, stream)
                .await
                .unwrap();
            resources::library::resource::create(
                cx,
                resources::library::resource::NewResource {
                    title: name.into(),
                    kind: "material".into(),
                    catalog_ids: vec![chapter],
                    upload_id: Some(upload),
                    ..Default::default()
                },
            )
            .await
            .unwrap()
            .id
        }
    };
    let recording = upload("声调听力.wav", wav()).await;
    let text = upload("说明.txt", "不是音频".as_bytes().to_vec()).await;

    let teacher = app.login("teacher").await;
    let base = [
        ("kind", "single"),
        ("stage", "primary"),
        ("subject", "13"),
        ("stem", "听录音，选出你听到的声调。"),
        ("choices", "第一声\n第二声\n第三声\n第四声"),
        ("answer", "A"),
        ("points", "2"),
        ("difficulty", "2"),
    ];
    // Something that is no recording is refused on the field, and nothing is stored.
    for bad in [
        format!("/library/resources/{text}"),
        "录音".to_owned(),
        uuid::Uuid::now_v7().to_string(),
    ] {
        let mut form = base.to_vec();
        form.push(("audio", bad.as_str()));
        let (s, html) = post(&app, &teacher, "/teaching/items", &form).await;
        assert_eq!(s, StatusCode::OK, "{bad}");
        assert!(html.contains("音频要填资源库里"), "{bad}");
    }
    let link = format!("https://jiaoyun.example/library/resources/{recording}");
    let mut form = base.to_vec();
    form.push(("audio", link.as_str()));
    let (s, to) = post(&app, &teacher, "/teaching/items", &form).await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{to}");
    let (item,): (uuid::Uuid,) = on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT id FROM items WHERE audio_id IS NOT NULL",
    ).fetch_one(p).await)
    .unwrap();
    let (plain,): (uuid::Uuid,) = on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT id FROM items WHERE audio_id IS NULL AND subject = '13' AND kind = 'single' ORDER BY id LIMIT 1",
    ).fetch_one(p).await)
    .unwrap();
    let (_, show) = page(&app, &teacher, &format!("/teaching/items/{item}")).await;
    assert!(show.contains("id=\"item-audio\""));
    let r = teacher
        .get(app.url(&format!("/teaching/items/{item}/audio")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("audio/")
    );
    assert_eq!(r.bytes().await.unwrap().len(), wav().len());

    // Set to the class as homework: the student plays it from the work's page; a guardian,
    // who has no work of their own, does not.
    let (class,): (uuid::Uuid,) = on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT node_id FROM role_assignments WHERE person_id = $1 AND role = 'head_teacher'",
    ).bind(teacher_id).fetch_one(p).await)
    .unwrap();
    let zone = app.state.config.time_zone;
    let now = chrono::Utc::now();
    let opens = zone.input(now - chrono::Duration::minutes(5));
    let due = zone.input(now + chrono::Duration::days(1));
    let (item_id, plain_id, class_id) = (item.to_string(), plain.to_string(), class.to_string());
    let (s, to) = post(
        &app,
        &teacher,
        "/teaching/assignments",
        &[
            ("kind", "homework"),
            ("subject", "13"),
            ("class", class_id.as_str()),
            ("title", "听力练习"),
            ("category", "homework"),
            ("opens_at", opens.as_str()),
            ("due_at", due.as_str()),
            ("late_policy", "accept"),
            ("expected_minutes", "5"),
            ("item", item_id.as_str()),
            ("item", plain_id.as_str()),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{to}");
    let (work,): (uuid::Uuid,) = on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT id FROM assignments WHERE title = '听力练习'",
    ).fetch_one(p).await)
    .unwrap();
    let student = app.login("student").await;
    let (_, html) = page(&app, &student, &format!("/teaching/homework/{work}")).await;
    let src = format!("/teaching/homework/{work}/audio/0");
    assert!(html.contains(&src), "the player on the question");
    let r = student.get(app.url(&src)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("audio/")
    );
    let guardian = app.login("guardian").await;
    assert_eq!(
        guardian.get(app.url(&src)).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    // No recording for the item without one, nor at a position the work does not have.
    for position in [1, 7] {
        let r = student
            .get(app.url(&format!("/teaching/homework/{work}/audio/{position}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{position}");
    }
    // A test not yet started plays nothing.
    let later = zone.input(now + chrono::Duration::hours(2));
    let end = zone.input(now + chrono::Duration::hours(3));
    let (s, to) = post(
        &app,
        &teacher,
        "/teaching/assignments",
        &[
            ("kind", "test"),
            ("subject", "13"),
            ("class", class_id.as_str()),
            ("title", "听力测验"),
            ("category", "quiz"),
            ("opens_at", later.as_str()),
            ("due_at", end.as_str()),
            ("late_policy", "refuse"),
            ("expected_minutes", "20"),
            ("time_limit", "20"),
            ("item", item_id.as_str()),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{to}");
    let (test,): (uuid::Uuid,) = on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT id FROM assignments WHERE title = '听力测验'",
    ).fetch_one(p).await)
    .unwrap();
    let r = student
        .get(app.url(&format!("/teaching/homework/{test}/audio/0")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND, "before the test starts");
    // Once the recording leaves the library, the item is not set again.
    on_db!(&app.state.db, p => sqlx::query("UPDATE resources SET deleted_at = $2 WHERE id = $1")
        .bind(recording).bind(chrono::Utc::now()).execute(p).await.map(|r| r.rows_affected()))
    .unwrap();
    let (s, html) = post(
        &app,
        &teacher,
        "/teaching/assignments",
        &[
            ("kind", "homework"),
            ("subject", "13"),
            ("class", class_id.as_str()),
            ("title", "再听一次"),
            ("category", "homework"),
            ("opens_at", opens.as_str()),
            ("due_at", due.as_str()),
            ("late_policy", "accept"),
            ("expected_minutes", "5"),
            ("item", item_id.as_str()),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "refused on the form");
    assert!(html.contains("field-error"), "{html}");
}

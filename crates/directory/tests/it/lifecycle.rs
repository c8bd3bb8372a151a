//! After an import: the statistics every level sees, the head teacher's account slips, and the
//! school year's turn (promotion, graduation, class history).

use crate::helpers::{TestApp, extract_csrf, import_sample, node_by_code as node};
use directory::import::sample;
use kernel::{NodeId, on_db};
use reqwest::StatusCode;
use serde_json::Value;

async fn stats(app: &TestApp, token: &str, node: NodeId) -> Value {
    let r = TestApp::client()
        .get(app.url(&format!("/api/v1/nodes/{node}/stats")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.unwrap()
}

#[tokio::test]
async fn statistics_slips_and_the_school_years_turn() {
    let app = TestApp::start().await;
    let school = node(&app, "2133010001").await;
    let city_token = app.token("city_admin").await;
    let (city,): (NodeId,) =
        on_db!(&app.state.db, p => sqlx::query_as("SELECT id FROM org_nodes WHERE kind = 'city'")
        .fetch_one(p).await)
        .unwrap();
    let before_school = stats(&app, &city_token, school).await;
    let before_city = stats(&app, &city_token, city).await;
    import_sample(&app, school, 0..120, false).await;

    // The school, its district and the city see the same 120 more students, live.
    let s = stats(&app, &city_token, school).await;
    let c = stats(&app, &city_token, city).await;
    let n = |v: &Value, k: &str| v[k].as_i64().unwrap();
    assert_eq!(n(&s, "students"), n(&before_school, "students") + 120);
    assert_eq!(n(&c, "students"), n(&before_city, "students") + 120);
    let district_token = app.token("district_admin").await;
    let (district,): (NodeId,) =
        on_db!(&app.state.db, p => sqlx::query_as("SELECT parent_id FROM org_nodes WHERE id = $1")
        .bind(school).fetch_one(p).await)
        .unwrap();
    let d = stats(&app, &district_token, district).await;
    let schools: Vec<(NodeId,)> = on_db!(&app.state.db, p => sqlx::query_as("SELECT id FROM org_nodes WHERE parent_id = $1 AND kind = 'school'")
        .bind(district).fetch_all(p).await).unwrap();
    let mut sum = 0;
    for (id,) in schools {
        sum += n(&stats(&app, &district_token, id).await, "students");
    }
    assert_eq!(
        n(&d, "students"),
        sum,
        "a district's count is its schools' sum"
    );
    // 120 imported into 一年级 (1)–(3)班, 45 to a class: the demo's (1)班 and (2)班 now hold
    // their 8 demo students and 45 imported ones, over the primary limit of 45.
    let first = s["by_grade"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == "一年级")
        .unwrap()
        .clone();
    assert_eq!(first["students"].as_i64().unwrap(), 16 + 120);
    assert_eq!(n(&s, "oversize_classes"), 2);
    assert_eq!(n(&s, "largest_class"), 53);
    let han = &s["by_ethnicity"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["code"] == "01")
        .unwrap()
        .clone();
    assert_eq!(han["name"], "汉族");
    assert_eq!(han["count"].as_i64().unwrap(), 120);
    assert_eq!(
        n(&s, "students_registered"),
        n(&before_school, "students_registered")
    );
    // Another school's administrator may not read this school's numbers.
    let other = app.token("school2_admin").await;
    let r = TestApp::client()
        .get(app.url(&format!("/api/v1/nodes/{school}/stats")))
        .bearer_auth(&other)
        .send()
        .await
        .unwrap();
    assert!(matches!(
        r.status(),
        StatusCode::FORBIDDEN | StatusCode::NOT_FOUND
    ));

    // The head teacher of (1)班 issues the class's slips and a student logs in with one.
    let (class,): (NodeId,) = on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT r.node_id FROM role_assignments r JOIN persons p ON p.id = r.person_id WHERE p.registry_no = $1 AND r.role = 'student'")
        .bind(&sample::student(0).registry_no).fetch_one(p).await).unwrap();
    let teacher = app.login("teacher").await;
    let page = teacher
        .get(app.url(&format!("/classes/{class}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // 45 students, 23 with two guardians and 22 with one: 113 accounts.
    assert!(
        page.contains("本班有 113 个学生和家长账号尚未使用"),
        "{page}"
    );
    let csrf = extract_csrf(&page);
    let slips = teacher
        .post(app.url(&format!("/classes/{class}/accounts")))
        .form(&[("csrf", csrf.as_str()), ("format", "print")])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let s0 = sample::student(0);
    let username = s0.registry_no.to_lowercase();
    let at = slips
        .find(&format!("<code>{username}</code>"))
        .expect("the student's slip");
    let password = slips[at..]
        .split("<code class=\"password\">")
        .nth(1)
        .and_then(|r| r.split('<').next())
        .unwrap()
        .to_owned();
    assert_eq!(slips.matches("class=\"slip\"").count(), 113);
    assert!(app.login_with(&username, &password).await.is_ok());
    let page = teacher
        .get(app.url(&format!("/classes/{class}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("本班有 112 个"),
        "the student who logged in is no longer waiting"
    );
    // Another class's teacher cannot issue this class's accounts.
    let other_teacher: Vec<(String,)> = on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT a.username FROM role_assignments r JOIN accounts a ON a.person_id = r.person_id
         WHERE r.role = 'teacher' AND r.person_id NOT IN (SELECT person_id FROM role_assignments WHERE node_id = $1) LIMIT 1").bind(class).fetch_all(p).await).unwrap();
    let t2 = app.login(&other_teacher[0].0).await;
    let csrf2 = app.csrf(&t2).await;
    let r = t2
        .post(app.url(&format!("/classes/{class}/accounts")))
        .form(&[("csrf", csrf2.as_str()), ("format", "xlsx")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(crate::helpers::audit_count(&app, "account.issue").await, 1);

    // The school year turns: classes move up, history is kept, and again changes nothing.
    let admin = app.login("school_admin").await;
    let year = directory::import::classes::school_year(chrono::Utc::now().date_naive()) + 1;
    let promote = |y: i64| {
        let admin = admin.clone();
        let app = &app;
        async move {
            let csrf = app.csrf(&admin).await;
            let page = admin
                .post(app.url(&format!("/admin/org/{school}/promote")))
                .form(&[("csrf", csrf), ("school_year", y.to_string())])
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            let grab = |id: &str| -> u64 {
                let at = page
                    .find(&format!("id=\"{id}\">"))
                    .unwrap_or_else(|| panic!("{id} in {page}"));
                page[at + id.len() + 6..]
                    .split('<')
                    .next()
                    .unwrap()
                    .parse()
                    .unwrap()
            };
            (grab("promoted"), grab("graduated"))
        }
    };
    let (promoted, graduated) = promote(year).await;
    assert!(promoted >= 5, "{promoted}");
    assert_eq!(graduated, 0);
    assert_eq!(promote(year).await, (0, 0));
    let history: Vec<(String, Option<chrono::NaiveDate>, String, i64)> = on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT h.grade_name, h.ended_on, h.reason, h.school_year FROM class_history h JOIN persons p ON p.id = h.person_id
         WHERE p.registry_no = $1 ORDER BY h.reason")
        .bind(&s0.registry_no).fetch_all(p).await).unwrap();
    assert_eq!(history.len(), 2, "{history:?}");
    assert_eq!(
        (
            history[0].0.as_str(),
            history[0].1.is_some(),
            history[0].2.as_str()
        ),
        ("一年级", true, "import")
    );
    assert_eq!(
        (history[1].0.as_str(), history[1].1.is_none(), history[1].3),
        ("二年级", true, year)
    );
    // Six years on, the cohort leaves the primary school.
    let (_, graduated) = promote(year + 5).await;
    assert!(graduated >= 120, "{graduated}");
    let (status,): (String,) = on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT s.status FROM students s JOIN persons p ON p.id = s.person_id WHERE p.registry_no = $1")
        .bind(&s0.registry_no).fetch_one(p).await).unwrap();
    assert_eq!(status, "graduated");
    assert_eq!(n(&stats(&app, &city_token, school).await, "students"), 0);
    app.stop().await;
}

#[tokio::test]
async fn student_lists_export_masked_unless_an_administrator_asks_and_every_export_is_audited() {
    let app = TestApp::start().await;
    let school = node(&app, "2133010001").await;
    import_sample(&app, school, 0..50, false).await;
    let s0 = sample::student(0);
    let admin = app.login("school_admin").await;
    let r = admin
        .get(app.url(&format!(
            "/export/students/{school}?format=xlsx&headers=jyt&unmasked=1"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let p = std::env::temp_dir().join(format!("jy-export-{}.xlsx", uuid::Uuid::now_v7()));
    std::fs::write(&p, r.bytes().await.unwrap()).unwrap();
    let (_, rows) = sheets::read_all(&p).unwrap();
    assert_eq!(rows[0].cells[0].text(), "XJH");
    let mine = rows
        .iter()
        .find(|r| r.cells[1].text() == s0.name && r.cells[4].text() == s0.id_number);
    assert!(
        mine.is_some(),
        "the full ID number is in the unmasked export"
    );
    // The head teacher of the student's class exports it as GBK CSV: masked.
    let (class,): (NodeId,) = on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT r.node_id FROM role_assignments r JOIN persons p ON p.id = r.person_id WHERE p.registry_no = $1 AND r.role = 'student'")
        .bind(&s0.registry_no).fetch_one(p).await).unwrap();
    let teacher = app.login("teacher").await;
    let r = teacher
        .get(app.url(&format!("/export/students/{class}?format=gbk")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let bytes = r.bytes().await.unwrap();
    let (text, _, bad) = encoding_rs::GB18030.decode(&bytes);
    assert!(!bad);
    assert!(text.starts_with("学籍号,姓名,性别"), "{text}");
    assert!(
        text.contains(&s0.name) && !text.contains(&s0.id_number),
        "{text}"
    );
    assert!(text.contains(&kernel::privacy::mask_id_number(&s0.id_number)));
    assert!(text.contains(&kernel::privacy::mask_phone(&s0.guardians[0].2)));
    let r = teacher
        .get(app.url(&format!("/export/students/{class}?format=csv&unmasked=1")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // Nobody else's students.
    let r = teacher
        .get(app.url(&format!("/export/students/{school}?format=csv")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        crate::helpers::audit_count(&app, "export.personal_data").await,
        1
    );
    assert_eq!(
        crate::helpers::audit_count(&app, "export.students").await,
        1
    );
    app.stop().await;
}

//! The catalogue and the library's statistics over HTTP: the catalogue page for staff (with the
//! edit forms and the import only for the region's administrators), a bad import through the
//! page and the API refused with its rows and columns and nothing stored, a good one through
//! the API once and again, the template, the progress page, the catalogue API, and the
//! statistics page, export and API refusing a teacher.

use crate::helpers::TestApp;
use kernel::{NodeId, on_db};
use reqwest::{Client, StatusCode};
use serde_json::Value;

async fn node_named(app: &TestApp, kind: &str, name: &str) -> NodeId {
    let (id,): (NodeId,) = on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT id FROM org_nodes WHERE kind = $1 AND name = $2",
    ).bind(kind).bind(name).fetch_one(p).await)
    .unwrap();
    id
}

async fn catalog_count(app: &TestApp) -> i64 {
    let (n,): (i64,) = on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT COUNT(*) FROM catalog_nodes",
    ).fetch_one(p).await)
    .unwrap();
    n
}

async fn get(c: &Client, url: String) -> (StatusCode, String) {
    let r = c.get(url).send().await.unwrap();
    (r.status(), r.text().await.unwrap())
}

const BAD: &str = "学段,学科,教材版本,册次,单元/章,课节\n\
    初中,数学,浙教版,七年级上册,第1章 有理数,1.1 从自然数到有理数\n\
    初中,炼金术,浙教版,七年级上册,第1章 有理数,1.2 数轴\n";
const GOOD: &str = "学段,学科,教材版本,册次,单元/章,课节\n\
    初中,数学,浙教版,七年级上册,第1章 有理数,1.1 从自然数到有理数\n\
    初中,数学,浙教版,七年级上册,第1章 有理数,1.2 数轴\n";

#[tokio::test]
async fn the_catalogue_page_shows_the_tree_and_its_forms_to_whom_they_belong() {
    let app = TestApp::start().await;
    let city = node_named(&app, "city", "杭州市").await;
    let (volume,): (kernel::CatalogId,) = on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT id FROM catalog_nodes WHERE path = '初中 / 数学 / 人教版 / 八年级下册'",
    ).fetch_one(p).await)
    .unwrap();
    let teacher = app.login("teacher").await;
    let (s, page) = get(&teacher, app.url("/library/catalog")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        page.contains("教材目录") && page.contains("杭州市"),
        "{page}"
    );
    assert!(page.contains(">小学</a>") && page.contains(">初中</a>") && page.contains(">高中</a>"));
    assert!(
        !page.contains("/library/catalog/import"),
        "no import form for a teacher"
    );
    assert!(
        !page.contains("/library/catalog/nodes"),
        "no edit form for a teacher"
    );
    let (s, page) = get(
        &teacher,
        app.url(&format!("/library/catalog?region={city}&node={volume}")),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    for unit in [
        "第十六章 二次根式",
        "第十七章 勾股定理",
        "第二十章 数据的分析",
    ] {
        assert!(page.contains(unit), "{unit}");
    }
    assert!(
        page.find("第十六章").unwrap() < page.find("第二十章").unwrap(),
        "in order"
    );
    assert!(
        page.contains("八年级 · 下册"),
        "the volume's grade and term"
    );
    let student = app.login("student").await;
    assert_eq!(
        get(&student, app.url("/library/catalog")).await.0,
        StatusCode::FORBIDDEN
    );
    // The city's administrator gets the edit forms, the import and the textbook choices.
    let admin = app.login("city_admin").await;
    let (s, page) = get(&admin, app.url("/library/catalog")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        page.contains("action=\"/library/catalog/import\"")
            && page.contains("enctype=\"multipart/form-data\"")
    );
    assert!(page.contains("action=\"/library/catalog/nodes\""));
    assert!(
        page.contains("id=\"choices\"") && page.contains("统编版"),
        "the city's choices"
    );
    // Adding a node through the page (CSRF checked).
    let csrf = app.csrf(&admin).await;
    let add = |token: String| {
        admin
            .post(app.url("/library/catalog/nodes"))
            .form(&[
                ("csrf", token),
                ("parent_id", volume.to_string()),
                ("name", "第二十一章 综合与实践".into()),
            ])
            .send()
    };
    assert_eq!(
        add("wrong".into()).await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    let r = add(csrf.clone()).await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, page) = get(&admin, app.url(&format!("/library/catalog?node={volume}"))).await;
    assert!(page.contains("第二十一章 综合与实践"));
    // The template downloads as XLSX.
    let r = teacher
        .get(app.url("/library/catalog/template.xlsx"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("attachment")
    );
    assert!(r.bytes().await.unwrap().starts_with(b"PK"));
    app.stop().await;
}

#[tokio::test]
async fn a_bad_import_is_refused_with_its_rows_and_columns_and_stores_nothing() {
    let app = TestApp::start().await;
    let district = node_named(&app, "district", "上城区").await;
    let before = catalog_count(&app).await;
    // The page.
    let admin = app.login("district_admin").await;
    let csrf = app.csrf(&admin).await;
    let form = |csrf: &str, body: &str, name: &str| {
        reqwest::multipart::Form::new()
            .text("csrf", csrf.to_owned())
            .text("region_id", district.to_string())
            .part(
                "file",
                reqwest::multipart::Part::bytes(body.as_bytes().to_vec())
                    .file_name(name.to_owned()),
            )
    };
    let r = admin
        .post(app.url("/library/catalog/import"))
        .multipart(form(&csrf, BAD, "浙教版.csv"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = r.text().await.unwrap();
    assert!(page.contains("id=\"import-errors\""), "{page}");
    assert!(
        page.contains("浙教版.csv：第 3 行 B 列（学科）“炼金术”"),
        "{page}"
    );
    assert_eq!(catalog_count(&app).await, before, "nothing stored");
    let r = admin
        .post(app.url("/library/catalog/import"))
        .multipart(form("wrong", GOOD, "浙教版.csv"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "CSRF");
    assert_eq!(catalog_count(&app).await, before);
    // The API.
    let token = app.token("district_admin").await;
    let api_form = |body: &str| {
        reqwest::multipart::Form::new()
            .text("region_id", district.to_string())
            .part(
                "file",
                reqwest::multipart::Part::bytes(body.as_bytes().to_vec()).file_name("catalog.csv"),
            )
    };
    let c = Client::new();
    let r = c
        .post(app.url("/api/v1/catalog/import"))
        .bearer_auth(&token)
        .multipart(api_form(BAD))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = r.json().await.unwrap();
    let e = &body["error"];
    assert_eq!(e["code"], "catalog.import_invalid", "{body}");
    assert_eq!(e["problem_count"], 1);
    let p = &e["problems"][0];
    assert_eq!(
        (p["row"].as_u64(), p["column"].as_str(), p["field"].as_str()),
        (Some(3), Some("B"), Some("学科")),
        "{body}"
    );
    assert_eq!(p["code"], "error.catalog.unknown_subject");
    assert_eq!(p["file_name"], "catalog.csv");
    assert_eq!(catalog_count(&app).await, before, "nothing stored");
    // A teacher may not import; a good file imports once, and again changes nothing.
    let t = app.token("teacher").await;
    let r = c
        .post(app.url("/api/v1/catalog/import"))
        .bearer_auth(&t)
        .multipart(api_form(GOOD))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = c
        .post(app.url("/api/v1/catalog/import"))
        .bearer_auth(&token)
        .multipart(api_form(GOOD))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let done: Value = r.json().await.unwrap();
    assert_eq!(
        (done["rows"].as_u64(), done["created"].as_u64()),
        (Some(2), Some(7)),
        "{done}"
    );
    let r = c
        .post(app.url("/api/v1/catalog/import"))
        .bearer_auth(&token)
        .multipart(api_form(GOOD))
        .send()
        .await
        .unwrap();
    let again: Value = r.json().await.unwrap();
    assert_eq!(
        (again["created"].as_u64(), again["unchanged"].as_u64()),
        (Some(0), Some(7)),
        "{again}"
    );
    assert_eq!(catalog_count(&app).await, before + 7);
    app.stop().await;
}

#[tokio::test]
async fn the_catalogue_api_and_the_progress_page() {
    let app = TestApp::start().await;
    let c = Client::new();
    let token = app.token("teacher").await;
    let r = c
        .get(app.url("/api/v1/catalog"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let cats: Value = r.json().await.unwrap();
    assert_eq!(cats[0]["region_name"], "杭州市");
    let primary = cats[0]["stages"][0]["id"].as_str().unwrap().to_owned();
    let r = c
        .get(app.url(&format!("/api/v1/catalog/{primary}/children")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let subjects: Value = r.json().await.unwrap();
    let names: Vec<&str> = subjects
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["语文", "数学", "英语"]);
    let chinese = subjects[0]["id"].as_str().unwrap();
    let r = c
        .get(app.url(&format!("/api/v1/catalog/{chinese}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let node: Value = r.json().await.unwrap();
    assert_eq!(
        (
            node["node"]["subject"].as_str(),
            node["breadcrumb"][0]["name"].as_str()
        ),
        (Some("13"), Some("小学"))
    );
    let r = c
        .get(app.url(&format!("/api/v1/catalog/{}", kernel::CatalogId::new())))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    // The teacher's class: its progress in Chinese, estimated, through the API and the page.
    let (class,): (NodeId,) = on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT r.node_id FROM role_assignments r JOIN accounts a ON a.person_id = r.person_id
         WHERE a.username = 'teacher' AND r.role = 'teacher' AND r.subject = '13'",
    ).fetch_one(p).await)
    .unwrap();
    let r = c
        .get(app.url(&format!("/api/v1/catalog/progress/{class}?subject=13")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let p: Value = r.json().await.unwrap();
    assert_eq!(p["estimated"], true, "{p}");
    let volume = p["volume"].as_str().unwrap().to_owned();
    let r = c
        .get(app.url(&format!("/api/v1/catalog/{volume}/outline")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let outline: Value = r.json().await.unwrap();
    let unit = outline[1]["unit"]["id"].as_str().unwrap().to_owned();
    let unit_name = outline[1]["unit"]["name"].as_str().unwrap().to_owned();
    let web = app.login("teacher").await;
    let (s, page) = get(&web, app.url("/library/progress")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        page.contains("一年级(1)班 · 语文") && page.contains("按日期估计"),
        "{page}"
    );
    let csrf = app.csrf(&web).await;
    let r = web
        .post(app.url("/library/progress"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("class_id", &class.to_string()),
            ("subject", "13"),
            ("catalog_id", &unit),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, page) = get(&web, app.url("/library/progress?ok=progress_saved")).await;
    assert!(
        page.contains("教学进度已保存") && page.contains("教师设置") && page.contains(&unit_name),
        "{page}"
    );
    let r = c
        .get(app.url(&format!("/api/v1/catalog/progress/{class}?subject=13")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let p: Value = r.json().await.unwrap();
    assert_eq!(
        (p["current"].as_str(), p["estimated"].as_bool()),
        (Some(unit.as_str()), Some(false))
    );
    // Textbook choices of the teacher's school, read through the API.
    let school = node_named(&app, "school", "上城区实验小学").await;
    let r = c
        .get(app.url(&format!("/api/v1/catalog/choices/{school}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let choices: Value = r.json().await.unwrap();
    assert!(
        choices
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["subject"] == "14"
                && c["edition_name"] == "人教版"
                && c["inherited"] == true)
    );
    app.stop().await;
}

#[tokio::test]
async fn the_statistics_refuse_a_teacher_and_serve_the_schools_administrator() {
    let app = TestApp::start().await;
    let school = node_named(&app, "school", "上城区实验小学").await;
    let teacher = app.login("teacher").await;
    assert_eq!(
        get(&teacher, app.url(&format!("/library/stats/{school}")))
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        get(
            &teacher,
            app.url(&format!("/library/stats/{school}/below-target?format=csv"))
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );
    let c = Client::new();
    let t = app.token("teacher").await;
    let r = c
        .get(app.url(&format!("/api/v1/resources/stats/{school}")))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let admin = app.login("school_admin").await;
    let (s, page) = get(&admin, app.url(&format!("/library/stats/{school}"))).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        page.contains("资源统计")
            && page.contains("<ol id=\"chart\" class=\"bars\"")
            && page.contains("id=\"teachers\""),
        "{page}"
    );
    assert!(!page.contains("/target\""), "a school sets no target");
    let r = admin
        .get(app.url(&format!("/library/stats/{school}/below-target?format=csv")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("姓名,学校,本学期上传,目标")
    );
    let token = app.token("school_admin").await;
    let r = c
        .get(app.url(&format!("/api/v1/resources/stats/{school}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let s: Value = r.json().await.unwrap();
    assert!(s["teachers"].as_array().unwrap().len() >= 4, "{s}");
    assert_eq!(s["target"]["per_term"], 10);
    // A page of those below target.
    let r = c
        .get(app.url(&format!(
            "/api/v1/resources/stats/{school}?below=true&per_page=2"
        )))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let page: Value = r.json().await.unwrap();
    let rows = page["teachers"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{page}");
    assert!(page["teachers_total"].as_i64().unwrap() >= 2);
    assert!(
        rows.iter()
            .all(|t| t["uploads"].as_i64() < t["target"].as_i64())
    );
    let (s2, below) = get(&admin, app.url(&format!("/library/stats/{school}?below=1"))).await;
    assert_eq!(s2, StatusCode::OK);
    assert!(below.contains("显示全部教师"), "{below}");
    // The district's administrator sets the district's target on the page.
    let district = node_named(&app, "district", "上城区").await;
    let da = app.login("district_admin").await;
    let csrf = app.csrf(&da).await;
    let r = da
        .post(app.url(&format!("/library/stats/{district}/target")))
        .form(&[("csrf", csrf.as_str()), ("per_term", "abc")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let r = da
        .post(app.url(&format!("/library/stats/{district}/target")))
        .form(&[("csrf", csrf.as_str()), ("per_term", "4")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = c
        .get(app.url(&format!("/api/v1/resources/stats/{school}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let s: Value = r.json().await.unwrap();
    assert_eq!(s["target"]["per_term"], 4);
    app.stop().await;
}

//! Registry changes (学籍异动): class changes with history, leave, suspension, return and
//! withdrawal, by API and by page; the helpers the transfer tests share.

use crate::helpers::{TestApp, audit_count, extract_csrf, node_by_code as node};
use kernel::{NodeId, PersonId, on_db};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// 上城区实验小学 (school_admin), 上城区第一中学 (school2_admin, same district), 西湖区九年一贯制学校
/// (school3_admin, another district).
pub(crate) const SCHOOL1: &str = "2133010001";
pub(crate) const SCHOOL2: &str = "3133010002";
pub(crate) const SCHOOL3: &str = "2133010003";

pub(crate) async fn parent(app: &TestApp, id: NodeId) -> NodeId {
    let (p,): (NodeId,) =
        on_db!(&app.state.db, p => sqlx::query_as("SELECT parent_id FROM org_nodes WHERE id = $1")
        .bind(id).fetch_one(p).await)
        .unwrap();
    p
}

/// The n-th student (by name) of a school.
pub(crate) async fn nth_student(app: &TestApp, school: &str, n: i64) -> PersonId {
    let (id,): (PersonId,) = on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT p.id FROM persons p JOIN org_nodes s ON s.id = p.org_id JOIN role_assignments r ON r.person_id = p.id
         WHERE s.code = $1 AND r.role = 'student' ORDER BY p.name, p.id LIMIT 1 OFFSET $2").bind(school).bind(n).fetch_one(p).await)
    .unwrap();
    id
}

/// The student's class (the student role's node), if any.
pub(crate) async fn class_of(app: &TestApp, person: PersonId) -> Option<NodeId> {
    let row: Option<(NodeId,)> = on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT node_id FROM role_assignments WHERE person_id = $1 AND role = 'student'")
        .bind(person).fetch_optional(p).await)
    .unwrap();
    row.map(|r| r.0)
}

/// Classes of a school other than `except`.
pub(crate) async fn other_class(app: &TestApp, school: &str, except: Option<NodeId>) -> NodeId {
    let rows: Vec<(NodeId,)> = on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT c.id FROM org_nodes c JOIN org_nodes s ON s.id = c.school_id WHERE s.code = $1 AND c.kind = 'class' ORDER BY c.id")
        .bind(school).fetch_all(p).await)
    .unwrap();
    rows.into_iter()
        .map(|r| r.0)
        .find(|c| Some(*c) != except)
        .unwrap()
}

/// Name, registry number, ID number and owning node.
pub(crate) async fn person_facts(
    app: &TestApp,
    person: PersonId,
) -> (String, String, String, NodeId) {
    let (name, registry_no, id_number, org): (String, Option<String>, Option<String>, NodeId) =
        on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT name, registry_no, id_number, org_id FROM persons WHERE id = $1")
        .bind(person).fetch_one(p).await)
        .unwrap();
    (
        name,
        registry_no.unwrap_or_default(),
        id_number.unwrap_or_default(),
        org,
    )
}

pub(crate) async fn get(app: &TestApp, token: &str, path: &str) -> (StatusCode, Value) {
    let r = TestApp::client()
        .get(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let s = r.status();
    (s, r.json().await.unwrap_or(Value::Null))
}

pub(crate) async fn post(
    app: &TestApp,
    token: &str,
    path: &str,
    body: Value,
) -> (StatusCode, Value) {
    let r = TestApp::client()
        .post(app.url(path))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let s = r.status();
    (s, r.json().await.unwrap_or(Value::Null))
}

pub(crate) async fn students(app: &TestApp, token: &str, node: NodeId) -> i64 {
    let (s, v) = get(app, token, &format!("/api/v1/nodes/{node}/stats")).await;
    assert_eq!(s, StatusCode::OK);
    v["students"].as_i64().unwrap()
}

pub(crate) fn kinds(v: &Value) -> Vec<String> {
    v["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["kind"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_class_change_moves_the_student_and_keeps_the_history() {
    let app = TestApp::start().await;
    let admin = app.token("school_admin").await;
    let student = app.person_id("student").await;
    let from = class_of(&app, student).await.unwrap();
    let to = other_class(&app, SCHOOL1, Some(from)).await;

    // Refusals first: the head teacher sees the student but may not change the registry, another
    // school's administrator does not see the student at all.
    let teacher = app.token("teacher").await;
    let path = format!("/api/v1/people/{student}/class-change");
    assert_eq!(
        post(&app, &teacher, &path, json!({ "class_id": to }))
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        get(
            &app,
            &teacher,
            &format!("/api/v1/people/{student}/registry")
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );
    let other = app.token("school3_admin").await;
    assert_eq!(
        post(&app, &other, &path, json!({ "class_id": to })).await.0,
        StatusCode::NOT_FOUND
    );
    // A class of another school, or the class the student is in, is refused beside the field.
    let foreign = other_class(&app, SCHOOL3, None).await;
    let (s, v) = post(&app, &admin, &path, json!({ "class_id": foreign })).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(v.to_string().contains("class_id"), "{v}");
    let (s, _) = post(&app, &admin, &path, json!({ "class_id": from })).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);

    let (s, v) = post(
        &app,
        &admin,
        &path,
        json!({ "class_id": to, "note": "分班调整" }),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(class_of(&app, student).await, Some(to));
    // And back again, through the page form.
    let page = app.login("school_admin").await;
    let html = page
        .get(app.url(&format!("/people/{student}/registry")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("转班"),
        "the class-change form is on the page"
    );
    let csrf = extract_csrf(&html);
    let r = page
        .post(app.url(&format!("/people/{student}/registry/class")))
        .form(&[
            ("csrf", csrf.as_str()),
            ("class_id", from.to_string().as_str()),
            ("kind", "29"),
            ("effective_on", ""),
            ("note", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(class_of(&app, student).await, Some(from));

    let (s, v) = get(&app, &admin, &format!("/api/v1/people/{student}/registry")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["class_id"], json!(from));
    assert_eq!(kinds(&v), vec!["29", "29"]);
    let history = v["history"].as_array().unwrap();
    // The row from the start of the year, and one per change.
    assert_eq!(history.len(), 3, "{v}");
    // Newest first: the open row at the class the student is back in, the closed one before it.
    assert_eq!(history[0]["class_id"], json!(from));
    assert!(history[0]["ended_on"].is_null());
    assert_eq!(history[1]["class_id"], json!(to));
    assert!(history[1]["ended_on"].is_string());
    assert!(
        history[..2]
            .iter()
            .all(|h| h["reason"].as_str() == Some("class_change"))
    );
    assert_eq!(history[2]["reason"], "import");
    assert!(
        history[2]["ended_on"].is_string(),
        "the first class is closed"
    );
    assert_eq!(audit_count(&app, "student.class_change").await, 2);
    let (n,): (i64,) = on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT COUNT(*) FROM base_changes WHERE entity = 'student' AND entity_id = $1")
        .bind(student.0).fetch_one(p).await)
    .unwrap();
    assert_eq!(n, 2, "each change is in the change log");
    app.stop().await;
}

#[tokio::test]
async fn leave_suspension_return_and_withdrawal_change_the_record_and_the_class() {
    let app = TestApp::start().await;
    let school = node(&app, SCHOOL1).await;
    let admin = app.token("school_admin").await;
    let student = nth_student(&app, SCHOOL1, 5).await;
    let class = class_of(&app, student).await.unwrap();
    let other = other_class(&app, SCHOOL1, Some(class)).await;
    let before = students(&app, &admin, school).await;
    let path = format!("/api/v1/people/{student}/registry-changes");
    let registry = format!("/api/v1/people/{student}/registry");

    // Refused: transfers only through a request, kinds schools do not record, leave without a
    // reason, a teacher.
    for body in [
        json!({ "kind": "21", "reason": "99" }),
        json!({ "kind": "23", "reason": "99" }),
        json!({ "kind": "11" }),
        json!({ "kind": "11", "reason": "00" }),
    ] {
        assert_eq!(
            post(&app, &admin, &path, body.clone()).await.0,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}"
        );
    }
    let teacher = app.token("teacher").await;
    assert!(matches!(
        post(
            &app,
            &teacher,
            &path,
            json!({ "kind": "11", "reason": "10" })
        )
        .await
        .0,
        StatusCode::FORBIDDEN | StatusCode::NOT_FOUND
    ));

    // 休学 (leave): suspended, out of the class, history closed, not counted.
    let (s, v) = post(
        &app,
        &admin,
        &path,
        json!({ "kind": "11", "reason": "10", "note": "病休一学期" }),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["status"], "suspended");
    assert_eq!(class_of(&app, student).await, None);
    assert_eq!(students(&app, &admin, school).await, before - 1);
    // Leave twice is a conflict.
    assert_eq!(
        post(&app, &admin, &path, json!({ "kind": "11", "reason": "10" }))
            .await
            .0,
        StatusCode::CONFLICT
    );
    // 复学 needs a class (the student left theirs), then puts them into it.
    assert_eq!(
        post(&app, &admin, &path, json!({ "kind": "12" })).await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let (s, v) = post(
        &app,
        &admin,
        &path,
        json!({ "kind": "12", "class_id": other }),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["status"], "enrolled");
    assert_eq!(class_of(&app, student).await, Some(other));
    assert_eq!(students(&app, &admin, school).await, before);
    let (_, r) = get(&app, &admin, &registry).await;
    assert_eq!(r["history"][0]["reason"], "return");
    assert_eq!(r["history"][0]["class_id"], json!(other));

    // 停学 (suspension): suspended, the class is kept; 复学 without a class: back in it.
    let (_, v) = post(&app, &admin, &path, json!({ "kind": "13", "reason": "99" })).await;
    assert_eq!(v["status"], "suspended");
    assert_eq!(class_of(&app, student).await, Some(other));
    assert_eq!(students(&app, &admin, school).await, before - 1);
    let (_, v) = post(&app, &admin, &path, json!({ "kind": "12" })).await;
    assert_eq!(v["status"], "enrolled");
    let (_, r) = get(&app, &admin, &registry).await;
    // The row from the start of the year and the row after leave: no new class row.
    assert_eq!(
        r["history"].as_array().unwrap().len(),
        2,
        "no new class row: {r}"
    );

    // 退学 (withdrawal) through the page: left, out of the class; the form keeps the input on error.
    let page = app.login("school_admin").await;
    let html = page
        .get(app.url(&format!("/people/{student}/registry")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = extract_csrf(&html);
    let form = |reason: &'static str| {
        vec![
            ("csrf", csrf.clone()),
            ("kind", "31".to_owned()),
            ("reason", reason.to_owned()),
            ("effective_on", "2026-11-30".to_owned()),
            ("class_id", String::new()),
            ("note", "随家庭出国".to_owned()),
        ]
    };
    let r = page
        .post(app.url(&format!("/people/{student}/registry/changes")))
        .form(&form(""))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("请选择异动原因。"),
        "message beside the field"
    );
    assert!(html.contains("随家庭出国"), "input kept");
    let r = page
        .post(app.url(&format!("/people/{student}/registry/changes")))
        .form(&form("21"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, r) = get(&app, &admin, &registry).await;
    assert_eq!(r["status"], "left");
    assert!(r["class_id"].is_null());
    let left = r["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["kind"] == "31")
        .unwrap();
    assert_eq!(left["effective_on"], "2026-11-30");
    assert_eq!(left["reason"], "21");
    // A student who left cannot go on leave; 恢复学籍 brings them back into a class.
    assert_eq!(
        post(&app, &admin, &path, json!({ "kind": "11", "reason": "10" }))
            .await
            .0,
        StatusCode::CONFLICT
    );
    let (s, v) = post(
        &app,
        &admin,
        &path,
        json!({ "kind": "17", "class_id": class }),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(class_of(&app, student).await, Some(class));
    let (_, r) = get(&app, &admin, &registry).await;
    let mut k = kinds(&r);
    k.sort();
    assert_eq!(k, vec!["11", "12", "12", "13", "17", "31"]);
    assert_eq!(audit_count(&app, "student.registry_change").await, 6);
    app.stop().await;
}

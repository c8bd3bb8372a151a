//! Registry changes (学籍异动): class changes with history, transfers between two schools of the
//! demo region through both approvals (and every refusal on the way), leave, suspension,
//! return and withdrawal, by API and by page.

use crate::helpers::{TestApp, audit_count, demo_city, extract_csrf};
use kernel::{NodeId, PersonId, on_db};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// 上城区实验小学 (school_admin), 上城区第一中学 (school2_admin, same district), 西湖区九年一贯制学校
/// (school3_admin, another district).
const SCHOOL1: &str = "2133010001";
const SCHOOL2: &str = "3133010002";
const SCHOOL3: &str = "2133010003";

async fn node(app: &TestApp, code: &str) -> NodeId {
    let (id,): (NodeId,) =
        on_db!(&app.state.db, p => sqlx::query_as("SELECT id FROM org_nodes WHERE code = $1")
        .bind(code).fetch_one(p).await)
        .unwrap();
    id
}

async fn parent(app: &TestApp, id: NodeId) -> NodeId {
    let (p,): (NodeId,) =
        on_db!(&app.state.db, p => sqlx::query_as("SELECT parent_id FROM org_nodes WHERE id = $1")
        .bind(id).fetch_one(p).await)
        .unwrap();
    p
}

/// The n-th student (by name) of a school.
async fn nth_student(app: &TestApp, school: &str, n: i64) -> PersonId {
    let (id,): (PersonId,) = on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT p.id FROM persons p JOIN org_nodes s ON s.id = p.org_id JOIN role_assignments r ON r.person_id = p.id
         WHERE s.code = $1 AND r.role = 'student' ORDER BY p.name, p.id LIMIT 1 OFFSET $2").bind(school).bind(n).fetch_one(p).await)
    .unwrap();
    id
}

/// The student's class (the student role's node), if any.
async fn class_of(app: &TestApp, person: PersonId) -> Option<NodeId> {
    let row: Option<(NodeId,)> = on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT node_id FROM role_assignments WHERE person_id = $1 AND role = 'student'")
        .bind(person).fetch_optional(p).await)
    .unwrap();
    row.map(|r| r.0)
}

/// Classes of a school other than `except`.
async fn other_class(app: &TestApp, school: &str, except: Option<NodeId>) -> NodeId {
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
async fn person_facts(app: &TestApp, person: PersonId) -> (String, String, String, NodeId) {
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

async fn get(app: &TestApp, token: &str, path: &str) -> (StatusCode, Value) {
    let r = TestApp::client()
        .get(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let s = r.status();
    (s, r.json().await.unwrap_or(Value::Null))
}

async fn post(app: &TestApp, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
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

async fn students(app: &TestApp, token: &str, node: NodeId) -> i64 {
    let (s, v) = get(app, token, &format!("/api/v1/nodes/{node}/stats")).await;
    assert_eq!(s, StatusCode::OK);
    v["students"].as_i64().unwrap()
}

fn kinds(v: &Value) -> Vec<String> {
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
    assert_eq!(history.len(), 2, "{v}");
    // Newest first: the open row at the class the student is back in, the closed one before it.
    assert_eq!(history[0]["class_id"], json!(from));
    assert!(history[0]["ended_on"].is_null());
    assert_eq!(history[1]["class_id"], json!(to));
    assert!(history[1]["ended_on"].is_string());
    assert!(
        history
            .iter()
            .all(|h| h["reason"].as_str() == Some("class_change"))
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
async fn a_transfer_is_requested_approved_twice_and_moves_the_student_with_history_on_both_sides() {
    let app = TestApp::start().await;
    let (school1, school2) = (node(&app, SCHOOL1).await, node(&app, SCHOOL2).await);
    let district = parent(&app, school1).await;
    assert_eq!(parent(&app, school2).await, district, "same district");
    let city_admin = app.token("city_admin").await;
    let (before1, before2) = (
        students(&app, &city_admin, school1).await,
        students(&app, &city_admin, school2).await,
    );
    let student = app.person_id("student").await;
    let guardian = app.person_id("guardian").await;
    let (name, registry_no, id_number, _) = person_facts(&app, student).await;
    let (guardian_name, ..) = person_facts(&app, guardian).await;
    let to_class = other_class(&app, SCHOOL2, None).await;
    let receiving = app.token("school2_admin").await;
    let sending = app.token("school_admin").await;
    let district_admin = app.token("district_admin").await;
    let other = app.token("school3_admin").await;
    let teacher = app.token("teacher").await;
    let request = json!({ "registry_no": registry_no, "name": name, "to_class_id": to_class, "reason": "99", "note": "随父母工作调动" });
    let path = format!("/api/v1/nodes/{school2}/transfers");

    // Neither another district's school nor a teacher may ask on the receiving school's behalf.
    assert_eq!(
        post(&app, &other, &path, request.clone()).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        post(&app, &teacher, &path, request.clone()).await.0,
        StatusCode::NOT_FOUND
    );
    // A wrong name finds nobody (and says nothing more).
    let mut wrong = request.clone();
    wrong["name"] = json!("李四");
    let (s, v) = post(&app, &receiving, &path, wrong).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(v.to_string().contains("registry_no"), "{v}");

    // The receiving school asks through its page.
    let page2 = app.login("school2_admin").await;
    let html = page2
        .get(app.url(&format!("/admin/org/{school2}/transfers")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = extract_csrf(&html);
    let r = page2
        .post(app.url(&format!("/admin/org/{school2}/transfers")))
        .form(&[
            ("csrf", csrf.as_str()),
            ("registry_no", registry_no.to_lowercase().as_str()),
            ("name", name.as_str()),
            ("to_class_id", to_class.to_string().as_str()),
            ("reason", "99"),
            ("note", "随父母工作调动"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    let id = location
        .trim_start_matches("/transfers/")
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    let tpath = format!("/api/v1/transfers/{id}");
    // One open request per student.
    assert_eq!(
        post(&app, &receiving, &path, request.clone()).await.0,
        StatusCode::CONFLICT
    );

    // Until approved the receiving school sees the name and the registry number only.
    let html = page2
        .get(app.url(&location))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains(&name));
    assert!(!html.contains(&id_number), "no ID number");
    assert!(!html.contains(&guardian_name), "no guardians");
    assert!(
        !html.contains(&format!("/people/{student}")),
        "no link to the student's page"
    );
    let (s, v) = get(&app, &receiving, &tpath).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["transfer"]["status"], "pending_sending");
    assert_eq!(v["transfer"]["approver_node_id"], json!(district));
    assert!(!v.to_string().contains(&id_number));
    assert_eq!(
        get(
            &app,
            &receiving,
            &format!("/api/v1/people/{student}/registry")
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );
    // Nobody outside the three administrations sees it; the receiving school cannot approve for
    // the sending one.
    assert_eq!(get(&app, &other, &tpath).await.0, StatusCode::NOT_FOUND);
    assert_eq!(get(&app, &teacher, &tpath).await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        post(&app, &other, &format!("{tpath}/approve"), json!({}))
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        post(&app, &receiving, &format!("{tpath}/approve"), json!({}))
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    // The sending school lists it as outgoing, and approves on the page.
    let (_, lists) = get(
        &app,
        &sending,
        &format!("/api/v1/nodes/{school1}/transfers"),
    )
    .await;
    assert_eq!(lists["outgoing"].as_array().unwrap().len(), 1, "{lists}");
    let page1 = app.login("school_admin").await;
    let html = page1
        .get(app.url(&format!("/transfers/{id}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains(&format!("/people/{student}/registry")));
    let csrf = extract_csrf(&html);
    let r = page1
        .post(app.url(&format!("/transfers/{id}/approve")))
        .form(&[("csrf", csrf.as_str()), ("comment", "同意转出")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, v) = get(&app, &sending, &tpath).await;
    assert_eq!(v["transfer"]["status"], "pending_district");
    assert_eq!(v["transfer"]["sending_comment"], "同意转出");
    // The sending school cannot approve a second time (the district's step is not theirs).
    assert_eq!(
        post(&app, &sending, &format!("{tpath}/approve"), json!({}))
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    // The district sees it waiting, on its page and by API.
    let (_, lists) = get(
        &app,
        &district_admin,
        &format!("/api/v1/nodes/{district}/transfers"),
    )
    .await;
    assert_eq!(lists["waiting"].as_array().unwrap().len(), 1, "{lists}");
    let dpage = app.login("district_admin").await;
    let html = dpage
        .get(app.url(&format!("/admin/org/{district}/transfers")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains(&name) && html.contains(&format!("/transfers/{id}")));

    let (s, v) = post(
        &app,
        &district_admin,
        &format!("{tpath}/approve"),
        json!({ "comment": "准予转学" }),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["transfer"]["status"], "approved");
    // Approving again is a conflict, not a second move.
    assert_eq!(
        post(
            &app,
            &district_admin,
            &format!("{tpath}/approve"),
            json!({})
        )
        .await
        .0,
        StatusCode::CONFLICT
    );

    // The student is now the receiving school's, in the class asked for, still enrolled.
    let (_, _, _, org) = person_facts(&app, student).await;
    assert_eq!(org, school2);
    assert_eq!(class_of(&app, student).await, Some(to_class));
    let (school_id, status): (NodeId, String) = on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT school_id, status FROM students WHERE person_id = $1").bind(student).fetch_one(p).await)
    .unwrap();
    assert_eq!((school_id, status.as_str()), (school2, "enrolled"));
    let (s, v) = get(
        &app,
        &receiving,
        &format!("/api/v1/people/{student}/registry"),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let mut k = kinds(&v);
    k.sort();
    assert_eq!(k, vec!["21", "22"]);
    let history = v["history"].as_array().unwrap();
    assert_eq!(history[0]["school_id"], json!(school2));
    assert_eq!(history[0]["reason"], "transfer");
    assert!(history[0]["ended_on"].is_null());
    // The sending school no longer sees the student, but still lists its transfer-out record.
    assert_eq!(
        get(
            &app,
            &sending,
            &format!("/api/v1/people/{student}/registry")
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );
    let (_, records) = get(
        &app,
        &sending,
        &format!("/api/v1/nodes/{school1}/registry-changes"),
    )
    .await;
    let out: Vec<&Value> = records["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["person_id"] == json!(student))
        .collect();
    assert_eq!(out.len(), 1, "{records}");
    assert_eq!(out[0]["kind"], "21");
    assert_eq!(out[0]["other_school_id"], json!(school2));
    let html = page1
        .get(app.url(&format!("/admin/org/{school1}/transfers")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains(&name) && html.contains("转学（转出）"));
    let (_, records) = get(
        &app,
        &receiving,
        &format!("/api/v1/nodes/{school2}/registry-changes"),
    )
    .await;
    assert!(
        records["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["person_id"] == json!(student) && r["kind"] == "22")
    );
    // The guardian (only this child at the old school) follows the child, role and all.
    let (_, _, _, gorg) = person_facts(&app, guardian).await;
    assert_eq!(gorg, school2);
    let (gnode,): (NodeId,) = on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT node_id FROM role_assignments WHERE person_id = $1 AND role = 'guardian'").bind(guardian).fetch_one(p).await)
    .unwrap();
    assert_eq!(gnode, school2);
    // Statistics of both schools, computed live.
    assert_eq!(students(&app, &city_admin, school1).await, before1 - 1);
    assert_eq!(students(&app, &city_admin, school2).await, before2 + 1);
    // Change log and audit for both schools.
    for school in [school1, school2] {
        let (n,): (i64,) = on_db!(&app.state.db, p => sqlx::query_as(
            "SELECT COUNT(*) FROM base_changes WHERE node_id = $1 AND entity = 'student' AND entity_id = $2")
            .bind(school).bind(student.0).fetch_one(p).await)
        .unwrap();
        assert_eq!(n, 1);
    }
    assert_eq!(audit_count(&app, "student.transfer_out").await, 1);
    assert_eq!(audit_count(&app, "student.transfer_in").await, 1);
    assert_eq!(audit_count(&app, "transfer.approve").await, 1);
    app.stop().await;
}

#[tokio::test]
async fn transfers_are_rejected_with_a_comment_cancelled_and_go_to_the_city_across_districts() {
    let app = TestApp::start().await;
    let (school1, school3) = (node(&app, SCHOOL1).await, node(&app, SCHOOL3).await);
    let city = demo_city(&app).await;
    let student = nth_student(&app, SCHOOL1, 3).await;
    let (name, registry_no, ..) = person_facts(&app, student).await;
    let to_class = other_class(&app, SCHOOL3, None).await;
    let receiving = app.token("school3_admin").await;
    let sending = app.token("school_admin").await;
    let district_admin = app.token("district_admin").await;
    let city_admin = app.token("city_admin").await;
    let path = format!("/api/v1/nodes/{school3}/transfers");
    let ask = || json!({ "registry_no": registry_no, "name": name, "to_class_id": to_class, "reason": "99" });

    // Different districts: the city approves last.
    let (s, t) = post(&app, &receiving, &path, ask()).await;
    assert_eq!(s, StatusCode::CREATED, "{t}");
    assert_eq!(t["approver_node_id"], json!(city));
    let tpath = format!("/api/v1/transfers/{}", t["id"].as_str().unwrap());
    // A rejection needs a comment.
    let (s, v) = post(&app, &sending, &format!("{tpath}/reject"), json!({})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(v.to_string().contains("comment"));
    let (s, v) = post(
        &app,
        &sending,
        &format!("{tpath}/reject"),
        json!({ "comment": "学生本学期不转出" }),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["transfer"]["status"], "rejected");
    assert_eq!(v["transfer"]["sending_comment"], "学生本学期不转出");
    assert_eq!(
        post(&app, &sending, &format!("{tpath}/approve"), json!({}))
            .await
            .0,
        StatusCode::CONFLICT
    );
    assert_eq!(
        post(&app, &receiving, &format!("{tpath}/cancel"), json!({}))
            .await
            .0,
        StatusCode::CONFLICT
    );

    // Asked again: the sending school agrees, the district of the sending school is not the
    // approver, the city rejects.
    let (s, t) = post(&app, &receiving, &path, ask()).await;
    assert_eq!(s, StatusCode::CREATED);
    let tpath = format!("/api/v1/transfers/{}", t["id"].as_str().unwrap());
    assert_eq!(
        post(&app, &sending, &format!("{tpath}/approve"), json!({}))
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        post(
            &app,
            &district_admin,
            &format!("{tpath}/approve"),
            json!({})
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );
    let (_, lists) = get(
        &app,
        &city_admin,
        &format!("/api/v1/nodes/{city}/transfers"),
    )
    .await;
    assert_eq!(lists["waiting"].as_array().unwrap().len(), 1);
    let (s, v) = post(
        &app,
        &city_admin,
        &format!("{tpath}/reject"),
        json!({ "comment": "材料不全" }),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["transfer"]["status"], "rejected");
    assert_eq!(v["transfer"]["district_comment"], "材料不全");

    // Asked a third time and withdrawn by the receiving school (only by it).
    let (_, t) = post(&app, &receiving, &path, ask()).await;
    let tpath = format!("/api/v1/transfers/{}", t["id"].as_str().unwrap());
    assert_eq!(
        post(&app, &sending, &format!("{tpath}/cancel"), json!({}))
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    let (s, v) = post(&app, &receiving, &format!("{tpath}/cancel"), json!({})).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["transfer"]["status"], "cancelled");
    assert_eq!(
        post(&app, &receiving, &format!("{tpath}/cancel"), json!({}))
            .await
            .0,
        StatusCode::CONFLICT
    );
    let (_, lists) = get(
        &app,
        &receiving,
        &format!("/api/v1/nodes/{school3}/transfers"),
    )
    .await;
    assert!(lists["incoming"].as_array().unwrap().is_empty());
    assert_eq!(lists["recent"].as_array().unwrap().len(), 3);

    // Nothing moved, nothing was recorded.
    let (_, _, _, org) = person_facts(&app, student).await;
    assert_eq!(org, school1);
    let (n,): (i64,) = on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT COUNT(*) FROM registry_changes WHERE person_id = $1").bind(student).fetch_one(p).await)
    .unwrap();
    assert_eq!(n, 0);
    assert_eq!(audit_count(&app, "transfer.reject").await, 2);
    assert_eq!(audit_count(&app, "transfer.cancel").await, 1);

    // A fourth time, approved by both: the student moves across districts. Their guardian is
    // also the guardian of a sibling who stays, so the guardian stays at the old school while
    // the guardian role for the child who moved follows the child.
    let (guardian,): (PersonId,) = on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT person_id FROM role_assignments WHERE role = 'guardian' AND student_id = $1")
        .bind(student).fetch_one(p).await)
    .unwrap();
    let sibling = nth_student(&app, SCHOOL1, 4).await;
    let (_, sibling_registry_no, ..) = person_facts(&app, sibling).await;
    let (s, v) = post(
        &app,
        &sending,
        &format!("/api/v1/people/{guardian}/roles"),
        json!({ "role": "guardian", "student_registry_no": sibling_registry_no, "relation": "51" }),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (_, t) = post(&app, &receiving, &path, ask()).await;
    let tpath = format!("/api/v1/transfers/{}", t["id"].as_str().unwrap());
    assert_eq!(
        post(&app, &sending, &format!("{tpath}/approve"), json!({}))
            .await
            .0,
        StatusCode::OK
    );
    let (s, v) = post(&app, &city_admin, &format!("{tpath}/approve"), json!({})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["transfer"]["status"], "approved");
    let (_, _, _, org) = person_facts(&app, student).await;
    assert_eq!(org, school3);
    assert_eq!(class_of(&app, student).await, Some(to_class));
    let (_, _, _, gorg) = person_facts(&app, guardian).await;
    assert_eq!(
        gorg, school1,
        "the guardian has another child at the old school"
    );
    let roles: Vec<(NodeId, PersonId)> = on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT node_id, student_id FROM role_assignments WHERE person_id = $1 AND role = 'guardian' ORDER BY node_id")
        .bind(guardian).fetch_all(p).await)
    .unwrap();
    assert!(roles.contains(&(school3, student)), "{roles:?}");
    assert!(roles.contains(&(school1, sibling)), "{roles:?}");
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
    assert_eq!(
        r["history"].as_array().unwrap().len(),
        1,
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

//! Transfers between two schools of the demo region (same district and across districts)
//! through both approvals, with every refusal on the way, history on both sides.

use crate::helpers::{TestApp, audit_count, demo_city, extract_csrf, node_by_code as node};
use crate::registry::{
    SCHOOL1, SCHOOL2, SCHOOL3, class_of, get, kinds, nth_student, other_class, parent,
    person_facts, post, students,
};
use kernel::{NodeId, PersonId, on_db};
use reqwest::StatusCode;
use serde_json::{Value, json};

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

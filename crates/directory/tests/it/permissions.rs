//! The scope rules, by page and by API, guessed ids included: an administrator manages their
//! subtree and nothing beside or above it; teachers see their classes; guardians their children.

use crate::helpers::{TestApp, node_by_code};
use kernel::{NodeId, PersonId};
use reqwest::StatusCode;

/// Some student of the school with this code.
async fn a_student_of(app: &TestApp, code: &str) -> PersonId {
    let (id,): (PersonId,) = kernel::on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT p.id FROM persons p JOIN org_nodes s ON s.id = p.org_id JOIN role_assignments r ON r.person_id = p.id
         WHERE s.code = $1 AND r.role = 'student' ORDER BY p.name LIMIT 1").bind(code).fetch_one(p).await).unwrap();
    id
}

async fn a_class_of(app: &TestApp, code: &str) -> NodeId {
    let (id,): (NodeId,) = kernel::on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT c.id FROM org_nodes c JOIN org_nodes s ON s.id = c.school_id WHERE s.code = $1 AND c.kind = 'class' ORDER BY c.name DESC LIMIT 1")
        .bind(code).fetch_one(p).await).unwrap();
    id
}

#[tokio::test]
async fn asvs_v8_2_2_a_school_admin_cannot_read_or_change_another_schools_people() {
    let app = TestApp::start().await;
    // school_admin runs 上城区实验小学 (2133010001); 2133010003 is in another district.
    let other_student = a_student_of(&app, "2133010003").await;
    let own_student = a_student_of(&app, "2133010001").await;
    let page = app.login("school_admin").await;
    assert_eq!(
        page.get(app.url(&format!("/people/{own_student}")))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        page.get(app.url(&format!("/people/{other_student}")))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        page.get(app.url(&format!("/people/{other_student}/edit")))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );
    let csrf = app.csrf(&page).await;
    let r = page
        .post(app.url(&format!("/people/{other_student}/deactivate")))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    // Guessed and malformed ids look the same as foreign ones.
    let guessed = PersonId::new();
    assert_eq!(
        page.get(app.url(&format!("/people/{guessed}")))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        page.get(app.url("/people/not-a-uuid"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );
    // Nor can they list the district's people or see its tree.
    let district = node_by_code(&app, "330102").await;
    assert_eq!(
        page.get(app.url(&format!("/admin/people?node={district}")))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::FORBIDDEN
    );
    let other_school = node_by_code(&app, "2133010003").await;
    assert_eq!(
        page.get(app.url(&format!("/admin/org/{other_school}")))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );

    let token = app.token("school_admin").await;
    let api = TestApp::client();
    let get = |path: String| api.get(app.url(&path)).bearer_auth(&token).send();
    assert_eq!(
        get(format!("/api/v1/people/{own_student}"))
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    let r = get(format!("/api/v1/people/{other_student}"))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "directory.person_not_found");
    assert_eq!(
        get(format!("/api/v1/people/{guessed}"))
            .await
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );
    let r = api
        .put(app.url(&format!("/api/v1/people/{other_student}")))
        .bearer_auth(&token)
        .json(
            &serde_json::json!({"name": "改名", "gender": "1", "id_number": null, "phone": null,
            "email": null, "staff_no": null, "registry_no": null}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = api
        .post(app.url(&format!("/api/v1/people/{other_student}/deactivate")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    // A person cannot be created in another school either.
    let r = api
        .post(app.url("/api/v1/people"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"org_id": other_school, "name": "外校人员"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let r = get(format!("/api/v1/people?node={district}"))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // The search of their own school finds only their own people.
    let list: serde_json::Value = get("/api/v1/people?per_page=100".into())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let school = node_by_code(&app, "2133010001").await;
    assert!(list["total"].as_i64().unwrap() > 10);
    assert!(
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["org_id"] == serde_json::json!(school))
    );
    // Nothing was changed.
    let (name,): (String,) = kernel::on_db!(&app.state.db, p => sqlx::query_as("SELECT name FROM persons WHERE id = $1").bind(other_student).fetch_one(p).await).unwrap();
    assert_ne!(name, "改名");
    app.stop().await;
}

#[tokio::test]
async fn asvs_v8_4_1_a_district_admin_manages_their_district_only() {
    let app = TestApp::start().await;
    let token = app.token("district_admin").await;
    let api = TestApp::client();
    let own_school = node_by_code(&app, "2133010001").await;
    let xihu_school = node_by_code(&app, "2133010003").await;
    let xihu = node_by_code(&app, "330106").await;
    assert_eq!(
        api.get(app.url(&format!("/api/v1/nodes/{own_school}")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        api.get(app.url(&format!("/api/v1/nodes/{xihu_school}")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );
    // Moving their school into another district needs the city.
    let r = api
        .patch(app.url(&format!("/api/v1/nodes/{own_school}")))
        .bearer_auth(&token)
        .json(&serde_json::json!({"parent_id": xihu}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let city_token = app.token("city_admin").await;
    let r = api
        .patch(app.url(&format!("/api/v1/nodes/{own_school}")))
        .bearer_auth(&city_token)
        .json(&serde_json::json!({"parent_id": xihu}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // Now the school (and its people) left the district administrator's scope.
    assert_eq!(
        api.get(app.url(&format!("/api/v1/nodes/{own_school}")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );
    let xihu_token = app.token("xihu_admin").await;
    assert_eq!(
        api.get(app.url(&format!("/api/v1/nodes/{own_school}")))
            .bearer_auth(&xihu_token)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    let student = a_student_of(&app, "2133010001").await;
    assert_eq!(
        api.get(app.url(&format!("/api/v1/people/{student}")))
            .bearer_auth(&xihu_token)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    app.stop().await;
}

#[tokio::test]
async fn asvs_v8_2_2_a_guardian_sees_only_their_own_children() {
    let app = TestApp::start().await;
    let child = app.person_id("student").await;
    let classmate = a_student_of(&app, "2133010001").await;
    let stranger = a_student_of(&app, "2133010003").await;
    let c = app.login("guardian").await;
    let home = c
        .get(app.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let (child_name,): (String,) = kernel::on_db!(&app.state.db, p => sqlx::query_as("SELECT name FROM persons WHERE id = $1").bind(child).fetch_one(p).await).unwrap();
    assert!(home.contains(&child_name));
    assert_eq!(
        c.get(app.url(&format!("/people/{child}")))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    if classmate != child {
        assert_eq!(
            c.get(app.url(&format!("/people/{classmate}")))
                .send()
                .await
                .unwrap()
                .status(),
            StatusCode::NOT_FOUND
        );
    }
    assert_eq!(
        c.get(app.url(&format!("/people/{stranger}")))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        c.get(app.url("/admin/people"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::FORBIDDEN
    );
    let token = app.token("guardian").await;
    let api = TestApp::client();
    assert_eq!(
        api.get(app.url(&format!("/api/v1/people/{stranger}")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );
    let me: serde_json::Value = api
        .get(app.url("/api/v1/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["roles"][0]["role"], "guardian");
    app.stop().await;
}

#[tokio::test]
async fn asvs_v8_2_1_a_teacher_sees_their_own_classes_only() {
    let app = TestApp::start().await;
    let c = app.login("teacher").await;
    let mine: (NodeId,) = kernel::on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT r.node_id FROM role_assignments r JOIN accounts a ON a.person_id = r.person_id WHERE a.username = 'teacher' AND r.role = 'head_teacher'")
        .fetch_one(p).await).unwrap();
    let other = a_class_of(&app, "2133010003").await;
    let r = c
        .get(app.url(&format!("/classes/{}", mine.0)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.text().await.unwrap().contains("(8)"),
        "the roster lists the 8 students"
    );
    assert_eq!(
        c.get(app.url(&format!("/classes/{other}")))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        c.get(app.url("/admin/audit"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::FORBIDDEN
    );
    let token = app.token("teacher").await;
    let api = TestApp::client();
    let roster: serde_json::Value = api
        .get(app.url(&format!("/api/v1/classes/{}/roster", mine.0)))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(roster["students"].as_array().unwrap().len(), 8);
    assert!(
        roster["students"][0]["registry_no"]
            .as_str()
            .unwrap()
            .contains('*'),
        "registry numbers masked"
    );
    assert_eq!(
        api.get(app.url(&format!("/api/v1/classes/{other}/roster")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );
    app.stop().await;
}

//! The JSON API: bearer tokens, validation errors per field, conflicts, the organisation tree.

use crate::helpers::{TestApp, audit_count};
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn requests_without_a_valid_token_get_401_with_the_error_body() {
    let app = TestApp::start().await;
    let c = TestApp::client();
    let r = c.get(app.url("/api/v1/me")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(r.headers()["www-authenticate"], "Bearer");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unauthenticated");
    let r = c
        .get(app.url("/api/v1/me"))
        .bearer_auth("jy_forged")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = c
        .get(app.url("/api/v1/me"))
        .header("accept-language", "en")
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"]["message"], "Please log in first.");
    app.stop().await;
}

#[tokio::test]
async fn people_are_validated_per_field_and_conflicts_name_the_field() {
    let app = TestApp::start().await;
    let token = app.token("school_admin").await;
    let c = TestApp::client();
    let school: (kernel::NodeId,) = kernel::on_db!(&app.state.db, p => sqlx::query_as("SELECT id FROM org_nodes WHERE code = '2133010001'").fetch_one(p).await).unwrap();
    let r = c.post(app.url("/api/v1/people")).bearer_auth(&token)
        .json(&json!({"org_id": school.0, "name": "", "phone": "123", "registry_no": "X1", "email": "nope"}))
        .send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_input");
    for field in ["name", "phone", "registry_no", "email"] {
        assert!(
            body["error"]["fields"][field].is_string(),
            "no message for {field}: {body}"
        );
    }
    let r = c
        .post(app.url("/api/v1/people"))
        .bearer_auth(&token)
        .body("{not json")
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let people_before: (i64,) = kernel::on_db!(&app.state.db, p => sqlx::query_as("SELECT COUNT(*) FROM persons").fetch_one(p).await).unwrap();
    let new = json!({"org_id": school.0, "name": "赵同学", "gender": "1", "registry_no": "G11010519491231002X",
        "role": {"role": "student", "node_id": null}});
    // A first role that does not fit rolls back the person too.
    let r = c
        .post(app.url("/api/v1/people"))
        .bearer_auth(&token)
        .json(&new)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let people_after: (i64,) = kernel::on_db!(&app.state.db, p => sqlx::query_as("SELECT COUNT(*) FROM persons").fetch_one(p).await).unwrap();
    assert_eq!(people_before, people_after, "nothing half-written");
    let new = json!({"org_id": school.0, "name": "赵同学", "gender": "1", "registry_no": "G11010519491231002X"});
    let r = c
        .post(app.url("/api/v1/people"))
        .bearer_auth(&token)
        .json(&new)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let created: serde_json::Value = r.json().await.unwrap();
    assert_eq!(created["username"], "g11010519491231002x");
    assert!(created["initial_password"].as_str().unwrap().len() >= 10);
    let again = json!({"org_id": school.0, "name": "重复", "registry_no": "G11010519491231002X", "username": "someone_else"});
    let r = c
        .post(app.url("/api/v1/people"))
        .bearer_auth(&token)
        .json(&again)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "directory.registry_no_taken");
    assert!(body["error"]["fields"]["registry_no"].is_string());
    assert_eq!(audit_count(&app, "person.create").await, 1);
    app.stop().await;
}

#[tokio::test]
async fn the_tree_is_built_renamed_and_deactivated_through_the_api() {
    let app = TestApp::start().await;
    let token = app.token("district_admin").await;
    let c = TestApp::client();
    let district: (kernel::NodeId,) = kernel::on_db!(&app.state.db, p => sqlx::query_as("SELECT id FROM org_nodes WHERE code = '330102'").fetch_one(p).await).unwrap();
    let r = c.post(app.url("/api/v1/nodes")).bearer_auth(&token)
        .json(&json!({"parent_id": district.0, "kind": "school", "name": "上城区新建小学", "code": "2111019999", "school_type": "primary"}))
        .send().await.unwrap();
    assert_eq!(
        r.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "a Beijing school code in Zhejiang is refused"
    );
    let r = c.post(app.url("/api/v1/nodes")).bearer_auth(&token)
        .json(&json!({"parent_id": district.0, "kind": "school", "name": "上城区新建小学", "code": "2133019999", "school_type": "primary"}))
        .send().await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let school: serde_json::Value = r.json().await.unwrap();
    let id = school["id"].as_str().unwrap().to_owned();
    assert_eq!(school["stages"], "primary");
    let r = c.post(app.url("/api/v1/nodes")).bearer_auth(&token)
        .json(&json!({"parent_id": id, "kind": "grade", "name": "七年级", "stage": "junior", "grade_year": 1}))
        .send().await.unwrap();
    assert_eq!(
        r.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "a primary school has no junior grades"
    );
    let r = c.post(app.url("/api/v1/nodes")).bearer_auth(&token)
        .json(&json!({"parent_id": id, "kind": "grade", "name": "一年级", "stage": "primary", "grade_year": 1}))
        .send().await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let grade: serde_json::Value = r.json().await.unwrap();
    let r = c
        .post(app.url(&format!("/api/v1/nodes/{id}/deactivate")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::CONFLICT,
        "not while a grade is active below it"
    );
    let r = c
        .patch(app.url(&format!("/api/v1/nodes/{id}")))
        .bearer_auth(&token)
        .json(&json!({"name": "上城区崇文小学"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let grade_id = grade["id"].as_str().unwrap();
    assert_eq!(
        c.post(app.url(&format!("/api/v1/nodes/{grade_id}/deactivate")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        c.post(app.url(&format!("/api/v1/nodes/{id}/deactivate")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    let children: serde_json::Value = c
        .get(app.url(&format!(
            "/api/v1/nodes/{}/children?include_inactive=true",
            district.0
        )))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        children["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["name"] == "上城区崇文小学" && n["active"] == false),
        "deactivated, not deleted"
    );
    assert_eq!(audit_count(&app, "node.create").await, 2);
    assert_eq!(audit_count(&app, "node.deactivate").await, 2);
    app.stop().await;
}

#[tokio::test]
async fn the_openapi_document_lists_the_operations() {
    let app = TestApp::start().await;
    let c = TestApp::client();
    let doc: serde_json::Value = c
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        doc["openapi"].as_str().map(|v| v.starts_with("3.1")),
        Some(true)
    );
    for path in [
        "/api/v1/people",
        "/api/v1/nodes/{id}",
        "/api/v1/classes/{id}/roster",
        "/api/v1/audit",
        "/api/v1/applications",
        "/api/v1/applications/{id}",
        "/api/v1/resources",
        "/api/v1/resources/{id}/approve",
        "/api/v1/resources/search",
        "/api/v1/resources/stats/{node}",
        "/api/v1/uploads/{id}/chunks/{index}",
        "/api/v1/catalog/import",
        "/api/v1/recommendations",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} missing");
    }
    let docs = c
        .get(app.url("/api/docs"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(docs.contains("/api/v1/people"));
    assert!(docs.contains("/api/v1/applications/{id}/secret"));
    app.stop().await;
}

#[tokio::test]
async fn people_search_finds_by_name_prefix_number_and_username() {
    let app = TestApp::start().await;
    let token = app.token("school_admin").await;
    let c = TestApp::client();
    let search = |q: String| {
        c.get(app.url(&format!("/api/v1/people?{q}")))
            .bearer_auth(&token)
            .send()
    };
    let (name, staff_no): (String, String) = kernel::on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT name, staff_no FROM persons WHERE staff_no = 'S0T002'").fetch_one(p).await)
    .unwrap();
    let surname: String = name.chars().take(1).collect();
    let by_name: serde_json::Value = search(format!("q={surname}&per_page=100"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = by_name["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert!(
        !names.is_empty() && names.iter().all(|n| n.starts_with(&surname)),
        "{names:?}"
    );
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "sorted by name");
    assert_eq!(by_name["total"].as_i64().unwrap(), names.len() as i64);
    for q in [staff_no.clone(), staff_no.to_lowercase(), "teacher".into()] {
        let found: serde_json::Value = search(format!("q={q}"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(found["total"], 1, "{q}: {found}");
    }
    let teachers: serde_json::Value = search("role=head_teacher&per_page=100".into())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        teachers["total"], 4,
        "one head teacher per class, four classes"
    );
    let page2: serde_json::Value = search("per_page=5&page=2".into())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let page1: serde_json::Value = search("per_page=5&page=1".into())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page2["items"].as_array().unwrap().len(), 5);
    assert_ne!(page1["items"][0]["id"], page2["items"][0]["id"]);
    app.stop().await;
}

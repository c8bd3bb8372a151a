//! Snapshots of the API's shape: the OpenAPI document and the JSON of the main objects (the
//! signed-in person, a node, a person, a resource, an application), with ids, times and other
//! values that change from run to run replaced, so a change to what the API returns shows up
//! in review as a change to these files (`tests/it/snapshots/`).

use crate::helpers::{TestApp, node_by_code};
use serde_json::Value;

/// Replaces what differs between runs: ids (UUIDs), times, secrets and tokens, numbers that
/// count rows written by other steps of the demo.
fn redacted(mut v: Value) -> Value {
    fn walk(v: &mut Value, key: &str) {
        match v {
            Value::Object(m) => {
                for (k, x) in m.iter_mut() {
                    walk(x, k);
                }
            }
            Value::Array(a) => a.iter_mut().for_each(|x| walk(x, key)),
            Value::String(s) => {
                if uuid::Uuid::parse_str(s).is_ok() {
                    *s = "[id]".into();
                } else if chrono::DateTime::parse_from_rfc3339(s).is_ok() {
                    *s = "[time]".into();
                } else if key.contains("secret") || key.contains("token") {
                    *s = "[secret]".into();
                } else if key == "client_id" {
                    *s = "[client_id]".into();
                }
            }
            _ => {}
        }
    }
    walk(&mut v, "");
    v
}

async fn get(app: &TestApp, token: &str, path: &str) -> Value {
    let r = reqwest::Client::new()
        .get(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{path}: {}", r.status());
    r.json().await.unwrap()
}

#[tokio::test]
async fn the_openapi_document() {
    let app = TestApp::start().await;
    let doc: Value = reqwest::get(app.url("/api/v1/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    insta::assert_json_snapshot!("openapi", doc);
    app.stop().await;
}

#[tokio::test]
async fn the_main_api_objects() {
    let app = TestApp::start().await;
    let token = app.token("school_admin").await;
    let school = node_by_code(&app, "2133010001").await;
    insta::assert_json_snapshot!("me", redacted(get(&app, &token, "/api/v1/me").await));
    insta::assert_json_snapshot!(
        "node",
        redacted(get(&app, &token, &format!("/api/v1/nodes/{school}")).await)
    );
    let teacher = app.person_id("teacher").await;
    insta::assert_json_snapshot!(
        "person",
        redacted(get(&app, &token, &format!("/api/v1/people/{teacher}")).await)
    );
    let (resource,): (kernel::ResourceId,) = kernel::on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT id FROM resources WHERE title = '《秋天》教学设计'",
    ).fetch_one(p).await)
    .unwrap();
    let teacher_token = app.token("teacher").await;
    let mut r = redacted(
        get(
            &app,
            &teacher_token,
            &format!("/api/v1/resources/{resource}"),
        )
        .await,
    );
    // Use counts change as the demo replays its signals; the term follows the date.
    for k in [
        "views",
        "downloads",
        "favourites",
        "quality",
        "comments",
        "rating_count",
        "rating_sum",
        "school_year",
        "term",
    ] {
        if let Some(x) = r.get_mut(k) {
            *x = Value::String("[count]".into());
        }
    }
    insta::assert_json_snapshot!("resource", r);
    app.stop().await;
}

//! V15.3.3 (mass assignment, whole-object replacement) and V16.2.5 / V16.3.3 (changes to
//! personal data logged, protected as the data is): a PUT that leaves a field out is refused
//! by name instead of erasing it; PATCH changes what it names; the audit entry keeps old and
//! new values, masked for a viewer who may not see them.

use crate::helpers::{TestApp, node_by_code};
use reqwest::StatusCode;

#[tokio::test]
async fn asvs_v15_3_3_put_needs_the_whole_person_and_patch_changes_only_what_it_names() {
    let app = TestApp::start().await;
    let school = node_by_code(&app, "2133010001").await;
    let (id, registry_no, id_number): (kernel::PersonId, String, String) =
        kernel::on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT id, registry_no, id_number FROM persons
         WHERE org_id = $1 AND registry_no IS NOT NULL AND id_number IS NOT NULL LIMIT 1")
        .bind(school).fetch_one(p).await)
        .unwrap();
    let token = app.token("school_admin").await;
    let http = reqwest::Client::new();
    let url = app.url(&format!("/api/v1/people/{id}"));
    let (original,): (String,) = kernel::on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT name FROM persons WHERE id = $1").bind(id).fetch_one(p).await)
    .unwrap();
    // The partial PUT that erased a student's numbers: now a 422 naming what is missing.
    let r = http
        .put(&url)
        .bearer_auth(&token)
        .json(&serde_json::json!({ "name": "改名", "phone": "13800000000" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: serde_json::Value = r.json().await.unwrap();
    let fields = body["error"]["fields"].as_object().unwrap();
    for f in ["gender", "id_number", "email", "staff_no", "registry_no"] {
        assert!(fields.contains_key(f), "{f} named in {body}");
    }
    assert!(!fields.contains_key("name"));
    // Unknown fields are named too.
    let mut whole = serde_json::json!({
        "name": "改名", "gender": "1", "id_number": id_number, "phone": null, "email": null,
        "staff_no": null, "registry_no": registry_no, "is_admin": true,
    });
    let r = http
        .put(&url)
        .bearer_auth(&token)
        .json(&whole)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: serde_json::Value = r.json().await.unwrap();
    assert!(body["error"]["fields"]["is_admin"].is_string(), "{body}");
    let stored = |app: &TestApp| {
        let db = app.state.db.clone();
        async move {
            let row: (String, Option<String>, Option<String>) = kernel::on_db!(&db, p => sqlx::query_as(
                "SELECT name, registry_no, id_number FROM persons WHERE id = $1").bind(id).fetch_one(p).await)
            .unwrap();
            row
        }
    };
    assert_eq!(
        stored(&app).await,
        (original, Some(registry_no.clone()), Some(id_number.clone())),
        "nothing changed by the refused requests"
    );
    whole.as_object_mut().unwrap().remove("is_admin");
    let r = http
        .put(&url)
        .bearer_auth(&token)
        .json(&whole)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    // PATCH: only the phone changes; the numbers stay.
    let r = http
        .patch(&url)
        .bearer_auth(&token)
        .json(&serde_json::json!({ "phone": "13912345678" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let (name, reg, idn) = stored(&app).await;
    assert_eq!(
        (name.as_str(), reg.as_deref(), idn.as_deref()),
        ("改名", Some(registry_no.as_str()), Some(id_number.as_str()))
    );
    let r = http
        .patch(&url)
        .bearer_auth(&token)
        .json(&serde_json::json!({ "nickname": "x" }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown fields refused"
    );

    // The audit entry has the old and new values, in full for the school's administrator (who
    // may see them; `audit_log::mask_values` masks them for anyone else).
    let entries = |token: String| {
        let http = http.clone();
        let url = app.url(&format!(
            "/api/v1/audit?node={school}&action=person.update&object={id}"
        ));
        async move {
            let r = http.get(url).bearer_auth(token).send().await.unwrap();
            (r.status(), r.json::<serde_json::Value>().await.unwrap())
        }
    };
    let (st, body) = entries(token.clone()).await;
    assert_eq!(st, StatusCode::OK);
    let details: Vec<serde_json::Value> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| serde_json::from_str(e["detail"].as_str().unwrap()).unwrap())
        .collect();
    let phone = details
        .iter()
        .find_map(|d| d["values"].get("phone"))
        .expect("the phone change is audited with its values");
    assert_eq!(phone["new"], "13912345678");
    let named = details
        .iter()
        .find_map(|d| d["values"].get("name"))
        .expect("the name change is audited");
    assert_eq!(named["new"], "改名");
    app.stop().await;
}

#[tokio::test]
async fn asvs_v1_2_1_names_are_escaped_on_every_page_that_shows_them() {
    let app = TestApp::start().await;
    let teacher = app.person_id("teacher").await;
    let token = app.token("school_admin").await;
    let evil = "\"'><script>alert(1)</script>";
    let r = reqwest::Client::new()
        .patch(app.url(&format!("/api/v1/people/{teacher}")))
        .bearer_auth(&token)
        .json(&serde_json::json!({ "name": evil }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let admin = app.login("school_admin").await;
    let school = node_by_code(&app, "2133010001").await;
    for path in [
        format!("/people/{teacher}"),
        format!("/admin/people?node={school}&q=script"),
        "/admin/audit?action=person.update".to_owned(),
    ] {
        let page = admin
            .get(app.url(&path))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(!page.contains("<script>alert(1)"), "{path}");
    }
    let page = admin
        .get(app.url(&format!("/people/{teacher}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // Shown, escaped (askama writes `<` as `&lt;` or `&#60;`).
    assert!(
        page.contains("&lt;script&gt;alert(1)") || page.contains("&#60;script&#62;alert(1)"),
        "shown, escaped"
    );
    app.stop().await;
}

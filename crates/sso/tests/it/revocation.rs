//! Cached answers and revocation across nodes: node B reuses what it checked (a token found
//! unrevoked, the person's claims) only while the revocation epoch stands still, so whatever
//! node A revokes, node B refuses on the very next request.

use crate::helpers::{TestApp, portal_logout};
use crate::oidc_client::{http, register, userinfo_status};
use crate::sso_sessions::{signed_in, signed_in_with};
use openidconnect::OAuth2TokenResponse;
use reqwest::StatusCode;

async fn userinfo(node: &testkit::TestApp, token: &str) -> serde_json::Value {
    let r = http()
        .get(node.url("/oidc/userinfo"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "UserInfo on {}", node.base);
    r.json().await.unwrap()
}

#[tokio::test]
async fn what_one_node_revokes_the_other_refuses_at_once() {
    let a = TestApp::start().await;
    let b = a.another_node().await;
    let (id, secret) = register(&a, |_| {}).await;
    let teacher = a.person_id("teacher").await;

    // A portal logout on A revokes the session's grant: B, which has the token cached as
    // unrevoked, refuses it.
    let browser = a.login("teacher").await;
    let tokens = signed_in(&a, &browser, &id, secret.clone()).await;
    let access = tokens.access_token().secret().to_owned();
    let first = userinfo(&b, &access).await;
    assert_eq!(first["sub"], teacher.to_string());
    assert_eq!(userinfo(&b, &access).await, first, "the same answer again");
    portal_logout(&a, &browser).await;
    assert_eq!(
        userinfo_status(&b, &access).await,
        StatusCode::UNAUTHORIZED,
        "B saw A's logout"
    );

    // The revocation endpoint on A (this one token, by its jti).
    let browser = a.login("teacher").await;
    let tokens = signed_in(&a, &browser, &id, secret.clone()).await;
    let access = tokens.access_token().secret().to_owned();
    userinfo(&b, &access).await;
    let r = http()
        .post(a.url("/oidc/revoke"))
        .basic_auth(&id, secret.as_deref())
        .form(&[("token", access.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        userinfo_status(&b, &access).await,
        StatusCode::UNAUTHORIZED,
        "B saw A's revocation"
    );

    // B's claims are its own cache's: a name changed behind it shows later (at most
    // sso.claims_cache_seconds), while A, which never cached them, answers with the new name.
    let tokens = signed_in_with(&a, &browser, &id, secret.clone(), &["profile"]).await;
    let access = tokens.access_token().secret().to_owned();
    let before = userinfo(&b, &access).await["name"].clone();
    assert!(before.is_string(), "the profile scope gives the name");
    kernel::on_db!(&a.state.db, p => sqlx::query("UPDATE persons SET name = '改名后' WHERE id = $1")
        .bind(teacher).execute(p).await.map(|r| r.rows_affected()))
    .unwrap();
    assert_eq!(
        userinfo(&b, &access).await["name"],
        before,
        "B reused its claims"
    );
    assert_eq!(userinfo(&a, &access).await["name"], "改名后");

    // Deactivating the person on A (as a school administrator would) ends B's reuse at once.
    let admin = a.token("school_admin").await;
    let r = http()
        .post(a.url(&format!("/api/v1/people/{teacher}/deactivate")))
        .bearer_auth(admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    assert_eq!(
        userinfo_status(&b, &access).await,
        StatusCode::UNAUTHORIZED,
        "B saw A's deactivation"
    );
    b.stop().await;
    a.stop().await;
}

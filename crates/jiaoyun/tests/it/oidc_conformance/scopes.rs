//! The scope modules (`AbstractOIDCCReturnedClaimsServerTest`) and `oidcc-alternate-happy-flow`
//! (the plan's successor of `oidcc-ensure-other-scope-order-succeeds`).
//!
//! Each module sets the scope, is skipped when discovery's `scopes_supported` lacks one of its
//! scopes (`OIDCCCheckScopesSupportedContainScopeTest`), runs the code flow and reads UserInfo;
//! `VerifyScopesReturnedInUserInfoClaims` (a warning) expects every standard claim of the scopes.
//! The platform keeps no given, family, middle or nick names, pictures, web sites, birth dates or
//! time zones, so oidcc-scope-profile ends with that warning for them; and the ID token repeats
//! the scope's claims (`EnsureIdTokenDoesNotContainEmailForScopeEmail`, a warning) because
//! relying parties of the platform read them there.

use super::{Auth, Op, Req, Tokens, UserInfoBy};
use serde_json::{Map, Value};

/// Gives the demo teacher an e-mail address (the demo region has none), as the suite's test
/// account has.
async fn with_email(op: &Op) {
    let teacher = op.app.person_id("teacher").await;
    kernel::on_db!(&op.app.state.db, p => sqlx::query("UPDATE persons SET email = $1 WHERE id = $2")
        .bind("teacher@school.example").bind(teacher).execute(p).await.map(|r| r.rows_affected())).unwrap();
}

/// Runs a scope module; `None` when the suite would skip it (a scope not in `scopes_supported`).
async fn scope_module(op: &Op, req: Req) -> Option<(Tokens, Map<String, Value>)> {
    let supported = op.meta["scopes_supported"].as_array().unwrap();
    let scope = req.get("scope").unwrap().to_owned();
    if scope.split(' ').any(|s| !supported.contains(&s.into())) {
        return None;
    }
    let browser = op.app.login("teacher").await;
    let code = op.code(&browser, &req).await;
    let t = op.exchange(Auth::Basic, &code, &req, &[]).await;
    let r = op.userinfo(t.access(), UserInfoBy::Get).await;
    let info = op.check_userinfo(r, &t.id).await;
    Some((t, info))
}

fn has_all(info: &Map<String, Value>, claims: &[&str]) {
    for c in claims {
        assert!(info.contains_key(*c), "{c} in UserInfo: {info:?}");
    }
}

/// oidcc-scope-profile.
#[tokio::test]
async fn oidcc_scope_profile() {
    let op = Op::start().await;
    let req = op.request().set("scope", "openid profile");
    let (_, info) = scope_module(&op, req).await.expect("profile is supported");
    has_all(
        &info,
        &["name", "preferred_username", "locale", "updated_at"],
    );
    op.stop().await;
}

/// oidcc-scope-email; also `EnsureIdTokenDoesNotContainName` and
/// `EnsureUserInfoDoesNotContainName` (warnings): no name without the profile scope.
#[tokio::test]
async fn oidcc_scope_email() {
    let op = Op::start().await;
    with_email(&op).await;
    let req = op.request().set("scope", "openid email");
    let (t, info) = scope_module(&op, req).await.expect("email is supported");
    has_all(&info, &["email", "email_verified"]);
    assert!(!info.contains_key("name"));
    assert!(!t.id.claims.contains_key("name"));
    op.stop().await;
}

/// oidcc-scope-phone.
#[tokio::test]
async fn oidcc_scope_phone() {
    let op = Op::start().await;
    let req = op.request().set("scope", "openid phone");
    let (_, info) = scope_module(&op, req).await.expect("phone is supported");
    has_all(&info, &["phone_number", "phone_number_verified"]);
    op.stop().await;
}

/// A scope the provider does not offer is ignored, not an error (RFC 6749 §3.3 lets the server
/// grant less than asked).
async fn unsupported_scope_is_ignored(op: &Op, req: Req) {
    let browser = op.app.login("teacher").await;
    let code = op.code(&browser, &req).await;
    let t = op.exchange(Auth::Basic, &code, &req, &[]).await;
    let granted = t.body["scope"].as_str().unwrap();
    assert!(!granted.split(' ').any(|s| s == "address"), "{granted}");
}

/// oidcc-scope-address: the platform keeps no postal addresses and does not list `address` in
/// `scopes_supported`, so the suite skips the module.
#[tokio::test]
async fn oidcc_scope_address() {
    let op = Op::start().await;
    let req = op.request().set("scope", "openid address");
    assert!(scope_module(&op, req.clone()).await.is_none(), "skipped");
    unsupported_scope_is_ignored(&op, req).await;
    op.stop().await;
}

/// oidcc-scope-all: skipped for the same reason (address); the other scopes' claims all come.
#[tokio::test]
async fn oidcc_scope_all() {
    let op = Op::start().await;
    with_email(&op).await;
    let req = op
        .request()
        .set("scope", "openid email phone address profile");
    assert!(scope_module(&op, req.clone()).await.is_none(), "skipped");
    unsupported_scope_is_ignored(&op, req).await;
    let req = op.request().set("scope", "openid email phone profile");
    let (_, info) = scope_module(&op, req).await.expect("the rest is supported");
    has_all(
        &info,
        &[
            "name",
            "email",
            "email_verified",
            "phone_number",
            "phone_number_verified",
        ],
    );
    op.stop().await;
}

/// oidcc-alternate-happy-flow (`OIDCCAlternateHappyFlow`, which replaced
/// oidcc-ensure-other-scope-order-succeeds): oidcc-scope-email with the scope reversed
/// (`ReverseScopeOrderInAuthorizationEndpointRequest`) and the query parameters in reverse
/// alphabetical order (`BuildPlainRedirectToAuthorizationEndpointReorderedParams`).
#[tokio::test]
async fn oidcc_alternate_happy_flow() {
    let op = Op::start().await;
    with_email(&op).await;
    let mut req = op.request().set("scope", "email openid");
    req.params.sort_by(|a, b| b.0.cmp(&a.0));
    assert_eq!(req.params[0].0, "state");
    let (t, info) = scope_module(&op, req).await.expect("a normal flow");
    has_all(&info, &["email", "email_verified"]);
    let granted = t.body["scope"].as_str().unwrap();
    assert!(granted.split(' ').any(|s| s == "openid"), "{granted}");
    op.stop().await;
}

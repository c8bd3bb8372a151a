//! The modules that add parameters to the authorization request: unknown ones, claims_locales,
//! acr_values, the claims parameter, and request objects by value and by reference.

use super::{Auth, B64, Op, Req, UserInfoBy, back_at_client, check_error};
use crate::helpers::TestApp;
use crate::oidc_client::REDIRECT;
use base64::Engine;
use reqwest::StatusCode;

/// The flow with a logged-in browser must simply succeed.
async fn succeeds(op: &Op, req: &Req) -> super::Tokens {
    let browser = op.app.login("teacher").await;
    let code = op.code(&browser, req).await;
    op.exchange(Auth::Basic, &code, req, &[]).await
}

/// oidcc-ensure-request-with-unknown-parameter-succeeds: `extra=foobar` is ignored (RFC 6749 §3.1).
#[tokio::test]
async fn oidcc_ensure_request_with_unknown_parameter_succeeds() {
    let op = Op::start().await;
    succeeds(&op, &op.request().set("extra", "foobar")).await;
    op.stop().await;
}

/// oidcc-claims-locales: `claims_locales=se` is no error.
#[tokio::test]
async fn oidcc_claims_locales() {
    let op = Op::start().await;
    succeeds(&op, &op.request().set("claims_locales", "se")).await;
    op.stop().await;
}

/// oidcc-ensure-request-with-acr-values-succeeds: discovery lists no `acr_values_supported`, so
/// the suite asks for `acr_values=1 2`, which must not fail. The ID token carries no acr (the
/// platform has no authentication context classes): `ValidateIdTokenACRClaimAgainstAcrValuesRequest`
/// is a warning.
#[tokio::test]
async fn oidcc_ensure_request_with_acr_values_succeeds() {
    let op = Op::start().await;
    assert!(op.meta.get("acr_values_supported").is_none());
    let t = succeeds(&op, &op.request().set("acr_values", "1 2")).await;
    assert!(t.id.claims.get("acr").is_none_or(|a| a.is_string()));
    op.stop().await;
}

/// oidcc-claims-essential: the `name` claim asked for as essential in UserInfo through the
/// claims parameter, with scope=openid. The request must succeed; discovery says
/// `claims_parameter_supported: false`, so UserInfo has no name (`EnsureUserInfoContainsName`,
/// a warning) and the ID token neither (`EnsureIdTokenDoesNotContainName`).
#[tokio::test]
async fn oidcc_claims_essential() {
    let op = Op::start().await;
    let req = op
        .request()
        .set("claims", r#"{"userinfo":{"name":{"essential":true}}}"#);
    let t = succeeds(&op, &req).await;
    let r = op.userinfo(t.access(), UserInfoBy::Get).await;
    let info = op.check_userinfo(r, &t.id).await;
    assert_eq!(op.meta["claims_parameter_supported"], false);
    assert!(!t.id.claims.contains_key("name"));
    assert!(info.contains_key("sub"));
    op.stop().await;
}

/// `ConvertAuthorizationEndpointRequestToRequestObject` + `SerializeRequestObjectWithNullAlgorithm`.
fn unsigned_request_object(req: &Req) -> String {
    let claims: serde_json::Map<String, serde_json::Value> = req
        .params
        .iter()
        .map(|(k, v)| (k.clone(), v.clone().into()))
        .collect();
    format!(
        "{}.{}.",
        B64.encode(br#"{"alg":"none"}"#),
        B64.encode(serde_json::Value::Object(claims).to_string())
    )
}

/// `AbstractBuildRequestObjectRedirectToAuthorizationEndpoint`: the request object (or its
/// URI) plus the parameters OAuth requires outside it (response_type, client_id, scope,
/// redirect_uri); the state travels only inside.
fn outer(req: &Req, name: &str, value: &str) -> Req {
    let mut params = vec![(name.to_owned(), value.to_owned())];
    for k in ["client_id", "redirect_uri", "response_type", "scope"] {
        params.push((k.into(), req.get(k).unwrap().into()));
    }
    Req { params }
}

/// oidcc-unsigned-request-object-supported-correctly-or-rejected-as-unsupported: either the
/// request object is processed, or `request_not_supported` goes back (the suite then skips the
/// module). The provider rejects, and discovery says so.
#[tokio::test]
async fn oidcc_unsigned_request_object_supported_correctly_or_rejected_as_unsupported() {
    let op = Op::start().await;
    assert_eq!(op.meta["request_parameter_supported"], false);
    let browser = op.app.login("teacher").await;
    let req = op.request();
    let url = op.url(&outer(&req, "request", &unsigned_request_object(&req)));
    let q = back_at_client(&browser.get(url).send().await.unwrap());
    // The state was only in the request object: it cannot come back.
    assert_eq!(check_error(&op, &q, None), "request_not_supported");
    op.stop().await;
}

/// oidcc-request-uri-unsigned-supported-correctly-or-rejected-as-unsupported: the same by
/// reference; `request_uri_not_supported`. (The module applies to dynamically registered
/// clients only; the provider answers every client alike.)
#[tokio::test]
async fn oidcc_request_uri_unsigned_supported_correctly_or_rejected_as_unsupported() {
    let op = Op::start().await;
    assert_eq!(op.meta["request_uri_parameter_supported"], false);
    let browser = op.app.login("teacher").await;
    let req = op.request();
    let url = op.url(&outer(
        &req,
        "request_uri",
        "https://rp.example/requests/1#x",
    ));
    let q = back_at_client(&browser.get(url).send().await.unwrap());
    assert_eq!(check_error(&op, &q, None), "request_uri_not_supported");
    op.stop().await;
}

/// oidcc-ensure-request-object-with-redirect-uri: the request object names the registered
/// redirect URI, the query an unregistered one (`AddInvalidRedirectUriToAuthorizationRequest`).
/// A provider that does not process request objects must show an error page
/// (`ExpectRedirectUriErrorPage`), never redirect (`EnsureOPDoesNotUseDefaultRedirectUriInCaseOfInvalidRedirectUri`).
#[tokio::test]
async fn oidcc_ensure_request_object_with_redirect_uri() {
    let op = Op::start().await;
    let browser = op.app.login("teacher").await;
    let req = op.request();
    let object = unsigned_request_object(&req);
    let bad = format!("{REDIRECT}/_invalid");
    let url = op.url(&outer(&req, "request", &object).set("redirect_uri", &bad));
    let r = browser.get(url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST, "an error page");
    assert!(r.headers().get("location").is_none(), "no redirect");
    // An anonymous browser gets the same page, not the login page.
    let url = op.url(&outer(&req, "request", &object).set("redirect_uri", &bad));
    let r = TestApp::client().get(url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.headers().get("location").is_none());
    op.stop().await;
}

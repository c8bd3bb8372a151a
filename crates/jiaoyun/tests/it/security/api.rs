//! V16.5.1 (errors say what went wrong, in one shape, without internals) and the OAuth details
//! of V10: every API error is the JSON error body, framework rejections included; the OpenAPI
//! document puts query parameters in the query; authorization error redirects carry `iss`
//! (RFC 9207); introspection names the access tokens' type (RFC 7662).

use crate::helpers::TestApp;
use openidconnect::core::CoreAuthenticationFlow;
use openidconnect::{AuthorizationCode, CsrfToken, Nonce, OAuth2TokenResponse};
use reqwest::StatusCode;

async fn error_body(r: reqwest::Response) -> (StatusCode, serde_json::Value) {
    let status = r.status();
    let ct = r.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(ct.starts_with("application/json"), "{status}: {ct}");
    let v: serde_json::Value = r.json().await.unwrap();
    assert!(
        v["error"]["code"].is_string() && v["error"]["message"].is_string(),
        "{v}"
    );
    (status, v)
}

#[tokio::test]
async fn asvs_v16_5_1_every_api_error_is_the_json_error_body() {
    let app = TestApp::start().await;
    let token = app.token("city_admin").await;
    let http = reqwest::Client::new();
    let city = crate::helpers::demo_city(&app).await;
    // A query that does not parse, a path id that is no id, a method the route lacks, a body
    // of the wrong type, a body that is not JSON, an unknown route.
    let cases = [
        http.get(app.url("/api/v1/people?page=many")),
        http.get(app.url(&format!("/api/v1/nodes/{city}/children?page=-1"))),
        http.get(app.url("/api/v1/people/not-an-id")),
        http.delete(app.url("/api/v1/me")),
        http.post(app.url("/api/v1/people")).body("name=x"),
        http.post(app.url("/api/v1/people"))
            .header("content-type", "application/json")
            .body("{not json"),
        http.get(app.url("/api/v1/no/such/thing")),
    ];
    for req in cases {
        let r = req.bearer_auth(&token).send().await.unwrap();
        let (status, body) = error_body(r).await;
        assert!(status.is_client_error(), "{status}: {body}");
    }
    app.stop().await;
}

#[tokio::test]
async fn openapi_lists_query_parameters_in_the_query() {
    let app = TestApp::start().await;
    let doc: serde_json::Value = reqwest::get(app.url("/api/v1/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut seen = 0;
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (_, op) in ops.as_object().unwrap() {
            for p in op["parameters"].as_array().into_iter().flatten() {
                let name = p["name"].as_str().unwrap();
                if p["in"] == "path" {
                    assert!(
                        path.contains(&format!("{{{name}}}")),
                        "{path}: {name} is not in the path"
                    );
                }
                seen += 1;
            }
        }
    }
    assert!(seen > 20, "parameters were checked: {seen}");
    app.stop().await;
}

#[tokio::test]
async fn asvs_v10_2_2_authorization_errors_carry_the_issuer_and_introspection_the_token_type() {
    let app = TestApp::start().await;
    let (client_id, secret) = crate::oidc_client::register(&app, |_| {}).await;
    let browser = app.login("teacher").await;
    let r = browser
        .get(app.url("/oidc/authorize"))
        .query(&[
            ("client_id", client_id.as_str()),
            ("redirect_uri", crate::oidc_client::REDIRECT),
            ("response_type", "token"),
            ("scope", "openid"),
            ("state", "s1"),
        ])
        .send()
        .await
        .unwrap();
    let loc = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        loc.starts_with(crate::oidc_client::REDIRECT) && loc.contains("error="),
        "{loc}"
    );
    let url = reqwest::Url::parse(&loc).unwrap();
    let iss = url
        .query_pairs()
        .find(|(k, _)| k == "iss")
        .map(|(_, v)| v.into_owned());
    assert_eq!(iss.as_deref(), Some(app.base.as_str()), "{loc}");
    let meta: serde_json::Value = reqwest::get(app.url("/.well-known/openid-configuration"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(meta["authorization_response_iss_parameter_supported"], true);

    // A refresh token, introspected: its type is that of the access tokens it yields.
    let rp = crate::oidc_client::relying_party(&app, &client_id, secret.clone()).await;
    let (url, _, _) = rp
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .url();
    let q = crate::oidc_client::authorize(&browser, url.as_str()).await;
    let code = crate::oidc_client::get(&q, "code").unwrap().to_owned();
    assert_eq!(crate::oidc_client::get(&q, "iss"), Some(app.base.as_str()));
    let tokens = rp
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .request_async(&crate::oidc_client::http())
        .await
        .unwrap();
    let refresh = tokens
        .refresh_token()
        .expect("a refresh token")
        .secret()
        .clone();
    let secret = secret.unwrap();
    let v: serde_json::Value = reqwest::Client::new()
        .post(app.url("/oidc/introspect"))
        .basic_auth(&client_id, Some(&secret))
        .form(&[("token", refresh.as_str())])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["active"], true, "{v}");
    assert_eq!(v["token_type"], "Bearer", "{v}");
    app.stop().await;
}

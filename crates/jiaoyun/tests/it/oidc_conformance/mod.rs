//! The OpenID Foundation's Basic OP certification plan (`oidcc-basic-certification-test-plan`,
//! variant: server metadata by discovery, a static client, `client_secret_basic`, the code flow),
//! mirrored module by module because the conformance suite itself cannot run here.
//!
//! How: one `#[tokio::test]` per module of the plan (`OIDCCBasicTestPlan` in
//! openid-certification/conformance-suite), named after the module with dashes as underscores.
//! Each test drives the provider over HTTP the way the module does (the same requests, in the
//! same order, with the same deliberate mistakes) and asserts what the module's conditions assert
//! (their class names are cited where a check is made): failures of the suite are assertion
//! failures here; what the suite only warns about is asserted where the provider does it right and
//! named in a comment where it does not. Where the suite expects a person to act (log in again,
//! look at an error page and upload a screenshot) the test acts the person: it logs in through the
//! login form, or asserts that the provider stopped on its own page and did not redirect. Where a
//! module waits (1, 2 or 30 seconds) the provider's clock is moved instead
//! (`TestApp::start_with_fixed_clock`). Where the suite would skip a module because of what
//! discovery says (`oidcc-idtoken-unsigned`, `oidcc-scope-address`, `oidcc-scope-all`), the test
//! asserts the reason for the skip and what the provider does with the request anyway.
//!
//! The helpers below are the suite's common sequences: `AbstractOIDCCServerTest`'s configuration
//! (discovery, `CheckServerConfiguration`, the server's JWKS), its authorization request
//! (`CreateAuthorizationRequestSteps`: state and nonce), the callback checks
//! (`onAuthorizationCallbackResponse`), the token request, `PerformStandardIdTokenChecks`, the
//! UserInfo checks and the generic error-response checks.
//!
//! Besides the Basic plan, a few modules of the comprehensive plan (`OIDCCTestPlan`) that apply
//! to a provider with statically registered clients are mirrored too (discovery verification,
//! `idtoken-rs256`, the `redirect-uri-query-*` modules, `ensure-redirect-uri-in-authorization-request`,
//! `server-rotate-keys`).

mod authentication;
mod basic;
mod grants;
mod metadata;
mod redirects;
mod requests;
mod scopes;

use crate::helpers::TestApp;
use crate::oidc_client::{REDIRECT, get, http, register, url_query};
use base64::Engine;
use openidconnect::core::{
    CoreIdToken, CoreIdTokenVerifier, CoreJsonWebKeySet, CoreJwsSigningAlgorithm,
};
use openidconnect::{ClientId, CsrfToken, IssuerUrl, Nonce};
use reqwest::{Client, StatusCode};
use serde_json::{Map, Value};
use sso::apps::NewApplication;
use std::str::FromStr;

pub(crate) type Params = Vec<(String, String)>;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The provider under test, as the suite sees it after `configure`: its discovery document and
/// one static client.
pub(crate) struct Op {
    pub app: TestApp,
    pub meta: Value,
    pub client_id: String,
    pub secret: String,
}

/// How the client authenticates at the token endpoint.
#[derive(Clone, Copy)]
pub(crate) enum Auth {
    Basic,
    Post,
}

impl Op {
    pub async fn start() -> Op {
        Self::on(TestApp::start().await, |_| {}).await
    }

    /// Configures like `AbstractOIDCCServerTest.configure`: discovery, `CheckServerConfiguration`,
    /// the JWKS (`CheckForKeyIdInServerJWKs`, `CheckDistinctKeyIdValueInServerJWKs`), a client.
    pub async fn on(app: TestApp, f: impl FnOnce(&mut NewApplication)) -> Op {
        let (client_id, secret) = register(&app, f).await;
        let meta = discovery(&app.base).await;
        for k in ["issuer", "authorization_endpoint", "token_endpoint"] {
            let v = meta[k]
                .as_str()
                .unwrap_or_else(|| panic!("{k} in discovery"));
            reqwest::Url::parse(v).unwrap_or_else(|e| panic!("{k} is a URL: {e}"));
        }
        assert_eq!(
            meta["issuer"],
            app.base.as_str(),
            "the issuer is where it is served"
        );
        server_jwks(&meta).await;
        Op {
            app,
            meta,
            client_id,
            secret: secret.expect("a confidential client"),
        }
    }

    /// Makes another registered client the one the requests are for (the suite's
    /// `switchToSecondClient`); returns the previous one.
    pub fn switch_client(&mut self, id: String, secret: String) -> (String, String) {
        (
            std::mem::replace(&mut self.client_id, id),
            std::mem::replace(&mut self.secret, secret),
        )
    }

    pub fn issuer(&self) -> &str {
        self.meta["issuer"].as_str().unwrap()
    }

    /// `CreateAuthorizationRequestSteps`: response_type=code, client_id, redirect_uri,
    /// scope=openid, a random state and nonce.
    pub fn request(&self) -> Req {
        Req {
            params: vec![
                ("client_id".into(), self.client_id.clone()),
                ("redirect_uri".into(), REDIRECT.into()),
                ("response_type".into(), "code".into()),
                ("scope".into(), "openid".into()),
                ("state".into(), CsrfToken::new_random().secret().clone()),
                ("nonce".into(), CsrfToken::new_random().secret().clone()),
            ],
        }
    }

    /// `BuildPlainRedirectToAuthorizationEndpoint`.
    pub fn url(&self, req: &Req) -> String {
        let mut u =
            reqwest::Url::parse(self.meta["authorization_endpoint"].as_str().unwrap()).unwrap();
        u.query_pairs_mut().extend_pairs(req.params.iter());
        u.to_string()
    }

    /// Sends the browser to the authorization endpoint and expects it back at the client with a
    /// code: `onAuthorizationCallbackResponse` (`ValidateIssIfPresentInAuthorizationResponse`,
    /// `CheckIfAuthorizationEndpointError`, `CheckStateInAuthorizationResponse`) and the code's
    /// `EnsureMinimumAuthorizationCodeLength` / `…Entropy`.
    pub async fn code(&self, browser: &Client, req: &Req) -> String {
        let q = callback(browser, &self.url(req)).await;
        self.code_from(&q, req)
    }

    pub fn code_from(&self, q: &Params, req: &Req) -> String {
        assert_eq!(get(q, "iss"), Some(self.issuer()), "iss in the response");
        assert_eq!(get(q, "error"), None, "no error: {q:?}");
        assert_eq!(get(q, "state"), req.get("state"), "state comes back");
        let code = get(q, "code").expect("a code").to_owned();
        assert!(code.len() * 8 >= 128, "code of 128 bits or more: {code}");
        assert!(shannon_bits(&code) > 96.0, "code entropy: {code}");
        code
    }

    /// The token endpoint with the client's authentication; the raw response.
    pub async fn token(&self, auth: Auth, form: &[(&str, &str)]) -> reqwest::Response {
        let mut form: Vec<(&str, &str)> = form.to_vec();
        let r = http().post(self.meta["token_endpoint"].as_str().unwrap());
        let r = match auth {
            Auth::Basic => r.basic_auth(&self.client_id, Some(&self.secret)),
            Auth::Post => {
                form.push(("client_id", &self.client_id));
                form.push(("client_secret", &self.secret));
                r
            }
        };
        r.form(&form).send().await.unwrap()
    }

    /// `requestAuthorizationCode`: the exchange succeeds (`CheckTokenEndpointHttpStatus200`,
    /// `CheckForAccessTokenValue`, `ValidateExpiresIn`, `ExtractIdTokenFromTokenResponse`,
    /// `CheckTokenEndpointCacheHeaders`) and the ID token passes the standard checks.
    pub async fn exchange(
        &self,
        auth: Auth,
        code: &str,
        req: &Req,
        extra: &[(&str, &str)],
    ) -> Tokens {
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
        ];
        form.extend_from_slice(extra);
        let body = self.token_ok(auth, &form).await;
        let id = self
            .check_id_token(
                body["id_token"].as_str().expect("an ID token"),
                req.get("nonce"),
            )
            .await;
        Tokens { body, id }
    }

    /// A successful token response's body, with the checks every token response gets.
    pub async fn token_ok(&self, auth: Auth, form: &[(&str, &str)]) -> Value {
        let r = self.token(auth, form).await;
        assert_eq!(r.status(), StatusCode::OK, "token endpoint");
        assert!(is_json(&r), "JSON");
        assert_eq!(r.headers()["cache-control"], "no-store");
        assert_eq!(r.headers()["pragma"], "no-cache");
        let body: Value = r.json().await.unwrap();
        assert!(
            body["access_token"].as_str().is_some_and(|t| !t.is_empty()),
            "{body}"
        );
        assert_eq!(body["token_type"], "Bearer");
        let exp = body["expires_in"].as_i64().expect("expires_in");
        assert!(exp > 0 && exp <= 31_536_000, "expires_in {exp}");
        body
    }

    /// `PerformStandardIdTokenChecks`: signature against the published keys (by a relying-party
    /// library), `ValidateIdToken` (iss, aud, exp, iat, auth_time, acr), `ValidateIdTokenNonce`,
    /// `CheckForSubjectInIdToken`, `EnsureIdTokenUpdatedAtValid`; and `EnsureIdTokenContainsKid`.
    pub async fn check_id_token(&self, raw: &str, nonce: Option<&str>) -> IdToken {
        let jwks: CoreJsonWebKeySet =
            serde_json::from_value(server_jwks(&self.meta).await).unwrap();
        let verifier = CoreIdTokenVerifier::new_public_client(
            ClientId::new(self.client_id.clone()),
            IssuerUrl::new(self.issuer().into()).unwrap(),
            jwks,
        )
        .set_allowed_algs([
            CoreJwsSigningAlgorithm::EcdsaP256Sha256,
            CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
        ]);
        let expected = nonce.map(|n| Nonce::new(n.into()));
        let token = CoreIdToken::from_str(raw).expect("an ID token");
        token
            .claims(&verifier, |got: Option<&Nonce>| {
                match (got.map(Nonce::secret), expected.as_ref().map(Nonce::secret)) {
                    (a, b) if a == b => Ok(()),
                    (a, b) => Err(format!("nonce {a:?}, expected {b:?}")),
                }
            })
            .expect("the ID token verifies");
        let parts: Vec<&str> = raw.split('.').collect();
        let header: Value = serde_json::from_slice(&B64.decode(parts[0]).unwrap()).unwrap();
        let claims: Map<String, Value> =
            serde_json::from_slice(&B64.decode(parts[1]).unwrap()).unwrap();
        assert!(
            header["kid"].as_str().is_some_and(|k| !k.is_empty()),
            "kid: {header}"
        );
        let now = chrono::Utc::now().timestamp();
        let skew = 5 * 60;
        assert_eq!(claims["iss"], self.issuer());
        assert!(
            claims["aud"] == self.client_id.as_str()
                || claims["aud"]
                    .as_array()
                    .is_some_and(|a| a.contains(&self.client_id.as_str().into())),
            "aud: {claims:?}"
        );
        let exp = claims["exp"].as_i64().expect("exp");
        assert!(
            exp > now - skew && exp < now + 50 * 365 * 86_400,
            "exp {exp}"
        );
        let iat = claims["iat"].as_i64().expect("iat");
        assert!(
            (now - skew..=now + skew).contains(&iat),
            "iat {iat}, now {now}"
        );
        if let Some(t) = claims.get("auth_time") {
            let t = t.as_i64().expect("auth_time is a number");
            assert!(t > now - 365 * 86_400 && t <= now + skew, "auth_time {t}");
        }
        if let Some(acr) = claims.get("acr") {
            assert!(acr.as_str().is_some_and(|a| !a.is_empty()), "acr: {acr}");
        }
        assert_eq!(claims.get("nonce").and_then(Value::as_str), nonce, "nonce");
        let sub = claims["sub"].as_str().expect("sub");
        assert!(
            !sub.is_empty() && sub.len() <= 255 && sub.bytes().all(|b| (0x20..0x7f).contains(&b))
        );
        updated_at_valid(&claims);
        IdToken {
            raw: raw.to_owned(),
            header,
            claims,
        }
    }

    /// UserInfo by GET, by POST with the bearer header, or by POST with the token in the body.
    pub async fn userinfo(&self, token: &str, how: UserInfoBy) -> reqwest::Response {
        let url = self.meta["userinfo_endpoint"].as_str().unwrap();
        let r = match how {
            UserInfoBy::Get => http().get(url).bearer_auth(token),
            UserInfoBy::PostHeader => http().post(url).bearer_auth(token),
            UserInfoBy::PostBody => http().post(url).form(&[("access_token", token)]),
        };
        r.send().await.unwrap()
    }

    /// `AbstractOIDCCUserInfoTest`: `EnsureHttpStatusCodeIs200`, `EnsureContentTypeJson`,
    /// `ValidateUserInfoStandardClaims`, `EnsureUserInfoContainsSub`,
    /// `EnsureUserInfoUpdatedAtValid`, `VerifyUserInfoAndIdTokenInTokenEndpointSameSub`.
    pub async fn check_userinfo(&self, r: reqwest::Response, id: &IdToken) -> Map<String, Value> {
        assert_eq!(r.status(), StatusCode::OK, "UserInfo");
        assert!(is_json(&r), "UserInfo answers JSON");
        let info: Map<String, Value> = r.json().await.unwrap();
        assert_eq!(info.get("sub"), id.claims.get("sub"), "the same subject");
        for (k, v) in &info {
            let ok = match k.as_str() {
                "name" | "given_name" | "family_name" | "middle_name" | "nickname"
                | "preferred_username" | "profile" | "picture" | "website" | "email" | "gender"
                | "birthdate" | "zoneinfo" | "locale" | "phone_number" | "sub" => v.is_string(),
                "email_verified" | "phone_number_verified" => v.is_boolean(),
                "address" => v.is_object(),
                "updated_at" => v.is_number(),
                _ => true,
            };
            assert!(ok, "standard claim {k} has its type: {v}");
        }
        updated_at_valid(&info);
        info
    }

    pub async fn stop(self) {
        self.app.stop().await;
    }
}

pub(crate) enum UserInfoBy {
    Get,
    PostHeader,
    PostBody,
}

pub(crate) struct Tokens {
    pub body: Value,
    pub id: IdToken,
}

impl Tokens {
    pub fn access(&self) -> &str {
        self.body["access_token"].as_str().unwrap()
    }
}

pub(crate) struct IdToken {
    pub raw: String,
    pub header: Value,
    pub claims: Map<String, Value>,
}

impl IdToken {
    pub fn auth_time(&self) -> i64 {
        self.claims["auth_time"].as_i64().expect("auth_time")
    }
}

/// An authorization request's parameters, in order.
#[derive(Clone)]
pub(crate) struct Req {
    pub params: Params,
}

impl Req {
    pub fn get(&self, k: &str) -> Option<&str> {
        get(&self.params, k)
    }
    /// Sets (or replaces) a parameter.
    pub fn set(mut self, k: &str, v: &str) -> Self {
        self.params.retain(|(a, _)| a != k);
        self.params.push((k.into(), v.into()));
        self
    }
    pub fn without(mut self, k: &str) -> Self {
        self.params.retain(|(a, _)| a != k);
        self
    }
}

/// The discovery document, fetched like `GetDynamicServerConfiguration`.
pub(crate) async fn discovery(base: &str) -> Value {
    let r = http()
        .get(format!("{base}/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "discovery");
    assert!(is_json(&r), "discovery answers JSON");
    r.json().await.unwrap()
}

/// The server's JWKS, with `FetchServerKeys`, `CheckServerKeysIsValid` / `ValidateJwksSequence`
/// (public keys only, each complete), `CheckForKeyIdInServerJWKs` and
/// `CheckDistinctKeyIdValueInServerJWKs`.
pub(crate) async fn server_jwks(meta: &Value) -> Value {
    let r = http()
        .get(meta["jwks_uri"].as_str().expect("jwks_uri"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let jwks: Value = r.json().await.unwrap();
    let keys = jwks["keys"].as_array().expect("keys");
    assert!(!keys.is_empty(), "at least one key");
    let mut kids: Vec<&str> = Vec::new();
    for k in keys {
        let kid = k["kid"]
            .as_str()
            .filter(|k| !k.is_empty())
            .expect("every key has a kid");
        assert!(!kids.contains(&kid), "kids are distinct: {kid}");
        kids.push(kid);
        for private in ["d", "p", "q", "dp", "dq", "qi", "k"] {
            assert!(
                k.get(private).is_none(),
                "no private member {private} in {k}"
            );
        }
        match k["kty"].as_str() {
            Some("EC") => assert!(k["crv"].is_string() && k["x"].is_string() && k["y"].is_string()),
            Some("RSA") => assert!(k["n"].is_string() && k["e"].is_string()),
            other => panic!("unexpected key type {other:?}"),
        }
    }
    jwks
}

/// Follows the authorization URL with this browser; expects the redirect back to the client.
pub(crate) async fn callback(browser: &Client, url: &str) -> Params {
    let r = browser.get(url).send().await.unwrap();
    back_at_client(&r)
}

pub(crate) fn back_at_client(r: &reqwest::Response) -> Params {
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "a redirect");
    let loc = r.headers()["location"].to_str().unwrap();
    assert!(
        loc.starts_with(REDIRECT),
        "back at the client, not at {loc}"
    );
    url_query(loc)
}

/// The provider's answer is its own login page (the suite's placeholder: a person must act);
/// returns the login page's location.
pub(crate) fn at_login(r: &reqwest::Response) -> String {
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "a redirect");
    let loc = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        loc.starts_with("/login?next=/oidc/authorize%3F")
            || loc.starts_with("/login?next=%2Foidc%2Fauthorize"),
        "to the login page: {loc}"
    );
    loc
}

/// Acts the person at the login page the provider sent the browser to: logs in as `user` and
/// follows the way back to the authorization endpoint; returns that answer.
pub(crate) async fn log_in_there(
    app: &TestApp,
    browser: &Client,
    login: &str,
    user: &str,
) -> reqwest::Response {
    let back = log_in(app, browser, login, user).await;
    browser.get(app.url(&back)).send().await.unwrap()
}

/// Logs in at the login page `login` (the page the provider sent the browser to); returns where
/// the login sends the browser on (the authorization request), not yet followed.
pub(crate) async fn log_in(app: &TestApp, browser: &Client, login: &str, user: &str) -> String {
    let page = browser.get(app.url(login)).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK, "the login page");
    let csrf = crate::helpers::extract_csrf(&page.text().await.unwrap());
    let next = get(&url_query(&app.url(login)), "next").unwrap().to_owned();
    let r = browser
        .post(app.url("/login"))
        .form(&[
            ("username", user),
            ("password", crate::helpers::DEMO_PASSWORD),
            ("csrf", &csrf),
            ("next", &next),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "logged in");
    let back = r.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(back, next, "back to the authorization request");
    back
}

/// `performGenericAuthorizationEndpointErrorResponseValidation`: state and iss come back, an
/// error and no code, no unexpected parameters, a well-formed description; returns the error.
pub(crate) fn check_error(op: &Op, q: &Params, state: Option<&str>) -> String {
    assert_eq!(get(q, "state"), state, "CheckStateInAuthorizationResponse");
    assert_eq!(
        get(q, "iss"),
        Some(op.issuer()),
        "ValidateIssIfPresentInAuthorizationResponse"
    );
    assert!(
        get(q, "code").is_none(),
        "RejectAuthCodeInAuthorizationEndpointResponse"
    );
    for (k, _) in q {
        assert!(
            [
                "error",
                "error_description",
                "error_uri",
                "state",
                "session_state",
                "iss"
            ]
            .contains(&k.as_str()),
            "unexpected parameter {k} in an error response"
        );
    }
    if let Some(d) = get(q, "error_description") {
        assert!(description_ok(d), "error_description charset: {d}");
    }
    if let Some(u) = get(q, "error_uri") {
        reqwest::Url::parse(u).expect("error_uri is a URL");
    }
    get(q, "error")
        .expect("EnsureErrorFromAuthorizationEndpointResponse")
        .to_owned()
}

/// A token endpoint error: 400, JSON, one of `expected`, a well-formed description
/// (`CheckTokenEndpointHttpStatus400`, `CheckTokenEndpointReturnedJsonContentType`,
/// `ValidateErrorFromTokenEndpointResponseError`, `ValidateErrorDescriptionFromTokenEndpointResponseError`).
pub(crate) async fn check_token_error(r: reqwest::Response, expected: &str) {
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(is_json(&r));
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], expected, "{body}");
    if let Some(d) = body["error_description"].as_str() {
        assert!(description_ok(d), "error_description charset: {d}");
    }
}

/// RFC 6749 §4.1.2.1 / §5.2: %x09-0A / %x0D / %x20-21 / %x23-5B / %x5D-7E.
fn description_ok(d: &str) -> bool {
    d.bytes()
        .all(|b| matches!(b, 0x09 | 0x0a | 0x0d | 0x20..=0x21 | 0x23..=0x5b | 0x5d..=0x7e))
}

pub(crate) fn is_json(r: &reqwest::Response) -> bool {
    r.headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

/// `AbstractUpdatedAtValid`: if present, not in the future and not before 1990.
fn updated_at_valid(claims: &Map<String, Value>) {
    if let Some(u) = claims.get("updated_at") {
        let u = u.as_i64().expect("updated_at is a number of seconds");
        assert!(
            u >= 631_152_000 && u <= chrono::Utc::now().timestamp() + 300,
            "updated_at {u}"
        );
    }
}

/// Shannon entropy of a string in bits, as `AbstractEnsureMinimumEntropy` computes it.
pub(crate) fn shannon_bits(s: &str) -> f64 {
    let mut counts = std::collections::HashMap::new();
    for c in s.chars() {
        *counts.entry(c).or_insert(0usize) += 1;
    }
    let n = s.chars().count() as f64;
    let per_char: f64 = counts
        .values()
        .map(|&c| {
            let p = c as f64 / n;
            -p * p.log2()
        })
        .sum();
    per_char * n
}

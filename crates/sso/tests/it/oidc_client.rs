//! A relying party's side of the single sign-on tests: registering an application, an
//! `openidconnect` client of the provider, following the authorization as a browser, reading
//! the redirect's query. Shared by the sso crate's tests and the binary's interoperability and
//! security tests (`crates/jiaoyun/tests/it` includes this file by path).

#![allow(dead_code)]

use kernel::{Actor, RequestMeta};
use openidconnect::core::{CoreClient, CoreGenderClaim, CoreProviderMetadata};
use openidconnect::{AdditionalClaims, ClientId, ClientSecret, IssuerUrl, RedirectUrl};
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};
use sso::apps::NewApplication;
use testkit::TestApp;

pub(crate) const REDIRECT: &str = "http://127.0.0.1:9/callback";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Edu {
    pub edu: Option<serde_json::Value>,
}
impl AdditionalClaims for Edu {}

/// Registers an OIDC client at the demo city; returns (client_id, secret).
pub(crate) async fn register(
    app: &TestApp,
    f: impl FnOnce(&mut NewApplication),
) -> (String, Option<String>) {
    let mut a = NewApplication {
        home_url: Some("http://127.0.0.1:9/".into()),
        redirect_uris: vec![REDIRECT.into()],
        trusted: true,
        ..NewApplication::new(testkit::demo_city(app).await, "oidc", "学籍系统")
    };
    f(&mut a);
    let r = sso::apps::register(&app.state, &Actor::system(), &RequestMeta::cli(), a)
        .await
        .unwrap();
    (r.client_id.unwrap(), r.client_secret)
}

/// The status UserInfo answers for this access token.
pub(crate) async fn userinfo_status(app: &TestApp, token: &str) -> StatusCode {
    http()
        .get(app.url("/oidc/userinfo"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
}

pub(crate) fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

type Rp = openidconnect::Client<
    openidconnect::EmptyAdditionalClaims,
    openidconnect::core::CoreAuthDisplay,
    CoreGenderClaim,
    openidconnect::core::CoreJweContentEncryptionAlgorithm,
    openidconnect::core::CoreJsonWebKey,
    openidconnect::core::CoreAuthPrompt,
    openidconnect::StandardErrorResponse<openidconnect::core::CoreErrorResponseType>,
    openidconnect::core::CoreTokenResponse,
    openidconnect::core::CoreTokenIntrospectionResponse,
    openidconnect::core::CoreRevocableToken,
    openidconnect::core::CoreRevocationErrorResponse,
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

pub(crate) async fn relying_party(app: &TestApp, id: &str, secret: Option<String>) -> Rp {
    let meta =
        CoreProviderMetadata::discover_async(IssuerUrl::new(app.base.clone()).unwrap(), &http())
            .await
            .expect("discovery");
    CoreClient::from_provider_metadata(
        meta,
        ClientId::new(id.into()),
        secret.map(ClientSecret::new),
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT.into()).unwrap())
}

/// Follows the authorization URL as the logged-in browser would, up to the application's
/// redirect URI; returns that URL's query parameters.
pub(crate) async fn authorize(browser: &reqwest::Client, url: &str) -> Vec<(String, String)> {
    let r = browser.get(url).send().await.unwrap();
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "authorize redirects: {}",
        r.status()
    );
    let loc = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        loc.starts_with(REDIRECT),
        "back to the application, not {loc}"
    );
    url_query(&loc)
}

pub(crate) fn url_query(url: &str) -> Vec<(String, String)> {
    reqwest::Url::parse(url)
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

pub(crate) fn get<'a>(q: &'a [(String, String)], k: &str) -> Option<&'a str> {
    q.iter().find(|(a, _)| a == k).map(|(_, v)| v.as_str())
}

/// Lets the demo city's applications receive registry numbers, or stops them
/// (`release_registry_no` of the region's login policy).
pub(crate) async fn allow_in_region(app: &TestApp, allow: bool) {
    let city = testkit::demo_city(app).await;
    let mut p = identity::policy::own(&app.state.db, city)
        .await
        .unwrap()
        .unwrap();
    p.release_registry_no = allow;
    let mut tx = app.state.db.begin().await.unwrap();
    identity::policy::save(&mut tx, city, &p, None, app.state.clock.now())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    identity::policy::forget_cached(&app.state);
}

//! Upstream federation against a real upper-level provider: a second Jiaoyun instance (the
//! "city platform"), spoken to as an OpenID Connect provider and as a plain OAuth2 server with a
//! mapped user info, through the full browser redirect dance.

use crate::helpers::{TestApp, audit_count, extract_csrf};
use kernel::{Actor, RequestMeta};
use reqwest::{Client, StatusCode};
use sso::apps::NewApplication;

/// The upper-level platform, addressed as `localhost` so that its cookies and the lower
/// platform's (at 127.0.0.1) do not overwrite each other in one browser.
async fn upper() -> (TestApp, String) {
    let app = TestApp::start_with(|c| {
        c.public_url = c
            .public_url
            .as_ref()
            .map(|u| u.replace("127.0.0.1", "localhost"));
    })
    .await;
    let base = app.base.replace("127.0.0.1", "localhost");
    (app, base)
}

/// Logs the browser in at `base` through the login form.
async fn login_at(browser: &Client, base: &str, username: &str) {
    let page = browser
        .get(format!("{base}/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let r = browser
        .post(format!("{base}/login"))
        .form(&[
            ("username", username),
            ("password", crate::helpers::DEMO_PASSWORD),
            ("csrf", &extract_csrf(&page)),
            ("next", "/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "login at {base}");
}

/// Registers the lower platform at the upper one as an OIDC client; (client_id, secret).
async fn register_lower(upper: &TestApp, lower: &TestApp) -> (String, String) {
    let a = NewApplication {
        redirect_uris: vec![lower.url("/login/upstream/callback")],
        trusted: true,
        // The lower platform links accounts by registry number (its region allows it below).
        release_registry_no: true,
        ..NewApplication::new(
            crate::helpers::demo_city(upper).await,
            "oidc",
            "区教育云平台",
        )
    };
    let r = sso::apps::register(&upper.state, &Actor::system(), &RequestMeta::cli(), a)
        .await
        .unwrap();
    (r.client_id.unwrap(), r.client_secret.unwrap())
}

/// Configures the provider at the lower platform through its admin page; returns its id.
async fn configure(lower: &TestApp, form: &[(&str, &str)]) -> kernel::ProviderId {
    let admin = lower.login("city_admin").await;
    let csrf = lower.csrf(&admin).await;
    let mut f = form.to_vec();
    f.push(("csrf", &csrf));
    let r = admin
        .post(lower.url("/admin/upstream"))
        .form(&f)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "provider saved");
    let (id,): (kernel::ProviderId,) = kernel::on_db!(&lower.state.db, p => sqlx::query_as(
        "SELECT id FROM upstream_providers ORDER BY created_at DESC LIMIT 1").fetch_one(p).await)
    .unwrap();
    id
}

/// Follows redirects by hand (so every hop is checked) until an address on `until`; returns it.
async fn follow(browser: &Client, mut url: String, until: &str) -> String {
    for _ in 0..6 {
        if url.starts_with(until) {
            return url;
        }
        let r = browser.get(&url).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{url} redirects");
        let loc = r.headers()["location"].to_str().unwrap().to_owned();
        url = reqwest::Url::parse(&url)
            .unwrap()
            .join(&loc)
            .unwrap()
            .to_string();
    }
    panic!("no redirect to {until}");
}

/// Goes through the provider and back: returns where the lower platform finally sends the
/// browser (a local path).
async fn through(browser: &Client, lower: &TestApp, provider: kernel::ProviderId) -> String {
    let start = lower.url(&format!("/login/upstream/{provider}?next=/profile"));
    let r = browser.get(&start).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let to_provider = r.headers()["location"].to_str().unwrap().to_owned();
    let callback = follow(browser, to_provider, &lower.url("/login/upstream/callback")).await;
    let r = browser.get(&callback).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "callback redirects");
    r.headers()["location"].to_str().unwrap().to_owned()
}

async fn links(app: &TestApp) -> Vec<(kernel::PersonId, String)> {
    kernel::on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT person_id, subject FROM federated_identities ORDER BY linked_at").fetch_all(p).await)
    .unwrap()
}

async fn set_staff_no(app: &TestApp, username: &str, staff_no: Option<&str>) {
    let person = app.person_id(username).await;
    kernel::on_db!(&app.state.db, p => sqlx::query("UPDATE persons SET staff_no = $2 WHERE id = $1")
        .bind(person).bind(staff_no).execute(p).await.map(|r| r.rows_affected()))
    .unwrap();
}

/// A teacher logs in at the district through the city's OpenID Connect provider: linked on
/// the first login by staff number (audited), by the city's subject afterwards; a person the
/// city knows but the district cannot match is refused with a message, and audited.
#[tokio::test]
async fn federated_login_through_an_openid_connect_provider() {
    let (city, city_base) = upper().await;
    let district = TestApp::start().await;
    let (client_id, secret) = register_lower(&city, &district).await;
    set_staff_no(&city, "teacher", Some("T-20190001")).await;
    set_staff_no(&district, "teacher", Some("T-20190001")).await;
    let provider = configure(
        &district,
        &[
            ("name", "市统一身份认证"),
            ("kind", "oidc"),
            ("issuer", &city_base),
            ("client_id", &client_id),
            ("client_secret", &secret),
            ("token_auth", "client_secret_basic"),
            ("scopes", "openid profile edu"),
            ("subject_claim", "sub"),
            ("link_attribute", "staff_no"),
            ("link_claim", "edu.staff_no"),
            ("name_claim", "name"),
            ("active", "true"),
        ],
    )
    .await;
    // The login page offers it.
    let page = TestApp::client()
        .get(district.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains(&format!("/login/upstream/{provider}")));
    assert!(page.contains("市统一身份认证"));

    let browser = TestApp::client();
    login_at(&browser, &city_base, "teacher").await;
    let landed = through(&browser, &district, provider).await;
    assert_eq!(landed, "/profile", "logged in and sent on");
    let profile = browser.get(district.url("/profile")).send().await.unwrap();
    assert_eq!(profile.status(), StatusCode::OK);
    let profile = profile.text().await.unwrap();
    assert!(
        profile.contains("upstream-links") && profile.contains("市统一身份认证"),
        "the person sees the link on their profile"
    );
    let teacher = district.person_id("teacher").await;
    let city_teacher = city.person_id("teacher").await;
    assert_eq!(
        links(&district).await,
        [(teacher, city_teacher.to_string())],
        "linked to the district's teacher under the city's subject"
    );
    assert_eq!(audit_count(&district, "auth.federation_link").await, 1);
    let (amr,): (Option<String>,) = kernel::on_db!(&district.state.db, p => sqlx::query_as(
        "SELECT amr FROM sessions WHERE person_id = $1").bind(teacher).fetch_one(p).await)
    .unwrap();
    let amr = amr.unwrap_or_default();
    let (upstream,): (Option<String>,) = kernel::on_db!(&district.state.db, p => sqlx::query_as(
        "SELECT detail FROM audit_log WHERE action = 'auth.login' AND actor_id = $1").bind(teacher).fetch_one(p).await).unwrap();
    assert_eq!(amr, "fed");
    assert!(upstream.unwrap_or_default().contains("市统一身份认证"));

    // The second time the link is followed, even after the staff number changed here.
    set_staff_no(&district, "teacher", Some("T-NEW")).await;
    let browser2 = TestApp::client();
    login_at(&browser2, &city_base, "teacher").await;
    assert_eq!(through(&browser2, &district, provider).await, "/profile");
    assert_eq!(audit_count(&district, "auth.federation_link").await, 1);

    // A guardian has no staff number: no match, a message, an audit entry, no session.
    let browser3 = TestApp::client();
    login_at(&browser3, &city_base, "guardian").await;
    let landed = through(&browser3, &district, provider).await;
    assert_eq!(landed, "/login?upstream_error=no_match");
    let page = browser3
        .get(district.url(&landed))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("未能对应到本平台的人员"),
        "the refusal is explained"
    );
    let r = browser3.get(district.url("/profile")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "no session");
    let (n,): (i64,) = kernel::on_db!(&district.state.db, p => sqlx::query_as(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'auth.login_failed' AND detail LIKE '%upstream_no_match%'")
        .fetch_one(p).await).unwrap();
    assert_eq!(n, 1);
    city.stop().await;
    district.stop().await;
}

/// The national hub's style: plain OAuth2, client_secret_post, and the person found by a
/// dotted path into the user info (registry number for a student).
#[tokio::test]
async fn federated_login_through_plain_oauth2_with_mapped_user_info() {
    let (hub, hub_base) = upper().await;
    let district = TestApp::start().await;
    let (client_id, secret) = register_lower(&hub, &district).await;
    crate::oidc_client::allow_in_region(&hub, true).await;
    let student = district.person_id("student").await;
    let (registry_no,): (String,) = kernel::on_db!(&district.state.db, p => sqlx::query_as(
        "SELECT registry_no FROM persons WHERE id = $1").bind(student).fetch_one(p).await)
    .unwrap();
    let hub_student = hub.person_id("student").await;
    kernel::on_db!(&hub.state.db, p => sqlx::query("UPDATE persons SET registry_no = $2 WHERE id = $1")
        .bind(hub_student).bind(&registry_no).execute(p).await.map(|r| r.rows_affected())).unwrap();
    let provider = configure(
        &district,
        &[
            ("name", "国家智慧教育平台"),
            ("kind", "oauth2"),
            ("authorize_url", &format!("{hub_base}/oidc/authorize")),
            ("token_url", &format!("{hub_base}/oidc/token")),
            ("userinfo_url", &format!("{hub_base}/oidc/userinfo")),
            ("client_id", &client_id),
            ("client_secret", &secret),
            ("token_auth", "client_secret_post"),
            ("scopes", "openid edu"),
            ("subject_claim", "sub"),
            ("link_attribute", "registry_no"),
            ("link_claim", "edu.registry_no"),
            ("active", "true"),
        ],
    )
    .await;
    let browser = TestApp::client();
    login_at(&browser, &hub_base, "student").await;
    assert_eq!(through(&browser, &district, provider).await, "/profile");
    assert_eq!(links(&district).await, [(student, hub_student.to_string())]);

    // The state is single use and bound to the browser: a replayed or foreign callback is
    // refused without a login.
    let browser2 = TestApp::client();
    login_at(&browser2, &hub_base, "student").await;
    let start = district.url(&format!("/login/upstream/{provider}"));
    let r = browser2.get(&start).send().await.unwrap();
    let to_hub = r.headers()["location"].to_str().unwrap().to_owned();
    let callback = follow(&browser2, to_hub, &district.url("/login/upstream/callback")).await;
    let stranger = TestApp::client();
    let r = stranger.get(&callback).send().await.unwrap();
    assert_eq!(
        r.headers()["location"].to_str().unwrap(),
        "/login?upstream_error=expired",
        "a callback in another browser is refused"
    );
    let r = browser2.get(&callback).send().await.unwrap();
    assert_eq!(r.headers()["location"].to_str().unwrap(), "/");
    let r = browser2.get(&callback).send().await.unwrap();
    assert_eq!(
        r.headers()["location"].to_str().unwrap(),
        "/login?upstream_error=expired",
        "a replayed callback is refused"
    );
    hub.stop().await;
    district.stop().await;
}

/// Configuration is checked field by field and kept to the administrators of the provider's
/// node; the secret is never shown again.
#[tokio::test]
async fn provider_configuration_is_validated_and_scoped() {
    let app = TestApp::start().await;
    let admin = app.login("city_admin").await;
    let csrf = app.csrf(&admin).await;
    let r = admin
        .post(app.url("/admin/upstream"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("name", "上级"),
            ("kind", "oidc"),
            ("issuer", "http://idp.example.com"),
            ("client_id", "x"),
            ("client_secret", ""),
            ("token_auth", "client_secret_basic"),
            ("scopes", "openid"),
            ("subject_claim", "sub"),
            ("link_attribute", "passport"),
            ("link_claim", "data..id"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = r.text().await.unwrap();
    for expected in [
        "签发方地址",
        "client_secret",
        "关联属性",
        "关联属性对应的字段",
    ] {
        assert!(page.contains(expected), "names {expected}: {page}");
    }
    let provider = configure(
        &app,
        &[
            ("name", "市统一身份认证"),
            ("kind", "oidc"),
            ("issuer", "https://idp.example.com"),
            ("client_id", "jy-district"),
            ("client_secret", "s3cret-value-never-shown"),
            ("token_auth", "client_secret_basic"),
            ("scopes", "openid profile"),
            ("subject_claim", "sub"),
            ("link_attribute", "id_number"),
            ("link_claim", "id_card"),
            ("active", "true"),
        ],
    )
    .await;
    let page = admin
        .get(app.url(&format!("/admin/upstream/{provider}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("jy-district"));
    assert!(
        !page.contains("s3cret-value-never-shown"),
        "secret not shown"
    );
    let (n,): (i64,) = kernel::on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT COUNT(*) FROM audit_log WHERE detail LIKE '%s3cret%'").fetch_one(p).await)
    .unwrap();
    assert_eq!(n, 0, "secret not in the audit log");
    assert_eq!(audit_count(&app, "sso.upstream_create").await, 1);
    // A school administrator neither sees nor changes the city's provider.
    let school = app.login("school_admin").await;
    let r = school
        .get(app.url(&format!("/admin/upstream/{provider}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let csrf = app.csrf(&school).await;
    let r = school
        .post(app.url(&format!("/admin/upstream/{provider}")))
        .form(&[("csrf", csrf.as_str()), ("name", "改名"), ("kind", "oidc")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    // A teacher has no page at all.
    let teacher = app.login("teacher").await;
    let r = teacher
        .get(app.url("/admin/upstream"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    app.stop().await;
}

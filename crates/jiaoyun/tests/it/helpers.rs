//! `TestApp`: the whole platform (`jiaoyun::server`, every module's routes, middleware and
//! runners) on a random port over a migrated database with the demo region and library, and
//! clients that log in through the login form like a person would (see the `testkit` crate).

use reqwest::{Client, StatusCode};
pub use testkit::{DEMO_PASSWORD, audit_count, demo_city, extract_csrf, node_by_code};

const SETUP: testkit::Setup = testkit::Setup {
    schemas: jiaoyun::SCHEMAS,
    demo: |state| {
        Box::pin(async move {
            assert!(
                directory::demo::load(&state).await.expect("demo load"),
                "demo region loaded into an empty database"
            );
            resources::demo::load(&state).await.expect("demo library");
        })
    },
    serve: |listener, state, shutdown| {
        Box::pin(jiaoyun::server::serve_on(listener, state, shutdown))
    },
};

testkit::app!(SETUP);

/// A stand-in for an application's back end that records what the platform POSTs to it
/// (back-channel logout tokens, CAS logout requests), on a random local port.
pub struct Receiver {
    pub base: String,
    pub posts: Posts,
}

/// Each POST: its path and form fields.
pub type Posts = std::sync::Arc<std::sync::Mutex<Vec<(String, Vec<(String, String)>)>>>;

impl Receiver {
    pub async fn start() -> Receiver {
        use axum::extract::{Form, OriginalUri};
        let posts: Posts = Default::default();
        let p = posts.clone();
        let app = axum::Router::new().fallback(
            move |OriginalUri(uri): OriginalUri, Form(form): Form<Vec<(String, String)>>| {
                let p = p.clone();
                async move {
                    p.lock().unwrap().push((uri.path().to_owned(), form));
                    "ok"
                }
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Receiver { base, posts }
    }

    /// Waits (up to 15 s: the platform sweeps every few seconds) for a POST to `path`.
    pub async fn wait_for(&self, path: &str) -> Vec<(String, String)> {
        for _ in 0..150 {
            if let Some((_, f)) = self.posts.lock().unwrap().iter().find(|(p, _)| p == path) {
                return f.clone();
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("nothing was posted to {path}");
    }
}

/// Logs a browser out of the portal through the logout form (with the browser's cookies).
pub async fn portal_logout(app: &TestApp, browser: &Client) {
    let csrf = app.csrf(browser).await;
    let r = browser
        .post(app.url("/logout"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    // A client that follows redirects ends at the login page.
    assert!(
        r.status() == StatusCode::SEE_OTHER || r.url().path() == "/login",
        "logged out: {} at {}",
        r.status(),
        r.url()
    );
}

/// Imports the sample generator's students `range` (with their guardians) into a school
/// through the job, as the command line does: the server's runner checks, then the commit.
pub async fn import_sample(
    app: &TestApp,
    school: kernel::NodeId,
    range: std::ops::Range<u64>,
    partial: bool,
) {
    use directory::import::{jobs, sample};
    let actor = kernel::Actor::system();
    let meta = kernel::RequestMeta::cli();
    let cx = kernel::Ctx::new(&app.state, &actor, &meta);
    let p = std::env::temp_dir().join(format!("jy-sample-{}.csv", uuid::Uuid::now_v7()));
    sample::write_csv(&p, range, false, None).unwrap();
    let j = jobs::create(&cx, school, "students.csv", &p, kernel::Locale::ZhCn)
        .await
        .unwrap();
    crate::imports::settled(&app.state, j.id).await;
    jobs::commit(&cx, j.id, partial).await.unwrap();
    assert_eq!(
        crate::imports::settled(&app.state, j.id).await.status,
        "done"
    );
}

//! `TestApp`: a migrated database with the demo region, the server on a random port, and
//! clients that log in through the login form like a person would.

use kernel::testing::{TestDb, test_db};
use kernel::{AppState, Clock, Config};
use reqwest::{Client, StatusCode};

pub struct TestApp {
    pub base: String,
    pub state: AppState,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<kernel::AppResult<()>>>,
    db: Option<TestDb>,
}

pub const DEMO_PASSWORD: &str = directory::demo::DEMO_PASSWORD;

impl TestApp {
    pub async fn start() -> TestApp {
        Self::start_with(|_| {}).await
    }

    /// A server whose config the test adjusts first.
    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
        Self::start_on_clock(adjust, Clock::System).await
    }

    /// A server whose clock stands at the present until the test moves it with
    /// `app.state.clock.advance(…)` (the server shares the clock).
    pub async fn start_with_fixed_clock() -> TestApp {
        Self::start_on_clock(|_| {}, Clock::fixed(chrono::Utc::now())).await
    }

    async fn start_on_clock(adjust: impl FnOnce(&mut Config), clock: Clock) -> TestApp {
        let db = test_db().await.expect("test database");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        // Cheap hashing in tests; the parameters are checked separately.
        let config = Config {
            database_url: db.url.clone(),
            data_dir: std::env::temp_dir().join(format!("jy-data-{}", uuid::Uuid::now_v7())),
            public_url: Some(format!("http://{addr}")),
            demo: true,
            password: kernel::config::PasswordConfig {
                memory_kib: 1024,
                iterations: 1,
                parallelism: 1,
            },
            ..Default::default()
        };
        let mut config = config;
        adjust(&mut config);
        let state = AppState::new(db.db.clone(), config, clock);
        assert!(
            directory::demo::load(&state).await.expect("demo load"),
            "demo region loaded into an empty database"
        );
        resources::demo::load(&state).await.expect("demo library");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(jiaoyun::server::serve_on(
            listener,
            state.clone(),
            async move {
                let _ = rx.await;
            },
        ));
        TestApp {
            base: format!("http://{addr}"),
            state,
            stop: Some(tx),
            server: Some(server),
            db: Some(db),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn client() -> Client {
        Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client")
    }

    /// A client logged in through the login form.
    pub async fn login(&self, username: &str) -> Client {
        self.login_with(username, DEMO_PASSWORD)
            .await
            .expect("login succeeds")
    }

    pub async fn login_with(&self, username: &str, password: &str) -> Result<Client, StatusCode> {
        let c = Self::client();
        let page = c
            .get(self.url("/login"))
            .send()
            .await
            .expect("login page")
            .text()
            .await
            .expect("text");
        let csrf = extract_csrf(&page);
        let r = c
            .post(self.url("/login"))
            .form(&[
                ("username", username),
                ("password", password),
                ("csrf", csrf.as_str()),
                ("next", "/"),
            ])
            .send()
            .await
            .expect("post login");
        if r.status() == StatusCode::SEE_OTHER {
            Ok(c)
        } else {
            Err(r.status())
        }
    }

    /// The CSRF token of the signed-in client's session (read from any page's forms).
    pub async fn csrf(&self, c: &Client) -> String {
        let page = c
            .get(self.url("/profile"))
            .send()
            .await
            .expect("profile")
            .text()
            .await
            .expect("text");
        extract_csrf(&page)
    }

    /// An API token for a demo account, created through the command line's code path.
    pub async fn token(&self, username: &str) -> String {
        let account = identity::accounts::find_by_username(&self.state.db, username)
            .await
            .expect("query")
            .expect("account");
        let mut tx = self.state.db.begin().await.expect("tx");
        let (_, token) = identity::tokens::create(
            &mut tx,
            account.person_id,
            "test",
            None,
            self.state.clock.now(),
        )
        .await
        .expect("token");
        tx.commit().await.expect("commit");
        token
    }

    pub async fn person_id(&self, username: &str) -> kernel::PersonId {
        identity::accounts::find_by_username(&self.state.db, username)
            .await
            .expect("query")
            .expect("account")
            .person_id
    }

    /// Stops serving as if the machine went away (the task is dropped: no graceful shutdown,
    /// the database stays open), until [`TestApp::resume`].
    pub async fn halt(&mut self) {
        self.stop.take();
        if let Some(h) = self.server.take() {
            h.abort();
            let _ = h.await;
        }
    }

    /// Serves again on the same address and database.
    pub async fn resume(&mut self) {
        let addr = self.base.trim_start_matches("http://").to_owned();
        let listener = tokio::net::TcpListener::bind(&addr)
            .await
            .expect("bind the same address again");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        self.server = Some(tokio::spawn(jiaoyun::server::serve_on(
            listener,
            self.state.clone(),
            async move {
                let _ = rx.await;
            },
        )));
        self.stop = Some(tx);
    }

    pub async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(h) = self.server.take() {
            let _ = h.await;
        }
        if let Some(db) = self.db.take() {
            db.drop_db().await;
        }
    }
}

pub fn extract_csrf(page: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = page
        .find(marker)
        .map(|i| i + marker.len())
        .expect("page has a CSRF field");
    page[start..]
        .split('"')
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// A count of audit entries with this action.
pub async fn audit_count(app: &TestApp, action: &str) -> i64 {
    let (n,): (i64,) = kernel::on_db!(&app.state.db, p => sqlx::query_as("SELECT COUNT(*) FROM audit_log WHERE action = $1")
        .bind(action).fetch_one(p).await).expect("count");
    n
}

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

/// The demo region's city.
pub async fn demo_city(app: &TestApp) -> kernel::NodeId {
    let (id,): (kernel::NodeId,) = kernel::on_db!(&app.state.db, p => sqlx::query_as("SELECT id FROM org_nodes WHERE kind = 'city'")
        .fetch_one(p).await).unwrap();
    id
}

/// The node with this school or division code.
pub async fn node_by_code(app: &TestApp, code: &str) -> kernel::NodeId {
    let (id,): (kernel::NodeId,) = kernel::on_db!(&app.state.db, p => sqlx::query_as("SELECT id FROM org_nodes WHERE code = $1")
        .bind(code).fetch_one(p).await).unwrap();
    id
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

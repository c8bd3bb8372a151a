//! What every crate's integration tests start from: a migrated database with the demo data the
//! crate needs, its routes served inside the platform's shell (the account pages to log in
//! through, the shell's own routes, error pages, body limits) on a random port, and clients
//! that log in through the login form like a person would. SQLite by default; PostgreSQL when
//! `TEST_DATABASE_URL` is set (each test's database is dropped when it stops).
//!
//! A crate's `tests/it/helpers.rs` describes its app once, as a [`Setup`], and wraps
//! [`TestApp`] so its tests read `TestApp::start().await`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod pg;

use axum::Router;
use kernel::testing::{TestDb, test_db};
use kernel::{AppResult, AppState, Clock, Schema};
use reqwest::StatusCode;
use std::future::Future;
use std::pin::Pin;
use tokio::net::TcpListener;

/// A boxed future, as the setup's functions return them.
pub type Boxed<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// How a crate's app is built for its tests.
#[derive(Clone, Copy)]
pub struct Setup {
    /// The tables the app needs (each schema brings what it needs).
    pub schemas: &'static [&'static Schema],
    /// Loads the demo data into the empty database (awaited on the test's own task, so the
    /// future need not be `Send`).
    pub demo: fn(AppState) -> Pin<Box<dyn Future<Output = ()>>>,
    /// Serves the app on the listener until the shutdown future completes: usually
    /// [`serve`] with the crate's routes and background runners.
    pub serve: fn(TcpListener, AppState, Boxed<()>) -> Boxed<AppResult<()>>,
}

/// The demo accounts' password (`directory::demo::DEMO_PASSWORD`; the directory's tests check
/// the two agree).
pub const DEMO_PASSWORD: &str = "Jiaoyun@2025";

pub use kernel::Config;
pub use reqwest::Client;

/// A test's configuration on the database at `database_url`: a fresh data folder, demo mode,
/// and cheap password hashing (the real parameters are checked separately).
pub fn config(database_url: &str) -> Config {
    Config {
        database_url: database_url.to_owned(),
        data_dir: std::env::temp_dir().join(format!("jy-data-{}", uuid::Uuid::now_v7())),
        demo: true,
        password: kernel::config::PasswordConfig {
            memory_kib: 1024,
            iterations: 1,
            parallelism: 1,
        },
        ..Default::default()
    }
}

/// Declares the crate's `TestApp`: [`TestApp`] for the given [`Setup`], started with
/// `TestApp::start()`, `start_with(|config| …)` or `start_with_fixed_clock()`.
#[macro_export]
macro_rules! app {
    ($setup:expr) => {
        /// The crate's app for its tests (see the `testkit` crate).
        pub struct TestApp(pub $crate::TestApp);

        impl ::std::ops::Deref for TestApp {
            type Target = $crate::TestApp;
            fn deref(&self) -> &$crate::TestApp {
                &self.0
            }
        }

        impl ::std::ops::DerefMut for TestApp {
            fn deref_mut(&mut self) -> &mut $crate::TestApp {
                &mut self.0
            }
        }

        #[allow(dead_code)]
        impl TestApp {
            pub async fn start() -> TestApp {
                Self::start_with(|_| {}).await
            }

            /// An app whose config the test adjusts first.
            pub async fn start_with(adjust: impl FnOnce(&mut $crate::Config)) -> TestApp {
                TestApp($crate::TestApp::start($setup, adjust, false).await)
            }

            /// An app whose clock stands at the present until the test moves it with
            /// `app.state.clock.advance(…)` (the server shares the clock).
            pub async fn start_with_fixed_clock() -> TestApp {
                TestApp($crate::TestApp::start($setup, |_| {}, true).await)
            }

            pub fn client() -> $crate::Client {
                $crate::TestApp::client()
            }

            pub async fn stop(self) {
                self.0.stop().await
            }
        }
    };
}

/// Serves `routes` inside the platform's shell (under the body limit), with `uploads` (routes
/// that take files, under their own limits: `web::upload::upload_limit`) and `runners` (the
/// crate's background work) running until the shutdown.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: Boxed<()>,
    routes: Router<AppState>,
    uploads: Router<AppState>,
    runners: Vec<Boxed<()>>,
) -> AppResult<()> {
    let main = Router::new()
        .merge(web::routes())
        .merge(account::routes())
        .merge(routes)
        .fallback(web::errors::not_found);
    let app = web::upload::body_limit(main, state.config.max_body_bytes)
        .merge(uploads)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            web::errors::render_errors,
        ))
        .with_state(state);
    let running: Vec<_> = runners.into_iter().map(tokio::spawn).collect();
    let served = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
    .map_err(kernel::AppError::internal);
    for r in running {
        r.abort();
    }
    served
}

pub struct TestApp {
    pub base: String,
    pub state: AppState,
    setup: Setup,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<AppResult<()>>>,
    db: Option<TestDb>,
}

impl TestApp {
    /// The app of `setup`, with its config adjusted by the test; with `fixed_clock`, on a clock
    /// that stands at the present until the test moves it with `app.state.clock.advance(…)`.
    pub async fn start(
        setup: Setup,
        adjust: impl FnOnce(&mut Config),
        fixed_clock: bool,
    ) -> TestApp {
        let clock = if fixed_clock {
            Clock::fixed(chrono::Utc::now())
        } else {
            Clock::System
        };
        let db = test_db(setup.schemas).await.expect("test database");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let mut config = Config {
            public_url: Some(format!("http://{addr}")),
            ..config(&db.url)
        };
        adjust(&mut config);
        let state = AppState::new(db.db.clone(), config, clock);
        (setup.demo)(state.clone()).await;
        let mut app = TestApp {
            base: format!("http://{addr}"),
            state,
            setup,
            stop: None,
            server: None,
            db: Some(db),
        };
        app.serve_on(listener);
        app
    }

    fn serve_on(&mut self, listener: TcpListener) {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let shutdown: Boxed<()> = Box::pin(async move {
            let _ = rx.await;
        });
        self.server = Some(tokio::spawn((self.setup.serve)(
            listener,
            self.state.clone(),
            shutdown,
        )));
        self.stop = Some(tx);
    }

    /// A second node of the same deployment: its own connection pool to the same database,
    /// its own caches and background runners, on another port, with the same public address
    /// (as two nodes behind one load balancer). Stopping it leaves the database to the first.
    pub async fn another_node(&self) -> TestApp {
        let config = self.state.config.as_ref().clone();
        let db = kernel::Db::connect(&config.database_url, 8)
            .await
            .expect("second node's pool");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let state = AppState::new(db, config, self.state.clock.clone());
        let mut node = TestApp {
            base: format!("http://{addr}"),
            state,
            setup: self.setup,
            stop: None,
            server: None,
            db: None,
        };
        node.serve_on(listener);
        node
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A client that keeps cookies and does not follow redirects.
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

    /// The CSRF token of the signed-in client's session (read from the profile page's forms).
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

    /// Changes the signed-in client's password through the profile form; returns the status
    /// and the page.
    pub async fn change_password(
        &self,
        c: &Client,
        current: &str,
        new: &str,
    ) -> (StatusCode, String) {
        let csrf = self.csrf(c).await;
        let r = c
            .post(self.url("/profile/password"))
            .form(&[
                ("csrf", csrf.as_str()),
                ("current_password", current),
                ("new_password", new),
                ("confirm_password", new),
            ])
            .send()
            .await
            .expect("post the password form");
        (r.status(), r.text().await.expect("text"))
    }

    /// An API token for a demo account, created through the command line's code path.
    pub async fn token(&self, username: &str) -> String {
        let person = self.person_id(username).await;
        let mut tx = self.state.db.begin().await.expect("tx");
        let (_, token) =
            identity::tokens::create(&mut tx, person, "test", None, self.state.clock.now())
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
        let listener = TcpListener::bind(&addr)
            .await
            .expect("bind the same address again");
        self.serve_on(listener);
    }

    /// Stops the server and drops the database.
    pub async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(h) = self.server.take() {
            let _ = h.await;
        }
        match self.db.take() {
            Some(db) => db.drop_db().await,
            // Another node: its own pool closes; the first node drops the database.
            None => self.state.db.close().await,
        }
    }
}

/// The value of the first CSRF field on a page.
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
pub async fn portal_logout(app: &TestApp, browser: &reqwest::Client) {
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

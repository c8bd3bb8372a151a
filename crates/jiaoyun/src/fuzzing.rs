//! The harness behind the fuzz targets in `fuzz/` (cargo fuzz): the real router over the demo
//! region in a temporary SQLite database, with one registered OIDC client and CAS service and a
//! signed-in teacher. Each input becomes one request to the authorization endpoint (as its
//! query), the token endpoint (as its form body) or a CAS endpoint (as its query); the answer
//! must never be a server error, and nothing may panic. `tests/it/fuzz_seeds.rs` runs the seed
//! corpus through the same harness in every test run.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use kernel::{Actor, AppError, AppResult, AppState, Clock, Config, RequestMeta};
use tower::ServiceExt;

/// What an input is fed to.
#[derive(Debug, Clone, Copy)]
pub enum Target {
    /// `GET /oidc/authorize?<input>` with the teacher's session.
    AuthorizeQuery,
    /// `POST /oidc/token` with `<input>` as the form; the first byte chooses whether the
    /// registered client authenticates by HTTP Basic.
    TokenForm,
    /// The first byte chooses a CAS endpoint; the rest is its query.
    Cas,
    /// `POST /library/new` (the resource form, a file inside) with the input as its
    /// multipart body (boundary `FUZZ`; `CSRF_TOKEN` stands for the session's token).
    MultipartUpload,
}

pub struct Harness {
    rt: tokio::runtime::Runtime,
    router: axum::Router,
    cookie: String,
    csrf: String,
    basic: String,
    client_id: String,
    db: Option<kernel::testing::TestDb>,
}

impl Drop for Harness {
    fn drop(&mut self) {
        if let Some(db) = self.db.take() {
            self.rt.block_on(db.drop_db());
        }
    }
}

const CAS_PATHS: [&str; 6] = [
    "/cas/login",
    "/cas/logout",
    "/cas/validate",
    "/cas/serviceValidate",
    "/cas/p3/serviceValidate",
    "/cas/proxyValidate",
];

impl Harness {
    pub fn new() -> AppResult<Self> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(AppError::internal)?;
        let (db, state, cookie, basic, client_id) = rt.block_on(setup())?;
        let csrf = rt.block_on(csrf_of(&state, &cookie))?;
        let router = crate::server::router(state);
        Ok(Self {
            rt,
            router,
            cookie,
            csrf,
            basic,
            client_id,
            db: Some(db),
        })
    }

    /// Sends one input; returns the status. `CLIENT_ID` in the input stands for the registered
    /// client's id, so seeds can reach past the client check.
    pub fn run(&self, target: Target, data: &[u8]) -> StatusCode {
        let data: &[u8] = &replace(data, b"CLIENT_ID", self.client_id.as_bytes());
        let data: &[u8] = &replace(data, b"CSRF_TOKEN", self.csrf.as_bytes());
        let request = match target {
            Target::AuthorizeQuery => Request::get(format!("/oidc/authorize?{}", query(data)))
                .header(header::COOKIE, &self.cookie)
                .body(Body::empty()),
            Target::TokenForm => {
                let (first, rest) = data.split_first().map_or((0, data), |(f, r)| (*f, r));
                let mut b = Request::post("/oidc/token")
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
                if first & 1 == 1 {
                    b = b.header(header::AUTHORIZATION, &self.basic);
                }
                b.body(Body::from(rest.to_vec()))
            }
            Target::Cas => {
                let (first, rest) = data.split_first().map_or((0, data), |(f, r)| (*f, r));
                let path = CAS_PATHS[usize::from(first) % CAS_PATHS.len()];
                Request::get(format!("{path}?{}", query(rest)))
                    .header(header::COOKIE, &self.cookie)
                    .body(Body::empty())
            }
            Target::MultipartUpload => Request::post("/library/new")
                .header(header::COOKIE, &self.cookie)
                .header(header::CONTENT_TYPE, "multipart/form-data; boundary=FUZZ")
                .body(Body::from(data.to_vec())),
        };
        let Ok(request) = request else {
            // Not a request a client could send (the URI did not parse).
            return StatusCode::BAD_REQUEST;
        };
        let router = self.router.clone();
        self.rt.block_on(async move {
            router
                .oneshot(request)
                .await
                .map_or(StatusCode::INTERNAL_SERVER_ERROR, |r| r.status())
        })
    }
}

/// The CSRF token of the harness's session.
async fn csrf_of(state: &AppState, cookie: &str) -> AppResult<String> {
    let token = cookie.split_once('=').map_or("", |(_, t)| t);
    let row: (String,) = kernel::on_db!(&state.db, c => sqlx::query_as(
        "SELECT csrf_token FROM sessions WHERE token_hash = $1",
    ).bind(kernel::secret::token_hash(token)).fetch_one(c).await)?;
    Ok(row.0)
}

/// The spreadsheet readers on any bytes: written to a file, read row by row by `sheets`
/// (CSV in any encoding, XLSX, XLS, as sniffed) and checked as a student file. Errors are
/// answers; only a panic (or a hang) is a finding. Returns the rows read.
pub fn spreadsheet(data: &[u8]) -> usize {
    thread_local! {
        static PATH: std::path::PathBuf = std::env::temp_dir().join(format!(
            "jy-fuzz-sheet-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
    }
    PATH.with(|p| {
        if std::fs::write(p, data).is_err() {
            return 0;
        }
        let mut rows = 0;
        let _ = sheets::for_each_row(p, |_| {
            rows += 1;
            std::ops::ControlFlow::Continue(())
        });
        let _ = directory::import::student_file::check_file(p, 100);
        let _ = std::fs::remove_file(p);
        rows
    })
}

/// The CAS service matcher on any bytes: `prefix\nservice`. Whatever it accepts must hold
/// together: a matched service parses, has the prefix's host, and no dot segment or userinfo.
pub fn cas_service(data: &[u8]) -> bool {
    let text = String::from_utf8_lossy(data);
    let (prefix, service) = text.split_once('\n').unwrap_or((&text, ""));
    let matched = sso::service_url::matches(prefix, service);
    if matched {
        let p = url::Url::parse(prefix).ok();
        let s = url::Url::parse(service).ok();
        let same_host = matches!((&p, &s), (Some(p), Some(s)) if p.host_str() == s.host_str());
        let clean = !service.contains("/../")
            && !service.contains('\\')
            && s.as_ref().is_some_and(|s| s.username().is_empty());
        if !(same_host && clean) {
            return false;
        }
    }
    true
}

fn replace(data: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut i = 0;
    while i < data.len() {
        if data[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(data[i]);
            i += 1;
        }
    }
    out
}

/// The input as a query string: bytes a URI may not hold are percent-encoded, the rest (`&`,
/// `=`, `%` and all) kept so the parser sees malformed escapes too.
fn query(data: &[u8]) -> String {
    data.iter()
        .map(|&b| {
            if b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/?%".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

async fn setup() -> AppResult<(kernel::testing::TestDb, AppState, String, String, String)> {
    let db = kernel::testing::fresh_db(None, "jy_fuzz", crate::SCHEMAS).await?;
    let config = Config {
        database_url: db.url.clone(),
        public_url: Some("http://127.0.0.1:9".into()),
        password: kernel::config::PasswordConfig {
            memory_kib: 1024,
            iterations: 1,
            parallelism: 1,
        },
        ..Default::default()
    };
    let state = AppState::new(db.db.clone(), config, Clock::System);
    directory::demo::load(&state).await?;
    let city: (kernel::NodeId,) = kernel::on_db!(&state.db, c => sqlx::query_as("SELECT id FROM org_nodes WHERE kind = 'city'")
        .fetch_one(c).await)?;
    let meta = RequestMeta::cli();
    let new = |protocol: &str| sso::apps::NewApplication {
        redirect_uris: vec!["http://127.0.0.1:9/callback".into()],
        grant_types: vec![
            "authorization_code".into(),
            "refresh_token".into(),
            "client_credentials".into(),
        ],
        service_prefix: Some("http://127.0.0.1:9/app/".into()),
        trusted: true,
        ..sso::apps::NewApplication::new(city.0, protocol, &format!("fuzz {protocol}"))
    };
    let oidc = sso::apps::register(&state, &Actor::system(), &meta, new("oidc")).await?;
    sso::apps::register(&state, &Actor::system(), &meta, new("cas")).await?;
    let client_id = oidc.client_id.unwrap_or_default();
    let basic = {
        use base64::Engine;
        let pair = format!("{client_id}:{}", oidc.client_secret.unwrap_or_default());
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(pair)
        )
    };
    let teacher = identity::accounts::find_by_username(&state.db, "teacher")
        .await?
        .ok_or_else(|| AppError::internal("demo teacher missing"))?
        .person_id;
    let mut tx = state.db.begin().await?;
    let (_, token) = identity::sessions::create(
        &mut tx,
        identity::sessions::Limits::from_config(&state.config),
        teacher,
        "pwd",
        &meta,
        state.clock.now(),
    )
    .await?;
    tx.commit().await?;
    let cookie = format!("{}={token}", web::auth::SESSION_COOKIE);
    Ok((db, state, cookie, basic, client_id))
}

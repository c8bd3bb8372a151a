//! Assembles the router and its middleware, and runs the server with graceful shutdown and the
//! in-process maintenance job.

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use kernel::config::LogFormat;
use kernel::{AppResult, AppState, Config};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::compression::predicate::{DefaultPredicate, NotForContentType, Predicate};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};

pub fn init_tracing(config: &Config) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_new(&config.log_level).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let _ = match config.log_format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

fn prometheus() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(
                metrics_exporter_prometheus::Matcher::Full("http_request_duration_seconds".into()),
                &[
                    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
                ],
            )
            .unwrap_or_else(|_| PrometheusBuilder::new());
        match builder.install_recorder() {
            Ok(h) => h,
            // A recorder is already installed (another server in this process): render an empty one.
            Err(_) => PrometheusBuilder::new().build_recorder().handle(),
        }
    })
}

/// With a read replica: a request's reads may go to it only when it is a GET or HEAD and the
/// replica has replayed the browser's last write (the `jy_lsn` cookie); every write answers
/// with the primary's WAL position after it ([`kernel::replica`]).
async fn read_scope(State(state): State<AppState>, req: Request, next: Next) -> Response {
    use kernel::replica::{COOKIE, ReadScope};
    let read_only = matches!(
        *req.method(),
        axum::http::Method::GET | axum::http::Method::HEAD
    );
    let after = req
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().strip_prefix(COOKIE)?.strip_prefix('='))
        .find_map(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    let mut response = kernel::replica::scope(ReadScope { read_only, after }, next.run(req)).await;
    let status = response.status();
    if !read_only && (status.is_success() || status.is_redirection()) {
        match kernel::replica::primary_lsn(&state.db).await {
            Ok(lsn) => {
                // Once the lag bound has passed, any replica in use has replayed the write.
                let max_age = state.config.database_replica_max_lag_seconds + 1;
                let secure = if state.config.https() { "; Secure" } else { "" };
                if let Ok(v) = HeaderValue::from_str(&format!(
                    "{COOKIE}={lsn}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}"
                )) {
                    response.headers_mut().append(header::SET_COOKIE, v);
                }
            }
            Err(e) => tracing::warn!(error = %e, "the primary's WAL position was not read"),
        }
    }
    response
}

async fn track_metrics(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".into());
    let method = req.method().to_string();
    let start = Instant::now();
    let res = next.run(req).await;
    let status = res.status().as_u16().to_string();
    metrics::counter!("http_requests_total", "route" => route.clone(), "method" => method.clone(), "status" => status).increment(1);
    metrics::histogram!("http_request_duration_seconds", "route" => route, "method" => method)
        .record(start.elapsed().as_secs_f64());
    res
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(state): State<AppState>) -> Response {
    match state.db.ping().await {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        // Only the status: what failed is in the log, not for whoever asks.
        Err(e) => {
            tracing::error!(error = %e, "readiness: database unreachable");
            (StatusCode::SERVICE_UNAVAILABLE, "not ready").into_response()
        }
    }
}

/// `/metrics` on the public address: only with the configured bearer token (a scraper's), and
/// as if it did not exist when none is configured.
async fn metrics_endpoint(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
) -> Response {
    let Some(token) = &state.config.metrics_token else {
        return kernel::AppError::NotFound("not_found").into_response();
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if !given.is_some_and(|g| kernel::secret::constant_time_eq(g, token.expose())) {
        return kernel::AppError::Unauthenticated.into_response();
    }
    metrics_text(State(state)).await
}

/// The metrics themselves, also served without a token on `metrics_listen` alone.
async fn metrics_text(State(state): State<AppState>) -> Response {
    let (size, idle) = state.db.pool_stats();
    metrics::gauge!("db_pool_connections", "backend" => state.db.backend()).set(f64::from(size));
    metrics::gauge!("db_pool_idle_connections", "backend" => state.db.backend()).set(idle as f64);
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        prometheus().render(),
    )
        .into_response()
}

/// The whole application: every module's routes, the operational endpoints and the middleware.
/// The whole API's OpenAPI document: every crate's operations.
pub fn api_doc() -> utoipa::openapi::OpenApi {
    use utoipa::OpenApi;
    let mut doc = PlatformApi::openapi();
    doc.merge(directory::api_doc());
    doc.merge(sso::api::ApiDoc::openapi());
    doc.merge(resources::api_doc());
    doc.merge(spaces::api_doc());
    doc
}

/// The API's title, description and bearer authentication; the operations come from the crates.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(title = "Jiaoyun API", version = "1", description = "The organisation tree, people, roles, terms, rosters and the audit log. Authenticate with `Authorization: Bearer jy_…` (create a token with `jiaoyun admin create-token`). Errors: `{\"error\": {\"code\", \"message\", \"fields\"}}`; unknown or foreign ids give 404."),
    modifiers(&BearerAuth),
    security(("bearer" = []))
)]
struct PlatformApi;

struct BearerAuth;
impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme(
                "bearer",
                SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
            );
    }
}

/// A readable list of the API's operations, rendered on the server (no JavaScript needed). The
/// server serves it at `/api/docs` for the whole API (every crate's document merged).
fn docs_page(doc: &utoipa::openapi::OpenApi) -> axum::response::Response {
    use axum::response::{Html, IntoResponse};
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    let mut html = String::from(
        "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\"><title>Jiaoyun API</title><link rel=\"stylesheet\" href=\"/static/app.css\"><main>",
    );
    html.push_str(&format!(
        "<h1>{}</h1><p>{}</p><p><a href=\"/api/v1/openapi.json\">openapi.json</a></p>",
        esc(&doc.info.title),
        esc(doc.info.description.as_deref().unwrap_or(""))
    ));
    html.push_str(
        "<table><thead><tr><th>Method</th><th>Path</th><th>Summary</th></tr></thead><tbody>",
    );
    for (path, item) in doc.paths.paths.iter() {
        let ops = [
            ("GET", &item.get),
            ("POST", &item.post),
            ("PUT", &item.put),
            ("PATCH", &item.patch),
            ("DELETE", &item.delete),
        ];
        for (method, op) in ops {
            if let Some(op) = op {
                let summary = op
                    .summary
                    .clone()
                    .or_else(|| op.description.clone())
                    .unwrap_or_default();
                html.push_str(&format!(
                    "<tr><td><code>{method}</code></td><td><code>{}</code></td><td>{}</td></tr>",
                    esc(path),
                    esc(&summary)
                ));
            }
        }
    }
    html.push_str("</tbody></table></main></html>");
    Html(html).into_response()
}

async fn openapi_json() -> axum::Json<utoipa::openapi::OpenApi> {
    axum::Json(api_doc())
}

async fn api_docs() -> axum::response::Response {
    docs_page(&api_doc())
}

/// The router of `metrics_listen`: `/metrics` and nothing else.
pub fn metrics_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(metrics_text))
        .with_state(state)
}

pub fn router(state: AppState) -> Router {
    let _ = prometheus();
    state
        .cache::<web::panels::HomePanels>()
        .register(spaces::home_panel);
    state
        .cache::<web::panels::HomePanels>()
        .register(resources::recommend::pages::home_panel);
    // The audit log names other modules' objects through what they declare.
    let names = state.cache::<kernel::audit::names::ObjectNames>();
    names.register(resources::AUDIT_NAMES);
    names.register(sso::AUDIT_NAMES);
    names.register(spaces::AUDIT_NAMES);
    names.register(teaching::AUDIT_NAMES);
    let timeout = Duration::from_secs(state.config.request_timeout_seconds);
    let body_limit_bytes = state.config.max_body_bytes;
    let x_request_id = HeaderName::from_static("x-request-id");
    let header = |name: &'static str, value: &'static str| {
        SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        )
    };
    let main = Router::new()
        .merge(web::routes())
        .merge(account::routes())
        .merge(directory::routes())
        .merge(sso::routes())
        .merge(resources::routes())
        .merge(spaces::routes())
        .merge(teaching::routes())
        .route("/api/v1/openapi.json", get(openapi_json))
        .route("/api/docs", get(api_docs))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_endpoint))
        .fallback(web::errors::not_found);
    web::upload::body_limit(main, body_limit_bytes)
        // Spreadsheet uploads have their own, larger limit; the forms stream to disk, so the
        // extractors' own 2 MiB default must not apply.
        .merge(web::upload::upload_limit(directory::upload_routes(), state.config.max_upload_bytes))
        // Files for the resource library: chunks and whole files up to the file limit.
        .merge(web::upload::upload_limit(
            resources::upload_routes(),
            usize::try_from(state.config.files.max_file_bytes).unwrap_or(usize::MAX),
        ))
        // The knowledge points' spreadsheet import.
        .merge(web::upload::upload_limit(teaching::upload_routes(), state.config.max_upload_bytes))
        // Notices and messages with attachments, photos in posts.
        .merge(web::upload::upload_limit(
            spaces::upload_routes(),
            spaces::attachments::UPLOAD_LIMIT,
        ))
        // Pushes from lower instances have theirs.
        .merge(web::upload::upload_limit(
            directory::exchange::push_routes(),
            state.config.exchange.max_push_bytes,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            web::errors::render_errors,
        ))
        .layer(tower::util::option_layer(state.replica.is_some().then(|| {
            middleware::from_fn_with_state(state.clone(), read_scope)
        })))
        .layer(header("x-frame-options", "DENY"))
        .layer(header(
            "permissions-policy",
            "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()",
        ))
        // Over HTTPS (the public URL says so) browsers are told to never use plain HTTP again.
        .layer(tower::util::option_layer(state.config.https().then(|| {
            header("strict-transport-security", "max-age=31536000; includeSubDomains")
        })))
        // No form-action: browsers apply it to the redirects after a form, and the login and
        // consent forms end at a connected application's address. Icons of connected
        // applications may come from their own sites.
        .layer(header("content-security-policy", "default-src 'self'; img-src 'self' data: https:; style-src 'self'; frame-ancestors 'none'; base-uri 'none'"))
        .layer(header("x-content-type-options", "nosniff"))
        .layer(header("referrer-policy", "same-origin"))
        .layer(header("cache-control", "no-store"))
        // Media, PDFs and Office files are compressed already, and range requests for them
        // must see their bytes as stored.
        .layer(CompressionLayer::new().compress_when(
            DefaultPredicate::new()
                .and(NotForContentType::const_new("video/"))
                .and(NotForContentType::const_new("audio/"))
                .and(NotForContentType::const_new("application/pdf"))
                .and(NotForContentType::const_new("application/vnd."))
                .and(NotForContentType::const_new("application/octet-stream"))
                .and(NotForContentType::const_new("application/zip")),
        ))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, timeout))
        .layer(middleware::from_fn(track_metrics))
        .layer(CatchPanicLayer::new())
        .layer(PropagateRequestIdLayer::new(x_request_id.clone()))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request| {
                    let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("");
                    tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
                })
                // One line per request at INFO: status and latency, inside the span with the request id.
                .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
        )
        .layer(SetRequestIdLayer::new(x_request_id, MakeRequestUuid))
        .with_state(state)
}

/// The state with its read replica when `database_replica_url` is set.
pub fn with_replica(state: AppState) -> AppResult<AppState> {
    let Some(url) = state.config.database_replica_url.clone() else {
        return Ok(state);
    };
    let replica = kernel::replica::Replica::connect(
        url.expose(),
        state.config.database_max_connections,
        Duration::from_secs(state.config.database_replica_max_lag_seconds.max(1)),
    )?;
    tracing::info!("reads that tolerate lag go to the replica while it keeps up");
    Ok(state.with_replica(replica))
}

/// Runs the server until SIGTERM or Ctrl-C, finishing requests in flight.
pub async fn serve(state: AppState) -> AppResult<()> {
    // A notification channel configured wrongly stops the start, not the first delivery.
    channels::Adapters::from_config(&state.config).map_err(kernel::AppError::internal)?;
    let listener = TcpListener::bind(&state.config.listen)
        .await
        .map_err(kernel::AppError::internal)?;
    let addr = listener.local_addr().map_err(kernel::AppError::internal)?;
    println!(
        "Jiaoyun (教云) is running at http://{addr} on {}",
        state.db.backend()
    );
    if state.config.demo {
        crate::admin::print_demo_accounts();
    }
    tokio::spawn(maintenance(state.clone()));
    serve_on(listener, state, shutdown_signal()).await
}

pub async fn serve_on(
    listener: TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> AppResult<()> {
    let db = state.db.clone();
    let logout = tokio::spawn(sso::runner(state.clone()));
    let imports = tokio::spawn(directory::import::jobs::runner(state.clone()));
    let exchange = tokio::spawn(directory::exchange::push::runner(state.clone()));
    let library = tokio::spawn(resources::runner(state.clone()));
    let home_school = tokio::spawn(spaces::runner(state.clone()));
    let teaching = tokio::spawn(teaching::runner(state.clone()));
    let outbox = tokio::spawn(channels::runner(state.clone()));
    let replica = tokio::spawn(kernel::replica::Replica::run(state.clone()));
    // The histograms keep every sample until upkeep folds them in: without it a node that is
    // never scraped grows by each request's latency.
    let upkeep = tokio::spawn(async {
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        loop {
            tick.tick().await;
            prometheus().run_upkeep();
            crate::memory::publish();
        }
    });
    let chainer = tokio::spawn(crate::audit::chainer(state.clone()));
    let metrics = match state.config.metrics_listen.clone() {
        Some(addr) => {
            let l = TcpListener::bind(&addr)
                .await
                .map_err(kernel::AppError::internal)?;
            tracing::info!(%addr, "metrics on their own address");
            let router = metrics_router(state.clone());
            Some(tokio::spawn(async move { axum::serve(l, router).await }))
        }
        None => None,
    };
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(kernel::AppError::internal);
    logout.abort();
    imports.abort();
    exchange.abort();
    library.abort();
    home_school.abort();
    teaching.abort();
    outbox.abort();
    replica.abort();
    upkeep.abort();
    chainer.abort();
    if let Some(m) = metrics {
        m.abort();
    }
    served?;
    db.close().await;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down: finishing requests in flight");
}

/// Hourly: purge audit entries past retention, long-ended sessions and expired SSO codes and
/// tokens; rotate signing keys when due.
async fn maintenance(state: AppState) {
    let mut tick = tokio::time::interval(Duration::from_secs(3600));
    loop {
        tick.tick().await;
        run_maintenance(&state).await;
    }
}

pub async fn run_maintenance(state: &AppState) {
    let now = state.clock.now();
    let jobs: [(&str, AppResult<u64>); 7] = [
        ("audit_anchor", crate::audit::daily_anchor(state).await),
        ("audit_retention", crate::audit::archive_due(state).await),
        (
            "session_cleanup",
            identity::sessions::purge_ended(&state.db, now - chrono::Duration::days(30)).await,
        ),
        ("sso_maintenance", sso::maintain(state).await),
        (
            "login_throttle_cleanup",
            identity::throttle::purge(&state.db, now).await,
        ),
        (
            "login_challenge_cleanup",
            identity::mfa::purge_challenges(&state.db, now).await,
        ),
        (
            "message_retention",
            spaces::messages::retention::purge(state, now).await,
        ),
    ];
    for (job, result) in jobs {
        metrics::counter!("background_job_runs_total", "job" => job).increment(1);
        match result {
            Ok(n) => {
                metrics::counter!("background_job_rows_total", "job" => job).increment(n);
                tracing::info!(job, rows = n, "maintenance done");
            }
            Err(e) => {
                metrics::counter!("background_job_failures_total", "job" => job).increment(1);
                tracing::error!(job, error = %e, "maintenance failed");
            }
        }
    }
}

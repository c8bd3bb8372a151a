//! Single sign-on (统一认证): the OpenID Connect provider, the CAS server, the connected
//! applications and the portal that lists them. Accounts, passwords and sessions live in the
//! `identity` crate; this crate turns a portal session into logins at other applications.

pub mod api;
pub mod apps;
pub mod cas;
pub mod claims;
pub mod keys;
pub mod logout;
pub mod oidc;
pub mod pages;
pub mod service_url;
pub mod tokens;
pub mod upstream;

use axum::Router;
use axum::routing::{get, post};
use kernel::{AppResult, AppState, on_db};

pub fn routes() -> Router<AppState> {
    use oidc::*;
    Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(discovery::configuration),
        )
        .route("/oidc/jwks", get(discovery::jwks))
        .route("/portal", get(pages::portal))
        .route("/admin/apps", get(pages::list).post(pages::create))
        .route("/admin/apps/{id}", get(pages::edit).post(pages::save))
        .route("/admin/apps/{id}/active", post(pages::set_active))
        .route("/admin/apps/{id}/secret", post(pages::secret))
        .route("/oidc/authorize", get(authorize::get).post(authorize::post))
        .route("/oidc/consent", post(consent::submit))
        .route("/oidc/token", post(token::token))
        .route("/oidc/userinfo", get(userinfo::get).post(userinfo::post))
        .route("/oidc/revoke", post(revoke::revoke))
        .route("/oidc/introspect", post(revoke::introspect))
        .route("/oidc/logout", get(logout::get).post(logout::post))
        .route("/cas/login", get(crate::cas::login))
        .route("/cas/logout", get(crate::cas::logout))
        .route("/cas/validate", get(crate::cas::validate))
        .route("/cas/serviceValidate", get(crate::cas::service_validate))
        .route("/cas/proxyValidate", get(crate::cas::service_validate))
        .route("/cas/p3/serviceValidate", get(crate::cas::service_validate))
        .route("/cas/p3/proxyValidate", get(crate::cas::service_validate))
        .route("/login/upstream/callback", get(upstream::callback))
        .route("/login/upstream/{id}", get(upstream::start))
        .route(
            "/admin/upstream",
            get(upstream::list).post(upstream::create_form),
        )
        .route(
            "/admin/upstream/{id}",
            get(upstream::edit).post(upstream::save),
        )
        .merge(api::routes())
}

/// Hourly upkeep: rotates signing keys when due, and deletes codes, refresh tokens and
/// revocation entries that can no longer be used. Returns the rows changed.
pub async fn maintain(state: &AppState) -> AppResult<u64> {
    let now = state.clock.now();
    let mut n = keys::maintain(state).await? + upstream::maintain(state).await?;
    for sql in [
        "DELETE FROM oauth_codes WHERE expires_at < $1",
        "DELETE FROM oauth_refresh_tokens WHERE expires_at < $1",
        "DELETE FROM oauth_revoked_tokens WHERE expires_at < $1",
    ] {
        n += on_db!(&state.db, p => sqlx::query(sql).bind(now).execute(p).await.map(|r| r.rows_affected()))?;
    }
    Ok(n)
}

/// Every few seconds: tell applications about portal sessions that ended (back-channel and CAS
/// single logout).
pub async fn runner(state: AppState) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(logout::SWEEP_SECONDS));
    loop {
        tick.tick().await;
        match logout::propagate(&state).await {
            Ok(0) => {}
            Ok(n) => {
                metrics::counter!("background_job_rows_total", "job" => "single_logout")
                    .increment(n);
            }
            Err(e) => {
                metrics::counter!("background_job_failures_total", "job" => "single_logout")
                    .increment(1);
                tracing::error!(error = %e, "single logout failed");
            }
        }
    }
}

/// How the audit log names connected applications.
pub const AUDIT_NAMES: &[kernel::audit::names::ObjectName] = &[kernel::audit::names::ObjectName {
    kind: "application",
    sql: "SELECT name FROM applications WHERE id = $1",
}];

//! Who is asking. Pages use [`Session`] (the session cookie; anonymous visitors are sent to the
//! login page). The API uses [`ApiActor`] (a bearer token, or the session cookie for reads).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{Method, header};
use axum::response::{IntoResponse, Redirect, Response};
use kernel::actor::Via;
use kernel::{Actor, AppError, AppState, SessionId};

pub const SESSION_COOKIE: &str = "jy_session";

/// A signed-in person on a page.
#[derive(Debug, Clone)]
pub struct Session {
    pub actor: Actor,
    pub session_id: SessionId,
    pub csrf: String,
    /// When the person logged in.
    pub auth_time: chrono::DateTime<chrono::Utc>,
    /// How the person authenticated (OIDC `amr` values, space-separated).
    pub amr: String,
    /// An administrator whose policy asks for a second factor they have not used yet: every
    /// page sends them to set one up first.
    pub mfa_pending: bool,
    /// The region's time zone, for the times on the person's pages.
    pub zone: kernel::time::Zone,
}

impl Session {
    /// Checks the form's CSRF token against the session's.
    pub fn verify_csrf(&self, token: &str) -> Result<(), AppError> {
        if kernel::secret::constant_time_eq(token, &self.csrf) {
            Ok(())
        } else {
            Err(AppError::Csrf)
        }
    }
}

pub fn cookie_value<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    crate::ctx::cookie_in(&parts.headers, name)
}

async fn session_from_cookie(parts: &Parts, state: &AppState) -> Result<Option<Session>, AppError> {
    session_from_headers(&parts.headers, state).await
}

/// The session the request's cookie names, if it is live.
pub async fn session_from_headers(
    headers: &axum::http::HeaderMap,
    state: &AppState,
) -> Result<Option<Session>, AppError> {
    let Some(token) = crate::ctx::cookie_in(headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    let now = state.clock.now();
    let Some(info) = identity::sessions::lookup(&state.db, &state.config, token, now).await? else {
        return Ok(None);
    };
    let Some(actor) = Actor::load(&state.db, info.person_id, Via::Session).await? else {
        return Ok(None);
    };
    if info.remembered
        && !identity::sessions::may_stay_remembered(state, &actor, &info, now).await?
    {
        let mut tx = state.db.begin().await?;
        identity::sessions::end(&mut tx, info.id, "remembered_no_longer", now).await?;
        tx.commit().await?;
        return Ok(None);
    }
    let amr = info.amr.unwrap_or_else(|| "pwd".to_owned());
    let second_factor = identity::sessions::is_multi_factor(&amr);
    let mfa_pending = !second_factor && identity::mfa::owed(state, &actor).await?;
    Ok(Some(Session {
        actor,
        session_id: info.id,
        csrf: info.csrf_token,
        auth_time: info.created_at,
        amr,
        mfa_pending,
        zone: state.config.time_zone,
    }))
}

/// Sends anonymous visitors to the login page and people who must change their password to
/// the password form.
pub enum SessionRejection {
    Login(String),
    ChangePassword,
    SetUpMfa,
    Error(AppError),
}

impl IntoResponse for SessionRejection {
    fn into_response(self) -> Response {
        match self {
            Self::Login(next) => {
                let next: String = url_encode(&next);
                Redirect::to(&format!("/login?next={next}")).into_response()
            }
            Self::ChangePassword => Redirect::to("/profile/password").into_response(),
            Self::SetUpMfa => Redirect::to("/profile/mfa").into_response(),
            Self::Error(e) => e.into_response(),
        }
    }
}

/// A redirect (303) to `url`, with the bytes a header cannot carry (controls, spaces, non-ASCII)
/// percent-encoded, so an address taken from a request can never make the answer fail.
pub fn redirect(url: &str) -> Response {
    let safe: String = url
        .bytes()
        .map(|b| {
            if (0x21..=0x7e).contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    Redirect::to(&safe).into_response()
}

/// Percent-encodes a query value (keeps `/` readable).
pub fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

impl FromRequestParts<AppState> for Session {
    type Rejection = SessionRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match session_from_cookie(parts, state)
            .await
            .map_err(SessionRejection::Error)?
        {
            Some(s) => {
                let path = parts.uri.path();
                if s.actor.must_change_password && !matches!(path, "/profile/password" | "/logout")
                {
                    return Err(SessionRejection::ChangePassword);
                }
                if s.mfa_pending && !path.starts_with("/profile/mfa") && path != "/logout" {
                    return Err(SessionRejection::SetUpMfa);
                }
                // For the request's other extractors (a CSRF-checked form): looked up once.
                parts.extensions.insert(s.clone());
                Ok(s)
            }
            None => {
                let next = parts
                    .uri
                    .path_and_query()
                    .map(|p| p.as_str())
                    .unwrap_or("/");
                Err(SessionRejection::Login(next.to_owned()))
            }
        }
    }
}

/// The session if there is one, for pages that serve anonymous visitors too (the OIDC and CAS
/// login endpoints decide themselves where to send them).
pub struct MaybeSession(pub Option<Session>);

impl FromRequestParts<AppState> for MaybeSession {
    type Rejection = SessionRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let s = session_from_cookie(parts, state)
            .await
            .map_err(SessionRejection::Error)?;
        // No application gets an administrator who still owes the second factor.
        if s.as_ref().is_some_and(|s| s.mfa_pending) {
            return Err(SessionRejection::SetUpMfa);
        }
        Ok(Self(s))
    }
}

/// The actor behind an API request: `Authorization: Bearer jy_…`, or for safe methods the
/// session cookie (so pages' scripts can read the API).
pub struct ApiActor(pub Actor);

impl FromRequestParts<AppState> for ApiActor {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let bearer = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim);
        if let Some(token) = bearer {
            let now = state.clock.now();
            let person = identity::tokens::lookup(&state.db, token, now)
                .await?
                .ok_or(AppError::Unauthenticated)?;
            let actor = Actor::load(&state.db, person, Via::Token)
                .await?
                .ok_or(AppError::Unauthenticated)?;
            return Ok(ApiActor(actor));
        }
        if (parts.method == Method::GET || parts.method == Method::HEAD)
            && let Some(s) = session_from_cookie(parts, state).await?
            && !s.mfa_pending
        {
            return Ok(ApiActor(s.actor));
        }
        Err(AppError::Unauthenticated)
    }
}

/// Everything an API handler needs: the state, who asks, and the request (for the audit).
pub struct ApiCx {
    pub state: AppState,
    pub actor: Actor,
    pub meta: kernel::RequestMeta,
}

impl ApiCx {
    /// The service context of this request.
    pub fn cx(&self) -> kernel::Ctx<'_> {
        kernel::Ctx::new(&self.state, &self.actor, &self.meta)
    }
}

impl FromRequestParts<AppState> for ApiCx {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let ApiActor(actor) = ApiActor::from_request_parts(parts, state).await?;
        Ok(Self {
            state: state.clone(),
            actor,
            meta: crate::meta::request_meta(parts, state),
        })
    }
}

/// An id typed in a path, a query or a form: a malformed id is "not found", like an unknown or
/// foreign one. (Handlers take path ids as [`IdPath`].)
pub fn parse_id<T: kernel::ids::Id>(s: &str) -> Result<T, AppError> {
    s.parse().map_err(|_| AppError::NotFound(T::not_found()))
}

/// An id from the path. A malformed id is "not found", like an unknown or foreign one.
pub struct IdPath<T>(pub T);

impl<T: kernel::ids::Id, S: Send + Sync> FromRequestParts<S> for IdPath<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Path(raw) =
            axum::extract::Path::<String>::from_request_parts(parts, state)
                .await
                .map_err(|_| AppError::NotFound(T::not_found()))?;
        raw.parse()
            .map(IdPath)
            .map_err(|_| AppError::NotFound(T::not_found()))
    }
}

/// A JSON body whose parse errors come back in the platform's error format.
pub struct ApiJson<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> axum::extract::FromRequest<S> for ApiJson<T> {
    type Rejection = AppError;
    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Self(v)),
            Err(e) => {
                tracing::debug!(error = %e, "invalid JSON body");
                Err(AppError::field("body", "error.invalid_json"))
            }
        }
    }
}

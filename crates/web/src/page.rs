//! What a page handler extracts. [`Page`]: the state, the signed-in person and the request's
//! metadata, and from them the service context (database, actor, clock) and the page context
//! (language, menu, CSRF token, time zone). [`CsrfForm`]: a form whose CSRF token was checked
//! against the session before the handler runs. A handler is then
//!
//! ```ignore
//! pub async fn rename(page: Page, IdPath(id): IdPath<NodeId>, CsrfForm(f): CsrfForm<RenameForm>)
//!     -> AppResult<Response> {
//!     let node = nodes::rename(&page.cx(), id, &f.name).await?;
//!     Ok(redirect(&format!("/admin/org/{}", node.id)))
//! }
//! ```

use crate::auth::{Session, SessionRejection};
use crate::ctx::PageCtx;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use kernel::{Actor, AppError, AppState, Ctx, RequestMeta};
use serde::Deserialize;
use serde::de::DeserializeOwned;

/// A page request from a signed-in person (anonymous visitors are sent to the login page).
pub struct Page {
    pub state: AppState,
    pub session: Session,
    pub meta: RequestMeta,
}

impl Page {
    /// The service context: the database, the acting person, the request, the clock.
    pub fn cx(&self) -> Ctx<'_> {
        Ctx::new(&self.state, &self.session.actor, &self.meta)
    }

    /// The page context: the person's language and menu, the CSRF token, the time zone.
    pub fn ctx(&self) -> PageCtx {
        PageCtx::for_session(&self.session)
    }

    pub fn actor(&self) -> &Actor {
        &self.session.actor
    }
}

impl FromRequestParts<AppState> for Page {
    type Rejection = SessionRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let session = Session::from_request_parts(parts, state).await?;
        Ok(Page {
            state: state.clone(),
            meta: crate::meta::request_meta(parts, state),
            session,
        })
    }
}

/// A URL-encoded form, given to the handler only once its `csrf` field matched the session's
/// token (403 otherwise). Put it last among the handler's arguments.
pub struct CsrfForm<T>(pub T);

#[derive(Deserialize)]
struct Token {
    #[serde(default)]
    csrf: String,
}

/// A form that carries nothing but its CSRF token (a button that logs out, ends sessions, …).
#[derive(Debug, Deserialize)]
pub struct CsrfToken {
    pub csrf: String,
}

impl<T: DeserializeOwned> FromRequest<AppState> for CsrfForm<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        // The session the handler's other extractors already looked up, else look it up now.
        let session = match parts.extensions.get::<Session>() {
            Some(s) => s.clone(),
            None => Session::from_request_parts(&mut parts, state)
                .await
                .map_err(IntoResponse::into_response)?,
        };
        let req = Request::from_parts(parts, body);
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let token: Token = serde_urlencoded::from_bytes(&bytes)
            .map_err(|_| AppError::BadRequest("invalid_form").into_response())?;
        session
            .verify_csrf(&token.csrf)
            .map_err(IntoResponse::into_response)?;
        serde_urlencoded::from_bytes(&bytes)
            .map(CsrfForm)
            .map_err(|e| {
                tracing::debug!(error = %e, "a form that does not parse");
                AppError::BadRequest("invalid_form").into_response()
            })
    }
}

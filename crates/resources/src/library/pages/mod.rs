//! The library's pages: home, new and edit forms, the resource page with its actions, the file
//! and preview routes, my resources, the review queue, reviewer appointments and the
//! excellent-resource lists. Handlers parse, call one service function and render.

mod actions;
mod excellent;
mod file;
mod form;
mod home;
mod mine;
mod picker;
mod queue;
mod reviewers;
mod show;

use crate::model::{ResourceRow, Scope};
use axum::Router;
use axum::routing::{get, post};
use kernel::AppState;
use web::{PageCtx, Session};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/library", get(home::show))
        .route("/library/new", get(form::new_form))
        .route("/library/mine", get(mine::list))
        .route("/library/review", get(queue::list))
        .route(
            "/library/reviewers",
            get(reviewers::page_of).post(reviewers::appoint),
        )
        .route("/library/reviewers/dismiss", post(reviewers::dismiss))
        .route("/library/r/{id}", get(show::page_of))
        .route("/library/r/{id}/edit", get(form::edit_form))
        .route("/library/r/{id}/file", get(file::download))
        .route("/library/r/{id}/preview", get(file::preview))
        .route("/library/r/{id}/delete", post(actions::delete))
        .route("/library/r/{id}/favourite", post(actions::favourite))
        .route("/library/r/{id}/rate", post(actions::rate))
        .route("/library/r/{id}/comments", post(actions::comment))
        .route(
            "/library/r/{id}/comments/{cid}/delete",
            post(actions::delete_comment),
        )
        .route("/library/r/{id}/{action}", post(actions::decide))
        .route(
            "/library/excellent",
            get(excellent::lists).post(excellent::create),
        )
        .route("/library/excellent/{id}", get(excellent::show))
        .route("/library/excellent/{id}/add", post(excellent::add))
        .route("/library/excellent/{id}/publish", post(excellent::publish))
        .route(
            "/library/excellent/{id}/entries/{rid}",
            post(excellent::update_entry),
        )
        .route(
            "/library/excellent/{id}/entries/{rid}/remove",
            post(excellent::remove),
        )
}

/// The forms that may carry a whole file (without JavaScript), under the file size limit.
pub fn upload_routes() -> Router<AppState> {
    Router::new()
        .route("/library/new", post(form::create))
        .route("/library/r/{id}/edit", post(form::update))
}

/// The notices a page shows after an action (`?ok=<name>` → `library.ok.<name>`).
const OK: &[&str] = &[
    "created",
    "saved",
    "submitted",
    "withdrawn",
    "approved",
    "rejected",
    "recommended",
    "deleted",
    "rated",
    "commented",
    "comment_deleted",
    "favourited",
    "unfavourited",
    "appointed",
    "dismissed",
    "list_created",
    "added",
    "removed",
    "published",
    "unpublished",
    "entry_saved",
];

/// The page context with the notice of `?ok=` if it names one.
pub fn page_ctx(session: &Session, ok: Option<&str>) -> PageCtx {
    let mut ctx = PageCtx::for_session(session);
    if let Some(n) = ok.filter(|n| OK.contains(n)) {
        ctx.notice = Some(format!("library.ok.{n}"));
    }
    ctx
}

pub use web::parse_id;

/// The labels pages show for the library's codes.
pub struct Labels<'a>(pub &'a PageCtx);

impl Labels<'_> {
    pub fn kind(&self, code: &str) -> String {
        self.0.t(&format!("library.kind.{code}")).to_owned()
    }
    pub fn scope(&self, code: &str) -> String {
        self.0.t(&format!("library.scope.{code}")).to_owned()
    }
    pub fn level(&self, code: &str) -> String {
        self.0.t(&format!("library.level.{code}")).to_owned()
    }
    pub fn decision(&self, code: &str) -> String {
        self.0.t(&format!("library.decision.{code}")).to_owned()
    }
    /// 校本资源 · 待区级审核, or 仅自己可见.
    pub fn state(&self, r: &ResourceRow) -> String {
        let scope = self.scope(r.scope().as_str());
        match r.pending() {
            Some(l) => format!(
                "{scope} · {}",
                self.0.tf(
                    "library.waiting_at",
                    &[("level", self.level(l.as_str()).as_str())]
                )
            ),
            None => scope,
        }
    }
    pub fn subject(&self, code: &str) -> String {
        standards::subjects::subject_name(code)
    }
}

/// A byte count as shown (KB, MB, GB).
pub fn size(bytes: i64) -> String {
    let b = bytes.max(0) as f64;
    if b < 1024.0 {
        format!("{bytes} B")
    } else if b < 1024.0 * 1024.0 {
        format!("{:.1} KB", b / 1024.0)
    } else if b < 1024.0 * 1024.0 * 1024.0 {
        format!("{:.1} MB", b / 1024.0 / 1024.0)
    } else {
        format!("{:.2} GB", b / 1024.0 / 1024.0 / 1024.0)
    }
}

/// Every scope, for the pages' selects.
pub fn scopes() -> &'static [Scope] {
    Scope::ALL
}

/// A link's query value.
pub fn enc(s: &str) -> String {
    web::auth::url_encode(s)
}

//! The person's notifications (the bell): every module's notifications to one person, newest
//! first; opening the page marks them read. The outbox's other channels (Web Push, e-mail, SMS,
//! WeCom, DingTalk) deliver the same notifications outside the platform.

use askama::Template;
use axum::response::Response;
use kernel::notify::{self, Notification};
use kernel::{AppResult, Locale, on_db};
use web::{Page, PageCtx, render};

/// A notification's text in a language: its kind is the message's key, its arguments fill it.
pub fn text(locale: Locale, n: &Notification) -> String {
    let pairs = n.arg_pairs();
    let args: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    kernel::i18n::tf(locale, &n.kind, &args)
}

/// How many notifications the person has not seen.
pub async fn unread(db: &kernel::Db, person: kernel::PersonId) -> AppResult<i64> {
    let (n,): (i64,) = on_db!(db, p => sqlx::query_as(
        "SELECT COUNT(*) FROM notifications WHERE person_id = $1 AND read_at IS NULL",
    ).bind(person).fetch_one(p).await)?;
    Ok(n)
}

#[derive(Template)]
#[template(path = "notifications.html")]
struct ListPage {
    ctx: PageCtx,
    items: Vec<Notification>,
}

impl ListPage {
    fn text(&self, n: &Notification) -> String {
        text(self.ctx.locale, n)
    }
}

pub async fn list(page: Page) -> AppResult<Response> {
    let cx = page.cx();
    let items = notify::latest(cx.db(), cx.actor.person_id, 100).await?;
    notify::mark_all_read(cx.db(), cx.actor.person_id, cx.now).await?;
    Ok(render(&ListPage {
        ctx: page.ctx(),
        items,
    }))
}

pub fn routes() -> axum::Router<kernel::AppState> {
    axum::Router::new().route("/notifications", axum::routing::get(list))
}

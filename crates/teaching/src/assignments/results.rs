//! Results: a student's own returned work, a guardian's child's (`/teaching/results`).

use super::student::{Row, mine};
use askama::Template;
use axum::Router;
use axum::extract::Query;
use axum::response::Response;
use axum::routing::get;
use kernel::{AppError, AppResult, AppState, PersonId, Role};
use serde::Deserialize;
use web::{Page, PageCtx, render};

pub fn routes() -> Router<AppState> {
    Router::new().route("/teaching/results", get(results))
}

#[derive(Deserialize)]
pub struct ResultsQuery {
    student: Option<String>,
}

#[derive(Template)]
#[template(path = "assignments/results.html")]
struct ResultsPage {
    ctx: PageCtx,
    /// The guardian's children to choose from: (id, name).
    children: Vec<(PersonId, String)>,
    student: Option<(PersonId, String)>,
    rows: Vec<Row>,
}

async fn results(page: Page, Query(q): Query<ResultsQuery>) -> AppResult<Response> {
    let cx = page.cx();
    let children: Vec<(PersonId, String)> = directory::classes::my_children(&cx)
        .await?
        .into_iter()
        .map(|c| (c.person_id, c.name))
        .collect();
    let me = cx.actor.has_role(Role::Student);
    if children.is_empty() && !me {
        return Err(AppError::Forbidden);
    }
    let wanted: Option<PersonId> = q.student.as_deref().and_then(|s| s.parse().ok());
    let student = match wanted {
        Some(w) => Some(
            children
                .iter()
                .find(|c| c.0 == w)
                .cloned()
                .ok_or(AppError::NotFound("directory.person_not_found"))?,
        ),
        None if me => None,
        None => children.first().cloned(),
    };
    let who = student.as_ref().map_or(cx.actor.person_id, |s| s.0);
    let (todo, done) = mine(&cx, who).await?;
    let rows: Vec<Row> = done
        .into_iter()
        .chain(todo)
        .filter(|r| r.s.returned_at.is_some())
        .collect();
    Ok(render(&ResultsPage {
        ctx: page.ctx(),
        children,
        student,
        rows,
    }))
}

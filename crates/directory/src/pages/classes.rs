//! Teachers' classes and rosters.

use super::subject_name;
use crate::classes::{self, ClassCard, Roster};
use askama::Template;
use axum::extract::State;
use axum::response::Response;
use kernel::{AppResult, AppState, Ctx, NodeId};
use web::{IdPath, Meta, PageCtx, Session, render};

#[derive(Template)]
#[template(path = "classes.html")]
struct ClassesPage {
    ctx: PageCtx,
    classes: Vec<ClassCard>,
}

pub async fn mine(
    State(state): State<AppState>,
    session: Session,
    Meta(meta): Meta,
) -> AppResult<Response> {
    let cx = Ctx::new(&state, &session.actor, &meta);
    let classes = classes::my_classes(&cx).await?;
    Ok(render(&ClassesPage {
        ctx: PageCtx::for_session(&session),
        classes,
    }))
}

#[derive(Template)]
#[template(path = "roster.html")]
struct RosterPage {
    ctx: PageCtx,
    r: Roster,
}

impl RosterPage {
    fn subject(&self, code: &Option<String>) -> String {
        code.as_deref().map(subject_name).unwrap_or_default()
    }
}

pub async fn roster(
    State(state): State<AppState>,
    session: Session,
    Meta(meta): Meta,
    IdPath(id): IdPath<NodeId>,
) -> AppResult<Response> {
    let cx = Ctx::new(&state, &session.actor, &meta);
    let r = classes::roster(&cx, id).await?;
    Ok(render(&RosterPage {
        ctx: PageCtx::for_session(&session),
        r,
    }))
}

//! The home page: what each person needs first, by role.

use crate::classes::{self, Child, ClassCard};
use crate::model::Node;
use crate::nodes::{self, Summary};
use askama::Template;
use axum::response::Response;
use kernel::{AppResult, Role};
use web::{Page, PageCtx, render};

pub struct AdminCard {
    pub node: Node,
    pub summary: Summary,
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    ctx: PageCtx,
    admin: Vec<AdminCard>,
    classes: Vec<ClassCard>,
    children: Vec<Child>,
    is_student: bool,
    /// Other modules' panels (the library's recommendations, …), as HTML their templates made.
    panels: Vec<String>,
}

pub async fn show(page: Page) -> AppResult<Response> {
    let Page { state, session, .. } = &page;
    let cx = page.cx();
    let mut admin = Vec::new();
    for node_id in session.actor.admin_nodes().into_iter().take(5) {
        let node = nodes::get(&cx, node_id).await?;
        let summary = nodes::summary(&cx, node_id).await?;
        admin.push(AdminCard { node, summary });
    }
    let classes = classes::my_classes(&cx).await?;
    let children = classes::my_children(&cx).await?;
    let page = HomePage {
        ctx: page.ctx(),
        admin,
        classes,
        children,
        is_student: session.actor.has_role(Role::Student),
        panels: web::panels::render_all(state, session).await?,
    };
    Ok(render(&page))
}

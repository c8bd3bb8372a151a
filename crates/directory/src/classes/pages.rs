//! Teachers' classes and rosters.

use crate::classes::{self, ClassCard, Roster};
use crate::import::slips::{self, Slip};
use askama::Template;
use axum::response::Response;
use kernel::{AppResult, NodeId};
use serde::Deserialize;
use standards::subjects::subject_name;
use web::{CsrfForm, IdPath, Page, PageCtx, render};

#[derive(Template)]
#[template(path = "classes.html")]
struct ClassesPage {
    ctx: PageCtx,
    /// The viewer teaches: an empty list says they teach no class.
    teaches: bool,
    classes: Vec<ClassCard>,
    /// A guardian's children and their classes.
    children: Vec<classes::Child>,
}

pub async fn mine(page: Page) -> AppResult<Response> {
    let Page { session, .. } = &page;
    let cx = page.cx();
    let classes = classes::my_classes(&cx).await?;
    let children = classes::my_children(&cx).await?;
    Ok(render(&ClassesPage {
        ctx: page.ctx(),
        teaches: session.actor.has_role(kernel::Role::Teacher)
            || session.actor.has_role(kernel::Role::HeadTeacher),
        classes,
        children,
    }))
}

#[derive(Template)]
#[template(path = "roster.html")]
struct RosterPage {
    ctx: PageCtx,
    r: Roster,
    /// Accounts waiting for their initial password, if the viewer may issue them.
    waiting: Option<usize>,
    /// The viewer administers the class: colleagues' pages are theirs to open too (a teacher
    /// opens only the students' pages).
    admin: bool,
}

impl RosterPage {
    fn subject(&self, code: &Option<String>) -> String {
        code.as_deref().map(subject_name).unwrap_or_default()
    }
}

pub async fn roster(page: Page, IdPath(id): IdPath<NodeId>) -> AppResult<Response> {
    let cx = page.cx();
    let r = classes::roster(&cx, id).await?;
    let waiting = slips::waiting(&cx, id).await?;
    let admin = kernel::authz::administers(cx.db(), cx.actor, id).await?;
    Ok(render(&RosterPage {
        ctx: page.ctx(),
        r,
        waiting,
        admin,
    }))
}

#[derive(Template)]
#[template(path = "slips.html")]
struct SlipsPage {
    ctx: PageCtx,
    class: String,
    slips: Vec<Slip>,
}

impl SlipsPage {
    fn relation(&self, s: &Slip) -> String {
        match &s.relation {
            Some(code) => relation_name(code),
            None => self.ctx.t("role.student").to_owned(),
        }
    }
}

fn relation_name(code: &str) -> String {
    crate::codes::name(crate::codes::Table::FamilyRelation, code)
        .unwrap_or(code)
        .to_owned()
}

#[derive(Debug, Deserialize)]
pub struct IssueForm {
    /// print | xlsx
    #[serde(default)]
    format: String,
}

/// Issues the class's waiting accounts and shows the slips once: printable, or as XLSX.
pub async fn issue_accounts(
    page: Page,
    IdPath(id): IdPath<NodeId>,
    CsrfForm(form): CsrfForm<IssueForm>,
) -> AppResult<Response> {
    let Page { session, .. } = &page;
    let cx = page.cx();
    let r = classes::roster(&cx, id).await?;
    let slips = slips::issue(&cx, id).await?;
    let class = format!("{} {} {}", r.school_name, r.grade_name, r.class.name);
    if form.format == "xlsx" {
        let bytes = slips::xlsx(&slips, session.actor.locale, relation_name)
            .map_err(kernel::AppError::internal)?;
        let name = format!(
            "{class} {}.xlsx",
            kernel::i18n::t(session.actor.locale, "slips.title")
        );
        return Ok(web::attachment(&name, web::XLSX, bytes));
    }
    Ok(render(&SlipsPage {
        ctx: page.ctx(),
        class,
        slips,
    }))
}

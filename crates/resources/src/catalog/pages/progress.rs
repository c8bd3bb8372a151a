//! `/library/progress`: a teacher's classes and subjects, the volume each studies this term,
//! where it is (the teacher's word or the estimate), and a picker to say where it is.

use super::{opt_id, page_ctx, parse_id};
use crate::catalog::progress::{self, Progress, TaughtClass};
use crate::catalog::{CatalogNode, NodeKind, tree};
use askama::Template;
use axum::extract::Query;
use axum::response::Response;
use kernel::{AppError, AppResult, CatalogId, Ctx, NodeId};
use serde::Deserialize;
use web::{CsrfForm, Page, PageCtx, redirect, render};

/// One class and subject.
pub struct Row {
    pub class: TaughtClass,
    pub volume: Option<CatalogNode>,
    pub progress: Option<Progress>,
    /// The units and sections of the volume, in order: (id, label, is a section).
    pub options: Vec<(CatalogId, String, bool)>,
    pub error: Option<String>,
}

impl Row {
    fn name_of(&self, id: &CatalogId) -> String {
        self.options
            .iter()
            .find(|(o, _, _)| o == id)
            .map(|(_, l, _)| l.trim().to_owned())
            .unwrap_or_default()
    }
    fn current(&self) -> String {
        self.progress
            .as_ref()
            .map(|p| self.name_of(&p.current))
            .unwrap_or_default()
    }
    fn next(&self) -> String {
        self.progress
            .as_ref()
            .map(|p| {
                p.next
                    .iter()
                    .map(|i| self.name_of(i))
                    .collect::<Vec<_>>()
                    .join("；")
            })
            .unwrap_or_default()
    }
    fn is_current(&self, id: &CatalogId) -> bool {
        self.progress
            .as_ref()
            .is_some_and(|p| p.current == *id && !p.estimated)
    }
    fn estimated(&self) -> bool {
        self.progress.as_ref().is_some_and(|p| p.estimated)
    }
    fn key(&self) -> String {
        format!("{}-{}", self.class.class_id, self.class.subject)
    }
}

#[derive(Template)]
#[template(path = "catalog_progress.html")]
pub struct ProgressPage {
    pub ctx: PageCtx,
    pub rows: Vec<Row>,
    pub today: String,
}

async fn rows(cx: &Ctx<'_>, error: Option<(NodeId, &str, String)>) -> AppResult<Vec<Row>> {
    let today = cx.today();
    let mut out = Vec::new();
    for class in progress::taught_by(cx).await? {
        let found =
            progress::volume_of_class(cx.db(), class.class_id, &class.subject, today).await?;
        let volume = found.map(|(_, v)| v);
        let mut options = Vec::new();
        if let Some(v) = &volume {
            for u in tree::outline(cx.db(), v.id).await? {
                options.push((u.unit.id, u.unit.name.clone(), false));
                for s in u.sections {
                    options.push((s.id, format!("　{}", s.name), true));
                }
            }
        }
        let progress = progress::of_class(cx.db(), class.class_id, &class.subject, today).await?;
        let error = error
            .as_ref()
            .filter(|(c, s, _)| *c == class.class_id && *s == class.subject)
            .map(|(_, _, m)| m.clone());
        out.push(Row {
            class,
            volume,
            progress,
            options,
            error,
        });
    }
    Ok(out)
}

#[derive(Debug, Default, Deserialize)]
pub struct PageQuery {
    ok: Option<String>,
}

pub async fn page_of(page: Page, Query(q): Query<PageQuery>) -> AppResult<Response> {
    let Page { session, .. } = &page;
    let cx = page.cx();
    crate::access::Viewer::of(cx.db(), cx.actor)
        .await?
        .require_staff()?;
    Ok(render(&ProgressPage {
        ctx: page_ctx(session, q.ok.as_deref()),
        rows: rows(&cx, None).await?,
        today: cx.today().to_string(),
    }))
}

#[derive(Debug, Deserialize)]
pub struct ProgressForm {
    #[serde(default)]
    class_id: String,
    #[serde(default)]
    subject: String,
    /// Empty: back to the estimate.
    #[serde(default)]
    catalog_id: String,
}

pub async fn set(page: Page, CsrfForm(form): CsrfForm<ProgressForm>) -> AppResult<Response> {
    let Page { session, .. } = &page;
    let cx = page.cx();
    let class: NodeId = parse_id(&form.class_id)?;
    let at: Option<CatalogId> = opt_id(Some(&form.catalog_id))?;
    match progress::set(&cx, class, form.subject.trim(), at).await {
        Ok(_) => Ok(redirect(if at.is_some() {
            "/library/progress?ok=progress_saved"
        } else {
            "/library/progress?ok=progress_cleared"
        })),
        Err(AppError::Invalid(f)) => {
            let ctx = page_ctx(session, None);
            let msg =
                f.0.first()
                    .map(|(_, k)| ctx.t(k).to_owned())
                    .unwrap_or_default();
            let rows = rows(&cx, Some((class, form.subject.trim(), msg))).await?;
            Ok(render(&ProgressPage {
                ctx,
                rows,
                today: cx.today().to_string(),
            }))
        }
        Err(e) => Err(e),
    }
}

impl ProgressPage {
    fn kind_section(&self, is_section: &bool) -> &'static str {
        if *is_section {
            NodeKind::Section.as_str()
        } else {
            NodeKind::Unit.as_str()
        }
    }
}

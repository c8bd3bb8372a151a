//! `/library/stats/{node}`: the statistics page of a school or region, its administrators only,
//! with a bar chart made of meters, the target form and the below-target export.

use super::{NodeStats, TeacherUploads, terms};
use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use kernel::{AppError, AppResult, AppState, Ctx, NodeId, on_db};
use serde::Deserialize;
use web::{CsrfForm, Page, PageCtx, Session, redirect, render};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/library/stats", get(first))
        .route("/library/stats/{node}", get(page_of))
        .route("/library/stats/{node}/target", post(set_target))
        .route("/library/stats/{node}/below-target", get(export))
}

/// One bar of the chart: a `<meter>` on the page, so its length needs no style attribute and
/// its label keeps the page's text size on a phone and on a desktop alike.
pub struct Bar {
    pub label: String,
    pub value: i64,
    /// The longest bar's value: every meter's maximum.
    pub max: i64,
}

/// Bars shown at most.
const BARS: usize = 15;
/// Teachers per page of the table.
pub const PER_PAGE: usize = 50;

#[derive(Template)]
#[template(path = "stats.html")]
pub struct StatsPage {
    pub ctx: PageCtx,
    pub s: NodeStats,
    /// The page of the teachers' table (of [`PER_PAGE`]), and whether it lists only those
    /// below target.
    pub rows: Vec<TeacherUploads>,
    pub page: usize,
    pub pages: usize,
    pub only_below: bool,
    pub bars: Vec<Bar>,
    pub chart_title: String,
    pub region: bool,
    pub error: Option<String>,
    pub saved: bool,
}

impl StatsPage {
    fn scope(&self, s: &str) -> String {
        self.ctx.t(&format!("library.scope.{s}")).to_owned()
    }
    fn level(&self, s: &str) -> String {
        self.ctx.t(&format!("library.level.{s}")).to_owned()
    }
    fn term_label(&self, t: &terms::TermRef) -> String {
        let y = t.school_year.to_string();
        let next = (t.school_year + 1).to_string();
        self.ctx.tf(
            &format!("resource_stats.term_{}", t.term),
            &[("year", y.as_str()), ("next", next.as_str())],
        )
    }
    fn selected(&self, t: &terms::TermRef) -> bool {
        t.code() == self.s.term.code()
    }
    fn below(&self, t: &TeacherUploads) -> bool {
        t.below_target()
    }
    /// The link to another page of the teachers' table.
    fn page_href(&self, page: usize) -> String {
        let below = if self.only_below { "&below=1" } else { "" };
        format!(
            "/library/stats/{}?term={}{below}&page={page}#below",
            self.s.node_id,
            self.s.term.code()
        )
    }
    fn prev(&self) -> usize {
        self.page.saturating_sub(1)
    }
    fn next(&self) -> usize {
        self.page + 1
    }
    fn target_input(&self) -> String {
        if self.s.target.set_at == Some(self.s.node_id) {
            self.s.target.per_term.to_string()
        } else {
            String::new()
        }
    }
}

/// Uploads per school for a region, per teacher for a school.
fn bars(s: &NodeStats) -> Vec<Bar> {
    let mut items: Vec<(String, i64)> = Vec::new();
    if s.node_kind == "school" {
        items.extend(s.teachers.iter().map(|t| (t.name.clone(), t.uploads)));
    } else {
        for t in &s.teachers {
            match items.iter_mut().find(|(n, _)| *n == t.school_name) {
                Some((_, v)) => *v += t.uploads,
                None => items.push((t.school_name.clone(), t.uploads)),
            }
        }
        items.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    }
    items.truncate(BARS);
    let max = items.iter().map(|(_, v)| *v).max().unwrap_or(0).max(1);
    items
        .into_iter()
        .map(|(label, value)| Bar { label, value, max })
        .collect()
}

#[derive(Debug, Default, Deserialize)]
pub struct TermQuery {
    term: Option<String>,
    format: Option<String>,
    ok: Option<String>,
    page: Option<usize>,
    below: Option<String>,
}

fn asked(q: &TermQuery) -> AppResult<Option<(i64, i64)>> {
    match q.term.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        Some(t) => terms::parse(t)
            .map(Some)
            .ok_or(AppError::NotFound("not_found")),
        None => Ok(None),
    }
}

fn parse_node(s: &str) -> AppResult<NodeId> {
    s.parse()
        .map_err(|_| AppError::NotFound("directory.node_not_found"))
}

async fn build(
    cx: &Ctx<'_>,
    session: &Session,
    node: NodeId,
    term: Option<(i64, i64)>,
    q: &TermQuery,
) -> AppResult<StatsPage> {
    let s = super::of_node(cx, node, term).await?;
    let only_below = q
        .below
        .as_deref()
        .is_some_and(|b| !b.is_empty() && b != "0");
    let list: Vec<&TeacherUploads> = if only_below {
        s.teachers
            .iter()
            .filter(|t| t.below_target())
            .rev()
            .collect()
    } else {
        s.teachers.iter().collect()
    };
    let pages = list.len().div_ceil(PER_PAGE).max(1);
    let page = q.page.unwrap_or(1).clamp(1, pages);
    let rows = list
        .into_iter()
        .skip((page - 1) * PER_PAGE)
        .take(PER_PAGE)
        .cloned()
        .collect();
    let ctx = PageCtx::for_session(session);
    let chart_title = if s.node_kind == "school" {
        ctx.t("resource_stats.chart_teachers").to_owned()
    } else {
        ctx.t("resource_stats.chart_schools").to_owned()
    };
    Ok(StatsPage {
        rows,
        page,
        pages,
        only_below,
        bars: bars(&s),
        region: s.node_kind != "school",
        chart_title,
        ctx,
        s,
        error: None,
        saved: false,
    })
}

/// The statistics of the first node the person administers.
pub async fn first(State(state): State<AppState>, session: Session) -> AppResult<Response> {
    for id in session.actor.admin_nodes() {
        let row: Option<(String,)> = on_db!(&state.db, p => sqlx::query_as(
            "SELECT kind FROM org_nodes WHERE id = $1",
        ).bind(id).fetch_optional(p).await)?;
        if row.is_some_and(|(k,)| matches!(k.as_str(), "province" | "city" | "district" | "school"))
        {
            return Ok(redirect(&format!("/library/stats/{id}")));
        }
    }
    Err(AppError::Forbidden)
}

pub async fn page_of(
    page: Page,
    Path(node): Path<String>,
    Query(q): Query<TermQuery>,
) -> AppResult<Response> {
    let Page { session, .. } = &page;
    let cx = page.cx();
    let mut page = build(&cx, session, parse_node(&node)?, asked(&q)?, &q).await?;
    page.saved = q.ok.as_deref() == Some("target_saved");
    Ok(render(&page))
}

#[derive(Debug, Deserialize)]
pub struct TargetForm {
    /// Empty: back to the region above's (or the default).
    #[serde(default)]
    per_term: String,
}

pub async fn set_target(
    page: Page,
    Path(node): Path<String>,
    CsrfForm(form): CsrfForm<TargetForm>,
) -> AppResult<Response> {
    let Page { session, .. } = &page;
    let cx = page.cx();
    let node = parse_node(&node)?;
    let value = match form.per_term.trim() {
        "" => Ok(None),
        v => v
            .parse::<i64>()
            .map(Some)
            .map_err(|_| AppError::field("per_term", "error.resource_stats.target_invalid")),
    };
    match async { super::set_target(&cx, node, value?).await }.await {
        Ok(_) => Ok(redirect(&format!("/library/stats/{node}?ok=target_saved"))),
        Err(AppError::Invalid(f)) => {
            let mut page = build(&cx, session, node, None, &TermQuery::default()).await?;
            page.error = f.0.first().map(|(_, k)| page.ctx.t(k).to_owned());
            Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response())
        }
        Err(e) => Err(e),
    }
}

/// The teachers below target as XLSX (`?format=csv` UTF-8 CSV, `gbk` GBK CSV).
pub async fn export(
    page: Page,
    Path(node): Path<String>,
    Query(q): Query<TermQuery>,
) -> AppResult<Response> {
    let cx = page.cx();
    let format = directory::export::Format::parse(q.format.as_deref().unwrap_or("xlsx"));
    let file = super::below_target_file(&cx, parse_node(&node)?, asked(&q)?, format).await?;
    Ok(web::attachment(&file.name, file.content_type, file.bytes))
}

//! The knowledge points page: a region's subjects with points, one subject's tree, and for
//! the region's maintainers a point added by hand, the spreadsheet import and its template.

use super::import::{self, ImportError, Imported, Rejected};
use super::{NewPoint, Point, Subject};
use askama::Template;
use axum::Router;
use axum::extract::{Multipart, Query};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use kernel::{AppError, AppResult, AppState, FieldErrors, NodeId};
use serde::Deserialize;
use web::{CsrfForm, Page, PageCtx, Session, redirect, render};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/teaching/knowledge", get(index).post(add))
        .route("/teaching/knowledge/template.xlsx", get(template))
}

/// The import takes a spreadsheet: served under the spreadsheet upload limit.
pub fn upload_routes() -> Router<AppState> {
    Router::new().route("/teaching/knowledge/import", post(upload))
}

/// A region the viewer uses: its id, name, and whether they maintain it.
pub struct Region {
    pub id: NodeId,
    pub name: String,
    pub maintain: bool,
}

#[derive(Template)]
#[template(path = "knowledge/index.html")]
struct IndexPage {
    ctx: PageCtx,
    regions: Vec<Region>,
    region: Option<Region>,
    subjects: Vec<Subject>,
    /// The subject shown: (stage, subject) and its points depth first.
    shown: Option<(String, String, Vec<Point>)>,
    draft: NewPoint,
    errors: FieldErrors,
    imported: Option<Imported>,
    rejected: Option<Rejected>,
}

impl IndexPage {
    fn subject_name(&self, code: &str) -> String {
        resources::catalog::model::subject_name(code)
    }
    fn stage_name(&self, code: &str) -> &'static str {
        resources::catalog::model::parse_stage(code)
            .map_or("", resources::catalog::model::stage_name)
    }
    fn is_shown(&self, s: &Subject) -> bool {
        self.shown
            .as_ref()
            .is_some_and(|(st, su, _)| *st == s.stage && *su == s.subject)
    }
}

#[derive(Deserialize, Default)]
pub struct IndexQuery {
    region: Option<String>,
    stage: Option<String>,
    subject: Option<String>,
    done: Option<String>,
}

async fn build(
    page: &Page,
    q: &IndexQuery,
    draft: NewPoint,
    errors: FieldErrors,
) -> AppResult<IndexPage> {
    let cx = page.cx();
    if !resources::access::Viewer::is_staff(cx.actor) {
        return Err(AppError::Forbidden);
    }
    let mut regions = Vec::new();
    for id in resources::catalog::tree::regions_for(cx.db(), cx.actor).await? {
        regions.push(Region {
            id,
            name: crate::label(cx.db(), id).await?,
            maintain: resources::catalog::edit::may_maintain(&cx, id).await?,
        });
    }
    let wanted = q.region.as_deref().and_then(|r| r.parse::<NodeId>().ok());
    let region = match wanted {
        Some(id) => regions
            .iter()
            .position(|r| r.id == id)
            .ok_or(AppError::NotFound("directory.node_not_found"))?,
        // The first region with points, else the one the viewer maintains, else the first.
        None => {
            let mut pick = None;
            for (i, r) in regions.iter().enumerate() {
                if !super::subjects(cx.db(), &[r.id]).await?.is_empty() {
                    pick = Some(i);
                    break;
                }
            }
            pick.or_else(|| regions.iter().position(|r| r.maintain))
                .unwrap_or(0)
        }
    };
    let region = (region < regions.len()).then(|| {
        let r = &regions[region];
        Region {
            id: r.id,
            name: r.name.clone(),
            maintain: r.maintain,
        }
    });
    let subjects = match &region {
        Some(r) => super::subjects(cx.db(), &[r.id]).await?,
        None => Vec::new(),
    };
    let chosen = match (q.stage.as_deref(), q.subject.as_deref()) {
        (Some(st), Some(su)) => Some((st.to_owned(), su.to_owned())),
        _ => subjects
            .first()
            .map(|s| (s.stage.clone(), s.subject.clone())),
    };
    let shown = match (&region, chosen) {
        (Some(r), Some((st, su))) => {
            let points = super::tree(cx.db(), r.id, &st, &su, false).await?;
            Some((st, su, points))
        }
        _ => None,
    };
    Ok(IndexPage {
        ctx: page.ctx().with_notice(q.done.as_deref()),
        regions,
        region,
        subjects,
        shown,
        draft,
        errors,
        imported: None,
        rejected: None,
    })
}

async fn index(page: Page, Query(q): Query<IndexQuery>) -> AppResult<Response> {
    let draft = NewPoint {
        stage: q.stage.clone().unwrap_or_default(),
        subject: q.subject.clone().unwrap_or_default(),
        ..Default::default()
    };
    Ok(render(&build(&page, &q, draft, FieldErrors::new()).await?))
}

/// `POST /teaching/knowledge`: a point added by hand.
async fn add(page: Page, CsrfForm(f): CsrfForm<NewPoint>) -> AppResult<Response> {
    let cx = page.cx();
    match super::add(&cx, &f).await {
        Ok(p) => Ok(redirect(&format!(
            "/teaching/knowledge?region={}&stage={}&subject={}&done=point_added",
            p.region_id, p.stage, p.subject
        ))),
        Err(AppError::Invalid(e) | AppError::Conflict(_, e)) => {
            let q = IndexQuery {
                region: Some(f.region_id.clone()),
                ..Default::default()
            };
            Ok(render(&build(&page, &q, f, e).await?))
        }
        Err(e) => Err(e),
    }
}

/// `POST /teaching/knowledge/import`: a spreadsheet of points, all or nothing.
async fn upload(page: Page, form: Multipart) -> AppResult<Response> {
    let staged = resources::catalog::pages::import::receive(&page.state, form).await?;
    page.session
        .verify_csrf(staged.field("csrf").unwrap_or_default())?;
    let region: NodeId = staged
        .field("region_id")
        .unwrap_or_default()
        .parse()
        .map_err(|_| AppError::NotFound("directory.node_not_found"))?;
    let q = IndexQuery {
        region: Some(region.to_string()),
        ..Default::default()
    };
    let cx = page.cx();
    let Some(file_name) = staged.file_name.clone() else {
        let mut p = build(&page, &q, NewPoint::default(), FieldErrors::new()).await?;
        p.rejected = Some(Rejected {
            file_name: String::new(),
            file_error: Some(p.ctx.t("error.import.no_file").to_owned()),
            problem_count: 1,
            problems: Vec::new(),
        });
        return Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, render(&p)).into_response());
    };
    match import::run(&cx, region, &file_name, &staged.path).await {
        Ok(done) => {
            let mut p = build(&page, &q, NewPoint::default(), FieldErrors::new()).await?;
            p.imported = Some(done);
            Ok(render(&p))
        }
        Err(ImportError::Rejected(r)) => {
            let mut p = build(&page, &q, NewPoint::default(), FieldErrors::new()).await?;
            p.rejected = Some(r);
            Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, render(&p)).into_response())
        }
        Err(ImportError::App(e)) => Err(e),
    }
}

/// The import's template.
async fn template(_session: Session) -> AppResult<Response> {
    let file = import::template()?;
    Ok(web::attachment(&file.name, file.content_type, file.bytes))
}

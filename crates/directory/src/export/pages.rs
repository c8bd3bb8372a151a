//! Downloading lists (see `export`): the students, staff and classes of a node, the people
//! search, a class roster with guardians, a school's registry changes, and the OneRoster
//! bundle. Each handler parses the request, calls one service function (which authorizes
//! exactly as the list's page does) and sends the file with the shared attachment helper.

use crate::export::{self, Format, Request};
use crate::people::SearchQuery;
use axum::extract::{Path, Query};
use axum::response::Response;
use kernel::{AppResult, NodeId};
use serde::Deserialize;
use web::Page;
use web::{attachment, parse_id};

/// `format=xlsx|csv|gbk`, `headers=jyt` for the JY/T short names, `unmasked=1` for personal
/// data in full (administrators only, audited).
#[derive(Debug, Deserialize)]
pub struct ExportQuery {
    #[serde(default)]
    format: String,
    #[serde(default)]
    headers: String,
    #[serde(default)]
    unmasked: Option<String>,
}

impl ExportQuery {
    fn request(&self) -> Request {
        Request {
            format: Format::parse(&self.format),
            short_names: self.headers == "jyt",
            unmasked: self
                .unmasked
                .as_deref()
                .is_some_and(|u| !u.is_empty() && u != "0"),
        }
    }
}

fn send(f: export::File) -> Response {
    attachment(&f.name, f.content_type, f.bytes)
}

/// The students under a node as XLSX or CSV (see `export::students`).
pub async fn students(
    page: Page,
    Path(id): Path<String>,
    Query(q): Query<ExportQuery>,
) -> AppResult<Response> {
    let cx = page.cx();
    Ok(send(
        export::students(&cx, parse_id(&id)?, q.request()).await?,
    ))
}

/// The staff of a node (see `export::staff`).
pub async fn staff(
    page: Page,
    Path(id): Path<String>,
    Query(q): Query<ExportQuery>,
) -> AppResult<Response> {
    let cx = page.cx();
    Ok(send(export::staff(&cx, parse_id(&id)?, q.request()).await?))
}

/// The classes of a school or region (see `export::classes`).
pub async fn classes(
    page: Page,
    Path(id): Path<String>,
    Query(q): Query<ExportQuery>,
) -> AppResult<Response> {
    let cx = page.cx();
    Ok(send(
        export::classes(&cx, parse_id(&id)?, q.request()).await?,
    ))
}

/// A school's registry change records (see `export::registry_changes`).
pub async fn registry(
    page: Page,
    Path(id): Path<String>,
    Query(q): Query<ExportQuery>,
) -> AppResult<Response> {
    let cx = page.cx();
    Ok(send(
        export::registry_changes(&cx, parse_id(&id)?, q.request()).await?,
    ))
}

/// A class's roster with guardians (see `export::roster`).
pub async fn roster(
    page: Page,
    Path(id): Path<String>,
    Query(q): Query<ExportQuery>,
) -> AppResult<Response> {
    let cx = page.cx();
    Ok(send(
        export::roster(&cx, parse_id(&id)?, q.request()).await?,
    ))
}

/// The people search's filters, as on its page.
#[derive(Debug, Deserialize)]
pub struct PeopleQuery {
    node: Option<String>,
    q: Option<String>,
    role: Option<String>,
    sort: Option<String>,
    include_inactive: Option<bool>,
    #[serde(default)]
    format: String,
    #[serde(default)]
    headers: String,
    #[serde(default)]
    unmasked: Option<String>,
}

/// The people search as a file (see `export::people`).
pub async fn people(page: Page, Query(q): Query<PeopleQuery>) -> AppResult<Response> {
    let cx = page.cx();
    let node = match q.node.as_deref().filter(|s| !s.is_empty()) {
        Some(n) => Some(parse_id::<NodeId>(n)?),
        None => None,
    };
    let sq = SearchQuery {
        node,
        q: q.q.clone(),
        role: q.role.clone().filter(|r| !r.is_empty()),
        include_inactive: q.include_inactive,
        sort: q.sort.clone(),
    };
    let req = ExportQuery {
        format: q.format,
        headers: q.headers,
        unmasked: q.unmasked,
    }
    .request();
    Ok(send(export::people(&cx, &sq, req).await?))
}

/// The OneRoster 1.2 CSV bundle of a region or school (see `export::oneroster`).
pub async fn oneroster(
    page: Page,
    Path(id): Path<String>,
    Query(q): Query<ExportQuery>,
) -> AppResult<Response> {
    let cx = page.cx();
    let f = export::oneroster::export(&cx, parse_id(&id)?, q.request().unmasked).await?;
    Ok(send(f))
}

//! `/library/search`: the search form, facets as links with counts, results and paging.

use super::input::{SearchInput, SearchParams, Sort, encode};
use super::results::{self, Hit, SearchResults};
use crate::access::Viewer;
use askama::Template;
use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use kernel::{AppResult, FieldErrors};
use web::{Page, PageCtx, render};

/// One value of a facet, as a link that sets (or, when selected, clears) the filter.
pub struct ValueView {
    pub label: String,
    pub title: String,
    pub count: u64,
    pub href: String,
    pub selected: bool,
}

pub struct GroupView {
    pub label: String,
    pub values: Vec<ValueView>,
}

/// An active filter, with the link that removes it.
pub struct Chip {
    pub label: String,
    pub href: String,
}

#[derive(Template)]
#[template(path = "search.html")]
struct SearchPage {
    ctx: PageCtx,
    /// The text as typed (kept on error).
    q: String,
    input: SearchInput,
    errors: FieldErrors,
    results: Option<SearchResults>,
    groups: Vec<GroupView>,
    chips: Vec<Chip>,
}

const PATH: &str = "/library/search";

fn link(input: &SearchInput) -> String {
    let qs = SearchParams::of(input).query_string();
    if qs.is_empty() {
        PATH.to_owned()
    } else {
        format!("{PATH}?{qs}")
    }
}

/// `input` with dimension `dim` set to `value` (or cleared with `None`), back on page 1.
fn with(input: &SearchInput, dim: &str, value: Option<&str>) -> SearchInput {
    let mut i = input.clone();
    i.page = 1;
    let id = |v: Option<&str>| v.and_then(|v| v.parse().ok());
    match dim {
        "stage" => i.stage = id(value),
        "subject" => i.subject = id(value),
        "edition" => i.edition = id(value),
        "volume" => i.volume = id(value),
        "chapter" => i.chapter = id(value),
        "kind" => i.kind = value.and_then(crate::model::Kind::parse),
        "level" => i.level = value.and_then(crate::model::Scope::parse),
        "school" => i.school = value.and_then(|v| v.parse().ok()),
        _ => {}
    }
    i
}

impl SearchPage {
    fn error(&self, field: &str) -> Option<String> {
        self.ctx.field_error(&self.errors, field)
    }

    fn page_link(&self, page: u32) -> String {
        let mut i = self.input.clone();
        i.page = page;
        link(&i)
    }

    fn browse_link(&self) -> String {
        PATH.to_owned()
    }

    fn without_text_link(&self) -> String {
        let mut i = self.input.clone();
        i.q.clear();
        i.page = 1;
        link(&i)
    }

    fn has_filters(&self) -> bool {
        !self.chips.is_empty()
    }

    /// (code, label, selected) of each sort.
    fn sort_options(&self) -> Vec<(&'static str, String, bool)> {
        Sort::ALL
            .iter()
            .map(|s| {
                (
                    s.as_str(),
                    self.ctx
                        .t(&format!("search_page.sort_{}", s.as_str()))
                        .to_owned(),
                    *s == self.input.sort,
                )
            })
            .collect()
    }

    /// The filters as hidden fields, so a new text search keeps them.
    fn hidden(&self) -> Vec<(&'static str, String)> {
        let p = SearchParams::of(&self.input);
        [
            ("stage", p.stage),
            ("subject", p.subject),
            ("edition", p.edition),
            ("volume", p.volume),
            ("chapter", p.chapter),
            ("kind", p.kind),
            ("level", p.level),
            ("school", p.school),
            ("per_page", p.per_page),
        ]
        .into_iter()
        .filter_map(|(k, v)| Some((k, v?)))
        .collect()
    }

    fn kind(&self, code: &str) -> String {
        kind_label(&self.ctx, code)
    }

    fn level(&self, code: &str) -> String {
        level_label(&self.ctx, code)
    }

    fn meta(&self, h: &Hit) -> String {
        format!(
            "{} · {} · {} · {} · {}",
            self.kind(&h.kind),
            self.level(&h.level),
            h.school_name,
            h.author_name,
            self.ctx.day(h.created_at)
        )
    }

    fn quality(&self, h: &Hit) -> String {
        self.ctx.tf(
            "search_page.quality",
            &[("score", &format!("{:.0}", h.quality))],
        )
    }

    fn found(&self) -> String {
        let n = self.results.as_ref().map_or(0, |r| r.total);
        self.ctx.tf("search_page.found", &[("n", &n.to_string())])
    }

    fn q_encoded(&self) -> String {
        encode(&self.input.q)
    }
}

fn kind_label(ctx: &PageCtx, code: &str) -> String {
    if crate::model::Kind::parse(code).is_some() {
        ctx.t(&format!("search_page.kind_{code}")).to_owned()
    } else {
        code.to_owned()
    }
}

fn level_label(ctx: &PageCtx, code: &str) -> String {
    if crate::model::Scope::parse(code).is_some() {
        ctx.t(&format!("search_page.level_{code}")).to_owned()
    } else {
        code.to_owned()
    }
}

fn views(ctx: &PageCtx, input: &SearchInput, r: &SearchResults) -> (Vec<GroupView>, Vec<Chip>) {
    let mut groups = Vec::new();
    let mut chips = Vec::new();
    for g in &r.facets {
        let label = ctx
            .t(&format!("search_page.dim_{}", g.dimension))
            .to_owned();
        let mut values = Vec::new();
        for v in &g.values {
            let name = match g.dimension.as_str() {
                "kind" => kind_label(ctx, &v.name),
                "level" => level_label(ctx, &v.name),
                _ => v.name.clone(),
            };
            let href = if v.selected {
                link(&with(input, &g.dimension, None))
            } else {
                link(&with(input, &g.dimension, Some(&v.value)))
            };
            if v.selected {
                chips.push(Chip {
                    label: format!("{label}: {name}"),
                    href: href.clone(),
                });
            }
            values.push(ValueView {
                title: v.path.clone().unwrap_or_else(|| name.clone()),
                label: name,
                count: v.count,
                href,
                selected: v.selected,
            });
        }
        if !values.is_empty() {
            groups.push(GroupView { label, values });
        }
    }
    (groups, chips)
}

pub(crate) async fn show(page: Page, Query(params): Query<SearchParams>) -> AppResult<Response> {
    let cx = page.cx();
    let ctx = page.ctx();
    let q = params.q.clone().unwrap_or_default();
    match params.parse() {
        Ok(input) => {
            let r = results::query(&cx, input.clone()).await?;
            let (groups, chips) = views(&ctx, &input, &r);
            Ok(render(&SearchPage {
                ctx,
                q,
                input,
                errors: FieldErrors::new(),
                results: Some(r),
                groups,
                chips,
            }))
        }
        Err(errors) => {
            Viewer::of(cx.db(), cx.actor).await?.require_reader()?;
            let page = SearchPage {
                ctx,
                q,
                input: SearchInput::default(),
                errors,
                results: None,
                groups: Vec::new(),
                chips: Vec::new(),
            };
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response())
        }
    }
}

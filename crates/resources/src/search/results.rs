//! The answer to a search: hits with highlighted titles and snippets, facet counts with names.

use super::engine::{self, Found};
use super::input::{SearchInput, Sort};
use crate::access::Viewer;
use chrono::{DateTime, Utc};
use kernel::{AppResult, CatalogId, Ctx, Db, NodeId, ResourceId, on_db};
use serde::Serialize;
use std::collections::HashMap;
use std::ops::Range;
use tantivy::snippet::SnippetGenerator;

/// Characters of a file's text read for its snippet.
const TEXT_CHARS: i64 = 6_000;
/// Bytes of a snippet (about 80 Chinese characters).
const SNIPPET_BYTES: usize = engine::PASSAGE_BYTES;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SearchResults {
    /// The search as understood (after parsing).
    pub input: SearchInput,
    /// The order applied (relevance without query text is newest).
    pub sort: Sort,
    pub total: u64,
    pub page: u32,
    pub per_page: u32,
    pub pages: u32,
    /// No resource had every word: these have some of them.
    pub any_word: bool,
    pub items: Vec<Hit>,
    /// stage, subject, edition, volume, chapter, kind, level, school: in that order.
    pub facets: Vec<FacetGroup>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Hit {
    pub id: ResourceId,
    pub title: String,
    /// The title, HTML-escaped, with the matched words in `<mark>`.
    pub title_html: String,
    /// A passage of the file's text (or the description) with the matched words in `<mark>`,
    /// HTML-escaped; empty when there is neither.
    pub snippet_html: String,
    pub description: String,
    pub kind: String,
    /// How far it is shared: private | school | district | city.
    pub level: String,
    pub school_id: NodeId,
    pub school_name: String,
    pub author_name: String,
    pub tags: Vec<String>,
    pub quality: f64,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FacetGroup {
    pub dimension: String,
    pub values: Vec<FacetValue>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FacetValue {
    /// The filter value: a catalogue or organisation node id, or a kind or level code.
    pub value: String,
    /// The node's name (codes are returned as they are; pages translate them).
    pub name: String,
    /// For catalogue nodes: the path from the stage down.
    pub path: Option<String>,
    pub count: u64,
    pub selected: bool,
}

#[derive(sqlx::FromRow)]
struct HitRow {
    id: ResourceId,
    title: String,
    description: String,
    kind: String,
    scope: String,
    tags: String,
    quality: f64,
    created_at: DateTime<Utc>,
    org_id: NodeId,
    school_name: String,
    author_name: String,
    text: Option<String>,
}

/// Searches the library as `cx.actor` sees it: staff, and students (what is shared with them).
pub async fn query(cx: &Ctx<'_>, input: SearchInput) -> AppResult<SearchResults> {
    let viewer = Viewer::of(cx.db(), cx.actor).await?;
    viewer.require_reader()?;
    let found = engine::find(cx, &viewer, &input).await?;
    let rows = hit_rows(cx.db(), &viewer, &found.ids).await?;
    let items = found
        .ids
        .iter()
        .filter_map(|id| rows.get(id))
        .map(|r| hit(r, found.snippets.as_ref(), &found.words))
        .collect();
    let facets = facets(cx.db(), &found, &input).await?;
    let per = u64::from(input.per_page.max(1));
    Ok(SearchResults {
        sort: input.effective_sort(),
        total: found.total,
        page: input.page,
        per_page: input.per_page,
        pages: u32::try_from(found.total.div_ceil(per).max(1)).unwrap_or(u32::MAX),
        any_word: found.any_word,
        items,
        facets,
        input,
    })
}

/// The hits' current rows, those the viewer still sees (the index may lag a moment).
async fn hit_rows(
    db: &Db,
    viewer: &Viewer,
    ids: &[ResourceId],
) -> AppResult<HashMap<ResourceId, HitRow>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let list: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT r.id, r.title, r.description, r.kind, r.scope, r.tags, r.quality, r.created_at, \
         r.org_id, o.name AS school_name, p.name AS author_name, substr(b.text, 1, {TEXT_CHARS}) AS text \
         FROM resources r JOIN org_nodes o ON o.id = r.org_id JOIN persons p ON p.id = r.author_id \
         LEFT JOIN blobs b ON b.hash = r.blob_hash \
         WHERE r.id IN ({}) AND r.deleted_at IS NULL AND {}",
        list.join(", "),
        viewer.filter_sql(ids.len() + 1)
    );
    let (me, nodes) = viewer.filter_params();
    let rows: Vec<HitRow> = on_db!(db, p => {
        let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()));
        for id in ids {
            q = q.bind(*id);
        }
        if !viewer.system {
            q = q.bind(me);
            for n in &nodes {
                q = q.bind(*n);
            }
        }
        q.fetch_all(p).await
    })?;
    Ok(rows.into_iter().map(|r| (r.id, r)).collect())
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `text` escaped, with `marks` (byte ranges, sorted, not overlapping) in `<mark>`.
fn marked(text: &str, marks: &[Range<usize>]) -> String {
    let mut out = String::new();
    let mut at = 0;
    for r in marks {
        if r.start < at || r.end > text.len() || r.start >= r.end {
            continue;
        }
        out.push_str(&escape(&text[at..r.start]));
        out.push_str("<mark>");
        out.push_str(&escape(&text[r.start..r.end]));
        out.push_str("</mark>");
        at = r.end;
    }
    out.push_str(&escape(&text[at..]));
    out
}

fn floor(text: &str, mut i: usize) -> usize {
    i = i.min(text.len());
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// A passage of `text` with the matched words marked, or `None` if no word is in it. Only a
/// window around the first match is cut into words, so long texts cost little.
fn passage(g: &SnippetGenerator, text: &str, words: &[String]) -> Option<String> {
    let lower = text.to_ascii_lowercase();
    let first = words.iter().filter_map(|w| lower.find(w.as_str())).min()?;
    let start = floor(text, first.saturating_sub(SNIPPET_BYTES / 2));
    let end = floor(text, first + SNIPPET_BYTES * 3);
    let window = &text[start..end];
    let s = g.snippet(window);
    if s.is_empty() {
        return None;
    }
    let range = s.fragment_range();
    let mut html = String::new();
    if start + range.start > 0 {
        html.push('…');
    }
    html.push_str(&marked(s.fragment(), s.highlighted()));
    if start + range.end < text.len() {
        html.push('…');
    }
    Some(html)
}

fn hit(r: &HitRow, snippets: Option<&[SnippetGenerator; 2]>, words: &[String]) -> Hit {
    let (title_html, snippet_html) = match snippets {
        Some([title, passages]) => {
            let s = title.snippet(&r.title);
            let start = s.fragment_range().start;
            let marks: Vec<Range<usize>> = s
                .highlighted()
                .iter()
                .map(|h| h.start + start..h.end + start)
                .collect();
            let snippet = r
                .text
                .as_deref()
                .and_then(|t| passage(passages, t, words))
                .or_else(|| passage(passages, &r.description, words));
            (marked(&r.title, &marks), snippet)
        }
        None => (escape(&r.title), None),
    };
    let snippet_html = snippet_html.unwrap_or_else(|| {
        let d: String = r.description.chars().take(90).collect();
        let more = if d.len() < r.description.len() {
            "…"
        } else {
            ""
        };
        format!("{}{more}", escape(&d))
    });
    Hit {
        id: r.id,
        title: r.title.clone(),
        title_html,
        snippet_html,
        description: r.description.clone(),
        kind: r.kind.clone(),
        level: r.scope.clone(),
        school_id: r.org_id,
        school_name: r.school_name.clone(),
        author_name: r.author_name.clone(),
        tags: r
            .tags
            .split('\n')
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect(),
        quality: r.quality,
        created_at: r.created_at,
    }
}

/// Names of catalogue nodes (with their paths) and of organisation nodes.
async fn names(
    db: &Db,
    catalog: &[CatalogId],
    orgs: &[NodeId],
) -> AppResult<(HashMap<String, (String, String)>, HashMap<String, String>)> {
    let mut cat = HashMap::new();
    for chunk in catalog.chunks(500) {
        let rows: Vec<(CatalogId, String, String)> = on_db!(db, p => {
            let mut qb = sqlx::QueryBuilder::new("SELECT id, name, path FROM catalog_nodes WHERE id IN (");
            let mut sep = qb.separated(", ");
            for id in chunk {
                sep.push_bind(*id);
            }
            sep.push_unseparated(")");
            qb.build_query_as().fetch_all(p).await
        })?;
        cat.extend(
            rows.into_iter()
                .map(|(id, n, path)| (id.to_string(), (n, path))),
        );
    }
    let mut org = HashMap::new();
    for chunk in orgs.chunks(500) {
        let rows: Vec<(NodeId, String)> = on_db!(db, p => {
            let mut qb = sqlx::QueryBuilder::new("SELECT id, name FROM org_nodes WHERE id IN (");
            let mut sep = qb.separated(", ");
            for id in chunk {
                sep.push_bind(*id);
            }
            sep.push_unseparated(")");
            qb.build_query_as().fetch_all(p).await
        })?;
        org.extend(rows.into_iter().map(|(id, n)| (id.to_string(), n)));
    }
    Ok((cat, org))
}

fn selected(input: &SearchInput, dim: &str) -> Option<String> {
    match dim {
        "stage" => input.stage.map(|v| v.to_string()),
        "subject" => input.subject.map(|v| v.to_string()),
        "edition" => input.edition.map(|v| v.to_string()),
        "volume" => input.volume.map(|v| v.to_string()),
        "chapter" => input.chapter.map(|v| v.to_string()),
        "kind" => input.kind.map(|v| v.as_str().to_owned()),
        "level" => input.level.map(|v| v.as_str().to_owned()),
        "school" => input.school.map(|v| v.to_string()),
        _ => None,
    }
}

async fn facets(db: &Db, found: &Found, input: &SearchInput) -> AppResult<Vec<FacetGroup>> {
    let mut groups: Vec<(&str, Vec<(String, u64)>)> = found.counts.clone();
    for (dim, values) in groups.iter_mut() {
        if let Some(s) = selected(input, dim)
            && !values.iter().any(|(v, _)| *v == s)
        {
            values.push((s, 0));
        }
    }
    let mut cat_ids = Vec::new();
    let mut org_ids = Vec::new();
    for (dim, values) in &groups {
        for (v, _) in values {
            match *dim {
                "kind" | "level" => {}
                "school" => org_ids.extend(v.parse::<NodeId>().ok()),
                _ => cat_ids.extend(v.parse::<CatalogId>().ok()),
            }
        }
    }
    let (cat, org) = names(db, &cat_ids, &org_ids).await?;
    Ok(groups
        .into_iter()
        .map(|(dim, values)| {
            let chosen = selected(input, dim);
            FacetGroup {
                dimension: dim.to_owned(),
                values: values
                    .into_iter()
                    .map(|(value, count)| {
                        let (name, path) = match dim {
                            "kind" | "level" => (value.clone(), None),
                            "school" => (org.get(&value).cloned().unwrap_or_default(), None),
                            _ => match cat.get(&value) {
                                Some((n, p)) => (n.clone(), Some(p.clone())),
                                None => (String::new(), None),
                            },
                        };
                        FacetValue {
                            selected: chosen.as_deref() == Some(value.as_str()),
                            value,
                            name,
                            path,
                            count,
                        }
                    })
                    .filter(|v| !v.name.is_empty())
                    .collect(),
            }
        })
        .collect())
}

//! Running a search: the words of the query (all required, else any), the viewer's visibility
//! terms and the filters as one boolean query; the page of hits, the total and every facet's
//! counts in one pass; then the hits' rows (current titles, names, text for snippets) from the
//! database, checked once more against the viewer.

use super::facets::{Counts, FacetCounter, FacetMaps};
use super::input::{SearchInput, Sort};
use super::schema::{self, Fields};
use super::store::{self, Open, err};
use super::tokenizer;
use super::visible::{Visible, VisibleCache};
use crate::access::Viewer;
use kernel::{AppResult, Ctx, ResourceId};
use std::sync::Arc;
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{
    AllQuery, BooleanQuery, ConstScoreQuery, EmptyQuery, Occur, Query, TermQuery, TermSetQuery,
};
use tantivy::schema::{Facet, IndexRecordOption, Value};
use tantivy::snippet::SnippetGenerator;
use tantivy::{DocAddress, Order, Searcher, TantivyDocument, Term};

/// Longer than any title, so a title is one fragment.
const TITLE_BYTES: usize = 2_048;
/// A passage of the text (about 80 Chinese characters).
pub(crate) const PASSAGE_BYTES: usize = 240;

/// The facet dimensions shown, with how many values of each.
pub const SHOWN: &[(&str, usize)] = &[
    ("stage", 10),
    ("subject", 30),
    ("edition", 30),
    ("volume", 40),
    ("chapter", 40),
    ("kind", 10),
    ("level", 4),
    ("school", 30),
];

/// What the index answered.
pub(crate) struct Found {
    pub ids: Vec<ResourceId>,
    pub total: u64,
    pub counts: Vec<(&'static str, Vec<(String, u64)>)>,
    pub any_word: bool,
    /// The query's words as the index holds them.
    pub words: Vec<String>,
    /// Snippet generators for the title (whole) and for passages of the text.
    pub snippets: Option<[SnippetGenerator; 2]>,
}

/// The search as the index runs it.
pub(crate) struct Plan {
    pub words: Vec<String>,
    /// `None`: the system actor, who sees everything.
    pub vis: Option<Vec<String>>,
    /// Each filter is satisfied by any of its facets.
    pub filters: Vec<Vec<Facet>>,
    pub sort: Sort,
    pub offset: usize,
    pub limit: usize,
}

impl Plan {
    pub fn new(input: &SearchInput, viewer: &Viewer) -> Self {
        let mut words = tokenizer::words(&input.q);
        let mut seen = std::collections::HashSet::new();
        words.retain(|w| seen.insert(w.clone()));
        let one = |dim: &str, v: String| vec![Facet::from_path([dim.to_owned(), v])];
        let mut filters = Vec::new();
        for (dim, v) in [
            ("stage", input.stage),
            ("subject", input.subject),
            ("edition", input.edition),
            ("volume", input.volume),
        ] {
            if let Some(v) = v {
                filters.push(one(dim, v.to_string()));
            }
        }
        if let Some(c) = input.chapter {
            let mut f = one("chapter", c.to_string());
            f.extend(one("section", c.to_string()));
            filters.push(f);
        }
        if let Some(k) = input.kind {
            filters.push(one("kind", k.as_str().to_owned()));
        }
        if let Some(l) = input.level {
            filters.push(one("level", l.as_str().to_owned()));
        }
        if let Some(s) = input.school {
            filters.push(one("school", s.to_string()));
        }
        Self {
            words,
            vis: (!viewer.system).then(|| viewer.terms()),
            filters,
            sort: input.effective_sort(),
            offset: ((input.page.max(1) - 1) * input.per_page) as usize,
            limit: input.per_page.max(1) as usize,
        }
    }
}

/// A filter that matches any of `terms` and adds nothing to the score.
fn filter(mut terms: Vec<Term>) -> Box<dyn Query> {
    let inner: Box<dyn Query> = match (terms.pop(), terms.is_empty()) {
        (Some(t), true) => Box::new(TermQuery::new(t, IndexRecordOption::Basic)),
        (Some(t), false) => {
            terms.push(t);
            Box::new(TermSetQuery::new(terms))
        }
        (None, _) => Box::new(EmptyQuery),
    };
    Box::new(ConstScoreQuery::new(inner, 0.0))
}

/// The words' query: each word in the text field; all words, or any.
fn text_query(f: &Fields, words: &[String], any: bool) -> BooleanQuery {
    let per_word: Vec<Box<dyn Query>> = words
        .iter()
        .map(|w| {
            Box::new(TermQuery::new(
                Term::from_field_text(f.text, w),
                IndexRecordOption::WithFreqs,
            )) as Box<dyn Query>
        })
        .collect();
    if any {
        BooleanQuery::union(per_word)
    } else {
        BooleanQuery::intersection(per_word)
    }
}

fn build(
    f: &Fields,
    plan: &Plan,
    any: bool,
    visible: &Arc<VisibleCache>,
) -> (Box<dyn Query>, Option<BooleanQuery>) {
    let mut must: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    let text = (!plan.words.is_empty()).then(|| text_query(f, &plan.words, any));
    if let Some(t) = &text {
        must.push((Occur::Must, Box::new(t.clone())));
    }
    if let Some(vis) = &plan.vis {
        must.push((
            Occur::Must,
            Box::new(Visible {
                field: f.vis,
                terms: vis.clone(),
                cache: visible.clone(),
            }),
        ));
    }
    for facets in &plan.filters {
        must.push((
            Occur::Must,
            filter(
                facets
                    .iter()
                    .map(|x| Term::from_facet(f.facets, x))
                    .collect(),
            ),
        ));
    }
    let q: Box<dyn Query> = if must.is_empty() {
        Box::new(AllQuery)
    } else {
        Box::new(BooleanQuery::new(must))
    };
    (q, text)
}

fn collect(
    searcher: &Searcher,
    q: &dyn Query,
    plan: &Plan,
    maps: &FacetMaps,
) -> tantivy::Result<(Vec<DocAddress>, u64, Counts)> {
    let fc = FacetCounter { maps };
    let top = TopDocs::with_limit(plan.limit).and_offset(plan.offset);
    Ok(match plan.sort {
        Sort::Relevance => {
            let (hits, n, c) = searcher.search(q, &(top.order_by_score(), Count, fc))?;
            (hits.into_iter().map(|h| h.1).collect(), n as u64, c)
        }
        Sort::Newest => {
            let (hits, n, c) = searcher.search(
                q,
                &(
                    top.order_by_fast_field::<i64>(schema::CREATED, Order::Desc),
                    Count,
                    fc,
                ),
            )?;
            (hits.into_iter().map(|h| h.1).collect(), n as u64, c)
        }
        Sort::Quality => {
            let (hits, n, c) = searcher.search(
                q,
                &(
                    top.order_by_fast_field::<f64>(schema::QUALITY, Order::Desc),
                    Count,
                    fc,
                ),
            )?;
            (hits.into_iter().map(|h| h.1).collect(), n as u64, c)
        }
    })
}

/// Runs `plan` on the index (blocking: call from a blocking thread).
pub(crate) fn run(open: &Open, plan: &Plan) -> tantivy::Result<Found> {
    let searcher = open.reader.searcher();
    let f = open.fields;
    let (q, mut text) = build(&f, plan, false, &open.visible);
    let (mut addrs, mut total, mut counts) =
        collect(&searcher, q.as_ref(), plan, &open.facet_maps)?;
    let mut any_word = false;
    if total == 0 && plan.words.len() > 1 {
        let (q, t) = build(&f, plan, true, &open.visible);
        (addrs, total, counts) = collect(&searcher, q.as_ref(), plan, &open.facet_maps)?;
        text = t;
        any_word = true;
    }
    let mut ids = Vec::with_capacity(addrs.len());
    for a in addrs {
        let d: TantivyDocument = searcher.doc(a)?;
        if let Some(id) = d
            .get_first(f.id)
            .and_then(|v| v.as_str())
            .and_then(|s| s.parse().ok())
        {
            ids.push(id);
        }
    }
    let snippets = match text {
        Some(t) if !ids.is_empty() => Some([
            {
                // Titles are highlighted whole.
                let mut g = SnippetGenerator::create(&searcher, &t, f.text)?;
                g.set_max_num_chars(TITLE_BYTES);
                g
            },
            {
                let mut g = SnippetGenerator::create(&searcher, &t, f.text)?;
                g.set_max_num_chars(PASSAGE_BYTES);
                g
            },
        ]),
        _ => None,
    };
    let counts = SHOWN.iter().map(|(d, _)| *d).zip(counts).collect();
    Ok(Found {
        ids,
        total,
        counts,
        any_word,
        words: plan.words.clone(),
        snippets,
    })
}

/// Asks the index (on a blocking thread) for `input` as `viewer` sees it.
pub(crate) async fn find(cx: &Ctx<'_>, viewer: &Viewer, input: &SearchInput) -> AppResult<Found> {
    let open = store::current(cx.state)?;
    let plan = Plan::new(input, viewer);
    tokio::task::spawn_blocking(move || run(&open, &plan).map_err(err))
        .await
        .map_err(err)?
}

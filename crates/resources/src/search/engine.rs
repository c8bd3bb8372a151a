//! Running a search: the words of the query (all required, else any), the viewer's visibility
//! terms and the filters as one boolean query; the page of hits, the total and every facet's
//! counts in one pass; then the hits' rows (current titles, names, text for snippets) from the
//! database, checked once more against the viewer.

use super::input::{SearchInput, Sort};
use super::schema::{self, Fields};
use super::store::{self, Open, err};
use super::tokenizer;
use crate::access::Viewer;
use kernel::{AppResult, Ctx, ResourceId};
use tantivy::collector::{Count, FacetCollector, FacetCounts, TopDocs};
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, ConstScoreQuery, EmptyQuery, Occur, Query, TermQuery,
    TermSetQuery,
};
use tantivy::schema::{Facet, IndexRecordOption, Value};
use tantivy::snippet::SnippetGenerator;
use tantivy::{DocAddress, Order, Searcher, TantivyDocument, Term};

/// Field boosts: a word in the title counts most, then the tags.
const TITLE_BOOST: f32 = 3.0;
const TAGS_BOOST: f32 = 2.0;
/// Longer than any title, so a title is one fragment.
const TITLE_BYTES: usize = 2_048;

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
    /// Snippet generators for the title, the description and the body.
    pub snippets: Option<[SnippetGenerator; 3]>,
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

fn term(field: tantivy::schema::Field, word: &str, boost: f32) -> Box<dyn Query> {
    let q: Box<dyn Query> = Box::new(TermQuery::new(
        Term::from_field_text(field, word),
        IndexRecordOption::WithFreqs,
    ));
    if boost == 1.0 {
        q
    } else {
        Box::new(BoostQuery::new(q, boost))
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

/// The words' query: each word in the title, tags, description or body; all words, or any.
fn text_query(f: &Fields, words: &[String], any: bool) -> BooleanQuery {
    let per_word: Vec<Box<dyn Query>> = words
        .iter()
        .map(|w| {
            Box::new(BooleanQuery::union(vec![
                term(f.title, w, TITLE_BOOST),
                term(f.tags, w, TAGS_BOOST),
                term(f.description, w, 1.0),
                term(f.body, w, 1.0),
            ])) as Box<dyn Query>
        })
        .collect();
    if any {
        BooleanQuery::union(per_word)
    } else {
        BooleanQuery::intersection(per_word)
    }
}

fn build(f: &Fields, plan: &Plan, any: bool) -> (Box<dyn Query>, Option<BooleanQuery>) {
    let mut must: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    let text = (!plan.words.is_empty()).then(|| text_query(f, &plan.words, any));
    if let Some(t) = &text {
        must.push((Occur::Must, Box::new(t.clone())));
    }
    if let Some(vis) = &plan.vis {
        must.push((
            Occur::Must,
            filter(
                vis.iter()
                    .map(|t| Term::from_field_text(f.vis, t))
                    .collect(),
            ),
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
) -> tantivy::Result<(Vec<DocAddress>, u64, FacetCounts)> {
    let mut fc = FacetCollector::for_field(schema::FACETS);
    for (dim, _) in SHOWN {
        fc.add_facet(Facet::from_path([*dim]));
    }
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
    let (q, mut text) = build(&f, plan, false);
    let (mut addrs, mut total, mut counts) = collect(&searcher, q.as_ref(), plan)?;
    let mut any_word = false;
    if total == 0 && plan.words.len() > 1 {
        let (q, t) = build(&f, plan, true);
        (addrs, total, counts) = collect(&searcher, q.as_ref(), plan)?;
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
                let mut g = SnippetGenerator::create(&searcher, &t, f.title)?;
                g.set_max_num_chars(TITLE_BYTES);
                g
            },
            SnippetGenerator::create(&searcher, &t, f.description)?,
            SnippetGenerator::create(&searcher, &t, f.body)?,
        ]),
        _ => None,
    };
    let counts = SHOWN
        .iter()
        .map(|(dim, k)| {
            let values = counts
                .top_k(Facet::from_path([*dim]), *k)
                .into_iter()
                .filter_map(|(facet, n)| Some((facet.to_path().get(1)?.to_string(), n)))
                .collect();
            (*dim, values)
        })
        .collect();
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

//! Resources as index documents: their rows, catalogue nodes (with every node above them),
//! audience and extracted text, read in batches.

use super::schema::Fields;
use chrono::{DateTime, Utc};
use kernel::{AppResult, CatalogId, Db, NodeId, PersonId, ResourceId, on_db};
use std::collections::HashMap;
use tantivy::TantivyDocument;
use tantivy::schema::Facet;

/// Ids in one `IN (…)` list (SQLite's variable limit, PostgreSQL's plan size).
const CHUNK: usize = 500;

/// The extracted text indexed per resource, at most (bytes; cut at a character boundary).
const MAX_BODY_BYTES: usize = 256 * 1024;

/// How many times the title and the tags go into the text field (see [`super::schema`]).
const TITLE_WEIGHT: usize = 3;
const TAGS_WEIGHT: usize = 2;

/// The catalogue as a tree in memory: each node's parent and kind.
#[derive(Default)]
pub struct Catalog {
    nodes: HashMap<CatalogId, (Option<CatalogId>, String)>,
}

impl Catalog {
    pub async fn load(db: &Db) -> AppResult<Self> {
        let rows: Vec<(CatalogId, Option<CatalogId>, String)> = on_db!(db, p => sqlx::query_as(
            "SELECT id, parent_id, kind FROM catalog_nodes",
        ).fetch_all(p).await)?;
        Ok(Self {
            nodes: rows.into_iter().map(|(id, p, k)| (id, (p, k))).collect(),
        })
    }

    /// The facet dimension of a node's kind (`unit` is the chapter).
    fn dimension(kind: &str) -> Option<&'static str> {
        Some(match kind {
            "stage" => "stage",
            "subject" => "subject",
            "edition" => "edition",
            "volume" => "volume",
            "unit" => "chapter",
            "section" => "section",
            _ => return None,
        })
    }

    /// `(dimension, id)` of the node and every node above it.
    fn path(&self, node: CatalogId, out: &mut Vec<(&'static str, CatalogId)>) {
        let mut at = Some(node);
        let mut guard = 0;
        while let Some(id) = at {
            let Some((parent, kind)) = self.nodes.get(&id) else {
                break;
            };
            if let Some(d) = Self::dimension(kind)
                && !out.contains(&(d, id))
            {
                out.push((d, id));
            }
            at = *parent;
            guard += 1;
            if guard > 16 {
                break;
            }
        }
    }
}

/// A resource with what its document needs.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Source {
    pub id: ResourceId,
    pub org_id: NodeId,
    pub author_id: PersonId,
    pub title: String,
    pub description: String,
    pub kind: String,
    pub tags: String,
    pub scope: String,
    pub quality: f64,
    pub created_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
    pub for_students: bool,
    pub text: Option<String>,
    #[sqlx(skip)]
    pub catalog: Vec<CatalogId>,
    #[sqlx(skip)]
    pub audience: Vec<(String, NodeId)>,
}

const SELECT: &str = "SELECT r.id, r.org_id, r.author_id, r.title, r.description, r.kind, r.tags, \
     r.scope, r.quality, r.created_at, r.deleted_at, r.for_students, b.text \
     FROM resources r LEFT JOIN blobs b ON b.hash = r.blob_hash";

fn push_ids<DB: sqlx::Database>(qb: &mut sqlx::QueryBuilder<DB>, ids: &[ResourceId])
where
    for<'t> ResourceId: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
{
    qb.push(" IN (");
    let mut sep = qb.separated(", ");
    for id in ids {
        sep.push_bind(*id);
    }
    sep.push_unseparated(")");
}

/// The resources of `ids` that exist (deleted ones included: their documents are removed).
pub async fn load(db: &Db, ids: &[ResourceId]) -> AppResult<Vec<Source>> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(CHUNK) {
        let rows: Vec<Source> = on_db!(db, p => {
            let mut qb = sqlx::QueryBuilder::new(SELECT);
            qb.push(" WHERE r.id");
            push_ids(&mut qb, chunk);
            qb.build_query_as().fetch_all(p).await
        })?;
        out.extend(rows);
    }
    attach(db, &mut out).await?;
    Ok(out)
}

/// The next `limit` live resources after `after` in id order (for a rebuild).
pub async fn page(db: &Db, after: Option<ResourceId>, limit: i64) -> AppResult<Vec<Source>> {
    let mut rows: Vec<Source> = on_db!(db, p => {
        let mut qb = sqlx::QueryBuilder::new(SELECT);
        qb.push(" WHERE r.deleted_at IS NULL");
        if let Some(a) = after {
            qb.push(" AND r.id > ").push_bind(a);
        }
        qb.push(" ORDER BY r.id LIMIT ").push_bind(limit);
        qb.build_query_as().fetch_all(p).await
    })?;
    attach(db, &mut rows).await?;
    Ok(rows)
}

/// Fills in the catalogue nodes and audience of each source.
async fn attach(db: &Db, sources: &mut [Source]) -> AppResult<()> {
    let ids: Vec<ResourceId> = sources.iter().map(|s| s.id).collect();
    let mut catalog: HashMap<ResourceId, Vec<CatalogId>> = HashMap::new();
    let mut audience: HashMap<ResourceId, Vec<(String, NodeId)>> = HashMap::new();
    for chunk in ids.chunks(CHUNK) {
        let rows: Vec<(ResourceId, CatalogId)> = on_db!(db, p => {
            let mut qb = sqlx::QueryBuilder::new("SELECT resource_id, catalog_id FROM resource_catalog WHERE resource_id");
            push_ids(&mut qb, chunk);
            qb.build_query_as().fetch_all(p).await
        })?;
        for (r, c) in rows {
            catalog.entry(r).or_default().push(c);
        }
        let rows: Vec<(ResourceId, String, NodeId)> = on_db!(db, p => {
            let mut qb = sqlx::QueryBuilder::new("SELECT resource_id, kind, node_id FROM resource_audience WHERE resource_id");
            push_ids(&mut qb, chunk);
            qb.build_query_as().fetch_all(p).await
        })?;
        for (r, k, n) in rows {
            audience.entry(r).or_default().push((k, n));
        }
    }
    for s in sources.iter_mut() {
        s.catalog = catalog.remove(&s.id).unwrap_or_default();
        s.audience = audience.remove(&s.id).unwrap_or_default();
    }
    Ok(())
}

/// The visibility terms of a source: its author, and its audience rows (`v:` members of a node
/// see it, `o:` administrators of a node see it), as [`crate::access::Audience::terms`] makes
/// them. A private resource has no audience rows: its author alone finds it. One shared with
/// students also has `s:` terms for the nodes whose members see it: their students see it.
pub fn visibility(s: &Source) -> Vec<String> {
    let mut t = vec![format!("a:{}", s.author_id)];
    if s.scope != "private" {
        t.extend(s.audience.iter().map(|(k, n)| format!("{k}:{n}")));
        if s.for_students {
            t.extend(
                s.audience
                    .iter()
                    .filter(|(k, _)| k == "v")
                    .map(|(_, n)| format!("s:{n}")),
            );
        }
    }
    t
}

fn cut(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// The document of a live resource.
pub fn document(f: &Fields, catalog: &Catalog, s: &Source) -> TantivyDocument {
    let mut d = TantivyDocument::default();
    d.add_text(f.id, s.id.to_string());
    for _ in 0..TITLE_WEIGHT {
        d.add_text(f.text, &s.title);
    }
    for _ in 0..TAGS_WEIGHT {
        d.add_text(f.text, &s.tags);
    }
    d.add_text(f.text, &s.description);
    if let Some(text) = &s.text {
        d.add_text(f.text, cut(text, MAX_BODY_BYTES));
    }
    let mut nodes = Vec::new();
    for c in &s.catalog {
        catalog.path(*c, &mut nodes);
    }
    for (dim, id) in nodes {
        d.add_facet(f.facets, Facet::from_path([dim.to_owned(), id.to_string()]));
    }
    d.add_facet(f.facets, Facet::from_path(["kind", s.kind.as_str()]));
    d.add_facet(f.facets, Facet::from_path(["level", s.scope.as_str()]));
    d.add_facet(
        f.facets,
        Facet::from_path(["school".to_owned(), s.org_id.to_string()]),
    );
    for t in visibility(s) {
        d.add_text(f.vis, t);
    }
    d.add_text(f.author, s.author_id.to_string());
    d.add_f64(f.quality, s.quality);
    d.add_i64(f.created, s.created_at.timestamp_millis());
    d
}

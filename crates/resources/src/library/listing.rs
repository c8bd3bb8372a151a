//! Lists of resources: the actor's own (with each one's state), and those the actor sees.

use crate::access::Viewer;
use crate::model::{COLUMNS, Level, ResourceRow, Scope};
use kernel::paging::{PageQuery, Paged};
use kernel::{AppResult, Ctx, on_db};
use serde::{Deserialize, Serialize};

/// A resource in a list, with its author's and school's names.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct ResourceItem {
    #[sqlx(flatten)]
    #[serde(flatten)]
    pub resource: ResourceRow,
    pub author_name: String,
    pub org_name: String,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListFilter {
    /// Only the caller's own resources.
    pub mine: Option<bool>,
    /// private | school | district | city
    pub scope: Option<String>,
    /// school | district | city: waiting for that level's review; `any` for any.
    pub pending: Option<String>,
    /// A resource kind.
    pub kind: Option<String>,
    /// Only resources shared beyond their author (the home page's 最新共享).
    pub shared: Option<bool>,
    /// Only this author's resources (those the caller may see).
    pub author: Option<kernel::PersonId>,
}

/// The resources the actor sees (or only their own), newest first.
pub async fn list(
    cx: &Ctx<'_>,
    f: &ListFilter,
    page: &PageQuery,
) -> AppResult<Paged<ResourceItem>> {
    let viewer = Viewer::of(cx.db(), cx.actor).await?;
    let scope = f.scope.as_deref().and_then(Scope::parse).map(Scope::as_str);
    let kind = f.kind.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let (pending_any, pending) = match f.pending.as_deref() {
        Some("any") => (true, None),
        Some(l) => (false, Level::parse(l).map(Level::as_str)),
        None => (false, None),
    };
    let mine = f.mine.unwrap_or(false);
    let (me, nodes) = viewer.filter_params();
    let visible = if mine {
        "r.author_id = $1".to_owned()
    } else {
        viewer.filter_sql(6)
    };
    // filter_sql numbers its person from $6; $1 is the person again for `mine`.
    let filter = format!(
        "FROM resources r JOIN persons au ON au.id = r.author_id JOIN org_nodes o ON o.id = r.org_id
         WHERE r.deleted_at IS NULL AND ({visible}) AND ($1 IS NOT NULL)
           AND ($2 IS NULL OR r.scope = $2) AND ($3 IS NULL OR r.kind = $3)
           AND ($4 IS NULL OR r.pending_level = $4) AND ($5 = FALSE OR r.pending_level IS NOT NULL){}",
        if f.shared.unwrap_or(false) {
            " AND r.scope <> 'private'"
        } else {
            ""
        }
    );
    let n = if mine || viewer.system {
        0
    } else {
        nodes.len() + 1
    };
    // The author filter comes after the viewer's parameters.
    let filter = format!(
        "{filter} AND (${author} IS NULL OR r.author_id = ${author})",
        author = 6 + n
    );
    let list = format!(
        "SELECT {COLUMNS}, au.name AS author_name, o.name AS org_name {filter}
         ORDER BY r.created_at DESC, r.id DESC LIMIT ${} OFFSET ${}",
        7 + n,
        8 + n
    );
    let count = format!("SELECT COUNT(*) {filter}");
    macro_rules! bind_all {
        ($q:expr) => {{
            let mut q = $q
                .bind(me)
                .bind(scope)
                .bind(kind)
                .bind(pending)
                .bind(pending_any);
            if n > 0 {
                q = q.bind(me);
                for node in &nodes {
                    q = q.bind(*node);
                }
            }
            q.bind(f.author)
        }};
    }
    let items: Vec<ResourceItem> = on_db!(cx.db(), p => bind_all!(sqlx::query_as(sqlx::AssertSqlSafe(list.clone())))
        .bind(page.limit()).bind(page.offset()).fetch_all(p).await)?;
    let (total,): (i64,) = on_db!(cx.db(), p => bind_all!(sqlx::query_as(sqlx::AssertSqlSafe(count.clone())))
        .fetch_one(p).await)?;
    Ok(Paged::new(items, total, page))
}

/// The actor's own resources, newest first.
pub async fn mine(cx: &Ctx<'_>, page: &PageQuery) -> AppResult<Paged<ResourceItem>> {
    list(
        cx,
        &ListFilter {
            mine: Some(true),
            ..Default::default()
        },
        page,
    )
    .await
}

/// The resources the actor sees that are for any of `catalog` (a chapter and the nodes below
/// it, see [`crate::catalog::tree::subtree_ids`]), the best first, at most `limit` (a lesson
/// plan's choice of resources to place into its steps).
pub async fn on_catalog(
    cx: &Ctx<'_>,
    catalog: &[kernel::CatalogId],
    limit: i64,
) -> AppResult<Vec<ResourceItem>> {
    let viewer = Viewer::of(cx.db(), cx.actor).await?;
    viewer.require_reader()?;
    let mut out: Vec<ResourceItem> = Vec::new();
    let (me, nodes) = viewer.filter_params();
    let visible = viewer.filter_sql(1);
    let first = if viewer.system { 1 } else { 2 + nodes.len() };
    // Chunks keep SQLite's variable limit; each is ordered, the whole is sorted again below.
    for chunk in catalog.chunks(400) {
        let marks: Vec<String> = (0..chunk.len())
            .map(|i| format!("${}", first + i))
            .collect();
        let sql = format!(
            "SELECT {COLUMNS}, au.name AS author_name, o.name AS org_name
             FROM resources r JOIN persons au ON au.id = r.author_id JOIN org_nodes o ON o.id = r.org_id
             WHERE r.deleted_at IS NULL AND ({visible}) AND r.id IN
               (SELECT resource_id FROM resource_catalog WHERE catalog_id IN ({}))
             ORDER BY r.quality DESC, r.id LIMIT {limit}",
            marks.join(", ")
        );
        let rows: Vec<ResourceItem> = on_db!(cx.db(), p => {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()));
            if !viewer.system {
                q = q.bind(me);
                for n in &nodes {
                    q = q.bind(*n);
                }
            }
            for c in chunk {
                q = q.bind(*c);
            }
            q.fetch_all(p).await
        })?;
        out.extend(rows);
    }
    let mut seen = std::collections::HashSet::new();
    out.retain(|i| seen.insert(i.resource.id));
    out.sort_by(|a, b| b.resource.quality.total_cmp(&a.resource.quality));
    out.truncate(usize::try_from(limit).unwrap_or(0));
    Ok(out)
}

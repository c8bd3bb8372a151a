//! The people search: a subtree's people by name prefix, number or login name, in two plans
//! (see [`search`]).

use super::nodes;
use crate::model::PersonRow;
use crate::validate;
use kernel::authz::{self, Permission};
use kernel::paging::{PageQuery, Paged};
use kernel::{AppError, AppResult, Ctx, Db, NodeId, on_db};
use serde::Deserialize;

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// The subtree to search (defaults to the actor's first administered node).
    pub node: Option<NodeId>,
    /// A name prefix, or an exact staff number, registry number or login name.
    pub q: Option<String>,
    /// Only people with this role.
    pub role: Option<String>,
    /// Include deactivated people.
    pub include_inactive: Option<bool>,
    /// `name` (default) or `created`.
    pub sort: Option<String>,
}

/// Counts stop here; beyond it pages say "more than".
pub const COUNT_CAP: i64 = 1000;

/// Searches the people of a subtree the actor administers. Lists always mask personal data.
///
/// Two plans, both served by indexes. A school or class walks its few nodes and each node's
/// names (`persons_org_name`). A region walks the city's names in order (`persons_name`)
/// and keeps those inside the subtree; a district holds a large share of the city, so the first
/// page is found after a few hundred names instead of sorting every match in the district. The
/// walk is bounded; when it does not prove the page complete, the subtree plan answers.
pub async fn search(
    cx: &Ctx<'_>,
    q: &SearchQuery,
    page: &PageQuery,
) -> AppResult<Paged<PersonRow>> {
    let db = cx.db();
    let node = match q.node {
        Some(n) => n,
        None => *cx.actor.admin_nodes().first().ok_or(AppError::Forbidden)?,
    };
    let scope = nodes::get(cx, node).await?;
    authz::require(db, cx.actor, Permission::ViewPeople, node).await?;
    let search = Search::new(node, &scope.kind, q);
    let wide = matches!(scope.kind.as_str(), "province" | "city" | "district");
    // Enough names for the page when the subtree holds a fortieth of the region or more.
    let budget = ((page.offset() + page.limit()) * 40).clamp(1_000, 100_000);
    // The page and its count tolerate the replica's bounded lag (the permission above does not).
    let (items, total) = cx
        .state
        .read(|db| async {
            let items = search.find_page(db, wide, page, budget).await?;
            // Counting a whole city is costly and nobody pages through it: count up to the cap.
            Ok((items, search.count(db).await?))
        })
        .await?;
    let items = items
        .into_iter()
        .map(|mut r| {
            r.phone = r.phone.as_deref().map(kernel::privacy::mask_phone);
            r.registry_no = r
                .registry_no
                .as_deref()
                .map(kernel::privacy::mask_id_number);
            r
        })
        .collect();
    Ok(Paged::new(items, total, page))
}

#[derive(Clone, Copy)]
enum Plan {
    /// The subtree's nodes, then each node's names.
    Subtree,
    /// The region's names in order, at most `budget` of them, kept when inside the subtree.
    NamesFirst { budget: i64 },
}

/// How many levels below a node of this kind the nodes that hold people lie: people belong to
/// regions and schools (`people::create` takes no other), and a school is at most three levels
/// below a province (province, city, district, school; a city's own schools are one level
/// nearer). The subtree plan skips the grades and classes below, nine nodes in ten.
fn person_depth(kind: &str) -> i64 {
    match kind {
        "province" => 3,
        "city" => 2,
        "district" => 1,
        _ => 0,
    }
}

/// A people search, normalised once and run as one or two queries.
struct Search {
    node: NodeId,
    /// How far below the node people may belong (see [`person_depth`]).
    depth: i64,
    text: Option<String>,
    /// The text as a staff or registry number.
    exact: Option<String>,
    /// The end of the name-prefix range.
    upper: Option<String>,
    username: Option<String>,
    role: Option<String>,
    all: bool,
    by_created: bool,
}

impl Search {
    fn new(node: NodeId, kind: &str, q: &SearchQuery) -> Self {
        let text =
            q.q.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned);
        Search {
            node,
            depth: person_depth(kind),
            exact: text
                .as_deref()
                .map(|t| validate::normalize_code(t).to_uppercase()),
            upper: text.as_deref().map(|t| format!("{t}\u{10FFFF}")),
            username: text.as_deref().map(identity::accounts::normalize_username),
            text,
            role: q
                .role
                .as_deref()
                .filter(|r| kernel::Role::parse(r).is_some())
                .map(str::to_owned),
            all: q.include_inactive.unwrap_or(false),
            by_created: q.sort.as_deref() == Some("created"),
        }
    }

    /// The page, by walking `budget` names for a `wide` subtree when that proves complete,
    /// else by the subtree's nodes.
    async fn find_page(
        &self,
        db: &Db,
        wide: bool,
        page: &PageQuery,
        budget: i64,
    ) -> AppResult<Vec<PersonRow>> {
        if wide && !self.by_created {
            let items = self.page(db, Plan::NamesFirst { budget }, page).await?;
            // Complete when the page is full and its last row came from the walk: every name
            // not walked sorts after it.
            let complete = items.len() as i64 == page.limit()
                && items
                    .last()
                    .is_some_and(|r| self.text.as_deref().is_none_or(|t| r.name.starts_with(t)));
            if complete {
                return Ok(items);
            }
        }
        self.page(db, Plan::Subtree, page).await
    }

    /// The matches' ids and sort keys: the names in range (by `plan`), then exact numbers and
    /// login names (three index lookups, each checked against the subtree). With `top`, only
    /// the first `top` in order are needed (a page); without, all of them (a count).
    fn push_candidates<DB>(&self, qb: &mut sqlx::QueryBuilder<DB>, plan: Plan, top: Option<i64>)
    where
        DB: sqlx::Database,
        for<'t> String: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
        for<'t> NodeId: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
        for<'t> i64: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
    {
        let (cols, order) = if self.by_created {
            ("p.id, p.name, p.created_at", "p.created_at DESC, p.id")
        } else {
            ("p.id, p.name", "p.name, p.id")
        };
        let filters = |qb: &mut sqlx::QueryBuilder<DB>| {
            if !self.all {
                qb.push(" AND p.active = TRUE");
            }
            if let Some(r) = &self.role {
                qb.push(" AND EXISTS (SELECT 1 FROM role_assignments r WHERE r.person_id = p.id AND r.role = ");
                qb.push_bind(r.clone());
                qb.push(")");
            }
        };
        let in_subtree = |qb: &mut sqlx::QueryBuilder<DB>| {
            qb.push(" AND EXISTS (SELECT 1 FROM org_closure c WHERE c.descendant_id = p.org_id AND c.ancestor_id = ");
            qb.push_bind(self.node).push(")");
        };
        let range = self.text.as_ref().zip(self.upper.as_ref());
        match plan {
            // Node by node: each node's names in range by `persons_org_name`, so a count or a
            // page that stops early reads only the nodes it needs. Left free, both engines walk
            // every name in range in the whole region and keep those inside the subtree (on
            // PostgreSQL, 125,000 index entries for a surname at city scale). On PostgreSQL a
            // page takes each node's first `top` in order and sorts only those: a district's
            // page costs its nodes, not its matches (a name shared by thousands, 王伟 or 张伟,
            // defeats the names-first walk and lands here).
            Plan::Subtree if DB::NAME == "PostgreSQL" => {
                // LATERAL keeps the per-node subquery from being merged into a join (OFFSET 0
                // where no LIMIT does).
                qb.push(format!(
                    "SELECT {cols} FROM org_closure c CROSS JOIN LATERAL (SELECT {cols} FROM persons p WHERE p.org_id = c.descendant_id"
                ));
                if let Some((t, u)) = range {
                    qb.push(" AND p.name >= ").push_bind(t.clone());
                    qb.push(" AND p.name < ").push_bind(u.clone());
                }
                filters(qb);
                match top {
                    Some(n) => {
                        qb.push(format!(" ORDER BY {order} LIMIT "));
                        qb.push_bind(n);
                    }
                    None => {
                        qb.push(" OFFSET 0");
                    }
                }
                qb.push(") p WHERE c.ancestor_id = ");
                qb.push_bind(self.node);
                qb.push(" AND c.depth <= ").push_bind(self.depth);
            }
            Plan::Subtree => {
                // CROSS JOIN fixes SQLite's join order.
                qb.push(format!(
                    "SELECT {cols} FROM org_closure c CROSS JOIN persons p WHERE p.org_id = c.descendant_id AND c.ancestor_id = "
                ));
                qb.push_bind(self.node);
                qb.push(" AND c.depth <= ").push_bind(self.depth);
                if let Some((t, u)) = range {
                    qb.push(" AND p.name >= ").push_bind(t.clone());
                    qb.push(" AND p.name < ").push_bind(u.clone());
                }
            }
            Plan::NamesFirst { budget } => {
                qb.push(format!(
                    "SELECT {cols} FROM (SELECT p.id, p.name, p.org_id, p.active FROM persons p"
                ));
                if let Some((t, u)) = range {
                    qb.push(" WHERE p.name >= ").push_bind(t.clone());
                    qb.push(" AND p.name < ").push_bind(u.clone());
                }
                qb.push(" ORDER BY p.name, p.id LIMIT ").push_bind(budget);
                qb.push(") p WHERE TRUE");
                in_subtree(qb);
            }
        }
        if !(matches!(plan, Plan::Subtree) && DB::NAME == "PostgreSQL") {
            filters(qb);
        }
        if let (Some((t, u)), Some(e), Some(name)) = (range, &self.exact, &self.username) {
            qb.push(format!(" UNION ALL SELECT {cols} FROM persons p WHERE p.id IN (SELECT x.id FROM persons x WHERE x.staff_no = "));
            qb.push_bind(e.clone());
            qb.push(" UNION SELECT x.id FROM persons x WHERE x.registry_no = ")
                .push_bind(e.clone());
            qb.push(" UNION SELECT a.person_id FROM accounts a WHERE a.username = ")
                .push_bind(name.clone());
            qb.push(")");
            in_subtree(qb);
            qb.push(" AND NOT (p.name >= ").push_bind(t.clone());
            qb.push(" AND p.name < ").push_bind(u.clone()).push(")");
            filters(qb);
        }
    }

    /// One page of rows: sort the candidates' keys, then fetch the page's rows by id.
    async fn page(&self, db: &Db, plan: Plan, page: &PageQuery) -> AppResult<Vec<PersonRow>> {
        Ok(on_db!(db, pool => {
            let mut qb = sqlx::QueryBuilder::new("SELECT p.id, p.name, p.gender, p.staff_no, p.registry_no, p.phone, p.active, p.org_id, n.name AS org_name FROM (SELECT * FROM (");
            self.push_candidates(&mut qb, plan, Some(page.offset() + page.limit()));
            let order = if self.by_created { "created_at DESC, id" } else { "name, id" };
            qb.push(format!(") u ORDER BY {order} LIMIT "));
            qb.push_bind(page.limit()).push(" OFFSET ").push_bind(page.offset());
            // CROSS JOIN: fetch the page's rows by id; left free, SQLite 3.51 walks every
            // person in name order to skip the final sort.
            qb.push(") k CROSS JOIN persons p JOIN org_nodes n ON n.id = p.org_id WHERE p.id = k.id ORDER BY ");
            qb.push(if self.by_created { "k.created_at DESC, k.id" } else { "k.name, k.id" });
            qb.build_query_as().fetch_all(pool).await
        })?)
    }

    /// The number of matches, up to [`COUNT_CAP`] + 1.
    async fn count(&self, db: &Db) -> AppResult<i64> {
        let (n,): (i64,) = on_db!(db, pool => {
            let mut qb = sqlx::QueryBuilder::new("SELECT COUNT(*) FROM (SELECT * FROM (");
            self.push_candidates(&mut qb, Plan::Subtree, None);
            qb.push(") u LIMIT ").push_bind(COUNT_CAP + 1).push(") t");
            qb.build_query_as().fetch_one(pool).await
        })?;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kernel::{AppState, Clock, Config, PersonId};

    fn ids(rows: &[PersonRow]) -> Vec<PersonId> {
        rows.iter().map(|r| r.id).collect()
    }

    /// Whatever the walk's budget, a region's pages equal those of the subtree plan.
    #[tokio::test]
    async fn names_first_pages_equal_subtree_pages() {
        let tdb = kernel::testing::test_db(&[&crate::SCHEMA]).await.unwrap();
        let config = Config {
            password: kernel::config::PasswordConfig {
                memory_kib: 1024,
                iterations: 1,
                parallelism: 1,
            },
            ..Default::default()
        };
        let state = AppState::new(tdb.db.clone(), config, Clock::System);
        assert!(crate::demo::load(&state).await.unwrap());
        let db = &tdb.db;
        let regions: Vec<(NodeId, String)> = on_db!(db, p => sqlx::query_as(
            "SELECT id, kind FROM org_nodes WHERE kind IN ('city', 'district') ORDER BY code"
        ).fetch_all(p).await)
        .unwrap();
        assert_eq!(regions.len(), 3, "the demo has a city and two districts");
        let mut texts: Vec<Option<&str>> =
            vec![None, Some("王子"), Some("teacher"), Some("无此人")];
        texts.extend(["王", "李", "张", "高"].map(Some));
        let mut walked = 0;
        for (node, kind) in &regions {
            let node = *node;
            for text in &texts {
                for role in [None, Some("student")] {
                    let q = SearchQuery {
                        node: Some(node),
                        q: text.map(str::to_owned),
                        role: role.map(str::to_owned),
                        ..Default::default()
                    };
                    let search = Search::new(node, kind, &q);
                    for per_page in [3, 100] {
                        for n in 1..=4 {
                            let page = PageQuery {
                                page: Some(n),
                                per_page: Some(per_page),
                            };
                            let want = search.page(db, Plan::Subtree, &page).await.unwrap();
                            for budget in [1, 3, 10, 1_000] {
                                let got = search.find_page(db, true, &page, budget).await.unwrap();
                                assert_eq!(
                                    ids(&got),
                                    ids(&want),
                                    "{text:?} {role:?} page {n} of {per_page}, budget {budget}"
                                );
                            }
                            let direct = search
                                .page(db, Plan::NamesFirst { budget: 100_000 }, &page)
                                .await
                                .unwrap();
                            assert_eq!(ids(&direct), ids(&want));
                            walked += direct.len();
                        }
                    }
                }
            }
        }
        assert!(walked > 500, "the queries found people ({walked})");
        tdb.drop_db().await;
    }
}

//! Opening rates (开通率): for each kind of space, how many of those who should have one have
//! opened it, at a school or region and at each node just below it, against the plans' targets
//! (every region, school, class and teacher; half of students and guardians) and the day they
//! are due (20 September of the school year), per term: the spaces opened by the term's end
//! (by now for the term in progress), and how many of them by the due day. Those who should
//! have one are counted as they are now (the directory keeps no history of who was where).

use super::model::Kind;
use crate::scope;
use askama::Template;
use axum::response::Response;
use chrono::{DateTime, NaiveDate, Utc};
use kernel::{AppError, AppResult, Ctx, NodeId, on_db};
use serde::Serialize;
use web::{IdPath, Page, PageCtx, render};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Rate {
    pub kind: Kind,
    /// Those who should have a space.
    pub eligible: i64,
    /// Opened by the end of the term.
    pub opened: i64,
    /// Opened by the school year's due day.
    pub by_due: i64,
    pub target_percent: i64,
}

impl Rate {
    pub fn percent(&self) -> i64 {
        if self.eligible == 0 {
            100
        } else {
            self.opened * 100 / self.eligible
        }
    }
    pub fn met(&self) -> bool {
        self.opened * 100 >= self.target_percent * self.eligible
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Row {
    pub node_id: NodeId,
    pub label: String,
    /// Whether it has nodes below it to drill into.
    pub region: bool,
    pub rates: Vec<Rate>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Rates {
    pub total: Row,
    pub below: Vec<Row>,
    /// The term counted.
    pub term: resources::stats::terms::TermRef,
    /// The region's terms (none: the calendar's).
    pub terms: Vec<resources::stats::terms::TermRef>,
    /// The day the targets are due in the term's school year.
    pub due: NaiveDate,
}

const ELIGIBLE: [(Kind, &str); 6] = [
    (Kind::Region, "SELECT COUNT(*) FROM org_closure c JOIN org_nodes n ON n.id = c.descendant_id
        WHERE c.ancestor_id = $1 AND n.active = TRUE AND n.kind IN ('province', 'city', 'district')"),
    (Kind::School, "SELECT COUNT(*) FROM org_closure c JOIN org_nodes n ON n.id = c.descendant_id
        WHERE c.ancestor_id = $1 AND n.active = TRUE AND n.kind = 'school'"),
    (Kind::Class, "SELECT COUNT(*) FROM org_closure c JOIN org_nodes n ON n.id = c.descendant_id
        WHERE c.ancestor_id = $1 AND n.active = TRUE AND n.kind = 'class'"),
    (Kind::Teacher, "SELECT COUNT(DISTINCT r.person_id) FROM org_closure c JOIN role_assignments r ON r.node_id = c.descendant_id
        JOIN persons p ON p.id = r.person_id AND p.active = TRUE
        WHERE c.ancestor_id = $1 AND r.role IN ('teacher', 'head_teacher')"),
    (Kind::Student, "SELECT COUNT(DISTINCT r.person_id) FROM org_closure c JOIN role_assignments r ON r.node_id = c.descendant_id
        JOIN persons p ON p.id = r.person_id AND p.active = TRUE
        WHERE c.ancestor_id = $1 AND r.role = 'student'"),
    (Kind::Guardian, "SELECT COUNT(DISTINCT g.person_id) FROM org_closure c JOIN role_assignments r ON r.node_id = c.descendant_id
        JOIN role_assignments g ON g.student_id = r.person_id AND g.role = 'guardian'
        JOIN persons p ON p.id = g.person_id AND p.active = TRUE
        WHERE c.ancestor_id = $1 AND r.role = 'student'"),
];

/// The rates at a node: spaces opened before `until`, and before `due`.
async fn rates_of(
    db: &kernel::Db,
    node: NodeId,
    until: DateTime<Utc>,
    due: DateTime<Utc>,
) -> AppResult<Vec<Rate>> {
    let opened: Vec<(String, i64, i64)> = on_db!(db, p => sqlx::query_as(
        "SELECT s.kind, COUNT(*), COUNT(*) FILTER (WHERE s.opened_at < $3)
         FROM spaces s JOIN org_closure c ON c.descendant_id = s.node_id
         WHERE c.ancestor_id = $1 AND s.opened_at < $2 GROUP BY s.kind",
    ).bind(node).bind(until).bind(due).fetch_all(p).await)?;
    let mut out = Vec::with_capacity(ELIGIBLE.len());
    for (kind, sql) in ELIGIBLE {
        let (eligible,): (i64,) =
            on_db!(db, p => sqlx::query_as(sql).bind(node).fetch_one(p).await)?;
        let (opened, by_due) = opened
            .iter()
            .find(|(k, _, _)| k == kind.as_str())
            .map(|(_, n, d)| (*n, *d))
            .unwrap_or((0, 0));
        out.push(Rate {
            kind,
            eligible,
            opened,
            by_due,
            target_percent: kind.target_percent(),
        });
    }
    Ok(out)
}

/// The rates at a node and at each region or school just below it in a term (the one in
/// progress unless asked): its administrators only.
pub async fn of_node(cx: &Ctx<'_>, node: NodeId, term: Option<(i64, i64)>) -> AppResult<Rates> {
    if !scope::administers(cx.db(), cx.actor, node).await? {
        return Err(AppError::NotFound("directory.node_not_found"));
    }
    let terms = resources::stats::terms::of_node(cx.db(), node).await?;
    let term = resources::stats::terms::pick(&terms, term, cx.today())?;
    let zone = cx.state.config.time_zone;
    let until = term.bounds(zone).1;
    let due_day = NaiveDate::from_ymd_opt(i32::try_from(term.school_year).unwrap_or(2000), 9, 20)
        .unwrap_or(term.starts_on);
    let due_end = zone.day_start(due_day + chrono::Duration::days(1));
    let label = scope::label(cx.db(), node).await?.unwrap_or_default();
    let children: Vec<(NodeId, String)> = on_db!(cx.db(), p => sqlx::query_as(
        "SELECT id, kind FROM org_nodes WHERE parent_id = $1 AND active = TRUE
         AND kind IN ('province', 'city', 'district', 'school') ORDER BY kind, name LIMIT 300",
    ).bind(node).fetch_all(p).await)?;
    let mut below = Vec::with_capacity(children.len());
    for (id, kind) in children {
        below.push(Row {
            node_id: id,
            label: scope::label(cx.db(), id).await?.unwrap_or_default(),
            region: kind != "school",
            rates: rates_of(cx.db(), id, until, due_end).await?,
        });
    }
    Ok(Rates {
        total: Row {
            node_id: node,
            label,
            region: true,
            rates: rates_of(cx.db(), node, until, due_end).await?,
        },
        below,
        term,
        terms,
        due: due_day,
    })
}

#[derive(Template)]
#[template(path = "space/rates.html")]
struct RatesPage {
    ctx: PageCtx,
    rates: Rates,
    kinds: [Kind; 6],
    /// The terms to choose from: the region's, or the last four of the calendar.
    terms: Vec<resources::stats::terms::TermRef>,
}

impl RatesPage {
    fn term_label(&self, t: &resources::stats::terms::TermRef) -> String {
        self.ctx.tf(
            "space.term",
            &[
                ("year", &t.school_year.to_string()),
                ("next", &(t.school_year + 1).to_string()),
                ("term", &t.term.to_string()),
            ],
        )
    }
}

#[derive(serde::Deserialize)]
pub struct TermQuery {
    term: Option<String>,
}

pub async fn page(
    page: Page,
    IdPath(node): IdPath<NodeId>,
    axum::extract::Query(q): axum::extract::Query<TermQuery>,
) -> AppResult<Response> {
    let cx = page.cx();
    let asked = q.term.as_deref().and_then(resources::stats::terms::parse);
    let rates = of_node(&cx, node, asked).await?;
    let mut terms = rates.terms.clone();
    if terms.is_empty() {
        let mut day = cx.today();
        for _ in 0..4 {
            let t = resources::stats::terms::TermRef::calendar(day);
            day = t.starts_on - chrono::Duration::days(1);
            terms.push(t);
        }
    }
    terms.sort_by_key(|t| std::cmp::Reverse(t.starts_on));
    terms.retain(|t| t.starts_on <= cx.today());
    terms.truncate(8);
    Ok(render(&RatesPage {
        ctx: page.ctx(),
        rates,
        kinds: Kind::ALL,
        terms,
    }))
}

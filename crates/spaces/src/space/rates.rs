//! Opening rates (开通率): for each kind of space, how many of those who should have one have
//! opened it, at a school or region and at each node just below it, against the plans' targets
//! (every region, school, class and teacher; half of students and guardians) and the day they
//! are due (20 September of the school year).

use super::model::Kind;
use crate::scope;
use askama::Template;
use axum::response::Response;
use chrono::{Datelike, NaiveDate};
use kernel::{AppError, AppResult, Ctx, NodeId, on_db};
use serde::Serialize;
use web::{IdPath, Page, PageCtx, render};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Rate {
    pub kind: Kind,
    /// Those who should have a space.
    pub eligible: i64,
    pub opened: i64,
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
    /// The day the targets are due this school year.
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

async fn rates_of(db: &kernel::Db, node: NodeId) -> AppResult<Vec<Rate>> {
    let opened: Vec<(String, i64)> = on_db!(db, p => sqlx::query_as(
        "SELECT s.kind, COUNT(*) FROM spaces s JOIN org_closure c ON c.descendant_id = s.node_id
         WHERE c.ancestor_id = $1 GROUP BY s.kind",
    ).bind(node).fetch_all(p).await)?;
    let mut out = Vec::with_capacity(ELIGIBLE.len());
    for (kind, sql) in ELIGIBLE {
        let (eligible,): (i64,) =
            on_db!(db, p => sqlx::query_as(sql).bind(node).fetch_one(p).await)?;
        let opened = opened
            .iter()
            .find(|(k, _)| k == kind.as_str())
            .map(|(_, n)| *n)
            .unwrap_or(0);
        out.push(Rate {
            kind,
            eligible,
            opened,
            target_percent: kind.target_percent(),
        });
    }
    Ok(out)
}

/// The day the opening targets are due in the school year of `today`.
pub fn due(today: NaiveDate) -> NaiveDate {
    let year = if today.month() >= 9 {
        today.year()
    } else {
        today.year() - 1
    };
    NaiveDate::from_ymd_opt(year, 9, 20).unwrap_or(today)
}

/// The rates at a node and at each region or school just below it: its administrators only.
pub async fn of_node(cx: &Ctx<'_>, node: NodeId) -> AppResult<Rates> {
    if !scope::administers(cx.db(), cx.actor, node).await? {
        return Err(AppError::NotFound("directory.node_not_found"));
    }
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
            rates: rates_of(cx.db(), id).await?,
        });
    }
    Ok(Rates {
        total: Row {
            node_id: node,
            label,
            region: true,
            rates: rates_of(cx.db(), node).await?,
        },
        below,
        due: due(cx.today()),
    })
}

#[derive(Template)]
#[template(path = "space/rates.html")]
struct RatesPage {
    ctx: PageCtx,
    rates: Rates,
    kinds: [Kind; 6],
}

pub async fn page(page: Page, IdPath(node): IdPath<NodeId>) -> AppResult<Response> {
    let rates = of_node(&page.cx(), node).await?;
    Ok(render(&RatesPage {
        ctx: page.ctx(),
        rates,
        kinds: Kind::ALL,
    }))
}

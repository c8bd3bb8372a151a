//! The analysis pages: a test's (or any marked work's) analysis per class and item, and a
//! class's mastery heat map with what each student practised.

use super::chart::{self, Bars, Heat};
use super::{Analysis, ItemRow, mastery, stats};
use crate::assignments::{self, AssignmentId};
use crate::practice::{self, StudentPractice};
use askama::Template;
use axum::Router;
use axum::extract::Query;
use axum::response::Response;
use axum::routing::get;
use kernel::{AppError, AppResult, AppState, Ctx, NodeId, PersonId, on_db};
use resources::catalog::progress::{self, TaughtClass};
use serde::Deserialize;
use web::{IdPath, Page, PageCtx, render};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/teaching/assignments/{id}/analysis", get(analysis))
        .route("/teaching/mastery", get(class_mastery))
}

#[derive(Deserialize)]
pub struct ClassQuery {
    class: Option<String>,
    subject: Option<String>,
}

fn parse_class(q: &Option<String>) -> AppResult<Option<NodeId>> {
    match q.as_deref().filter(|c| !c.is_empty()) {
        None => Ok(None),
        Some(c) => c
            .parse()
            .map(Some)
            .map_err(|_| AppError::NotFound("teaching.class_not_found")),
    }
}

#[derive(Template)]
#[template(path = "analysis/test.html")]
struct AnalysisPage {
    ctx: PageCtx,
    an: Analysis,
    class: Option<NodeId>,
    histogram: Bars,
    difficulty: Bars,
}

impl AnalysisPage {
    fn pct(&self, v: &f64) -> String {
        format!("{:.0}%", v * 100.0)
    }
    fn num(&self, v: &f64) -> String {
        format!("{v:.1}")
    }
    fn opt2(&self, v: &Option<f64>) -> String {
        v.map(|x| format!("{x:.2}")).unwrap_or_else(|| "—".into())
    }
    fn is_class(&self, c: &Option<NodeId>) -> bool {
        self.class.is_some() && *c == self.class
    }
    fn share(&self, item: &ItemRow, count: &usize) -> String {
        (count * 100)
            .checked_div(item.count)
            .map(|p| format!("{p}%"))
            .unwrap_or_default()
    }
}

/// `GET /teaching/assignments/{id}/analysis[?class=]`: for those who mark it (their classes)
/// or read it (all).
async fn analysis(
    page: Page,
    IdPath(id): IdPath<AssignmentId>,
    Query(q): Query<ClassQuery>,
) -> AppResult<Response> {
    let cx = page.cx();
    let (a, access) = assignments::get(&cx, id).await?;
    let class = parse_class(&q.class)?;
    let an = super::of(&cx, a, access, class).await?;
    let pc = page.ctx();
    let histogram = histogram(&pc, &an);
    let difficulty = chart::bars(
        pc.t("analysis.chart_difficulty").into(),
        &an.items
            .iter()
            .map(|i| {
                let p = i.p_value.unwrap_or(0.0);
                let class = match i.p_value {
                    Some(p) if p < 0.3 => "bar-low",
                    Some(p) if p > 0.9 => "bar-good",
                    _ => "bar",
                };
                (
                    i.number.to_string(),
                    p,
                    i.p_value
                        .map(|p| format!("{:.0}", p * 100.0))
                        .unwrap_or_default(),
                    class,
                )
            })
            .collect::<Vec<_>>(),
        Some(1.0),
    );
    Ok(render(&AnalysisPage {
        ctx: pc,
        an,
        class,
        histogram,
        difficulty,
    }))
}

/// The distribution of scores by tenths of the full marks, failing bands and excellent ones
/// coloured apart.
fn histogram(pc: &PageCtx, an: &Analysis) -> Bars {
    let bands = an.all.summary.as_ref().map(|s| s.bands).unwrap_or_default();
    let values: Vec<(String, f64, String, &'static str)> = bands
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let from = i * 100 / stats::BANDS;
            // A band wholly below the pass mark, or wholly at or above the excellent mark.
            let class = if ((from + 10) as f64) <= stats::PASS * 100.0 {
                "bar-low"
            } else if (from as f64) >= stats::EXCELLENT * 100.0 {
                "bar-good"
            } else {
                "bar"
            };
            (format!("{from}–"), *n as f64, n.to_string(), class)
        })
        .collect();
    chart::bars(pc.t("analysis.chart_scores").into(), &values, None)
}

#[derive(Template)]
#[template(path = "analysis/mastery.html")]
struct MasteryPage {
    ctx: PageCtx,
    taught: Vec<TaughtClass>,
    class_id: Option<NodeId>,
    subject: String,
    label: String,
    heat: Option<Heat>,
    practice: Vec<StudentPractice>,
}

impl MasteryPage {
    fn chosen(&self, t: &TaughtClass) -> bool {
        self.class_id == Some(t.class_id) && self.subject == t.subject
    }
}

/// The students of a class, by name.
async fn roster(db: &kernel::Db, class: NodeId) -> AppResult<Vec<(PersonId, String)>> {
    Ok(on_db!(db, p => sqlx::query_as(
        "SELECT p.id, p.name FROM role_assignments r JOIN persons p ON p.id = r.person_id
         WHERE r.node_id = $1 AND r.role = 'student' AND p.active = TRUE ORDER BY p.name, p.id",
    ).bind(class).fetch_all(p).await)?)
}

/// The class's mastery in a subject: a row per student (the class's mean first), a column
/// per knowledge point someone has answers on.
pub async fn heat_map(
    cx: &Ctx<'_>,
    pc: &PageCtx,
    class: NodeId,
    subject: &str,
) -> AppResult<Option<Heat>> {
    let students = roster(cx.db(), class).await?;
    let rows: Vec<(
        PersonId,
        crate::knowledge::PointId,
        f64,
        i64,
        String,
        String,
    )> = on_db!(cx.db(), p => sqlx::query_as(
        "SELECT m.student_id, m.point_id, m.theta, m.answers, k.name, k.path FROM mastery m
         JOIN knowledge_points k ON k.id = m.point_id
         JOIN role_assignments r ON r.person_id = m.student_id AND r.role = 'student' AND r.node_id = $1
         JOIN persons p ON p.id = m.student_id AND p.active = TRUE
         WHERE k.subject = $2 AND m.answers > 0",
    ).bind(class).bind(subject).fetch_all(p).await)?;
    if rows.is_empty() {
        return Ok(None);
    }
    let mut points: Vec<(String, crate::knowledge::PointId, String)> = rows
        .iter()
        .map(|r| (r.5.clone(), r.1, r.4.clone()))
        .collect();
    points.sort();
    points.dedup();
    let mut values = Vec::new();
    // The class's mean of the students with answers on each point.
    values.push(
        points
            .iter()
            .map(|(path, id, _)| {
                let of: Vec<i64> = rows
                    .iter()
                    .filter(|r| r.1 == *id)
                    .map(|r| mastery::percent(r.2))
                    .collect();
                let mean = (!of.is_empty()).then(|| of.iter().sum::<i64>() / of.len() as i64);
                (
                    mean,
                    pc.tf(
                        "analysis.heat_class_tip",
                        &[("point", path), ("n", &of.len().to_string())],
                    ),
                )
            })
            .collect::<Vec<_>>(),
    );
    for (student, name) in &students {
        values.push(
            points
                .iter()
                .map(
                    |(path, id, _)| match rows.iter().find(|r| r.0 == *student && r.1 == *id) {
                        Some(r) => (
                            Some(mastery::percent(r.2)),
                            pc.tf(
                                "analysis.heat_tip",
                                &[("student", name), ("point", path), ("n", &r.3.to_string())],
                            ),
                        ),
                        None => (
                            None,
                            pc.tf(
                                "analysis.heat_none_tip",
                                &[("student", name), ("point", path)],
                            ),
                        ),
                    },
                )
                .collect(),
        );
    }
    let names: Vec<String> = std::iter::once(pc.t("analysis.class_mean").to_owned())
        .chain(students.iter().map(|s| s.1.clone()))
        .collect();
    let columns: Vec<String> = points.iter().map(|p| p.2.clone()).collect();
    Ok(Some(chart::heat(
        pc.t("analysis.heat_title").into(),
        &names,
        &columns,
        &values,
    )))
}

/// `GET /teaching/mastery[?class=&subject=]`: a class's mastery heat map in a subject and its
/// students' practice of the last 30 days, for the class's teacher of the subject, its head
/// teacher or an administrator above it. Without a class: the actor's first class.
async fn class_mastery(page: Page, Query(q): Query<ClassQuery>) -> AppResult<Response> {
    let cx = page.cx();
    let pc = page.ctx();
    let taught = progress::taught_by(&cx).await?;
    let (class, subject) = match (parse_class(&q.class)?, q.subject.clone()) {
        (Some(c), Some(s)) => (Some(c), s),
        _ => match taught.first() {
            Some(t) => (Some(t.class_id), t.subject.clone()),
            None => (None, String::new()),
        },
    };
    let (heat, practice, label) = match class {
        Some(c) => {
            if !progress::teaches(&cx, c, &subject)
                && !kernel::authz::administers(cx.db(), cx.actor, c).await?
            {
                return Err(AppError::NotFound("teaching.class_not_found"));
            }
            let since = cx.now - chrono::Duration::days(30);
            (
                heat_map(&cx, &pc, c, &subject).await?,
                practice::of_class(cx.db(), c, &subject, since).await?,
                crate::label(cx.db(), c).await?,
            )
        }
        None => (None, Vec::new(), String::new()),
    };
    Ok(render(&MasteryPage {
        ctx: pc,
        taught,
        class_id: class,
        subject,
        label,
        heat,
        practice,
    }))
}

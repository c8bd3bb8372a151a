//! The attendance pages: the classes a teacher takes attendance for, a class's sheet for a day
//! (one tap per absent student), a school's or region's figures for a day.

use super::{STATUSES, Sheet, Stats};
use crate::scope::{self, Addressable};
use askama::Template;
use axum::extract::Query;
use axum::response::Response;
use chrono::NaiveDate;
use kernel::{AppError, AppResult, NodeId, PersonId};
use serde::Deserialize;
use web::{CsrfForm, IdPath, Page, PageCtx, redirect, render};

#[derive(Deserialize)]
pub struct DayQuery {
    day: Option<String>,
    done: Option<String>,
}

fn day_of(q: &DayQuery, today: NaiveDate) -> NaiveDate {
    q.day
        .as_deref()
        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        .unwrap_or(today)
}

#[derive(Template)]
#[template(path = "attendance/mine.html")]
struct MinePage {
    ctx: PageCtx,
    classes: Vec<Addressable>,
    regions: Vec<Addressable>,
}

pub async fn mine(page: Page) -> AppResult<Response> {
    let cx = page.cx();
    let all = scope::addressable(&cx).await?;
    let (classes, regions): (Vec<_>, Vec<_>) = all.into_iter().partition(|a| a.kind == "class");
    let mut admin_nodes = Vec::new();
    for r in regions {
        if cx.actor.admin_nodes().contains(&r.id) {
            admin_nodes.push(r);
        }
    }
    Ok(render(&MinePage {
        ctx: page.ctx(),
        classes: classes
            .into_iter()
            .filter(|c| scope::teaches(cx.actor, c.id))
            .collect(),
        regions: admin_nodes,
    }))
}

#[derive(Template)]
#[template(path = "attendance/sheet.html")]
struct SheetPage {
    ctx: PageCtx,
    sheet: Sheet,
    statuses: [&'static str; 4],
    today: NaiveDate,
}

pub async fn sheet(
    page: Page,
    IdPath(class): IdPath<NodeId>,
    Query(q): Query<DayQuery>,
) -> AppResult<Response> {
    let cx = page.cx();
    let day = day_of(&q, cx.today());
    let sheet = super::sheet(&cx, class, day).await?;
    Ok(render(&SheetPage {
        ctx: page.ctx().with_notice(q.done.as_deref()),
        sheet,
        statuses: STATUSES,
        today: cx.today(),
    }))
}

pub async fn take(
    page: Page,
    IdPath(class): IdPath<NodeId>,
    CsrfForm(fields): CsrfForm<Vec<(String, String)>>,
) -> AppResult<Response> {
    let cx = page.cx();
    let day = fields
        .iter()
        .find(|(k, _)| k == "day")
        .and_then(|(_, v)| NaiveDate::parse_from_str(v, "%Y-%m-%d").ok())
        .ok_or_else(|| AppError::field("day", "attendance.error.day"))?;
    let marks: Vec<(PersonId, String)> = fields
        .iter()
        .filter_map(|(k, v)| {
            let id = k.strip_prefix("s_")?.parse().ok()?;
            (v != "present").then(|| (PersonId(id), v.clone()))
        })
        .collect();
    super::take(&cx, class, day, &marks).await?;
    Ok(redirect(&format!(
        "/attendance/{class}?day={day}&done=attendance_saved"
    )))
}

#[derive(Template)]
#[template(path = "attendance/stats.html")]
struct StatsPage {
    ctx: PageCtx,
    stats: Stats,
}

impl StatsPage {
    fn sick_pct(&self, sick: &i64, students: &i64) -> i64 {
        if *students == 0 {
            0
        } else {
            sick * 100 / students
        }
    }
    fn alert_pct(&self) -> i64 {
        super::ILLNESS_ALERT_PERCENT
    }
}

pub async fn stats(
    page: Page,
    IdPath(node): IdPath<NodeId>,
    Query(q): Query<DayQuery>,
) -> AppResult<Response> {
    let cx = page.cx();
    let day = day_of(&q, cx.today());
    let stats = super::stats(&cx, node, day).await?;
    Ok(render(&StatsPage {
        ctx: page.ctx(),
        stats,
    }))
}

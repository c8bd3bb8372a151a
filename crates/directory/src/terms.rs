//! School years and terms, set by a region's bureau for the schools below it.

use crate::nodes;
use chrono::NaiveDate;
use kernel::audit::AuditEvent;
use kernel::authz::{self, Permission};
use kernel::error::unique_violation;
use kernel::{AppError, AppResult, Ctx, FieldErrors, NodeId, TermId, on_db, on_tx};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Term {
    pub id: TermId,
    pub region_id: NodeId,
    /// 2025 for the 2025-2026 school year.
    pub school_year: i64,
    /// 1 (autumn) or 2 (spring).
    pub term: i64,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct NewTerm {
    pub school_year: i64,
    pub term: i64,
    pub starts_on: String,
    pub ends_on: String,
}

fn parse_date(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(s, "%Y%m%d"))
        .ok()
}

pub async fn create(cx: &Ctx<'_>, region: NodeId, input: NewTerm) -> AppResult<Term> {
    let node = nodes::get(cx, region).await?;
    authz::require(cx.db(), cx.actor, Permission::ManageNode, region).await?;
    let mut errors = FieldErrors::new();
    if !node.kind().is_some_and(|k| k.is_region()) {
        errors.add("region_id", "error.terms_on_regions");
    }
    if !(2000..=2100).contains(&input.school_year) {
        errors.add("school_year", "error.year_range");
    }
    if !(1..=2).contains(&input.term) {
        errors.add("term", "error.invalid_choice");
    }
    let starts = parse_date(&input.starts_on);
    let ends = parse_date(&input.ends_on);
    if starts.is_none() {
        errors.add("starts_on", "error.date_format");
    }
    if ends.is_none() {
        errors.add("ends_on", "error.date_format");
    }
    let (Some(starts_on), Some(ends_on)) = (starts, ends) else {
        return Err(AppError::Invalid(errors));
    };
    if ends_on <= starts_on {
        errors.add("ends_on", "error.end_before_start");
    }
    errors.into_result()?;
    let term = Term {
        id: TermId::new(),
        region_id: region,
        school_year: input.school_year,
        term: input.term,
        starts_on,
        ends_on,
    };
    let mut tx = cx.begin().await?;
    on_tx!(&mut tx, c => sqlx::query(
        "INSERT INTO terms (id, region_id, school_year, term, starts_on, ends_on, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    ).bind(term.id).bind(region).bind(term.school_year).bind(term.term).bind(starts_on).bind(ends_on).bind(cx.now)
    .execute(c).await.map(|r| r.rows_affected()))
    .map_err(|e| unique_violation(e, "directory.term_exists", "term"))?;
    cx.audit(
        &mut tx,
        AuditEvent::new("term.create")
            .object("term", term.id)
            .node(region)
            .detail(serde_json::json!({ "school_year": term.school_year, "term": term.term })),
    )
    .await?;
    tx.commit().await?;
    Ok(term)
}

/// The terms that apply at a node: those of the regions above it (the nearest first).
pub async fn for_node(cx: &Ctx<'_>, node: NodeId) -> AppResult<Vec<Term>> {
    nodes::get(cx, node).await?;
    Ok(on_db!(cx.db(), p => sqlx::query_as(
        "SELECT t.id, t.region_id, t.school_year, t.term, t.starts_on, t.ends_on
         FROM terms t JOIN org_closure c ON c.ancestor_id = t.region_id
         WHERE c.descendant_id = $1 ORDER BY t.school_year DESC, t.term DESC, c.depth ASC LIMIT 20",
    ).bind(node).fetch_all(p).await)?)
}

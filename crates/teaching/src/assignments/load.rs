//! The homework load (作业总量, the "double reduction" policy 双减): no written homework in
//! grades 1–2, at most 60 minutes of it a day in grades 3–6 and 90 in junior secondary. A
//! region may set its own limits per grade (the nearest region's setting wins). Written work is
//! counted on the local day it opens, summed over every subject of the class; the teacher sees
//! the day's sum while setting work, and when a class goes over its limit its head teacher is
//! told once for that day.

use super::AssignmentId;
use chrono::NaiveDate;
use kernel::audit::AuditEvent;
use kernel::{AppError, AppResult, Ctx, FieldErrors, NodeId, on_db, on_tx};
use serde::Serialize;
use standards::kinds::Stage;

/// The national limit of written homework a day, in minutes; `None` where the policy sets
/// none (senior secondary and beyond).
pub fn national(stage: &str, year: i64) -> Option<i64> {
    match (stage, year) {
        ("primary", 1 | 2) => Some(0),
        ("primary", _) => Some(60),
        ("junior", _) => Some(90),
        _ => None,
    }
}

/// The grades a region's limits are set for: (stage, year).
pub const GRADES: [(Stage, i64); 12] = [
    (Stage::Primary, 1),
    (Stage::Primary, 2),
    (Stage::Primary, 3),
    (Stage::Primary, 4),
    (Stage::Primary, 5),
    (Stage::Primary, 6),
    (Stage::Junior, 1),
    (Stage::Junior, 2),
    (Stage::Junior, 3),
    (Stage::Senior, 1),
    (Stage::Senior, 2),
    (Stage::Senior, 3),
];

/// A class's stage and year in it, from the organisation tree (the class's own, or its
/// grade's).
pub async fn grade_of(db: &kernel::Db, class: NodeId) -> AppResult<Option<(String, i64)>> {
    let row: Option<(Option<String>, Option<String>)> = on_db!(db, p => sqlx::query_as(
        "SELECT COALESCE(c.stages, g.stages), COALESCE(c.grade_code, g.grade_code)
         FROM org_nodes c LEFT JOIN org_nodes g ON g.id = c.parent_id WHERE c.id = $1",
    ).bind(class).fetch_optional(p).await)?;
    Ok(row.and_then(|(stage, year)| {
        let stage = stage?.split(',').next()?.to_owned();
        Some((stage, year?.parse().ok()?))
    }))
}

/// A class's daily limit: the nearest region's setting for its grade, else the national rule.
pub async fn limit_of(db: &kernel::Db, class: NodeId) -> AppResult<Option<i64>> {
    let Some((stage, year)) = grade_of(db, class).await? else {
        return Ok(None);
    };
    let set: Option<(i64,)> = on_db!(db, p => sqlx::query_as(
        "SELECT h.minutes FROM homework_limits h JOIN org_closure c ON c.ancestor_id = h.region_id
         WHERE c.descendant_id = $1 AND h.stage = $2 AND h.year = $3 ORDER BY c.depth ASC LIMIT 1",
    ).bind(class).bind(&stage).bind(year).fetch_optional(p).await)?;
    Ok(match set {
        Some((m,)) if m >= 0 => Some(m),
        Some(_) => None,
        None => national(&stage, year),
    })
}

/// A class's written homework on one day.
#[derive(Debug, Clone, Serialize)]
pub struct DayLoad {
    pub class_id: NodeId,
    pub day: NaiveDate,
    /// Minutes per subject (course code), the largest first.
    pub subjects: Vec<(String, i64)>,
    pub minutes: i64,
    pub limit: Option<i64>,
}

impl DayLoad {
    pub fn over(&self) -> bool {
        self.limit.is_some_and(|l| self.minutes > l)
    }
    pub fn limit_text(&self) -> String {
        self.limit.map(|l| l.to_string()).unwrap_or_default()
    }
    /// The subjects' minutes in words: `语文 20, 数学 30`.
    pub fn subjects_text(&self) -> String {
        self.subjects
            .iter()
            .map(|(s, m)| format!("{} {m}", resources::catalog::model::subject_name(s)))
            .collect::<Vec<_>>()
            .join("，")
    }
}

/// The written homework of a class on a day, leaving out `except` (the work being changed).
pub async fn day(
    db: &kernel::Db,
    class: NodeId,
    day: NaiveDate,
    except: Option<AssignmentId>,
) -> AppResult<DayLoad> {
    let rows: Vec<(String, i64)> = on_db!(db, p => sqlx::query_as(
        "SELECT a.subject, CAST(COALESCE(SUM(a.expected_minutes), 0) AS BIGINT) FROM assignment_classes ac
         JOIN assignments a ON a.id = ac.assignment_id
         WHERE ac.class_id = $1 AND ac.load_day = $2 AND a.written = TRUE AND a.deleted_at IS NULL
           AND a.id <> $3
         GROUP BY a.subject ORDER BY 2 DESC, a.subject",
    ).bind(class).bind(day).bind(except.unwrap_or(AssignmentId(uuid::Uuid::nil())))
     .fetch_all(p).await)?;
    Ok(DayLoad {
        class_id: class,
        day,
        minutes: rows.iter().map(|r| r.1).sum(),
        subjects: rows,
        limit: limit_of(db, class).await?,
    })
}

/// A class's week of written homework, Monday first, for its head teacher.
pub async fn week(db: &kernel::Db, class: NodeId, any_day: NaiveDate) -> AppResult<Vec<DayLoad>> {
    use chrono::Datelike;
    let monday = any_day - chrono::Days::new(u64::from(any_day.weekday().num_days_from_monday()));
    let mut out = Vec::new();
    for i in 0..7 {
        out.push(day(db, class, monday + chrono::Days::new(i), None).await?);
    }
    Ok(out)
}

/// A region's limits as its administrators see them.
#[derive(Debug, Clone, Serialize)]
pub struct GradeLimit {
    pub stage: &'static str,
    pub year: i64,
    pub grade: String,
    pub national: Option<i64>,
    /// This region's own setting (-1: no limit).
    pub set: Option<i64>,
    /// What holds here: this region's, an upper region's, or the national rule.
    pub holds: Option<i64>,
}

impl GradeLimit {
    pub fn field(&self) -> String {
        format!("{}_{}", self.stage, self.year)
    }
    pub fn set_text(&self) -> String {
        match self.set {
            Some(m) if m >= 0 => m.to_string(),
            Some(_) => "-".to_owned(),
            None => String::new(),
        }
    }
    pub fn holds_text(&self) -> String {
        self.holds.map(|m| m.to_string()).unwrap_or_default()
    }
    pub fn national_text(&self) -> String {
        self.national.map(|m| m.to_string()).unwrap_or_default()
    }
}

async fn require_region_admin(cx: &Ctx<'_>, region: NodeId) -> AppResult<()> {
    let node = directory::nodes::find(cx.db(), region)
        .await?
        .ok_or(AppError::NotFound("directory.node_not_found"))?;
    let is_region = standards::kinds::NodeKind::parse(&node.kind).is_some_and(|k| k.is_region());
    if !is_region || !kernel::authz::administers(cx.db(), cx.actor, region).await? {
        return Err(AppError::NotFound("directory.node_not_found"));
    }
    Ok(())
}

/// A region's limits per grade, for its administrators.
pub async fn of_region(cx: &Ctx<'_>, region: NodeId) -> AppResult<Vec<GradeLimit>> {
    require_region_admin(cx, region).await?;
    let own: Vec<(String, i64, i64)> = on_db!(cx.db(), p => sqlx::query_as(
        "SELECT stage, year, minutes FROM homework_limits WHERE region_id = $1",
    ).bind(region).fetch_all(p).await)?;
    let mut out = Vec::new();
    for (stage, year) in GRADES {
        let inherited: Option<(i64,)> = on_db!(cx.db(), p => sqlx::query_as(
            "SELECT h.minutes FROM homework_limits h JOIN org_closure c ON c.ancestor_id = h.region_id
             WHERE c.descendant_id = $1 AND h.stage = $2 AND h.year = $3 ORDER BY c.depth ASC LIMIT 1",
        ).bind(region).bind(stage.as_str()).bind(year).fetch_optional(p).await)?;
        let national = national(stage.as_str(), year);
        out.push(GradeLimit {
            stage: stage.as_str(),
            year,
            grade: standards::grades::grade_name(stage, u8::try_from(year).unwrap_or(1)),
            national,
            set: own
                .iter()
                .find(|(s, y, _)| s == stage.as_str() && *y == year)
                .map(|r| r.2),
            holds: match inherited {
                Some((m,)) if m >= 0 => Some(m),
                Some(_) => None,
                None => national,
            },
        });
    }
    Ok(out)
}

/// A grade's limit as typed: empty (follow the upper region or the national rule), `-` (no
/// limit), or minutes from 0 to 600.
pub fn parse_limit(s: &str) -> Result<Option<i64>, &'static str> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    if s == "-" || s == "—" {
        return Ok(Some(-1));
    }
    match s.parse::<i64>() {
        Ok(m) if (0..=600).contains(&m) => Ok(Some(m)),
        _ => Err("error.teaching.homework_limit"),
    }
}

/// Sets a region's limits (`field` → typed value, as [`GradeLimit::field`] names them); audited.
pub async fn set_region(
    cx: &Ctx<'_>,
    region: NodeId,
    values: &[(String, String)],
) -> AppResult<()> {
    require_region_admin(cx, region).await?;
    let mut errors = FieldErrors::new();
    let mut rows = Vec::new();
    for (stage, year) in GRADES {
        let field = format!("{}_{year}", stage.as_str());
        let typed = values
            .iter()
            .find(|(k, _)| *k == field)
            .map(|(_, v)| v.as_str())
            .unwrap_or_default();
        match parse_limit(typed) {
            Ok(v) => rows.push((stage.as_str(), year, v)),
            Err(key) => errors.add(&field, key),
        }
    }
    errors.into_result()?;
    let mut tx = cx.begin().await?;
    on_tx!(&mut tx, t => sqlx::query("DELETE FROM homework_limits WHERE region_id = $1")
        .bind(region).execute(&mut *t).await.map(|r| r.rows_affected()))?;
    for (stage, year, v) in &rows {
        if let Some(m) = v {
            on_tx!(&mut tx, t => sqlx::query(
                "INSERT INTO homework_limits (region_id, stage, year, minutes) VALUES ($1, $2, $3, $4)",
            ).bind(region).bind(*stage).bind(*year).bind(*m).execute(&mut *t).await.map(|r| r.rows_affected()))?;
        }
    }
    cx.audit(
        &mut tx,
        AuditEvent::new("homework_limits.set")
            .node(region)
            .detail(serde_json::json!(
                rows.iter()
                    .filter_map(|(s, y, v)| v.map(|m| format!("{s}{y}:{m}")))
                    .collect::<Vec<_>>()
            )),
    )
    .await?;
    tx.commit().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_national_rule() {
        assert_eq!(national("primary", 1), Some(0));
        assert_eq!(national("primary", 2), Some(0));
        assert_eq!(national("primary", 3), Some(60));
        assert_eq!(national("primary", 6), Some(60));
        assert_eq!(national("junior", 2), Some(90));
        assert_eq!(national("senior", 1), None);
    }

    #[test]
    fn limits_as_typed() {
        assert_eq!(parse_limit(""), Ok(None));
        assert_eq!(parse_limit(" 45 "), Ok(Some(45)));
        assert_eq!(parse_limit("-"), Ok(Some(-1)));
        assert_eq!(parse_limit("0"), Ok(Some(0)));
        assert!(parse_limit("601").is_err());
        assert!(parse_limit("半小时").is_err());
    }
}

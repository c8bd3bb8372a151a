//! The terms statistics are counted by: those the regions above a node set (the directory's
//! `terms`), or, where none is set, the usual calendar (autumn from September, spring from
//! February).

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use kernel::{AppError, AppResult, Db, NodeId, on_db};
use serde::Serialize;

/// A term of a school year, with its dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct TermRef {
    /// 2025 for the 2025-2026 school year.
    pub school_year: i64,
    /// 1 (autumn) or 2 (spring).
    pub term: i64,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
}

impl TermRef {
    /// `2025-1`, as the pages and API name a term.
    pub fn code(&self) -> String {
        format!("{}-{}", self.school_year, self.term)
    }

    /// The instants the term's days cover, from the first day's start to the day after the
    /// last (days in the region's time zone).
    pub fn bounds(&self, zone: kernel::time::Zone) -> (DateTime<Utc>, DateTime<Utc>) {
        (
            zone.day_start(self.starts_on),
            zone.day_start(self.ends_on + Duration::days(1)),
        )
    }

    /// The term of the usual calendar a day falls in: autumn September to January, spring
    /// February to August.
    pub fn calendar(day: NaiveDate) -> TermRef {
        let d = |y: i32, m: u32, day: u32| NaiveDate::from_ymd_opt(y, m, day).unwrap_or_default();
        let (y, m) = (day.year(), day.month());
        if m >= 9 {
            TermRef {
                school_year: i64::from(y),
                term: 1,
                starts_on: d(y, 9, 1),
                ends_on: d(y + 1, 1, 31),
            }
        } else if m == 1 {
            TermRef {
                school_year: i64::from(y - 1),
                term: 1,
                starts_on: d(y - 1, 9, 1),
                ends_on: d(y, 1, 31),
            }
        } else {
            TermRef {
                school_year: i64::from(y - 1),
                term: 2,
                starts_on: d(y, 2, 1),
                ends_on: d(y, 8, 31),
            }
        }
    }
}

/// Parses `2025-1`.
pub fn parse(code: &str) -> Option<(i64, i64)> {
    let (y, t) = code.trim().split_once('-')?;
    let (y, t) = (y.parse().ok()?, t.parse().ok()?);
    ((2000..=2100).contains(&y) && (1..=2).contains(&t)).then_some((y, t))
}

/// The terms that apply at a node (the nearest region's where two set the same), newest first.
pub async fn of_node(db: &Db, node: NodeId) -> AppResult<Vec<TermRef>> {
    let rows: Vec<(i64, i64, NaiveDate, NaiveDate)> = on_db!(db, p => sqlx::query_as(
        "SELECT t.school_year, t.term, t.starts_on, t.ends_on FROM terms t
         JOIN org_closure c ON c.ancestor_id = t.region_id
         WHERE c.descendant_id = $1 ORDER BY c.depth",
    ).bind(node).fetch_all(p).await)?;
    let mut out: Vec<TermRef> = Vec::new();
    for (school_year, term, starts_on, ends_on) in rows {
        if !out
            .iter()
            .any(|t| t.school_year == school_year && t.term == term)
        {
            out.push(TermRef {
                school_year,
                term,
                starts_on,
                ends_on,
            });
        }
    }
    out.sort_by_key(|t| std::cmp::Reverse((t.school_year, t.term)));
    Ok(out)
}

/// The term asked for (it must be one of `terms`, or of the usual calendar if none is set), or
/// the one `today` falls in, else the last begun, else the first to come.
pub fn pick(terms: &[TermRef], asked: Option<(i64, i64)>, today: NaiveDate) -> AppResult<TermRef> {
    if let Some((y, t)) = asked {
        if let Some(found) = terms.iter().find(|x| x.school_year == y && x.term == t) {
            return Ok(*found);
        }
        if terms.is_empty() {
            let start = if t == 1 {
                NaiveDate::from_ymd_opt(y as i32, 9, 1)
            } else {
                NaiveDate::from_ymd_opt(y as i32 + 1, 3, 1)
            };
            return start
                .map(TermRef::calendar)
                .ok_or_else(|| AppError::field("term", "error.resource_stats.term_unknown"));
        }
        return Err(AppError::field("term", "error.resource_stats.term_unknown"));
    }
    Ok(terms
        .iter()
        .find(|t| t.starts_on <= today && today <= t.ends_on)
        .or_else(|| terms.iter().find(|t| t.starts_on <= today))
        .or_else(|| terms.last())
        .copied()
        .unwrap_or_else(|| TermRef::calendar(today)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_by_code_and_by_the_calendar() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap_or_default();
        assert_eq!(parse("2025-1"), Some((2025, 1)));
        assert_eq!(parse("2025-3"), None);
        assert_eq!(parse("x"), None);
        let t = TermRef::calendar(d(2026, 1, 10));
        assert_eq!((t.school_year, t.term), (2025, 1));
        let t = TermRef::calendar(d(2026, 4, 10));
        assert_eq!((t.school_year, t.term), (2025, 2));
        let (from, to) = t.bounds(kernel::time::Zone::default());
        assert_eq!(from.to_rfc3339(), "2026-01-31T16:00:00+00:00");
        assert_eq!(to.to_rfc3339(), "2026-08-31T16:00:00+00:00");
        let set = [
            TermRef::calendar(d(2026, 4, 1)),
            TermRef::calendar(d(2025, 10, 1)),
        ];
        assert_eq!(pick(&set, None, d(2025, 11, 1)).unwrap_or(set[0]).term, 1);
        assert!(pick(&set, Some((2030, 1)), d(2025, 11, 1)).is_err());
        assert_eq!(
            pick(&[], Some((2024, 2)), d(2025, 11, 1))
                .map(|t| t.code())
                .ok(),
            Some("2024-2".into())
        );
    }
}

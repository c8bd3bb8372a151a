//! Where a class has got to in a subject (`class_progress`): the volume it studies this term
//! (its grade, the term, the edition its school teaches), and the unit or section it is on, as
//! its teacher said or, failing that, estimated from where the date falls in the term. This is
//! what recommendations use: resources for the chapters a teacher's classes reach next.

use super::model::{CatalogNode, NodeKind, grade_code_of_year};
use super::{choices, tree};
use chrono::NaiveDate;
use kernel::audit::AuditEvent;
use kernel::{AppError, AppResult, CatalogId, Ctx, Db, NodeId, Role, on_db, on_tx};
use serde::Serialize;
use standards::kinds::Stage;

/// A class's place in a subject's volume this term.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Progress {
    pub volume: CatalogId,
    /// The unit or section the class is on.
    pub current: CatalogId,
    /// What comes next: the current unit and the one after it, or the current section and the
    /// two after it.
    pub next: Vec<CatalogId>,
    /// Estimated from the date (the teacher has not said).
    pub estimated: bool,
}

/// A class with its grade and the term a date falls in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ClassTerm {
    pub class_id: NodeId,
    pub school_id: NodeId,
    pub stage: String,
    /// The year within the stage (1 for 七年级).
    pub year: u8,
    pub school_year: i64,
    pub term: i64,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
}

/// How many sections [`Progress::next`] holds.
const NEXT_SECTIONS: usize = 3;

/// A class's school, stage and grade, and the term of `today` (else the next term to begin)
/// among the terms of the regions above it; `None` if it is no class or no term applies.
pub async fn class_term(db: &Db, class: NodeId, today: NaiveDate) -> AppResult<Option<ClassTerm>> {
    let row: Option<(Option<NodeId>, Option<String>, Option<String>)> = on_db!(db, p => sqlx::query_as(
        "SELECT c.school_id, g.stages, g.grade_code FROM org_nodes c JOIN org_nodes g ON g.id = c.parent_id
         WHERE c.id = $1 AND c.kind = 'class' AND g.kind = 'grade'",
    ).bind(class).fetch_optional(p).await)?;
    let Some((Some(school), Some(stages), Some(grade))) = row else {
        return Ok(None);
    };
    let (Some(stage), Ok(year)) = (
        stages.split(',').find_map(Stage::parse),
        grade.trim().parse::<u8>(),
    ) else {
        return Ok(None);
    };
    let terms: Vec<(i64, i64, NaiveDate, NaiveDate)> = on_db!(db, p => sqlx::query_as(
        "SELECT t.school_year, t.term, t.starts_on, t.ends_on FROM terms t
         JOIN org_closure c ON c.ancestor_id = t.region_id
         WHERE c.descendant_id = $1 ORDER BY c.depth, t.starts_on",
    ).bind(school).fetch_all(p).await)?;
    let pick = terms
        .iter()
        .find(|t| t.2 <= today && today <= t.3)
        .or_else(|| terms.iter().filter(|t| t.2 > today).min_by_key(|t| t.2));
    Ok(
        pick.map(|&(school_year, term, starts_on, ends_on)| ClassTerm {
            class_id: class,
            school_id: school,
            stage: stage.as_str().into(),
            year,
            school_year,
            term,
            starts_on,
            ends_on,
        }),
    )
}

/// The volume a class studies `subject` from in the term of `today`: of the edition its school
/// teaches, for its grade and term (a 全一册 of its grade if there is no volume for the term).
pub async fn volume_of_class(
    db: &Db,
    class: NodeId,
    subject: &str,
    today: NaiveDate,
) -> AppResult<Option<(ClassTerm, CatalogNode)>> {
    let Some(ct) = class_term(db, class, today).await? else {
        return Ok(None);
    };
    let stage = Stage::parse(&ct.stage).unwrap_or(Stage::Primary);
    let Some(edition) = choices::edition_for(db, ct.school_id, stage, subject).await? else {
        return Ok(None);
    };
    let Some(code) = grade_code_of_year(ct.year) else {
        return Ok(None);
    };
    let volumes = tree::volumes(db, edition).await?;
    let of_grade = |t: Option<i64>| {
        volumes
            .iter()
            .find(|v| v.grade_code.as_deref() == Some(code) && v.term == t)
            .cloned()
    };
    Ok(of_grade(Some(ct.term))
        .or_else(|| of_grade(None))
        .map(|v| (ct, v)))
}

/// The units of a volume and, flattened, their sections, in order.
async fn units_and_sections(
    db: &Db,
    volume: CatalogId,
) -> AppResult<(Vec<CatalogId>, Vec<CatalogId>)> {
    let outline = tree::outline(db, volume).await?;
    let units = outline.iter().map(|u| u.unit.id).collect();
    let sections = outline
        .iter()
        .flat_map(|u| u.sections.iter().map(|s| s.id))
        .collect();
    Ok((units, sections))
}

/// Where the teacher said the class is, if that is a unit or section of `volume`.
async fn teacher_setting(
    db: &Db,
    class: NodeId,
    subject: &str,
    volume: CatalogId,
) -> AppResult<Option<CatalogNode>> {
    let row: Option<(CatalogId,)> = on_db!(db, p => sqlx::query_as(
        "SELECT catalog_id FROM class_progress WHERE class_id = $1 AND subject = $2",
    ).bind(class).bind(subject).fetch_optional(p).await)?;
    let Some((id,)) = row else { return Ok(None) };
    Ok(tree::find(db, id).await?.filter(|n| {
        n.active
            && n.volume_id == Some(volume)
            && matches!(n.kind(), NodeKind::Unit | NodeKind::Section)
    }))
}

/// The unit a date falls on when a term's days are spread evenly over `n` units.
pub fn estimate_index(starts: NaiveDate, ends: NaiveDate, today: NaiveDate, n: usize) -> usize {
    if n == 0 {
        return 0;
    }
    let total = (ends - starts).num_days().max(1) as f64;
    let f = ((today - starts).num_days() as f64 / total).clamp(0.0, 1.0);
    ((f * n as f64) as usize).min(n - 1)
}

/// Where class `class` is in `subject` (JY/T 1001 course code) on `today`; `None` if the class
/// has no volume this term (no term, no textbook choice, or no such volume) or it has no units.
pub async fn of_class(
    db: &Db,
    class: NodeId,
    subject: &str,
    today: NaiveDate,
) -> AppResult<Option<Progress>> {
    let Some((ct, volume)) = volume_of_class(db, class, subject, today).await? else {
        return Ok(None);
    };
    let (units, sections) = units_and_sections(db, volume.id).await?;
    if units.is_empty() {
        return Ok(None);
    }
    let after = |list: &[CatalogId], id: CatalogId, n: usize| -> Vec<CatalogId> {
        let i = list.iter().position(|x| *x == id).unwrap_or(0);
        list.iter().skip(i).take(n).copied().collect()
    };
    if let Some(set) = teacher_setting(db, class, subject, volume.id).await? {
        let next = match set.kind() {
            NodeKind::Section => after(&sections, set.id, NEXT_SECTIONS),
            _ => after(&units, set.id, 2),
        };
        return Ok(Some(Progress {
            volume: volume.id,
            current: set.id,
            next,
            estimated: false,
        }));
    }
    let current = units[estimate_index(ct.starts_on, ct.ends_on, today, units.len())];
    Ok(Some(Progress {
        volume: volume.id,
        current,
        next: after(&units, current, 2),
        estimated: true,
    }))
}

/// Whether the actor teaches `subject` in `class` (or heads the class).
pub fn teaches(cx: &Ctx<'_>, class: NodeId, subject: &str) -> bool {
    cx.actor.grants.iter().any(|g| {
        g.node_id == class
            && (g.role == Role::HeadTeacher
                || (g.role == Role::Teacher && g.subject.as_deref() == Some(subject)))
    })
}

/// Says where a class is in a subject (a unit or section of the volume it studies this term),
/// or with `None` goes back to the estimate. The class's teacher of that subject, its head
/// teacher, or an administrator above it.
pub async fn set(
    cx: &Ctx<'_>,
    class: NodeId,
    subject: &str,
    at: Option<CatalogId>,
) -> AppResult<Option<Progress>> {
    if !teaches(cx, class, subject) && !kernel::authz::administers(cx.db(), cx.actor, class).await?
    {
        return Err(AppError::Forbidden);
    }
    let today = cx.today();
    let Some((_, volume)) = volume_of_class(cx.db(), class, subject, today).await? else {
        return Err(AppError::field("catalog_id", "error.catalog.no_volume"));
    };
    if let Some(id) = at {
        let node = tree::find(cx.db(), id).await?;
        let fits = node.is_some_and(|n| {
            n.active
                && n.volume_id == Some(volume.id)
                && matches!(n.kind(), NodeKind::Unit | NodeKind::Section)
        });
        if !fits {
            return Err(AppError::field("catalog_id", "error.catalog.not_in_volume"));
        }
    }
    let mut tx = cx.begin().await?;
    match at {
        Some(id) => {
            on_tx!(&mut tx, c => sqlx::query(
                "INSERT INTO class_progress (class_id, subject, catalog_id, updated_by, updated_at)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (class_id, subject) DO UPDATE SET catalog_id = $3, updated_by = $4, updated_at = $5",
            ).bind(class).bind(subject).bind(id).bind(cx.actor.person_id).bind(cx.now)
            .execute(&mut *c).await.map(|r| r.rows_affected()))?;
        }
        None => {
            on_tx!(&mut tx, c => sqlx::query(
                "DELETE FROM class_progress WHERE class_id = $1 AND subject = $2",
            ).bind(class).bind(subject).execute(&mut *c).await.map(|r| r.rows_affected()))?;
        }
    }
    cx.audit(
        &mut tx,
        AuditEvent::new("catalog.class_progress")
            .object("node", class)
            .node(class)
            .detail(serde_json::json!({ "subject": subject, "catalog_id": at })),
    )
    .await?;
    tx.commit().await?;
    of_class(cx.db(), class, subject, today).await
}

/// A class and subject a teacher teaches.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TaughtClass {
    pub class_id: NodeId,
    /// 七年级(1)班
    pub class_name: String,
    pub school_name: String,
    pub subject: String,
    pub subject_name: String,
}

/// The classes and subjects the actor teaches (their teacher roles that name a subject).
pub async fn taught_by(cx: &Ctx<'_>) -> AppResult<Vec<TaughtClass>> {
    let mut out = Vec::new();
    for g in cx.actor.grants_of(Role::Teacher) {
        let Some(subject) = &g.subject else { continue };
        let row: Option<(String, String, String)> = on_db!(cx.db(), p => sqlx::query_as(
            "SELECT g.name, c.name, s.name FROM org_nodes c
             JOIN org_nodes g ON g.id = c.parent_id JOIN org_nodes s ON s.id = c.school_id
             WHERE c.id = $1 AND c.kind = 'class' AND c.active = TRUE",
        ).bind(g.node_id).fetch_optional(p).await)?;
        if let Some((grade, class, school)) = row {
            out.push(TaughtClass {
                class_id: g.node_id,
                class_name: format!("{grade}{class}"),
                school_name: school,
                subject: subject.clone(),
                subject_name: super::model::subject_name(subject),
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_estimate_moves_through_the_term() {
        let d = |m, day| NaiveDate::from_ymd_opt(2025, m, day).unwrap_or_default();
        let (s, e) = (d(9, 1), d(12, 31));
        assert_eq!(estimate_index(s, e, d(8, 20), 4), 0);
        assert_eq!(estimate_index(s, e, d(9, 1), 4), 0);
        assert_eq!(estimate_index(s, e, d(10, 15), 4), 1);
        assert_eq!(estimate_index(s, e, d(11, 20), 4), 2);
        assert_eq!(estimate_index(s, e, d(12, 31), 4), 3);
        assert_eq!(estimate_index(s, e, d(12, 31), 0), 0);
    }
}

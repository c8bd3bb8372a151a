//! The school year's turn (升年级): every class of a school moves up a grade, the final grade of
//! the school's last stage graduates, and each student's class history records it. A class is a
//! cohort: it keeps its identity (name, teachers, students) and changes grade, so the year it
//! belongs to follows from its stage entry year (`entry_year`). Promoting to the same school
//! year twice changes nothing.

use crate::import::classes::new_grade;
use crate::model::{Node, NodeKind, Stage};
use crate::nodes;
use chrono::NaiveDate;
use kernel::authz::{self, Permission};
use kernel::{AppError, AppResult, AuditEvent, Ctx, FieldErrors, NodeId, PersonId, Tx, on_tx};
use serde::Serialize;

#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct Promotion {
    pub school_year: i64,
    /// Classes moved up a grade (or into the next stage of the school).
    pub promoted_classes: u64,
    pub graduated_classes: u64,
    pub graduated_students: u64,
    /// Classes already in their grade for that year.
    pub unchanged_classes: u64,
    /// Classes without an entry year, left where they are.
    pub skipped_classes: u64,
}

/// Where a class belongs in `year`: its stage and year within the stage (with the new stage
/// entry year if it moved into the next stage), or `None` if it has graduated.
fn placement(
    stage: Stage,
    entry_year: i64,
    year: i64,
    stages: &[Stage],
) -> Option<(Stage, i64, i64)> {
    let y = year - entry_year + 1;
    if y <= i64::from(stage.years()) {
        return Some((stage, y.max(1), entry_year));
    }
    let order = [Stage::Primary, Stage::Junior, Stage::Senior];
    let next = order
        .iter()
        .position(|s| *s == stage)
        .and_then(|i| order.get(i + 1))
        .filter(|s| stages.contains(s))?;
    // Into the first year of the next stage, entered this year.
    let entered = entry_year + i64::from(stage.years());
    placement(*next, entered, year, stages)
}

/// Promotes a school to `school_year`. Administrators of the school (or above) only.
pub async fn promote(cx: &Ctx<'_>, school: NodeId, school_year: i64) -> AppResult<Promotion> {
    let node = nodes::get(cx, school).await?;
    authz::require(cx.db(), cx.actor, Permission::ManageNode, school).await?;
    if node.kind() != Some(NodeKind::School) {
        return Err(AppError::field("school_year", "error.import.not_a_school"));
    }
    if !(2000..=2100).contains(&school_year) {
        let mut f = FieldErrors::new();
        f.add("school_year", "error.year_range");
        return Err(AppError::Invalid(f));
    }
    let stages = node.stage_list();
    let today = cx.today();
    let mut tx = cx.begin().await?;
    let nodes: Vec<Node> = on_tx!(&mut tx, c => sqlx::query_as(
        "SELECT * FROM org_nodes WHERE school_id = $1 AND active = TRUE AND kind IN ('grade', 'class')",
    ).bind(school).fetch_all(c).await)?;
    let mut grades: Vec<Node> = nodes
        .iter()
        .filter(|n| n.kind() == Some(NodeKind::Grade))
        .cloned()
        .collect();
    let mut classes: Vec<(Node, Stage, i64)> = Vec::new();
    let mut out = Promotion {
        school_year,
        ..Default::default()
    };
    for c in nodes.iter().filter(|n| n.kind() == Some(NodeKind::Class)) {
        let grade = grades.iter().find(|g| Some(g.id) == c.parent_id);
        let stage = grade.and_then(|g| g.stage_list().first().copied());
        let year = grade.and_then(|g| g.grade_code.as_deref()?.parse::<i64>().ok());
        match (stage, year, c.entry_year) {
            (Some(stage), Some(year), Some(_)) => classes.push((c.clone(), stage, year)),
            _ => out.skipped_classes += 1,
        }
    }
    // The highest grades first, so a class never lands beside one still to move.
    classes.sort_by_key(|(_, stage, year)| {
        std::cmp::Reverse((Stage::ALL.iter().position(|s| s == stage), *year))
    });
    for (class, stage, year) in classes {
        let entry = class.entry_year.unwrap_or(school_year);
        match placement(stage, entry, school_year, &stages) {
            Some((to_stage, to_year, _)) if (to_stage, to_year) == (stage, year) => {
                out.unchanged_classes += 1;
            }
            Some((to_stage, to_year, to_entry)) => {
                let grade = grade_node(&mut tx, cx, &node, &mut grades, to_stage, to_year).await?;
                move_class(&mut tx, cx, &class, &grade, to_entry).await?;
                reopen_history(&mut tx, cx, &class, school_year, &grade.name, today).await?;
                out.promoted_classes += 1;
            }
            None => {
                out.graduated_students += graduate(&mut tx, cx, &class, today).await?;
                out.graduated_classes += 1;
            }
        }
    }
    cx.audit(
        &mut tx,
        AuditEvent::new("school.promote")
            .object("node", school)
            .node(school)
            .detail(serde_json::to_value(&out).unwrap_or_default()),
    )
    .await?;
    tx.commit().await?;
    Ok(out)
}

async fn grade_node(
    tx: &mut Tx,
    cx: &Ctx<'_>,
    school: &Node,
    grades: &mut Vec<Node>,
    stage: Stage,
    year: i64,
) -> AppResult<Node> {
    let code = year.to_string();
    if let Some(g) = grades.iter().find(|g| {
        g.stage_list().first() == Some(&stage) && g.grade_code.as_deref() == Some(code.as_str())
    }) {
        return Ok(g.clone());
    }
    let g = new_grade(school, stage, u8::try_from(year).unwrap_or(1), cx.now);
    nodes::insert(tx, &g).await?;
    grades.push(g.clone());
    Ok(g)
}

/// Moves a class under another grade (its closure rows follow).
async fn move_class(
    tx: &mut Tx,
    cx: &Ctx<'_>,
    class: &Node,
    grade: &Node,
    entry_year: i64,
) -> AppResult<()> {
    let old = class.parent_id;
    on_tx!(&mut *tx, c => sqlx::query(
        "UPDATE org_closure SET ancestor_id = $3 WHERE descendant_id = $1 AND ancestor_id = $2",
    ).bind(class.id).bind(old).bind(grade.id).execute(c).await.map(|r| r.rows_affected()))?;
    on_tx!(&mut *tx, c => sqlx::query(
        "UPDATE org_nodes SET parent_id = $2, stages = $3, grade_code = $4, entry_year = $5, updated_at = $6 WHERE id = $1",
    ).bind(class.id).bind(grade.id).bind(&grade.stages).bind(&grade.grade_code).bind(entry_year).bind(cx.now)
    .execute(c).await.map(|r| r.rows_affected()))?;
    if let Some(school) = class.school_id {
        crate::changes::record(tx, cx.now, school, crate::changes::Entity::Node, class.id.0)
            .await?;
    }
    Ok(())
}

/// Closes the class's open history rows and opens one per student for the new year.
async fn reopen_history(
    tx: &mut Tx,
    cx: &Ctx<'_>,
    class: &Node,
    school_year: i64,
    grade: &str,
    today: NaiveDate,
) -> AppResult<()> {
    on_tx!(&mut *tx, c => sqlx::query(
        "UPDATE class_history SET ended_on = $2 WHERE class_id = $1 AND ended_on IS NULL",
    ).bind(class.id).bind(today).execute(c).await.map(|r| r.rows_affected()))?;
    let students: Vec<(PersonId,)> = on_tx!(&mut *tx, c => sqlx::query_as(
        "SELECT person_id FROM role_assignments WHERE node_id = $1 AND role = 'student'",
    ).bind(class.id).fetch_all(c).await)?;
    let school = class.school_id.unwrap_or(class.id);
    // Each student's class history changed.
    for (person,) in &students {
        crate::changes::record(
            tx,
            cx.now,
            school,
            crate::changes::Entity::Student,
            person.0,
        )
        .await?;
    }
    for chunk in students.chunks(500) {
        on_tx!(&mut *tx, c => {
            let mut qb = sqlx::QueryBuilder::new(
                "INSERT INTO class_history (id, person_id, class_id, school_id, school_year, grade_name, class_name, started_on, reason) ",
            );
            qb.push_values(chunk, |mut b, (person,)| {
                b.push_bind(uuid::Uuid::now_v7()).push_bind(*person).push_bind(class.id).push_bind(school)
                    .push_bind(school_year).push_bind(grade).push_bind(&class.name).push_bind(today)
                    .push_bind("promotion");
            });
            qb.build().execute(&mut *c).await.map(|r| r.rows_affected())
        })?;
    }
    Ok(())
}

/// Graduates a class: its students' records say graduated, their history closes, they leave
/// the class, and the class is closed.
async fn graduate(tx: &mut Tx, cx: &Ctx<'_>, class: &Node, today: NaiveDate) -> AppResult<u64> {
    let graduates: Vec<(PersonId,)> = on_tx!(&mut *tx, c => sqlx::query_as(
        "SELECT person_id FROM role_assignments WHERE node_id = $1 AND role = 'student'",
    ).bind(class.id).fetch_all(c).await)?;
    if let Some(school) = class.school_id {
        for (p,) in &graduates {
            crate::changes::record(tx, cx.now, school, crate::changes::Entity::Student, p.0)
                .await?;
        }
        crate::changes::record(tx, cx.now, school, crate::changes::Entity::Node, class.id.0)
            .await?;
    }
    on_tx!(&mut *tx, c => sqlx::query(
        "UPDATE students SET status = 'graduated', updated_at = $2
         WHERE person_id IN (SELECT person_id FROM role_assignments WHERE node_id = $1 AND role = 'student')",
    ).bind(class.id).bind(cx.now).execute(c).await.map(|r| r.rows_affected()))?;
    on_tx!(&mut *tx, c => sqlx::query(
        "UPDATE class_history SET ended_on = $2 WHERE class_id = $1 AND ended_on IS NULL",
    ).bind(class.id).bind(today).execute(c).await.map(|r| r.rows_affected()))?;
    let students = on_tx!(&mut *tx, c => sqlx::query(
        "DELETE FROM role_assignments WHERE node_id = $1 AND role = 'student'",
    ).bind(class.id).execute(c).await.map(|r| r.rows_affected()))?;
    on_tx!(&mut *tx, c => sqlx::query(
        "UPDATE org_nodes SET active = FALSE, updated_at = $2 WHERE id = $1",
    ).bind(class.id).bind(cx.now).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(students)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_move_up_into_the_next_stage_or_graduate() {
        let nine = [Stage::Primary, Stage::Junior];
        // Entered primary in 2020: year 6 in 2025, junior year 1 in 2026 (entered 2026).
        assert_eq!(
            placement(Stage::Primary, 2020, 2025, &nine),
            Some((Stage::Primary, 6, 2020))
        );
        assert_eq!(
            placement(Stage::Primary, 2020, 2026, &nine),
            Some((Stage::Junior, 1, 2026))
        );
        // A primary school's sixth year graduates.
        assert_eq!(
            placement(Stage::Primary, 2020, 2026, &[Stage::Primary]),
            None
        );
        assert_eq!(
            placement(Stage::Junior, 2024, 2026, &nine),
            Some((Stage::Junior, 3, 2024))
        );
        assert_eq!(placement(Stage::Junior, 2024, 2027, &nine), None);
        // Promoting twice to the same year places the class the same way.
        let once = placement(Stage::Primary, 2023, 2026, &nine);
        assert_eq!(once, Some((Stage::Primary, 4, 2023)));
    }
}

//! Importing teaching assignments (任课安排) as a school's academic office keeps them: one row
//! per teacher (by 工号), class, subject (JY/T 1001 course), weekly periods and whether the
//! teacher heads the class. They are role assignments at the class node: `teacher` with the
//! subject and the weekly periods, `head_teacher`.
//!
//! The file says, for each teacher it names, everything that teacher teaches at the school: on
//! commit, a teacher whose assignments differ from the file's has them replaced (their roles at
//! the school's classes); a teacher whose assignments are the file's is left alone, so importing
//! the same file again changes nothing. Teachers the file does not name are not touched, except
//! that a class's head teacher is the one the file names. Classes the school does not have yet
//! are created.

use super::classes::{self, ClassName, SchoolClasses};
use super::staff::{Kept, on_conn, problem, read_batches, set_head_teacher};
use super::staff_rows::{
    AssignmentChecker, AssignmentField as A, AssignmentRow, subject_for_stage,
};
use super::store::{self, Conn};
use super::{Counts, ImportError, Mode, Outcome, Target};
use crate::changes::{self, Entity};
use kernel::{AppError, AppResult, Db, NodeId, PersonId, RoleId, Tx, on_db, on_tx};
use sheets::check::Problem;
use std::collections::{BTreeSet, HashMap};
use std::path::Path;

/// One assignment a row gives: the class, the subject (none: head teacher only), the weekly
/// periods, head teacher or not.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    class: ClassName,
    subject: Option<String>,
    periods: Option<i64>,
    head: bool,
}

#[derive(Debug, Clone, Copy, Default)]
struct Cols {
    staff_no: Option<usize>,
    name: Option<usize>,
}

enum Item {
    Good(Box<AssignmentRow>, Vec<Entry>, Cols),
    Bad(Vec<Problem>),
}

/// Reads `path` as a teaching-assignment file and checks (or commits) it for `target`.
pub async fn run(
    db: &Db,
    target: &Target,
    path: &Path,
    mode: Mode,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Outcome, ImportError> {
    let stages = target.stages.clone();
    // Across rows: the same teacher, class and subject twice; a class with two head teachers.
    let mut seen: HashMap<(String, ClassName, Option<String>), u32> = HashMap::new();
    let mut heads: HashMap<ClassName, (String, u32)> = HashMap::new();
    let (mut recv, reader) = read_batches::<AssignmentChecker, Item>(path, move |layout, r| {
        let cols = Cols {
            staff_no: layout.position(A::StaffNo),
            name: layout.position(A::Name),
        };
        let row = match r {
            Ok(row) => row,
            Err(p) => return Item::Bad(p),
        };
        let column = layout.position(A::Class);
        let mut problems = Vec::new();
        let mut entries = Vec::new();
        for text in &row.classes {
            let Some(class) = classes::parse(text, row.grade.as_deref(), &stages) else {
                problems.push(problem(
                    row.row,
                    column,
                    text,
                    "error.import.class_unreadable",
                    None,
                ));
                continue;
            };
            let subject = row
                .subject
                .as_deref()
                .map(|s| subject_for_stage(s, class.stage).to_owned());
            let key = (row.staff_no.clone(), class, subject.clone());
            if let Some(first) = seen.get(&key) {
                problems.push(Problem {
                    other_row: Some(*first),
                    ..problem(row.row, column, text, "error.duplicate_in_file", None)
                });
                continue;
            }
            seen.insert(key, row.row);
            if row.head_teacher {
                match heads.get(&class) {
                    Some((who, first)) if *who != row.staff_no => {
                        problems.push(Problem {
                            other_row: Some(*first),
                            ..problem(
                                row.row,
                                column,
                                text,
                                "error.staff_import.head_teacher_twice",
                                None,
                            )
                        });
                        continue;
                    }
                    Some(_) => {}
                    None => {
                        heads.insert(class, (row.staff_no.clone(), row.row));
                    }
                }
            }
            entries.push(Entry {
                class,
                subject,
                periods: row.weekly_periods,
                head: row.head_teacher,
            });
        }
        if problems.is_empty() {
            Item::Good(Box::new(row), entries, cols)
        } else {
            Item::Bad(problems)
        }
    });

    let mut tx = match mode {
        Mode::Commit { .. } => Some(db.begin().await?),
        Mode::Check => None,
    };
    let partial = matches!(mode, Mode::Commit { partial: true });
    let (mut rows, mut good_count) = (0u64, 0u64);
    let mut kept = Kept::default();
    // What the file gives each teacher, over the whole file (a teacher's rows may be far apart).
    let mut wanted: Vec<(PersonId, Vec<Entry>)> = Vec::new();
    let mut index: HashMap<PersonId, usize> = HashMap::new();
    while let Some(batch) = recv.recv().await {
        rows += batch.len() as u64;
        let mut good = Vec::with_capacity(batch.len());
        for item in batch {
            match item {
                Item::Good(row, entries, cols) => good.push((*row, entries, cols)),
                Item::Bad(ps) => kept.keep(ps),
            }
        }
        let teachers = match &mut tx {
            Some(t) => teachers(Conn::Tx(t), target.school.id, &good).await?,
            None => teachers(Conn::Pool(db), target.school.id, &good).await?,
        };
        for (row, entries, cols) in good {
            let Some((person, name)) = teachers.get(&row.staff_no) else {
                kept.keep(vec![problem(
                    row.row,
                    cols.staff_no,
                    &row.staff_no,
                    "error.staff_import.staff_unknown",
                    None,
                )]);
                continue;
            };
            if let Some(n) = &row.name
                && n != name
            {
                kept.keep(vec![problem(
                    row.row,
                    cols.name,
                    n,
                    "error.staff_import.name_mismatch",
                    None,
                )]);
                continue;
            }
            good_count += 1;
            let i = *index.entry(*person).or_insert_with(|| {
                wanted.push((*person, Vec::new()));
                wanted.len() - 1
            });
            wanted[i].1.extend(entries);
        }
        progress(rows);
    }
    let header = reader.await.map_err(AppError::internal)??;
    let counts = match tx {
        Some(tx) if kept.count == 0 || partial => {
            let skipped = rows - good_count;
            Some(write(tx, target, wanted, skipped, rows, kept.count).await?)
        }
        _ => None,
    };
    Ok(Outcome {
        header,
        rows,
        good: good_count,
        problem_count: kept.count,
        problems: kept.problems,
        counts,
    })
}

/// The school's persons with the batch's 工号: id and name, by 工号.
async fn teachers(
    mut conn: Conn<'_>,
    school: NodeId,
    good: &[(AssignmentRow, Vec<Entry>, Cols)],
) -> AppResult<HashMap<String, (PersonId, String)>> {
    if good.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(PersonId, String, String)> = on_conn!(&mut conn, c => {
        let mut qb = sqlx::QueryBuilder::new("SELECT id, staff_no, name FROM persons WHERE active = TRUE AND org_id = ");
        qb.push_bind(school).push(" AND staff_no IN (");
        let mut list = qb.separated(", ");
        for (r, _, _) in good {
            list.push_bind(r.staff_no.as_str());
        }
        qb.push(")");
        qb.build_query_as().fetch_all(c).await
    })?;
    Ok(rows
        .into_iter()
        .map(|(id, no, name)| (no, (id, name)))
        .collect())
}

/// A role as stored: class, role, subject, weekly periods.
type Stored = (NodeId, String, Option<String>, Option<i64>);

/// Writes every teacher's assignments that differ from the file's, in the one transaction
/// that also marks the job done.
async fn write(
    mut tx: Tx,
    target: &Target,
    wanted: Vec<(PersonId, Vec<Entry>)>,
    skipped: u64,
    rows: u64,
    problems: u64,
) -> AppResult<Counts> {
    let school = target.school.clone();
    let now = target.now;
    let mut classes = SchoolClasses::load(&mut tx, school.id, &target.stages).await?;
    let year = classes::school_year(target.today);
    let mut counts = Counts {
        skipped,
        ..Counts::default()
    };
    let mut changed = changes::Deferred::default();
    for (person, entries) in wanted {
        let mut want: BTreeSet<Stored> = BTreeSet::new();
        let mut heads = Vec::new();
        for e in entries {
            let (class_id, created) = classes
                .class_id(&mut tx, &school, e.class, year, now)
                .await?;
            if created {
                counts.classes_created += 1;
                changed.add(school.id, Entity::Node, class_id.0);
            }
            if let Some(s) = e.subject {
                want.insert((class_id, "teacher".into(), Some(s), e.periods));
            }
            if e.head {
                want.insert((class_id, "head_teacher".into(), None, None));
                heads.push(class_id);
            }
        }
        let have: Vec<Stored> = on_tx!(&mut tx, c => sqlx::query_as(
            "SELECT r.node_id, r.role, r.subject, r.weekly_periods FROM role_assignments r
             JOIN org_nodes n ON n.id = r.node_id AND n.kind = 'class' AND n.school_id = $2
             WHERE r.person_id = $1 AND r.role IN ('teacher', 'head_teacher')",
        ).bind(person).bind(school.id).fetch_all(c).await)?;
        let had_any = !have.is_empty();
        if have.len() == want.len() && have.into_iter().collect::<BTreeSet<_>>() == want {
            counts.unchanged += 1;
            continue;
        }
        on_tx!(&mut tx, c => sqlx::query(
            "DELETE FROM role_assignments WHERE person_id = $1 AND role IN ('teacher', 'head_teacher')
               AND node_id IN (SELECT id FROM org_nodes WHERE school_id = $2 AND kind = 'class')",
        ).bind(person).bind(school.id).execute(c).await.map(|r| r.rows_affected()))?;
        for (class_id, role, subject, periods) in &want {
            if role == "head_teacher" {
                continue;
            }
            on_tx!(&mut tx, c => sqlx::query(
                "INSERT INTO role_assignments (id, person_id, role, node_id, subject, weekly_periods, created_at)
                 VALUES ($1, $2, 'teacher', $3, $4, $5, $6)",
            ).bind(RoleId::new()).bind(person).bind(*class_id).bind(subject).bind(*periods).bind(now)
            .execute(c).await.map(|r| r.rows_affected()))?;
        }
        heads.sort();
        heads.dedup();
        for class_id in heads {
            set_head_teacher(
                &mut tx,
                &mut changed,
                school.id,
                person,
                class_id,
                false,
                now,
            )
            .await?;
        }
        counts.assignments += want.len() as u64;
        if had_any {
            counts.updated += 1;
        } else {
            counts.created += 1;
        }
        changed.add(school.id, Entity::Staff, person.0);
    }
    store::finish(tx, target, counts, changed, rows, problems).await
}

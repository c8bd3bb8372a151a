//! The gradebook (成绩册) of a class in a subject and term: a column per assignment, a row per
//! student, each category's share (homework, quizzes, exams) and the weighted total by the
//! class's weights. The totals per student and category (`grade_totals`) move only by the
//! difference a rescored submission makes, each change a new version; [`verify`] recomputes
//! them from the submissions. Exported to XLSX in the layout schools keep (成绩登记表).

use super::{Assignment, CATEGORIES, Submission, set::students_of};
use kernel::audit::AuditEvent;
use kernel::{AppError, AppResult, Ctx, FieldErrors, NodeId, PersonId, TermId, Tx, on_db, on_tx};
use serde::Serialize;

/// What a submission adds to its student's totals: its score and the points possible, once it
/// is marked through.
pub fn counted(s: &Submission, total: i64) -> (i64, i64) {
    match s.score {
        Some(score) if s.submitted_at.is_some() && s.pending == 0 => (score, total),
        _ => (0, 0),
    }
}

/// Moves a student's total in the assignment's category by the difference.
pub async fn apply(
    tx: &mut Tx,
    a: &Assignment,
    s: &Submission,
    before: (i64, i64),
    after: (i64, i64),
) -> AppResult<()> {
    let (dp, dq) = (after.0 - before.0, after.1 - before.1);
    if dp == 0 && dq == 0 {
        return Ok(());
    }
    on_tx!(tx, t => sqlx::query(
        "INSERT INTO grade_totals (student_id, class_id, subject, term, category, points, possible, version)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 1)
         ON CONFLICT (student_id, class_id, subject, term, category) DO UPDATE
         SET points = grade_totals.points + excluded.points, possible = grade_totals.possible + excluded.possible,
             version = grade_totals.version + 1",
    ).bind(s.student_id).bind(s.class_id).bind(&a.subject).bind(a.term_key()).bind(&a.category)
     .bind(dp).bind(dq).execute(&mut *t).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// The default weights (percent): homework 30, quizzes 30, exams 40.
pub const DEFAULT_WEIGHTS: [i64; 3] = [30, 30, 40];

/// A class's weights in a subject and term, in the order of [`CATEGORIES`].
pub async fn weights(
    db: &kernel::Db,
    class: NodeId,
    subject: &str,
    term: &str,
) -> AppResult<[i64; 3]> {
    let rows: Vec<(String, i64)> = on_db!(db, p => sqlx::query_as(
        "SELECT category, weight FROM grade_weights WHERE class_id = $1 AND subject = $2 AND term = $3",
    ).bind(class).bind(subject).bind(term).fetch_all(p).await)?;
    if rows.is_empty() {
        return Ok(DEFAULT_WEIGHTS);
    }
    let mut out = [0; 3];
    for (i, c) in CATEGORIES.iter().enumerate() {
        out[i] = rows.iter().find(|r| r.0 == *c).map_or(0, |r| r.1);
    }
    Ok(out)
}

/// Who keeps a class's gradebook in a subject: its teachers of the subject and its head
/// teacher (change weights); administrators above the class read it.
async fn access(cx: &Ctx<'_>, class: NodeId, subject: &str) -> AppResult<bool> {
    if resources::catalog::progress::teaches(cx, class, subject) {
        return Ok(true);
    }
    if kernel::authz::administers(cx.db(), cx.actor, class).await? {
        return Ok(false);
    }
    Err(AppError::NotFound("teaching.class_not_found"))
}

/// Sets a class's weights; each 0–100 and together 100.
pub async fn set_weights(
    cx: &Ctx<'_>,
    class: NodeId,
    subject: &str,
    term: &str,
    typed: &[String; 3],
) -> AppResult<()> {
    if !access(cx, class, subject).await? {
        return Err(AppError::Forbidden);
    }
    let mut e = FieldErrors::new();
    let mut w = [0i64; 3];
    for (i, t) in typed.iter().enumerate() {
        match t.trim().parse::<i64>() {
            Ok(v) if (0..=100).contains(&v) => w[i] = v,
            _ => e.add(
                &format!("weight_{}", CATEGORIES[i]),
                "error.teaching.weight",
            ),
        }
    }
    if e.is_empty() && w.iter().sum::<i64>() != 100 {
        e.add("weight_homework", "error.teaching.weights_sum");
    }
    e.into_result()?;
    let mut tx = cx.begin().await?;
    for (i, c) in CATEGORIES.iter().enumerate() {
        on_tx!(&mut tx, t => sqlx::query(
            "INSERT INTO grade_weights (class_id, subject, term, category, weight) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (class_id, subject, term, category) DO UPDATE SET weight = excluded.weight",
        ).bind(class).bind(subject).bind(term).bind(*c).bind(w[i]).execute(&mut *t).await.map(|r| r.rows_affected()))?;
    }
    cx.audit(
        &mut tx,
        AuditEvent::new("gradebook.weights")
            .node(class)
            .detail(serde_json::json!({ "subject": subject, "term": term, "weights": w })),
    )
    .await?;
    tx.commit().await
}

/// One student's line.
#[derive(Debug, Clone, Serialize)]
pub struct Line {
    pub student_id: PersonId,
    pub name: String,
    pub school_no: String,
    /// Per assignment (the book's columns): the submission, if the work was set to them.
    pub cells: Vec<Option<Submission>>,
    /// Per category: (points, possible), in hundredths.
    pub totals: [(i64, i64); 3],
    /// The weighted total in percent, once anything counts.
    pub weighted: Option<f64>,
}

impl Line {
    /// A category's share as shown: `86.5`.
    pub fn share(&self, i: &usize) -> String {
        let (p, q) = self.totals[*i];
        if q > 0 {
            format!("{:.1}", p as f64 * 100.0 / q as f64)
        } else {
            String::new()
        }
    }
    pub fn weighted_text(&self) -> String {
        self.weighted.map(|w| format!("{w:.1}")).unwrap_or_default()
    }
}

/// The weighted total: each category with anything counted, by its weight.
pub fn weighted(totals: &[(i64, i64); 3], weights: &[i64; 3]) -> Option<f64> {
    let mut sum = 0.0;
    let mut of = 0i64;
    for (i, (p, q)) in totals.iter().enumerate() {
        if *q > 0 && weights[i] > 0 {
            sum += weights[i] as f64 * (*p as f64 / *q as f64);
            of += weights[i];
        }
    }
    (of > 0).then(|| sum * 100.0 / of as f64)
}

#[derive(Debug, Clone, Serialize)]
pub struct Book {
    pub class_id: NodeId,
    pub class: String,
    pub subject: String,
    pub term: String,
    pub term_name: String,
    pub assignments: Vec<Assignment>,
    pub lines: Vec<Line>,
    pub weights: [i64; 3],
    /// The viewer keeps it (sets weights); others read.
    pub keeps: bool,
}

/// The terms at a class's school, latest first: (key, name).
pub async fn terms(db: &kernel::Db, class: NodeId) -> AppResult<Vec<(TermId, String)>> {
    let rows: Vec<(TermId, i64, i64)> = on_db!(db, p => sqlx::query_as(
        "SELECT t.id, t.school_year, t.term FROM terms t JOIN org_closure c ON c.ancestor_id = t.region_id
         WHERE c.descendant_id = $1 ORDER BY t.school_year DESC, t.term DESC, c.depth ASC",
    ).bind(class).fetch_all(p).await)?;
    let mut out: Vec<(TermId, String)> = Vec::new();
    for (id, year, term) in rows {
        let name = format!("{year}-{} {}", year + 1, if term == 1 { "1" } else { "2" });
        if !out.iter().any(|(_, n)| *n == name) {
            out.push((id, name));
        }
    }
    Ok(out)
}

/// The gradebook of a class in a subject and term (`term`: a term's id, or empty for work set
/// before the region had terms).
pub async fn book(cx: &Ctx<'_>, class: NodeId, subject: &str, term: &str) -> AppResult<Book> {
    let keeps = access(cx, class, subject).await?;
    let term_id: Option<TermId> = term.parse::<uuid::Uuid>().ok().map(TermId);
    let sql = format!(
        "SELECT {} FROM assignments a JOIN persons p ON p.id = a.author_id
         JOIN assignment_classes ac ON ac.assignment_id = a.id
         WHERE ac.class_id = $1 AND a.subject = $2 AND a.deleted_at IS NULL AND {}
         ORDER BY a.due_at, a.id",
        super::COLUMNS,
        if term_id.is_some() {
            "a.term_id = $3"
        } else {
            "a.term_id IS NULL"
        }
    );
    let assignments: Vec<Assignment> = on_db!(cx.db(), p => {
        let q = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(class).bind(subject);
        match term_id {
            Some(t) => q.bind(t).fetch_all(p).await,
            None => q.fetch_all(p).await,
        }
    })?;
    let mut subs: Vec<Submission> = Vec::new();
    for a in &assignments {
        subs.extend(super::submissions(cx.db(), a.id).await?);
    }
    let totals: Vec<(PersonId, String, i64, i64)> = on_db!(cx.db(), p => sqlx::query_as(
        "SELECT student_id, category, points, possible FROM grade_totals WHERE class_id = $1 AND subject = $2 AND term = $3",
    ).bind(class).bind(subject).bind(term).fetch_all(p).await)?;
    let numbers: Vec<(PersonId, Option<String>)> = on_db!(cx.db(), p => sqlx::query_as(
        "SELECT s.person_id, s.school_no FROM students s JOIN role_assignments r ON r.person_id = s.person_id
         WHERE r.node_id = $1 AND r.role = 'student'",
    ).bind(class).fetch_all(p).await)?;
    let weights = weights(cx.db(), class, subject, term).await?;
    let mut lines = Vec::new();
    for (student, name) in students_of(cx.db(), class).await? {
        let mut t = [(0i64, 0i64); 3];
        for (i, c) in CATEGORIES.iter().enumerate() {
            if let Some(r) = totals.iter().find(|r| r.0 == student && r.1 == *c) {
                t[i] = (r.2, r.3);
            }
        }
        lines.push(Line {
            student_id: student,
            name,
            school_no: numbers
                .iter()
                .find(|n| n.0 == student)
                .and_then(|n| n.1.clone())
                .unwrap_or_default(),
            cells: assignments
                .iter()
                .map(|a| {
                    subs.iter()
                        .find(|s| s.assignment_id == a.id && s.student_id == student)
                        .cloned()
                })
                .collect(),
            weighted: weighted(&t, &weights),
            totals: t,
        });
    }
    let term_name = terms(cx.db(), class)
        .await?
        .into_iter()
        .find(|(id, _)| id.to_string() == term)
        .map(|(_, n)| n)
        .unwrap_or_default();
    Ok(Book {
        class_id: class,
        class: crate::label(cx.db(), class).await?,
        subject: subject.to_owned(),
        term: term.to_owned(),
        term_name,
        assignments,
        lines,
        weights,
        keeps,
    })
}

/// Recomputes every total of a class from its submissions and says which differ from those
/// kept: (student, category, kept, recomputed). Empty when the book is right.
pub async fn verify(
    db: &kernel::Db,
    class: NodeId,
) -> AppResult<Vec<(PersonId, String, (i64, i64), (i64, i64))>> {
    type Row = (
        PersonId,
        String,
        Option<TermId>,
        String,
        Option<i64>,
        i64,
        Option<chrono::DateTime<chrono::Utc>>,
        i64,
    );
    let rows: Vec<Row> = on_db!(db, p => sqlx::query_as(
        "SELECT s.student_id, a.subject, a.term_id, a.category, s.score, s.pending,
                s.submitted_at, a.total_points
         FROM submissions s JOIN assignments a ON a.id = s.assignment_id
         WHERE s.class_id = $1 AND a.deleted_at IS NULL",
    ).bind(class).fetch_all(p).await)?;
    type Key = (PersonId, String, String, String);
    let mut want: Vec<(Key, (i64, i64))> = Vec::new();
    for (student, subject, term, category, score, pending, submitted, total) in rows {
        let c = match score {
            Some(s) if submitted.is_some() && pending == 0 => (s, total),
            _ => (0, 0),
        };
        let term = term.map(|t| t.to_string()).unwrap_or_default();
        let k = (student, subject, term, category);
        match want.iter_mut().find(|(x, _)| *x == k) {
            Some((_, v)) => *v = (v.0 + c.0, v.1 + c.1),
            None => want.push((k, c)),
        }
    }
    let kept: Vec<(PersonId, String, String, String, i64, i64)> = on_db!(db, p => sqlx::query_as(
        "SELECT student_id, subject, term, category, points, possible FROM grade_totals WHERE class_id = $1",
    ).bind(class).fetch_all(p).await)?;
    let mut out = Vec::new();
    for ((student, subject, term, category), v) in &want {
        let k = kept
            .iter()
            .find(|r| r.0 == *student && r.1 == *subject && r.2 == *term && r.3 == *category)
            .map_or((0, 0), |r| (r.4, r.5));
        if k != *v {
            out.push((*student, category.clone(), k, *v));
        }
    }
    Ok(out)
}

/// The gradebook as a spreadsheet in the layout schools keep: a title row, then 序号, 学号,
/// 姓名, one column per assignment (its points possible in the header), each category's share,
/// the weighted total; numbers as numbers.
pub fn xlsx(b: &Book, category_names: &[String; 3], total_name: &str) -> AppResult<Vec<u8>> {
    use rust_xlsxwriter::{Format, FormatAlign, FormatBorder, Workbook};
    let mut wb = Workbook::new();
    let write = |wb: &mut Workbook| -> Result<(), rust_xlsxwriter::XlsxError> {
        let ws = wb.add_worksheet();
        ws.set_name("成绩登记表")?;
        let title = Format::new()
            .set_bold()
            .set_font_size(14)
            .set_align(FormatAlign::Center);
        let head = Format::new()
            .set_bold()
            .set_border(FormatBorder::Thin)
            .set_align(FormatAlign::Center)
            .set_text_wrap();
        let cell = Format::new().set_border(FormatBorder::Thin);
        let num = Format::new()
            .set_border(FormatBorder::Thin)
            .set_num_format("0.##");
        let columns = 3 + b.assignments.len() + 4;
        let heading = format!(
            "{} {} {} 成绩登记表",
            b.term_name,
            b.class,
            resources::catalog::model::subject_name(&b.subject)
        );
        ws.merge_range(0, 0, 0, (columns - 1) as u16, heading.trim(), &title)?;
        let mut headers: Vec<String> = vec!["序号".into(), "学号".into(), "姓名".into()];
        for a in &b.assignments {
            headers.push(format!("{}（{}分）", a.title, a.total_text()));
        }
        for (i, n) in category_names.iter().enumerate() {
            headers.push(format!("{n}（{}%）", b.weights[i]));
        }
        headers.push(total_name.to_owned());
        for (c, h) in headers.iter().enumerate() {
            ws.write_string_with_format(1, c as u16, h, &head)?;
        }
        for (r, l) in b.lines.iter().enumerate() {
            let row = r as u32 + 2;
            ws.write_number_with_format(row, 0, (r + 1) as f64, &cell)?;
            ws.write_string_with_format(row, 1, &l.school_no, &cell)?;
            ws.write_string_with_format(row, 2, &l.name, &cell)?;
            for (c, s) in l.cells.iter().enumerate() {
                let col = 3 + c as u16;
                match s
                    .as_ref()
                    .and_then(|s| s.graded().then_some(s.score).flatten())
                {
                    Some(v) => ws.write_number_with_format(row, col, v as f64 / 100.0, &num)?,
                    None => ws.write_string_with_format(row, col, "", &cell)?,
                };
            }
            for i in 0..3 {
                let col = 3 + b.assignments.len() as u16 + i as u16;
                let (p, q) = l.totals[i];
                if q > 0 {
                    ws.write_number_with_format(
                        row,
                        col,
                        (p as f64 * 1000.0 / q as f64).round() / 10.0,
                        &num,
                    )?;
                } else {
                    ws.write_string_with_format(row, col, "", &cell)?;
                }
            }
            let col = 3 + b.assignments.len() as u16 + 3;
            match l.weighted {
                Some(w) => {
                    ws.write_number_with_format(row, col, (w * 10.0).round() / 10.0, &num)?
                }
                None => ws.write_string_with_format(row, col, "", &cell)?,
            };
        }
        ws.set_column_width(2, 10)?;
        for c in 3..columns {
            ws.set_column_width(c as u16, 12)?;
        }
        ws.set_freeze_panes(2, 3)?;
        Ok(())
    };
    write(&mut wb).map_err(AppError::internal)?;
    wb.save_to_buffer().map_err(AppError::internal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_weighted_total_leaves_out_empty_categories() {
        // Homework 90 of 100, quizzes 35 of 50, no exam yet: (30·0.9 + 30·0.7) / 60.
        let t = [(9000, 10000), (3500, 5000), (0, 0)];
        let w = weighted(&t, &[30, 30, 40]).unwrap_or_default();
        assert!((w - 80.0).abs() < 1e-9, "{w}");
        assert_eq!(weighted(&[(0, 0); 3], &[30, 30, 40]), None);
        // A category weighted 0 does not count.
        let w = weighted(&t, &[100, 0, 0]).unwrap_or_default();
        assert!((w - 90.0).abs() < 1e-9, "{w}");
    }
}

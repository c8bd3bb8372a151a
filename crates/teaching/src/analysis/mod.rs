//! Analysis (学情分析): a test's (or any marked work's) scores per class and item, from the
//! marks as they stand ([`stats`]); each student's mastery of each knowledge point from all
//! their marked answers ([`mastery`]); the class's heat map of points; charts drawn on the
//! server as SVG ([`chart`]).

pub mod chart;
pub mod mastery;
pub mod pages;
pub mod stats;

use crate::assignments::{self, Access, Assignment, Part, Submission};
use crate::items::score::{Answer, Key};
use kernel::{AppResult, Ctx, NodeId, on_db};
use std::collections::HashMap;

/// The scores of one class (or of all the classes shown).
#[derive(Debug, Clone)]
pub struct ClassScores {
    pub class_id: Option<NodeId>,
    pub label: String,
    pub summary: Option<stats::Summary>,
    /// Handed in, and handed in but not yet fully marked; set to but not handed in.
    pub marked: usize,
    pub waiting: usize,
    pub missing: usize,
}

/// How often an option was chosen.
#[derive(Debug, Clone)]
pub struct Choice {
    pub letter: char,
    /// The option's text (rendered), or for true/false the key of its word.
    pub text: String,
    pub key: Option<&'static str>,
    pub count: usize,
    pub correct: bool,
}

/// One item of the work.
#[derive(Debug, Clone)]
pub struct ItemRow {
    pub number: usize,
    pub part: Part,
    pub stem: String,
    /// Marked answers counted.
    pub count: usize,
    pub p_value: Option<f64>,
    pub discrimination: Option<f64>,
    /// Choice items: each option's count (a distractor nobody chose does not distract).
    pub choices: Vec<Choice>,
    pub unanswered: usize,
}

impl ItemRow {
    /// What the figures say: too hard, too easy, or not telling the strong from the weak.
    pub fn flags(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if let Some(p) = self.p_value {
            if p < 0.3 {
                out.push("analysis.flag_hard");
            } else if p > 0.9 {
                out.push("analysis.flag_easy");
            }
        }
        if let Some(d) = self.discrimination
            && d < 0.2
        {
            out.push("analysis.flag_weak");
        }
        out
    }
}

/// The analysis of an assignment for the classes the viewer sees.
pub struct Analysis {
    pub assignment: Assignment,
    pub full: f64,
    /// All the classes shown together, then each class.
    pub all: ClassScores,
    pub classes: Vec<ClassScores>,
    pub items: Vec<ItemRow>,
}

/// The latest points of each position of each submission of an assignment.
async fn latest_marks(
    db: &kernel::Db,
    id: assignments::AssignmentId,
) -> AppResult<HashMap<assignments::SubmissionId, HashMap<i64, Option<i64>>>> {
    let rows: Vec<(assignments::SubmissionId, i64, Option<i64>)> = on_db!(db, p => sqlx::query_as(
        "SELECT m.submission_id, m.position, m.points FROM marks m JOIN submissions s ON s.id = m.submission_id
         WHERE s.assignment_id = $1 ORDER BY m.submission_id, m.position, m.seq, m.id",
    ).bind(id).fetch_all(p).await)?;
    let mut out: HashMap<_, HashMap<i64, Option<i64>>> = HashMap::new();
    for (s, pos, points) in rows {
        out.entry(s).or_default().insert(pos, points);
    }
    Ok(out)
}

/// The choices made on an assignment's choice items: (submission, position) → options.
async fn choices_made(
    db: &kernel::Db,
    id: assignments::AssignmentId,
) -> AppResult<HashMap<(assignments::SubmissionId, i64), Vec<usize>>> {
    let rows: Vec<(assignments::SubmissionId, i64, String)> = on_db!(db, p => sqlx::query_as(
        "SELECT a.submission_id, a.position, a.response FROM answers a JOIN submissions s ON s.id = a.submission_id
         WHERE s.assignment_id = $1",
    ).bind(id).fetch_all(p).await)?;
    Ok(rows
        .into_iter()
        .filter_map(|(s, pos, r)| match serde_json::from_str(&r) {
            Ok(Answer::Choice { chosen }) => Some(((s, pos), chosen)),
            Ok(Answer::TrueFalse { value }) => Some(((s, pos), vec![usize::from(!value)])),
            _ => None,
        })
        .collect())
}

fn class_scores(
    class_id: Option<NodeId>,
    label: String,
    subs: &[&Submission],
    full: f64,
) -> ClassScores {
    let marked: Vec<f64> = subs
        .iter()
        .filter(|s| s.graded())
        .filter_map(|s| s.score)
        .map(|h| h as f64 / 100.0)
        .collect();
    ClassScores {
        class_id,
        label,
        summary: stats::summary(&marked, full),
        marked: marked.len(),
        waiting: subs
            .iter()
            .filter(|s| s.submitted_at.is_some() && !s.graded())
            .count(),
        missing: subs.iter().filter(|s| s.submitted_at.is_none()).count(),
    }
}

/// The analysis of an assignment over the submissions the actor sees (a teacher: their
/// classes; an administrator: all), or of one of those classes.
pub async fn of(
    cx: &Ctx<'_>,
    a: Assignment,
    access: Access,
    class: Option<NodeId>,
) -> AppResult<Analysis> {
    let visible = assignments::visible_submissions(cx, &a, access).await?;
    let mut class_ids: Vec<NodeId> = visible.iter().map(|s| s.class_id).collect();
    class_ids.dedup();
    let shown: Vec<&Submission> = visible
        .iter()
        .filter(|s| class.is_none_or(|c| c == s.class_id))
        .collect();
    let full = a.total_points as f64 / 100.0;
    let mut classes = Vec::new();
    for c in &class_ids {
        let subs: Vec<&Submission> = visible.iter().filter(|s| s.class_id == *c).collect();
        classes.push(class_scores(
            Some(*c),
            crate::label(cx.db(), *c).await?,
            &subs,
            full,
        ));
    }
    let all = match class {
        Some(c) => classes
            .iter()
            .find(|x| x.class_id == Some(c))
            .cloned()
            .ok_or(kernel::AppError::NotFound("teaching.class_not_found"))?,
        None => class_scores(None, String::new(), &shown, full),
    };

    // Items: over the fully marked submissions shown, each item's points against the rest.
    let parts = assignments::parts(cx.db(), a.id).await?;
    let marks = latest_marks(cx.db(), a.id).await?;
    let chosen = choices_made(cx.db(), a.id).await?;
    let graded: Vec<&Submission> = shown.iter().copied().filter(|s| s.graded()).collect();
    let totals: Vec<f64> = graded
        .iter()
        .map(|s| {
            marks
                .get(&s.id)
                .map(|m| m.values().flatten().sum::<i64>())
                .unwrap_or(0) as f64
                / 100.0
        })
        .collect();
    let mut items = Vec::new();
    for (n, p) in parts.iter().enumerate() {
        let earned: Vec<f64> = graded
            .iter()
            .map(|s| {
                marks
                    .get(&s.id)
                    .and_then(|m| m.get(&p.position).copied().flatten())
                    .unwrap_or(0) as f64
                    / 100.0
            })
            .collect();
        let key = p.key();
        let options = p.options();
        let labels: Vec<(String, Option<&'static str>)> = match key {
            Key::Single { .. } | Key::Multiple { .. } => options
                .choices
                .iter()
                .map(|c| (crate::items::math::render(c), None))
                .collect(),
            Key::TrueFalse { .. } => vec![
                (String::new(), Some("items.true")),
                (String::new(), Some("items.false")),
            ],
            _ => Vec::new(),
        };
        let correct = |i: usize| match &key {
            Key::Single { correct } => *correct == i,
            Key::Multiple { correct, .. } => correct.contains(&i),
            Key::TrueFalse { correct } => usize::from(!*correct) == i,
            _ => false,
        };
        let mut counts = vec![0usize; labels.len()];
        let mut unanswered = 0;
        for s in &graded {
            match chosen.get(&(s.id, p.position)) {
                Some(c) if !c.is_empty() => {
                    for i in c {
                        if let Some(x) = counts.get_mut(*i) {
                            *x += 1;
                        }
                    }
                }
                _ if !labels.is_empty() => unanswered += 1,
                _ => {}
            }
        }
        items.push(ItemRow {
            number: n + 1,
            stem: crate::items::math::render(&p.stem),
            count: earned.len(),
            p_value: stats::p_value(&earned, p.points as f64 / 100.0),
            discrimination: stats::point_biserial(&earned, &totals),
            choices: labels
                .iter()
                .enumerate()
                .map(|(i, (text, key))| Choice {
                    letter: char::from(b'A' + u8::try_from(i).unwrap_or(0)),
                    text: text.clone(),
                    key: *key,
                    count: counts[i],
                    correct: correct(i),
                })
                .collect(),
            unanswered,
            part: p.clone(),
        });
    }
    Ok(Analysis {
        assignment: a,
        full,
        all,
        classes,
        items,
    })
}

/// Counts the marks of a submission (position, points, reason) as evidence of the student's
/// mastery, inside the transaction that changed them (the submission locked): a mark's share
/// of the item's points; an answer waiting for a teacher, or left unanswered, is no evidence.
pub async fn observe_submission(
    tx: &mut kernel::Tx,
    a: &Assignment,
    s: &Submission,
    marks: &[(i64, Option<i64>, String)],
    now: chrono::DateTime<chrono::Utc>,
) -> AppResult<()> {
    let parts = assignments::parts_tx(tx, a.id).await?;
    let evidence: Vec<mastery::Evidence> = marks
        .iter()
        .filter_map(|(pos, points, reason)| {
            let p = parts.iter().find(|p| p.position == *pos)?;
            (p.points > 0).then(|| mastery::Evidence {
                item_id: p.item_id,
                position: *pos,
                score: points
                    .filter(|_| reason != "unanswered")
                    .map(|earned| earned as f64 / p.points as f64),
            })
        })
        .collect();
    if evidence.is_empty() {
        return Ok(());
    }
    mastery::observe(tx, s.student_id, s.id.0, &evidence, now).await?;
    Ok(())
}

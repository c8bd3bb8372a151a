//! Setting work: checked field by field, written in one transaction with every student's
//! submission (a test's attempts: items and options shuffled per student when asked), the
//! items copied as they are now, the day's homework load counted and a head teacher told when
//! their class goes over its limit.

use super::{AssignmentId, CATEGORIES, KINDS, LATE_POLICIES, Layout, SubmissionId, load};
use crate::items::bank::{self, ItemId};
use crate::items::score::Key;
use chrono::{DateTime, NaiveDate, Utc};
use kernel::audit::AuditEvent;
use kernel::facts::{self, Fact};
use kernel::{
    AppError, AppResult, CatalogId, Ctx, FieldErrors, NodeId, PersonId, ResourceId, TermId, on_db,
    on_tx,
};

pub const TITLE_MAX: usize = 100;
pub const INSTRUCTIONS_MAX: usize = 5_000;
pub const ITEMS_MAX: usize = 100;
pub const RESOURCES_MAX: usize = 10;
pub const MINUTES_MAX: i64 = 300;

/// The form's fields.
#[derive(Debug, Clone, Default)]
pub struct Draft {
    pub kind: String,
    pub subject: String,
    pub classes: Vec<NodeId>,
    /// Chosen students of those classes; empty: every student of them.
    pub students: Vec<PersonId>,
    pub title: String,
    pub instructions: String,
    pub catalog_id: Option<CatalogId>,
    pub category: String,
    pub opens_at: String,
    pub due_at: String,
    pub late_policy: String,
    pub late_deduct: String,
    pub expected_minutes: String,
    pub written: bool,
    pub lesson_resource_id: Option<ResourceId>,
    pub resources: Vec<ResourceId>,
    pub items: Vec<ItemId>,
    /// Work without items: its points.
    pub total_points: String,
    pub time_limit: String,
    pub shuffle_items: bool,
    pub shuffle_options: bool,
}

/// A class the work goes to, its students and the load it brings.
struct Target {
    class: NodeId,
    students: Vec<PersonId>,
}

struct Checked {
    school: NodeId,
    stage: String,
    opens: DateTime<Utc>,
    due: DateTime<Utc>,
    deduct: i64,
    minutes: i64,
    total: i64,
    time_limit: Option<i64>,
    term: Option<TermId>,
    items: Vec<bank::Item>,
    resources: Vec<(ResourceId, i64)>,
    targets: Vec<Target>,
}

fn number(s: &str) -> Option<i64> {
    s.trim().parse::<i64>().ok()
}

/// The expected minutes as typed, or 0 (the form's running total before it is checked).
pub fn parse_minutes_or_zero(s: &str) -> i64 {
    number(s)
        .filter(|m| (0..=MINUTES_MAX).contains(m))
        .unwrap_or(0)
}

/// The active students of a class, by name.
pub async fn students_of(db: &kernel::Db, class: NodeId) -> AppResult<Vec<(PersonId, String)>> {
    Ok(on_db!(db, p => sqlx::query_as(
        "SELECT p.id, p.name FROM role_assignments r JOIN persons p ON p.id = r.person_id
         WHERE r.node_id = $1 AND r.role = 'student' AND p.active = TRUE ORDER BY p.name, p.id",
    ).bind(class).fetch_all(p).await)?)
}

async fn visible_resource(cx: &Ctx<'_>, id: ResourceId) -> AppResult<Option<i64>> {
    let viewer = resources::access::Viewer::of(cx.db(), cx.actor).await?;
    Ok(
        match resources::library::resource::find(cx.db(), id).await? {
            Some(r)
                if r.deleted_at.is_none()
                    && resources::access::may_view(cx.db(), cx.actor, &viewer, &r).await? =>
            {
                Some(r.version)
            }
            _ => None,
        },
    )
}

async fn check(cx: &Ctx<'_>, d: &Draft) -> AppResult<Checked> {
    let mut e = FieldErrors::new();
    let zone = cx.state.config.time_zone;
    if !KINDS.contains(&d.kind.as_str()) {
        e.add("kind", "error.teaching.assignment_kind");
    }
    let title = d.title.trim();
    if title.is_empty() || title.chars().count() > TITLE_MAX {
        e.add("title", "error.teaching.assignment_title");
    }
    if d.instructions.chars().count() > INSTRUCTIONS_MAX {
        e.add("instructions", "error.teaching.assignment_instructions");
    }
    if !CATEGORIES.contains(&d.category.as_str()) {
        e.add("category", "error.teaching.assignment_category");
    }
    // The classes: taught in the subject by the actor, of one school and stage.
    let mut school = None;
    let mut stage = None;
    let mut targets = Vec::new();
    if d.classes.is_empty() {
        e.add("classes", "error.teaching.assignment_classes");
    }
    for class in &d.classes {
        let node = directory::nodes::find(cx.db(), *class).await?;
        let grade = load::grade_of(cx.db(), *class).await?;
        match (node, grade) {
            (Some(n), Some((s, _)))
                if n.kind == "class"
                    && resources::catalog::progress::teaches(cx, *class, &d.subject) =>
            {
                if school.is_some_and(|x| Some(x) != n.school_id)
                    || stage.as_ref().is_some_and(|x| *x != s)
                {
                    e.add("classes", "error.teaching.assignment_one_grade");
                }
                school = school.or(n.school_id);
                stage = stage.or(Some(s));
                targets.push(Target {
                    class: *class,
                    students: students_of(cx.db(), *class)
                        .await?
                        .into_iter()
                        .map(|s| s.0)
                        .collect(),
                });
            }
            _ => return Err(AppError::NotFound("teaching.class_not_found")),
        }
    }
    // Chosen students: a group, or one student; each of one of the classes.
    if !d.students.is_empty() {
        if d.students
            .iter()
            .any(|s| !targets.iter().any(|t| t.students.contains(s)))
        {
            e.add("students", "error.teaching.assignment_students");
        }
        for t in &mut targets {
            t.students.retain(|s| d.students.contains(s));
        }
        targets.retain(|t| !t.students.is_empty());
    }
    if targets.iter().all(|t| t.students.is_empty()) && !d.classes.is_empty() {
        e.add("students", "error.teaching.assignment_nobody");
    }
    let opens = zone.parse_input(&d.opens_at);
    let due = zone.parse_input(&d.due_at);
    match (opens, due) {
        (None, _) => e.add("opens_at", "error.teaching.assignment_time"),
        (_, None) => e.add("due_at", "error.teaching.assignment_time"),
        (Some(o), Some(d)) if d <= o || d <= cx.now => {
            e.add("due_at", "error.teaching.assignment_due")
        }
        _ => {}
    }
    if !LATE_POLICIES.contains(&d.late_policy.as_str()) {
        e.add("late_policy", "error.teaching.assignment_late");
    }
    let deduct = if d.late_policy == "deduct" {
        match number(&d.late_deduct) {
            Some(n) if (1..=100).contains(&n) => n,
            _ => {
                e.add("late_deduct", "error.teaching.assignment_deduct");
                0
            }
        }
    } else {
        0
    };
    let minutes = match number(&d.expected_minutes) {
        Some(m) if (0..=MINUTES_MAX).contains(&m) => m,
        _ => {
            e.add("expected_minutes", "error.teaching.assignment_minutes");
            0
        }
    };
    // No written homework where the limit is none at all (grades 1–2 under the national rule).
    if d.written && d.kind != "test" {
        for t in &targets {
            if load::limit_of(cx.db(), t.class).await? == Some(0) {
                e.add("written", "error.teaching.assignment_no_written");
                break;
            }
        }
    }
    // Items of the bank the actor uses, of the subject.
    if d.items.len() > ITEMS_MAX {
        e.add("items", "error.teaching.assignment_items_max");
    }
    let mut items = Vec::new();
    for id in &d.items {
        if items.iter().any(|i: &bank::Item| i.id == *id) {
            continue;
        }
        match bank::get(cx, *id).await {
            Ok(i) if i.subject == d.subject && bank::audio_alive(cx.db(), &i).await? => {
                items.push(i)
            }
            _ => {
                e.add("items", "error.teaching.assignment_item");
                break;
            }
        }
    }
    let total = if items.is_empty() {
        match crate::items::form::points(&d.total_points) {
            Some(p) => p,
            None => {
                e.add("total_points", "error.teaching.assignment_points");
                0
            }
        }
    } else {
        items.iter().map(|i| i.points).sum()
    };
    if d.kind == "test" && items.is_empty() && d.total_points.trim().is_empty() {
        e.add("items", "error.teaching.assignment_test_items");
    }
    let time_limit = if d.kind == "test" {
        match number(&d.time_limit) {
            Some(m) if (1..=MINUTES_MAX).contains(&m) => {
                if let (Some(o), Some(du)) = (opens, due)
                    && (du - o).num_minutes() < m
                {
                    e.add("time_limit", "error.teaching.assignment_window");
                }
                Some(m)
            }
            _ => {
                e.add("time_limit", "error.teaching.assignment_time_limit");
                None
            }
        }
    } else {
        None
    };
    if d.kind == "flipped" && d.lesson_resource_id.is_none() {
        e.add("lesson_resource_id", "error.teaching.assignment_lesson");
    }
    let mut resources_ = Vec::new();
    let mut ids: Vec<ResourceId> = d.lesson_resource_id.into_iter().collect();
    for r in &d.resources {
        if !ids.contains(r) {
            ids.push(*r);
        }
    }
    if ids.len() > RESOURCES_MAX {
        e.add("resources", "error.teaching.too_many_links");
    }
    for id in ids {
        match visible_resource(cx, id).await? {
            Some(v) => resources_.push((id, v)),
            None => {
                let field = if Some(id) == d.lesson_resource_id {
                    "lesson_resource_id"
                } else {
                    "resources"
                };
                e.add(field, "error.teaching.link_unknown");
            }
        }
    }
    if let Some(c) = d.catalog_id {
        let ok = match resources::catalog::tree::find(cx.db(), c).await? {
            Some(n) => {
                n.subject.as_deref() == Some(d.subject.as_str())
                    && resources::catalog::tree::is_visible_to(cx.db(), cx.actor, &n).await?
            }
            None => false,
        };
        if !ok {
            e.add("catalog_id", "error.teaching.chapter");
        }
    }
    e.into_result()?;
    let (Some(school), Some(stage), Some(opens), Some(due)) = (school, stage, opens, due) else {
        return Err(AppError::internal("checked work"));
    };
    let term = term_of(cx.db(), school, zone.date(due)).await?;
    Ok(Checked {
        school,
        stage,
        opens,
        due,
        deduct,
        minutes,
        total,
        time_limit,
        term,
        items,
        resources: resources_,
        targets,
    })
}

/// The term a day falls in at a school (the nearest region's terms).
pub async fn term_of(db: &kernel::Db, school: NodeId, day: NaiveDate) -> AppResult<Option<TermId>> {
    let row: Option<(TermId,)> = on_db!(db, p => sqlx::query_as(
        "SELECT t.id FROM terms t JOIN org_closure c ON c.ancestor_id = t.region_id
         WHERE c.descendant_id = $1 AND t.starts_on <= $2 AND t.ends_on >= $2
         ORDER BY c.depth ASC LIMIT 1",
    ).bind(school).bind(day).fetch_optional(p).await)?;
    Ok(row.map(|r| r.0))
}

/// A random order of `n` entries.
fn shuffled(n: usize) -> Vec<usize> {
    use rand::seq::SliceRandom;
    let mut v: Vec<usize> = (0..n).collect();
    v.shuffle(&mut rand::thread_rng());
    v
}

/// A student's layout: the items in order (shuffled for a test that asks), and the choices of
/// each choice item shuffled when asked.
pub fn layout(items: &[bank::Item], shuffle_items: bool, shuffle_options: bool) -> Layout {
    let order = if shuffle_items {
        shuffled(items.len())
            .into_iter()
            .map(|i| i as i64)
            .collect()
    } else {
        (0..items.len() as i64).collect()
    };
    let choices = items
        .iter()
        .map(|i| match i.key() {
            Key::Single { .. } | Key::Multiple { .. } if shuffle_options => {
                shuffled(i.options().choices.len())
            }
            _ => Vec::new(),
        })
        .collect();
    Layout { order, choices }
}

/// Sets the work; returns its id and the classes now over their day's limit.
pub async fn create(cx: &Ctx<'_>, d: &Draft) -> AppResult<(AssignmentId, Vec<load::DayLoad>)> {
    let c = check(cx, d).await?;
    let id = AssignmentId::new();
    let zone = cx.state.config.time_zone;
    let day = zone.date(c.opens);
    // The day's load before this work, per class (to tell a head teacher when it crosses).
    let mut before = Vec::new();
    for t in &c.targets {
        before.push(load::day(cx.db(), t.class, day, None).await?);
    }
    let mut tx = cx.begin().await?;
    on_tx!(&mut tx, t => sqlx::query(
        "INSERT INTO assignments (id, school_id, author_id, kind, stage, subject, title, instructions, catalog_id,
             category, term_id, opens_at, due_at, late_policy, late_deduct, expected_minutes, written,
             lesson_resource_id, time_limit, shuffle_items, shuffle_options, total_points, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23)",
    ).bind(id).bind(c.school).bind(cx.actor.person_id).bind(&d.kind).bind(&c.stage).bind(&d.subject)
     .bind(d.title.trim()).bind(d.instructions.trim()).bind(d.catalog_id).bind(&d.category).bind(c.term)
     .bind(c.opens).bind(c.due).bind(&d.late_policy).bind(c.deduct).bind(c.minutes)
     .bind(d.written && d.kind != "test").bind(d.lesson_resource_id).bind(c.time_limit)
     .bind(d.shuffle_items && d.kind == "test").bind(d.shuffle_options && d.kind == "test")
     .bind(c.total).bind(cx.now).execute(&mut *t).await.map(|r| r.rows_affected()))?;
    for (pos, i) in c.items.iter().enumerate() {
        on_tx!(&mut tx, t => sqlx::query(
            "INSERT INTO assignment_items (assignment_id, position, item_id, item_version, kind, stem, options,
                 answer_key, explanation, points, audio_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        ).bind(id).bind(pos as i64).bind(i.id).bind(i.version).bind(&i.kind).bind(&i.stem).bind(&i.options)
         .bind(&i.answer_key).bind(&i.explanation).bind(i.points).bind(i.audio_id).execute(&mut *t).await.map(|r| r.rows_affected()))?;
    }
    for (pos, (r, v)) in c.resources.iter().enumerate() {
        on_tx!(&mut tx, t => sqlx::query(
            "INSERT INTO assignment_resources (assignment_id, resource_id, version, position) VALUES ($1, $2, $3, $4)",
        ).bind(id).bind(*r).bind(*v).bind(pos as i64).execute(&mut *t).await.map(|r| r.rows_affected()))?;
    }
    let shuffle = d.kind == "test";
    // A test whose window is its time limit starts for everyone at its opening: each attempt
    // carries its end from now on, and opening it is a read.
    let together = c
        .time_limit
        .is_some_and(|m| (c.due - c.opens).num_minutes() <= m);
    let ends = together.then_some(c.due);
    let mut students = 0;
    for t in &c.targets {
        on_tx!(&mut tx, x => sqlx::query(
            "INSERT INTO assignment_classes (assignment_id, class_id, load_day) VALUES ($1, $2, $3)",
        ).bind(id).bind(t.class).bind(day).execute(&mut *x).await.map(|r| r.rows_affected()))?;
        for s in &t.students {
            let l = layout(
                &c.items,
                shuffle && d.shuffle_items,
                shuffle && d.shuffle_options,
            );
            insert_submission(&mut tx, id, *s, t.class, &l, ends).await?;
            students += 1;
        }
        facts::record(
            &mut tx,
            cx.now,
            Fact::once(
                "teaching.assignment_set",
                t.class,
                Some(cx.actor.person_id),
                id.0,
                format!("assignment.set:{id}:{}", t.class),
            ),
        )
        .await?;
    }
    // A class that goes over its limit with this work: its head teachers are told.
    let mut over = Vec::new();
    if d.written && d.kind != "test" {
        for b in before {
            let mut after = b.clone();
            after.minutes += c.minutes;
            if after.over() {
                if !b.over() {
                    tell_head_teachers(cx, &mut tx, &after).await?;
                }
                over.push(after);
            }
        }
    }
    cx.audit(
        &mut tx,
        AuditEvent::new("assignment.set")
            .object("assignment", id)
            .node(c.school)
            .detail(serde_json::json!({
                "kind": d.kind, "classes": d.classes.len(), "students": students, "items": c.items.len(),
            })),
    )
    .await?;
    tx.commit().await?;
    Ok((id, over))
}

pub async fn insert_submission(
    tx: &mut kernel::Tx,
    assignment: AssignmentId,
    student: PersonId,
    class: NodeId,
    layout: &Layout,
    ends_at: Option<DateTime<Utc>>,
) -> AppResult<SubmissionId> {
    let sid = SubmissionId::new();
    let layout = serde_json::to_string(layout).map_err(AppError::internal)?;
    on_tx!(tx, x => sqlx::query(
        "INSERT INTO submissions (id, assignment_id, student_id, class_id, layout, ends_at, late, watched_seconds,
             lesson_seconds, left_page, pending, feedback, version)
         VALUES ($1, $2, $3, $4, $5, $6, FALSE, 0, 0, 0, 0, '', 1)",
    ).bind(sid).bind(assignment).bind(student).bind(class).bind(&layout).bind(ends_at)
     .execute(&mut *x).await.map(|r| r.rows_affected()))?;
    Ok(sid)
}

async fn tell_head_teachers(cx: &Ctx<'_>, tx: &mut kernel::Tx, l: &load::DayLoad) -> AppResult<()> {
    let heads: Vec<(PersonId,)> = on_db!(cx.db(), p => sqlx::query_as(
        "SELECT person_id FROM role_assignments WHERE node_id = $1 AND role = 'head_teacher'",
    ).bind(l.class_id).fetch_all(p).await)?;
    let class = crate::label(cx.db(), l.class_id).await?;
    for (h,) in heads {
        spaces::tell(
            cx.state,
            tx,
            h,
            "homework_load",
            "notice.homework_over_limit",
            l.class_id.0,
            &format!("/teaching/assignments?class={}", l.class_id),
            serde_json::json!({
                "class": class,
                "day": l.day.to_string(),
                "minutes": l.minutes,
                "limit": l.limit_text(),
            }),
            &format!("homework_over:{}:{}", l.class_id, l.day),
            cx.now,
        )
        .await?;
    }
    Ok(())
}

/// Deletes work that nobody has handed in yet (set by mistake); its author only.
pub async fn delete(cx: &Ctx<'_>, id: AssignmentId) -> AppResult<()> {
    let a = super::get_graded(cx, id).await?;
    if a.author_id != cx.actor.person_id {
        return Err(AppError::NotFound(super::NOT_FOUND));
    }
    let mut tx = cx.begin().await?;
    let n = on_tx!(&mut tx, t => sqlx::query(
        "UPDATE assignments SET deleted_at = $2 WHERE id = $1 AND deleted_at IS NULL
           AND NOT EXISTS (SELECT 1 FROM submissions s WHERE s.assignment_id = $1
                           AND (s.submitted_at IS NOT NULL OR s.started_at IS NOT NULL))",
    ).bind(id).bind(cx.now).execute(&mut *t).await.map(|r| r.rows_affected()))?;
    if n == 0 {
        return Err(AppError::Conflict(
            "teaching.assignment_started",
            FieldErrors::new(),
        ));
    }
    cx.audit(
        &mut tx,
        AuditEvent::new("assignment.delete")
            .object("assignment", id)
            .node(a.school_id),
    )
    .await?;
    tx.commit().await
}

//! Themed activities (主题活动): a region, a school or a class runs an activity for a term (a
//! theme such as safety, reading, the five aspects of education or a parent–child activity)
//! with a description, dates and its participants (students, families or teachers below the
//! organiser). Participants post one work each while it is open (text, and a library resource
//! such as a video); the word list checks it. The organisers feature works, judge them (an
//! award and a score) and publish the results, and the authors are told. A child's work is
//! shown beyond their class only as far as a guardian allows. The plans ask for at least one activity per school per
//! term: every activity and work is a fact.

pub mod pages;

use crate::safety::{self, Verdict};
use crate::scope;
use crate::space::access::belongs;
use chrono::{DateTime, NaiveDate, Utc};
use kernel::audit::AuditEvent;
use kernel::facts::{self, Fact};
use kernel::{
    AppError, AppResult, Ctx, FieldErrors, NodeId, PersonId, ResourceId, Role, on_db, on_tx,
};
use serde::Serialize;
use std::collections::HashMap;

kernel::id_type!(
    /// A themed activity.
    ActivityId => "spaces.activity_not_found",
    /// A work posted to a themed activity.
    WorkId => "spaces.work_not_found",
);

/// The themes: culture, safety, the five aspects of education (德智体美劳), parent–child,
/// reading, and anything else.
pub const THEMES: [&str; 10] = [
    "culture",
    "safety",
    "moral",
    "intellectual",
    "physical",
    "aesthetic",
    "labour",
    "family",
    "reading",
    "other",
];

/// Who posts works: students themselves, families (a guardian for their child, 亲子), or
/// teachers.
pub const PARTICIPANTS: [&str; 3] = ["students", "families", "teachers"];

/// The judges' awards, highest first.
pub const AWARDS: [&str; 4] = ["first", "second", "third", "excellent"];

pub const TITLE_MAX: usize = 100;
pub const TEXT_MAX: usize = 5_000;

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Activity {
    pub id: ActivityId,
    pub node_id: NodeId,
    pub title: String,
    pub theme: String,
    pub description: String,
    pub school_year: i64,
    pub term: i64,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub participants: String,
    /// `open`, or `results` once published.
    pub state: String,
    pub created_by: PersonId,
    pub created_at: DateTime<Utc>,
    pub results_at: Option<DateTime<Utc>>,
    /// The organiser's name (a region, a school, a class with its school).
    #[sqlx(default)]
    pub organiser: String,
    #[sqlx(default)]
    pub works: i64,
}

impl Activity {
    /// Works are taken from the first day to the last, until the results are out.
    pub fn open_on(&self, day: NaiveDate) -> bool {
        self.state == "open" && self.starts_on <= day && day <= self.ends_on
    }
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Work {
    pub id: WorkId,
    pub activity_id: ActivityId,
    pub author_id: PersonId,
    pub author: String,
    pub student_id: Option<PersonId>,
    pub student: Option<String>,
    pub node_id: NodeId,
    pub title: String,
    pub body: String,
    pub resource_id: Option<ResourceId>,
    /// `published`, or `held` until a moderator approves.
    pub state: String,
    pub featured: bool,
    pub award: Option<String>,
    pub score: Option<i64>,
    pub created_at: DateTime<Utc>,
    /// The school of the work's class (a minor's work is shown there only).
    #[sqlx(default)]
    pub school_id: Option<NodeId>,
}

/// The form of a new activity.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
pub struct NewActivity {
    pub node_id: String,
    pub title: String,
    pub theme: String,
    pub description: String,
    pub starts_on: String,
    pub ends_on: String,
    pub participants: String,
}

/// Where the actor may organise an activity: what they administer, and the classes they head.
pub async fn organisable(cx: &Ctx<'_>) -> AppResult<Vec<scope::Addressable>> {
    let mut out = Vec::new();
    for g in &cx.actor.grants {
        if !matches!(g.role, Role::Admin | Role::HeadTeacher)
            || out.iter().any(|a: &scope::Addressable| a.id == g.node_id)
        {
            continue;
        }
        let kind: Option<(String,)> = on_db!(cx.db(), p => sqlx::query_as(
            "SELECT kind FROM org_nodes WHERE id = $1",
        ).bind(g.node_id).fetch_optional(p).await)?;
        let Some((kind,)) = kind else { continue };
        if g.role == Role::HeadTeacher && kind != "class" || kind == "grade" {
            continue;
        }
        out.push(scope::Addressable {
            id: g.node_id,
            kind,
            label: scope::label(cx.db(), g.node_id).await?.unwrap_or_default(),
        });
    }
    Ok(out)
}

/// Whether the actor organises activities of `node`: administers it, or heads it (a class).
pub async fn organises(cx: &Ctx<'_>, node: NodeId) -> AppResult<bool> {
    Ok(scope::heads(cx.actor, node) || scope::administers(cx.db(), cx.actor, node).await?)
}

fn date(f: &mut FieldErrors, field: &str, s: &str) -> Option<NaiveDate> {
    let d = NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok();
    if d.is_none() {
        f.add(field, "activities.error.date");
    }
    d
}

/// Creates an activity; every field is checked and named when wrong.
pub async fn create(cx: &Ctx<'_>, input: &NewActivity) -> AppResult<ActivityId> {
    let mut f = FieldErrors::new();
    let node = input.node_id.trim().parse::<NodeId>().ok();
    let node = match node {
        Some(n) if organisable(cx).await?.iter().any(|a| a.id == n) => Some(n),
        _ => {
            f.add("node_id", "activities.error.organiser");
            None
        }
    };
    let title = input.title.trim();
    if title.is_empty() || title.chars().count() > TITLE_MAX {
        f.add("title", "activities.error.title");
    }
    let description = input.description.trim();
    if description.is_empty() || description.chars().count() > TEXT_MAX {
        f.add("description", "activities.error.description");
    }
    if !THEMES.contains(&input.theme.as_str()) {
        f.add("theme", "activities.error.theme");
    }
    if !PARTICIPANTS.contains(&input.participants.as_str()) {
        f.add("participants", "activities.error.participants");
    }
    let starts = date(&mut f, "starts_on", &input.starts_on);
    let ends = date(&mut f, "ends_on", &input.ends_on);
    if let (Some(s), Some(e)) = (starts, ends) {
        if e < s {
            f.add("ends_on", "activities.error.ends_before");
        } else if e < cx.today() {
            f.add("ends_on", "activities.error.past");
        } else if (e - s).num_days() > 366 {
            f.add("ends_on", "activities.error.too_long");
        }
    }
    f.into_result()?;
    let (Some(node), Some(starts), Some(ends)) = (node, starts, ends) else {
        return Err(AppError::field("node_id", "activities.error.organiser"));
    };
    if let Verdict::Block(words) =
        safety::check(cx.db(), node, &format!("{title}\n{description}")).await?
    {
        return Err(safety::blocked("description", &words));
    }
    let terms = resources::stats::terms::of_node(cx.db(), node).await?;
    let term = resources::stats::terms::pick(&terms, None, starts)?;
    let id = ActivityId(uuid::Uuid::now_v7());
    let mut tx = cx.begin().await?;
    on_tx!(&mut tx, c => sqlx::query(
        "INSERT INTO theme_activities (id, node_id, title, theme, description, school_year, term, starts_on, ends_on, participants, state, created_by, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'open', $11, $12)",
    ).bind(id).bind(node).bind(title).bind(&input.theme).bind(description).bind(term.school_year).bind(term.term)
     .bind(starts).bind(ends).bind(&input.participants).bind(cx.actor.person_id).bind(cx.now)
     .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    facts::record(
        &mut tx,
        cx.now,
        Fact::once(
            "activity.created",
            node,
            Some(cx.actor.person_id),
            id.0,
            format!("activity.created:{id}"),
        ),
    )
    .await?;
    cx.audit(
        &mut tx,
        AuditEvent::new("activity.create")
            .object("theme_activity", id.0)
            .node(node),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

const COLUMNS: &str = "a.id, a.node_id, a.title, a.theme, a.description, a.school_year, a.term, a.starts_on, a.ends_on,
    a.participants, a.state, a.created_by, a.created_at, a.results_at, n.name AS organiser,
    (SELECT COUNT(*) FROM theme_activity_works w WHERE w.activity_id = a.id AND w.state = 'published') AS works";

/// The nodes the actor takes part from: their roles' nodes and their children's classes.
async fn home_nodes(cx: &Ctx<'_>) -> AppResult<Vec<NodeId>> {
    let mut nodes: Vec<NodeId> = cx
        .actor
        .grants
        .iter()
        .filter(|g| g.role != Role::Guardian)
        .map(|g| g.node_id)
        .collect();
    nodes.extend(scope::children(cx).await?.into_iter().map(|c| c.class_id));
    nodes.sort();
    nodes.dedup();
    Ok(nodes)
}

/// The activities the actor sees, newest first: those of the nodes they belong to and above,
/// and those below what they administer.
pub async fn list(cx: &Ctx<'_>, limit: i64) -> AppResult<Vec<Activity>> {
    let nodes = home_nodes(cx).await?;
    let admin: Vec<NodeId> = cx.actor.grants_of(Role::Admin).map(|g| g.node_id).collect();
    if nodes.is_empty() {
        return Ok(Vec::new());
    }
    let list = |from: usize, n: usize| {
        (from..from + n)
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let below = if admin.is_empty() {
        String::new()
    } else {
        format!(
            " OR a.node_id IN (SELECT descendant_id FROM org_closure WHERE ancestor_id IN ({}))",
            list(nodes.len() + 2, admin.len())
        )
    };
    let sql = format!(
        "SELECT {COLUMNS} FROM theme_activities a JOIN org_nodes n ON n.id = a.node_id
         WHERE a.node_id IN (SELECT ancestor_id FROM org_closure WHERE descendant_id IN ({})){below}
         ORDER BY a.starts_on DESC, a.created_at DESC LIMIT $1",
        list(2, nodes.len())
    );
    let rows: Vec<Activity> = on_db!(cx.db(), p => {
        let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(limit);
        for n in nodes.iter().chain(admin.iter()) {
            q = q.bind(*n);
        }
        q.fetch_all(p).await
    })?;
    let mut out = Vec::with_capacity(rows.len());
    for mut a in rows {
        a.organiser = scope::label(cx.db(), a.node_id)
            .await?
            .unwrap_or(a.organiser);
        out.push(a);
    }
    Ok(out)
}

/// Whether a work is posted for `student` (or, without one, by the actor as a teacher).
async fn posted(cx: &Ctx<'_>, id: ActivityId, student: Option<PersonId>) -> AppResult<bool> {
    let (n,): (i64,) = match student {
        Some(s) => on_db!(cx.db(), p => sqlx::query_as(
            "SELECT COUNT(*) FROM theme_activity_works WHERE activity_id = $1 AND student_id = $2",
        ).bind(id).bind(s).fetch_one(p).await)?,
        None => on_db!(cx.db(), p => sqlx::query_as(
            "SELECT COUNT(*) FROM theme_activity_works WHERE activity_id = $1 AND student_id IS NULL AND author_id = $2",
        ).bind(id).bind(cx.actor.person_id).fetch_one(p).await)?,
    };
    Ok(n > 0)
}

/// Open activities the actor can still post a work to (the home page's reminder).
pub async fn to_do(cx: &Ctx<'_>, limit: usize) -> AppResult<Vec<Activity>> {
    // One query per child (or for the student): the open activities above their class for
    // their kind of participant, without a work for them yet (the home page's budget).
    let mut whom: Vec<(PersonId, NodeId, &str)> = cx
        .actor
        .grants_of(Role::Student)
        .map(|g| (cx.actor.person_id, g.node_id, "students"))
        .collect();
    if cx.actor.has_role(Role::Guardian) {
        for c in scope::children(cx).await? {
            whom.push((c.student_id, c.class_id, "families"));
        }
    }
    let sql = format!(
        "SELECT {COLUMNS} FROM theme_activities a JOIN org_nodes n ON n.id = a.node_id
         WHERE a.state = 'open' AND a.starts_on <= $1 AND a.ends_on >= $1 AND a.participants = $2
           AND a.node_id IN (SELECT ancestor_id FROM org_closure WHERE descendant_id = $3)
           AND NOT EXISTS (SELECT 1 FROM theme_activity_works w WHERE w.activity_id = a.id AND w.student_id = $4)
         ORDER BY a.ends_on LIMIT $5"
    );
    let mut out: Vec<Activity> = Vec::new();
    for (student, class, participants) in whom {
        let rows: Vec<Activity> = on_db!(cx.db(), p => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(cx.today()).bind(participants).bind(class).bind(student).bind(limit as i64)
            .fetch_all(p).await)?;
        for a in rows {
            if out.len() < limit && !out.iter().any(|o| o.id == a.id) {
                out.push(a);
            }
        }
    }
    Ok(out)
}

/// An activity the actor may see (they belong to its node or administer it).
pub async fn get(cx: &Ctx<'_>, id: ActivityId) -> AppResult<Activity> {
    let sql = format!(
        "SELECT {COLUMNS} FROM theme_activities a JOIN org_nodes n ON n.id = a.node_id WHERE a.id = $1"
    );
    let a: Option<Activity> = on_db!(cx.db(), p => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
        .bind(id).fetch_optional(p).await)?;
    let Some(mut a) = a else {
        return Err(AppError::NotFound("spaces.activity_not_found"));
    };
    if !belongs(cx, a.node_id).await? {
        return Err(AppError::NotFound("spaces.activity_not_found"));
    }
    a.organiser = scope::label(cx.db(), a.node_id)
        .await?
        .unwrap_or(a.organiser);
    Ok(a)
}

/// The works of an activity the actor may see: the organisers see all; others see published
/// teachers' works, a child's work within the child's class and beyond it as far as a guardian
/// allows (`photos::consent`: the class only by default), and their own (or their children's)
/// even while held. Featured first, then by award, then newest.
pub async fn works(cx: &Ctx<'_>, a: &Activity) -> AppResult<Vec<Work>> {
    let rows: Vec<Work> = on_db!(cx.db(), p => sqlx::query_as(
        "SELECT w.id, w.activity_id, w.author_id, au.name AS author, w.student_id, st.name AS student, w.node_id,
                w.title, w.body, w.resource_id, w.state, w.featured, w.award, w.score, w.created_at, n.school_id
         FROM theme_activity_works w JOIN persons au ON au.id = w.author_id
         LEFT JOIN persons st ON st.id = w.student_id JOIN org_nodes n ON n.id = w.node_id
         WHERE w.activity_id = $1 ORDER BY w.created_at DESC",
    ).bind(a.id).fetch_all(p).await)?;
    let organiser = organises(cx, a.node_id).await?;
    let children: Vec<PersonId> = scope::children(cx)
        .await?
        .into_iter()
        .map(|c| c.student_id)
        .collect();
    let mut seen: HashMap<NodeId, bool> = HashMap::new();
    let mut out = Vec::new();
    for w in rows {
        let own = w.author_id == cx.actor.person_id
            || w.student_id
                .is_some_and(|s| s == cx.actor.person_id || children.contains(&s));
        // A child's work: within their class always; beyond it as far as a guardian allows.
        let visible = organiser
            || own
            || w.state == "published"
                && match w.student_id {
                    None => true,
                    Some(student) => {
                        let school = w.school_id.unwrap_or(w.node_id);
                        let distance = if belongs_cached(cx, &mut seen, w.node_id).await? {
                            "class"
                        } else if belongs_cached(cx, &mut seen, school).await? {
                            "school"
                        } else {
                            "region"
                        };
                        crate::photos::shown_at(cx.db(), student, distance).await?
                    }
                };
        if visible {
            out.push(w);
        }
    }
    let rank = |w: &Work| {
        w.award
            .as_deref()
            .and_then(|x| AWARDS.iter().position(|a| *a == x))
            .unwrap_or(AWARDS.len())
    };
    out.sort_by(|x, y| {
        y.featured
            .cmp(&x.featured)
            .then(rank(x).cmp(&rank(y)))
            .then(y.created_at.cmp(&x.created_at))
    });
    Ok(out)
}

/// [`belongs`], remembered per node for one listing.
async fn belongs_cached(
    cx: &Ctx<'_>,
    seen: &mut HashMap<NodeId, bool>,
    node: NodeId,
) -> AppResult<bool> {
    if let Some(v) = seen.get(&node) {
        return Ok(*v);
    }
    let v = belongs(cx, node).await?;
    seen.insert(node, v);
    Ok(v)
}

/// Who the actor may post a work as in this activity: (student, the class it is shown in) —
/// themselves as a student, each child of theirs as a guardian of a family activity, or
/// themselves as a teacher (no student). Only those below the organiser.
pub async fn entrants(
    cx: &Ctx<'_>,
    a: &Activity,
) -> AppResult<Vec<(Option<PersonId>, NodeId, String)>> {
    let within = |node: NodeId| async move {
        Ok::<bool, AppError>(
            node == a.node_id || kernel::tree::is_within(cx.db(), node, a.node_id).await?,
        )
    };
    let mut out = Vec::new();
    match a.participants.as_str() {
        "students" => {
            for g in cx.actor.grants_of(Role::Student) {
                if within(g.node_id).await? {
                    out.push((Some(cx.actor.person_id), g.node_id, cx.actor.name.clone()));
                }
            }
        }
        "families" => {
            for c in scope::children(cx).await? {
                if within(c.class_id).await? {
                    out.push((Some(c.student_id), c.class_id, c.name));
                }
            }
        }
        _ => {
            for g in cx
                .actor
                .grants
                .iter()
                .filter(|g| matches!(g.role, Role::Teacher | Role::HeadTeacher | Role::Admin))
            {
                if within(g.node_id).await?
                    && !out
                        .iter()
                        .any(|e: &(Option<PersonId>, NodeId, String)| e.1 == g.node_id)
                {
                    out.push((None, g.node_id, cx.actor.name.clone()));
                    break;
                }
            }
        }
    }
    Ok(out)
}

/// The form of a work.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
pub struct NewWork {
    /// The student the work is by or for (empty for a teacher's own).
    pub student_id: String,
    pub title: String,
    pub body: String,
    /// A library resource (a video, slides) to show with it: its id or its address.
    pub resource: String,
}

/// Posts a work while the activity is open: one per student (or teacher); the word list
/// blocks or holds it.
pub async fn submit(cx: &Ctx<'_>, id: ActivityId, input: &NewWork) -> AppResult<WorkId> {
    let a = get(cx, id).await?;
    if !a.open_on(cx.today()) {
        return Err(AppError::Conflict(
            "spaces.activity_closed",
            FieldErrors::new(),
        ));
    }
    // The student named (a guardian with several children), or the actor's one entry.
    let wanted = input.student_id.trim().parse::<PersonId>().ok();
    let Some((student, node, _)) = entrants(cx, &a)
        .await?
        .into_iter()
        .find(|e| wanted.is_none() || e.0 == wanted)
    else {
        return Err(AppError::Forbidden);
    };
    let mut f = FieldErrors::new();
    let title = input.title.trim();
    if title.is_empty() || title.chars().count() > TITLE_MAX {
        f.add("title", "activities.error.title");
    }
    let body = input.body.trim();
    if body.is_empty() || body.chars().count() > TEXT_MAX {
        f.add("body", "activities.error.body");
    }
    let resource = match input.resource.trim() {
        "" => None,
        r => {
            let raw = r.trim_end_matches('/').rsplit('/').next().unwrap_or(r);
            match raw.parse::<ResourceId>() {
                Ok(rid) if resources::library::resource::get(cx, rid).await.is_ok() => Some(rid),
                _ => {
                    f.add("resource", "activities.error.resource");
                    None
                }
            }
        }
    };
    f.into_result()?;
    let state = match safety::check(cx.db(), node, &format!("{title}\n{body}")).await? {
        Verdict::Block(words) => return Err(safety::blocked("body", &words)),
        Verdict::Hold(_) => "held",
        Verdict::Clean => "published",
    };
    if posted(cx, id, student).await? {
        return Err(AppError::Conflict("spaces.work_exists", FieldErrors::new()));
    }
    let wid = WorkId(uuid::Uuid::now_v7());
    let mut tx = cx.begin().await?;
    on_tx!(&mut tx, c => sqlx::query(
        "INSERT INTO theme_activity_works (id, activity_id, author_id, student_id, node_id, title, body, resource_id, state, featured, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, FALSE, $10)",
    ).bind(wid).bind(id).bind(cx.actor.person_id).bind(student).bind(node).bind(title).bind(body)
     .bind(resource).bind(state).bind(cx.now).execute(&mut *c).await.map(|r| r.rows_affected()))?;
    facts::record(
        &mut tx,
        cx.now,
        Fact::once(
            "activity.work",
            node,
            Some(cx.actor.person_id),
            wid.0,
            format!("activity.work:{wid}"),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(wid)
}

async fn work(cx: &Ctx<'_>, id: WorkId) -> AppResult<(Activity, ActivityId, String)> {
    let row: Option<(ActivityId, String)> = on_db!(cx.db(), p => sqlx::query_as(
        "SELECT activity_id, title FROM theme_activity_works WHERE id = $1",
    ).bind(id).fetch_optional(p).await)?;
    let Some((activity, title)) = row else {
        return Err(AppError::NotFound("spaces.work_not_found"));
    };
    let a = get(cx, activity).await?;
    if !organises(cx, a.node_id).await? {
        return Err(AppError::Forbidden);
    }
    Ok((a, activity, title))
}

/// The organisers' judgement of a work: featured or not, an award and a score (0–100), and
/// a held work approved.
pub async fn judge(
    cx: &Ctx<'_>,
    id: WorkId,
    featured: bool,
    award: &str,
    score: &str,
) -> AppResult<()> {
    let (a, _, _) = work(cx, id).await?;
    let mut f = FieldErrors::new();
    let award = match award.trim() {
        "" => None,
        x if AWARDS.contains(&x) => Some(x.to_owned()),
        _ => {
            f.add("award", "activities.error.award");
            None
        }
    };
    let score = match score.trim() {
        "" => None,
        s => match s.parse::<i64>() {
            Ok(n) if (0..=100).contains(&n) => Some(n),
            _ => {
                f.add("score", "activities.error.score");
                None
            }
        },
    };
    f.into_result()?;
    let mut tx = cx.begin().await?;
    on_tx!(&mut tx, c => sqlx::query(
        "UPDATE theme_activity_works SET featured = $2, award = $3, score = $4, judged_by = $5, state = 'published' WHERE id = $1",
    ).bind(id).bind(featured).bind(award.as_deref()).bind(score).bind(cx.actor.person_id)
     .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    cx.audit(
        &mut tx,
        AuditEvent::new("activity.judge")
            .object("theme_activity_work", id.0)
            .node(a.node_id),
    )
    .await?;
    tx.commit().await
}

/// Publishes the results: the activity takes no more works, and each author is told of
/// their work's award (or that the results are out).
pub async fn publish(cx: &Ctx<'_>, id: ActivityId) -> AppResult<()> {
    let a = get(cx, id).await?;
    if !organises(cx, a.node_id).await? {
        return Err(AppError::Forbidden);
    }
    if a.state == "results" {
        return Err(AppError::Conflict(
            "spaces.activity_published",
            FieldErrors::new(),
        ));
    }
    let authors: Vec<(PersonId, String, Option<String>)> = on_db!(cx.db(), p => sqlx::query_as(
        "SELECT author_id, title, award FROM theme_activity_works WHERE activity_id = $1 AND state = 'published'",
    ).bind(id).fetch_all(p).await)?;
    let mut tx = cx.begin().await?;
    on_tx!(&mut tx, c => sqlx::query(
        "UPDATE theme_activities SET state = 'results', results_at = $2 WHERE id = $1 AND state = 'open'",
    ).bind(id).bind(cx.now).execute(&mut *c).await.map(|r| r.rows_affected()))?;
    let link = format!("/spaces/activities/{id}");
    for (author, title, award) in authors {
        let award = award
            .map(|x| crate::outside_text(&format!("activities.award.{x}"), &[]))
            .unwrap_or_default();
        let key = if award.is_empty() {
            "notice.activity_results"
        } else {
            "notice.activity_award"
        };
        crate::tell(
            cx.state,
            &mut tx,
            author,
            "activity",
            key,
            id.0,
            &link,
            serde_json::json!({ "activity": a.title, "work": title, "award": award }),
            &format!("activity_results:{id}"),
            cx.now,
        )
        .await?;
    }
    cx.audit(
        &mut tx,
        AuditEvent::new("activity.publish")
            .object("theme_activity", id.0)
            .node(a.node_id),
    )
    .await?;
    tx.commit().await
}

/// Activities per school in a term under `node` (the plans: at least one per school and
/// term): (school, its name, activities it or its classes ran, works posted).
pub async fn per_school(
    db: &kernel::Db,
    node: NodeId,
    school_year: i64,
    term: i64,
) -> AppResult<Vec<(NodeId, String, i64, i64)>> {
    Ok(on_db!(db, p => sqlx::query_as(
        "SELECT s.id, s.name,
                (SELECT COUNT(*) FROM theme_activities a JOIN org_closure c ON c.descendant_id = a.node_id
                 WHERE c.ancestor_id = s.id AND a.school_year = $2 AND a.term = $3) AS activities,
                (SELECT COUNT(*) FROM theme_activity_works w JOIN theme_activities a ON a.id = w.activity_id
                 JOIN org_closure c ON c.descendant_id = w.node_id
                 WHERE c.ancestor_id = s.id AND a.school_year = $2 AND a.term = $3) AS works
         FROM org_closure k JOIN org_nodes s ON s.id = k.descendant_id AND s.kind = 'school'
         WHERE k.ancestor_id = $1 ORDER BY s.name",
    ).bind(node).bind(school_year).bind(term).fetch_all(p).await)?)
}

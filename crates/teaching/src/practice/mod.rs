//! Practice (智能练习): a student asks for a set in a subject and gets items on their weakest
//! knowledge points, each one they answer right with a predicted chance of about 0.6 to 0.8
//! (the mastery model's `σ(θ − b)`), from their school's bank and the items shared to it
//! through the library (the items their teachers and region may use).
//! Answers are marked at once, shown with the explanations, and move the student's mastery
//! like any marked answer; the set keeps the abilities before and after, which their teachers
//! (and guardians) see.

pub mod demo;
pub mod pages;

use crate::analysis::mastery::{self, Ability};
use crate::items::bank::{Item, ItemId};
use crate::items::score::{self, Answer, Key};
use crate::knowledge::PointId;
use chrono::{DateTime, Utc};
use kernel::facts::{self, Fact};
use kernel::{AppError, AppResult, Ctx, FieldErrors, NodeId, PersonId, Role, on_db, on_tx};
use std::collections::HashMap;

kernel::id_type!(
    /// A student's practice set.
    PracticeId => "teaching.practice_not_found",
);

pub const NOT_FOUND: &str = "teaching.practice_not_found";
/// Items in a set.
pub const SIZE: usize = 5;
/// The weakest points a set works on.
pub const WEAK: usize = 3;
/// The predicted chance of success a practice item should have, and the aim inside it.
pub const BAND: (f64, f64) = (0.6, 0.8);
pub const AIM: f64 = 0.7;
/// Items practised this recently are chosen again only when nothing else fits.
pub const RECENT_DAYS: i64 = 3;

/// Where a student practises: their class, its school and stage.
#[derive(Debug, Clone)]
pub struct Place {
    pub class_id: NodeId,
    pub school_id: NodeId,
    pub stage: String,
}

/// The student's class (the latest they were placed in), its school and stage.
pub async fn place_of(db: &kernel::Db, student: PersonId) -> AppResult<Option<Place>> {
    let row: Option<(NodeId, Option<NodeId>)> = on_db!(db, p => sqlx::query_as(
        "SELECT r.node_id, n.school_id FROM role_assignments r JOIN org_nodes n ON n.id = r.node_id
         WHERE r.person_id = $1 AND r.role = 'student' ORDER BY r.created_at DESC, r.id DESC LIMIT 1",
    ).bind(student).fetch_optional(p).await)?;
    let Some((class_id, Some(school_id))) = row else {
        return Ok(None);
    };
    let Some((stage, _)) = crate::assignments::load::grade_of(db, class_id).await? else {
        return Ok(None);
    };
    Ok(Some(Place {
        class_id,
        school_id,
        stage,
    }))
}

/// An item the student may practise, with its points and predicted chance.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub item: ItemId,
    pub points: Vec<PointId>,
    pub chance: f64,
    pub recent: bool,
}

/// Chooses up to `size` items: round the `weak` points in turn, on each the unchosen item
/// nearest the aim; items inside the band first, and among them those not practised lately.
pub fn choose(weak: &[PointId], candidates: &[Candidate], size: usize) -> Vec<(ItemId, f64)> {
    let rank = |c: &Candidate| {
        let off = (c.chance - AIM).abs();
        let outside = c.chance < BAND.0 || c.chance > BAND.1;
        (outside, c.recent, (off * 1e6) as i64)
    };
    let mut out: Vec<(ItemId, f64)> = Vec::new();
    loop {
        let before = out.len();
        for point in weak {
            if out.len() == size {
                return out;
            }
            let best = candidates
                .iter()
                .filter(|c| c.points.contains(point) && !out.iter().any(|o| o.0 == c.item))
                .min_by_key(|c| rank(c));
            if let Some(c) = best {
                out.push((c.item, c.chance));
            }
        }
        if out.len() == before {
            return out;
        }
    }
}

/// The student's weakest points among `points`: the lowest abilities first, a point without
/// answers counted as even (its ability 0).
pub fn weakest(
    points: &[PointId],
    abilities: &HashMap<PointId, Ability>,
    n: usize,
) -> Vec<PointId> {
    let mut ranked: Vec<(f64, PointId)> = points
        .iter()
        .map(|p| (abilities.get(p).map_or(0.0, |a| a.theta), *p))
        .collect();
    ranked.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    ranked.dedup_by_key(|r| r.1);
    ranked.into_iter().take(n).map(|r| r.1).collect()
}

/// The kinds a teacher marks: never practised (practice is marked at once).
const MANUAL: &str = "('short_answer', 'essay', 'dictation', 'writing')";

/// The items of the school's bank a student may practise in a subject: marked by rule, on at
/// least one knowledge point; with their points.
async fn bank(
    db: &kernel::Db,
    place: &Place,
    subject: &str,
) -> AppResult<Vec<(Item, Vec<PointId>)>> {
    let sql = format!(
        "SELECT {} FROM items i JOIN persons p ON p.id = i.author_id
         WHERE (i.school_id = $1 OR {}) AND i.stage = $2 AND i.subject = $3 AND i.deleted_at IS NULL
           AND i.kind NOT IN {MANUAL}
           AND EXISTS (SELECT 1 FROM item_points ip WHERE ip.item_id = i.id)
           AND (i.audio_id IS NULL OR EXISTS (SELECT 1 FROM resources r WHERE r.id = i.audio_id AND r.deleted_at IS NULL))
         ORDER BY i.id",
        crate::items::bank::COLUMNS,
        crate::items::bank::shared_to("$1")
    );
    let items: Vec<Item> = on_db!(db, p => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(place.school_id).bind(&place.stage).bind(subject).fetch_all(p).await)?;
    let sql = format!(
        "SELECT ip.item_id, ip.point_id FROM item_points ip JOIN items i ON i.id = ip.item_id
         WHERE (i.school_id = $1 OR {}) AND i.stage = $2 AND i.subject = $3 AND i.deleted_at IS NULL",
        crate::items::bank::shared_to("$1")
    );
    let links: Vec<(ItemId, PointId)> = on_db!(db, p => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(place.school_id).bind(&place.stage).bind(subject).fetch_all(p).await)?;
    Ok(items
        .into_iter()
        .filter(|i| !matches!(i.key(), Key::Manual))
        .map(|i| {
            let points = links.iter().filter(|l| l.0 == i.id).map(|l| l.1).collect();
            (i, points)
        })
        .collect())
}

/// The subjects a student can practise: those with items for them in their school's bank.
pub async fn subjects(db: &kernel::Db, place: &Place) -> AppResult<Vec<String>> {
    let sql = format!(
        "SELECT DISTINCT i.subject FROM items i
         WHERE (i.school_id = $1 OR {}) AND i.stage = $2 AND i.deleted_at IS NULL AND i.kind NOT IN {MANUAL}
           AND EXISTS (SELECT 1 FROM item_points ip WHERE ip.item_id = i.id)
         ORDER BY i.subject",
        crate::items::bank::shared_to("$1")
    );
    let rows: Vec<(String,)> = on_db!(db, p => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(place.school_id).bind(&place.stage).fetch_all(p).await)?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

/// A point with a student's ability on it.
#[derive(Debug, Clone)]
pub struct Weak {
    pub point_id: PointId,
    pub name: String,
    pub path: String,
    pub ability: Option<Ability>,
}

impl Weak {
    pub fn percent(&self) -> Option<i64> {
        self.ability.map(|a| mastery::percent(a.theta))
    }
}

/// A student's weakest points in a subject (what the next set would practise).
pub async fn weak_points(
    db: &kernel::Db,
    student: PersonId,
    place: &Place,
    subject: &str,
) -> AppResult<Vec<Weak>> {
    let items = bank(db, place, subject).await?;
    let points: Vec<PointId> = items.iter().flat_map(|i| i.1.clone()).collect();
    let abilities = mastery::of_student(db, student).await?;
    let mut out = Vec::new();
    for p in weakest(&points, &abilities, WEAK) {
        if let Some(k) = crate::knowledge::find(db, p).await? {
            out.push(Weak {
                point_id: p,
                name: k.name,
                path: k.path,
                ability: abilities.get(&p).copied(),
            });
        }
    }
    Ok(out)
}

/// Makes a practice set for the student in `subject`.
pub async fn start(cx: &Ctx<'_>, subject: &str) -> AppResult<PracticeId> {
    if !cx.actor.has_role(Role::Student) {
        return Err(AppError::Forbidden);
    }
    let student = cx.actor.person_id;
    let Some(place) = place_of(cx.db(), student).await? else {
        return Err(AppError::Forbidden);
    };
    // A set not yet handed in is the one to do: no second set until it is.
    let open: Option<(PracticeId,)> = on_db!(cx.db(), p => sqlx::query_as(
        "SELECT id FROM practice_sets WHERE student_id = $1 AND subject = $2 AND finished_at IS NULL
         ORDER BY created_at DESC LIMIT 1",
    ).bind(student).bind(subject).fetch_optional(p).await)?;
    if let Some((id,)) = open {
        return Ok(id);
    }
    let items = bank(cx.db(), &place, subject).await?;
    if items.is_empty() {
        let mut f = FieldErrors::new();
        f.add("subject", "error.teaching.nothing_to_practise");
        return Err(AppError::Invalid(f));
    }
    let abilities = mastery::of_student(cx.db(), student).await?;
    let ids: Vec<ItemId> = items.iter().map(|i| i.0.id).collect();
    let difficulty = mastery::difficulties(cx.db(), &ids).await?;
    let since = cx.now - chrono::Duration::days(RECENT_DAYS);
    let recent: Vec<(ItemId,)> = on_db!(cx.db(), p => sqlx::query_as(
        "SELECT x.item_id FROM practice_items x JOIN practice_sets s ON s.id = x.set_id
         WHERE s.student_id = $1 AND s.created_at >= $2",
    ).bind(student).bind(since).fetch_all(p).await)?;
    let candidates: Vec<Candidate> = items
        .iter()
        .map(|(i, points)| {
            let theta = points
                .iter()
                .map(|p| abilities.get(p).map_or(0.0, |a| a.theta))
                .sum::<f64>()
                / points.len() as f64;
            Candidate {
                item: i.id,
                points: points.clone(),
                chance: mastery::chance(theta, difficulty[&i.id]),
                recent: recent.iter().any(|r| r.0 == i.id),
            }
        })
        .collect();
    let all: Vec<PointId> = items.iter().flat_map(|i| i.1.clone()).collect();
    let weak = weakest(&all, &abilities, WEAK);
    let chosen = choose(&weak, &candidates, SIZE);
    let id = PracticeId::new();
    let mut tx = cx.db().begin().await?;
    on_tx!(&mut tx, t => sqlx::query(
        "INSERT INTO practice_sets (id, student_id, school_id, stage, subject, created_at, finished_at, correct)
         VALUES ($1, $2, $3, $4, $5, $6, NULL, 0)",
    ).bind(id).bind(student).bind(place.school_id).bind(&place.stage).bind(subject).bind(cx.now)
     .execute(&mut *t).await.map(|r| r.rows_affected()))?;
    let mut touched: Vec<PointId> = Vec::new();
    for (n, (item, chance)) in chosen.iter().enumerate() {
        on_tx!(&mut tx, t => sqlx::query(
            "INSERT INTO practice_items (set_id, position, item_id, predicted, response, score) VALUES ($1, $2, $3, $4, NULL, NULL)",
        ).bind(id).bind(n as i64).bind(*item).bind(*chance).execute(&mut *t).await.map(|r| r.rows_affected()))?;
        if let Some((_, points)) = items.iter().find(|i| i.0.id == *item) {
            touched.extend(points);
        }
    }
    touched.sort_unstable();
    touched.dedup();
    for p in touched {
        let before = abilities.get(&p).map_or(0.0, |a| a.theta);
        on_tx!(&mut tx, t => sqlx::query(
            "INSERT INTO practice_points (set_id, point_id, theta_before, theta_after) VALUES ($1, $2, $3, NULL)",
        ).bind(id).bind(p).bind(before).execute(&mut *t).await.map(|r| r.rows_affected()))?;
    }
    tx.commit().await?;
    Ok(id)
}

/// A practice set.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PracticeSet {
    pub id: PracticeId,
    pub student_id: PersonId,
    pub school_id: NodeId,
    pub stage: String,
    pub subject: String,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub correct: i64,
    #[sqlx(default)]
    pub student: String,
}

impl PracticeSet {
    /// The share right, in percent of the items.
    pub fn percent(&self, items: usize) -> i64 {
        if items == 0 {
            0
        } else {
            self.correct / items as i64
        }
    }
}

/// One item of a set, as it was chosen and answered.
#[derive(Debug, Clone)]
pub struct Practised {
    pub position: i64,
    pub item: Item,
    pub predicted: f64,
    pub answer: Option<Answer>,
    pub score: Option<f64>,
}

#[derive(sqlx::FromRow)]
struct ItemRow {
    position: i64,
    item_id: ItemId,
    predicted: f64,
    response: Option<String>,
    score: Option<f64>,
}

/// A set with its number of items.
#[derive(sqlx::FromRow)]
struct SetRow {
    #[sqlx(flatten)]
    set: PracticeSet,
    n: i64,
}

/// A point a set practised, and the ability before and after.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Moved {
    pub point_id: PointId,
    pub name: String,
    pub theta_before: f64,
    pub theta_after: Option<f64>,
}

impl Moved {
    pub fn before(&self) -> i64 {
        mastery::percent(self.theta_before)
    }
    pub fn after(&self) -> Option<i64> {
        self.theta_after.map(mastery::percent)
    }
}

const SET_COLUMNS: &str = "s.id, s.student_id, s.school_id, s.stage, s.subject, s.created_at, \
     s.finished_at, s.correct, p.name AS student";

async fn find(db: &kernel::Db, id: PracticeId) -> AppResult<Option<PracticeSet>> {
    let sql = format!(
        "SELECT {SET_COLUMNS} FROM practice_sets s JOIN persons p ON p.id = s.student_id WHERE s.id = $1"
    );
    Ok(
        on_db!(db, p => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(id).fetch_optional(p).await)?,
    )
}

/// Whether the actor teaches the student's class in the subject (or heads it).
async fn teaches_student(cx: &Ctx<'_>, student: PersonId, subject: &str) -> AppResult<bool> {
    let classes: Vec<(NodeId,)> = on_db!(cx.db(), p => sqlx::query_as(
        "SELECT node_id FROM role_assignments WHERE person_id = $1 AND role = 'student'",
    ).bind(student).fetch_all(p).await)?;
    Ok(classes
        .iter()
        .any(|c| resources::catalog::progress::teaches(cx, c.0, subject)))
}

/// A set with its items and points, for the student, their guardians, the teachers of the
/// subject in their class (and its head teacher), and the administrators of its school and
/// the regions above (404 for anyone else).
pub async fn open(
    cx: &Ctx<'_>,
    id: PracticeId,
) -> AppResult<(PracticeSet, Vec<Practised>, Vec<Moved>)> {
    let s = find(cx.db(), id)
        .await?
        .ok_or(AppError::NotFound(NOT_FOUND))?;
    let guardian = cx
        .actor
        .grants_of(Role::Guardian)
        .any(|g| g.student_id == Some(s.student_id));
    if s.student_id != cx.actor.person_id
        && !guardian
        && !teaches_student(cx, s.student_id, &s.subject).await?
        && !kernel::authz::administers(cx.db(), cx.actor, s.school_id).await?
    {
        return Err(AppError::NotFound(NOT_FOUND));
    }
    let rows: Vec<ItemRow> = on_db!(cx.db(), p => sqlx::query_as(
        "SELECT position, item_id, predicted, response, score FROM practice_items WHERE set_id = $1 ORDER BY position",
    ).bind(id).fetch_all(p).await)?;
    let mut items = Vec::new();
    for ItemRow {
        position,
        item_id,
        predicted,
        response,
        score,
    } in rows
    {
        let sql = format!(
            "SELECT {} FROM items i JOIN persons p ON p.id = i.author_id WHERE i.id = $1",
            crate::items::bank::COLUMNS
        );
        let item: Item = on_db!(cx.db(), p => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(item_id).fetch_one(p).await)?;
        items.push(Practised {
            position,
            item,
            predicted,
            answer: response.and_then(|r| serde_json::from_str(&r).ok()),
            score,
        });
    }
    let moved: Vec<Moved> = on_db!(cx.db(), p => sqlx::query_as(
        "SELECT x.point_id, k.name, x.theta_before, x.theta_after FROM practice_points x
         JOIN knowledge_points k ON k.id = x.point_id WHERE x.set_id = $1 ORDER BY k.path",
    ).bind(id).fetch_all(p).await)?;
    Ok((s, items, moved))
}

/// Marks the student's answers to their set at once (an item left empty scores 0) and moves
/// their mastery; a set is answered once.
pub async fn finish(cx: &Ctx<'_>, id: PracticeId, given: &[(i64, Answer)]) -> AppResult<()> {
    let (s, items, _) = open(cx, id).await?;
    if s.student_id != cx.actor.person_id {
        return Err(AppError::NotFound(NOT_FOUND));
    }
    let Some(place) = place_of(cx.db(), s.student_id).await? else {
        return Err(AppError::NotFound(NOT_FOUND));
    };
    let mut tx = cx.db().begin().await?;
    // Answered once: the first hand-in wins, a second (another tab, a retry) is refused.
    let claimed = on_tx!(&mut tx, t => sqlx::query(
        "UPDATE practice_sets SET finished_at = $2 WHERE id = $1 AND finished_at IS NULL",
    ).bind(id).bind(cx.now).execute(&mut *t).await.map(|r| r.rows_affected()))?;
    if claimed == 0 {
        return Err(AppError::Conflict(
            "teaching.practice_finished",
            FieldErrors::new(),
        ));
    }
    let mut evidence = Vec::new();
    let mut correct = 0.0;
    for p in &items {
        let answer = given.iter().find(|g| g.0 == p.position).map(|g| &g.1);
        let earned = match answer {
            Some(a) if crate::assignments::work::is_given(a) => {
                score::mark(&p.item.key(), 1.0, a).points.unwrap_or(0.0)
            }
            _ => 0.0,
        };
        correct += earned;
        let response = answer.map(|a| serde_json::to_string(a).unwrap_or_default());
        on_tx!(&mut tx, t => sqlx::query(
            "UPDATE practice_items SET response = $3, score = $4 WHERE set_id = $1 AND position = $2",
        ).bind(id).bind(p.position).bind(response).bind(earned).execute(&mut *t).await.map(|r| r.rows_affected()))?;
        evidence.push(mastery::Evidence {
            item_id: p.item.id,
            position: p.position,
            score: Some(earned),
        });
    }
    let after = mastery::observe(&mut tx, s.student_id, id.0, &evidence, cx.now).await?;
    for (point, a) in &after {
        on_tx!(&mut tx, t => sqlx::query(
            "UPDATE practice_points SET theta_after = $3 WHERE set_id = $1 AND point_id = $2",
        ).bind(id).bind(*point).bind(a.theta).execute(&mut *t).await.map(|r| r.rows_affected()))?;
    }
    let correct = (correct * 100.0).round() as i64;
    on_tx!(&mut tx, t => sqlx::query("UPDATE practice_sets SET correct = $2 WHERE id = $1")
        .bind(id).bind(correct).execute(&mut *t).await.map(|r| r.rows_affected()))?;
    facts::record(
        &mut tx,
        cx.now,
        Fact {
            kind: "teaching.practice_done",
            node_id: place.class_id,
            person_id: Some(s.student_id),
            object_id: Some(id.0),
            value: items.len() as i64,
            idempotency_key: Some(format!("teaching.practice_done:{id}")),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// A student's recent sets, the latest first.
pub async fn sets_of(
    db: &kernel::Db,
    student: PersonId,
    limit: i64,
) -> AppResult<Vec<(PracticeSet, i64)>> {
    let sql = format!(
        "SELECT {SET_COLUMNS}, (SELECT COUNT(*) FROM practice_items x WHERE x.set_id = s.id) AS n
         FROM practice_sets s JOIN persons p ON p.id = s.student_id
         WHERE s.student_id = $1 ORDER BY s.created_at DESC, s.id DESC LIMIT {limit}"
    );
    let rows: Vec<SetRow> = on_db!(db, p => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(student).fetch_all(p).await)?;
    Ok(rows.into_iter().map(|r| (r.set, r.n)).collect())
}

/// What a student of a class practised in a subject since a time: sets finished, items,
/// the share right, and each point's ability at the first set and after the last.
#[derive(Debug, Clone)]
pub struct StudentPractice {
    pub student_id: PersonId,
    pub name: String,
    pub sets: Vec<PracticeId>,
    pub items: i64,
    /// Hundredths of items right.
    pub correct: i64,
    pub moved: Vec<Moved>,
}

impl StudentPractice {
    pub fn percent(&self) -> i64 {
        if self.items == 0 {
            0
        } else {
            self.correct / self.items
        }
    }
}

/// The class's practice in a subject since `since`, a row per student who practised.
pub async fn of_class(
    db: &kernel::Db,
    class: NodeId,
    subject: &str,
    since: DateTime<Utc>,
) -> AppResult<Vec<StudentPractice>> {
    let rows: Vec<(PracticeId, PersonId, String, i64, i64)> = on_db!(db, p => sqlx::query_as(
        "SELECT s.id, s.student_id, p.name, s.correct, (SELECT COUNT(*) FROM practice_items x WHERE x.set_id = s.id)
         FROM practice_sets s JOIN persons p ON p.id = s.student_id
         JOIN role_assignments r ON r.person_id = s.student_id AND r.role = 'student' AND r.node_id = $1
         WHERE s.subject = $2 AND s.finished_at IS NOT NULL AND s.created_at >= $3 AND p.active = TRUE
         ORDER BY p.name, s.student_id, s.created_at, s.id",
    ).bind(class).bind(subject).bind(since).fetch_all(p).await)?;
    let moves: Vec<(PracticeId, PointId, String, f64, Option<f64>)> = on_db!(db, p => sqlx::query_as(
        "SELECT x.set_id, x.point_id, k.name, x.theta_before, x.theta_after FROM practice_points x
         JOIN knowledge_points k ON k.id = x.point_id
         JOIN practice_sets s ON s.id = x.set_id
         JOIN role_assignments r ON r.person_id = s.student_id AND r.role = 'student' AND r.node_id = $1
         WHERE s.subject = $2 AND s.finished_at IS NOT NULL AND s.created_at >= $3
         ORDER BY k.path",
    ).bind(class).bind(subject).bind(since).fetch_all(p).await)?;
    let mut out: Vec<StudentPractice> = Vec::new();
    for (set, student, name, correct, n) in rows {
        let moved = moves.iter().filter(|m| m.0 == set).map(|m| Moved {
            point_id: m.1,
            name: m.2.clone(),
            theta_before: m.3,
            theta_after: m.4,
        });
        if out.last().is_none_or(|r| r.student_id != student) {
            out.push(StudentPractice {
                student_id: student,
                name,
                sets: Vec::new(),
                items: 0,
                correct: 0,
                moved: Vec::new(),
            });
        }
        let Some(row) = out.last_mut() else { continue };
        row.sets.push(set);
        row.items += n;
        row.correct += correct;
        for m in moved {
            match row.moved.iter_mut().find(|x| x.point_id == m.point_id) {
                // The first set's before stays; the latest after wins.
                Some(x) => x.theta_after = m.theta_after.or(x.theta_after),
                None => row.moved.push(m),
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(n: u8) -> PointId {
        PointId(uuid::Uuid::from_bytes([n; 16]))
    }
    fn item(n: u8) -> ItemId {
        ItemId(uuid::Uuid::from_bytes([n; 16]))
    }

    #[test]
    fn the_weakest_points_come_first_and_items_near_seventy_percent_are_chosen() {
        let mut abilities = HashMap::new();
        abilities.insert(
            point(1),
            Ability {
                theta: -1.0,
                answers: 4,
            },
        );
        abilities.insert(
            point(2),
            Ability {
                theta: 1.5,
                answers: 4,
            },
        );
        // Point 3 has no answers: even, between the two.
        let weak = weakest(&[point(2), point(3), point(1), point(1)], &abilities, 2);
        assert_eq!(weak, vec![point(1), point(3)]);

        let c = |i: u8, p: u8, chance: f64, recent: bool| Candidate {
            item: item(i),
            points: vec![point(p)],
            chance,
            recent,
        };
        let candidates = [
            c(1, 1, 0.95, false), // too easy
            c(2, 1, 0.72, true),  // right, but practised lately
            c(3, 1, 0.64, false), // inside the band
            c(4, 1, 0.30, false), // too hard
            c(5, 3, 0.79, false),
            c(6, 3, 0.55, false),
            c(7, 2, 0.70, false), // a strong point: not chosen
        ];
        let chosen = choose(&weak, &candidates, 4);
        let ids: Vec<ItemId> = chosen.iter().map(|c| c.0).collect();
        // Round the weak points: the best of point 1 (in the band, not lately practised), the
        // best of point 3, then the next of each: point 1's lately practised item in the band
        // before those outside it, point 3's outside the band.
        assert_eq!(ids, vec![item(3), item(5), item(2), item(6)]);
        assert!(chosen[..3].iter().all(|c| c.1 >= BAND.0 && c.1 <= BAND.1));
        // Enough room: everything on the weak points, the farthest from the aim last.
        let all = choose(&weak, &candidates, 10);
        let ids: Vec<ItemId> = all.iter().map(|c| c.0).collect();
        assert_eq!(
            ids,
            vec![item(3), item(5), item(2), item(6), item(1), item(4)]
        );
    }
}

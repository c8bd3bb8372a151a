//! Mastery (学情): each student's ability on each knowledge point, estimated from every marked
//! answer with an Elo-style model of the Rasch (1PL IRT) kind.
//!
//! The chance that a student answers an item right is `σ(θ − b)`: `θ` the student's ability
//! (the mean over the item's knowledge points), `b` the item's difficulty, both in logits.
//! Each answer (its share of the points, 0 to 1) moves the student's ability on each of the
//! item's points by `K(n)·(score − chance)`, where `K(n) = 2 / (1 + 0.2 n)` shrinks with the
//! `n` answers already counted on that point: the first answers move it far, later ones
//! refine it. The item's difficulty moves the other way by `0.8 / (1 + 0.05 m)` times the
//! same surprise, where `m` counts the item's answers; it starts from the teacher's level
//! (1 to 5 → −1.6 to +1.6).
//!
//! Why Elo rather than fitting an IRT model: it is updated as each answer is marked, in
//! constant time, with one row per student and point, so a test's hand-ins and a practice set
//! move mastery at once without a batch job; it needs no answers to start (an IRT fit needs
//! a calibrated bank); and its prediction `σ(θ − b)` is the Rasch model's, which is what
//! practice needs to choose items a student answers right about 70 % of the time. It is
//! checked on simulated students of known ability below: after 30 answers the estimates
//! correlate above 0.8 with the true abilities (Pelánek, "Applications of the Elo rating
//! system in adaptive educational systems", Computers & Education 98, 2016).
//!
//! The student's side is written in the transaction that marks the answer (rows of that
//! student only). The item's side is written by the runner from the evidence, in the order
//! the answers came ([`calibrate`]): the 3,000 hand-ins at a test's end do not queue on the
//! test's item rows. A changed or cleared mark replays the student's evidence, so the
//! abilities are always those of the marks as they now stand (an item's difficulty keeps the
//! first mark it counted). An item left unanswered is no evidence: a test whose time ran out
//! says nothing about the items the student never reached.

use crate::items::bank::ItemId;
use crate::knowledge::PointId;
use chrono::{DateTime, Utc};
use kernel::{AppResult, PersonId, Tx, on_db, on_tx};
use std::collections::HashMap;

/// The student's step: `K(n) = STUDENT.0 / (1 + STUDENT.1 · n)`.
pub const STUDENT: (f64, f64) = (2.0, 0.2);
/// The item's step, by the same rule.
pub const ITEM: (f64, f64) = (0.8, 0.05);
/// Logits per level of the teacher's difficulty (level 3: 0).
pub const LEVEL: f64 = 0.8;

/// The chance of a right answer.
pub fn chance(theta: f64, difficulty: f64) -> f64 {
    1.0 / (1.0 + (difficulty - theta).exp())
}

/// An item's difficulty before any answer: from the teacher's level.
pub fn prior(level: i64) -> f64 {
    (level.clamp(1, 5) - 3) as f64 * LEVEL
}

fn step(k: (f64, f64), n: i64) -> f64 {
    k.0 / (1.0 + k.1 * n.max(0) as f64)
}

/// The ability after an answer scoring `score` (0 to 1) at `chance`, with `n` answers before.
pub fn moved(theta: f64, n: i64, score: f64, chance: f64) -> f64 {
    theta + step(STUDENT, n) * (score - chance)
}

/// The difficulty after an answer scoring `score` at `chance`, with `m` answers before.
pub fn item_moved(difficulty: f64, m: i64, score: f64, chance: f64) -> f64 {
    difficulty - step(ITEM, m) * (score - chance)
}

/// Mastery as shown: the chance of a right answer to an item of middle difficulty, in percent.
pub fn percent(theta: f64) -> i64 {
    (chance(theta, 0.0) * 100.0).round() as i64
}

/// An answer: the share of its points earned, or `None` while (or since) it has no mark.
#[derive(Debug, Clone, Copy)]
pub struct Evidence {
    pub item_id: ItemId,
    pub position: i64,
    pub score: Option<f64>,
}

/// A student's ability on a point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ability {
    pub theta: f64,
    pub answers: i64,
}

/// `$from, $from+1, …` for `n` values bound in a list.
fn list(from: usize, n: usize) -> String {
    (from..from + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Values bound per statement in a list (well under both databases' limits).
const CHUNK: usize = 500;

/// The knowledge points of items.
async fn points_of(tx: &mut Tx, items: &[ItemId]) -> AppResult<HashMap<ItemId, Vec<PointId>>> {
    let mut ids = items.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let mut out: HashMap<ItemId, Vec<PointId>> = ids.iter().map(|i| (*i, Vec::new())).collect();
    for chunk in ids.chunks(CHUNK) {
        let sql = format!(
            "SELECT item_id, point_id FROM item_points WHERE item_id IN ({}) ORDER BY item_id, point_id",
            list(1, chunk.len())
        );
        let rows: Vec<(ItemId, PointId)> = on_tx!(tx, t => {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()));
            for i in chunk {
                q = q.bind(*i);
            }
            q.fetch_all(&mut *t).await
        })?;
        for (item, point) in rows {
            out.entry(item).or_default().push(point);
        }
    }
    Ok(out)
}

const DIFFICULTY: &str = "SELECT i.id, i.difficulty, d.difficulty FROM items i LEFT JOIN item_difficulty d ON d.item_id = i.id WHERE i.id IN";

fn difficulty_of(rows: Vec<(ItemId, i64, Option<f64>)>, out: &mut HashMap<ItemId, f64>) {
    for (id, level, d) in rows {
        out.insert(id, d.unwrap_or_else(|| prior(level)));
    }
}

/// Items' difficulties as they stand (calibrated, or the level's prior).
pub async fn difficulties(db: &kernel::Db, items: &[ItemId]) -> AppResult<HashMap<ItemId, f64>> {
    let mut out = HashMap::new();
    for chunk in items.chunks(CHUNK) {
        let sql = format!("{DIFFICULTY} ({})", list(1, chunk.len()));
        let rows: Vec<(ItemId, i64, Option<f64>)> = on_db!(db, p => {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()));
            for i in chunk {
                q = q.bind(*i);
            }
            q.fetch_all(p).await
        })?;
        difficulty_of(rows, &mut out);
    }
    Ok(out)
}

async fn difficulties_tx(tx: &mut Tx, items: &[ItemId]) -> AppResult<HashMap<ItemId, f64>> {
    let mut out = HashMap::new();
    for chunk in items.chunks(CHUNK) {
        let sql = format!("{DIFFICULTY} ({})", list(1, chunk.len()));
        let rows: Vec<(ItemId, i64, Option<f64>)> = on_tx!(tx, t => {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()));
            for i in chunk {
                q = q.bind(*i);
            }
            q.fetch_all(&mut *t).await
        })?;
        difficulty_of(rows, &mut out);
    }
    Ok(out)
}

/// Serialises the writers of one student's mastery for the rest of the transaction (on
/// PostgreSQL, a transaction-scoped advisory lock on the student; SQLite has one writer), so
/// that a replay and an answer counted meanwhile never overwrite each other.
async fn lock_student(tx: &mut Tx, student: PersonId) -> AppResult<()> {
    if let Tx::Postgres(t) = tx {
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1::text, 7))")
            .bind(student)
            .execute(&mut **t)
            .await?;
    }
    Ok(())
}

/// The student's abilities on `points` (made at 0 where missing), or on all their points.
async fn abilities(
    tx: &mut Tx,
    student: PersonId,
    points: &[PointId],
    now: DateTime<Utc>,
) -> AppResult<HashMap<PointId, Ability>> {
    let mut sorted = points.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    for chunk in sorted.chunks(CHUNK / 2) {
        let values = (0..chunk.len())
            .map(|i| format!("($1, ${}, 0, 0, $2)", i + 3))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "INSERT INTO mastery (student_id, point_id, theta, answers, updated_at) VALUES {values}
             ON CONFLICT (student_id, point_id) DO NOTHING"
        );
        on_tx!(tx, t => {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.clone())).bind(student).bind(now);
            for p in chunk {
                q = q.bind(*p);
            }
            q.execute(&mut *t).await.map(|r| r.rows_affected())
        })?;
    }
    let rows: Vec<(PointId, f64, i64)> = on_tx!(tx, t => sqlx::query_as(
        "SELECT point_id, theta, answers FROM mastery WHERE student_id = $1",
    ).bind(student).fetch_all(&mut *t).await)?;
    Ok(rows
        .into_iter()
        .map(|(p, theta, answers)| (p, Ability { theta, answers }))
        .collect())
}

async fn write_abilities(
    tx: &mut Tx,
    student: PersonId,
    abilities: &HashMap<PointId, Ability>,
    changed: &[PointId],
    now: DateTime<Utc>,
) -> AppResult<()> {
    for point in changed {
        let Some(a) = abilities.get(point) else {
            continue;
        };
        on_tx!(tx, t => sqlx::query(
            "UPDATE mastery SET theta = $3, answers = $4, updated_at = $5 WHERE student_id = $1 AND point_id = $2",
        ).bind(student).bind(*point).bind(a.theta).bind(a.answers).bind(now).execute(&mut *t).await.map(|r| r.rows_affected()))?;
    }
    Ok(())
}

/// The mean ability over an item's points.
fn mean_theta(abilities: &HashMap<PointId, Ability>, points: &[PointId]) -> f64 {
    if points.is_empty() {
        return 0.0;
    }
    points
        .iter()
        .map(|p| abilities.get(p).map_or(0.0, |a| a.theta))
        .sum::<f64>()
        / points.len() as f64
}

/// One answer's step on each of its points.
fn step_all(abilities: &mut HashMap<PointId, Ability>, points: &[PointId], score: f64, p: f64) {
    for point in points {
        let a = abilities.entry(*point).or_insert(Ability {
            theta: 0.0,
            answers: 0,
        });
        a.theta = moved(a.theta, a.answers, score, p);
        a.answers += 1;
    }
}

/// Counts a student's answers from one submission or practice set (`source`) as evidence,
/// inside the transaction that marked them: a new mark moves the student's abilities on the
/// item's points; a mark that changed or was cleared replays all their evidence. Items without
/// knowledge points, and answers without a mark, are not counted. Returns the student's
/// abilities after, by point.
pub async fn observe(
    tx: &mut Tx,
    student: PersonId,
    source: uuid::Uuid,
    evidence: &[Evidence],
    now: DateTime<Utc>,
) -> AppResult<HashMap<PointId, Ability>> {
    lock_student(tx, student).await?;
    let known: Vec<(i64, f64)> = on_tx!(tx, t => sqlx::query_as(
        "SELECT position, score FROM mastery_evidence WHERE source_id = $1",
    ).bind(source).fetch_all(&mut *t).await)?;
    let items: Vec<ItemId> = evidence.iter().map(|e| e.item_id).collect();
    let points = points_of(tx, &items).await?;
    let mut fresh: Vec<(&Evidence, f64)> = Vec::new();
    let mut changed = false;
    for e in evidence {
        let counted = points.get(&e.item_id).is_some_and(|p| !p.is_empty());
        let was = known.iter().find(|k| k.0 == e.position).map(|k| k.1);
        match (was, e.score.filter(|_| counted).map(|s| s.clamp(0.0, 1.0))) {
            (None, None) => {}
            (None, Some(s)) => fresh.push((e, s)),
            (Some(w), Some(s)) if (w - s).abs() < 1e-9 => {}
            (Some(_), Some(s)) => {
                on_tx!(tx, t => sqlx::query(
                    "UPDATE mastery_evidence SET score = $3 WHERE source_id = $1 AND position = $2",
                ).bind(source).bind(e.position).bind(s).execute(&mut *t).await.map(|r| r.rows_affected()))?;
                changed = true;
            }
            (Some(_), None) => {
                on_tx!(tx, t => sqlx::query(
                    "DELETE FROM mastery_evidence WHERE source_id = $1 AND position = $2",
                ).bind(source).bind(e.position).execute(&mut *t).await.map(|r| r.rows_affected()))?;
                changed = true;
            }
        }
    }
    let touched: Vec<PointId> = fresh
        .iter()
        .flat_map(|(e, _)| points[&e.item_id].iter().copied())
        .collect();
    let mut abilities = abilities(tx, student, &touched, now).await?;
    if fresh.is_empty() && !changed {
        return Ok(abilities);
    }
    let fresh_items: Vec<ItemId> = fresh.iter().map(|(e, _)| e.item_id).collect();
    let difficulty = difficulties_tx(tx, &fresh_items).await?;
    let mut rows = Vec::new();
    for (e, score) in &fresh {
        let its = &points[&e.item_id];
        let b = difficulty.get(&e.item_id).copied().unwrap_or(0.0);
        let theta = mean_theta(&abilities, its);
        let p = chance(theta, b);
        rows.push((e.item_id, e.position, *score, theta, b));
        step_all(&mut abilities, its, *score, p);
    }
    for chunk in rows.chunks(50) {
        let values = (0..chunk.len())
            .map(|i| {
                let b = 4 + i * 6;
                format!(
                    "(${}, $1, ${}, $2, ${}, ${}, ${}, ${}, FALSE, $3)",
                    b,
                    b + 1,
                    b + 2,
                    b + 3,
                    b + 4,
                    b + 5
                )
            })
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "INSERT INTO mastery_evidence (id, student_id, item_id, source_id, position, score, theta, difficulty, calibrated, created_at)
             VALUES {values}"
        );
        on_tx!(tx, t => {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.clone())).bind(student).bind(source).bind(now);
            for (item, position, score, theta, b) in chunk {
                q = q.bind(uuid::Uuid::now_v7()).bind(*item).bind(*position).bind(*score).bind(*theta).bind(*b);
            }
            q.execute(&mut *t).await.map(|r| r.rows_affected())
        })?;
    }
    if changed {
        return replay_student(tx, student, now).await;
    }
    write_abilities(tx, student, &abilities, &touched, now).await?;
    Ok(abilities)
}

/// Recomputes all of a student's abilities from their evidence in the order it came, each
/// answer at the item's difficulty when it was counted (the student locked by the caller).
async fn replay_student(
    tx: &mut Tx,
    student: PersonId,
    now: DateTime<Utc>,
) -> AppResult<HashMap<PointId, Ability>> {
    let rows: Vec<(ItemId, f64, f64)> = on_tx!(tx, t => sqlx::query_as(
        "SELECT item_id, score, difficulty FROM mastery_evidence WHERE student_id = $1 ORDER BY id",
    ).bind(student).fetch_all(&mut *t).await)?;
    let items: Vec<ItemId> = rows.iter().map(|r| r.0).collect();
    let points = points_of(tx, &items).await?;
    let all: Vec<PointId> = points.values().flatten().copied().collect();
    let mut abilities = abilities(tx, student, &all, now).await?;
    for a in abilities.values_mut() {
        *a = Ability {
            theta: 0.0,
            answers: 0,
        };
    }
    for (item, score, b) in rows {
        let its = &points[&item];
        let p = chance(mean_theta(&abilities, its), b);
        step_all(&mut abilities, its, score, p);
    }
    let every: Vec<PointId> = abilities.keys().copied().collect();
    write_abilities(tx, student, &abilities, &every, now).await?;
    Ok(abilities)
}

/// Moves the items' difficulties by the evidence not yet counted, oldest first, at most
/// `limit` answers; every node's runner calls it (on PostgreSQL each takes answers no other
/// node holds). Returns how many answers it counted.
pub async fn calibrate(state: &kernel::AppState, limit: i64) -> AppResult<usize> {
    let waiting: Option<(uuid::Uuid,)> = on_db!(&state.db, p => sqlx::query_as(
        "SELECT id FROM mastery_evidence WHERE calibrated = FALSE LIMIT 1",
    ).fetch_optional(p).await)?;
    if waiting.is_none() {
        return Ok(0);
    }
    let mut tx = state.db.begin().await?;
    let rows: Vec<(uuid::Uuid, ItemId, f64, f64)> =
        match &mut tx {
            Tx::Postgres(t) => sqlx::query_as(
                "SELECT id, item_id, score, theta FROM mastery_evidence WHERE calibrated = FALSE
             ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED",
            )
            .bind(limit)
            .fetch_all(&mut **t)
            .await?,
            Tx::Sqlite(t, _) => sqlx::query_as(
                "SELECT id, item_id, score, theta FROM mastery_evidence WHERE calibrated = FALSE
             ORDER BY id LIMIT $1",
            )
            .bind(limit)
            .fetch_all(&mut **t)
            .await?,
        };
    if rows.is_empty() {
        return Ok(0);
    }
    let mut items: HashMap<ItemId, (f64, i64)> = HashMap::new();
    let mut order: Vec<ItemId> = rows.iter().map(|r| r.1).collect();
    order.sort_unstable();
    order.dedup();
    for item in &order {
        // Items in a stable order: two nodes lock the same items the same way round.
        let (level,): (i64,) = on_tx!(&mut tx, t => sqlx::query_as("SELECT difficulty FROM items WHERE id = $1")
            .bind(*item).fetch_one(&mut *t).await)?;
        on_tx!(&mut tx, t => sqlx::query(
            "INSERT INTO item_difficulty (item_id, difficulty, answers) VALUES ($1, $2, 0) ON CONFLICT (item_id) DO NOTHING",
        ).bind(*item).bind(prior(level)).execute(&mut *t).await.map(|r| r.rows_affected()))?;
        let (d, m): (f64, i64) = match &mut tx {
            Tx::Postgres(t) => {
                sqlx::query_as(
                    "SELECT difficulty, answers FROM item_difficulty WHERE item_id = $1 FOR UPDATE",
                )
                .bind(*item)
                .fetch_one(&mut **t)
                .await?
            }
            Tx::Sqlite(t, _) => {
                sqlx::query_as("SELECT difficulty, answers FROM item_difficulty WHERE item_id = $1")
                    .bind(*item)
                    .fetch_one(&mut **t)
                    .await?
            }
        };
        items.insert(*item, (d, m));
    }
    for (_, item, score, theta) in &rows {
        if let Some((b, m)) = items.get_mut(item) {
            *b = item_moved(*b, *m, *score, chance(*theta, *b));
            *m += 1;
        }
    }
    let ids: Vec<uuid::Uuid> = rows.iter().map(|r| r.0).collect();
    for chunk in ids.chunks(CHUNK) {
        let sql = format!(
            "UPDATE mastery_evidence SET calibrated = TRUE WHERE id IN ({})",
            list(1, chunk.len())
        );
        on_tx!(&mut tx, t => {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.clone()));
            for id in chunk {
                q = q.bind(*id);
            }
            q.execute(&mut *t).await.map(|r| r.rows_affected())
        })?;
    }
    for (item, (b, m)) in &items {
        on_tx!(&mut tx, t => sqlx::query(
            "UPDATE item_difficulty SET difficulty = $2, answers = $3 WHERE item_id = $1",
        ).bind(*item).bind(*b).bind(*m).execute(&mut *t).await.map(|r| r.rows_affected()))?;
    }
    tx.commit().await?;
    Ok(rows.len())
}

/// A student's abilities, by point.
pub async fn of_student(
    db: &kernel::Db,
    student: PersonId,
) -> AppResult<HashMap<PointId, Ability>> {
    let rows: Vec<(PointId, f64, i64)> = on_db!(db, p => sqlx::query_as(
        "SELECT point_id, theta, answers FROM mastery WHERE student_id = $1 AND answers > 0",
    ).bind(student).fetch_all(p).await)?;
    Ok(rows
        .into_iter()
        .map(|(p, theta, answers)| (p, Ability { theta, answers }))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator (SplitMix64), so the simulation is the same every run.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }
        fn uniform(&mut self) -> f64 {
            (self.next() >> 11) as f64 / (1u64 << 53) as f64
        }
        /// A standard normal draw (Box–Muller).
        fn normal(&mut self) -> f64 {
            let u = self.uniform().max(1e-12);
            let v = self.uniform();
            (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
        }
    }

    /// 500 simulated students of known ability (standard normal) each answer 30 items drawn
    /// from a bank of 300 whose true difficulties the model does not know: it starts from the
    /// teacher's level (the true difficulty, blurred and rounded to one of five levels), and
    /// learns the items' difficulties as the runner does, in batches behind the students.
    /// Answers are right with the Rasch model's chance. After 30 answers each, the estimated
    /// abilities correlate with the true ones at 0.8 or more, for each of five seeds.
    #[test]
    fn after_thirty_answers_the_estimates_follow_the_true_abilities() {
        for seed in 1..=5u64 {
            let mut r = Rng(seed);
            let students: Vec<f64> = (0..500).map(|_| r.normal()).collect();
            let truth: Vec<f64> = (0..300).map(|_| r.normal() * 1.2).collect();
            let mut b: Vec<f64> = truth
                .iter()
                .map(|t| {
                    let level = ((t + r.normal() * 0.7) / LEVEL).round() as i64 + 3;
                    prior(level)
                })
                .collect();
            let mut m = vec![0i64; b.len()];
            let mut theta = vec![0.0; students.len()];
            let mut n = vec![0i64; students.len()];
            let mut waiting: Vec<(usize, f64, f64)> = Vec::new();
            for _round in 0..30 {
                for s in 0..students.len() {
                    let i = (r.next() % truth.len() as u64) as usize;
                    let right = r.uniform() < chance(students[s], truth[i]);
                    let score = if right { 1.0 } else { 0.0 };
                    let p = chance(theta[s], b[i]);
                    waiting.push((i, theta[s], score));
                    theta[s] = moved(theta[s], n[s], score, p);
                    n[s] += 1;
                    if waiting.len() == 200 {
                        for (i, t, score) in waiting.drain(..) {
                            b[i] = item_moved(b[i], m[i], score, chance(t, b[i]));
                            m[i] += 1;
                        }
                    }
                }
            }
            let r = super::super::stats::pearson(&theta, &students).unwrap();
            eprintln!("seed {seed}: r = {r:.3}");
            assert!(r >= 0.8, "seed {seed}: r = {r:.3}");
        }
    }

    /// The steps by hand: from 0 against an item of difficulty 0 the chance is ½; a right
    /// answer moves the ability by 2·(1 − ½) = 1; the second answer's step is 2 / 1.2.
    #[test]
    fn one_answer_moves_the_ability_as_computed_by_hand() {
        assert!((chance(0.0, 0.0) - 0.5).abs() < 1e-12);
        let t1 = moved(0.0, 0, 1.0, 0.5);
        assert!((t1 - 1.0).abs() < 1e-12);
        let p = chance(t1, 0.0); // 0.731059
        assert!((p - 0.731_058_6).abs() < 1e-6);
        let t2 = moved(t1, 1, 0.0, p);
        assert!((t2 - (1.0 - 2.0 / 1.2 * 0.731_058_6)).abs() < 1e-6, "{t2}");
        // The item answered right by a student at its even chance becomes easier.
        assert!((item_moved(0.0, 0, 1.0, 0.5) + 0.4).abs() < 1e-12);
        assert_eq!(prior(1), -1.6);
        assert_eq!(prior(5), 1.6);
        assert_eq!(percent(0.0), 50);
    }
}

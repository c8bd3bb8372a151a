//! Analysis and practice on a real database (SQLite, and PostgreSQL with TEST_DATABASE_URL):
//! a test taken by five students with answers chosen so that every figure was worked out by
//! hand (scores, rates, bands, p-values, point-biserials, distractors); the mastery written
//! as the answers are marked, equal to the model's steps by hand, replayed when a mark
//! changes, and the items calibrated by the runner; a practice set on the weakest point at
//! the right difficulty, marked once, moving mastery, seen by the class's teacher and nobody
//! else.

use crate::helpers::Teach;
use chrono::Duration;
use kernel::{AppError, Ctx, NodeId, on_db};
use teaching::analysis::{self, mastery};
use teaching::assignments::grade::{self, Given};
use teaching::assignments::set::{self, Draft};
use teaching::assignments::{self, Access, work};
use teaching::items::bank::{self, Item, Place};
use teaching::items::score::Answer;
use teaching::knowledge::PointId;
use teaching::practice;

const EPS: f64 = 1e-4;

async fn points(t: &Teach, names: &[&str]) -> Vec<PointId> {
    teaching::knowledge::import::demo(&t.state).await.unwrap();
    let teacher = t.actor("teacher").await;
    let mut all = Vec::new();
    for r in resources::catalog::tree::regions_for(&t.state.db, &teacher)
        .await
        .unwrap()
    {
        all.extend(
            teaching::knowledge::tree(&t.state.db, r, "primary", "13", false)
                .await
                .unwrap(),
        );
    }
    names
        .iter()
        .map(|n| all.iter().find(|p| p.name == *n).unwrap().id)
        .collect()
}

async fn item(
    cx: &Ctx<'_>,
    kind: &str,
    stem: &str,
    answer: &str,
    level: &str,
    point: PointId,
) -> Item {
    let d = teaching::items::form::Draft {
        kind: kind.into(),
        stem: stem.into(),
        choices: if kind == "single" {
            "甲\n乙\n丙\n丁".into()
        } else {
            String::new()
        },
        answer: answer.into(),
        points: "1".into(),
        difficulty: level.into(),
        ..Default::default()
    };
    let place = Place {
        stage: "primary".into(),
        subject: "13".into(),
        catalog_id: None,
        points: vec![point],
    };
    let id = bank::create(cx, &d, &place).await.unwrap();
    bank::get(cx, id).await.unwrap()
}

/// Three 1-point items (two on 声调, one on 韵母, all of middle difficulty) in a test of the
/// demo teacher's class, taken by its first five students:
///
/// | student | item 1 (A) | item 2 (A) | item 3 (true) | total |
/// |---------|-----------|-----------|---------------|-------|
/// | S0      | A ✓       | A ✓       | true ✓        | 3     |
/// | S1      | A ✓       | A ✓       | false         | 2     |
/// | S2      | B         | A ✓       | false         | 1     |
/// | S3      | A ✓       | B         | true ✓        | 2     |
/// | S4      | C         | B         | false         | 0     |
async fn taken(t: &Teach) -> (assignments::AssignmentId, Vec<Item>, Vec<PointId>, NodeId) {
    let teacher = t.actor("teacher").await;
    let class = t.teacher_class().await;
    let p = points(t, &["声调", "韵母"]).await;
    let tcx = t.cx(&teacher);
    let items = vec![
        item(&tcx, "single", "第一题", "A", "3", p[0]).await,
        item(&tcx, "single", "第二题", "A", "3", p[0]).await,
        item(&tcx, "true_false", "第三题", "对", "3", p[1]).await,
    ];
    let zone = t.state.config.time_zone;
    let d = Draft {
        kind: "test".into(),
        subject: "13".into(),
        classes: vec![class],
        title: "分析测验".into(),
        category: "quiz".into(),
        opens_at: zone.input(tcx.now + Duration::minutes(1)),
        due_at: zone.input(tcx.now + Duration::minutes(61)),
        late_policy: "refuse".into(),
        expected_minutes: "20".into(),
        items: items.iter().map(|i| i.id).collect(),
        time_limit: "20".into(),
        ..Draft::default()
    };
    let (id, _) = set::create(&tcx, &d).await.unwrap();
    t.state.clock.advance(Duration::minutes(2));
    let subs = assignments::submissions(&t.state.db, id).await.unwrap();
    assert!(subs.len() >= 5, "the demo class has at least five students");
    let choice = |c: usize| Answer::Choice { chosen: vec![c] };
    let tf = |v: bool| Answer::TrueFalse { value: v };
    let table = [
        (0, 0, true),
        (0, 0, false),
        (1, 0, false),
        (0, 1, true),
        (2, 1, false),
    ];
    let parts = assignments::parts(&t.state.db, id).await.unwrap();
    for (s, (a1, a2, a3)) in subs.iter().zip(table) {
        let student = t.actor_of(s.student_id).await;
        let cx = t.cx(&student);
        work::start(&cx, id).await.unwrap();
        let answers = vec![
            (parts[0].position, choice(a1)),
            (parts[1].position, choice(a2)),
            (parts[2].position, tf(a3)),
        ];
        work::save(&cx, id, &answers).await.unwrap();
        work::submit(&cx, id, None).await.unwrap();
    }
    (id, items, p, class)
}

#[tokio::test]
async fn a_tests_analysis_matches_the_figures_worked_by_hand() {
    let t = Teach::start_fixed().await;
    let (id, _, _, class) = taken(&t).await;
    let teacher = t.actor("teacher").await;
    let cx = t.cx(&teacher);
    let a = assignments::find(&t.state.db, id).await.unwrap().unwrap();
    let an = analysis::of(&cx, a.clone(), Access::Grade, None)
        .await
        .unwrap();
    assert_eq!(an.full, 3.0);
    assert_eq!(an.all.marked, 5);
    assert_eq!(an.all.waiting, 0);
    assert!(an.all.missing >= 1, "the rest of the class did not hand in");
    let s = an.all.summary.clone().unwrap();
    // Scores 3, 2, 1, 2, 0: mean 1.6, median 2; squared deviations 1.96 + 0.16 + 0.36 +
    // 0.16 + 2.56 = 5.2, so sd = √1.04. A pass is 1.8 (60% of 3): three; excellent 2.55: one.
    assert!((s.mean - 1.6).abs() < EPS, "{}", s.mean);
    assert!((s.median - 2.0).abs() < EPS);
    assert!((s.sd - 1.04f64.sqrt()).abs() < EPS, "{}", s.sd);
    assert!((s.pass_rate - 0.6).abs() < EPS);
    assert!((s.excellent_rate - 0.2).abs() < EPS);
    assert_eq!(s.bands, [1, 0, 0, 1, 0, 0, 2, 0, 0, 1]);
    // Item 1: p = 3/5; against rest scores 2, 1, 1, 1, 0: Σxy = 1.0, Σx² = 1.2, Σy² = 2,
    // r = 1/√2.4. Item 2: p = 3/5; rest 2, 1, 0, 2, 0: Σxy = 0, r = 0. Item 3: p = 2/5;
    // rest 2, 2, 1, 1, 0: Σxy = 0.6, Σx² = 1.2, Σy² = 2.8, r = 0.6/√3.36.
    let p: Vec<f64> = an.items.iter().map(|i| i.p_value.unwrap()).collect();
    let r: Vec<f64> = an.items.iter().map(|i| i.discrimination.unwrap()).collect();
    assert!((p[0] - 0.6).abs() < EPS && (p[1] - 0.6).abs() < EPS && (p[2] - 0.4).abs() < EPS);
    assert!((r[0] - 1.0 / 2.4f64.sqrt()).abs() < EPS, "{r:?}");
    assert!(r[1].abs() < EPS, "{r:?}");
    assert!((r[2] - 0.6 / 3.36f64.sqrt()).abs() < EPS, "{r:?}");
    assert_eq!(an.items[1].flags(), vec!["analysis.flag_weak"]);
    // Distractors: item 1's A three times, B and C once, D never; true/false 2 and 3.
    let counts: Vec<usize> = an.items[0].choices.iter().map(|c| c.count).collect();
    assert_eq!(counts, vec![3, 1, 1, 0]);
    assert!(an.items[0].choices[0].correct && !an.items[0].choices[1].correct);
    let counts: Vec<usize> = an.items[2].choices.iter().map(|c| c.count).collect();
    assert_eq!(counts, vec![2, 3]);
    // One class: the same figures for it, and a class the teacher does not see is refused.
    let one = analysis::of(&cx, a.clone(), Access::Grade, Some(class))
        .await
        .unwrap();
    assert_eq!(one.all.summary.unwrap().bands, s.bands);
    let (_, other) = t.colleague().await;
    assert!(matches!(
        analysis::of(&cx, a, Access::Grade, Some(other)).await,
        Err(AppError::NotFound(_))
    ));
}

#[tokio::test]
async fn mastery_follows_the_marks_by_the_models_steps_and_a_changed_mark_is_replayed() {
    let t = Teach::start_fixed().await;
    let (id, items, p, _) = taken(&t).await;
    let subs = assignments::submissions(&t.state.db, id).await.unwrap();
    let theta = |student, point: PointId| {
        let db = t.state.db.clone();
        async move {
            let (theta, n): (f64, i64) = on_db!(&db, x => sqlx::query_as(
                "SELECT theta, answers FROM mastery WHERE student_id = $1 AND point_id = $2",
            ).bind(student).bind(point).fetch_one(x).await)
            .unwrap();
            (theta, n)
        }
    };
    // S0 answered all three right, items at difficulty 0 (level 3): on 声调 the first step
    // is 2·(1 − ½) = 1, the second (2/1.2)·(1 − σ(1)) more; on 韵母 one step of 1.
    let second = 1.0 + 2.0 / 1.2 * (1.0 - 1.0 / (1.0 + (-1.0f64).exp()));
    assert!((second - 1.448_235).abs() < 1e-5);
    let (th, n) = theta(subs[0].student_id, p[0]).await;
    assert!((th - second).abs() < 1e-9, "{th}");
    assert_eq!(n, 2);
    let (th, _) = theta(subs[0].student_id, p[1]).await;
    assert!((th - 1.0).abs() < 1e-9);
    // S4 answered all three wrong: −1, then −1 − (2/1.2)·σ(−1).
    let (th, _) = theta(subs[4].student_id, p[0]).await;
    let down = -1.0 - 2.0 / 1.2 * (1.0 / (1.0 + 1.0f64.exp()));
    assert!((th - down).abs() < 1e-9, "{th}");
    assert_eq!(t.count("SELECT COUNT(*) FROM mastery_evidence").await, 15);

    // The runner calibrates the items from the evidence, oldest first, each once.
    let rows: Vec<(uuid::Uuid, f64, f64)> = on_db!(&t.state.db, x => sqlx::query_as(
        "SELECT item_id, score, theta FROM mastery_evidence ORDER BY id",
    ).fetch_all(x).await)
    .unwrap();
    assert_eq!(mastery::calibrate(&t.state, 2_000).await.unwrap(), 15);
    assert_eq!(mastery::calibrate(&t.state, 2_000).await.unwrap(), 0);
    for i in &items {
        let mut b = 0.0;
        for (m, (_, score, th)) in rows.iter().filter(|r| r.0 == i.id.0).enumerate() {
            b = mastery::item_moved(b, m as i64, *score, mastery::chance(*th, b));
        }
        let (got, n): (f64, i64) = on_db!(&t.state.db, x => sqlx::query_as(
            "SELECT difficulty, answers FROM item_difficulty WHERE item_id = $1",
        ).bind(i.id).fetch_one(x).await)
        .unwrap();
        assert_eq!(n, 5);
        assert!((got - b).abs() < 1e-9, "{got} {b}");
    }

    // The teacher finds S2's item 1 right after all: S2's 声调 is replayed as if both were
    // right (the difficulties recorded when counted were 0), like S0's.
    let teacher = t.actor("teacher").await;
    grade::mark(
        &t.cx(&teacher),
        subs[2].id,
        &[Given {
            position: 0,
            points: "1".into(),
            reason: "复核".into(),
            ..Default::default()
        }],
    )
    .await
    .unwrap();
    let (th, n) = theta(subs[2].student_id, p[0]).await;
    assert!((th - second).abs() < 1e-9, "{th}");
    assert_eq!(n, 2);
    assert_eq!(t.count("SELECT COUNT(*) FROM mastery_evidence").await, 15);

    // Then clears that mark to look again: no longer evidence, and S2's 声调 rests on item 2
    // alone (one right answer: 1).
    grade::mark(
        &t.cx(&teacher),
        subs[2].id,
        &[Given {
            position: 0,
            points: String::new(),
            reason: "再看看".into(),
            ..Default::default()
        }],
    )
    .await
    .unwrap();
    let (th, n) = theta(subs[2].student_id, p[0]).await;
    assert!((th - 1.0).abs() < 1e-9, "{th}");
    assert_eq!(n, 1);
    assert_eq!(t.count("SELECT COUNT(*) FROM mastery_evidence").await, 14);
}

/// An item left unanswered is no evidence of mastery (the student may never have reached it).
#[tokio::test]
async fn an_unanswered_item_is_no_evidence() {
    let t = Teach::start_fixed().await;
    let teacher = t.actor("teacher").await;
    let class = t.teacher_class().await;
    let p = points(&t, &["声调"]).await;
    let tcx = t.cx(&teacher);
    let a = item(&tcx, "single", "甲题", "A", "3", p[0]).await;
    let b = item(&tcx, "single", "乙题", "A", "3", p[0]).await;
    let zone = t.state.config.time_zone;
    let d = Draft {
        kind: "homework".into(),
        subject: "13".into(),
        classes: vec![class],
        title: "只答一题".into(),
        category: "homework".into(),
        opens_at: zone.input(tcx.now - Duration::minutes(5)),
        due_at: zone.input(tcx.now + Duration::days(1)),
        late_policy: "accept".into(),
        expected_minutes: "5".into(),
        items: vec![a.id, b.id],
        ..Draft::default()
    };
    let (id, _) = set::create(&tcx, &d).await.unwrap();
    let student = t.actor("student").await;
    let cx = t.cx(&student);
    let parts = assignments::parts(&t.state.db, id).await.unwrap();
    work::save(
        &cx,
        id,
        &[(parts[0].position, Answer::Choice { chosen: vec![0] })],
    )
    .await
    .unwrap();
    work::submit(&cx, id, None).await.unwrap();
    let (n,): (i64,) = on_db!(&t.state.db, x => sqlx::query_as(
        "SELECT answers FROM mastery WHERE student_id = $1 AND point_id = $2",
    ).bind(student.person_id).bind(p[0]).fetch_one(x).await)
    .unwrap();
    assert_eq!(n, 1, "the answered item only");
}

#[tokio::test]
async fn practice_works_the_weakest_point_at_the_right_difficulty_and_moves_mastery() {
    let t = Teach::start_fixed().await;
    let (test, _, p, class) = taken(&t).await;
    let teacher = t.actor("teacher").await;
    let tcx = t.cx(&teacher);
    // A pool on 韵母 at every level, and two easy items on 声调.
    for (n, level) in ["1", "2", "3", "4", "5", "2", "3", "4"].iter().enumerate() {
        item(
            &tcx,
            "true_false",
            &format!("韵母判断 {n}"),
            "对",
            level,
            p[1],
        )
        .await;
    }
    // The fifth student (S4) got everything wrong: both points weak, 声调 weakest.
    let subs = assignments::submissions(&t.state.db, test).await.unwrap();
    let s4 = t.actor_of(subs[4].student_id).await;
    let cx = t.cx(&s4);
    let place = practice::place_of(&t.state.db, s4.person_id)
        .await
        .unwrap()
        .unwrap();
    let weak = practice::weak_points(&t.state.db, s4.person_id, &place, "13")
        .await
        .unwrap();
    assert_eq!(weak[0].point_id, p[0]);
    assert!(weak[0].percent().unwrap() < 50);

    let id = practice::start(&cx, "13").await.unwrap();
    let (set, chosen, moved) = practice::open(&cx, id).await.unwrap();
    assert!(set.finished_at.is_none());
    assert!(!chosen.is_empty() && chosen.len() <= practice::SIZE);
    // Every item is on a weak point; those inside the band come first on each point.
    let mut ids: Vec<_> = chosen.iter().map(|c| c.item.id).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), chosen.len(), "no item twice");
    // The first item is on the weakest point (声调), the second on the next (韵母).
    let on = |i: usize, point: PointId| {
        let db = t.state.db.clone();
        let item = chosen[i].item.id;
        async move {
            let (n,): (i64,) = on_db!(&db, x => sqlx::query_as(
                "SELECT COUNT(*) FROM item_points WHERE item_id = $1 AND point_id = $2",
            ).bind(item).bind(point).fetch_one(x).await)
            .unwrap();
            n == 1
        }
    };
    assert!(on(0, p[0]).await && on(1, p[1]).await);
    // On 韵母 an item inside the band is there to choose, and it is the one chosen.
    assert!(
        chosen[1].predicted >= practice::BAND.0 && chosen[1].predicted <= practice::BAND.1,
        "{}",
        chosen[1].predicted
    );
    // Asking again before handing it in gives the same set.
    assert_eq!(practice::start(&cx, "13").await.unwrap(), id);
    let in_band = chosen
        .iter()
        .filter(|c| c.predicted >= practice::BAND.0 && c.predicted <= practice::BAND.1)
        .count();
    assert!(
        in_band >= 1,
        "{:?}",
        chosen.iter().map(|c| c.predicted).collect::<Vec<_>>()
    );
    assert!(moved.iter().any(|m| m.point_id == p[0]));

    // Someone else's set is not found; the student hands in right answers, once.
    let other = t.actor_of(subs[0].student_id).await;
    assert!(matches!(
        practice::open(&t.cx(&other), id).await,
        Err(AppError::NotFound(_))
    ));
    assert!(matches!(
        practice::finish(&t.cx(&other), id, &[]).await,
        Err(AppError::NotFound(_))
    ));
    // Nor does the teacher hand it in for the student.
    assert!(matches!(
        practice::finish(&tcx, id, &[]).await,
        Err(AppError::NotFound(_))
    ));
    let right: Vec<(i64, Answer)> = chosen
        .iter()
        .map(|c| {
            (
                c.position,
                teaching::practice::demo::answer(&c.item, true, 0),
            )
        })
        .collect();
    practice::finish(&cx, id, &right).await.unwrap();
    assert!(matches!(
        practice::finish(&cx, id, &right).await,
        Err(AppError::Conflict("teaching.practice_finished", _))
    ));
    let (set, chosen, moved) = practice::open(&cx, id).await.unwrap();
    assert_eq!(set.correct, 100 * chosen.len() as i64);
    assert!(chosen.iter().all(|c| c.score == Some(1.0)));
    for m in &moved {
        assert!(m.theta_after.unwrap() > m.theta_before, "{m:?}");
    }
    assert_eq!(t.facts("teaching.practice_done").await, 1);

    // The class's teacher sees it; a Chinese teacher of another class does not.
    let seen = practice::of_class(
        &t.state.db,
        class,
        "13",
        t.state.clock.now() - Duration::days(1),
    )
    .await
    .unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].student_id, s4.person_id);
    assert_eq!(seen[0].percent(), 100);
    assert!(practice::open(&tcx, id).await.is_ok());
    let (colleague, _) = t.colleague().await;
    assert!(matches!(
        practice::open(&t.cx(&colleague), id).await,
        Err(AppError::NotFound(_))
    ));
    // A teacher is no student: no set for them.
    assert!(matches!(
        practice::start(&tcx, "13").await,
        Err(AppError::Forbidden)
    ));
}

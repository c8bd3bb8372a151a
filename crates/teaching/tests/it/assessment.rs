//! Tests (测评) on a real database and a clock the test moves: attempts made when the test is
//! set (shuffled per student), nothing shown or taken before the start, the server's end for
//! each student, answers refused after it and handed in by the runner at it; results released
//! together; a co-teacher of another class marks nothing of this one; a stale marking form
//! reverts nobody's mark; paper marks entered a row per student.

use crate::helpers::{Teach, fields};
use chrono::Duration;
use kernel::{AppError, Ctx, NodeId, on_db};
use teaching::assignments::grade::{self, Given};
use teaching::assignments::set::{self, Draft};
use teaching::assignments::{self, gradebook, work};
use teaching::items::bank::{self, Item, Place};
use teaching::items::score::Answer;

async fn items(t: &Teach, cx: &Ctx<'_>) -> Vec<Item> {
    let place = Place {
        stage: "primary".into(),
        subject: "13".into(),
        ..Default::default()
    };
    let mut out = Vec::new();
    for (stem, choices) in [
        ("“天”的声调是？", "第一声\n第二声\n第三声\n第四声"),
        ("“地”的声调是？", "第四声\n第一声\n第二声\n第三声"),
        ("“人”的声调是？", "第二声\n第一声\n第三声\n第四声"),
    ] {
        let d = teaching::items::form::Draft {
            kind: "single".into(),
            stem: stem.into(),
            choices: choices.into(),
            answer: "A".into(),
            points: "5".into(),
            difficulty: "2".into(),
            ..Default::default()
        };
        let id = bank::create(cx, &d, &place).await.unwrap();
        out.push(bank::get(cx, id).await.unwrap());
    }
    let _ = t;
    out
}

fn test_draft(cx: &Ctx<'_>, class: NodeId, items: &[Item], opens_in: i64) -> Draft {
    let zone = cx.state.config.time_zone;
    Draft {
        kind: "test".into(),
        subject: "13".into(),
        classes: vec![class],
        title: "第一单元测验".into(),
        category: "quiz".into(),
        opens_at: zone.input(cx.now + Duration::minutes(opens_in)),
        due_at: zone.input(cx.now + Duration::minutes(opens_in + 60)),
        late_policy: "refuse".into(),
        expected_minutes: "40".into(),
        items: items.iter().map(|i| i.id).collect(),
        time_limit: "40".into(),
        shuffle_items: true,
        shuffle_options: true,
        ..Draft::default()
    }
}

#[tokio::test]
async fn a_test_starts_together_and_ends_by_the_servers_clock() {
    let t = Teach::start_fixed().await;
    let teacher = t.actor("teacher").await;
    let student = t.actor("student").await;
    let class = t.teacher_class().await;
    let items = items(&t, &t.cx(&teacher)).await;
    let tcx = t.cx(&teacher);
    let mut d = test_draft(&tcx, class, &items, 10);
    d.time_limit = "90".into();
    assert!(fields(set::create(&tcx, &d).await.unwrap_err()).contains(&(
        "time_limit".to_owned(),
        "error.teaching.assignment_window".to_owned()
    )));
    let (id, _) = set::create(&tcx, &test_draft(&tcx, class, &items, 10))
        .await
        .unwrap();
    // Every attempt is made now, each in its own order.
    let subs = assignments::submissions(&t.state.db, id).await.unwrap();
    assert!(subs.len() >= 3);
    let layouts: std::collections::HashSet<String> =
        subs.iter().map(|s| s.layout.clone()).collect();
    assert!(layouts.len() > 1, "items and options shuffled per student");
    for s in &subs {
        let l = s.layout();
        let mut order = l.order.clone();
        order.sort_unstable();
        assert_eq!(order, vec![0, 1, 2], "every item once");
        assert!(l.choices.iter().all(|c| c.len() == 4));
    }

    // Before the start: not taken, not started.
    let scx = t.cx(&student);
    assert!(matches!(
        work::start(&scx, id).await.unwrap_err(),
        AppError::Conflict("teaching.not_open", _)
    ));
    assert!(matches!(
        work::save(&scx, id, &[(0, Answer::Choice { chosen: vec![0] })])
            .await
            .unwrap_err(),
        AppError::Conflict("teaching.not_open", _)
    ));
    t.state.clock.advance(Duration::minutes(11));
    let scx = t.cx(&student);
    assert!(matches!(
        work::save(&scx, id, &[(0, Answer::Choice { chosen: vec![0] })])
            .await
            .unwrap_err(),
        AppError::Conflict("teaching.not_started", _)
    ));
    work::start(&scx, id).await.unwrap();
    let s = assignments::submission_of(&t.state.db, id, student.person_id)
        .await
        .unwrap()
        .unwrap();
    let end = s.ends_at.unwrap();
    assert!(
        (end - (scx.now + Duration::minutes(40)))
            .num_milliseconds()
            .abs()
            < 1,
        "the start plus the time limit: {end}"
    );
    // Starting again (a reload, a second phone) changes nothing.
    t.state.clock.advance(Duration::minutes(1));
    work::start(&t.cx(&student), id).await.unwrap();
    let again = assignments::submission_of(&t.state.db, id, student.person_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.ends_at, s.ends_at);
    // Answers one at a time, the right option of each in stored terms; one changed.
    for p in 0..3 {
        work::save(
            &t.cx(&student),
            id,
            &[(p, Answer::Choice { chosen: vec![0] })],
        )
        .await
        .unwrap();
    }
    work::save(
        &t.cx(&student),
        id,
        &[(2, Answer::Choice { chosen: vec![1] })],
    )
    .await
    .unwrap();
    work::left_page(&t.cx(&student), id).await.unwrap();
    // The end passes: the server takes no more, and the runner hands it in with what it had.
    t.state.clock.advance(Duration::minutes(40));
    let e = work::save(
        &t.cx(&student),
        id,
        &[(2, Answer::Choice { chosen: vec![0] })],
    )
    .await
    .unwrap_err();
    assert!(matches!(e, AppError::Conflict("teaching.time_over", _)));
    assert_eq!(work::close_expired(&t.state, None).await.unwrap(), 1);
    assert_eq!(
        work::close_expired(&t.state, None).await.unwrap(),
        0,
        "once"
    );
    let s = assignments::submission_of(&t.state.db, id, student.person_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(s.submitted_at, s.ends_at, "handed in at the server's end");
    assert_eq!(s.score, Some(1000), "two right, the changed one wrong");
    assert_eq!(s.left_page, 1);
    assert!(!s.late);
    assert_eq!(t.facts("teaching.test_taken").await, 1);

    // Results go out together: not one by one before the release.
    let tcx = t.cx(&teacher);
    assert!(matches!(
        grade::give_back(&tcx, s.id, "").await.unwrap_err(),
        AppError::Conflict("teaching.not_released", _)
    ));
    assert_eq!(grade::release(&tcx, id).await.unwrap(), 1);
    let s = assignments::find_submission(&t.state.db, s.id)
        .await
        .unwrap()
        .unwrap();
    assert!(s.returned_at.is_some());
    // Those who never started are not handed in: they missed it.
    let missed = assignments::submissions(&t.state.db, id)
        .await
        .unwrap()
        .into_iter()
        .filter(|x| x.submitted_at.is_none())
        .count();
    assert_eq!(missed, subs.len() - 1);
    assert!(
        gradebook::verify(&t.state.db, class)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn marks_are_safe_from_other_classes_and_from_stale_forms() {
    let t = Teach::start().await;
    let teacher = t.actor("teacher").await;
    let student = t.actor("student").await;
    let class = t.teacher_class().await;
    let (colleague, their_class) = t.colleague().await;
    let tcx = t.cx(&teacher);
    let place = Place {
        stage: "primary".into(),
        subject: "13".into(),
        ..Default::default()
    };
    let essay = teaching::items::form::Draft {
        kind: "essay".into(),
        stem: "写一句话。".into(),
        points: "10".into(),
        difficulty: "2".into(),
        ..Default::default()
    };
    let item = bank::create(&tcx, &essay, &place).await.unwrap();
    // The teacher also teaches Chinese in the colleague's class: work set to both classes.
    on_db!(&t.state.db, p => sqlx::query(
        "INSERT INTO role_assignments (id, person_id, role, node_id, subject, created_at) VALUES ($1, $2, 'teacher', $3, '13', $4)",
    ).bind(uuid::Uuid::now_v7()).bind(teacher.person_id).bind(their_class).bind(chrono::Utc::now())
     .execute(p).await.map(|r| r.rows_affected()))
    .unwrap();
    let teacher = t.actor_of(teacher.person_id).await;
    let tcx = t.cx(&teacher);
    let zone = tcx.state.config.time_zone;
    let d = Draft {
        kind: "homework".into(),
        subject: "13".into(),
        classes: vec![class, their_class],
        title: "写话".into(),
        category: "homework".into(),
        opens_at: zone.input(tcx.now - Duration::minutes(1)),
        due_at: zone.input(tcx.now + Duration::days(1)),
        late_policy: "accept".into(),
        expected_minutes: "10".into(),
        items: vec![item],
        ..Draft::default()
    };
    let (id, _) = set::create(&tcx, &d).await.unwrap();
    let written = Answer::Written {
        text: "天很蓝。".into(),
        photos: Vec::new(),
    };
    work::save(&t.cx(&student), id, &[(0, written)])
        .await
        .unwrap();
    work::submit(&t.cx(&student), id, None).await.unwrap();
    let s = assignments::submission_of(&t.state.db, id, student.person_id)
        .await
        .unwrap()
        .unwrap();
    // The colleague teaches the other class: this class's work is not theirs to see or mark.
    let ccx = t.cx(&colleague);
    assert_eq!(
        assignments::graded_classes(
            &ccx,
            &assignments::find(&t.state.db, id).await.unwrap().unwrap()
        )
        .await
        .unwrap(),
        vec![their_class]
    );
    let e = grade::mark(
        &ccx,
        s.id,
        &[Given {
            position: 0,
            points: "1".into(),
            ..Default::default()
        }],
    )
    .await
    .unwrap_err();
    assert!(matches!(e, AppError::NotFound(_)));
    let (a, access) = assignments::get(&ccx, id).await.unwrap();
    let theirs = assignments::visible_submissions(&ccx, &a, access)
        .await
        .unwrap();
    assert!(!theirs.is_empty() && theirs.iter().all(|x| x.class_id == their_class));

    // Two pages opened on the same mark: the first saves 8; the second (opened before) gives
    // 6 and is refused, not silently written over the 8; a field the second did not touch is
    // left alone.
    let history = grade::history(&t.state.db, s.id).await.unwrap();
    let shown = history.last().unwrap().seq;
    grade::mark(
        &tcx,
        s.id,
        &[Given {
            position: 0,
            points: "8".into(),
            seen: Some(shown),
            ..Default::default()
        }],
    )
    .await
    .unwrap();
    let e = grade::mark(
        &tcx,
        s.id,
        &[Given {
            position: 0,
            points: "6".into(),
            seen: Some(shown),
            ..Default::default()
        }],
    )
    .await
    .unwrap_err();
    assert_eq!(
        fields(e),
        vec![(
            "points.0".to_owned(),
            "error.teaching.mark_changed".to_owned()
        )]
    );
    let untouched = grade::mark(
        &tcx,
        s.id,
        &[Given {
            position: 0,
            points: String::new(),
            seen: Some(shown),
            ..Default::default()
        }],
    )
    .await
    .unwrap();
    assert_eq!(
        untouched, 0,
        "the stale page's unchanged box writes nothing"
    );
    let s = assignments::find_submission(&t.state.db, s.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(s.score, Some(800));
}

#[tokio::test]
async fn paper_marks_are_entered_a_row_per_student() {
    let t = Teach::start().await;
    let teacher = t.actor("teacher").await;
    let class = t.teacher_class().await;
    let tcx = t.cx(&teacher);
    let items = items(&t, &tcx).await;
    let mut d = test_draft(&tcx, class, &items, -5);
    d.shuffle_items = false;
    let (id, _) = set::create(&tcx, &d).await.unwrap();
    let subs = assignments::submissions(&t.state.db, id).await.unwrap();
    let row = |i: usize, cells: [&str; 3]| {
        (
            subs[i].id,
            cells
                .iter()
                .enumerate()
                .map(|(p, v)| (p as i64, (*v).to_owned(), None))
                .collect::<Vec<_>>(),
        )
    };
    // A row filled in part names its empty cells; too many points name theirs; nothing is
    // written.
    let e = grade::enter(
        &tcx,
        id,
        &[
            row(0, ["5", "", "5"]),
            row(1, ["5", "9", "0"]),
            row(2, ["", "", ""]),
        ],
    )
    .await
    .unwrap_err();
    let f = fields(e);
    assert!(f.contains(&(
        format!("m.{}.1", subs[0].id),
        "error.teaching.entry_missing".to_owned()
    )));
    assert!(f.contains(&(
        format!("m.{}.1", subs[1].id),
        "error.teaching.mark_points".to_owned()
    )));
    assert_eq!(t.count("SELECT COUNT(*) FROM marks").await, 0);
    let n = grade::enter(
        &tcx,
        id,
        &[
            row(0, ["5", "0", "5"]),
            row(1, ["5", "5", "2.5"]),
            row(2, ["", "", ""]),
        ],
    )
    .await
    .unwrap();
    assert_eq!(n, 2, "the empty row is an absent student");
    let s0 = assignments::find_submission(&t.state.db, subs[0].id)
        .await
        .unwrap()
        .unwrap();
    let s1 = assignments::find_submission(&t.state.db, subs[1].id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((s0.score, s1.score), (Some(1000), Some(1250)));
    assert!(s0.submitted_at.is_some() && s0.graded());
    assert_eq!(t.facts("teaching.test_taken").await, 2);
    // The same grid again changes nothing; a changed cell adds one mark.
    grade::enter(&tcx, id, &[row(0, ["5", "0", "5"])])
        .await
        .unwrap();
    assert_eq!(t.count("SELECT COUNT(*) FROM marks").await, 6);
    grade::enter(&tcx, id, &[row(0, ["5", "5", "5"])])
        .await
        .unwrap();
    assert_eq!(t.count("SELECT COUNT(*) FROM marks").await, 7);
    // A grid opened before that change (it showed the first marks) does not revert it.
    let first_seq = grade::history(&t.state.db, subs[0].id).await.unwrap()[0].seq;
    let stale = (
        subs[0].id,
        vec![
            (0, "5".to_owned(), Some(first_seq)),
            (1, "0".to_owned(), Some(first_seq)),
            (2, "5".to_owned(), Some(first_seq)),
        ],
    );
    let e = grade::enter(&tcx, id, &[stale]).await.unwrap_err();
    assert_eq!(
        fields(e),
        vec![(
            format!("m.{}.1", subs[0].id),
            "error.teaching.mark_changed".to_owned()
        )]
    );
    assert_eq!(t.count("SELECT COUNT(*) FROM marks").await, 7);
    assert!(
        gradebook::verify(&t.state.db, class)
            .await
            .unwrap()
            .is_empty()
    );
    // Someone else's class is not entered here.
    let (colleague, _) = t.colleague().await;
    assert!(matches!(
        grade::enter(&t.cx(&colleague), id, &[row(0, ["1", "1", "1"])])
            .await
            .unwrap_err(),
        AppError::NotFound(_)
    ));
}

//! Assignments on a real database: work set to a class (a submission per student), answers
//! saved and handed in, marked by rule and by a teacher with a rubric, returned with the
//! guardians told; late work by its policy; two graders at once losing nothing; the homework
//! load and its limits; foreign ids; photos with the teacher's pen; the gradebook and its
//! export.

use crate::helpers::{Teach, fields};
use chrono::Duration;
use kernel::{Actor, AppError, Ctx, NodeId, PersonId, on_db};
use teaching::assignments::grade::{self, Given};
use teaching::assignments::set::{self, Draft};
use teaching::assignments::{self, AssignmentId, gradebook, load, work};
use teaching::items::bank::{self, Item, Place};
use teaching::items::score::Answer;

pub(crate) const JPEG: &[u8] = include_bytes!("../../../spaces/tests/fixtures/gps.jpg");

pub(crate) fn item_draft(
    kind: &str,
    stem: &str,
    choices: &str,
    answer: &str,
    points: &str,
) -> teaching::items::form::Draft {
    teaching::items::form::Draft {
        kind: kind.into(),
        stem: stem.into(),
        choices: choices.into(),
        answer: answer.into(),
        points: points.into(),
        difficulty: "2".into(),
        ..Default::default()
    }
}

/// Three items of the teacher's school: a single choice (2), a blank (2), an essay with a
/// rubric (4).
pub(crate) async fn items(t: &Teach, teacher: &Actor) -> Vec<Item> {
    let cx = t.cx(teacher);
    let place = Place {
        stage: "primary".into(),
        subject: "13".into(),
        ..Default::default()
    };
    let mut essay = item_draft("essay", "写一句话，用上“天”字。", "", "", "4");
    essay.rubric = "内容：优=2，良=1，差=0\n书写：优=2，良=1，差=0".into();
    let mut out = Vec::new();
    for d in [
        item_draft(
            "single",
            "“天”的声调是？",
            "第一声\n第二声\n第三声",
            "A",
            "2",
        ),
        item_draft("blanks", "“人”有 ____ 画。", "", "2|两", "2"),
        essay,
    ] {
        let id = bank::create(&cx, &d, &place).await.unwrap();
        out.push(bank::get(&cx, id).await.unwrap());
    }
    out
}

pub(crate) fn draft(class: NodeId, items: &[Item], cx: &Ctx<'_>) -> Draft {
    let zone = cx.state.config.time_zone;
    Draft {
        kind: "homework".into(),
        subject: "13".into(),
        classes: vec![class],
        title: "识字练习".into(),
        category: "homework".into(),
        opens_at: zone.input(cx.now - Duration::minutes(1)),
        due_at: zone.input(cx.now + Duration::days(1)),
        late_policy: "accept".into(),
        expected_minutes: "15".into(),
        written: false,
        items: items.iter().map(|i| i.id).collect(),
        ..Draft::default()
    }
}

pub(crate) fn at<'a>(t: &'a Teach, actor: &'a Actor, minutes: i64) -> Ctx<'a> {
    let mut cx = t.cx(actor);
    cx.now += Duration::minutes(minutes);
    cx
}

pub(crate) async fn notifications(t: &Teach, person: PersonId, kind: &str) -> i64 {
    let (n,): (i64,) = on_db!(&t.state.db, p => sqlx::query_as(
        "SELECT COUNT(*) FROM notifications WHERE person_id = $1 AND kind = $2",
    ).bind(person).bind(kind).fetch_one(p).await)
    .unwrap();
    n
}

/// The answers of a right-thinking student: A, 两, a sentence.
pub(crate) fn answers() -> Vec<(i64, Answer)> {
    vec![
        (0, Answer::Choice { chosen: vec![0] }),
        (
            1,
            Answer::Texts {
                texts: vec!["两".into()],
            },
        ),
        (
            2,
            Answer::Written {
                text: "天上有白云。".into(),
                photos: Vec::new(),
            },
        ),
    ]
}

#[tokio::test]
async fn homework_is_set_handed_in_marked_and_returned_to_the_family() {
    let t = Teach::start().await;
    let teacher = t.actor("teacher").await;
    let student = t.actor("student").await;
    let guardian = t.person("guardian").await;
    let class = t.teacher_class().await;
    let items = items(&t, &teacher).await;
    let (id, over) = set::create(&t.cx(&teacher), &draft(class, &items, &t.cx(&teacher)))
        .await
        .unwrap();
    assert!(over.is_empty(), "no written work, no load");
    let students = set::students_of(&t.state.db, class).await.unwrap();
    let subs = assignments::submissions(&t.state.db, id).await.unwrap();
    assert_eq!(subs.len(), students.len(), "a submission per student");
    assert_eq!(t.facts("teaching.assignment_set").await, 1);

    // The student saves, changes an answer, and hands in with the minutes spent.
    let scx = at(&t, &student, 5);
    work::save(&scx, id, &[(0, Answer::Choice { chosen: vec![1] })])
        .await
        .unwrap();
    work::save(&at(&t, &student, 10), id, &answers())
        .await
        .unwrap();
    work::submit(&at(&t, &student, 11), id, Some(14))
        .await
        .unwrap();
    let s = assignments::submission_of(&t.state.db, id, student.person_id)
        .await
        .unwrap()
        .unwrap();
    assert!(s.submitted_at.is_some() && !s.late);
    assert_eq!(s.minutes_spent, Some(14));
    assert_eq!(s.score, Some(400), "the choice and the blank by rule");
    assert_eq!(s.pending, 1, "the essay waits for the teacher");
    assert!(!s.graded());
    // Handed in once: again is refused, and so is a changed answer.
    let again = work::submit(&at(&t, &student, 12), id, None)
        .await
        .unwrap_err();
    assert!(matches!(
        again,
        AppError::Conflict("teaching.already_submitted", _)
    ));
    let late_change = work::save(&at(&t, &student, 12), id, &answers())
        .await
        .unwrap_err();
    assert!(matches!(
        late_change,
        AppError::Conflict("teaching.already_submitted", _)
    ));
    // Nothing counts in the gradebook until everything is marked.
    assert!(
        gradebook::verify(&t.state.db, class)
            .await
            .unwrap()
            .is_empty()
    );
    let book = gradebook::book(
        &t.cx(&teacher),
        class,
        "13",
        &t_term(&t, &teacher, id).await,
    )
    .await
    .unwrap();
    let line = book
        .lines
        .iter()
        .find(|l| l.student_id == student.person_id)
        .unwrap();
    assert_eq!(line.totals[0], (0, 0));

    // Returning before the essay is marked is refused.
    let tcx = at(&t, &teacher, 20);
    assert!(matches!(
        grade::give_back(&tcx, s.id, "").await.unwrap_err(),
        AppError::Conflict("teaching.not_graded", _)
    ));
    // The essay by its rubric: 2 + 1; too many points are refused by field.
    let e = grade::mark(
        &tcx,
        s.id,
        &[Given {
            position: 2,
            points: "5".into(),
            ..Default::default()
        }],
    )
    .await
    .unwrap_err();
    assert_eq!(
        fields(e),
        vec![(
            "points.2".to_owned(),
            "error.teaching.mark_points".to_owned()
        )]
    );
    let n = grade::mark(
        &tcx,
        s.id,
        &[Given {
            position: 2,
            points: "3".into(),
            rubric: vec![("内容".into(), "优".into()), ("书写".into(), "良".into())],
            comment: "句子通顺。".into(),
            ..Default::default()
        }],
    )
    .await
    .unwrap();
    assert_eq!(n, 1);
    let s = assignments::find_submission(&t.state.db, s.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((s.score, s.pending), (Some(700), 0));
    assert!(s.graded());
    assert!(
        gradebook::verify(&t.state.db, class)
            .await
            .unwrap()
            .is_empty()
    );
    // Not yet returned: the guardian does not read it.
    let gactor = t.actor_of(guardian).await;
    let a = assignments::find(&t.state.db, id).await.unwrap().unwrap();
    assert!(
        !assignments::may_read_submission(&t.cx(&gactor), &a, &s)
            .await
            .unwrap()
    );

    grade::give_back(&tcx, s.id, "认真完成，很好！")
        .await
        .unwrap();
    let s = assignments::find_submission(&t.state.db, s.id)
        .await
        .unwrap()
        .unwrap();
    assert!(s.returned_at.is_some());
    assert!(
        assignments::may_read_submission(&t.cx(&gactor), &a, &s)
            .await
            .unwrap()
    );
    assert_eq!(
        notifications(&t, student.person_id, "notice.work_returned").await,
        1
    );
    assert_eq!(
        notifications(&t, guardian, "notice.child_work_returned").await,
        1
    );
    assert_eq!(t.facts("teaching.work_submitted").await, 1);
    assert_eq!(t.facts("teaching.work_graded").await, 1);
    // Returning again changes the feedback and tells nobody twice.
    grade::give_back(&tcx, s.id, "认真完成！").await.unwrap();
    assert_eq!(
        notifications(&t, guardian, "notice.child_work_returned").await,
        1
    );
    assert_eq!(t.facts("teaching.work_graded").await, 1);

    // Every mark is an event: the auto marks, then the teacher's.
    let history = grade::history(&t.state.db, s.id).await.unwrap();
    assert_eq!(history.len(), 4);
    assert_eq!(history[3].grader_id, Some(teacher.person_id));
    assert_eq!(history[3].levels().len(), 2);
    // The gradebook counts it now.
    let book = gradebook::book(
        &t.cx(&teacher),
        class,
        "13",
        &t_term(&t, &teacher, id).await,
    )
    .await
    .unwrap();
    let line = book
        .lines
        .iter()
        .find(|l| l.student_id == student.person_id)
        .unwrap();
    assert_eq!(line.totals[0], (700, 800));
    assert_eq!(line.weighted.map(|w| (w * 100.0).round()), Some(8750.0));
}

/// The term key of an assignment.
async fn t_term(t: &Teach, _teacher: &Actor, id: AssignmentId) -> String {
    assignments::find(&t.state.db, id)
        .await
        .unwrap()
        .unwrap()
        .term_key()
}

#[tokio::test]
async fn late_work_follows_the_policy_and_the_server_decides() {
    let t = Teach::start().await;
    let teacher = t.actor("teacher").await;
    let student = t.actor("student").await;
    let class = t.teacher_class().await;
    let items = items(&t, &teacher).await;
    let tcx = t.cx(&teacher);
    let mut d = draft(class, &items[..2], &tcx);
    d.late_policy = "refuse".into();
    let (refuse, _) = set::create(&tcx, &d).await.unwrap();
    d.late_policy = "deduct".into();
    d.late_deduct = "25".into();
    let (deduct, _) = set::create(&tcx, &d).await.unwrap();
    d.late_policy = "deduct".into();
    d.late_deduct = "0".into();
    assert!(fields(set::create(&tcx, &d).await.unwrap_err()).contains(&(
        "late_deduct".to_owned(),
        "error.teaching.assignment_deduct".to_owned()
    )));

    let after_due = 24 * 60 + 5;
    let e = work::save(&at(&t, &student, after_due), refuse, &answers()[..2])
        .await
        .unwrap_err();
    assert!(matches!(e, AppError::Conflict("teaching.past_due", _)));
    let e = work::submit(&at(&t, &student, after_due), refuse, None)
        .await
        .unwrap_err();
    assert!(matches!(e, AppError::Conflict("teaching.past_due", _)));

    work::save(&at(&t, &student, after_due), deduct, &answers()[..2])
        .await
        .unwrap();
    work::submit(&at(&t, &student, after_due), deduct, None)
        .await
        .unwrap();
    let s = assignments::submission_of(&t.state.db, deduct, student.person_id)
        .await
        .unwrap()
        .unwrap();
    assert!(s.late);
    assert_eq!(s.score, Some(300), "4 points less a quarter");
    assert!(
        gradebook::verify(&t.state.db, class)
            .await
            .unwrap()
            .is_empty()
    );

    // A bad answer shape is refused by field; so is an answer to an item that is not there.
    let (fresh, _) = set::create(&tcx, &draft(class, &items[..1], &tcx))
        .await
        .unwrap();
    let e = work::save(
        &at(&t, &student, 1),
        fresh,
        &[
            (
                0,
                Answer::Texts {
                    texts: vec!["A".into()],
                },
            ),
            (7, Answer::TrueFalse { value: true }),
        ],
    )
    .await
    .unwrap_err();
    let f = fields(e);
    assert!(f.contains(&(
        "answer.0".to_owned(),
        "error.teaching.answer_shape".to_owned()
    )));
    assert!(f.contains(&(
        "answer.7".to_owned(),
        "error.teaching.answer_shape".to_owned()
    )));
}

#[tokio::test]
async fn two_graders_at_once_lose_no_mark() {
    let t = Teach::start().await;
    let teacher = t.actor("teacher").await;
    let student = t.actor("student").await;
    let class = t.teacher_class().await;
    // A second Chinese teacher in the class marks beside the head teacher.
    let (colleague, _) = t.colleague().await;
    on_db!(&t.state.db, p => sqlx::query(
        "INSERT INTO role_assignments (id, person_id, role, node_id, subject, created_at) VALUES ($1, $2, 'teacher', $3, '13', $4)",
    ).bind(uuid::Uuid::now_v7()).bind(colleague.person_id).bind(class).bind(chrono::Utc::now())
     .execute(p).await.map(|r| r.rows_affected()))
    .unwrap();
    let colleague = t.actor_of(colleague.person_id).await;
    let tcx = t.cx(&teacher);
    // Two essays, so each grader marks their own.
    let place = Place {
        stage: "primary".into(),
        subject: "13".into(),
        ..Default::default()
    };
    let mut ids = Vec::new();
    for stem in ["写一句话。", "再写一句话。"] {
        let id = bank::create(&tcx, &item_draft("essay", stem, "", "", "10"), &place)
            .await
            .unwrap();
        ids.push(bank::get(&tcx, id).await.unwrap());
    }
    let (id, _) = set::create(&tcx, &draft(class, &ids, &tcx)).await.unwrap();
    let written = |s: &str| Answer::Written {
        text: s.into(),
        photos: Vec::new(),
    };
    work::save(
        &at(&t, &student, 1),
        id,
        &[(0, written("一")), (1, written("二"))],
    )
    .await
    .unwrap();
    work::submit(&at(&t, &student, 2), id, None).await.unwrap();
    let s = assignments::submission_of(&t.state.db, id, student.person_id)
        .await
        .unwrap()
        .unwrap();
    let rounds = 8;
    for r in 0..rounds {
        let mine = [Given {
            position: 0,
            points: format!("{}", r % 10 + 1),
            ..Default::default()
        }];
        let theirs = [Given {
            position: 1,
            points: format!("{}", 10 - r % 10),
            reason: format!("第 {r} 次复核"),
            ..Default::default()
        }];
        let a = grade::mark(&tcx, s.id, &mine);
        let ccx = t.cx(&colleague);
        let b = grade::mark(&ccx, s.id, &theirs);
        let (a, b) = tokio::join!(a, b);
        a.unwrap();
        b.unwrap();
        let s = assignments::find_submission(&t.state.db, s.id)
            .await
            .unwrap()
            .unwrap();
        let want = ((r % 10 + 1) + (10 - r % 10)) as i64 * 100;
        assert_eq!(s.score, Some(want), "round {r}: both marks count");
        assert_eq!(s.pending, 0);
        assert!(
            gradebook::verify(&t.state.db, class)
                .await
                .unwrap()
                .is_empty(),
            "round {r}"
        );
    }
    let history = grade::history(&t.state.db, s.id).await.unwrap();
    assert_eq!(history.len(), 2 + 2 * rounds as usize, "every event kept");
    assert_eq!(
        history
            .iter()
            .filter(|m| m.grader_id == Some(colleague.person_id))
            .count(),
        rounds as usize
    );
    let (version,): (i64,) = on_db!(&t.state.db, p => sqlx::query_as(
        "SELECT version FROM grade_totals WHERE student_id = $1",
    ).bind(student.person_id).fetch_one(p).await)
    .unwrap();
    assert!(version >= 1);
}

#[tokio::test]
async fn the_homework_load_is_counted_and_a_class_over_its_limit_is_flagged() {
    let t = Teach::start().await;
    let teacher = t.actor("teacher").await;
    let class = t.teacher_class().await;
    let tcx = t.cx(&teacher);
    let items = items(&t, &teacher).await;
    // 一年级: no written homework under the national rule.
    let mut d = draft(class, &items[..1], &tcx);
    d.written = true;
    let e = set::create(&tcx, &d).await.unwrap_err();
    assert_eq!(
        fields(e),
        vec![(
            "written".to_owned(),
            "error.teaching.assignment_no_written".to_owned()
        )]
    );
    assert_eq!(load::limit_of(&t.state.db, class).await.unwrap(), Some(0));
    // The district allows 30 minutes in grade 1; the city's own rule is below its districts'.
    let district = t.actor("district_admin").await;
    let dcx = t.cx(&district);
    let region = district
        .grants_of(kernel::Role::Admin)
        .next()
        .unwrap()
        .node_id;
    let e = load::set_region(&dcx, region, &[("primary_1".into(), "半小时".into())])
        .await
        .unwrap_err();
    assert_eq!(
        fields(e),
        vec![(
            "primary_1".to_owned(),
            "error.teaching.homework_limit".to_owned()
        )]
    );
    load::set_region(&dcx, region, &[("primary_1".into(), "30".into())])
        .await
        .unwrap();
    assert_eq!(load::limit_of(&t.state.db, class).await.unwrap(), Some(30));
    let limits = load::of_region(&dcx, region).await.unwrap();
    let g1 = limits.iter().find(|g| g.field() == "primary_1").unwrap();
    assert_eq!(
        (g1.set, g1.holds, g1.national),
        (Some(30), Some(30), Some(0))
    );
    // A teacher is not the region's administrator.
    assert!(matches!(
        load::of_region(&tcx, region).await.unwrap_err(),
        AppError::NotFound(_)
    ));

    d.expected_minutes = "20".into();
    let (_, over) = set::create(&tcx, &d).await.unwrap();
    assert!(over.is_empty());
    let (_, over) = set::create(&tcx, &d).await.unwrap();
    assert_eq!(over.len(), 1, "40 minutes over 30");
    assert_eq!((over[0].minutes, over[0].limit), (40, Some(30)));
    let head = teacher.person_id;
    assert_eq!(
        notifications(&t, head, "notice.homework_over_limit").await,
        1
    );
    // Further work the same day does not tell the head teacher again.
    let (_, over) = set::create(&tcx, &d).await.unwrap();
    assert_eq!(over[0].minutes, 60);
    assert_eq!(
        notifications(&t, head, "notice.homework_over_limit").await,
        1
    );
    // Non-written work does not count; the week shows the day over.
    d.written = false;
    set::create(&tcx, &d).await.unwrap();
    let week = load::week(&t.state.db, class, tcx.today()).await.unwrap();
    let today = week.iter().find(|w| w.day == tcx.today()).unwrap();
    assert_eq!(today.minutes, 60);
    assert!(today.over());
    assert_eq!(today.subjects, vec![("13".to_owned(), 60)]);
}

#[tokio::test]
async fn foreign_ids_are_not_found_and_outsiders_mark_nothing() {
    let t = Teach::start().await;
    let teacher = t.actor("teacher").await;
    let student = t.actor("student").await;
    let class = t.teacher_class().await;
    let (colleague, their_class) = t.colleague().await;
    let tcx = t.cx(&teacher);
    let items = items(&t, &teacher).await;
    let (id, _) = set::create(&tcx, &draft(class, &items[..1], &tcx))
        .await
        .unwrap();
    work::save(&at(&t, &student, 1), id, &answers()[..1])
        .await
        .unwrap();
    work::submit(&at(&t, &student, 1), id, None).await.unwrap();
    let s = assignments::submission_of(&t.state.db, id, student.person_id)
        .await
        .unwrap()
        .unwrap();
    // A colleague of another class: the work and the submission are not there.
    let ccx = t.cx(&colleague);
    assert!(matches!(
        assignments::get(&ccx, id).await.unwrap_err(),
        AppError::NotFound(_)
    ));
    let e = grade::mark(
        &ccx,
        s.id,
        &[Given {
            position: 0,
            points: "0".into(),
            ..Default::default()
        }],
    )
    .await
    .unwrap_err();
    assert!(matches!(
        e,
        AppError::NotFound("teaching.submission_not_found")
    ));
    assert!(matches!(
        grade::give_back(&ccx, s.id, "").await.unwrap_err(),
        AppError::NotFound(_)
    ));
    // Setting work to a class one does not teach is 404 too.
    let mut d = draft(their_class, &items[..1], &tcx);
    d.classes = vec![their_class];
    assert!(matches!(
        set::create(&tcx, &d).await.unwrap_err(),
        AppError::NotFound("teaching.class_not_found")
    ));
    // A student of another class: the work is not theirs.
    let other: PersonId = set::students_of(&t.state.db, their_class).await.unwrap()[0].0;
    let other = t.actor_of(other).await;
    assert!(matches!(
        work::open(&t.cx(&other), id).await.unwrap_err(),
        AppError::NotFound(_)
    ));
    // Choosing a student of another class is refused by field.
    let mut d = draft(class, &items[..1], &tcx);
    d.students = vec![other.person_id];
    assert!(fields(set::create(&tcx, &d).await.unwrap_err()).contains(&(
        "students".to_owned(),
        "error.teaching.assignment_students".to_owned()
    )));
    // The school's administrator reads it and marks nothing.
    let admin = t.actor("school_admin").await;
    let (_, access) = assignments::get(&t.cx(&admin), id).await.unwrap();
    assert_eq!(access, assignments::Access::Read);
    assert!(matches!(
        grade::release(&t.cx(&admin), id).await.unwrap_err(),
        AppError::NotFound(_)
    ));
    // Work set to one student: only they have it.
    let mut d = draft(class, &items[..1], &tcx);
    d.students = vec![student.person_id];
    let (one, _) = set::create(&tcx, &d).await.unwrap();
    assert_eq!(
        assignments::submissions(&t.state.db, one)
            .await
            .unwrap()
            .len(),
        1
    );
}

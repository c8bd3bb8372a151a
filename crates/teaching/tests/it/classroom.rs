//! Classroom mode: a lesson taught from a plan is counted once, as taught with platform
//! resources when one was shown; the picker picks everyone once per round; quick questions
//! are answered by the class's students only, while open; who may see and run a lesson.

use crate::helpers::{Teach, fields};
use kernel::{AppError, CatalogId, ResourceId};
use teaching::classroom::{self, questions};
use teaching::lesson_prep::PlanId;
use teaching::lesson_prep::write::{self, Draft, Place, StepDraft};

async fn plan(t: &Teach, with_resource: bool) -> PlanId {
    let teacher = t.actor("teacher").await;
    let cx = t.cx(&teacher);
    let class = t.teacher_class().await;
    let p = resources::catalog::progress::of_class(&t.state.db, class, "13", cx.today())
        .await
        .unwrap()
        .unwrap();
    let mut chapter: Option<(CatalogId, Vec<ResourceId>)> = None;
    for u in resources::catalog::tree::outline(&t.state.db, p.volume)
        .await
        .unwrap()
    {
        let nodes = resources::catalog::tree::subtree_ids(&t.state.db, u.unit.id)
            .await
            .unwrap();
        let found = resources::library::listing::on_catalog(&cx, &nodes, 2)
            .await
            .unwrap();
        if !found.is_empty() {
            chapter = Some((
                u.unit.id,
                found.into_iter().map(|i| i.resource.id).collect(),
            ));
            break;
        }
    }
    let (catalog_id, links) = chapter.expect("a unit with resources");
    let draft = Draft {
        title: "识字课".into(),
        steps: vec![
            StepDraft {
                title: "导入".into(),
                minutes: "5".into(),
                ..Default::default()
            },
            StepDraft {
                title: "识字".into(),
                minutes: "20".into(),
                resources: if with_resource {
                    links[..1].to_vec()
                } else {
                    Vec::new()
                },
                ..Default::default()
            },
        ],
        ..Default::default()
    };
    let place = Place {
        class_id: class,
        subject: "13".into(),
        catalog_id,
    };
    write::create(&cx, &place, &draft, None).await.unwrap()
}

#[tokio::test]
async fn a_lesson_is_counted_once_and_with_resources_only_when_one_was_shown() {
    let t = Teach::start().await;
    let teacher = t.actor("teacher").await;
    let cx = t.cx(&teacher);
    let id = plan(&t, true).await;
    let lesson = classroom::start(&cx, id).await.unwrap();
    let l = classroom::get(&cx, lesson).await.unwrap();
    assert!(l.ended_at.is_none());
    let content = {
        let p = teaching::lesson_prep::get(&cx, id).await.unwrap();
        teaching::lesson_prep::content(&cx, &p, None).await.unwrap()
    };
    let link = &content.steps[1].links[0];
    for _ in 0..2 {
        classroom::shown(&cx, &l, &[(link.resource_id, link.resource_version)])
            .await
            .unwrap();
    }
    assert_eq!(
        classroom::get(&cx, lesson).await.unwrap().resources,
        1,
        "shown once"
    );
    classroom::end(&cx, lesson).await.unwrap();
    classroom::end(&cx, lesson).await.unwrap();
    assert_eq!(t.facts("teaching.lesson_taught").await, 1);
    assert_eq!(t.facts("teaching.taught_with_resources").await, 1);
    assert_eq!(classroom::this_month(&cx).await.unwrap(), (1, 1));

    // A lesson that shows no resource counts as taught, not as taught with resources. The
    // same plan started again goes on with its lesson; another plan ends the one going on.
    let bare = plan(&t, false).await;
    let first = classroom::start(&cx, bare).await.unwrap();
    assert_eq!(
        classroom::start(&cx, bare).await.unwrap(),
        first,
        "a second click goes on"
    );
    let other = plan(&t, false).await;
    let second = classroom::start(&cx, other).await.unwrap();
    assert!(classroom::get(&cx, first).await.unwrap().ended_at.is_some());
    assert!(
        classroom::get(&cx, second)
            .await
            .unwrap()
            .ended_at
            .is_none()
    );
    assert_eq!(t.facts("teaching.lesson_taught").await, 2);
    assert_eq!(t.facts("teaching.taught_with_resources").await, 1);
    // Once ended, nothing more is recorded as shown.
    let ended = classroom::get(&cx, first).await.unwrap();
    classroom::shown(&cx, &ended, &[(link.resource_id, link.resource_version)])
        .await
        .unwrap();
    assert_eq!(classroom::get(&cx, first).await.unwrap().resources, 0);

    // The school's administrator reads the record and sees the teacher's month.
    let admin = t.actor("school_admin").await;
    let acx = t.cx(&admin);
    assert_eq!(classroom::get(&acx, lesson).await.unwrap().id, lesson);
    let e = classroom::end(&acx, second).await.unwrap_err();
    assert!(matches!(e, AppError::Forbidden), "{e:?}");
    let school = admin.grants_of(kernel::Role::Admin).next().unwrap().node_id;
    let rows = classroom::per_teacher(&acx, school).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0].1, rows[0].2), (2, 1));
    let (colleague, _) = t.colleague().await;
    let e = classroom::get(&t.cx(&colleague), lesson).await.unwrap_err();
    assert!(
        matches!(e, AppError::NotFound("teaching.lesson_not_found")),
        "{e:?}"
    );
    let e = classroom::start(&t.cx(&colleague), id).await.unwrap_err();
    assert!(matches!(e, AppError::NotFound(_)), "{e:?}");
}

#[tokio::test]
async fn the_picker_picks_everyone_once_before_anyone_twice() {
    let t = Teach::start().await;
    let teacher = t.actor("teacher").await;
    let cx = t.cx(&teacher);
    let lesson = classroom::start(&cx, plan(&t, false).await).await.unwrap();
    let size = directory::classes::roster(&cx, t.teacher_class().await)
        .await
        .unwrap()
        .students
        .len();
    assert!(size >= 3, "the demo class has students");
    let mut seen = Vec::new();
    for _ in 0..size {
        let p = classroom::pick(&cx, lesson).await.unwrap().unwrap();
        assert_eq!(p.round, 1);
        assert!(!seen.contains(&p.student_id), "picked twice in a round");
        seen.push(p.student_id);
    }
    let next = classroom::pick(&cx, lesson).await.unwrap().unwrap();
    assert_eq!(next.round, 2, "a new round once everyone has been picked");
    assert_eq!(
        classroom::picks(&t.state.db, lesson).await.unwrap().len(),
        size + 1
    );
    let (colleague, _) = t.colleague().await;
    let e = classroom::pick(&t.cx(&colleague), lesson)
        .await
        .unwrap_err();
    assert!(matches!(e, AppError::NotFound(_)), "{e:?}");
    classroom::end(&cx, lesson).await.unwrap();
    let e = classroom::pick(&cx, lesson).await.unwrap_err();
    assert!(
        matches!(e, AppError::Conflict("teaching.lesson_ended", _)),
        "{e:?}"
    );
}

#[tokio::test]
async fn quick_questions_are_answered_by_the_class_while_open() {
    let t = Teach::start().await;
    let teacher = t.actor("teacher").await;
    let cx = t.cx(&teacher);
    let lesson = classroom::start(&cx, plan(&t, false).await).await.unwrap();

    let f = fields(
        questions::ask(&cx, lesson, " ", 7, Some(9))
            .await
            .unwrap_err(),
    );
    let names: Vec<&str> = f.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["prompt", "options", "correct"]);

    let q = questions::ask(&cx, lesson, "“人”字有几画？", 4, Some(1))
        .await
        .unwrap();
    let student = t.actor("student").await;
    let scx = t.cx(&student);
    let (open, _, mine) = questions::open_for(&scx)
        .await
        .unwrap()
        .expect("the open question");
    assert_eq!(open.id, q);
    assert!(mine.is_none());
    let f = fields(questions::answer(&scx, q, None, "").await.unwrap_err());
    assert_eq!(f[0].0, "choice");
    questions::answer(&scx, q, Some(0), "").await.unwrap();
    questions::answer(&scx, q, Some(1), "").await.unwrap();
    let answers = questions::answers(&t.state.db, q).await.unwrap();
    assert_eq!(answers.len(), 1, "a changed answer replaces the first");
    assert_eq!(
        (answers[0].choice, answers[0].correct),
        (Some(1), Some(true))
    );
    let tally = questions::tally(&open, &answers);
    assert_eq!(tally, [('A', 0), ('B', 1), ('C', 0), ('D', 0)]);

    // A student of another class does not see or answer it; a guardian neither.
    let other: kernel::PersonId =
        kernel::on_db!(&t.state.db, p => sqlx::query_as::<_, (kernel::PersonId,)>(
        "SELECT person_id FROM role_assignments WHERE role = 'student' AND node_id <> $1 LIMIT 1",
    ).bind(t.teacher_class().await).fetch_one(p).await)
        .unwrap()
        .0;
    let other = t.actor_of(other).await;
    assert!(questions::open_for(&t.cx(&other)).await.unwrap().is_none());
    let e = questions::answer(&t.cx(&other), q, Some(1), "")
        .await
        .unwrap_err();
    assert!(matches!(e, AppError::NotFound(_)), "{e:?}");
    let guardian = t.actor("guardian").await;
    let e = questions::answer(&t.cx(&guardian), q, Some(1), "")
        .await
        .unwrap_err();
    assert!(matches!(e, AppError::NotFound(_)), "{e:?}");

    // A free-answer question: a new one closes the first; the teacher marks the answer.
    let free = questions::ask(&cx, lesson, "用“人”组一个词。", 0, None)
        .await
        .unwrap();
    let e = questions::answer(&scx, q, Some(2), "").await.unwrap_err();
    assert!(
        matches!(e, AppError::Conflict("teaching.question_closed", _)),
        "{e:?}"
    );
    questions::answer(&scx, free, None, "大人").await.unwrap();
    assert_eq!(
        questions::answers(&t.state.db, free).await.unwrap()[0].correct,
        None
    );
    questions::mark(&cx, free, student.person_id, true)
        .await
        .unwrap();
    assert_eq!(
        questions::answers(&t.state.db, free).await.unwrap()[0].correct,
        Some(true)
    );
    let e = questions::mark(&t.cx(&student), free, student.person_id, true)
        .await
        .unwrap_err();
    assert!(matches!(e, AppError::NotFound(_)), "{e:?}");
    classroom::end(&cx, lesson).await.unwrap();
    let e = questions::answer(&scx, free, None, "小人")
        .await
        .unwrap_err();
    assert!(
        matches!(e, AppError::Conflict("teaching.question_closed", _)),
        "{e:?}"
    );
    assert!(questions::open_for(&scx).await.unwrap().is_none());
}

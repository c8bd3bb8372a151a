//! Marking beyond the items: a photographed answer marked with the teacher's pen, the
//! gradebook's weights and its XLSX in the school's layout, and the demo's work.

use crate::assignments::{JPEG, answers, at, draft, items, notifications};
use crate::helpers::{Teach, fields};
use kernel::{AppError, on_db};
use teaching::assignments::grade::{self, Given};
use teaching::assignments::{self, gradebook, photos, set, work};

#[tokio::test]
async fn a_photo_is_marked_with_the_pen_and_shown_to_the_student() {
    let t = Teach::start().await;
    let teacher = t.actor("teacher").await;
    let student = t.actor("student").await;
    let class = t.teacher_class().await;
    let tcx = t.cx(&teacher);
    let items = items(&t, &teacher).await;
    let (id, _) = set::create(&tcx, &draft(class, &items, &tcx))
        .await
        .unwrap();
    let scx = at(&t, &student, 1);
    // Only an item a teacher marks takes photos.
    let e = photos::add(&scx, id, 0, vec![bytes::Bytes::from_static(JPEG)])
        .await
        .unwrap_err();
    assert!(matches!(e, AppError::Invalid(_)));
    let e = photos::add(&scx, id, 2, vec![bytes::Bytes::from_static(b"not a photo")])
        .await
        .unwrap_err();
    assert!(fields(e).iter().any(|(f, _)| f == "photo.2"));
    assert_eq!(
        photos::add(&scx, id, 2, vec![bytes::Bytes::from_static(JPEG)])
            .await
            .unwrap(),
        1
    );
    let s = assignments::submission_of(&t.state.db, id, student.person_id)
        .await
        .unwrap()
        .unwrap();
    let list = photos::of(&t.state.db, s.id).await.unwrap();
    assert_eq!(list.len(), 1);
    // Stored without the phone's GPS position.
    let (hash,): (String,) = on_db!(&t.state.db, p => sqlx::query_as(
        "SELECT blob_hash FROM answer_photos WHERE id = $1",
    ).bind(list[0].id).fetch_one(p).await)
    .unwrap();
    let stored = resources::files::store::get_small(&t.state, &hash)
        .await
        .unwrap();
    assert!(!stored.windows(11).any(|w| w == b"GPSLatitude"));
    // A photo alone answers the essay: it waits for the teacher, not 0 by rule.
    work::save(&scx, id, &answers()[..2]).await.unwrap();
    work::submit(&scx, id, None).await.unwrap();
    let s = assignments::find_submission(&t.state.db, s.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(s.pending, 1);
    // The pen: bad strokes are refused, good ones kept and shown.
    assert!(photos::parse_strokes("[[[10,10],[2000,5]]]").is_err());
    let strokes = photos::parse_strokes("[[[100,100],[400,420],[800,150]]]").unwrap();
    photos::annotate(&at(&t, &teacher, 5), list[0].id, &strokes, "[]")
        .await
        .unwrap();
    // A second pen from a page opened before the first was saved does not erase it.
    let e = photos::annotate(
        &at(&t, &teacher, 6),
        list[0].id,
        &vec![vec![(1, 1), (2, 2)]],
        "[]",
    )
    .await
    .unwrap_err();
    assert_eq!(fields(e)[0].1, "error.teaching.annotation_changed");
    let p = &photos::of(&t.state.db, s.id).await.unwrap()[0];
    assert_eq!(p.polylines(), vec!["100,100 400,420 800,150".to_owned()]);
    assert_eq!(p.annotated_by, Some(teacher.person_id));
    // Cleared, then drawn on again from a page that showed it clear.
    let shown = p.annotation_json();
    photos::annotate(&at(&t, &teacher, 7), list[0].id, &Vec::new(), &shown)
        .await
        .unwrap();
    let p = &photos::of(&t.state.db, s.id).await.unwrap()[0];
    assert!(p.annotation.is_none() && p.polylines().is_empty());
    photos::annotate(&at(&t, &teacher, 8), list[0].id, &strokes, "[]")
        .await
        .unwrap();
    // Another teacher's pen is not welcome: the photo is not there for them.
    let (colleague, _) = t.colleague().await;
    assert!(matches!(
        photos::annotate(&t.cx(&colleague), list[0].id, &strokes, "[]")
            .await
            .unwrap_err(),
        AppError::NotFound(_)
    ));
    // The student reads their photo; a student of another class does not.
    assert!(photos::serve(&scx, list[0].id).await.is_ok());
    let (_, their_class) = t.colleague().await;
    let other = set::students_of(&t.state.db, their_class).await.unwrap()[0].0;
    let other = t.actor_of(other).await;
    assert!(matches!(
        photos::serve(&t.cx(&other), list[0].id).await.unwrap_err(),
        AppError::NotFound(_)
    ));
}

#[tokio::test]
async fn the_gradebook_weighs_categories_and_exports_the_schools_layout() {
    let t = Teach::start().await;
    let teacher = t.actor("teacher").await;
    let student = t.actor("student").await;
    let class = t.teacher_class().await;
    let tcx = t.cx(&teacher);
    let items = items(&t, &teacher).await;
    // Homework (the two rule-marked items) and a paper quiz of 10 points.
    let (hw, _) = set::create(&tcx, &draft(class, &items[..2], &tcx))
        .await
        .unwrap();
    let mut quiz = draft(class, &[], &tcx);
    quiz.category = "quiz".into();
    quiz.title = "第一单元小测".into();
    quiz.total_points = "10".into();
    let (q, _) = set::create(&tcx, &quiz).await.unwrap();
    work::save(&at(&t, &student, 1), hw, &answers()[..2])
        .await
        .unwrap();
    work::submit(&at(&t, &student, 1), hw, None).await.unwrap();
    work::submit(&at(&t, &student, 1), q, None).await.unwrap();
    let s = assignments::submission_of(&t.state.db, q, student.person_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(s.pending, 1, "work without items waits as a whole");
    grade::mark(
        &at(&t, &teacher, 2),
        s.id,
        &[Given {
            position: assignments::WHOLE,
            points: "6".into(),
            ..Default::default()
        }],
    )
    .await
    .unwrap();
    let term = assignments::find(&t.state.db, hw)
        .await
        .unwrap()
        .unwrap()
        .term_key();
    // Weights must add up to 100.
    let e = gradebook::set_weights(
        &tcx,
        class,
        "13",
        &term,
        &["50".into(), "40".into(), "20".into()],
    )
    .await
    .unwrap_err();
    assert!(
        fields(e)
            .iter()
            .any(|(_, k)| k == "error.teaching.weights_sum")
    );
    gradebook::set_weights(
        &tcx,
        class,
        "13",
        &term,
        &["40".into(), "60".into(), "0".into()],
    )
    .await
    .unwrap();
    let book = gradebook::book(&tcx, class, "13", &term).await.unwrap();
    assert_eq!(book.assignments.len(), 2);
    let line = book
        .lines
        .iter()
        .find(|l| l.student_id == student.person_id)
        .unwrap();
    assert_eq!(line.totals[0], (400, 400));
    assert_eq!(line.totals[1], (600, 1000));
    // 40·100% + 60·60% = 76%.
    assert_eq!(line.weighted_text(), "76.0");
    let names = ["作业".to_owned(), "小测".to_owned(), "考试".to_owned()];
    let bytes = gradebook::xlsx(&book, &names, "总评").unwrap();
    let dir = tempdir();
    let path = dir.join("book.xlsx");
    std::fs::write(&path, &bytes).unwrap();
    let rows: Vec<Vec<String>> = sheets::read_all(&path)
        .unwrap()
        .1
        .into_iter()
        .map(|r| {
            r.cells
                .iter()
                .map(|v| match v {
                    sheets::Value::Text(s) => s.clone(),
                    sheets::Value::Int(i) => i.to_string(),
                    sheets::Value::Number(f) => format!("{f}"),
                    _ => String::new(),
                })
                .collect()
        })
        .collect();
    assert!(rows[0][0].contains("成绩登记表"));
    assert_eq!(
        &rows[1][..3],
        &["序号".to_owned(), "学号".to_owned(), "姓名".to_owned()]
    );
    assert!(rows[1].iter().any(|h| h.starts_with("第一单元小测")));
    let mine = rows
        .iter()
        .find(|r| r.get(2).is_some_and(|n| *n == line.name))
        .expect("the student's row");
    assert!(mine.iter().any(|c| c == "76"), "{mine:?}");
    // Those who do not teach the class do not open its book.
    let (colleague, _) = t.colleague().await;
    assert!(matches!(
        gradebook::book(&t.cx(&colleague), class, "13", &term)
            .await
            .unwrap_err(),
        AppError::NotFound(_)
    ));
    let _ = std::fs::remove_dir_all(dir);
}

fn tempdir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("jy-book-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[tokio::test]
async fn the_demo_has_work_marked_half_marked_and_to_do_a_test_taken_and_practice() {
    let t = Teach::start().await;
    teaching::demo::load(&t.state).await.unwrap();
    let teacher = t.actor("teacher").await;
    let student = t.actor("student").await;
    let mine = assignments::mine(&t.cx(&teacher), 50).await.unwrap();
    assert_eq!(mine.len(), 4);
    let by = |title: &str| {
        mine.iter()
            .find(|(a, _)| a.title.contains(title))
            .unwrap()
            .1
    };
    let first = by("识字一");
    assert_eq!(first.returned, first.students, "all marked and returned");
    let second = by("识字二");
    assert_eq!(second.submitted, second.students);
    assert!(
        second.returned > 0 && second.returned < second.students,
        "half marked: {second:?}"
    );
    let today = by("今日练习");
    assert_eq!(today.submitted, 0);
    // The unit test: taken by everyone, marked by rule and released.
    let test = by("识字测验");
    assert_eq!(test.graded, test.students);
    assert_eq!(test.returned, test.students);
    // The student practised yesterday and has today's set to do.
    let sets = teaching::practice::sets_of(&t.state.db, student.person_id, 10)
        .await
        .unwrap();
    assert_eq!(sets.len(), 2);
    assert!(sets[0].0.finished_at.is_none() && sets[1].0.finished_at.is_some());
    let (todo, done) = teaching::assignments::student::mine(&t.cx(&student), student.person_id)
        .await
        .unwrap();
    assert!(todo.iter().any(|r| r.a.title.contains("今日练习")));
    assert!(
        done.iter().any(|r| r.s.returned_at.is_some()),
        "the child's results are out"
    );
    let class = t.teacher_class().await;
    assert!(
        gradebook::verify(&t.state.db, class)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(notifications(&t, t.person("guardian").await, "notice.child_work_returned").await >= 1);
}

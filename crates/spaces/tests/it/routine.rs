//! The teaching routine check: a school's administrator sees each teacher's lesson plans of the
//! week as they are in the library, comments, and the teacher is told; nobody else sees it.

use crate::helpers::{Home, fields};
use kernel::AppError;
use spaces::routine;

#[tokio::test]
async fn the_school_sees_each_teachers_plans_of_the_week_and_comments() {
    let h = Home::start().await;
    resources::demo::load(&h.state).await.unwrap();
    let admin = h.actor("school_admin").await;
    let school = admin.admin_nodes()[0];
    let a = h.cx(&admin);
    // The demo teacher's teaching design was uploaded twelve days ago.
    let week = routine::monday(a.today() - chrono::Duration::days(12));
    let teachers = routine::week(&a, school, week).await.unwrap();
    assert_eq!(teachers.len(), 8, "the demo school's eight teachers");
    let teacher = h.actor("teacher").await;
    let mine = teachers
        .iter()
        .find(|t| t.teacher_id == teacher.person_id)
        .unwrap();
    assert!(
        mine.items.iter().any(|i| i.title == "《秋天》教学设计"),
        "the week's plans as they are in the library"
    );
    assert!(
        teachers
            .iter()
            .flat_map(|t| &t.items)
            .all(|i| routine::KINDS.contains(&i.kind.as_str())),
        "only plans and what is taught with them"
    );
    assert!(teachers.iter().all(|t| !t.subjects.is_empty()));
    // Last year's week is empty.
    let old = routine::week(&a, school, week - chrono::Duration::days(364))
        .await
        .unwrap();
    assert!(old.iter().all(|t| t.items.is_empty()));
    // A comment reaches the teacher.
    routine::comment(
        &a,
        school,
        teacher.person_id,
        week,
        "教学目标清楚，建议补充板书设计。",
    )
    .await
    .unwrap();
    assert_eq!(
        h.notifications(teacher.person_id)
            .await
            .first()
            .map(String::as_str),
        Some("notice.routine_comment")
    );
    let again = routine::week(&a, school, week).await.unwrap();
    assert_eq!(
        again
            .iter()
            .find(|t| t.teacher_id == teacher.person_id)
            .unwrap()
            .comments
            .len(),
        1
    );
    assert_eq!(
        fields(
            routine::comment(&a, school, teacher.person_id, week, " ")
                .await
                .unwrap_err()
        )[0]
        .0,
        "body"
    );
    // Nobody but the school's administrators.
    assert!(matches!(
        routine::week(&h.cx(&teacher), school, week).await,
        Err(AppError::NotFound(_))
    ));
    let other = h.actor("school2_admin").await;
    assert!(matches!(
        routine::week(&h.cx(&other), school, week).await,
        Err(AppError::NotFound(_))
    ));
    let outsider = h.actor("s1t002").await;
    assert!(
        routine::comment(&a, school, outsider.person_id, week, "x")
            .await
            .is_err(),
        "a teacher of another school"
    );
}

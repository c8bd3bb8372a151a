//! Leave requests: only for one's own child, checked field by field, no overlap; the head
//! teacher decides once; the guardian and the class's teachers are told; facts recorded.

use crate::helpers::{Home, fields};
use kernel::AppError;
use spaces::leave::{self, NewLeave};

async fn child(h: &Home) -> kernel::PersonId {
    let g = h.actor("guardian").await;
    spaces::scope::children(&h.cx(&g)).await.unwrap()[0].student_id
}

fn request(student: kernel::PersonId, day: chrono::NaiveDate) -> NewLeave {
    NewLeave {
        student_id: student,
        starts_on: day,
        starts_half: "am".into(),
        ends_on: day + chrono::Duration::days(1),
        ends_half: "am".into(),
        reason: "illness".into(),
        symptoms: vec!["fever".into(), "cough".into()],
        note: String::new(),
    }
}

#[tokio::test]
async fn a_guardian_asks_the_head_teacher_approves_and_the_teachers_are_told() {
    let h = Home::start().await;
    let guardian = h.actor("guardian").await;
    let g = h.cx(&guardian);
    let student = child(&h).await;
    let id = leave::request(&g, request(student, g.today()))
        .await
        .unwrap();
    let teacher = h.actor("teacher").await;
    assert_eq!(
        h.notifications(teacher.person_id).await,
        ["notice.leave_requested"],
        "the head teacher is told"
    );
    let l = leave::get(&g, id).await.unwrap();
    assert_eq!(l.half_days(), 3, "a whole day and a morning");
    assert_eq!(l.symptom_list(), ["cough", "fever"]);
    // The guardian cannot decide; another school's administrator cannot even see it.
    assert!(matches!(
        leave::decide(&g, id, true, "").await,
        Err(AppError::Forbidden)
    ));
    let other = h.actor("school2_admin").await;
    assert!(matches!(
        leave::get(&h.cx(&other), id).await,
        Err(AppError::NotFound(_))
    ));
    // The head teacher sees it first in the list and approves.
    let t = h.cx(&teacher);
    assert_eq!(leave::mine(&t, 10).await.unwrap()[0].id, id);
    leave::decide(&t, id, true, "好好休息").await.unwrap();
    assert!(matches!(
        leave::decide(&t, id, false, "").await,
        Err(AppError::Conflict("spaces.leave_decided", _))
    ));
    assert_eq!(
        h.notifications(guardian.person_id).await,
        ["notice.leave_approved"]
    );
    let class = h.teacher_class().await;
    let maths = spaces::scope::teachers(&h.state.db, class)
        .await
        .unwrap()
        .into_iter()
        .find(|p| *p != teacher.person_id)
        .unwrap();
    assert_eq!(h.notifications(maths).await, ["notice.leave_for_teachers"]);
    assert_eq!(h.facts("leave.requested").await, 1);
    assert_eq!(h.facts("leave.approved").await, 1);
    // Overlapping days are refused.
    let e = leave::request(&g, request(student, g.today()))
        .await
        .unwrap_err();
    assert_eq!(
        fields(e),
        [("starts_on".to_owned(), "leave.error.overlaps".to_owned())]
    );
}

#[tokio::test]
async fn leave_requests_and_decisions_reach_people_outside_the_platform_too() {
    let h = Home::start_with(|c| {
        c.notify.wecom = Some(kernel::config::WeComConfig {
            corp_id: "wwcorp".into(),
            secret: kernel::secret::Secret::new("s"),
            agent_id: 1,
            api: "http://127.0.0.1:9".into(),
        });
    })
    .await;
    let guardian = h.actor("guardian").await;
    let teacher = h.actor("teacher").await;
    for (a, id) in [(&guardian, "parent01"), (&teacher, "teacher01")] {
        kernel::outbox::add_address(&h.cx(a), kernel::outbox::Channel::Wecom, id)
            .await
            .unwrap();
    }
    // The guardian does not want leave news on WeCom... then changes their mind.
    let g = h.cx(&guardian);
    kernel::outbox::set_preference(&g, "leave", kernel::outbox::Channel::Wecom, false)
        .await
        .unwrap();
    let student = child(&h).await;
    let first = leave::request(&g, request(student, g.today()))
        .await
        .unwrap();
    leave::decide(&h.cx(&teacher), first, false, "请到校后补交病历")
        .await
        .unwrap();
    kernel::outbox::set_preference(&g, "leave", kernel::outbox::Channel::Wecom, true)
        .await
        .unwrap();
    let second = leave::request(&g, request(student, g.today() + chrono::Duration::days(3)))
        .await
        .unwrap();
    leave::decide(&h.cx(&teacher), second, true, "")
        .await
        .unwrap();
    let rows: Vec<(kernel::PersonId, String, String, String)> =
        kernel::on_db!(&h.state.db, p => sqlx::query_as(
        "SELECT person_id, kind, dedup_key, title FROM outbox ORDER BY created_at, dedup_key",
    ).fetch_all(p).await)
        .unwrap();
    let to_teacher: Vec<_> = rows.iter().filter(|r| r.0 == teacher.person_id).collect();
    assert_eq!(
        to_teacher.len(),
        2,
        "the head teacher hears of each request: {rows:?}"
    );
    assert!(
        to_teacher
            .iter()
            .all(|r| r.1 == "leave" && r.3.contains("请假"))
    );
    let to_guardian: Vec<_> = rows.iter().filter(|r| r.0 == guardian.person_id).collect();
    assert_eq!(
        to_guardian.len(),
        1,
        "only the decision after the guardian turned leave news back on: {rows:?}"
    );
    assert_eq!(to_guardian[0].2, format!("notice.leave_approved:{second}"));
    assert!(to_guardian[0].3.contains("批准"), "{rows:?}");
}

#[tokio::test]
async fn bad_requests_say_which_field_is_wrong_and_store_nothing() {
    let h = Home::start().await;
    let guardian = h.actor("guardian").await;
    let g = h.cx(&guardian);
    let student = child(&h).await;
    let today = g.today();
    let mut r = request(student, today);
    r.ends_on = today - chrono::Duration::days(1);
    r.symptoms.clear();
    let f = fields(leave::request(&g, r).await.unwrap_err());
    assert_eq!(
        f,
        [
            (
                "ends_on".to_owned(),
                "leave.error.ends_before_start".to_owned()
            ),
            (
                "symptoms".to_owned(),
                "leave.error.symptoms_required".to_owned()
            )
        ]
    );
    let mut r = request(student, today - chrono::Duration::days(30));
    r.reason = "personal".into();
    let f = fields(leave::request(&g, r).await.unwrap_err());
    assert_eq!(
        f[0],
        (
            "starts_on".to_owned(),
            "leave.error.too_far_back".to_owned()
        )
    );
    assert_eq!(
        f[1],
        ("note".to_owned(), "leave.error.note_required".to_owned())
    );
    // Someone else's child.
    let teacher = h.actor("teacher").await;
    let class = h.teacher_class().await;
    let other = spaces::scope::students(&h.state.db, class).await.unwrap()[1].0;
    assert_ne!(other, student);
    let f = fields(leave::request(&g, request(other, today)).await.unwrap_err());
    assert_eq!(f[0].0, "student_id");
    let f = fields(
        leave::request(&h.cx(&teacher), request(student, today))
            .await
            .unwrap_err(),
    );
    assert_eq!(f[0].0, "student_id");
    assert_eq!(h.count("SELECT COUNT(*) FROM leave_requests").await, 0);
}

#[tokio::test]
async fn a_guardian_withdraws_a_pending_request_and_nobody_else_can() {
    let h = Home::start().await;
    let guardian = h.actor("guardian").await;
    let g = h.cx(&guardian);
    let id = leave::request(
        &g,
        request(child(&h).await, g.today() + chrono::Duration::days(2)),
    )
    .await
    .unwrap();
    let teacher = h.actor("teacher").await;
    assert!(matches!(
        leave::cancel(&h.cx(&teacher), id).await,
        Err(AppError::Forbidden)
    ));
    leave::cancel(&g, id).await.unwrap();
    assert_eq!(leave::get(&g, id).await.unwrap().state, "cancelled");
    assert!(leave::decide(&h.cx(&teacher), id, true, "").await.is_err());
}

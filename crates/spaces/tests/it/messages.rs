//! Messages: who may write to whom (guardians never to each other), one conversation per
//! pair, unread counts, a message sent twice from an offline queue kept once, answered
//! messages counted, reported conversations reviewed by the school (audited).

use crate::helpers::{Home, fields};
use kernel::AppError;
use spaces::messages;

#[tokio::test]
async fn guardian_and_teacher_talk_in_one_conversation_with_unread_counts() {
    let h = Home::start().await;
    let guardian = h.actor("guardian").await;
    let teacher = h.actor("teacher").await;
    // A context per action, as a request has: each takes the time it runs at.
    let g = || h.cx(&guardian);
    let t = || h.cx(&teacher);
    let contacts = messages::contacts(&g()).await.unwrap();
    assert_eq!(
        contacts.len(),
        2,
        "the child's head teacher and maths teacher"
    );
    assert!(
        contacts
            .iter()
            .any(|c| c.person_id == teacher.person_id && c.relation == "head_teacher")
    );
    let id = messages::start(&g(), &[teacher.person_id], None)
        .await
        .unwrap();
    assert_eq!(
        messages::start(&t(), &[guardian.person_id], None)
            .await
            .unwrap(),
        id,
        "one conversation per pair, whoever starts it"
    );
    messages::post(&g(), id, "老师好", Some("k-1"))
        .await
        .unwrap();
    let again = messages::post(&g(), id, "老师好", Some("k-1"))
        .await
        .unwrap();
    assert_eq!(
        h.count("SELECT COUNT(*) FROM messages").await,
        1,
        "sent twice, kept once"
    );
    let _ = again;
    assert_eq!(
        messages::unread(&h.state.db, teacher.person_id)
            .await
            .unwrap(),
        1
    );
    let thread = messages::open(&t(), id).await.unwrap();
    assert_eq!(thread.messages.len(), 1);
    assert_eq!(
        messages::unread(&h.state.db, teacher.person_id)
            .await
            .unwrap(),
        0
    );
    messages::post(&t(), id, "您好", None).await.unwrap();
    assert_eq!(h.facts("message.answered").await, 1);
    assert_eq!(h.facts("message.sent").await, 2);
    let list = messages::list(&g(), 10).await.unwrap();
    assert_eq!(list[0].unread, 1);
    assert_eq!(list[0].last_body.as_deref(), Some("您好"));
    let e = messages::post(&g(), id, "  ", None).await.unwrap_err();
    assert_eq!(fields(e)[0].0, "body");
}

#[tokio::test]
async fn guardians_cannot_write_to_each_other_nor_students_to_each_other() {
    let h = Home::start().await;
    let guardian = h.actor("guardian").await;
    let g = h.cx(&guardian);
    let class = h.teacher_class().await;
    let students = spaces::scope::students(&h.state.db, class).await.unwrap();
    let me = h.person("student").await;
    let other_student = students.iter().map(|s| s.0).find(|s| *s != me).unwrap();
    let other_guardian = spaces::scope::guardians(&h.state.db, other_student)
        .await
        .unwrap()[0];
    let e = messages::start(&g, &[other_guardian], None)
        .await
        .unwrap_err();
    assert_eq!(fields(e)[0].1, "messages.error.not_a_contact");
    let student = h.actor("student").await;
    let e = messages::start(&h.cx(&student), &[other_student], None)
        .await
        .unwrap_err();
    assert_eq!(fields(e)[0].1, "messages.error.not_a_contact");
    // A guardian cannot start a group either, even with teachers.
    let teachers = spaces::scope::teachers(&h.state.db, class).await.unwrap();
    let e = messages::start(&g, &teachers, None).await.unwrap_err();
    assert_eq!(fields(e)[0].1, "messages.error.groups_for_staff");
    // The teacher can write to the class's families as a group.
    let teacher = h.actor("teacher").await;
    let families: Vec<_> = all_guardians(&h, &students).await;
    let id = messages::start(&h.cx(&teacher), &families, Some("一(1)班家长群"))
        .await
        .unwrap();
    assert_eq!(
        messages::open(&h.cx(&teacher), id)
            .await
            .unwrap()
            .members
            .len(),
        9
    );
    assert_eq!(h.count("SELECT COUNT(*) FROM conversations").await, 1);
}

async fn all_guardians(h: &Home, students: &[(kernel::PersonId, String)]) -> Vec<kernel::PersonId> {
    let mut out = Vec::new();
    for (s, _) in students {
        out.extend(spaces::scope::guardians(&h.state.db, *s).await.unwrap());
    }
    out
}

#[tokio::test]
async fn a_reported_conversation_is_reviewed_by_the_school_and_the_review_is_audited() {
    let h = Home::start().await;
    let guardian = h.actor("guardian").await;
    let teacher = h.actor("teacher").await;
    let g = h.cx(&guardian);
    let id = messages::start(&g, &[teacher.person_id], None)
        .await
        .unwrap();
    messages::post(&g, id, "请问……", None).await.unwrap();
    let admin = h.actor("school_admin").await;
    let a = h.cx(&admin);
    assert!(
        matches!(messages::open(&a, id).await, Err(AppError::NotFound(_))),
        "administrators do not read conversations that nobody reported"
    );
    messages::report(&g, id, "不当言论").await.unwrap();
    assert_eq!(messages::reported(&a).await.unwrap().len(), 1);
    let before = h
        .count("SELECT COUNT(*) FROM audit_log WHERE action = 'conversation.review'")
        .await;
    let thread = messages::open(&a, id).await.unwrap();
    assert!(!thread.member);
    assert_eq!(
        h.count("SELECT COUNT(*) FROM audit_log WHERE action = 'conversation.review'")
            .await,
        before + 1
    );
    assert!(
        matches!(
            messages::post(&a, id, "x", None).await,
            Err(AppError::NotFound(_))
        ),
        "a reviewer reads, never writes"
    );
    let other = h.actor("school2_admin").await;
    assert!(matches!(
        messages::open(&h.cx(&other), id).await,
        Err(AppError::NotFound(_))
    ));
}

#[tokio::test]
async fn a_schools_retention_removes_old_conversations_but_keeps_reported_and_recent_ones() {
    let h = Home::start().await;
    let guardian = h.actor("guardian").await;
    let g = h.cx(&guardian);
    let contacts = messages::contacts(&g).await.unwrap();
    let (head, maths) = (contacts[0].person_id, contacts[1].person_id);
    let old = messages::start(&g, &[head], None).await.unwrap();
    messages::post(&g, old, "去年的消息", None).await.unwrap();
    let reported = messages::start(&g, &[maths], None).await.unwrap();
    messages::post(&g, reported, "被举报的消息", None)
        .await
        .unwrap();
    messages::report(&g, reported, "内容不当").await.unwrap();
    // Both were last written to 100 days ago.
    let long_ago = g.now - chrono::Duration::days(100);
    kernel::on_db!(&h.state.db, p => sqlx::query("UPDATE conversations SET last_message_at = $1")
        .bind(long_ago).execute(p).await.map(|_| ()))
    .unwrap();
    let teacher = h.actor("teacher").await;
    let recent = messages::start(&h.cx(&teacher), &[maths], None)
        .await
        .unwrap();
    messages::post(&h.cx(&teacher), recent, "明天教研", None)
        .await
        .unwrap();
    // Only the school's administrators set it, within 30 days to 10 years.
    let school = h.actor("school_admin").await;
    let sa = h.cx(&school);
    let school_id = school.grants[0].node_id;
    assert!(matches!(
        messages::retention::set(&h.cx(&teacher), school_id, Some(90)).await,
        Err(AppError::NotFound(_))
    ));
    assert_eq!(
        fields(
            messages::retention::set(&sa, school_id, Some(7))
                .await
                .unwrap_err()
        ),
        [("days".to_owned(), "messages.error.retention".to_owned())]
    );
    // Nothing goes before a retention is set.
    assert_eq!(
        messages::retention::purge(&h.state, g.now).await.unwrap(),
        0
    );
    messages::retention::set(&sa, school_id, Some(90))
        .await
        .unwrap();
    assert_eq!(
        messages::retention::purge(&h.state, g.now).await.unwrap(),
        1
    );
    assert_eq!(h.count("SELECT COUNT(*) FROM conversations").await, 2);
    assert_eq!(
        h.count("SELECT COUNT(*) FROM messages WHERE body = '去年的消息'")
            .await,
        0
    );
    assert_eq!(
        h.count("SELECT COUNT(*) FROM messages WHERE body = '被举报的消息'")
            .await,
        1,
        "a reported conversation waits for its review"
    );
    assert_eq!(
        h.count("SELECT COUNT(*) FROM audit_log WHERE action = 'conversation.retention'")
            .await,
        1
    );
}

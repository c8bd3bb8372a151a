//! Notices: who may send to whom (a target beyond reach is refused by name), the runner's
//! expansion into recipients (guardians of a class, a school's staff, the sender left out, a
//! family once), read receipts and confirmations as facts counted once, replies, the read
//! list per class and the reminder to those who have not read.

use crate::helpers::{Home, fields};
use kernel::AppError;
use spaces::notices::{self, Audience, NewNotice, Target, deliver};

fn notice(targets: Vec<Target>) -> NewNotice {
    NewNotice {
        kind: "notice".into(),
        title: "运动会通知".into(),
        body: "本周五举行运动会。".into(),
        needs_confirm: true,
        reply_prompt: Some("参加人数".into()),
        targets,
    }
}

fn to(node: kernel::NodeId, audience: Audience) -> Target {
    Target {
        node_id: node,
        audience,
    }
}

#[tokio::test]
async fn a_class_notice_reaches_each_guardian_once_and_counts_reads_and_confirmations() {
    let h = Home::start().await;
    let teacher = h.actor("teacher").await;
    let class = h.teacher_class().await;
    let id = notices::send(
        &h.cx(&teacher),
        notice(vec![to(class, Audience::Guardians)]),
    )
    .await
    .unwrap();
    // Stored, not yet expanded: the request does not wait for the recipients.
    assert_eq!(
        h.count("SELECT COUNT(*) FROM notice_recipients").await,
        0,
        "recipients are the runner's work"
    );
    assert_eq!(deliver::deliver_queued(&h.state).await.unwrap(), 1);
    assert_eq!(
        deliver::deliver_queued(&h.state).await.unwrap(),
        0,
        "delivered once"
    );
    let opened = notices::open(&h.cx(&teacher), id).await.unwrap();
    let list = opened.receipts.expect("the sender sees the read list");
    assert_eq!(list.len(), 1, "one class");
    assert_eq!(list[0].recipients, 8, "the demo class's eight families");
    assert_eq!(list[0].read, 0);
    assert_eq!(list[0].waiting.len(), 8);
    assert!(
        list[0].waiting.iter().all(|w| w.student_name.is_some()),
        "each guardian is listed with the child"
    );

    // The guardian reads: one receipt, one fact, however often they open it.
    let guardian = h.actor("guardian").await;
    let g = h.cx(&guardian);
    let seen = notices::open(&g, id).await.unwrap();
    assert!(
        seen.receipts.is_none(),
        "a recipient does not see the read list"
    );
    assert!(seen.receipt.unwrap().read_at.is_some());
    notices::open(&g, id).await.unwrap();
    assert_eq!(h.facts("notice.read").await, 1);
    notices::confirm(&g, id).await.unwrap();
    notices::confirm(&g, id).await.unwrap();
    assert_eq!(h.facts("notice.confirmed").await, 1);
    assert_eq!(
        h.facts("notice.read").await,
        1,
        "confirming after reading is one reading"
    );
    notices::reply(&g, id, "2人").await.unwrap();
    let e = notices::reply(&g, id, "   ").await.unwrap_err();
    assert_eq!(fields(e)[0].0, "reply");

    let list = notices::open(&h.cx(&teacher), id)
        .await
        .unwrap()
        .receipts
        .unwrap();
    assert_eq!((list[0].read, list[0].confirmed), (1, 1));
    assert_eq!(list[0].waiting.len(), 7);
    assert_eq!(list[0].replies.len(), 1);
    assert!(
        list[0].replies[0].who.contains('（'),
        "the answer names the child"
    );
    assert_eq!(list[0].replies[0].text, "2人");
}

#[tokio::test]
async fn reminders_go_to_those_who_have_not_confirmed_and_not_twice_in_half_an_hour() {
    let h = Home::start().await;
    let teacher = h.actor("teacher").await;
    let class = h.teacher_class().await;
    let t = h.cx(&teacher);
    let id = notices::send(&t, notice(vec![to(class, Audience::Guardians)]))
        .await
        .unwrap();
    deliver::deliver_queued(&h.state).await.unwrap();
    let guardian = h.actor("guardian").await;
    notices::confirm(&h.cx(&guardian), id).await.unwrap();
    assert_eq!(
        h.facts("notice.read").await,
        1,
        "confirming without opening first counts as reading"
    );
    assert_eq!(notices::read::remind(&t, id).await.unwrap(), 7);
    assert!(
        h.notifications(guardian.person_id).await.is_empty(),
        "the guardian who confirmed is not reminded"
    );
    assert!(
        matches!(
            notices::read::remind(&t, id).await,
            Err(AppError::Conflict("spaces.reminded_recently", _))
        ),
        "a second reminder at once is refused"
    );
    // Nobody else may remind, nor open the notice.
    let other = h.actor("school2_admin").await;
    assert!(matches!(
        notices::read::remind(&h.cx(&other), id).await,
        Err(AppError::NotFound(_))
    ));
    let student = h.actor("student").await;
    assert!(matches!(
        notices::open(&h.cx(&student), id).await,
        Err(AppError::NotFound(_))
    ));
    // The school's administrator sees the read list of a notice sent in the school.
    let admin = h.actor("school_admin").await;
    assert!(
        notices::open(&h.cx(&admin), id)
            .await
            .unwrap()
            .receipts
            .is_some()
    );
}

#[tokio::test]
async fn a_target_beyond_the_senders_reach_is_refused_by_name_and_nothing_is_stored() {
    let h = Home::start().await;
    let teacher = h.actor("teacher").await;
    let class = h.teacher_class().await;
    let admin = h.actor("school_admin").await;
    let school = admin.admin_nodes()[0];
    let other_school = h.actor("school2_admin").await.admin_nodes()[0];
    // A teacher addresses their class's families, not the school, not its staff.
    let e = notices::send(
        &h.cx(&teacher),
        notice(vec![
            to(class, Audience::Guardians),
            to(school, Audience::Guardians),
        ]),
    )
    .await
    .unwrap_err();
    let f = fields(e);
    assert!(
        f.iter()
            .any(|(k, v)| k == "targets" && v == "notices.error.out_of_reach")
    );
    let refused = &f.iter().find(|(k, _)| k == "targets.refused").unwrap().1;
    assert!(
        refused.contains("上城区实验小学"),
        "names the school: {refused}"
    );
    let e = notices::send(&h.cx(&teacher), notice(vec![to(class, Audience::Staff)]))
        .await
        .unwrap_err();
    assert!(fields(e).iter().any(|(k, _)| k == "targets"));
    // A school administrator cannot reach another school.
    let e = notices::send(
        &h.cx(&admin),
        notice(vec![to(other_school, Audience::Guardians)]),
    )
    .await
    .unwrap_err();
    assert!(fields(e).iter().any(|(k, _)| k == "targets.refused"));
    assert_eq!(h.count("SELECT COUNT(*) FROM notices").await, 0);
    // Form errors name their fields.
    let mut bad = notice(vec![]);
    bad.title = " ".into();
    bad.body = String::new();
    let f = fields(notices::send(&h.cx(&teacher), bad).await.unwrap_err());
    let names: Vec<&str> = f.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names, ["title", "body", "targets"]);
}

#[tokio::test]
async fn a_school_notice_to_staff_and_families_reaches_everyone_but_the_sender() {
    let h = Home::start().await;
    let admin = h.actor("school_admin").await;
    let school = admin.admin_nodes()[0];
    let a = h.cx(&admin);
    let id = notices::send(
        &a,
        notice(vec![
            to(school, Audience::Staff),
            to(school, Audience::Guardians),
            to(school, Audience::Students),
        ]),
    )
    .await
    .unwrap();
    deliver::deliver_queued(&h.state).await.unwrap();
    let sent = notices::open(&a, id).await.unwrap();
    // The demo primary school: 4 classes × (2 teachers + 8 students + 8 guardians) + its admin.
    assert_eq!(sent.notice.recipients, 4 * 18, "the sender is left out");
    let list = sent.receipts.unwrap();
    assert_eq!(list.len(), 5, "four classes and the staff");
    assert!(list.last().unwrap().class_id.is_none(), "staff last");
    assert_eq!(list.last().unwrap().recipients, 8);
    // A teacher of the school finds it in the inbox, unread.
    let teacher = h.actor("teacher").await;
    let inbox = notices::inbox(&h.cx(&teacher), 10).await.unwrap();
    assert_eq!(inbox.unread, 1);
    assert_eq!(inbox.received[0].id, id);
    assert_eq!(h.facts("notice.sent").await, 1);
}

//! Attendance: approved leave fills itself in, guardians of an unexplained absence are told
//! once, the illness alert goes to the school once per class and day, only the class's
//! teachers take it, figures per class for the school.

use crate::helpers::{Home, fields};
use kernel::AppError;
use spaces::attendance;
use spaces::leave::{self, NewLeave};

#[tokio::test]
async fn leave_is_filled_in_absences_tell_the_guardians_and_illness_alerts_the_school() {
    let h = Home::start().await;
    let teacher = h.actor("teacher").await;
    let t = h.cx(&teacher);
    let class = h.teacher_class().await;
    let today = t.today();
    let students = spaces::scope::students(&h.state.db, class).await.unwrap();
    assert_eq!(students.len(), 8);
    // Two children are off ill with approved leave.
    let mut sick = Vec::new();
    for (s, _) in students.iter().take(2) {
        let g = spaces::scope::guardians(&h.state.db, *s).await.unwrap()[0];
        let guardian = h.actor_of(g).await;
        let id = leave::request(
            &h.cx(&guardian),
            NewLeave {
                student_id: *s,
                starts_on: today,
                starts_half: "am".into(),
                ends_on: today,
                ends_half: "pm".into(),
                reason: "illness".into(),
                symptoms: vec!["fever".into()],
                note: String::new(),
            },
        )
        .await
        .unwrap();
        leave::decide(&t, id, true, "").await.unwrap();
        sick.push(*s);
    }
    let sheet = attendance::sheet(&t, class, today).await.unwrap();
    assert!(!sheet.taken);
    assert_eq!(
        sheet
            .lines
            .iter()
            .filter(|l| l.leave.as_deref() == Some("sick_leave"))
            .count(),
        2,
        "approved leave is shown before anything is marked"
    );
    // The teacher taps one absent child (and nothing for the two on leave).
    let absent = students[5].0;
    let done = attendance::take(&t, class, today, &[(absent, "absent".into())])
        .await
        .unwrap();
    assert_eq!(done.absent, 3, "two on leave and one absent");
    assert_eq!(done.guardians_told, 1);
    assert!(done.class_alert, "2 of 8 ill is over the share");
    let g = spaces::scope::guardians(&h.state.db, absent).await.unwrap()[0];
    assert_eq!(h.notifications(g).await, ["notice.absence_unexplained"]);
    let admin = h.actor("school_admin").await;
    assert_eq!(
        h.notifications(admin.person_id).await,
        ["notice.illness_alert"]
    );
    // Saving again (a correction) neither tells the guardian twice nor alerts twice.
    let again = attendance::take(&t, class, today, &[(absent, "absent".into())])
        .await
        .unwrap();
    assert_eq!(again.guardians_told, 0);
    assert!(!again.class_alert);
    assert_eq!(h.notifications(admin.person_id).await.len(), 1);
    assert_eq!(h.facts("attendance.illness_alert.class").await, 1);
    // The school's figures.
    let stats = attendance::stats(&h.cx(&admin), admin.admin_nodes()[0], today)
        .await
        .unwrap();
    assert_eq!(stats.classes.len(), 1);
    assert_eq!(stats.classes[0].0.sick_leave, 2);
    assert_eq!(stats.classes[0].0.absent, 1);
    assert_eq!(stats.not_taken, 3);
}

#[tokio::test]
async fn only_the_classs_teachers_take_attendance_and_only_for_recent_days() {
    let h = Home::start().await;
    let class = h.teacher_class().await;
    let guardian = h.actor("guardian").await;
    let g = h.cx(&guardian);
    let today = g.today();
    assert!(matches!(
        attendance::take(&g, class, today, &[]).await,
        Err(AppError::NotFound(_))
    ));
    let other = h.actor("school2_admin").await;
    assert!(matches!(
        attendance::sheet(&h.cx(&other), class, today).await,
        Err(AppError::NotFound(_))
    ));
    let teacher = h.actor("teacher").await;
    let t = h.cx(&teacher);
    let f = fields(
        attendance::take(&t, class, today + chrono::Duration::days(1), &[])
            .await
            .unwrap_err(),
    );
    assert_eq!(f[0].0, "day");
    let stranger = h.actor("student").await.person_id;
    let f = fields(
        attendance::take(&t, class, today, &[(stranger, "gone".into())])
            .await
            .unwrap_err(),
    );
    assert!(f.iter().any(|(_, v)| v == "attendance.error.status"));
    assert_eq!(h.count("SELECT COUNT(*) FROM attendance_days").await, 0);
}

//! Themed activities: organised where one administers or heads a class, checked field by
//! field; one work per child (or student, or teacher) while open; a child's work shown beyond
//! their class only as far as a guardian allows; held works kept from others; judging, results and the authors told; facts.

use crate::helpers::{Home, fields};
use kernel::AppError;
use spaces::activities::{self, NewActivity, NewWork};

fn activity(node: kernel::NodeId, participants: &str, today: chrono::NaiveDate) -> NewActivity {
    NewActivity {
        node_id: node.to_string(),
        title: "我和爸爸妈妈读一本书".into(),
        theme: "family".into(),
        description: "亲子共读一本书，写下读后感。\n评选办法：内容 60 分，表达 40 分。".into(),
        starts_on: today.to_string(),
        ends_on: (today + chrono::Duration::days(20)).to_string(),
        participants: participants.into(),
    }
}

fn work(title: &str, body: &str) -> NewWork {
    NewWork {
        title: title.into(),
        body: body.into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn a_class_activity_takes_one_work_per_child_and_the_head_teacher_judges_and_publishes() {
    let h = Home::start().await;
    let teacher = h.actor("teacher").await;
    let t = h.cx(&teacher);
    let class = h.teacher_class().await;
    let today = t.today();
    // Bad input: every field named, nothing stored.
    let other_school = h.actor("school2_admin").await.grants[0].node_id;
    let bad = NewActivity {
        node_id: other_school.to_string(),
        title: " ".into(),
        theme: "chess".into(),
        starts_on: today.to_string(),
        ends_on: (today - chrono::Duration::days(1)).to_string(),
        participants: "everyone".into(),
        description: String::new(),
    };
    let mut e = fields(activities::create(&t, &bad).await.unwrap_err());
    e.sort();
    assert_eq!(
        e,
        [
            (
                "description".to_owned(),
                "activities.error.description".to_owned()
            ),
            (
                "ends_on".to_owned(),
                "activities.error.ends_before".to_owned()
            ),
            (
                "node_id".to_owned(),
                "activities.error.organiser".to_owned()
            ),
            (
                "participants".to_owned(),
                "activities.error.participants".to_owned()
            ),
            ("theme".to_owned(), "activities.error.theme".to_owned()),
            ("title".to_owned(), "activities.error.title".to_owned()),
        ]
    );
    assert_eq!(h.count("SELECT COUNT(*) FROM theme_activities").await, 0);
    let id = activities::create(&t, &activity(class, "families", today))
        .await
        .unwrap();
    let a = activities::get(&t, id).await.unwrap();
    assert_eq!(
        (a.state.as_str(), a.participants.as_str()),
        ("open", "families")
    );
    // Another school's administrator does not see it.
    let other = h.actor("school2_admin").await;
    assert!(matches!(
        activities::get(&h.cx(&other), id).await,
        Err(AppError::NotFound(_))
    ));
    // The guardian posts for their child, once; the student cannot (families post).
    let guardian = h.actor("guardian").await;
    let g = h.cx(&guardian);
    let e = activities::submit(&g, id, &work("", "x"))
        .await
        .unwrap_err();
    assert_eq!(
        fields(e),
        [("title".to_owned(), "activities.error.title".to_owned())]
    );
    activities::submit(
        &g,
        id,
        &work("《小王子》读后感", "我们一起读了《小王子》。"),
    )
    .await
    .unwrap();
    assert!(matches!(
        activities::submit(&g, id, &work("再来一篇", "……")).await,
        Err(AppError::Conflict("spaces.work_exists", _))
    ));
    let student = h.actor("student").await;
    assert!(matches!(
        activities::submit(&h.cx(&student), id, &work("我的", "……")).await,
        Err(AppError::Forbidden)
    ));
    // Only the organiser judges; a score out of range is named.
    let works = activities::works(&t, &a).await.unwrap();
    assert_eq!(works.len(), 1);
    let w = works[0].id;
    assert!(matches!(
        activities::judge(&g, w, true, "first", "90").await,
        Err(AppError::Forbidden)
    ));
    assert_eq!(
        fields(
            activities::judge(&t, w, true, "first", "101")
                .await
                .unwrap_err()
        ),
        [("score".to_owned(), "activities.error.score".to_owned())]
    );
    activities::judge(&t, w, true, "first", "95").await.unwrap();
    activities::publish(&t, id).await.unwrap();
    assert_eq!(
        h.notifications(guardian.person_id).await,
        ["notice.activity_award"]
    );
    assert!(matches!(
        activities::submit(&g, id, &work("晚了", "……")).await,
        Err(AppError::Conflict("spaces.activity_closed", _))
    ));
    let seen = activities::works(&g, &activities::get(&g, id).await.unwrap())
        .await
        .unwrap();
    assert_eq!(
        (seen[0].featured, seen[0].award.as_deref(), seen[0].score),
        (true, Some("first"), Some(95))
    );
    assert_eq!(h.facts("activity.created").await, 1);
    assert_eq!(h.facts("activity.work").await, 1);
    // The school counts it for the term.
    let admin = h.actor("school_admin").await;
    let school = admin.grants[0].node_id;
    let per = activities::per_school(&h.state.db, school, a.school_year, a.term)
        .await
        .unwrap();
    assert_eq!(per.len(), 1);
    assert_eq!((per[0].2, per[0].3), (1, 1));
}

#[tokio::test]
async fn a_district_activity_shows_a_childs_work_as_far_as_a_guardian_allows_and_holds_listed_words()
 {
    let h = Home::start().await;
    let district_admin = h.actor("district_admin").await;
    let d = h.cx(&district_admin);
    let district = district_admin.grants[0].node_id;
    spaces::safety::add_words(&d, district, "打架", "hold")
        .await
        .unwrap();
    let id = activities::create(&d, &activity(district, "students", d.today()))
        .await
        .unwrap();
    let student = h.actor("student").await;
    let s = h.cx(&student);
    assert!(
        activities::list(&s, 10)
            .await
            .unwrap()
            .iter()
            .any(|a| a.id == id),
        "the district's activity is listed for its students"
    );
    activities::submit(&s, id, &work("安全小卫士", "下课不在走廊打架。"))
        .await
        .unwrap();
    let a = activities::get(&d, id).await.unwrap();
    let held = &activities::works(&d, &a).await.unwrap()[0];
    assert_eq!(held.state, "held", "the listed word holds it");
    // Held: the author and the organiser see it, the school's administrator not yet.
    let school_admin = h.actor("school_admin").await;
    let sa = h.cx(&school_admin);
    assert_eq!(activities::works(&s, &a).await.unwrap().len(), 1);
    assert!(activities::works(&sa, &a).await.unwrap().is_empty());
    activities::judge(&d, held.id, false, "", "").await.unwrap();
    assert_eq!(activities::works(&sa, &a).await.unwrap().len(), 1);
    // Another school of the district sees the activity but not the child's work.
    let other = h.actor("school2_admin").await;
    let o = h.cx(&other);
    let seen = activities::get(&o, id).await.unwrap();
    assert!(activities::works(&o, &seen).await.unwrap().is_empty());
    assert_eq!(activities::works(&d, &a).await.unwrap().len(), 1);
    // Once the child's guardian allows the region, the district sees it.
    let guardian = h.actor("guardian").await;
    spaces::photos::set_consent(&h.cx(&guardian), student.person_id, "region")
        .await
        .unwrap();
    assert_eq!(activities::works(&o, &seen).await.unwrap().len(), 1);
}

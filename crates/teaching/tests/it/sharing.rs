//! Items shared through the library's review (school → district): another school's teacher
//! neither sees nor uses an item until its resource reaches them; then it is in their shared
//! items, set in their work and in their students' practice; an edit takes it out of sharing
//! until it is shared and reviewed again.

use crate::helpers::Teach;
use chrono::Duration;
use kernel::{AppError, NodeId, PersonId, on_db};
use resources::library::review::{self, ReviewInput};
use teaching::assignments::set::{self, Draft};
use teaching::items::bank::{self, Filter, Place};
use teaching::items::share;

fn input(r: &resources::model::ResourceRow) -> ReviewInput {
    ReviewInput {
        version: r.version,
        comment: "题目规范，可以推荐。".into(),
        score: Some(4),
    }
}

/// Whether the actor opens the item, and finds it among the shared items.
async fn sees(cx: &kernel::Ctx<'_>, id: bank::ItemId) -> (bool, bool) {
    let filter = Filter {
        subject: "13".into(),
        ..Default::default()
    };
    (
        bank::get(cx, id).await.is_ok(),
        bank::list_shared(cx, &filter)
            .await
            .unwrap()
            .iter()
            .any(|i| i.id == id),
    )
}

#[tokio::test]
async fn a_shared_item_reaches_another_school_only_through_review() {
    let t = Teach::start().await;
    teaching::knowledge::import::demo(&t.state).await.unwrap();
    let teacher = t.actor("teacher").await;
    let tcx = t.cx(&teacher);
    let class = t.teacher_class().await;
    // A Chinese teacher of another school in the same district, with their class.
    let (other_id, other_class): (PersonId, NodeId) = on_db!(&t.state.db, p => sqlx::query_as(
        "SELECT r.person_id, r.node_id FROM role_assignments r
         JOIN org_nodes c ON c.id = r.node_id
         JOIN org_nodes mine ON mine.id = $1
         JOIN org_closure d ON d.descendant_id = c.id
         JOIN org_nodes dn ON dn.id = d.ancestor_id AND dn.kind = 'district'
         JOIN org_closure d2 ON d2.ancestor_id = dn.id AND d2.descendant_id = mine.id
         WHERE r.role = 'teacher' AND r.subject = '13' AND c.school_id <> mine.school_id
         ORDER BY c.name LIMIT 1",
    ).bind(class).fetch_one(p).await)
    .expect("another school's Chinese teacher in the district");
    let other = t.actor_of(other_id).await;
    let ocx = t.cx(&other);

    // The teacher's item on a chapter and a knowledge point.
    let progress = resources::catalog::progress::of_class(&t.state.db, class, "13", tcx.today())
        .await
        .unwrap()
        .unwrap();
    let mut points = Vec::new();
    for r in resources::catalog::tree::regions_for(&t.state.db, &teacher)
        .await
        .unwrap()
    {
        points.extend(
            teaching::knowledge::tree(&t.state.db, r, "primary", "13", false)
                .await
                .unwrap(),
        );
    }
    let point = points.iter().find(|p| p.name == "声调").unwrap().id;
    let d = teaching::items::form::Draft {
        kind: "single".into(),
        stem: "“妈”字是第几声？".into(),
        choices: "第一声\n第二声\n第三声\n第四声".into(),
        answer: "A".into(),
        points: "2".into(),
        difficulty: "2".into(),
        ..Default::default()
    };
    let no_chapter = bank::create(
        &tcx,
        &d,
        &Place {
            stage: "primary".into(),
            subject: "13".into(),
            catalog_id: None,
            points: vec![point],
        },
    )
    .await
    .unwrap();
    // Without a chapter it cannot go to the library.
    assert!(matches!(
        share::share(&tcx, no_chapter).await,
        Err(AppError::Invalid(_))
    ));
    let id = bank::create(
        &tcx,
        &d,
        &Place {
            stage: "primary".into(),
            subject: "13".into(),
            catalog_id: Some(progress.current),
            points: vec![point],
        },
    )
    .await
    .unwrap();
    assert_eq!(
        sees(&ocx, id).await,
        (false, false),
        "private: only its school"
    );

    // Shared: waits at the school; the school approves (school scope), then recommends; the
    // district approves.
    let r = share::share(&tcx, id).await.unwrap();
    assert_eq!(r.kind, "exercise");
    assert!(r.pending().is_some());
    assert!(matches!(
        share::share(&tcx, id).await,
        Err(AppError::Conflict("teaching.item_shared", _))
    ));
    assert_eq!(
        sees(&ocx, id).await,
        (false, false),
        "waiting at the school"
    );
    let sa = t.actor("school_admin").await;
    let r = review::approve(&t.cx(&sa), r.id, input(&r)).await.unwrap();
    assert_eq!(sees(&ocx, id).await, (false, false), "the school's only");
    let r = review::recommend(&t.cx(&sa), r.id, input(&r))
        .await
        .unwrap();
    let da = t.actor("district_admin").await;
    // The district's reviewer reads the item while it waits.
    assert!(bank::get(&t.cx(&da), id).await.is_ok());
    let r = review::approve(&t.cx(&da), r.id, input(&r)).await.unwrap();
    assert_eq!(sees(&ocx, id).await, (true, true), "shared to the district");

    // The other teacher sets it to their class; their students may practise it.
    let zone = t.state.config.time_zone;
    let work = Draft {
        kind: "homework".into(),
        subject: "13".into(),
        classes: vec![other_class],
        title: "共享题练习".into(),
        category: "homework".into(),
        opens_at: zone.input(ocx.now - Duration::minutes(5)),
        due_at: zone.input(ocx.now + Duration::days(1)),
        late_policy: "accept".into(),
        expected_minutes: "5".into(),
        items: vec![id],
        ..Draft::default()
    };
    set::create(&ocx, &work).await.unwrap();
    // Recommended on to the city and approved there: a student of a primary class of another
    // school in the city has the item (primary) in their practice pool.
    let r = resources::library::resource::find(&t.state.db, r.id)
        .await
        .unwrap()
        .unwrap();
    let r = review::recommend(&t.cx(&da), r.id, input(&r))
        .await
        .unwrap();
    let ca = t.actor("city_admin").await;
    review::approve(&t.cx(&ca), r.id, input(&r)).await.unwrap();
    let (student,): (PersonId,) = on_db!(&t.state.db, p => sqlx::query_as(
        "SELECT r.person_id FROM role_assignments r
         JOIN org_nodes c ON c.id = r.node_id
         JOIN org_nodes mine ON mine.id = $1
         JOIN org_closure d ON d.descendant_id = c.id
         JOIN org_nodes dn ON dn.id = d.ancestor_id AND dn.kind = 'city'
         JOIN org_closure d2 ON d2.ancestor_id = dn.id AND d2.descendant_id = mine.id
         WHERE r.role = 'student' AND c.school_id <> mine.school_id
           AND COALESCE(c.stages, (SELECT g.stages FROM org_nodes g WHERE g.id = c.parent_id)) LIKE '%primary%'
         ORDER BY c.name, r.person_id LIMIT 1",
    ).bind(class).fetch_one(p).await)
    .expect("a primary student of another school in the city");
    let place = teaching::practice::place_of(&t.state.db, student)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(place.stage, "primary", "{place:?}");
    assert!(
        teaching::practice::subjects(&t.state.db, &place)
            .await
            .unwrap()
            .contains(&"13".to_owned())
    );
    let weak = teaching::practice::weak_points(&t.state.db, student, &place, "13")
        .await
        .unwrap();
    assert!(weak.iter().any(|w| w.point_id == point));

    // The author changes it: out of sharing until shared and reviewed again.
    let item = bank::get(&tcx, id).await.unwrap();
    let mut changed = d.clone();
    changed.stem = "“妈”字的声调是第几声？".into();
    bank::update(
        &tcx,
        id,
        item.version,
        &changed,
        &Place {
            stage: "primary".into(),
            subject: "13".into(),
            catalog_id: Some(progress.current),
            points: vec![point],
        },
    )
    .await
    .unwrap();
    assert_eq!(
        sees(&ocx, id).await,
        (false, false),
        "changed since it was shared"
    );
    let again = share::share(&tcx, id).await.unwrap();
    assert_eq!(again.id, r.id, "a new version of the same resource");
    assert!(again.pending().is_some());
    assert_eq!(
        sees(&ocx, id).await,
        (false, false),
        "waiting for its review again"
    );
}

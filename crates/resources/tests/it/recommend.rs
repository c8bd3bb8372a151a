//! Recommendations: resources for the chapter a teacher's class reaches next, co-downloads,
//! and the click-through they are measured by.

use crate::helpers::Lib;
use bytes::Bytes;
use kernel::{Actor, CatalogId, NodeId, PersonId, actor::Via, on_db};
use resources::library::resource::{self, NewResource};
use resources::library::review::{self, ReviewInput};
use resources::model::ResourceRow;
use resources::recommend::{self, Reason};

/// The demo teacher's Chinese class.
fn chinese_class(teacher: &Actor) -> NodeId {
    teacher
        .grants
        .iter()
        .find(|g| g.subject.as_deref() == Some("13"))
        .map(|g| g.node_id)
        .expect("the demo teacher teaches Chinese")
}

/// Another teacher of the same school.
async fn colleague(lib: &Lib, of: &Actor) -> Actor {
    let (id,): (PersonId,) = on_db!(&lib.state.db, p => sqlx::query_as(
        "SELECT DISTINCT r.person_id FROM role_assignments r JOIN persons p ON p.id = r.person_id
         WHERE r.role = 'teacher' AND p.org_id = $1 AND r.person_id <> $2 ORDER BY r.person_id LIMIT 1",
    ).bind(of.org_id).bind(of.person_id).fetch_one(p).await)
    .unwrap();
    Actor::load(&lib.state.db, id, Via::Session)
        .await
        .unwrap()
        .unwrap()
}

/// A resource by `author` on `node`, shared at the school if `share`.
async fn resource_on(
    lib: &Lib,
    author: &Actor,
    node: CatalogId,
    title: &str,
    share: bool,
) -> ResourceRow {
    let cx = lib.cx(author);
    let body = format!("{title}：教学目标、教学过程与板书设计。");
    let (upload, _) = resources::files::upload::store_stream(
        &cx,
        "教案.txt",
        futures_util::stream::iter([Ok::<_, std::io::Error>(Bytes::from(body))]),
    )
    .await
    .unwrap();
    let r = resource::create(
        &cx,
        NewResource {
            title: title.into(),
            description: "课堂用".into(),
            kind: "lesson_plan".into(),
            catalog_ids: vec![node],
            upload_id: Some(upload),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    if !share {
        return r;
    }
    let r = review::submit(
        &cx,
        r.id,
        ReviewInput {
            version: r.version,
            comment: String::new(),
            score: None,
        },
    )
    .await
    .unwrap();
    let admin = lib.actor("school_admin").await;
    review::approve(
        &lib.cx(&admin),
        r.id,
        ReviewInput {
            version: r.version,
            comment: "好".into(),
            score: Some(4),
        },
    )
    .await
    .unwrap()
}

/// The units of the volume the class studies now, in order, with their first section.
async fn units(lib: &Lib, volume: CatalogId) -> Vec<(CatalogId, CatalogId)> {
    let units: Vec<(CatalogId,)> = on_db!(&lib.state.db, p => sqlx::query_as(
        "SELECT id FROM catalog_nodes WHERE parent_id = $1 AND kind = 'unit' AND active = TRUE ORDER BY position",
    ).bind(volume).fetch_all(p).await)
    .unwrap();
    let mut out = Vec::new();
    for (u,) in units {
        let (s,): (CatalogId,) = on_db!(&lib.state.db, p => sqlx::query_as(
            "SELECT id FROM catalog_nodes WHERE parent_id = $1 ORDER BY position LIMIT 1",
        ).bind(u).fetch_one(p).await)
        .unwrap();
        out.push((u, s));
    }
    out
}

#[tokio::test]
async fn a_teacher_is_recommended_what_their_class_reaches_next_and_why() {
    let lib = Lib::start().await;
    let teacher = lib.actor("teacher").await;
    let class = chinese_class(&teacher);
    let cx = lib.cx(&teacher);
    let estimate = resources::catalog::progress::of_class(cx.db(), class, "13", cx.today())
        .await
        .unwrap()
        .expect("the demo class has a Chinese volume this term");
    assert!(estimate.estimated);
    let units = units(&lib, estimate.volume).await;
    assert!(units.len() >= 4, "the demo volume has units");
    // The teacher says the class is on the second unit: it and the third come next.
    resources::catalog::progress::set(&cx, class, "13", Some(units[1].0))
        .await
        .unwrap();

    let other = colleague(&lib, &teacher).await;
    let next = resource_on(&lib, &other, units[1].1, "《第二单元》第一课教学设计", true).await;
    let private = resource_on(&lib, &other, units[2].1, "还没分享的教案", false).await;
    let later = resource_on(&lib, &other, units[3].1, "第四单元导学案", true).await;
    let own = resource_on(&lib, &teacher, units[1].1, "我自己的教案", true).await;

    let recs = recommend::for_teacher(&cx, 10).await.unwrap();
    let ids: Vec<_> = recs.iter().map(|r| r.id).collect();
    assert!(
        ids.contains(&next.id),
        "the shared resource on the next chapter: {recs:?}"
    );
    assert!(
        !ids.contains(&private.id),
        "private resources are never recommended"
    );
    assert!(!ids.contains(&later.id), "a chapter further on is not next");
    assert!(!ids.contains(&own.id), "not the teacher's own");
    let why = &recs.iter().find(|r| r.id == next.id).unwrap().why;
    match why {
        Reason::NextChapter {
            class_id,
            subject,
            estimated,
            chapter,
            ..
        } => {
            assert_eq!(*class_id, class);
            assert_eq!(subject, "13");
            assert!(!estimated, "the teacher set the progress");
            let (unit,): (String,) = on_db!(cx.db(), p => sqlx::query_as(
                "SELECT name FROM catalog_nodes WHERE id = $1").bind(units[1].0).fetch_one(p).await)
            .unwrap();
            assert_eq!(*chapter, unit);
        }
        other => panic!("wrong reason {other:?}"),
    }

    // Shown twice in a day counts once; a click is counted with its reason.
    recommend::record_shown(&cx, &recs).await.unwrap();
    recommend::record_shown(&cx, &recs).await.unwrap();
    recommend::record_click(&cx, next.id, "next_chapter")
        .await
        .unwrap();
    let since = cx.now - chrono::Duration::days(1);
    let ctr = recommend::click_through(cx.db(), teacher.org_id, since)
        .await
        .unwrap();
    let row = ctr
        .iter()
        .find(|c| c.reason == "next_chapter")
        .expect("next_chapter measured");
    assert_eq!(
        row.shown,
        recs.iter()
            .filter(|r| r.why.code() == "next_chapter")
            .count() as i64
    );
    assert_eq!(row.clicked, 1);
    assert!(row.rate.unwrap() > 0.0);
}

#[tokio::test]
async fn teachers_who_used_this_also_used() {
    let lib = Lib::start().await;
    let teacher = lib.actor("teacher").await;
    let other = colleague(&lib, &teacher).await;
    let volume_units: Vec<(CatalogId,)> = on_db!(&lib.state.db, p => sqlx::query_as(
        "SELECT id FROM catalog_nodes WHERE kind = 'section' ORDER BY path LIMIT 3",
    ).fetch_all(p).await)
    .unwrap();
    let a = resource_on(&lib, &other, volume_units[0].0, "识字教学课件", true).await;
    let b = resource_on(&lib, &other, volume_units[1].0, "识字练习题", true).await;
    let unseen = resource_on(&lib, &other, volume_units[2].0, "没人下载的素材", true).await;
    // A third teacher downloaded both a and b; the demo teacher downloaded a.
    let third = lib.actor("school_admin").await;
    for r in [&a, &b] {
        resources::library::signals::download(&lib.cx(&third), r)
            .await
            .unwrap();
    }
    let cx = lib.cx(&teacher);
    resources::library::signals::download(&cx, &a)
        .await
        .unwrap();

    let viewer = resources::access::Viewer::of(cx.db(), &teacher)
        .await
        .unwrap();
    let recs = recommend::co_downloads(&cx, &viewer, 10).await.unwrap();
    assert_eq!(recs.len(), 1, "{recs:?}");
    assert_eq!(recs[0].id, b.id);
    match &recs[0].why {
        Reason::CoDownload {
            because_id,
            teachers,
            ..
        } => {
            assert_eq!(*because_id, a.id);
            assert_eq!(*teachers, 1);
        }
        other => panic!("wrong reason {other:?}"),
    }
    assert!(!recs.iter().any(|r| r.id == unseen.id || r.id == a.id));
    // On a's page: who downloaded a also downloaded b.
    let also = recommend::also_used(cx.db(), &viewer, a.id, 5)
        .await
        .unwrap();
    assert_eq!(also.iter().map(|r| r.id).collect::<Vec<_>>(), vec![b.id]);
}

//! Textbook choices (the nearest wins) and class progress (estimated through the term until
//! the teacher says).

use super::{by_path, node_named};
use crate::helpers::Lib;
use chrono::NaiveDate;
use directory::model::Stage;
use kernel::{AppError, CatalogId, NodeId, on_db};
use resources::catalog::{self, choices, progress};

#[tokio::test]
async fn the_nearest_textbook_choice_wins() {
    let lib = Lib::start().await;
    let db = &lib.state.db;
    let city = node_named(&lib, "city", "杭州市").await;
    let shangcheng = node_named(&lib, "school", "上城区实验小学").await;
    let xihu = node_named(&lib, "school", "西湖区九年一贯制学校").await;
    let rj = by_path(&lib, city, "初中 / 数学 / 人教版").await;
    let bsd = by_path(&lib, city, "初中 / 数学 / 北师大版").await;
    let bsd_primary = by_path(&lib, city, "小学 / 数学 / 北师大版").await;
    let rj_primary = by_path(&lib, city, "小学 / 数学 / 人教版").await;
    // The demo: the city teaches 人教版 maths, 西湖区 北师大版 in junior school.
    assert_eq!(
        catalog::edition_for(db, xihu, Stage::Junior, "14")
            .await
            .unwrap(),
        Some(bsd.id)
    );
    assert_eq!(
        catalog::edition_for(db, xihu, Stage::Primary, "14")
            .await
            .unwrap(),
        Some(rj_primary.id)
    );
    assert_eq!(
        catalog::edition_for(db, shangcheng, Stage::Primary, "14")
            .await
            .unwrap(),
        Some(rj_primary.id)
    );
    assert_eq!(
        catalog::edition_for(db, shangcheng, Stage::Primary, "15")
            .await
            .unwrap(),
        None
    );
    // A school overrides for itself; a teacher may not; clearing goes back to the region's.
    let t = lib.actor("teacher").await;
    assert!(matches!(
        choices::set(
            &lib.cx(&t),
            shangcheng,
            Stage::Primary,
            "14",
            Some(bsd_primary.id)
        )
        .await,
        Err(AppError::Forbidden)
    ));
    let sa = lib.actor("school_admin").await;
    let cx = lib.cx(&sa);
    choices::set(&cx, shangcheng, Stage::Primary, "14", Some(bsd_primary.id))
        .await
        .unwrap();
    assert_eq!(
        catalog::edition_for(db, shangcheng, Stage::Primary, "14")
            .await
            .unwrap(),
        Some(bsd_primary.id)
    );
    let eff = choices::effective(db, shangcheng).await.unwrap();
    let maths = eff
        .iter()
        .find(|c| c.stage == "primary" && c.subject == "14")
        .unwrap();
    assert!(!maths.inherited && maths.edition_name == "北师大版");
    let chinese = eff
        .iter()
        .find(|c| c.stage == "primary" && c.subject == "13")
        .unwrap();
    assert!(chinese.inherited && chinese.set_at == city && chinese.edition_name == "统编版");
    // An edition of another stage or subject is refused; so is another school's choice.
    match choices::set(&cx, shangcheng, Stage::Primary, "14", Some(rj.id)).await {
        Err(AppError::Invalid(f)) => {
            assert_eq!(f.get("edition_id"), Some("error.catalog.edition_invalid"))
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        choices::set(&cx, xihu, Stage::Junior, "14", Some(rj.id)).await,
        Err(AppError::Forbidden)
    ));
    choices::set(&cx, shangcheng, Stage::Primary, "14", None)
        .await
        .unwrap();
    assert_eq!(
        catalog::edition_for(db, shangcheng, Stage::Primary, "14")
            .await
            .unwrap(),
        Some(rj_primary.id)
    );
    // The district administrator of 西湖区 goes back to the city's choice.
    let xa = lib.actor("xihu_admin").await;
    let district = node_named(&lib, "district", "西湖区").await;
    choices::set(&lib.cx(&xa), district, Stage::Junior, "14", None)
        .await
        .unwrap();
    assert_eq!(
        catalog::edition_for(db, xihu, Stage::Junior, "14")
            .await
            .unwrap(),
        Some(rj.id)
    );
}

/// The demo's first 七年级 class of 上城区第一中学, and the terms of the city.
async fn junior_class(lib: &Lib) -> NodeId {
    let (id,): (NodeId,) = on_db!(&lib.state.db, p => sqlx::query_as(
        "SELECT c.id FROM org_nodes c JOIN org_nodes g ON g.id = c.parent_id JOIN org_nodes s ON s.id = c.school_id
         WHERE s.name = '上城区第一中学' AND g.name = '七年级' AND c.name = '(1)班'",
    ).fetch_one(p).await).unwrap();
    id
}

async fn term_dates(lib: &Lib, class: NodeId, term: i64) -> (NaiveDate, NaiveDate) {
    let any_day = NaiveDate::from_ymd_opt(2000, 1, 1).unwrap();
    let school = progress::class_term(&lib.state.db, class, any_day)
        .await
        .unwrap()
        .unwrap()
        .school_id;
    let rows: Vec<(i64, NaiveDate, NaiveDate)> = on_db!(&lib.state.db, p => sqlx::query_as(
        "SELECT t.term, t.starts_on, t.ends_on FROM terms t JOIN org_closure c ON c.ancestor_id = t.region_id
         WHERE c.descendant_id = $1",
    ).bind(school).fetch_all(p).await).unwrap();
    let t = rows.into_iter().find(|r| r.0 == term).unwrap();
    (t.1, t.2)
}

#[tokio::test]
async fn progress_is_estimated_through_the_term_until_the_teacher_says() {
    let lib = Lib::start().await;
    let db = &lib.state.db;
    let city = node_named(&lib, "city", "杭州市").await;
    let class = junior_class(&lib).await;
    let (starts, ends) = term_dates(&lib, class, 1).await;
    let volume = by_path(&lib, city, "初中 / 数学 / 人教版 / 七年级上册").await;
    let units = catalog::units(db, volume.id).await.unwrap();
    assert_eq!(units.len(), 4);
    let on = |d: NaiveDate| progress::of_class(db, class, "14", d);
    let first = on(starts).await.unwrap().unwrap();
    assert_eq!(
        (first.volume, first.current, first.estimated),
        (volume.id, units[0].id, true)
    );
    assert_eq!(first.next, [units[0].id, units[1].id]);
    let days = (ends - starts).num_days();
    let late = on(starts + chrono::Duration::days(days * 7 / 8))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(late.current, units[3].id);
    assert_eq!(late.next, [units[3].id]);
    let mid = on(starts + chrono::Duration::days(days * 3 / 8))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(mid.current, units[1].id);
    // The spring term: the 下册 volume.
    let (spring, _) = term_dates(&lib, class, 2).await;
    let down = on(spring).await.unwrap().unwrap();
    assert_eq!(
        down.volume,
        by_path(&lib, city, "初中 / 数学 / 人教版 / 七年级下册")
            .await
            .id
    );
    // Chinese comes from 统编版; a subject nobody chose has no progress.
    let chinese = progress::of_class(db, class, "13", starts)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        chinese.volume,
        by_path(&lib, city, "初中 / 语文 / 统编版 / 七年级上册")
            .await
            .id
    );
    assert!(
        progress::of_class(db, class, "15", starts)
            .await
            .unwrap()
            .is_none()
    );

    // The teacher's setting wins over the estimate (for the term the clock is in).
    let (teacher,): (kernel::PersonId,) = on_db!(db, p => sqlx::query_as(
        "SELECT person_id FROM role_assignments WHERE node_id = $1 AND role = 'teacher' AND subject = '14'",
    ).bind(class).fetch_one(p).await).unwrap();
    let actor = kernel::Actor::load(db, teacher, kernel::actor::Via::Session)
        .await
        .unwrap()
        .unwrap();
    let mut cx = lib.cx(&actor);
    cx.now = (starts + chrono::Duration::days(3))
        .and_hms_opt(8, 0, 0)
        .unwrap()
        .and_utc();
    let today = cx.today();
    let outline = catalog::outline(db, volume.id).await.unwrap();
    let section = &outline[2].sections[1];
    let p = progress::set(&cx, class, "14", Some(section.id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((p.current, p.estimated), (section.id, false));
    let after: Vec<CatalogId> = [&outline[2].sections[1..], &outline[3].sections[..]]
        .concat()
        .iter()
        .take(3)
        .map(|s| s.id)
        .collect();
    assert_eq!(p.next, after);
    assert_eq!(
        progress::of_class(db, class, "14", today)
            .await
            .unwrap()
            .unwrap()
            .current,
        section.id
    );
    // Not a unit of this term's volume; not this teacher's subject; not a teacher of the class.
    let other = by_path(
        &lib,
        city,
        "初中 / 数学 / 人教版 / 八年级下册 / 第十七章 勾股定理",
    )
    .await;
    match progress::set(&cx, class, "14", Some(other.id)).await {
        Err(AppError::Invalid(f)) => {
            assert_eq!(f.get("catalog_id"), Some("error.catalog.not_in_volume"))
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        progress::set(&cx, class, "13", Some(section.id)).await,
        Err(AppError::Forbidden)
    ));
    let t = lib.actor("teacher").await;
    assert!(matches!(
        progress::set(&lib.cx(&t), class, "14", None).await,
        Err(AppError::Forbidden)
    ));
    // Clearing goes back to the estimate.
    let p = progress::set(&cx, class, "14", None)
        .await
        .unwrap()
        .unwrap();
    assert!(p.estimated && p.current == units[0].id);
    let taught = progress::taught_by(&cx).await.unwrap();
    assert_eq!(taught.len(), 1);
    assert_eq!(
        (
            taught[0].class_name.as_str(),
            taught[0].subject_name.as_str()
        ),
        ("七年级(1)班", "数学")
    );
}

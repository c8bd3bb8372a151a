//! The library's statistics, from resources, reviews and events written here with SQL: who may
//! see them, uploads per teacher against the target, shares by level, the review backlog,
//! usage per school, the target's inheritance and the below-target export.

use crate::helpers::Lib;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use kernel::{AppError, NodeId, PersonId, ResourceId, on_db};
use resources::stats;

async fn node_named(lib: &Lib, kind: &str, name: &str) -> NodeId {
    let (id,): (NodeId,) = on_db!(&lib.state.db, p => sqlx::query_as(
        "SELECT id FROM org_nodes WHERE kind = $1 AND name = $2",
    ).bind(kind).bind(name).fetch_one(p).await)
    .unwrap();
    id
}

/// The teachers of a school, by staff number.
async fn teachers_of(lib: &Lib, school: NodeId) -> Vec<(PersonId, String)> {
    on_db!(&lib.state.db, p => sqlx::query_as(
        "SELECT DISTINCT p.id, p.name, p.staff_no FROM persons p JOIN role_assignments r ON r.person_id = p.id
         WHERE p.org_id = $1 AND r.role = 'teacher' ORDER BY p.staff_no",
    ).bind(school).fetch_all(p).await)
    .unwrap()
    .into_iter()
    .map(|(id, name, _): (PersonId, String, Option<String>)| (id, name))
    .collect()
}

/// The demo city's first term (school year, start, end).
async fn first_term(lib: &Lib) -> (i64, NaiveDate, NaiveDate) {
    on_db!(&lib.state.db, p => sqlx::query_as(
        "SELECT school_year, starts_on, ends_on FROM terms WHERE term = 1 ORDER BY school_year DESC LIMIT 1",
    ).fetch_one(p).await).unwrap()
}

struct Res<'a> {
    org: NodeId,
    author: PersonId,
    title: &'a str,
    scope: &'a str,
    pending: Option<&'a str>,
    year: i64,
    term: i64,
    deleted: bool,
}

async fn insert(lib: &Lib, r: Res<'_>, at: DateTime<Utc>) -> ResourceId {
    let id = ResourceId::new();
    let deleted = r.deleted.then_some(at);
    on_db!(&lib.state.db, p => sqlx::query(
        "INSERT INTO resources (id, org_id, author_id, title, description, kind, tags, scope, pending_level, version,
         school_year, term, created_at, updated_at, deleted_at)
         VALUES ($1, $2, $3, $4, '', 'lesson_plan', '', $5, $6, 1, $7, $8, $9, $9, $10)",
    ).bind(id).bind(r.org).bind(r.author).bind(r.title).bind(r.scope).bind(r.pending).bind(r.year).bind(r.term)
    .bind(at).bind(deleted).execute(p).await.map(|x| x.rows_affected())).unwrap();
    id
}

async fn review(
    lib: &Lib,
    resource: ResourceId,
    level: &str,
    node: NodeId,
    actor: PersonId,
    at: DateTime<Utc>,
) {
    on_db!(&lib.state.db, p => sqlx::query(
        "INSERT INTO resource_reviews (id, resource_id, level, node_id, decision, actor_id, comment, version, created_at)
         VALUES ($1, $2, $3, $4, 'submitted', $5, '', 1, $6)",
    ).bind(uuid::Uuid::now_v7()).bind(resource).bind(level).bind(node).bind(actor).bind(at)
    .execute(p).await.map(|x| x.rows_affected())).unwrap();
}

async fn event(
    lib: &Lib,
    resource: ResourceId,
    person: PersonId,
    org: NodeId,
    kind: &str,
    at: DateTime<Utc>,
) {
    on_db!(&lib.state.db, p => sqlx::query(
        "INSERT INTO resource_events (resource_id, person_id, org_id, kind, at) VALUES ($1, $2, $3, $4, $5)",
    ).bind(resource).bind(person).bind(org).bind(kind).bind(at)
    .execute(p).await.map(|x| x.rows_affected())).unwrap();
}

#[tokio::test]
async fn only_a_nodes_administrators_see_its_statistics() {
    let lib = Lib::start().await;
    let school = node_named(&lib, "school", "上城区实验小学").await;
    let other = node_named(&lib, "school", "西湖区九年一贯制学校").await;
    let district = node_named(&lib, "district", "上城区").await;
    let xihu = node_named(&lib, "district", "西湖区").await;
    for who in ["teacher", "student"] {
        let a = lib.actor(who).await;
        assert!(
            matches!(
                stats::of_node(&lib.cx(&a), school, None).await,
                Err(AppError::Forbidden)
            ),
            "{who}"
        );
    }
    let sa = lib.actor("school_admin").await;
    assert!(stats::of_node(&lib.cx(&sa), school, None).await.is_ok());
    assert!(matches!(
        stats::of_node(&lib.cx(&sa), other, None).await,
        Err(AppError::Forbidden)
    ));
    assert!(matches!(
        stats::of_node(&lib.cx(&sa), district, None).await,
        Err(AppError::Forbidden)
    ));
    let da = lib.actor("district_admin").await;
    assert!(stats::of_node(&lib.cx(&da), school, None).await.is_ok());
    assert!(stats::of_node(&lib.cx(&da), district, None).await.is_ok());
    assert!(matches!(
        stats::of_node(&lib.cx(&da), xihu, None).await,
        Err(AppError::Forbidden)
    ));
    // A grade is no node statistics are kept for.
    let (grade,): (NodeId,) = on_db!(&lib.state.db, p => sqlx::query_as(
        "SELECT id FROM org_nodes WHERE kind = 'grade' AND school_id = $1 LIMIT 1",
    ).bind(school).fetch_one(p).await)
    .unwrap();
    assert!(matches!(
        stats::of_node(&lib.cx(&da), grade, None).await,
        Err(AppError::NotFound(_))
    ));
    let t = lib.actor("teacher").await;
    assert!(matches!(
        stats::set_target(&lib.cx(&t), district, Some(3)).await,
        Err(AppError::Forbidden)
    ));
}

#[tokio::test]
async fn the_numbers_come_from_the_rows() {
    let lib = Lib::start().await;
    let school = node_named(&lib, "school", "上城区实验小学").await;
    let middle = node_named(&lib, "school", "上城区第一中学").await;
    let district = node_named(&lib, "district", "上城区").await;
    let city = node_named(&lib, "city", "杭州市").await;
    let (year, starts, _) = first_term(&lib).await;
    let in_term = (starts + Duration::days(10))
        .and_hms_opt(2, 0, 0)
        .unwrap()
        .and_utc();
    let before = (starts - Duration::days(30))
        .and_hms_opt(2, 0, 0)
        .unwrap()
        .and_utc();
    let teachers = teachers_of(&lib, school).await;
    assert!(teachers.len() >= 4);
    let (a, b, c) = (teachers[0].0, teachers[1].0, teachers[2].0);
    // The demo library has resources of its own: the numbers below are what the rows written
    // here add to them.
    let da = lib.actor("district_admin").await;
    let cx = lib.cx(&da);
    let s0 = stats::of_node(&cx, school, Some((year, 1))).await.unwrap();
    let d0 = stats::of_node(&cx, district, Some((year, 1)))
        .await
        .unwrap();
    let mk = |author, title, scope, pending, term, deleted| Res {
        org: school,
        author,
        title,
        scope,
        pending,
        year,
        term,
        deleted,
    };
    for i in 0..3 {
        insert(
            &lib,
            mk(
                a,
                "a",
                if i == 0 { "school" } else { "private" },
                None,
                1,
                false,
            ),
            in_term,
        )
        .await;
    }
    insert(
        &lib,
        Res {
            year: year - 1,
            ..mk(a, "last year", "school", None, 2, false)
        },
        before,
    )
    .await;
    insert(&lib, mk(a, "deleted", "school", None, 1, true), in_term).await;
    let mut first = None;
    for i in 0..12 {
        let scope = if i < 2 { "district" } else { "school" };
        let id = insert(&lib, mk(b, "b", scope, None, 1, false), in_term).await;
        first.get_or_insert(id);
    }
    // Waiting: two at the school (one since long ago), one at the district.
    let p1 = insert(
        &lib,
        mk(
            c,
            "《分数的初步认识》教案",
            "private",
            Some("school"),
            1,
            false,
        ),
        in_term,
    )
    .await;
    let p2 = insert(
        &lib,
        mk(c, "newer", "private", Some("school"), 1, false),
        in_term,
    )
    .await;
    let p3 = insert(
        &lib,
        mk(c, "to the district", "school", Some("district"), 1, false),
        in_term,
    )
    .await;
    let long_ago = before - Duration::days(200);
    review(&lib, p1, "school", school, c, long_ago).await;
    review(&lib, p2, "school", school, c, in_term).await;
    review(&lib, p3, "district", district, c, in_term).await;
    // Usage: two views and a download by the middle school's staff of this school's resource;
    // one view before the term does not count.
    let viewer = teachers_of(&lib, middle).await[0].0;
    let r = first.unwrap();
    event(&lib, r, viewer, middle, "view", in_term).await;
    event(
        &lib,
        r,
        viewer,
        middle,
        "view",
        in_term + Duration::hours(1),
    )
    .await;
    event(&lib, r, viewer, middle, "download", in_term).await;
    event(&lib, r, viewer, middle, "view", before).await;
    event(&lib, r, a, school, "rec_shown", in_term).await;

    let s = stats::of_node(&cx, school, Some((year, 1))).await.unwrap();
    assert_eq!((s.term.school_year, s.term.term), (year, 1));
    let of = |st: &stats::NodeStats, p: PersonId| {
        st.teachers
            .iter()
            .find(|t| t.person_id == p)
            .unwrap()
            .uploads
    };
    let added = |p: PersonId| of(&s, p) - of(&s0, p);
    assert_eq!((added(a), added(b), added(c)), (3, 12, 3));
    assert_eq!(s.uploads - s0.uploads, 18);
    assert!(
        s.teachers.windows(2).all(|w| w[0].uploads >= w[1].uploads),
        "most uploads first"
    );
    assert_eq!(s.target.per_term, 10);
    assert!(s.target.set_at.is_none());
    assert_eq!(
        s.below_target,
        s.teachers.iter().filter(|t| t.uploads < 10).count() as i64
    );
    assert!(
        s.teachers
            .iter()
            .find(|t| t.person_id == b)
            .is_some_and(|t| !t.below_target())
    );
    let shares: Vec<i64> = s
        .shares
        .iter()
        .zip(&s0.shares)
        .map(|(x, y)| x.count - y.count)
        .collect();
    assert_eq!(
        s.shares
            .iter()
            .map(|c| c.scope.as_str())
            .collect::<Vec<_>>(),
        ["private", "school", "district", "city"]
    );
    assert_eq!(shares, [4, 13, 2, 0]);
    let waiting = |st: &stats::NodeStats, level: &str, node: NodeId| {
        st.backlog
            .iter()
            .find(|b| b.level == level && b.node_id == node)
            .map_or(0, |b| b.waiting)
    };
    assert_eq!(
        waiting(&s, "school", school) - waiting(&s0, "school", school),
        2
    );
    assert_eq!(
        waiting(&s, "district", district) - waiting(&s0, "district", district),
        1
    );
    let at_school = s
        .backlog
        .iter()
        .find(|b| b.level == "school" && b.node_id == school)
        .unwrap();
    assert_eq!(
        (at_school.oldest_id, at_school.oldest_since),
        (p1, long_ago)
    );
    assert_eq!(at_school.oldest_title, "《分数的初步认识》教案");
    assert_eq!(
        s.backlog
            .iter()
            .find(|b| b.level == "district")
            .unwrap()
            .node_name,
        "上城区"
    );
    assert_eq!(s.backlog[0].level, "school", "the school's level first");
    // Usage of the school's resources: the middle school's two views and one download in the
    // term (the view before it and a shown recommendation do not count).
    let used = |list: &[stats::Usage], org: NodeId| {
        list.iter()
            .find(|u| u.org_id == org)
            .map_or((0, 0), |u| (u.views, u.downloads))
    };
    let (v1, d1) = used(&s.usage_by_owners, school);
    let (v0, dl0) = used(&s0.usage_by_owners, school);
    assert_eq!((v1 - v0, d1 - dl0), (2, 1));
    assert_eq!(
        used(&s.usage_by_viewers, school),
        used(&s0.usage_by_viewers, school)
    );
    // The district sees the middle school's staff using it.
    let d = stats::of_node(&cx, district, Some((year, 1)))
        .await
        .unwrap();
    let (v1, d1) = used(&d.usage_by_viewers, middle);
    let (v0, dl0) = used(&d0.usage_by_viewers, middle);
    assert_eq!((v1 - v0, d1 - dl0), (2, 1));
    assert_eq!(d.uploads - d0.uploads, 18);
    // Another term has its own numbers.
    let spring = stats::of_node(&cx, school, Some((year, 2))).await.unwrap();
    assert_eq!(of(&spring, a), 0);
    assert!(matches!(
        stats::of_node(&cx, school, Some((1999, 1))).await,
        Err(AppError::Invalid(_))
    ));

    // The target: the district's own wins for its schools; the city's elsewhere.
    stats::set_target(&cx, district, Some(3)).await.unwrap();
    let ca = lib.actor("city_admin").await;
    stats::set_target(&lib.cx(&ca), city, Some(20))
        .await
        .unwrap();
    let s = stats::of_node(&cx, school, Some((year, 1))).await.unwrap();
    assert_eq!((s.target.per_term, s.target.set_at), (3, Some(district)));
    let below: Vec<PersonId> = s
        .teachers
        .iter()
        .filter(|t| t.below_target())
        .map(|t| t.person_id)
        .collect();
    assert!(!below.contains(&a) && !below.contains(&b) && !below.contains(&c));
    assert_eq!(
        s.below_target,
        s.teachers.iter().filter(|t| t.uploads < 3).count() as i64
    );
    let c_stats = stats::of_node(&lib.cx(&ca), city, Some((year, 1)))
        .await
        .unwrap();
    let xihu_teacher = c_stats
        .teachers
        .iter()
        .find(|t| t.school_name == "西湖区九年一贯制学校")
        .unwrap();
    assert_eq!(xihu_teacher.target, 20);
    assert_eq!(
        c_stats
            .teachers
            .iter()
            .find(|t| t.person_id == a)
            .unwrap()
            .target,
        3
    );
    // Bad targets, and a school that sets one.
    assert!(matches!(
        stats::set_target(&cx, district, Some(5000)).await,
        Err(AppError::Invalid(_))
    ));
    let sa = lib.actor("school_admin").await;
    assert!(matches!(
        stats::set_target(&lib.cx(&sa), school, Some(2)).await,
        Err(AppError::Invalid(_))
    ));
    let t = stats::set_target(&cx, district, None).await.unwrap();
    assert_eq!((t.per_term, t.set_at), (20, Some(city)));

    // The below-target list as CSV, audited.
    let (_, list) = stats::below_target(&cx, school, Some((year, 1)))
        .await
        .unwrap();
    assert!(list.iter().all(|t| t.uploads < 20) && list.iter().any(|t| t.person_id == b));
    assert!(
        list.windows(2).all(|w| w[0].uploads <= w[1].uploads),
        "fewest first"
    );
    let b_uploads = of(&s, b);
    let file =
        stats::below_target_file(&cx, school, Some((year, 1)), directory::export::Format::Csv)
            .await
            .unwrap();
    let text = String::from_utf8(file.bytes).unwrap();
    let b_name = &teachers[1].1;
    assert!(
        text.contains("姓名,学校,本学期上传,目标")
            && text.contains(&format!("{b_name},上城区实验小学,{b_uploads},20")),
        "{text}"
    );
    let (n,): (i64,) = on_db!(&lib.state.db, p => sqlx::query_as(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'export.resource_stats_below_target' AND node_id = $1",
    ).bind(school).fetch_one(p).await).unwrap();
    assert_eq!(n, 1);
}

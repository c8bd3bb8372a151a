//! Review and recommendation: school → district → city with the audience changing at each step,
//! who may review and recommend, the version check, withdrawal, rejection, notifications, the
//! queue and appointed reviewers.

use crate::helpers::Lib;
use crate::library::{at, make, sees, shared_at_school};
use kernel::{AppError, NodeId, on_db};
use resources::library::queue::{self, QueueFilter};
use resources::library::resource::{self, ResourceEdit};
use resources::library::review::{self, ReviewInput};
use resources::library::reviewers::{self, Appointment};
use resources::model::{Level, Scope};

async fn notices(lib: &Lib, username: &str, kind: &str, about: kernel::ResourceId) -> i64 {
    let a = lib.actor(username).await;
    let (n,): (i64,) = on_db!(&lib.state.db, p => sqlx::query_as(
        "SELECT COUNT(*) FROM notifications WHERE person_id = $1 AND kind = $2 AND object_id = $3",
    ).bind(a.person_id).bind(kind).bind(about.0).fetch_one(p).await)
    .unwrap();
    n
}

async fn audience(lib: &Lib, id: resources::model::ResourceRow) -> Vec<String> {
    let rows: Vec<(String,)> = on_db!(&lib.state.db, p => sqlx::query_as(
        "SELECT n.name FROM resource_audience a JOIN org_nodes n ON n.id = a.node_id
         WHERE a.resource_id = $1 AND a.kind = 'v' ORDER BY n.name",
    ).bind(id.id).fetch_all(p).await)
    .unwrap();
    rows.into_iter().map(|r| r.0).collect()
}

async fn in_queue(lib: &Lib, username: &str, id: kernel::ResourceId) -> bool {
    let a = lib.actor(username).await;
    let q = queue::queue(&lib.cx(&a), &QueueFilter::default(), &crate::library::P)
        .await
        .unwrap();
    q.items.iter().any(|i| i.resource.id == id)
}

fn scored(r: &resources::model::ResourceRow, score: i64) -> ReviewInput {
    ReviewInput {
        version: r.version,
        comment: "很好".into(),
        score: Some(score),
    }
}

#[tokio::test]
async fn school_to_district_to_city_widens_the_audience_at_each_step() {
    let lib = Lib::start().await;
    let r = make(&lib, "teacher", "《秋天》微课", "13").await;
    let teacher = lib.actor("teacher").await;
    let r = review::submit(&lib.cx(&teacher), r.id, at(&r))
        .await
        .unwrap();
    assert_eq!(
        (r.scope(), r.pending()),
        (Scope::Private, Some(Level::School))
    );
    assert!(in_queue(&lib, "school_admin", r.id).await);
    assert!(!in_queue(&lib, "school2_admin", r.id).await);
    assert!(
        !sees(&lib, "s0t003", r.id).await,
        "not shared while it waits"
    );
    assert!(
        sees(&lib, "school_admin", r.id).await,
        "its reviewer sees it"
    );

    let sa = lib.actor("school_admin").await;
    let r = review::approve(&lib.cx(&sa), r.id, scored(&r, 4))
        .await
        .unwrap();
    assert_eq!((r.scope(), r.pending()), (Scope::School, None));
    assert_eq!(audience(&lib, r.clone()).await, vec!["上城区实验小学"]);
    assert!(sees(&lib, "s0t003", r.id).await);
    assert!(!sees(&lib, "s1t002", r.id).await);
    assert_eq!(r.expert_score, Some(4.0));
    assert!(!in_queue(&lib, "school_admin", r.id).await);

    let r = review::recommend(&lib.cx(&sa), r.id, at(&r)).await.unwrap();
    assert_eq!(
        (r.scope(), r.pending()),
        (Scope::School, Some(Level::District))
    );
    assert!(in_queue(&lib, "district_admin", r.id).await);
    assert!(!in_queue(&lib, "xihu_admin", r.id).await);
    assert!(
        !sees(&lib, "s1t002", r.id).await,
        "the district sees it once approved there"
    );
    // The school's reviewer does not decide at the district.
    assert!(matches!(
        review::approve(&lib.cx(&sa), r.id, at(&r)).await,
        Err(AppError::Forbidden)
    ));

    let da = lib.actor("district_admin").await;
    let r = review::approve(&lib.cx(&da), r.id, scored(&r, 5))
        .await
        .unwrap();
    assert_eq!((r.scope(), r.pending()), (Scope::District, None));
    assert_eq!(
        audience(&lib, r.clone()).await,
        vec!["上城区", "上城区实验小学"]
    );
    assert!(
        sees(&lib, "s1t002", r.id).await,
        "a teacher of another school of the district"
    );
    assert!(!sees(&lib, "s2t002", r.id).await, "a teacher of 西湖区");
    assert_eq!(r.expert_score, Some(4.5));

    let r = review::recommend(&lib.cx(&da), r.id, at(&r)).await.unwrap();
    assert_eq!(r.pending(), Some(Level::City));
    let ca = lib.actor("city_admin").await;
    assert!(in_queue(&lib, "city_admin", r.id).await);
    let r = review::approve(&lib.cx(&ca), r.id, at(&r)).await.unwrap();
    assert_eq!((r.scope(), r.pending()), (Scope::City, None));
    assert_eq!(
        audience(&lib, r.clone()).await,
        vec!["上城区", "上城区实验小学", "杭州市"]
    );
    assert!(sees(&lib, "s2t002", r.id).await);
    assert!(!sees(&lib, "student", r.id).await);
    // Nowhere further to go.
    let top = review::recommend(&lib.cx(&ca), r.id, at(&r)).await;
    assert!(matches!(
        top,
        Err(AppError::Conflict("resources.no_next_level", _))
    ));

    let steps = review::history(&lib.cx(&teacher), r.id).await.unwrap();
    let d: Vec<(&str, &str)> = steps
        .iter()
        .map(|s| (s.level.as_str(), s.decision.as_str()))
        .collect();
    assert_eq!(
        d,
        vec![
            ("school", "submitted"),
            ("school", "approved"),
            ("district", "recommended"),
            ("district", "approved"),
            ("city", "recommended"),
            ("city", "approved"),
        ]
    );
    assert_eq!(steps[1].score, Some(4));
    assert_eq!(steps[3].node_name, "上城区");
    assert_eq!(
        notices(&lib, "teacher", "notice.resource_approved", r.id).await,
        3
    );
    assert_eq!(
        notices(&lib, "teacher", "notice.resource_recommended", r.id).await,
        2
    );
    // A colleague sees the resource but not its review history.
    let c = lib.actor("s0t003").await;
    assert!(matches!(
        review::history(&lib.cx(&c), r.id).await,
        Err(AppError::Forbidden)
    ));
}

#[tokio::test]
async fn teachers_of_another_school_cannot_see_review_or_recommend() {
    let lib = Lib::start().await;
    let theirs = shared_at_school(&lib, "s1t002", "《背影》教学设计").await;
    let waiting = make(&lib, "s1t002", "《春》导学案", "13").await;
    let author = lib.actor("s1t002").await;
    let waiting = review::submit(&lib.cx(&author), waiting.id, at(&waiting))
        .await
        .unwrap();
    let t = lib.actor("teacher").await;
    let cx = lib.cx(&t);
    for r in [&theirs, &waiting] {
        assert!(!sees(&lib, "teacher", r.id).await);
        assert!(matches!(
            review::approve(&cx, r.id, at(r)).await,
            Err(AppError::NotFound(_))
        ));
        assert!(matches!(
            review::reject(
                &cx,
                r.id,
                ReviewInput {
                    version: r.version,
                    comment: "x".into(),
                    score: None
                }
            )
            .await,
            Err(AppError::NotFound(_))
        ));
        assert!(matches!(
            review::recommend(&cx, r.id, at(r)).await,
            Err(AppError::NotFound(_))
        ));
    }
    // A colleague of the author sees a shared resource but may not recommend it.
    let colleague = lib.actor("s1t003").await;
    assert!(sees(&lib, "s1t003", theirs.id).await);
    assert!(matches!(
        review::recommend(&lib.cx(&colleague), theirs.id, at(&theirs)).await,
        Err(AppError::Forbidden)
    ));
    assert!(!in_queue(&lib, "s1t003", waiting.id).await);
    // Reviewers never decide on their own resources.
    let own = make(&lib, "school_admin", "《识字表》", "13").await;
    let sa = lib.actor("school_admin").await;
    let own = review::submit(&lib.cx(&sa), own.id, at(&own))
        .await
        .unwrap();
    assert!(matches!(
        review::approve(&lib.cx(&sa), own.id, at(&own)).await,
        Err(AppError::Forbidden)
    ));
    assert!(!in_queue(&lib, "school_admin", own.id).await);
    assert!(
        in_queue(&lib, "district_admin", own.id).await,
        "the administrators above do"
    );
}

#[tokio::test]
async fn an_appointed_school_reviewer_reviews_their_subject_at_the_school_only() {
    let lib = Lib::start().await;
    let sa = lib.actor("school_admin").await;
    let colleague = lib.actor("s0t003").await;
    let maths = lib.actor("s0t005").await;
    let school = colleague.org_id;
    reviewers::appoint(
        &lib.cx(&sa),
        school,
        Appointment {
            person_id: colleague.person_id,
            subject: None,
        },
    )
    .await
    .unwrap();
    reviewers::appoint(
        &lib.cx(&sa),
        school,
        Appointment {
            person_id: maths.person_id,
            subject: Some("14".into()),
        },
    )
    .await
    .unwrap();
    let listed = reviewers::list(&lib.cx(&sa), school).await.unwrap();
    assert_eq!(listed.len(), 2);
    // Only the school's staff, and only by the school's administrators.
    let other = lib.actor("s1t002").await;
    let e = reviewers::appoint(
        &lib.cx(&sa),
        school,
        Appointment {
            person_id: other.person_id,
            subject: None,
        },
    )
    .await;
    assert!(matches!(e, Err(AppError::Invalid(_))));
    let t = lib.actor("teacher").await;
    let e = reviewers::appoint(
        &lib.cx(&t),
        school,
        Appointment {
            person_id: t.person_id,
            subject: None,
        },
    )
    .await;
    assert!(matches!(e, Err(AppError::NotFound(_))));

    let r = make(&lib, "teacher", "《雨点儿》朗读", "13").await;
    let r = review::submit(&lib.cx(&t), r.id, at(&r)).await.unwrap();
    assert!(in_queue(&lib, "s0t003", r.id).await);
    assert!(
        !in_queue(&lib, "s0t005", r.id).await,
        "a maths reviewer does not review Chinese"
    );
    assert!(matches!(
        review::approve(&lib.cx(&maths), r.id, at(&r)).await,
        Err(AppError::NotFound(_))
    ));
    let r = review::approve(&lib.cx(&colleague), r.id, at(&r))
        .await
        .unwrap();
    assert_eq!(r.scope(), Scope::School);
    let r = review::recommend(&lib.cx(&colleague), r.id, at(&r))
        .await
        .unwrap();
    assert_eq!(r.pending(), Some(Level::District));
    // At the district, the school's 教研组长 is no reviewer.
    assert!(matches!(
        review::approve(&lib.cx(&colleague), r.id, at(&r)).await,
        Err(AppError::Forbidden)
    ));
    assert!(!in_queue(&lib, "s0t003", r.id).await);
    // A district's 教研员, appointed by its administrator, is.
    let da = lib.actor("district_admin").await;
    let district: NodeId = on_db!(&lib.state.db, p => sqlx::query_as::<_, (NodeId,)>(
        "SELECT id FROM org_nodes WHERE name = '上城区'",
    ).fetch_one(p).await)
    .unwrap()
    .0;
    let researcher = lib.actor("s1t003").await;
    reviewers::appoint(
        &lib.cx(&da),
        district,
        Appointment {
            person_id: researcher.person_id,
            subject: Some("13".into()),
        },
    )
    .await
    .unwrap();
    assert!(in_queue(&lib, "s1t003", r.id).await);
    let r = review::approve(&lib.cx(&researcher), r.id, at(&r))
        .await
        .unwrap();
    assert_eq!(r.scope(), Scope::District);
    reviewers::dismiss(&lib.cx(&sa), school, colleague.person_id)
        .await
        .unwrap();
    assert_eq!(
        reviewers::list(&lib.cx(&sa), school).await.unwrap().len(),
        1
    );
}

#[tokio::test]
async fn a_decision_on_a_resource_that_changed_meanwhile_is_refused() {
    let lib = Lib::start().await;
    let t = lib.actor("teacher").await;
    let sa = lib.actor("school_admin").await;
    let r = make(&lib, "teacher", "《影子》课件", "13").await;
    let seen = review::submit(&lib.cx(&t), r.id, at(&r)).await.unwrap();
    // The author edits while the reviewer reads the old version.
    let edited = resource::edit(
        &lib.cx(&t),
        r.id,
        ResourceEdit {
            title: Some("《影子》课件 v2".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(edited.version, seen.version + 1);
    let e = review::approve(&lib.cx(&sa), r.id, scored(&seen, 5)).await;
    assert!(
        matches!(e, Err(AppError::Conflict("resources.changed_meanwhile", _))),
        "{e:?}"
    );
    let e = review::reject(
        &lib.cx(&sa),
        r.id,
        ReviewInput {
            version: seen.version,
            comment: "格式".into(),
            score: None,
        },
    )
    .await;
    assert!(matches!(
        e,
        Err(AppError::Conflict("resources.changed_meanwhile", _))
    ));
    let now = resource::find(&lib.state.db, r.id).await.unwrap().unwrap();
    assert_eq!(
        (now.scope(), now.pending(), now.expert_score),
        (Scope::Private, Some(Level::School), None),
        "nothing applied"
    );
    // On the version they now see, it goes through.
    let ok = review::approve(&lib.cx(&sa), r.id, at(&now)).await.unwrap();
    assert_eq!(ok.scope(), Scope::School);
    // A second decision on the same step finds nothing waiting.
    let twice = review::reject(
        &lib.cx(&sa),
        r.id,
        ReviewInput {
            version: ok.version,
            comment: "x".into(),
            score: None,
        },
    )
    .await;
    assert!(
        matches!(twice, Err(AppError::Conflict("resources.wrong_state", _))),
        "{twice:?}"
    );
}

#[tokio::test]
async fn rejection_needs_a_reason_and_keeps_the_earlier_scope() {
    let lib = Lib::start().await;
    let r = shared_at_school(&lib, "teacher", "《动物儿歌》").await;
    let sa = lib.actor("school_admin").await;
    let r = review::recommend(&lib.cx(&sa), r.id, at(&r)).await.unwrap();
    let da = lib.actor("district_admin").await;
    let e = review::reject(
        &lib.cx(&da),
        r.id,
        ReviewInput {
            version: r.version,
            comment: " ".into(),
            score: None,
        },
    )
    .await;
    assert!(
        matches!(e, Err(AppError::Invalid(f)) if f.get("comment") == Some("error.resources.reason_required"))
    );
    let bad = review::approve(&lib.cx(&da), r.id, scored(&r, 7)).await;
    assert!(
        matches!(bad, Err(AppError::Invalid(f)) if f.get("score") == Some("error.resources.score_range"))
    );
    let r = review::reject(
        &lib.cx(&da),
        r.id,
        ReviewInput {
            version: r.version,
            comment: "与区里已有资源重复".into(),
            score: None,
        },
    )
    .await
    .unwrap();
    assert_eq!(
        (r.scope(), r.pending()),
        (Scope::School, None),
        "still shared at its school"
    );
    assert!(sees(&lib, "s0t003", r.id).await);
    assert!(!sees(&lib, "s1t002", r.id).await);
    let t = lib.actor("teacher").await;
    let (args,): (String,) = on_db!(&lib.state.db, p => sqlx::query_as(
        "SELECT args FROM notifications WHERE person_id = $1 AND kind = 'notice.resource_rejected' AND object_id = $2",
    ).bind(t.person_id).bind(r.id.0).fetch_one(p).await).unwrap();
    assert!(
        args.contains("与区里已有资源重复") && args.contains("上城区"),
        "{args}"
    );
}

#[tokio::test]
async fn the_author_withdraws_a_shared_resource() {
    let lib = Lib::start().await;
    let r = shared_at_school(&lib, "teacher", "《四个太阳》").await;
    let colleague = lib.actor("s0t003").await;
    assert!(matches!(
        review::withdraw(&lib.cx(&colleague), r.id, at(&r)).await,
        Err(AppError::Forbidden)
    ));
    let t = lib.actor("teacher").await;
    let w = review::withdraw(&lib.cx(&t), r.id, at(&r)).await.unwrap();
    assert_eq!((w.scope(), w.pending()), (Scope::Private, None));
    assert!(!sees(&lib, "s0t003", r.id).await);
    assert!(!sees(&lib, "school_admin", r.id).await);
    let again = review::withdraw(&lib.cx(&t), r.id, at(&w)).await;
    assert!(matches!(
        again,
        Err(AppError::Conflict("resources.wrong_state", _))
    ));
    let steps = review::history(&lib.cx(&t), r.id).await.unwrap();
    assert_eq!(steps.last().unwrap().decision, "withdrawn");
    // A waiting one leaves the queue.
    let p = make(&lib, "teacher", "《端午粽》", "13").await;
    let p = review::submit(&lib.cx(&t), p.id, at(&p)).await.unwrap();
    assert!(in_queue(&lib, "school_admin", p.id).await);
    review::withdraw(&lib.cx(&t), p.id, at(&p)).await.unwrap();
    assert!(!in_queue(&lib, "school_admin", p.id).await);
}

#[tokio::test]
async fn the_queue_is_oldest_first_and_filters() {
    let lib = Lib::start().await;
    let t = lib.actor("teacher").await;
    let m = lib.actor("s0t003").await;
    let a = make(&lib, "teacher", "《拍手歌》", "13").await;
    review::submit(&lib.cx(&t), a.id, at(&a)).await.unwrap();
    let b = make(&lib, "s0t003", "《10以内的加法》练习", "14").await;
    review::submit(&lib.cx(&m), b.id, at(&b)).await.unwrap();
    let sa = lib.actor("school_admin").await;
    let cx = lib.cx(&sa);
    let all = queue::queue(&cx, &QueueFilter::default(), &crate::library::P)
        .await
        .unwrap();
    let ours: Vec<_> = all
        .items
        .iter()
        .filter(|i| i.resource.id == a.id || i.resource.id == b.id)
        .map(|i| i.resource.id)
        .collect();
    assert_eq!(ours, vec![a.id, b.id], "oldest first");
    assert!(all.items.iter().all(|i| i.waiting_since.is_some()));
    let maths = queue::queue(
        &cx,
        &QueueFilter {
            subject: Some("14".into()),
            ..Default::default()
        },
        &crate::library::P,
    )
    .await
    .unwrap();
    assert!(
        maths.items.iter().any(|i| i.resource.id == b.id)
            && maths.items.iter().all(|i| i.resource.id != a.id)
    );
    let district = queue::queue(
        &cx,
        &QueueFilter {
            level: Some("district".into()),
            ..Default::default()
        },
        &crate::library::P,
    )
    .await
    .unwrap();
    assert!(
        district
            .items
            .iter()
            .all(|i| i.resource.id != a.id && i.resource.id != b.id)
    );
    let old = queue::queue(
        &cx,
        &QueueFilter {
            waiting_days: Some(3),
            ..Default::default()
        },
        &crate::library::P,
    )
    .await
    .unwrap();
    assert!(
        old.items.iter().all(|i| i.resource.id != a.id),
        "waiting for minutes, not days"
    );
    let other_school = queue::queue(
        &cx,
        &QueueFilter {
            school: Some(NodeId::new()),
            ..Default::default()
        },
        &crate::library::P,
    )
    .await
    .unwrap();
    assert_eq!(other_school.total, 0);
    let page = queue::queue(
        &cx,
        &QueueFilter::default(),
        &kernel::paging::PageQuery {
            page: Some(1),
            per_page: Some(1),
        },
    )
    .await
    .unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.total, all.total);
    let schools = queue::schools(&cx).await.unwrap();
    assert!(schools.iter().any(|(id, _)| *id == a.org_id));
}

//! Resources: creation, editing, deletion, visibility across schools, quality signals and the
//! quality score, excellent lists. (The review workflow is in `review`.)

use crate::helpers::Lib;
use kernel::{Actor, AppError, CatalogId, ResourceId, UploadId, on_db};
use resources::library::excellent;
use resources::library::resource::{self, NewResource, ResourceEdit};
use resources::library::review::{self, ReviewInput};
use resources::library::signals::{self, CommentInput, RatingInput};
use resources::library::{detail, listing, quality};
use resources::model::{ResourceRow, Scope};

/// A page of 100.
pub const P: kernel::paging::PageQuery = kernel::paging::PageQuery {
    page: None,
    per_page: Some(100),
};

/// A section of the demo catalogue for a subject (13 语文, 14 数学), or, if the library was
/// loaded without one, a minimal catalogue made here for the city.
pub async fn section(lib: &Lib, subject: &str) -> CatalogId {
    let found: Option<(CatalogId,)> = on_db!(&lib.state.db, p => sqlx::query_as(
        "SELECT id FROM catalog_nodes WHERE kind = 'section' AND subject = $1 AND active = TRUE ORDER BY path LIMIT 1",
    ).bind(subject).fetch_optional(p).await).unwrap();
    if let Some((id,)) = found {
        return id;
    }
    let (city,): (kernel::NodeId,) = on_db!(&lib.state.db, p => sqlx::query_as(
        "SELECT id FROM org_nodes WHERE kind = 'city' LIMIT 1",
    ).fetch_one(p).await)
    .unwrap();
    let now = chrono::Utc::now();
    let mut parent: Option<CatalogId> = None;
    let mut path = String::new();
    let (mut edition, mut volume) = (None, None);
    for (i, (kind, name)) in [
        ("stage", "小学"),
        ("subject", if subject == "13" { "语文" } else { "数学" }),
        ("edition", "测试版"),
        ("volume", "一年级上册"),
        ("unit", "第一单元"),
        ("section", "第1课"),
    ]
    .into_iter()
    .enumerate()
    {
        let id = CatalogId::new();
        path = if path.is_empty() {
            name.to_owned()
        } else {
            format!("{path} / {name}")
        };
        if kind == "edition" {
            edition = Some(id);
        }
        if kind == "volume" {
            volume = Some(id);
        }
        let subj = (i >= 1).then_some(subject);
        on_db!(&lib.state.db, p => sqlx::query(
            "INSERT INTO catalog_nodes (id, region_id, parent_id, kind, name, stage, subject, edition_id, volume_id, path, position, active, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, 'primary', $6, $7, $8, $9, 1, TRUE, $10, $10)",
        ).bind(id).bind(city).bind(parent).bind(kind).bind(name).bind(subj).bind(edition).bind(volume)
         .bind(&path).bind(now).execute(p).await.map(|r| r.rows_affected())).unwrap();
        parent = Some(id);
    }
    parent.unwrap()
}

/// A completed upload of `actor`'s holding `bytes`, written the way the files module leaves one.
pub async fn upload(lib: &Lib, actor: &Actor, name: &str, bytes: &[u8]) -> UploadId {
    use sha2::Digest;
    let hash = hex(&sha2::Sha256::digest(bytes));
    let id = UploadId::new();
    let now = chrono::Utc::now();
    on_db!(&lib.state.db, p => sqlx::query(
        "INSERT INTO blobs (hash, size, mime, category, storage_key, preview_state, scan, created_at)
         VALUES ($1, $2, 'text/plain', 'text', $3, 'none', 'not_scanned', $4) ON CONFLICT (hash) DO NOTHING",
    ).bind(&hash).bind(bytes.len() as i64).bind(format!("blobs/{hash}")).bind(now).execute(p).await.map(|r| r.rows_affected())).unwrap();
    on_db!(&lib.state.db, p => sqlx::query(
        "INSERT INTO uploads (id, person_id, org_id, file_name, size, chunk_size, state, blob_hash, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $5, 'complete', $6, $7, $7)",
    ).bind(id).bind(actor.person_id).bind(actor.org_id).bind(name).bind(bytes.len() as i64).bind(&hash).bind(now)
     .execute(p).await.map(|r| r.rows_affected())).unwrap();
    id
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A private resource of `username`'s on a section of `subject`.
pub async fn make(lib: &Lib, username: &str, title: &str, subject: &str) -> ResourceRow {
    let a = lib.actor(username).await;
    let node = section(lib, subject).await;
    let up = upload(
        lib,
        &a,
        "教案.txt",
        format!("{title} 的教学过程").as_bytes(),
    )
    .await;
    resource::create(
        &lib.cx(&a),
        NewResource {
            title: title.into(),
            description: "教学目标、重点难点、教学过程".into(),
            kind: "lesson_plan".into(),
            tags: vec!["识字".into(), "朗读".into()],
            catalog_ids: vec![node],
            for_students: false,
            upload_id: Some(up),
        },
    )
    .await
    .unwrap()
}

pub fn at(r: &ResourceRow) -> ReviewInput {
    ReviewInput {
        version: r.version,
        ..Default::default()
    }
}

/// Makes a resource and has it approved at the school (shared with the school's staff).
pub async fn shared_at_school(lib: &Lib, username: &str, title: &str) -> ResourceRow {
    let r = make(lib, username, title, "13").await;
    let author = lib.actor(username).await;
    let r = review::submit(&lib.cx(&author), r.id, at(&r))
        .await
        .unwrap();
    let school: (String,) = on_db!(&lib.state.db, p => sqlx::query_as(
        "SELECT a.username FROM accounts a JOIN role_assignments ra ON ra.person_id = a.person_id
         WHERE ra.role = 'admin' AND ra.node_id = $1",
    ).bind(r.org_id).fetch_one(p).await)
    .unwrap();
    let admin = lib.actor(&school.0).await;
    review::approve(&lib.cx(&admin), r.id, at(&r))
        .await
        .unwrap()
}

pub async fn sees(lib: &Lib, username: &str, id: ResourceId) -> bool {
    let a = lib.actor(username).await;
    match resource::get(&lib.cx(&a), id).await {
        Ok(_) => true,
        Err(AppError::NotFound(_)) => false,
        Err(e) => panic!("{e}"),
    }
}

pub fn field(e: AppError) -> Vec<(String, String)> {
    match e {
        AppError::Invalid(f) => f.0,
        other => panic!("expected a validation error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_new_resource_is_private_to_its_author_with_the_current_term() {
    let lib = Lib::start().await;
    let r = make(&lib, "teacher", "《秋天》教学设计", "13").await;
    assert_eq!(r.scope(), Scope::Private);
    assert_eq!(r.version, 1);
    assert!(r.pending().is_none());
    assert_eq!(r.tag_list(), vec!["识字", "朗读"]);
    assert_eq!(r.quality, 30.0, "neutral start");
    let teacher = lib.actor("teacher").await;
    assert_eq!(r.org_id, teacher.org_id);
    let term = resource::current_term(
        &lib.state.db,
        r.org_id,
        lib.state.config.time_zone.date(chrono::Utc::now()),
    )
    .await
    .unwrap();
    assert_eq!(
        (r.school_year, r.term),
        (term.map(|t| t.0), term.map(|t| t.1))
    );
    // Only the author sees it; not even the school's administrator.
    assert!(sees(&lib, "teacher", r.id).await);
    assert!(!sees(&lib, "school_admin", r.id).await);
    assert!(!sees(&lib, "s0t003", r.id).await);
    let d = detail::detail(&lib.cx(&teacher), r.id).await.unwrap();
    assert_eq!(d.catalog.len(), 1);
    assert!(d.file.is_some_and(|f| f.size > 0));
    assert!(d.allowed.edit && d.allowed.submit && !d.allowed.withdraw);
    let (audit,): (i64,) = on_db!(&lib.state.db, p => sqlx::query_as(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'resource.create' AND object_id = $1",
    ).bind(r.id.to_string()).fetch_one(p).await)
    .unwrap();
    assert_eq!(audit, 1);
    let (changes,): (i64,) = on_db!(&lib.state.db, p => sqlx::query_as(
        "SELECT COUNT(*) FROM resource_changes WHERE resource_id = $1",
    ).bind(r.id).fetch_one(p).await)
    .unwrap();
    assert!(changes >= 1);
    let mine = listing::mine(&lib.cx(&teacher), &crate::library::P)
        .await
        .unwrap();
    assert!(mine.items.iter().any(|i| i.resource.id == r.id));
}

#[tokio::test]
async fn bad_input_is_refused_field_by_field() {
    let lib = Lib::start().await;
    let t = lib.actor("teacher").await;
    let errs = field(
        resource::create(
            &lib.cx(&t),
            NewResource {
                title: " ".into(),
                kind: "poster".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap_err(),
    );
    let f: Vec<&str> = errs.iter().map(|(f, _)| f.as_str()).collect();
    assert!(
        f.contains(&"title")
            && f.contains(&"kind")
            && f.contains(&"catalog_ids")
            && f.contains(&"upload_id"),
        "{errs:?}"
    );
    // Someone else's upload is not usable; an unknown node is not either.
    let admin = lib.actor("school_admin").await;
    let theirs = upload(&lib, &admin, "a.txt", b"theirs").await;
    let errs = field(
        resource::create(
            &lib.cx(&t),
            NewResource {
                title: "x".into(),
                kind: "exercise".into(),
                catalog_ids: vec![CatalogId::new()],
                upload_id: Some(theirs),
                ..Default::default()
            },
        )
        .await
        .unwrap_err(),
    );
    assert!(
        errs.contains(&(
            "catalog_ids".into(),
            "error.resources.node_not_found".into()
        )),
        "{errs:?}"
    );
    assert!(
        errs.contains(&("upload_id".into(), "error.files.upload_not_found".into())),
        "{errs:?}"
    );
    // Students do not use the library.
    let s = lib.actor("student").await;
    assert!(matches!(
        resource::create(&lib.cx(&s), NewResource::default()).await,
        Err(AppError::Forbidden)
    ));
}

#[tokio::test]
async fn a_school_level_resource_is_not_seen_from_another_school() {
    let lib = Lib::start().await;
    let r = shared_at_school(&lib, "teacher", "《小小的船》朗读指导").await;
    assert_eq!(r.scope(), Scope::School);
    assert!(
        sees(&lib, "s0t003", r.id).await,
        "a colleague at the same school"
    );
    assert!(
        sees(&lib, "district_admin", r.id).await,
        "administrators above"
    );
    assert!(sees(&lib, "city_admin", r.id).await);
    assert!(
        !sees(&lib, "s1t002", r.id).await,
        "a teacher of 上城区第一中学"
    );
    assert!(
        !sees(&lib, "school2_admin", r.id).await,
        "the other school's administrator"
    );
    assert!(
        !sees(&lib, "xihu_admin", r.id).await,
        "another district's administrator"
    );
    assert!(!sees(&lib, "student", r.id).await);
    // Nor through the lists.
    let other = lib.actor("s1t002").await;
    let seen = listing::list(&lib.cx(&other), &Default::default(), &crate::library::P)
        .await
        .unwrap();
    assert!(seen.items.iter().all(|i| i.resource.id != r.id));
    let colleague = lib.actor("s0t003").await;
    let seen = listing::list(&lib.cx(&colleague), &Default::default(), &crate::library::P)
        .await
        .unwrap();
    assert!(seen.items.iter().any(|i| i.resource.id == r.id));
    // A colleague's list of one author (a teacher space's resources column): theirs only, and
    // only what the viewer may see.
    let by_author = |author| listing::ListFilter {
        author: Some(author),
        ..Default::default()
    };
    let seen = listing::list(
        &lib.cx(&colleague),
        &by_author(r.author_id),
        &crate::library::P,
    )
    .await
    .unwrap();
    assert!(seen.items.iter().any(|i| i.resource.id == r.id));
    assert!(
        seen.items
            .iter()
            .all(|i| i.resource.author_id == r.author_id)
    );
    assert_eq!(seen.total, seen.items.len() as i64);
    let seen = listing::list(&lib.cx(&other), &by_author(r.author_id), &crate::library::P)
        .await
        .unwrap();
    assert!(seen.items.iter().all(|i| i.resource.id != r.id));
    // And signals on it are refused as unknown.
    let e = signals::rate(
        &lib.cx(&other),
        r.id,
        RatingInput {
            stars: 5,
            comment: String::new(),
        },
    )
    .await;
    assert!(matches!(
        e,
        Err(AppError::NotFound("resources.resource_not_found"))
    ));
}

#[tokio::test]
async fn editing_a_shared_resource_sends_it_back_through_review() {
    let lib = Lib::start().await;
    let r = shared_at_school(&lib, "teacher", "《比尾巴》课件").await;
    let t = lib.actor("teacher").await;
    // Someone else may not edit it.
    let colleague = lib.actor("s0t003").await;
    assert!(matches!(
        resource::edit(&lib.cx(&colleague), r.id, ResourceEdit::default()).await,
        Err(AppError::Forbidden)
    ));
    // A stale edit is refused.
    let stale = resource::edit(
        &lib.cx(&t),
        r.id,
        ResourceEdit {
            version: Some(r.version - 1),
            ..Default::default()
        },
    )
    .await;
    assert!(matches!(
        stale,
        Err(AppError::Conflict("resources.changed_meanwhile", _))
    ));
    let e = resource::edit(
        &lib.cx(&t),
        r.id,
        ResourceEdit {
            version: Some(r.version),
            title: Some("《比尾巴》课件（修订）".into()),
            tags: Some(vec!["动物".into()]),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(e.version, r.version + 1);
    assert_eq!(e.title, "《比尾巴》课件（修订）");
    assert_eq!(e.scope(), Scope::Private);
    assert_eq!(e.pending().map(|l| l.as_str()), Some("school"));
    assert!(!sees(&lib, "s0t003", r.id).await, "no longer shared");
    assert!(
        sees(&lib, "school_admin", r.id).await,
        "its reviewers see it waiting"
    );
    let steps = review::history(&lib.cx(&t), r.id).await.unwrap();
    let last = steps.last().unwrap();
    assert_eq!((last.decision.as_str(), last.version), ("reset", e.version));
    let (n,): (i64,) = on_db!(&lib.state.db, p => sqlx::query_as(
        "SELECT COUNT(*) FROM notifications WHERE person_id = $1 AND kind = 'notice.resource_reset' AND object_id = $2",
    ).bind(t.person_id).bind(r.id.0).fetch_one(p).await).unwrap();
    assert_eq!(n, 1);
    let (aud,): (i64,) = on_db!(&lib.state.db, p => sqlx::query_as(
        "SELECT COUNT(*) FROM resource_audience WHERE resource_id = $1",
    ).bind(r.id).fetch_one(p).await)
    .unwrap();
    assert_eq!(aud, 0);
    // Editing a private resource that waits for nothing keeps it private with no review step.
    let p = make(&lib, "teacher", "《四季》导学案", "13").await;
    let p2 = resource::edit(
        &lib.cx(&t),
        p.id,
        ResourceEdit {
            description: Some("新的说明".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        (p2.version, p2.scope(), p2.pending()),
        (2, Scope::Private, None)
    );
    assert!(review::history(&lib.cx(&t), p.id).await.unwrap().is_empty());
}

#[tokio::test]
async fn deletion_by_the_author_or_an_administrator_above() {
    let lib = Lib::start().await;
    let a = shared_at_school(&lib, "teacher", "《雪地里的小画家》").await;
    let b = shared_at_school(&lib, "teacher", "《项链》").await;
    let colleague = lib.actor("s0t003").await;
    assert!(matches!(
        resource::delete(&lib.cx(&colleague), a.id).await,
        Err(AppError::Forbidden)
    ));
    let t = lib.actor("teacher").await;
    resource::delete(&lib.cx(&t), a.id).await.unwrap();
    assert!(
        !sees(&lib, "teacher", a.id).await,
        "gone for its author too"
    );
    let district = lib.actor("district_admin").await;
    resource::delete(&lib.cx(&district), b.id).await.unwrap();
    assert!(!sees(&lib, "s0t003", b.id).await);
    let row = resource::find(&lib.state.db, b.id).await.unwrap().unwrap();
    assert!(row.deleted_at.is_some(), "soft");
}

#[tokio::test]
async fn ratings_are_one_per_person_and_the_quality_follows_every_signal() {
    let lib = Lib::start().await;
    let r = shared_at_school(&lib, "teacher", "《乌鸦喝水》微课").await;
    let a = lib.actor("s0t003").await;
    let admin = lib.actor("school_admin").await;
    let cx = lib.cx(&a);
    signals::rate(
        &cx,
        r.id,
        RatingInput {
            stars: 2,
            comment: "一般".into(),
        },
    )
    .await
    .unwrap();
    let again = signals::rate(
        &cx,
        r.id,
        RatingInput {
            stars: 5,
            comment: "很好用".into(),
        },
    )
    .await
    .unwrap();
    assert_eq!(again.stars, 5);
    signals::rate(
        &lib.cx(&admin),
        r.id,
        RatingInput {
            stars: 4,
            comment: String::new(),
        },
    )
    .await
    .unwrap();
    let row = resource::find(&lib.state.db, r.id).await.unwrap().unwrap();
    assert_eq!(
        (row.rating_count, row.rating_sum),
        (2, 9),
        "the second rating replaced the first"
    );
    // Out of range, and one's own, are refused.
    let bad = signals::rate(
        &cx,
        r.id,
        RatingInput {
            stars: 6,
            comment: String::new(),
        },
    )
    .await;
    assert!(
        field(bad.unwrap_err()).contains(&("stars".into(), "error.resources.stars_range".into()))
    );
    let t = lib.actor("teacher").await;
    let own = signals::rate(
        &lib.cx(&t),
        r.id,
        RatingInput {
            stars: 5,
            comment: String::new(),
        },
    )
    .await;
    assert!(field(own.unwrap_err()).contains(&("stars".into(), "error.resources.rate_own".into())));
    // Views count once a day per person and never the author's; downloads likewise.
    assert!(signals::view(&cx, &row).await.unwrap());
    assert!(!signals::view(&cx, &row).await.unwrap());
    assert!(!signals::view(&lib.cx(&t), &row).await.unwrap());
    assert!(signals::download(&cx, &row).await.unwrap());
    assert_eq!(signals::set_favourite(&cx, r.id, true).await.unwrap(), 1);
    assert_eq!(
        signals::set_favourite(&cx, r.id, true).await.unwrap(),
        1,
        "idempotent"
    );
    let row = resource::find(&lib.state.db, r.id).await.unwrap().unwrap();
    assert_eq!((row.views, row.downloads, row.favourites), (1, 1, 1));
    let (events,): (i64,) = on_db!(&lib.state.db, p => sqlx::query_as(
        "SELECT COUNT(*) FROM resource_events WHERE resource_id = $1 AND org_id = $2",
    ).bind(r.id).bind(a.org_id).fetch_one(p).await)
    .unwrap();
    assert_eq!(events, 2, "a view and a download, with the viewer's school");
    let q = quality::Quality::of(quality::Signals::of(&row));
    assert_eq!(row.quality, q.score, "the stored score is the formula's");
    assert_eq!(q.usage_points, 1.0 + 3.0 + 5.0);
    assert!(
        (q.rating_mean - 24.0 / 7.0).abs() < 0.001,
        "{}",
        q.rating_mean
    );
    assert!(q.rated && !q.reviewed);
    assert!(row.quality > 30.0);
    let before = row.quality;
    assert_eq!(signals::set_favourite(&cx, r.id, false).await.unwrap(), 0);
    let row = resource::find(&lib.state.db, r.id).await.unwrap().unwrap();
    assert!(row.quality < before, "unfavouriting lowers it");
    // The page's parts.
    let d = detail::detail(&cx, r.id).await.unwrap();
    assert_eq!(d.quality_parts.score, row.quality);
    assert_eq!(d.my_rating.map(|r| r.stars), Some(5));
    assert!(!d.favourite);
}

#[tokio::test]
async fn comments_are_deleted_by_their_writer_or_an_administrator() {
    let lib = Lib::start().await;
    let r = shared_at_school(&lib, "teacher", "《青蛙写诗》").await;
    let a = lib.actor("s0t003").await;
    let t = lib.actor("teacher").await;
    let c1 = signals::comment(
        &lib.cx(&a),
        r.id,
        CommentInput {
            body: "朗读部分很实用".into(),
        },
    )
    .await
    .unwrap();
    let c2 = signals::comment(
        &lib.cx(&t),
        r.id,
        CommentInput {
            body: "谢谢".into(),
        },
    )
    .await
    .unwrap();
    let empty = signals::comment(&lib.cx(&t), r.id, CommentInput { body: "  ".into() }).await;
    assert!(
        field(empty.unwrap_err())
            .contains(&("body".into(), "error.resources.comment_required".into()))
    );
    assert!(matches!(
        signals::delete_comment(&lib.cx(&t), r.id, c1.id).await,
        Err(AppError::Forbidden)
    ));
    let list = signals::comments(&lib.cx(&a), r.id, &crate::library::P)
        .await
        .unwrap();
    assert_eq!(list.total, 2);
    assert!(list.items.iter().find(|c| c.id == c1.id).unwrap().deletable);
    assert!(!list.items.iter().find(|c| c.id == c2.id).unwrap().deletable);
    signals::delete_comment(&lib.cx(&a), r.id, c1.id)
        .await
        .unwrap();
    let admin = lib.actor("school_admin").await;
    signals::delete_comment(&lib.cx(&admin), r.id, c2.id)
        .await
        .unwrap();
    let row = resource::find(&lib.state.db, r.id).await.unwrap().unwrap();
    assert_eq!(row.comments, 0);
}

#[tokio::test]
async fn the_demo_library_has_resources_at_every_level_and_state() {
    let started = std::time::Instant::now();
    let lib = Lib::start().await;
    eprintln!("demo region and library loaded in {:?}", started.elapsed());
    let rows: Vec<(String, Option<String>, i64)> = on_db!(&lib.state.db, p => sqlx::query_as(
        "SELECT scope, pending_level, COUNT(*) FROM resources GROUP BY scope, pending_level",
    ).fetch_all(p).await)
    .unwrap();
    let count = |scope: &str, pending: Option<&str>| {
        rows.iter()
            .find(|(s, p, _)| s == scope && p.as_deref() == pending)
            .map_or(0, |r| r.2)
    };
    assert!(count("private", None) >= 2, "{rows:?}");
    assert!(count("private", Some("school")) >= 2);
    assert!(count("school", None) >= 3);
    assert!(count("school", Some("district")) >= 1);
    assert!(count("district", None) >= 3);
    assert!(count("district", Some("city")) >= 1);
    assert!(count("city", None) >= 3);
    let total: i64 = rows.iter().map(|r| r.2).sum();
    assert!(total >= 25, "a few dozen: {total}");
    let (rejected,): (i64,) = on_db!(&lib.state.db, p => sqlx::query_as(
        "SELECT COUNT(DISTINCT resource_id) FROM resource_reviews WHERE decision = 'rejected'",
    ).fetch_one(p).await)
    .unwrap();
    assert!(rejected >= 1);
    // Real files of three types, stored through the files module.
    let cats: Vec<(String,)> = on_db!(&lib.state.db, p => sqlx::query_as(
        "SELECT DISTINCT b.category FROM resources r JOIN blobs b ON b.hash = r.blob_hash ORDER BY b.category",
    ).fetch_all(p).await).unwrap();
    let cats: Vec<&str> = cats.iter().map(|c| c.0.as_str()).collect();
    assert_eq!(cats, vec!["image", "pdf", "text"]);
    let (rated,): (i64,) = on_db!(&lib.state.db, p => sqlx::query_as(
        "SELECT COUNT(*) FROM resource_ratings",
    ).fetch_one(p).await)
    .unwrap();
    let (favs,): (i64,) = on_db!(&lib.state.db, p => sqlx::query_as(
        "SELECT COUNT(*) FROM resource_favourites",
    ).fetch_one(p).await)
    .unwrap();
    assert!(
        rated >= 2 && favs >= 2,
        "{rated} ratings, {favs} favourites"
    );
    // One published list, seen by a teacher of the district.
    let t = lib.actor("teacher").await;
    let lists = excellent::lists(&lib.cx(&t), &P).await.unwrap();
    let published: Vec<_> = lists
        .items
        .iter()
        .filter(|l| l.status == "published")
        .collect();
    assert_eq!(published.len(), 1);
    assert!(published[0].entries >= 2);
    // The teacher's own resources show each state, and 西湖区 sees none of 上城区's
    // school-level resources.
    let mine = listing::mine(&lib.cx(&t), &P).await.unwrap();
    assert!(mine.items.len() >= 5);
    let other = lib.actor("s2t002").await;
    let seen = listing::list(&lib.cx(&other), &Default::default(), &P)
        .await
        .unwrap();
    assert!(
        seen.items
            .iter()
            .all(|i| i.resource.scope() != Scope::School || i.resource.org_id == other.org_id)
    );
}

#[test]
fn the_api_document_names_every_operation() {
    use utoipa::OpenApi;
    let doc = resources::library::api::LibraryApiDoc::openapi();
    for path in [
        "/api/v1/resources",
        "/api/v1/resources/{id}",
        "/api/v1/resources/{id}/approve",
        "/api/v1/resources/{id}/favourite",
        "/api/v1/resources/{id}/rating",
        "/api/v1/resources/{id}/comments",
        "/api/v1/reviews",
        "/api/v1/reviewers/{node}",
        "/api/v1/excellent-lists/{id}/entries",
    ] {
        assert!(doc.paths.paths.contains_key(path), "{path}");
    }
    let schemas = doc.components.unwrap().schemas;
    assert!(schemas.contains_key("ResourceActions") && !schemas.contains_key("Allowed"));
}

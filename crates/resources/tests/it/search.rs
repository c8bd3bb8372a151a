//! Search: Chinese and English quality, facets, sorts, visibility, following edits and
//! deletions through the change log, and a rebuild giving the same answers.

use crate::helpers::Lib;
use chrono::{DateTime, Duration, Utc};
use kernel::{AppError, CatalogId, ResourceId, on_db, on_tx};
use resources::access::Audience;
use resources::model::Scope;
use resources::search::{self, SearchInput, SearchResults, Sort};

/// A resource to insert.
struct R<'a> {
    author: &'a str,
    title: &'a str,
    description: &'a str,
    tags: &'a [&'a str],
    kind: &'a str,
    scope: Scope,
    body: Option<&'a str>,
    nodes: Vec<CatalogId>,
    quality: f64,
    age_days: i64,
}

impl Default for R<'_> {
    fn default() -> Self {
        Self {
            author: "teacher",
            title: "",
            description: "",
            tags: &[],
            kind: "lesson_plan",
            scope: Scope::School,
            body: None,
            nodes: Vec::new(),
            quality: 50.0,
            age_days: 1,
        }
    }
}

/// Inserts a resource as the library would leave it shared at `r.scope`: its row, its file's
/// extracted text, its catalogue nodes, its audience and its change-log entry.
async fn insert(lib: &Lib, r: R<'_>) -> ResourceId {
    let author = lib.actor(r.author).await;
    let id = ResourceId::new();
    let now: DateTime<Utc> = lib.state.clock.now() - Duration::days(r.age_days);
    let db = &lib.state.db;
    let audience = Audience::of(db, author.org_id, r.scope).await.unwrap();
    let mut tx = db.begin().await.unwrap();
    let hash = r.body.map(|_| format!("{:064x}", id.0.as_u128()));
    if let (Some(h), Some(body)) = (&hash, r.body) {
        on_tx!(&mut tx, c => sqlx::query(
            "INSERT INTO blobs (hash, size, mime, category, storage_key, text, preview_state, scan, created_at)
             VALUES ($1, $2, 'application/pdf', 'pdf', $1, $3, 'none', 'clean', $4)",
        ).bind(h).bind(body.len() as i64).bind(body).bind(now).execute(&mut *c).await.map(|_| ()))
        .unwrap();
    }
    on_tx!(&mut tx, c => sqlx::query(
        "INSERT INTO resources (id, org_id, author_id, title, description, kind, tags, blob_hash, file_name,
                                scope, version, quality, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 1, $11, $12, $12)",
    ).bind(id).bind(author.org_id).bind(author.person_id).bind(r.title).bind(r.description)
     .bind(r.kind).bind(r.tags.join("\n")).bind(&hash).bind(hash.as_ref().map(|_| "file.pdf"))
     .bind(r.scope.as_str()).bind(r.quality).bind(now)
     .execute(&mut *c).await.map(|_| ()))
    .unwrap();
    for n in &r.nodes {
        on_tx!(&mut tx, c => sqlx::query("INSERT INTO resource_catalog (resource_id, catalog_id) VALUES ($1, $2)")
            .bind(id).bind(n).execute(&mut *c).await.map(|_| ()))
        .unwrap();
    }
    audience.write(&mut tx, id).await.unwrap();
    resources::changes::record(&mut tx, id, now).await.unwrap();
    tx.commit().await.unwrap();
    id
}

/// A demo catalogue node by its path (names from the stage down, joined by " / ").
async fn node(lib: &Lib, path: &str) -> CatalogId {
    let row: Option<(CatalogId,)> = on_db!(&lib.state.db, p => sqlx::query_as(
        "SELECT id FROM catalog_nodes WHERE path = $1",
    ).bind(path).fetch_optional(p).await)
    .unwrap();
    row.unwrap_or_else(|| panic!("no catalogue node {path}")).0
}

async fn find(lib: &Lib, who: &str, input: SearchInput) -> SearchResults {
    let actor = lib.actor(who).await;
    search::query(&lib.cx(&actor), input).await.unwrap()
}

fn ids(r: &SearchResults) -> Vec<ResourceId> {
    r.items.iter().map(|h| h.id).collect()
}

fn count(r: &SearchResults, dim: &str, name: &str) -> Option<u64> {
    r.facets
        .iter()
        .find(|g| g.dimension == dim)?
        .values
        .iter()
        .find(|v| v.name == name)
        .map(|v| v.count)
}

const PYTHAGORAS_17_1: &str =
    "初中 / 数学 / 人教版 / 八年级下册 / 第十七章 勾股定理 / 17.1 勾股定理";
const PYTHAGORAS_17: &str = "初中 / 数学 / 人教版 / 八年级下册 / 第十七章 勾股定理";
const PYTHAGORAS_BSD: &str = "初中 / 数学 / 北师大版 / 八年级上册 / 第一章 勾股定理";

#[tokio::test]
async fn chinese_and_english_words_are_found_as_whole_words() {
    let lib = Lib::start().await;
    let design = insert(
        &lib,
        R {
            title: "《勾股定理》教学设计",
            description: "八年级下册第十七章的教学设计。",
            ..R::default()
        },
    )
    .await;
    let pdf = insert(&lib, R {
        title: "直角三角形三边的关系",
        description: "一节探究课的讲义。",
        body: Some("本节课先让学生测量直角三角形的三条边，再引导学生发现勾股定理：直角三角形两条直角边的平方和等于斜边的平方。最后用拼图的方法证明它。"),
        ..R::default()
    }).await;
    let cutoff = insert(
        &lib,
        R {
            title: "中考分数线的变化与志愿填报",
            description: "历年录取分数线汇总。",
            body: Some(
                "今年的普高录取分数线比去年提高了五分，请班主任提醒家长关注分数线公布的时间。",
            ),
            ..R::default()
        },
    )
    .await;
    let fractions = insert(
        &lib,
        R {
            title: "分数的初步认识 课件",
            description: "三年级上册。",
            kind: "courseware",
            ..R::default()
        },
    )
    .await;
    let english = insert(
        &lib,
        R {
            title: "Unit 3 The Pythagorean Theorem (reading)",
            description: "A bilingual reading for grade 8.",
            ..R::default()
        },
    )
    .await;
    assert!(search::sync(&lib.state).await.unwrap() >= 5);

    let r = find(&lib, "teacher", SearchInput::text("勾股定理")).await;
    let got = ids(&r);
    assert!(got.contains(&design) && got.contains(&pdf), "{got:?}");
    let pos = |id| got.iter().position(|x| *x == id).unwrap();
    assert!(
        pos(design) < pos(pdf),
        "a title match ranks above a body match"
    );
    let t = r.items.iter().find(|h| h.id == design).unwrap();
    assert!(
        t.title_html.contains("《<mark>勾股定理</mark>》"),
        "{}",
        t.title_html
    );
    let b = r.items.iter().find(|h| h.id == pdf).unwrap();
    assert!(
        b.snippet_html.contains("<mark>勾股定理</mark>"),
        "{}",
        b.snippet_html
    );

    let r = find(&lib, "teacher", SearchInput::text("分数")).await;
    assert!(ids(&r).contains(&fractions));
    assert!(!ids(&r).contains(&cutoff), "分数 must not match 分数线");
    let r = find(&lib, "teacher", SearchInput::text("分数线")).await;
    assert!(ids(&r).contains(&cutoff) && !ids(&r).contains(&fractions));

    for q in ["Pythagorean", "PYTHAGOREAN", "unit 3", "Unit 3 reading"] {
        let r = find(&lib, "teacher", SearchInput::text(q)).await;
        assert!(ids(&r).contains(&english), "{q}");
    }
    let r = find(&lib, "teacher", SearchInput::text("Unit 4")).await;
    assert!(
        !ids(&r).contains(&english) || r.any_word,
        "all words are required first"
    );
    // Words that appear nowhere together fall back to any of them, and say so.
    let r = find(&lib, "teacher", SearchInput::text("勾股定理 分数线")).await;
    assert!(r.any_word && ids(&r).contains(&cutoff) && ids(&r).contains(&design));
}

#[tokio::test]
async fn facets_count_and_filter_by_catalogue_kind_level_and_school() {
    let lib = Lib::start().await;
    let s171 = node(&lib, PYTHAGORAS_17_1).await;
    let bsd = node(&lib, PYTHAGORAS_BSD).await;
    let tags: &[&str] = &["zqxfacet"];
    let a = insert(
        &lib,
        R {
            title: "勾股定理 课件一",
            tags,
            kind: "courseware",
            nodes: vec![s171],
            ..R::default()
        },
    )
    .await;
    let b = insert(
        &lib,
        R {
            title: "勾股定理 练习",
            tags,
            kind: "exercise",
            nodes: vec![s171],
            ..R::default()
        },
    )
    .await;
    let c = insert(
        &lib,
        R {
            title: "探索勾股定理 课件",
            tags,
            kind: "courseware",
            nodes: vec![bsd],
            scope: Scope::District,
            author: "s1t002",
            ..R::default()
        },
    )
    .await;
    search::sync(&lib.state).await.unwrap();

    let r = find(&lib, "teacher", SearchInput::text("zqxfacet")).await;
    assert_eq!(r.total, 3);
    assert_eq!(count(&r, "edition", "人教版"), Some(2));
    assert_eq!(count(&r, "edition", "北师大版"), Some(1));
    assert_eq!(count(&r, "stage", "初中"), Some(3));
    assert_eq!(count(&r, "subject", "数学"), Some(3));
    assert_eq!(count(&r, "chapter", "第十七章 勾股定理"), Some(2));
    assert_eq!(count(&r, "kind", "courseware"), Some(2));
    assert_eq!(count(&r, "level", "school"), Some(2));
    assert_eq!(count(&r, "level", "district"), Some(1));
    assert_eq!(count(&r, "school", "上城区实验小学"), Some(2));
    assert_eq!(count(&r, "school", "上城区第一中学"), Some(1));

    // A chapter (unit) includes the resources on its sections.
    let chapter = node(&lib, PYTHAGORAS_17).await;
    let mut i = SearchInput::text("zqxfacet");
    i.chapter = Some(chapter);
    let r = find(&lib, "teacher", i.clone()).await;
    let mut got = ids(&r);
    got.sort();
    let mut want = vec![a, b];
    want.sort();
    assert_eq!(got, want);
    assert!(
        r.facets.iter().any(
            |g| g.dimension == "chapter" && g.values.iter().any(|v| v.selected && v.count == 2)
        )
    );

    // Three facets at once, and browsing (no text) with them.
    let edition = r
        .facets
        .iter()
        .find(|g| g.dimension == "edition")
        .unwrap()
        .values[0]
        .value
        .parse()
        .unwrap();
    i.chapter = None;
    i.edition = Some(edition);
    i.kind = Some(resources::model::Kind::Courseware);
    i.level = Some(Scope::School);
    let r = find(&lib, "teacher", i.clone()).await;
    assert_eq!(ids(&r), vec![a]);
    i.q.clear();
    let r = find(&lib, "teacher", i).await;
    assert!(ids(&r).contains(&a) && !ids(&r).contains(&b) && !ids(&r).contains(&c));
    let mut i = SearchInput::text("zqxfacet");
    i.school = Some(lib.actor("s1t002").await.org_id);
    assert_eq!(ids(&find(&lib, "teacher", i).await), vec![c]);
}

#[tokio::test]
async fn every_sort_orders_as_asked() {
    let lib = Lib::start().await;
    let tags: &[&str] = &["zqxsort"];
    let old_good = insert(
        &lib,
        R {
            title: "古诗朗读 教案",
            tags,
            quality: 90.0,
            age_days: 30,
            ..R::default()
        },
    )
    .await;
    let new_poor = insert(
        &lib,
        R {
            title: "朗读指导",
            tags,
            description: "古诗",
            quality: 10.0,
            age_days: 1,
            ..R::default()
        },
    )
    .await;
    let mid = insert(
        &lib,
        R {
            title: "课堂练习",
            tags,
            description: "古诗 朗读",
            quality: 50.0,
            age_days: 10,
            ..R::default()
        },
    )
    .await;
    search::sync(&lib.state).await.unwrap();
    let mut i = SearchInput::text("zqxsort 古诗");
    i.sort = Sort::Quality;
    assert_eq!(
        ids(&find(&lib, "teacher", i.clone()).await),
        vec![old_good, mid, new_poor]
    );
    i.sort = Sort::Newest;
    assert_eq!(
        ids(&find(&lib, "teacher", i.clone()).await),
        vec![new_poor, mid, old_good]
    );
    i.sort = Sort::Relevance;
    let r = find(&lib, "teacher", i.clone()).await;
    assert_eq!(r.items[0].id, old_good, "古诗 in the title ranks first");
    assert_eq!(r.sort, Sort::Relevance);
    // Paging.
    i.per_page = 2;
    i.page = 2;
    let r = find(&lib, "teacher", i).await;
    assert_eq!((r.total, r.pages, r.items.len()), (3, 2, 1));
}

#[tokio::test]
async fn people_find_exactly_what_is_shared_with_them() {
    let lib = Lib::start().await;
    let tags: &[&str] = &["zqxvis"];
    let other_school = insert(
        &lib,
        R {
            title: "乙校 校本",
            tags,
            author: "s1t002",
            scope: Scope::School,
            ..R::default()
        },
    )
    .await;
    let same_district = insert(
        &lib,
        R {
            title: "乙校 区本",
            tags,
            author: "s1t002",
            scope: Scope::District,
            ..R::default()
        },
    )
    .await;
    let other_district = insert(
        &lib,
        R {
            title: "西湖 区本",
            tags,
            author: "s2t002",
            scope: Scope::District,
            ..R::default()
        },
    )
    .await;
    let city = insert(
        &lib,
        R {
            title: "西湖 市本",
            tags,
            author: "s2t002",
            scope: Scope::City,
            ..R::default()
        },
    )
    .await;
    let private = insert(
        &lib,
        R {
            title: "乙校 私有",
            tags,
            author: "s1t002",
            scope: Scope::Private,
            ..R::default()
        },
    )
    .await;
    let mine = insert(
        &lib,
        R {
            title: "我的 私有",
            tags,
            author: "teacher",
            scope: Scope::Private,
            ..R::default()
        },
    )
    .await;
    let own_school = insert(
        &lib,
        R {
            title: "本校 校本",
            tags,
            author: "school_admin",
            scope: Scope::School,
            ..R::default()
        },
    )
    .await;
    search::sync(&lib.state).await.unwrap();
    let seen = |who: &'static str| {
        let lib = &lib;
        async move {
            let mut got = ids(&find(lib, who, SearchInput::text("zqxvis")).await);
            got.sort();
            got
        }
    };
    let sorted = |mut v: Vec<ResourceId>| {
        v.sort();
        v
    };
    assert_eq!(
        seen("teacher").await,
        sorted(vec![same_district, city, mine, own_school])
    );
    assert_eq!(
        seen("s1t002").await,
        sorted(vec![other_school, same_district, city, private])
    );
    // Administrators above a school see what it shares at any level, never what is private.
    assert_eq!(
        seen("district_admin").await,
        sorted(vec![other_school, same_district, city, own_school])
    );
    assert_eq!(
        seen("city_admin").await,
        sorted(vec![
            other_school,
            same_district,
            other_district,
            city,
            own_school
        ])
    );
    assert_eq!(
        seen("school2_admin").await,
        sorted(vec![other_school, same_district, city])
    );
    // A student finds none of these: they are not shared with students. Guardians do not use
    // the library.
    let student = lib.actor("student").await;
    let r = search::query(&lib.cx(&student), SearchInput::text("zqxvis"))
        .await
        .unwrap();
    assert_eq!(r.total, 0, "{r:?}");
    let guardian = lib.actor("guardian").await;
    let e = search::query(&lib.cx(&guardian), SearchInput::text("zqxvis")).await;
    assert!(matches!(e, Err(AppError::Forbidden)), "{e:?}");
}

#[tokio::test]
async fn the_index_follows_edits_and_deletions_and_a_rebuild_agrees() {
    let lib = Lib::start().await;
    let tags: &[&str] = &["zqxlog"];
    let id = insert(
        &lib,
        R {
            title: "圆的面积 导学案",
            tags,
            kind: "study_guide",
            ..R::default()
        },
    )
    .await;
    let keep = insert(
        &lib,
        R {
            title: "圆的周长 微课",
            tags,
            kind: "micro_lesson",
            ..R::default()
        },
    )
    .await;
    search::sync(&lib.state).await.unwrap();
    assert_eq!(
        ids(&find(&lib, "teacher", SearchInput::text("面积")).await),
        vec![id]
    );
    let mut both = ids(&find(&lib, "teacher", SearchInput::text("zqxlog 圆")).await);
    both.sort();
    assert_eq!(both, {
        let mut v = vec![id, keep];
        v.sort();
        v
    });
    assert_eq!(
        search::sync(&lib.state).await.unwrap(),
        0,
        "nothing new to apply"
    );

    // An edit: the old words go, the new ones come.
    let now = lib.state.clock.now();
    let mut tx = lib.state.db.begin().await.unwrap();
    on_tx!(&mut tx, c => sqlx::query("UPDATE resources SET title = '扇形的面积 导学案', version = version + 1 WHERE id = $1")
        .bind(id).execute(&mut *c).await.map(|_| ())).unwrap();
    resources::changes::record(&mut tx, id, now).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(search::sync(&lib.state).await.unwrap(), 1);
    assert_eq!(
        ids(&find(&lib, "teacher", SearchInput::text("扇形")).await),
        vec![id]
    );
    // 圆 was in the old title only (the other resource has it still).
    assert_eq!(
        ids(&find(&lib, "teacher", SearchInput::text("zqxlog 圆")).await),
        vec![keep]
    );

    // The runner, poked, applies a deletion without being asked.
    let runner = tokio::spawn(search::runner(lib.state.clone()));
    let mut tx = lib.state.db.begin().await.unwrap();
    on_tx!(&mut tx, c => sqlx::query("UPDATE resources SET deleted_at = $2 WHERE id = $1")
        .bind(id).bind(now).execute(&mut *c).await.map(|_| ()))
    .unwrap();
    resources::changes::record(&mut tx, id, now).await.unwrap();
    tx.commit().await.unwrap();
    search::poke(&lib.state);
    let mut gone = false;
    for _ in 0..100 {
        if find(&lib, "teacher", SearchInput::text("扇形")).await.total == 0 {
            gone = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    runner.abort();
    let _ = runner.await;
    assert!(gone, "the deleted resource left the index");

    // The index's last commit says how far it followed the log.
    let (max,): (i64,) = on_db!(&lib.state.db, p => sqlx::query_as("SELECT MAX(seq) FROM resource_changes").fetch_one(p).await).unwrap();
    let before = search::store::current(&lib.state).unwrap();
    assert_eq!(before.payload().unwrap(), max);

    // A rebuild gives the same answers from a new folder, and the old one is removed.
    let queries = ["zqxlog", "圆的周长", "微课", "扇形"];
    let mut answers = Vec::new();
    for q in queries {
        answers.push(ids(&find(&lib, "teacher", SearchInput::text(q)).await));
    }
    let old_dir = before.dir.clone();
    drop(before);
    let mut progress = Vec::new();
    let n = search::rebuild(&lib.state, &mut |done, total| progress.push((done, total)))
        .await
        .unwrap();
    assert!(
        n >= 1 && progress.last().is_some_and(|(d, t)| d == t),
        "{progress:?}"
    );
    let after = search::store::current(&lib.state).unwrap();
    assert_ne!(after.dir, old_dir);
    assert!(!old_dir.exists(), "the old generation is removed");
    assert_eq!(after.payload().unwrap(), max);
    for (q, want) in queries.iter().zip(&answers) {
        assert_eq!(
            &ids(&find(&lib, "teacher", SearchInput::text(q)).await),
            want,
            "{q}"
        );
    }
    assert_eq!(
        ids(&find(&lib, "teacher", SearchInput::text("微课 zqxlog")).await),
        vec![keep]
    );
    // And it keeps following the log.
    let again = insert(
        &lib,
        R {
            title: "圆柱的体积",
            tags,
            ..R::default()
        },
    )
    .await;
    assert_eq!(search::sync(&lib.state).await.unwrap(), 1);
    assert_eq!(
        ids(&find(&lib, "teacher", SearchInput::text("圆柱")).await),
        vec![again]
    );
}

//! Lesson plans: versions, links with the version used, checks, who may read and write, sharing
//! through the library's review and starting from a colleague's plan, concurrent saves.

use crate::helpers::{Teach, fields};
use kernel::{AppError, CatalogId, ResourceId};
use resources::library::review::{self, ReviewInput};
use teaching::lesson_prep::share;
use teaching::lesson_prep::write::{self, Draft, Place, StepDraft};

/// A unit of the volume the demo teacher's class studies in Chinese this term that has library
/// resources the teacher sees, and those resources.
async fn chapter(t: &Teach) -> (CatalogId, Vec<ResourceId>) {
    let teacher = t.actor("teacher").await;
    let cx = t.cx(&teacher);
    let p = resources::catalog::progress::of_class(
        &t.state.db,
        t.teacher_class().await,
        "13",
        cx.today(),
    )
    .await
    .unwrap()
    .expect("the demo class has a volume this term");
    for u in resources::catalog::tree::outline(&t.state.db, p.volume)
        .await
        .unwrap()
    {
        let nodes = resources::catalog::tree::subtree_ids(&t.state.db, u.unit.id)
            .await
            .unwrap();
        let found = resources::library::listing::on_catalog(&cx, &nodes, 5)
            .await
            .unwrap();
        if !found.is_empty() {
            return (
                u.unit.id,
                found.into_iter().map(|i| i.resource.id).collect(),
            );
        }
    }
    panic!("the demo library has resources in the class's volume");
}

fn draft(title: &str, links: &[ResourceId]) -> Draft {
    Draft {
        title: title.into(),
        objectives: "认识生字".into(),
        reflection: "我的反思".into(),
        steps: vec![
            StepDraft {
                title: "导入".into(),
                minutes: "5".into(),
                content: "出示插图".into(),
                resources: links.to_vec(),
                items: Vec::new(),
            },
            StepDraft {
                title: "练习".into(),
                minutes: "35".into(),
                ..Default::default()
            },
        ],
        ..Default::default()
    }
}

async fn place(t: &Teach) -> Place {
    Place {
        class_id: t.teacher_class().await,
        subject: "13".into(),
        catalog_id: chapter(t).await.0,
    }
}

#[tokio::test]
async fn a_plan_keeps_every_version_and_the_resource_versions_it_links() {
    let t = Teach::start().await;
    let teacher = t.actor("teacher").await;
    let cx = t.cx(&teacher);
    let (_, links) = chapter(&t).await;
    let id = write::create(&cx, &place(&t).await, &draft("识字一", &links[..1]), None)
        .await
        .unwrap();
    assert_eq!(t.facts("lesson_prep.written").await, 1);
    let plan = teaching::lesson_prep::get(&cx, id).await.unwrap();
    assert_eq!(plan.version, 1);
    let v1 = teaching::lesson_prep::content(&cx, &plan, None)
        .await
        .unwrap();
    assert_eq!(v1.steps.len(), 2);
    assert_eq!(v1.minutes(), 40);
    let link = &v1.steps[0].links[0];
    assert_eq!(link.resource_id, links[0]);
    let r = resources::library::resource::find(&t.state.db, links[0])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        link.resource_version, r.version,
        "the link keeps the version used"
    );
    assert!(link.visible && !link.newer);

    // An unchanged save writes no version; a change writes version 2 and keeps version 1.
    assert_eq!(
        write::save(&cx, id, 1, &draft("识字一", &links[..1]))
            .await
            .unwrap(),
        1
    );
    let mut changed = draft("识字一（修改）", &links[..1]);
    changed.steps[1].minutes = "30".into();
    assert_eq!(write::save(&cx, id, 1, &changed).await.unwrap(), 2);
    let plan = teaching::lesson_prep::get(&cx, id).await.unwrap();
    assert_eq!((plan.version, plan.title.as_str()), (2, "识字一（修改）"));
    let old = teaching::lesson_prep::content(&cx, &plan, Some(1))
        .await
        .unwrap();
    assert_eq!(old.title, "识字一");
    assert_eq!(old.minutes(), 40);
    let new = teaching::lesson_prep::content(&cx, &plan, None)
        .await
        .unwrap();
    assert_eq!(new.minutes(), 35);
    assert_eq!(
        teaching::lesson_prep::versions(&cx, &plan)
            .await
            .unwrap()
            .len(),
        2
    );

    // A save from an old version is refused and changes nothing.
    let e = write::save(&cx, id, 1, &draft("过时的修改", &[]))
        .await
        .unwrap_err();
    assert!(
        matches!(e, AppError::Conflict("teaching.plan_changed", _)),
        "{e:?}"
    );
    let plan = teaching::lesson_prep::get(&cx, id).await.unwrap();
    assert_eq!(plan.version, 2);
    assert_eq!(
        t.facts("lesson_prep.written").await,
        1,
        "a plan is written once"
    );
    assert_eq!(
        t.count("SELECT COUNT(*) FROM audit_log WHERE action LIKE 'lesson_plan.%'")
            .await,
        2
    );
}

#[tokio::test]
async fn bad_plans_are_refused_field_by_field() {
    let t = Teach::start().await;
    let teacher = t.actor("teacher").await;
    let cx = t.cx(&teacher);
    let p = place(&t).await;
    let mut d = draft("", &[]);
    d.steps[1].minutes = "九十".into();
    d.steps.push(StepDraft {
        minutes: "5".into(),
        content: "没有名称的环节".into(),
        ..Default::default()
    });
    d.key_points = "长".repeat(5001);
    let f = fields(write::create(&cx, &p, &d, None).await.unwrap_err());
    let names: Vec<&str> = f.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["title", "key_points", "steps.2.minutes", "steps.3.title"]
    );

    // A resource the teacher does not see cannot be placed: another school's private one.
    let (hidden,): (ResourceId,) = kernel::on_db!(&t.state.db, q => sqlx::query_as(
        "SELECT id FROM resources WHERE scope = 'private' AND author_id <> $1 LIMIT 1",
    ).bind(teacher.person_id).fetch_one(q).await)
    .expect("the demo library has private resources of other teachers");
    let f = fields(
        write::create(&cx, &p, &draft("课题", &[hidden]), None)
            .await
            .unwrap_err(),
    );
    assert_eq!(
        f,
        [(
            "steps.1.resources".to_owned(),
            "error.teaching.link_unknown".to_owned()
        )]
    );
    let ghost = ResourceId::new();
    let f = fields(
        write::create(&cx, &p, &draft("课题", &[ghost]), None)
            .await
            .unwrap_err(),
    );
    assert_eq!(f[0].0, "steps.1.resources");

    // A class the teacher does not teach, and a chapter of another subject.
    let (_, their_class) = t.colleague().await;
    let mut wrong = p.clone();
    wrong.class_id = their_class;
    let f = fields(
        write::create(&cx, &wrong, &draft("课题", &[]), None)
            .await
            .unwrap_err(),
    );
    assert_eq!(
        f[0],
        (
            "class".to_owned(),
            "error.teaching.not_your_class".to_owned()
        )
    );
    let (maths,): (CatalogId,) = kernel::on_db!(&t.state.db, q => sqlx::query_as(
        "SELECT id FROM catalog_nodes WHERE subject = '14' AND kind = 'unit' LIMIT 1",
    ).fetch_one(q).await)
    .unwrap();
    let mut wrong = p.clone();
    wrong.catalog_id = maths;
    let f = fields(
        write::create(&cx, &wrong, &draft("课题", &[]), None)
            .await
            .unwrap_err(),
    );
    assert_eq!(
        f[0],
        ("catalog_id".to_owned(), "error.teaching.chapter".to_owned())
    );
    assert_eq!(
        t.count("SELECT COUNT(*) FROM lesson_plans").await,
        0,
        "nothing half-written"
    );
    assert_eq!(
        t.count("SELECT COUNT(*) FROM lesson_plan_versions").await,
        0
    );
}

#[tokio::test]
async fn only_the_author_writes_and_the_school_above_reads() {
    let t = Teach::start().await;
    let teacher = t.actor("teacher").await;
    let id = write::create(&t.cx(&teacher), &place(&t).await, &draft("课题", &[]), None)
        .await
        .unwrap();
    for who in ["school_admin", "district_admin", "city_admin"] {
        let a = t.actor(who).await;
        let plan = teaching::lesson_prep::get(&t.cx(&a), id).await.unwrap();
        assert_eq!(plan.title, "课题", "{who} reads the plans below them");
        let e = write::save(&t.cx(&a), id, 1, &draft("改", &[]))
            .await
            .unwrap_err();
        assert!(matches!(e, AppError::Forbidden), "{who}: {e:?}");
        let e = write::delete(&t.cx(&a), id).await.unwrap_err();
        assert!(matches!(e, AppError::Forbidden), "{who}: {e:?}");
    }
    let (colleague, _) = t.colleague().await;
    for a in [
        colleague,
        t.actor("student").await,
        t.actor("guardian").await,
    ] {
        let e = teaching::lesson_prep::get(&t.cx(&a), id).await.unwrap_err();
        assert!(
            matches!(e, AppError::NotFound("teaching.plan_not_found")),
            "{e:?}"
        );
        let e = write::save(&t.cx(&a), id, 1, &draft("改", &[]))
            .await
            .unwrap_err();
        assert!(matches!(e, AppError::NotFound(_)), "{e:?}");
    }
    write::delete(&t.cx(&teacher), id).await.unwrap();
    let e = teaching::lesson_prep::get(&t.cx(&teacher), id)
        .await
        .unwrap_err();
    assert!(matches!(e, AppError::NotFound(_)));
    assert!(
        teaching::lesson_prep::mine(&t.cx(&teacher), 10)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_shared_plan_goes_through_review_and_a_colleague_starts_from_it() {
    let t = Teach::start().await;
    let teacher = t.actor("teacher").await;
    let cx = t.cx(&teacher);
    let (_, links) = chapter(&t).await;
    let id = write::create(&cx, &place(&t).await, &draft("识字二", &links[..1]), None)
        .await
        .unwrap();
    let r = share::share(&cx, id).await.unwrap();
    assert_eq!(r.kind, "teaching_design");
    assert_eq!(r.pending_level.as_deref(), Some("school"));
    assert_eq!(t.facts("lesson_prep.shared").await, 1);
    let e = share::share(&cx, id).await.unwrap_err();
    assert!(
        matches!(e, AppError::Conflict("teaching.plan_shared", _)),
        "{e:?}"
    );
    // The document in the library holds the plan in the template's order.
    let blob = r.blob_hash.clone().unwrap();
    let text = resources::files::store::get_small(&t.state, &blob)
        .await
        .unwrap();
    let text = String::from_utf8(text.to_vec()).unwrap();
    let at = |s: &str| text.find(s).unwrap_or_else(|| panic!("{s} in {text}"));
    assert!(at("识字二") < at("一、教学目标"));
    assert!(at("一、教学目标") < at("四、教学过程"));
    assert!(at("1. 导入（5 分钟）") < at("七、教学反思"));

    // Waiting for review, colleagues do not see it; approved by the school, they do.
    let (colleague, their_class) = t.colleague().await;
    let ccx = t.cx(&colleague);
    assert!(share::for_me(&ccx, 10).await.unwrap().is_empty());
    let admin = t.actor("school_admin").await;
    review::approve(
        &t.cx(&admin),
        r.id,
        ReviewInput {
            version: r.version,
            comment: "好".into(),
            score: Some(4),
        },
    )
    .await
    .unwrap();
    let found = share::for_me(&ccx, 10).await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].plan.id, id);

    let mine = Place {
        class_id: their_class,
        subject: "13".into(),
        catalog_id: found[0].plan.catalog_id,
    };
    let copy = share::start_from(&ccx, id, &mine).await.unwrap();
    let plan = teaching::lesson_prep::get(&ccx, copy).await.unwrap();
    assert_eq!(plan.based_on, Some(id));
    assert_eq!(plan.based_on_version, Some(1));
    assert_eq!(plan.author_id, colleague.person_id);
    let c = teaching::lesson_prep::content(&ccx, &plan, None)
        .await
        .unwrap();
    assert_eq!(c.title, "识字二");
    assert!(
        c.reflection.is_empty(),
        "a colleague's reflection is not copied"
    );
    assert_eq!(
        c.steps[0].links.len(),
        1,
        "links the colleague sees are kept"
    );

    // The author changes the plan and shares again: a new version of the same resource, back
    // in the school's review; colleagues still start from what was approved.
    write::save(&cx, id, 1, &draft("识字二（第二稿）", &links[..1]))
        .await
        .unwrap();
    let r2 = share::share(&cx, id).await.unwrap();
    assert_eq!(r2.id, r.id);
    assert!(r2.version > r.version);
    assert_eq!(r2.pending_level.as_deref(), Some("school"));
    assert_eq!(t.facts("lesson_prep.shared").await, 2);
    // A student cannot start from it: they see no teaching designs.
    let student = t.actor("student").await;
    let e = share::start_from(&t.cx(&student), id, &mine)
        .await
        .unwrap_err();
    assert!(
        matches!(e, AppError::NotFound(_) | AppError::Forbidden),
        "{e:?}"
    );
}

#[tokio::test]
async fn two_saves_from_one_version_never_both_win() {
    let t = Teach::start().await;
    let teacher = t.actor("teacher").await;
    let cx = t.cx(&teacher);
    let id = write::create(&cx, &place(&t).await, &draft("并发", &[]), None)
        .await
        .unwrap();
    let (a, b) = (draft("甲的修改", &[]), draft("乙的修改", &[]));
    let (ra, rb) = tokio::join!(write::save(&cx, id, 1, &a), write::save(&cx, id, 1, &b));
    let won = [ra.is_ok(), rb.is_ok()];
    assert_eq!(won.iter().filter(|w| **w).count(), 1, "{ra:?} {rb:?}");
    for r in [ra, rb] {
        if let Err(e) = r {
            assert!(
                matches!(
                    e,
                    AppError::Conflict("teaching.plan_changed", _) | AppError::Database(_)
                ),
                "{e:?}"
            );
        }
    }
    assert_eq!(
        t.count("SELECT COUNT(*) FROM lesson_plan_versions").await,
        2
    );
}

#[tokio::test]
async fn the_demo_gives_the_teacher_a_plan_and_a_colleagues_design() {
    let t = Teach::start().await;
    teaching::demo::load(&t.state).await.unwrap();
    teaching::demo::load(&t.state).await.unwrap();
    let teacher = t.actor("teacher").await;
    let cx = t.cx(&teacher);
    let mine = teaching::lesson_prep::mine(&cx, 10).await.unwrap();
    assert_eq!(mine.len(), 1, "the demo loads once");
    assert_eq!(mine[0].version, 2);
    assert!(mine[0].resource_id.is_some());
    let c = teaching::lesson_prep::content(&cx, &mine[0], None)
        .await
        .unwrap();
    assert!(
        c.steps.iter().any(|s| !s.links.is_empty()),
        "library resources are placed"
    );
    let shared = share::for_me(&cx, 10).await.unwrap();
    assert_eq!(shared.len(), 1);
    assert_eq!(shared[0].resource.scope, "school");
}

/// The PPTX of a courseware resource, its slides' XML joined.
async fn slides_of(t: &Teach, r: &resources::model::ResourceRow) -> (Vec<u8>, String) {
    let bytes = resources::files::store::get_small(&t.state, r.blob_hash.as_deref().unwrap())
        .await
        .unwrap()
        .to_vec();
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes.clone())).unwrap();
    let mut xml = String::new();
    for i in 1.. {
        let Ok(mut f) = z.by_name(&format!("ppt/slides/slide{i}.xml")) else {
            break;
        };
        std::io::Read::read_to_string(&mut f, &mut xml).unwrap();
    }
    (bytes, xml)
}

#[tokio::test]
async fn a_plan_becomes_courseware_in_the_library_and_new_versions_of_it() {
    let t = Teach::start().await;
    let teacher = t.actor("teacher").await;
    let cx = t.cx(&teacher);
    let (_, links) = chapter(&t).await;
    let id = write::create(&cx, &place(&t).await, &draft("识字三", &links[..1]), None)
        .await
        .unwrap();
    let r = teaching::lesson_prep::courseware::save(&cx, id)
        .await
        .unwrap();
    assert_eq!(r.kind, "courseware");
    assert_eq!(r.scope, "private", "the author shares it when ready");
    assert!(r.file_name.as_deref().unwrap().ends_with(".pptx"));
    let (_, xml) = slides_of(&t, &r).await;
    assert!(xml.contains("识字三") && xml.contains("导入") && xml.contains("练习"));
    assert!(xml.contains("5 分钟"), "a step's minutes are on its slide");
    let plan = teaching::lesson_prep::get(&cx, id).await.unwrap();
    assert_eq!(plan.courseware_id, Some(r.id));

    write::save(&cx, id, 1, &draft("识字三（修改）", &links[..1]))
        .await
        .unwrap();
    let again = teaching::lesson_prep::courseware::save(&cx, id)
        .await
        .unwrap();
    assert_eq!(again.id, r.id, "the same resource");
    assert_eq!(again.version, r.version + 1);
    let (_, xml) = slides_of(&t, &again).await;
    assert!(xml.contains("识字三（修改）"));

    let admin = t.actor("school_admin").await;
    let e = teaching::lesson_prep::courseware::save(&t.cx(&admin), id)
        .await
        .unwrap_err();
    assert!(matches!(e, AppError::Forbidden), "{e:?}");
}

#[tokio::test]
#[ignore = "needs LibreOffice (CI installs it)"]
async fn libreoffice_opens_the_courseware() {
    let t = Teach::start().await;
    let teacher = t.actor("teacher").await;
    let cx = t.cx(&teacher);
    let id = write::create(&cx, &place(&t).await, &draft("勾股定理", &[]), None)
        .await
        .unwrap();
    assert!(
        resources::files::preview::soffice(&t.state).is_some(),
        "soffice on the PATH"
    );
    let r = teaching::lesson_prep::courseware::save(&cx, id)
        .await
        .unwrap();
    // The demo library's own office files wait for their previews too: convert until ours.
    let hash = r.blob_hash.clone().unwrap();
    for _ in 0..50 {
        let blob = resources::files::blob::find(&t.state.db, &hash)
            .await
            .unwrap()
            .unwrap();
        if blob.preview_state != "pending" {
            break;
        }
        resources::files::preview::run_once(&t.state, chrono::Utc::now())
            .await
            .unwrap();
    }
    let blob = resources::files::blob::find(&t.state.db, &hash)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(blob.preview_state, "ready");
    let s = resources::files::store::store(&t.state).unwrap();
    let pdf = s
        .get(&resources::files::store::preview_key(&hash))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let text = resources::files::extract::from_bytes(
        "application/pdf",
        resources::files::sniff::Category::Pdf,
        &pdf,
    );
    assert!(text.contains("勾股定理") && text.contains("导入"), "{text}");
}

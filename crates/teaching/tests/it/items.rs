//! The question bank: items of every type written through the editor's fields, read by the
//! school's teachers only, changed by their author only (a stale change refused), found by
//! knowledge point; the pages render mathematics as MathML and mark a tried answer.

use crate::helpers::{Teach, fields};
use kernel::AppError;
use teaching::items::bank::{self, Filter, Place};
use teaching::items::form::Draft;
use teaching::items::score::Key;

fn draft(kind: &str, stem: &str, choices: &str, answer: &str) -> Draft {
    Draft {
        kind: kind.into(),
        stem: stem.into(),
        choices: choices.into(),
        answer: answer.into(),
        points: "2".into(),
        difficulty: "2".into(),
        ..Default::default()
    }
}

async fn place(t: &Teach) -> Place {
    teaching::knowledge::import::demo(&t.state).await.unwrap();
    let teacher = t.actor("teacher").await;
    let regions = resources::catalog::tree::regions_for(&t.state.db, &teacher)
        .await
        .unwrap();
    let mut points = Vec::new();
    for r in regions {
        points.extend(
            teaching::knowledge::tree(&t.state.db, r, "primary", "13", false)
                .await
                .unwrap(),
        );
    }
    let p = points
        .iter()
        .find(|p| p.name == "声调")
        .expect("the demo's 声调");
    Place {
        stage: "primary".into(),
        subject: "13".into(),
        catalog_id: None,
        points: vec![p.id],
    }
}

#[tokio::test]
async fn every_type_is_written_and_read_back_by_the_school() {
    let t = Teach::start().await;
    let teacher = t.actor("teacher").await;
    let cx = t.cx(&teacher);
    let p = place(&t).await;
    let drafts = [
        draft("single", "“天”的声调是？", "第一声\n第二声\n第三声", "A"),
        draft("multiple", "下列是韵母的有？", "a\nb\no\ne", "ACD"),
        draft("true_false", "“人”字有两画。", "", "对"),
        draft("blanks", "“地”的拼音是 ____。", "", "dì|di4"),
        draft("pinyin", "给“马”注音：（　）", "", "mǎ"),
        draft("matching", "连一连", "天 = tiān\n地 = dì", ""),
        draft("ordering", "按笔顺排列", "撇\n捺", ""),
        draft("essay", "写一写你的好朋友。", "", ""),
    ];
    for d in &drafts {
        let id = bank::create(&cx, d, &p)
            .await
            .unwrap_or_else(|e| panic!("{}: {e:?}", d.kind));
        let item = bank::get(&cx, id).await.unwrap();
        assert_eq!(item.kind, d.kind);
        assert_eq!(item.points, 200);
    }
    let all = bank::list(&cx, &Filter::default()).await.unwrap();
    assert_eq!(all.len(), drafts.len());
    let by_point = bank::list(
        &cx,
        &Filter {
            point: p.points[0].to_string(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(by_point.len(), drafts.len());
    let pinyin = all.iter().find(|i| i.kind == "pinyin").unwrap();
    assert_eq!(
        pinyin.key(),
        Key::Pinyin {
            accepted: vec![vec!["mǎ".into()]]
        }
    );

    // A colleague of the school reads them; a teacher of another school does not.
    let (colleague, _) = t.colleague().await;
    assert_eq!(
        bank::list(&t.cx(&colleague), &Filter::default())
            .await
            .unwrap()
            .len(),
        drafts.len()
    );
    let other: kernel::PersonId =
        kernel::on_db!(&t.state.db, q => sqlx::query_as::<_, (kernel::PersonId,)>(
        "SELECT r.person_id FROM role_assignments r JOIN persons p ON p.id = r.person_id
         WHERE r.role = 'teacher' AND p.org_id <> $1 LIMIT 1",
    ).bind(teacher.org_id).fetch_one(q).await)
        .unwrap()
        .0;
    let other = t.actor_of(other).await;
    assert!(
        bank::list(&t.cx(&other), &Filter::default())
            .await
            .unwrap()
            .is_empty()
    );
    let e = bank::get(&t.cx(&other), all[0].id).await.unwrap_err();
    assert!(
        matches!(e, AppError::NotFound("teaching.item_not_found")),
        "{e:?}"
    );
    let student = t.actor("student").await;
    let e = bank::get(&t.cx(&student), all[0].id).await.unwrap_err();
    assert!(matches!(e, AppError::NotFound(_)), "{e:?}");
}

#[tokio::test]
async fn only_the_author_changes_an_item_and_a_stale_change_is_refused() {
    let t = Teach::start().await;
    let teacher = t.actor("teacher").await;
    let cx = t.cx(&teacher);
    let p = place(&t).await;
    let id = bank::create(&cx, &draft("single", "题", "甲\n乙", "A"), &p)
        .await
        .unwrap();
    bank::update(&cx, id, 1, &draft("single", "改过的题", "甲\n乙", "B"), &p)
        .await
        .unwrap();
    let item = bank::get(&cx, id).await.unwrap();
    assert_eq!((item.version, item.stem.as_str()), (2, "改过的题"));
    assert_eq!(item.key(), Key::Single { correct: 1 });
    let e = bank::update(&cx, id, 1, &draft("single", "旧的", "甲\n乙", "A"), &p)
        .await
        .unwrap_err();
    assert!(
        matches!(e, AppError::Conflict("teaching.item_changed", _)),
        "{e:?}"
    );
    let (colleague, _) = t.colleague().await;
    let e = bank::update(
        &t.cx(&colleague),
        id,
        2,
        &draft("single", "别人", "甲\n乙", "A"),
        &p,
    )
    .await
    .unwrap_err();
    assert!(matches!(e, AppError::Forbidden), "{e:?}");
    // Bad fields and a knowledge point of another subject are refused field by field.
    let mut wrong = p.clone();
    wrong.subject = "14".into();
    let f = fields(
        bank::create(&cx, &draft("single", "", "甲", "C"), &wrong)
            .await
            .unwrap_err(),
    );
    let names: Vec<&str> = f.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["points_ids", "stem", "choices", "answer"]);
    bank::delete(&cx, id).await.unwrap();
    assert!(bank::get(&cx, id).await.is_err());
}

fn file(name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("jy-items-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[tokio::test]
async fn the_template_imports_and_a_bad_sheet_names_every_problem() {
    use teaching::items::import::{self, ImportError};
    let t = Teach::start().await;
    let teacher = t.actor("teacher").await;
    let cx = t.cx(&teacher);
    let _ = place(&t).await;
    let template = import::template().unwrap();
    let done = import::run(&cx, "试题.xlsx", &file("试题.xlsx", &template.bytes))
        .await
        .unwrap();
    assert_eq!(done.items, 4);
    let items = bank::list(&cx, &Filter::default()).await.unwrap();
    // The short answer's rubric came from its column: two criteria, their levels' points.
    let short = items.iter().find(|i| i.kind == "short_answer").unwrap();
    let rubric = short.options().rubric;
    assert_eq!(rubric.len(), 2);
    assert_eq!(rubric[0].name, "用字");
    assert_eq!(rubric[0].levels[0].1, 200);
    let single = items.iter().find(|i| i.kind == "single").unwrap();
    assert_eq!(single.key(), Key::Single { correct: 0 });
    let points = bank::points_of(&t.state.db, single.id).await.unwrap();
    assert_eq!(points[0].path, "识字与写字 / 汉语拼音 / 声调");
    assert!(
        items
            .iter()
            .any(|i| i.kind == "blanks" && i.subject == "14")
    );

    let bad = "学段,学科,题型,题干,选项A,选项B,答案,知识点\n\
        小学,语文,猜谜题,谜面,,,,\n\
        小学,语文,单选题,选哪个,甲,乙,C,\n\
        小学,语文,填空题,____ 和 ____,,,一,\n\
        小学,语文,判断题,对不对,,,对,识字与写字/不存在的点\n";
    let Err(ImportError::Rejected(r)) =
        import::run(&cx, "坏试题.csv", &file("坏试题.csv", bad.as_bytes())).await
    else {
        panic!("refused");
    };
    let all = r.problems.join("\n");
    assert_eq!(r.problem_count, 4, "{all}");
    for want in [
        "坏试题.csv：第 2 行 C 列（题型）“猜谜题”",
        "第 3 行 G 列（答案）“C”",
        "第 4 行 G 列（答案）“一”",
        "第 5 行 H 列（知识点）",
    ] {
        assert!(all.contains(want), "{want} in\n{all}");
    }
    assert_eq!(
        bank::list(&cx, &Filter::default()).await.unwrap().len(),
        4,
        "nothing from a refused file"
    );
}

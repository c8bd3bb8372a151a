//! The teaching demo, loaded after the demo region and library: the demo teacher's lesson plan
//! for the chapter their class is on now, in two versions with library resources placed in its
//! steps and shared to the library (waiting for the school's review, so the school
//! administrator has it to review) and taught yesterday (its resources shown, two students
//! picked, a quick question the demo student answered); a colleague's plan on the same
//! chapter with the word cards they made, both approved by the school, which the demo teacher
//! finds among colleagues' shared designs and places in their own plan.

use crate::classroom::{self, questions};
use crate::lesson_prep::write::{self, Draft, Place, StepDraft};
use crate::lesson_prep::{self, share};
use kernel::{Actor, AppResult, AppState, Ctx, NodeId, PersonId, RequestMeta, actor::Via, on_db};
use resources::library::review::{self, ReviewInput};
use resources::model::ResourceRow;

async fn actor(state: &AppState, username: &str) -> AppResult<Option<Actor>> {
    match identity::accounts::find_by_username(&state.db, username).await? {
        Some(a) => Actor::load(&state.db, a.person_id, Via::Session).await,
        None => Ok(None),
    }
}

fn at<'a>(state: &'a AppState, actor: &'a Actor, meta: &'a RequestMeta, days_ago: i64) -> Ctx<'a> {
    let mut cx = Ctx::new(state, actor, meta);
    cx.now -= chrono::Duration::days(days_ago);
    cx
}

/// The plan of the demo: (title suffix, reflection) and its steps.
fn draft(chapter: &str, reflection: &str, resources: &[kernel::ResourceId]) -> Draft {
    let first = resources.first().copied().into_iter().collect::<Vec<_>>();
    let rest = resources.iter().skip(1).copied().collect::<Vec<_>>();
    Draft {
        title: chapter.to_owned(),
        objectives: "1. 认识本课生字，会写其中的字。\n2. 正确、流利地朗读课文，背诵课文。\n3. 结合图画理解课文内容，感受学习的乐趣。".into(),
        key_points: "重点：识字、写字，正确朗读课文。\n难点：在情境中理解词语，乐于表达。".into(),
        preparation: "生字卡片、课文朗读音频、课件。".into(),
        board: format!("{chapter}\n生字：天 地 人 你 我 他"),
        homework: "1. 读一读：把课文读给家长听。\n2. 写一写：在田字格中练写生字（约 10 分钟）。".into(),
        reflection: reflection.into(),
        steps: vec![
            StepDraft {
                title: "情境导入".into(),
                minutes: "5".into(),
                content: "出示课文插图，请学生说说看到了什么，引出课题。".into(),
                resources: first,
                items: Vec::new(),
            },
            StepDraft {
                title: "识字学词".into(),
                minutes: "15".into(),
                content: "借助拼音自读课文，圈出生字；同桌互相认读生字卡片；开火车读词语。".into(),
                resources: rest,
                items: Vec::new(),
            },
            StepDraft {
                title: "朗读感悟".into(),
                minutes: "12".into(),
                content: "听范读，学生练读，指名读，齐读；结合插图理解课文内容。".into(),
                resources: Vec::new(),
                items: Vec::new(),
            },
            StepDraft {
                title: "指导书写".into(),
                minutes: "8".into(),
                content: "观察生字在田字格中的位置，教师范写，学生描红、临写，展示评议。".into(),
                resources: Vec::new(),
                items: Vec::new(),
            },
        ],
    }
}

/// Loads the demo once (does nothing if there are plans already, or no demo region).
pub async fn load(state: &AppState) -> AppResult<()> {
    crate::knowledge::import::demo(state).await?;
    let (n,): (i64,) = on_db!(&state.db, p => sqlx::query_as("SELECT COUNT(*) FROM lesson_plans").fetch_one(p).await)?;
    if n > 0 {
        return Ok(());
    }
    let (Some(teacher), Some(school_admin)) = (
        actor(state, "teacher").await?,
        actor(state, "school_admin").await?,
    ) else {
        return Ok(());
    };
    let meta = RequestMeta::cli();
    let Some(class) = teacher
        .grants_of(kernel::Role::HeadTeacher)
        .map(|g| g.node_id)
        .next()
    else {
        return Ok(());
    };
    let cx = at(state, &teacher, &meta, 0);
    let Some(progress) =
        resources::catalog::progress::of_class(&state.db, class, "13", cx.today()).await?
    else {
        return Ok(());
    };
    let chapter = resources::catalog::tree::get(&state.db, progress.current).await?;
    let nodes = resources::catalog::tree::subtree_ids(&state.db, chapter.id).await?;
    let mut linked: Vec<kernel::ResourceId> =
        resources::library::listing::on_catalog(&cx, &nodes, 3)
            .await?
            .into_iter()
            .map(|i| i.resource.id)
            .collect();

    // A colleague's plan on the same chapter, shared and approved by the school a week ago,
    // with the word cards they made for it (approved too, so the demo teacher uses them).
    if let Some((colleague, their_class)) = colleague(state, class).await?
        && let Some(colleague) = Actor::load(&state.db, colleague, Via::Session).await?
    {
        let ccx = at(state, &colleague, &meta, 10);
        let cards = word_cards(&ccx, &chapter).await?;
        let r = review::submit(&ccx, cards.id, input(&cards, "", None)).await?;
        review::approve(
            &at(state, &school_admin, &meta, 9),
            r.id,
            input(&r, "字卡清晰，可供全校使用。", Some(4)),
        )
        .await?;
        linked.insert(0, r.id);
        let ccx = at(state, &colleague, &meta, 9);
        let place = Place {
            class_id: their_class,
            subject: "13".into(),
            catalog_id: chapter.id,
        };
        let id = write::create(
            &ccx,
            &place,
            &draft(
                &chapter.name,
                "学生识字兴趣浓，书写姿势还需要反复提醒。",
                &linked,
            ),
            None,
        )
        .await?;
        let r = share::share(&at(state, &colleague, &meta, 8), id).await?;
        review::approve(
            &at(state, &school_admin, &meta, 7),
            r.id,
            input(
                &r,
                "环节清晰，识字与朗读结合得好，推荐同年级参考。",
                Some(4),
            ),
        )
        .await?;
    }

    // The demo teacher's own plan: written three days ago, improved yesterday, then shared.
    let place = Place {
        class_id: class,
        subject: "13".into(),
        catalog_id: chapter.id,
    };
    let first = draft(&chapter.name, "", &linked);
    let id = write::create(&at(state, &teacher, &meta, 3), &place, &first, None).await?;
    let mut second = first.clone();
    second.reflection = "识字环节用时超出预计，下次把开火车读词语放到巩固练习中。".into();
    if let Some(step) = second.steps.get_mut(1) {
        step.minutes = "13".into();
    }
    write::save(&at(state, &teacher, &meta, 1), id, 1, &second).await?;
    share::share(&at(state, &teacher, &meta, 1), id).await?;

    // Taught yesterday: every slide shown, two students picked, a quick question answered.
    let tcx = at(state, &teacher, &meta, 1);
    let lesson = classroom::start(&tcx, id).await?;
    let plan = lesson_prep::get(&tcx, id).await?;
    let content = lesson_prep::content(&tcx, &plan, None).await?;
    if let Some(l) = classroom::find(&state.db, lesson).await? {
        for step in &content.steps {
            let links: Vec<_> = step
                .links
                .iter()
                .map(|k| (k.resource_id, k.resource_version))
                .collect();
            classroom::shown(&tcx, &l, &links).await?;
        }
    }
    classroom::pick(&tcx, lesson).await?;
    classroom::pick(&tcx, lesson).await?;
    let q = questions::ask(&tcx, lesson, "“天”字一共有几画？", 4, Some(1)).await?;
    if let Some(student) = actor(state, "student").await? {
        questions::answer(&at(state, &student, &meta, 1), q, Some(1), "").await?;
    }
    classroom::end(&tcx, lesson).await?;
    items(state, &teacher, &meta).await?;
    crate::assignments::demo::load(state, &teacher, class).await?;
    let student = actor(state, "student").await?;
    crate::practice::demo::load(state, &teacher, class, student.as_ref()).await?;
    Ok(())
}

/// The demo teacher's items in the school's bank, on the demo's knowledge points.
async fn items(state: &AppState, teacher: &Actor, meta: &RequestMeta) -> AppResult<()> {
    use crate::items::bank::{self, Place};
    use crate::items::form::Draft;
    let cx = at(state, teacher, meta, 2);
    let mut points = Vec::new();
    for r in resources::catalog::tree::regions_for(&state.db, teacher).await? {
        points.extend(crate::knowledge::tree(&state.db, r, "primary", "13", false).await?);
    }
    let point = |name: &str| {
        points
            .iter()
            .filter(|p| p.name == name)
            .map(|p| p.id)
            .collect::<Vec<_>>()
    };
    let d = |kind: &str, stem: &str, choices: &str, answer: &str, explanation: &str| Draft {
        kind: kind.into(),
        stem: stem.into(),
        choices: choices.into(),
        answer: answer.into(),
        explanation: explanation.into(),
        points: "2".into(),
        difficulty: "2".into(),
        source: "原创".into(),
        ..Default::default()
    };
    let list = [
        (
            d(
                "single",
                "“天”字的声调是第几声？",
                "第一声\n第二声\n第三声\n第四声",
                "A",
                "tiān，第一声。",
            ),
            "声调",
        ),
        (
            d(
                "pinyin",
                "给“马”字注音：（　）",
                "",
                "mǎ",
                "马 mǎ，第三声。",
            ),
            "声调",
        ),
        (
            d(
                "blanks",
                "“人”字一共有 ____ 画。",
                "",
                "2|两|二",
                "撇、捺，共两画。",
            ),
            "基本笔画",
        ),
        (
            d(
                "true_false",
                "“木”字的第一笔是横。",
                "",
                "对",
                "木：横、竖、撇、点。",
            ),
            "笔顺规则",
        ),
        (
            d(
                "matching",
                "把字和拼音连起来。",
                "天 = tiān\n地 = dì\n人 = rén",
                "",
                "",
            ),
            "生字认读",
        ),
        (
            d(
                "multiple",
                "下面哪些是单韵母？",
                "a\nai\no\ne",
                "ACD",
                "ai 是复韵母。",
            ),
            "韵母",
        ),
    ];
    for (draft, kp) in list {
        let place = Place {
            stage: "primary".into(),
            subject: "13".into(),
            catalog_id: None,
            points: point(kp),
        };
        bank::create(&cx, &draft, &place).await?;
    }
    Ok(())
}

fn input(r: &ResourceRow, comment: &str, score: Option<i64>) -> ReviewInput {
    ReviewInput {
        version: r.version,
        comment: comment.into(),
        score,
    }
}

/// A colleague's word cards for the chapter: a small text file in the library, private until
/// reviewed.
async fn word_cards(
    cx: &Ctx<'_>,
    chapter: &resources::catalog::model::CatalogNode,
) -> AppResult<ResourceRow> {
    let text = format!(
        "{} 生字卡片\n\n天 tiān\n地 dì\n人 rén\n你 nǐ\n我 wǒ\n他 tā\n",
        chapter.name
    );
    let stream = futures_util::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from(text))]);
    let (upload, _) = resources::files::upload::store_stream(cx, "生字卡片.txt", stream).await?;
    resources::library::resource::create(
        cx,
        resources::library::resource::NewResource {
            title: format!("{} 生字卡片", chapter.name),
            description: "课堂认读、开火车读用的生字卡片。".into(),
            kind: "material".into(),
            tags: vec!["识字".into()],
            for_students: false,
            catalog_ids: vec![chapter.id],
            upload_id: Some(upload),
        },
    )
    .await
}

/// Another head teacher of the same grade who teaches Chinese, and their class.
async fn colleague(state: &AppState, class: NodeId) -> AppResult<Option<(PersonId, NodeId)>> {
    Ok(on_db!(&state.db, p => sqlx::query_as(
        "SELECT r.person_id, r.node_id FROM role_assignments r JOIN org_nodes c ON c.id = r.node_id
         WHERE r.role = 'teacher' AND r.subject = '13' AND r.node_id <> $1
           AND c.parent_id = (SELECT parent_id FROM org_nodes WHERE id = $1)
         ORDER BY c.name LIMIT 1",
    ).bind(class).fetch_optional(p).await)?)
}

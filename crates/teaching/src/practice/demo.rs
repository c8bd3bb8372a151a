//! The demo's analysis and practice, after the assignments' demo: more items on the demo's
//! knowledge points at every level; a unit test three days ago that the whole class took, each
//! student answering as a student of their ability would, all marked by rule and released (its
//! analysis and the class's heat map have something to show); the demo student's practice set
//! of yesterday (their teacher sees how their mastery moved) and one made today to do.

use crate::assignments::demo::{at, local_at as local};
use crate::assignments::{grade, set, work};
use crate::items::bank::{self, Item};
use crate::items::score::{Answer, Key};
use kernel::{Actor, AppResult, AppState, Ctx, NodeId, RequestMeta, actor::Via};

/// A right answer to an item, or a wrong one (a distractor that depends on `i`).
pub fn answer(item: &Item, right: bool, i: usize) -> Answer {
    match item.key() {
        Key::Single { correct } => Answer::Choice {
            chosen: vec![if right {
                correct
            } else {
                (correct + 1 + i % 3) % item.options().choices.len().max(1)
            }],
        },
        Key::Multiple { correct, .. } => Answer::Choice {
            chosen: if right {
                correct
            } else {
                correct[..1].to_vec()
            },
        },
        Key::TrueFalse { correct } => Answer::TrueFalse {
            value: correct == right,
        },
        Key::Pinyin { accepted } => Answer::Texts {
            texts: accepted
                .iter()
                .map(|a| {
                    if right {
                        a.first().cloned().unwrap_or_default()
                    } else {
                        "a1".into()
                    }
                })
                .collect(),
        },
        Key::Blanks { blanks, .. } => Answer::Texts {
            texts: blanks
                .iter()
                .map(|b| {
                    if right {
                        b.accepted.first().cloned().unwrap_or_default()
                    } else {
                        "不知道".into()
                    }
                })
                .collect(),
        },
        Key::Matching { pairs } => Answer::Pairs {
            pairs: if right {
                pairs.iter().map(|p| Some(*p)).collect()
            } else {
                pairs.iter().rev().map(|p| Some(*p)).collect()
            },
        },
        Key::Ordering { order, .. } => Answer::Order {
            order: if right {
                order
            } else {
                order.iter().rev().copied().collect()
            },
        },
        Key::Manual => Answer::Written {
            text: "天 地 人".into(),
            photos: Vec::new(),
        },
    }
}

/// Whether a student of ability `theta` answers right: the Rasch model's chance against the
/// item's level, drawn from a hash of the student and the item (the same every load).
fn answers_right(theta: f64, item: &Item, i: usize) -> bool {
    let chance =
        crate::analysis::mastery::chance(theta, crate::analysis::mastery::prior(item.difficulty));
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in item.stem.bytes().chain((i as u64).to_le_bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    ((h >> 11) as f64 / (1u64 << 53) as f64) < chance
}

/// More items on the demo's points, easy to hard.
async fn more_items(cx: &Ctx<'_>) -> AppResult<()> {
    use crate::items::form::Draft;
    let mut points = Vec::new();
    for r in resources::catalog::tree::regions_for(&cx.state.db, cx.actor).await? {
        points.extend(crate::knowledge::tree(&cx.state.db, r, "primary", "13", false).await?);
    }
    let point = |name: &str| {
        points
            .iter()
            .filter(|p| p.name == name)
            .map(|p| p.id)
            .collect::<Vec<_>>()
    };
    let d =
        |kind: &str, stem: &str, choices: &str, answer: &str, explanation: &str, level: &str| {
            Draft {
                kind: kind.into(),
                stem: stem.into(),
                choices: choices.into(),
                answer: answer.into(),
                explanation: explanation.into(),
                points: "2".into(),
                difficulty: level.into(),
                source: "原创".into(),
                ..Default::default()
            }
        };
    let list = [
        (
            d(
                "single",
                "“马”字是第几声？",
                "第一声\n第二声\n第三声\n第四声",
                "C",
                "mǎ，第三声。",
                "2",
            ),
            "声调",
        ),
        (
            d(
                "pinyin",
                "给“土”字注音：（　）",
                "",
                "tǔ",
                "土 tǔ，第三声。",
                "3",
            ),
            "声调",
        ),
        (
            d(
                "single",
                "“花”字的声调是第几声？",
                "第一声\n第二声\n第三声\n第四声",
                "A",
                "huā，第一声。",
                "1",
            ),
            "声调",
        ),
        (
            d(
                "true_false",
                "“ai”是单韵母。",
                "",
                "错",
                "ai 是复韵母，单韵母有 a o e i u ü。",
                "3",
            ),
            "韵母",
        ),
        (
            d(
                "multiple",
                "下面哪些是复韵母？",
                "ai\nei\na\nui",
                "ABD",
                "a 是单韵母。",
                "4",
            ),
            "韵母",
        ),
        (
            d(
                "single",
                "下面哪个是单韵母？",
                "ao\nü\nie\nou",
                "B",
                "ü 是单韵母。",
                "2",
            ),
            "韵母",
        ),
        (
            d(
                "blanks",
                "“大”字一共有 ____ 画。",
                "",
                "3|三",
                "横、撇、捺，共三画。",
                "1",
            ),
            "基本笔画",
        ),
        (
            d(
                "single",
                "“口”字的第二笔是什么？",
                "横折\n竖\n横\n撇",
                "A",
                "口：竖、横折、横。",
                "4",
            ),
            "基本笔画",
        ),
        (
            d(
                "single",
                "“火”字的第一笔是什么？",
                "点\n撇\n横\n竖",
                "A",
                "火：点、撇、撇、捺。",
                "4",
            ),
            "笔顺规则",
        ),
        (
            d(
                "true_false",
                "写“十”字时先写竖，再写横。",
                "",
                "错",
                "先横后竖。",
                "2",
            ),
            "笔顺规则",
        ),
        (
            d(
                "true_false",
                "写“人”字时先撇后捺。",
                "",
                "对",
                "先撇后捺。",
                "1",
            ),
            "笔顺规则",
        ),
        (
            d(
                "single",
                "下面哪个字读 rén？",
                "人\n入\n八\n大",
                "A",
                "人 rén。",
                "2",
            ),
            "生字认读",
        ),
        (
            d(
                "blanks",
                "“木”字加一笔，可以变成 ____ 字。",
                "",
                "本|禾|未|末",
                "本、禾、未、末都可以。",
                "5",
            ),
            "生字认读",
        ),
        (
            d(
                "single",
                "“日”和“月”合起来是什么字？",
                "明\n朋\n阳\n晶",
                "A",
                "日月为明。",
                "3",
            ),
            "生字认读",
        ),
    ];
    for (draft, kp) in list {
        let place = bank::Place {
            stage: "primary".into(),
            subject: "13".into(),
            catalog_id: None,
            points: point(kp),
        };
        bank::create(cx, &draft, &place).await?;
    }
    Ok(())
}

/// Loads the demo (called once, from the teaching demo, after the assignments' demo).
pub async fn load(
    state: &AppState,
    teacher: &Actor,
    class: NodeId,
    student: Option<&Actor>,
) -> AppResult<()> {
    let meta = RequestMeta::cli();
    let cx = at(state, teacher, &meta, 4);
    more_items(&cx).await?;
    let all = bank::list(
        &cx,
        &bank::Filter {
            subject: "13".into(),
            ..Default::default()
        },
    )
    .await?;
    let auto: Vec<&Item> = all
        .iter()
        .filter(|i| !matches!(i.key(), Key::Manual))
        .collect();

    // Set four days ago for three days ago, 9:00–9:40: a unit test of twelve items, 20
    // minutes once started.
    let zone = state.config.time_zone;
    let time = |cx: &Ctx<'_>, hour: u32, minute: u32| {
        zone.parse_input(&local(cx, 1, hour, minute))
            .unwrap_or(cx.now)
    };
    let items: Vec<&Item> = auto.iter().take(12).copied().collect();
    let d = set::Draft {
        kind: "test".into(),
        subject: "13".into(),
        classes: vec![class],
        title: "第一单元 识字测验".into(),
        instructions: "独立完成，20 分钟。".into(),
        category: "quiz".into(),
        opens_at: local(&cx, 1, 9, 0),
        due_at: local(&cx, 1, 9, 40),
        late_policy: "refuse".into(),
        expected_minutes: "20".into(),
        time_limit: "20".into(),
        items: items.iter().map(|i| i.id).collect(),
        ..set::Draft::default()
    };
    let (id, _) = set::create(&cx, &d).await?;
    let subs = crate::assignments::submissions(&state.db, id).await?;
    let n = subs.len().max(2);
    let parts = crate::assignments::parts(&state.db, id).await?;
    for (i, s) in subs.iter().enumerate() {
        let Some(actor) = Actor::load(&state.db, s.student_id, Via::Session).await? else {
            continue;
        };
        // Abilities spread from weak to strong along the class list.
        let theta = -1.6 + 3.6 * i as f64 / (n - 1) as f64;
        let mut scx = at(state, &actor, &meta, 4);
        scx.now = time(&cx, 9, 2 + (i % 5) as u32);
        work::start(&scx, id).await?;
        let answers: Vec<(i64, Answer)> = parts
            .iter()
            .filter_map(|p| {
                let item = items.iter().find(|x| x.id == p.item_id)?;
                Some((p.position, answer(item, answers_right(theta, item, i), i)))
            })
            .collect();
        work::save(&scx, id, &answers).await?;
        scx.now += chrono::Duration::minutes(12 + (i % 6) as i64);
        work::submit(&scx, id, None).await?;
    }
    let mut rcx = at(state, teacher, &meta, 4);
    rcx.now = time(&cx, 15, 0);
    grade::release(&rcx, id).await?;

    // The demo student practised yesterday, and has today's set to do.
    if let Some(student) = student {
        let scx = at(state, student, &meta, 1);
        let practice = super::start(&scx, "13").await?;
        let (_, chosen, _) = super::open(&scx, practice).await?;
        let given: Vec<(i64, Answer)> = chosen
            .iter()
            .enumerate()
            .map(|(i, p)| (p.position, answer(&p.item, i % 4 != 3, i)))
            .collect();
        super::finish(&scx, practice, &given).await?;
        super::start(&at(state, student, &meta, 0), "13").await?;
    }
    // The items' difficulties from the answers so far (the runner's work on a live node).
    while crate::analysis::mastery::calibrate(state, 2_000).await? > 0 {}
    Ok(())
}

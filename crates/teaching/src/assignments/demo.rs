//! The assignments' demo, after the demo teacher's items: in the demo teacher's class (一年级,
//! so no written homework: online practice and a photographed writing task), a practice set
//! five days ago that everyone handed in and the teacher marked and returned (the demo
//! student and their guardian see the result); a set two days ago that everyone handed in and
//! the teacher has marked half of; and today's practice, open for the demo student to do.

use super::grade::{self, Given};
use super::set::{self, Draft};
use super::{AssignmentId, work};
use crate::items::bank::{self, Item};
use crate::items::score::Answer;
use kernel::{Actor, AppResult, AppState, Ctx, NodeId, RequestMeta, actor::Via};

/// A context `days` before now (the demo's past).
pub(crate) fn at<'a>(
    state: &'a AppState,
    actor: &'a Actor,
    meta: &'a RequestMeta,
    days: i64,
) -> Ctx<'a> {
    let mut cx = Ctx::new(state, actor, meta);
    cx.now -= chrono::Duration::days(days);
    cx
}

/// A local time `days` from `cx`'s today at `hour`, as the form sends it.
fn local(cx: &Ctx<'_>, days: i64, hour: u32) -> String {
    local_at(cx, days, hour, 0)
}

/// A local time `days` from `cx`'s today at `hour:minute`, as the form sends it.
pub(crate) fn local_at(cx: &Ctx<'_>, days: i64, hour: u32, minute: u32) -> String {
    let zone = cx.state.config.time_zone;
    let day = cx.today() + chrono::Duration::days(days);
    day.and_hms_opt(hour, minute, 0)
        .and_then(|t| zone.at(t))
        .map(|t| zone.input(t))
        .unwrap_or_default()
}

/// The `i`th student's answer to an item: right for most, wrong for every third.
fn answer(item: &Item, i: usize) -> Answer {
    use crate::items::score::Key;
    let right = !i.is_multiple_of(3);
    match item.key() {
        Key::Single { correct } => Answer::Choice {
            chosen: vec![if right { correct } else { (correct + 1) % 4 }],
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
        Key::Pinyin { .. } => Answer::Texts {
            texts: vec![if right { "ma3" } else { "ma1" }.into()],
        },
        Key::Blanks { .. } => Answer::Texts {
            texts: vec![if right { "两" } else { "3" }.into()],
        },
        Key::Matching { pairs } => Answer::Pairs {
            pairs: if right {
                pairs.iter().map(|p| Some(*p)).collect()
            } else {
                pairs.iter().rev().map(|p| Some(*p)).collect()
            },
        },
        Key::Ordering { order, .. } => Answer::Order { order },
        Key::Manual => Answer::Written {
            text: if right { "天 地 人" } else { "天 地" }.into(),
            photos: Vec::new(),
        },
    }
}

async fn set_work(
    cx: &Ctx<'_>,
    class: NodeId,
    title: &str,
    instructions: &str,
    items: &[&Item],
    opens: (i64, u32),
    due: (i64, u32),
) -> AppResult<AssignmentId> {
    let d = Draft {
        kind: "homework".into(),
        subject: "13".into(),
        classes: vec![class],
        title: title.into(),
        instructions: instructions.into(),
        category: "homework".into(),
        opens_at: local(cx, opens.0, opens.1),
        due_at: local(cx, due.0, due.1),
        late_policy: "accept".into(),
        expected_minutes: "15".into(),
        written: false,
        items: items.iter().map(|i| i.id).collect(),
        ..Draft::default()
    };
    Ok(set::create(cx, &d).await?.0)
}

/// Every student of the class hands the work in `days` ago, answering each item.
async fn hand_in_all(
    state: &AppState,
    meta: &RequestMeta,
    id: AssignmentId,
    items: &[&Item],
    days: i64,
) -> AppResult<()> {
    for (i, s) in super::submissions(&state.db, id)
        .await?
        .into_iter()
        .enumerate()
    {
        let Some(student) = Actor::load(&state.db, s.student_id, Via::Session).await? else {
            continue;
        };
        let cx = at(state, &student, meta, days);
        let parts = super::parts(&state.db, id).await?;
        let answers: Vec<(i64, Answer)> = parts
            .iter()
            .filter_map(|p| {
                items
                    .iter()
                    .find(|x| x.id == p.item_id)
                    .map(|x| (p.position, answer(x, i)))
            })
            .collect();
        work::save(&cx, id, &answers).await?;
        work::submit(&cx, id, Some(12 + (i as i64 % 4) * 3)).await?;
    }
    Ok(())
}

/// The teacher marks the written item of the first `share` of the submissions (in the class's
/// order) by its rubric and returns them.
async fn mark(cx: &Ctx<'_>, id: AssignmentId, share: f64) -> AppResult<()> {
    let subs = super::submissions(&cx.state.db, id).await?;
    let parts = super::parts(&cx.state.db, id).await?;
    let n = (subs.len() as f64 * share).ceil() as usize;
    for (i, s) in subs.iter().take(n).enumerate() {
        let mut given = Vec::new();
        for p in parts.iter().filter(|p| p.manual()) {
            let good = !i.is_multiple_of(3);
            let levels: Vec<(String, String)> = p
                .options()
                .rubric
                .iter()
                .map(|c| {
                    let level = if good {
                        &c.levels[0]
                    } else {
                        &c.levels[c.levels.len() - 1]
                    };
                    (c.name.clone(), level.0.clone())
                })
                .collect();
            let points: i64 = p
                .options()
                .rubric
                .iter()
                .zip(&levels)
                .filter_map(|(c, (_, l))| c.levels.iter().find(|x| x.0 == *l).map(|x| x.1))
                .sum();
            given.push(Given {
                position: p.position,
                points: super::points_text(points),
                rubric: levels,
                comment: if good {
                    "字写得端正，继续保持。".into()
                } else {
                    "注意笔顺，“地”字少写了一个字。".into()
                },
                reason: String::new(),
                seen: None,
            });
        }
        grade::mark(cx, s.id, &given).await?;
        let feedback = if !i.is_multiple_of(3) {
            "完成得很好！"
        } else {
            "请订正后再读一读。"
        };
        grade::give_back(cx, s.id, feedback).await?;
    }
    Ok(())
}

/// Loads the demo (called once, from the teaching demo).
pub async fn load(state: &AppState, teacher: &Actor, class: NodeId) -> AppResult<()> {
    let meta = RequestMeta::cli();
    // A writing task marked with a rubric, in the school's bank beside the demo's items.
    let cx = at(state, teacher, &meta, 6);
    let writing = crate::items::form::Draft {
        kind: "writing".into(),
        stem: "照样子在田字格里写一写：天、地、人。写好后拍照上传。".into(),
        explanation: "注意“天”的两横上短下长，“人”的撇捺舒展。".into(),
        points: "4".into(),
        difficulty: "2".into(),
        source: "原创".into(),
        rubric: "书写工整：优=2，良=1.5，待改进=0.5\n笔顺正确：优=2，良=1，待改进=0".into(),
        ..Default::default()
    };
    let place = bank::Place {
        stage: "primary".into(),
        subject: "13".into(),
        ..Default::default()
    };
    bank::create(&cx, &writing, &place).await?;
    let all = bank::list(
        &cx,
        &bank::Filter {
            subject: "13".into(),
            ..Default::default()
        },
    )
    .await?;
    let of = |kind: &str| all.iter().find(|i| i.kind == kind);
    let (
        Some(single),
        Some(pinyin),
        Some(blanks),
        Some(tf),
        Some(matching),
        Some(multiple),
        Some(writing),
    ) = (
        of("single"),
        of("pinyin"),
        of("blanks"),
        of("true_false"),
        of("matching"),
        of("multiple"),
        of("writing"),
    )
    else {
        return Ok(());
    };

    // Five days ago: handed in by everyone, marked and returned.
    let first = [single, pinyin, blanks, writing];
    let cx = at(state, teacher, &meta, 5);
    let id = set_work(
        &cx,
        class,
        "识字一 课后练习",
        "读一读、选一选、写一写。书写题请拍照上传。",
        &first,
        (0, 0),
        (1, 8),
    )
    .await?;
    hand_in_all(state, &meta, id, &first, 5).await?;
    mark(&at(state, teacher, &meta, 4), id, 1.0).await?;

    // Two days ago: handed in by everyone, half marked.
    let second = [tf, matching, writing];
    let cx = at(state, teacher, &meta, 2);
    let id = set_work(
        &cx,
        class,
        "识字二 课后练习",
        "连一连，判一判，再写一写。",
        &second,
        (0, 0),
        (1, 8),
    )
    .await?;
    hand_in_all(state, &meta, id, &second, 2).await?;
    mark(&at(state, teacher, &meta, 1), id, 0.5).await?;

    // Today's practice, due tomorrow morning.
    let cx = at(state, teacher, &meta, 0);
    let today = [single, multiple, matching, tf];
    set_work(
        &cx,
        class,
        "今日练习：拼音与识字",
        "先大声读课文两遍，再完成下面的练习。",
        &today,
        (0, 0),
        (1, 8),
    )
    .await?;
    Ok(())
}

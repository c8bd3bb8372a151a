//! The demo library's resources: lesson plans, courseware, study guides, micro-lessons and
//! exercises by the demo teachers on the demo catalogue, at every level of sharing and state
//! (private, waiting at the school, shared at the school, the district, the city, rejected),
//! with small real files made here (a UTF-8 lesson plan, a PNG, a PDF) stored like any upload,
//! some use, ratings and favourites, and one published excellent-resource list. Everything goes
//! through the library's service functions, as the demo teachers and reviewers themselves.

use super::excellent::{self, NewEntry, NewList};
use super::resource::{self, NewResource};
use super::review::{self, ReviewInput};
use super::signals::{self, RatingInput};
use crate::model::ResourceRow;
mod files;

use files::file;
pub use files::png;
use kernel::actor::Via;
use kernel::{Actor, AppError, AppResult, AppState, CatalogId, Ctx, NodeId, RequestMeta, on_db};

/// Where a demo resource ends up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    Private,
    WaitingSchool,
    School,
    WaitingDistrict,
    District,
    WaitingCity,
    City,
    RejectedSchool,
    RejectedDistrict,
}

#[derive(Debug, Clone, Copy)]
enum File {
    Text,
    Png,
    Pdf,
}

struct Spec {
    author: &'static str,
    title: &'static str,
    kind: &'static str,
    /// The volume's path and the section's place in it (0-based, in catalogue order).
    volume: &'static str,
    section: usize,
    file: File,
    end: End,
    tags: &'static [&'static str],
    /// How many days ago it was uploaded.
    days: i64,
}

const P1: &str = "小学 / 语文 / 统编版 / 一年级上册";
const M1: &str = "小学 / 数学 / 人教版 / 一年级上册";
const E3: &str = "小学 / 英语 / 人教PEP版 / 三年级上册";
const J7C: &str = "初中 / 语文 / 统编版 / 七年级上册";
const J7M: &str = "初中 / 数学 / 人教版 / 七年级上册";
const J7MB: &str = "初中 / 数学 / 北师大版 / 七年级上册";
const J7E: &str = "初中 / 英语 / 人教版 / 七年级上册";
const S1C: &str = "高中 / 语文 / 统编版 / 必修上册";

#[allow(clippy::too_many_arguments)]
const fn s(
    author: &'static str,
    title: &'static str,
    kind: &'static str,
    volume: &'static str,
    section: usize,
    file: File,
    end: End,
    tags: &'static [&'static str],
    days: i64,
) -> Spec {
    Spec {
        author,
        title,
        kind,
        volume,
        section,
        file,
        end,
        tags,
        days,
    }
}

use End::*;
use File::*;

#[rustfmt::skip]
const SPECS: &[Spec] = &[
    s("teacher", "《天地人》识字教案", "lesson_plan", P1, 0, Text, City, &["识字", "情境教学"], 40),
    s("teacher", "《金木水火土》识字课件", "courseware", P1, 1, Png, District, &["识字", "课件"], 36),
    s("teacher", "《口耳目》导学案", "study_guide", P1, 2, Text, School, &["识字"], 30),
    s("teacher", "《对韵歌》朗读微课设计", "micro_lesson", P1, 4, Pdf, WaitingSchool, &["朗读", "微课"], 3),
    s("teacher", "《秋天》教学设计", "teaching_design", P1, 18, Pdf, WaitingDistrict, &["阅读", "季节"], 12),
    s("teacher", "《小小的船》课后练习", "exercise", P1, 19, Text, Private, &["练习"], 2),
    s("teacher", "《江南》配图素材", "material", P1, 20, Png, RejectedSchool, &["古诗", "素材"], 9),
    s("s0t004", "《a o e》拼音教案", "lesson_plan", P1, 5, Text, School, &["汉语拼音"], 25),
    s("s0t004", "《i u ü y w》拼读练习", "exercise", P1, 6, Text, WaitingCity, &["汉语拼音", "练习"], 20),
    s("s0t004", "Unit 1 Hello! 课件", "courseware", E3, 0, Png, School, &["英语", "问候"], 15),
    s("s0t003", "《数一数》教案", "lesson_plan", M1, 0, Text, City, &["数感"], 42),
    s("s0t003", "《比多少》课件", "courseware", M1, 1, Png, School, &["比较"], 28),
    s("s0t003", "《1~5的认识》练习", "exercise", M1, 3, Text, RejectedDistrict, &["数的认识"], 22),
    s("s0t003", "《认识图形》微课脚本", "micro_lesson", M1, 8, Pdf, WaitingSchool, &["图形", "微课"], 1),
    s("s0t005", "《10以内的加法》口算练习", "exercise", M1, 6, Text, Private, &["口算"], 4),
    s("s0t005", "《认识钟表》学习单", "study_guide", M1, 12, Text, School, &["钟表"], 18),
    s("s1t002", "《春》教学设计", "teaching_design", J7C, 0, Pdf, District, &["散文", "朗读"], 38),
    s("s1t002", "《济南的冬天》课件", "courseware", J7C, 1, Png, School, &["散文"], 26),
    s("s1t002", "《雨的四季》导学案", "study_guide", J7C, 3, Text, WaitingSchool, &["散文"], 5),
    s("s1t003", "《正数和负数》教案", "lesson_plan", J7M, 0, Text, City, &["有理数"], 41),
    s("s1t003", "《有理数的加法》练习", "exercise", J7M, 2, Text, School, &["有理数", "练习"], 21),
    s("s1t003", "《一元一次方程》导学案", "study_guide", J7M, 6, Text, Private, &["方程"], 6),
    s("s1t004", "Starter Unit 1 Good morning! 教案", "lesson_plan", J7E, 0, Text, District, &["英语"], 33),
    s("s1t010", "《沁园春·长沙》教学设计", "teaching_design", S1C, 0, Pdf, School, &["诗词"], 17),
    s("s2t002", "《日月水火》识字卡片", "material", P1, 3, Png, District, &["识字", "卡片"], 35),
    s("s2t002", "《升国旗》教案", "lesson_plan", P1, 9, Text, School, &["识字"], 19),
    s("s2t003", "《上下前后》练习", "exercise", M1, 2, Text, City, &["位置"], 39),
    s("s2t011", "《丰富的图形世界》课件", "courseware", J7MB, 0, Png, District, &["几何"], 31),
    s("s2t011", "《有理数及其运算》教案", "lesson_plan", J7MB, 4, Text, WaitingDistrict, &["有理数"], 10),
];

struct Loader<'a> {
    state: &'a AppState,
    meta: RequestMeta,
    now: chrono::DateTime<chrono::Utc>,
}

impl Loader<'_> {
    async fn actor(&self, username: &str) -> AppResult<Option<Actor>> {
        let row: Option<(kernel::PersonId,)> = on_db!(&self.state.db, p => sqlx::query_as(
            "SELECT person_id FROM accounts WHERE username = $1",
        ).bind(username).fetch_optional(p).await)?;
        match row {
            Some((id,)) => Actor::load(&self.state.db, id, Via::Session).await,
            None => Ok(None),
        }
    }

    fn cx<'b>(&'b self, actor: &'b Actor, days_ago: i64) -> Ctx<'b> {
        let mut cx = Ctx::new(self.state, actor, &self.meta);
        cx.now =
            self.now - chrono::Duration::days(days_ago) + chrono::Duration::minutes(days_ago * 7);
        cx
    }

    /// The administrator of a node, by the demo's convention of one per node.
    async fn admin_of(&self, node: NodeId) -> AppResult<Option<Actor>> {
        let row: Option<(kernel::PersonId,)> = on_db!(&self.state.db, p => sqlx::query_as(
            "SELECT person_id FROM role_assignments WHERE role = 'admin' AND node_id = $1 ORDER BY created_at LIMIT 1",
        ).bind(node).fetch_optional(p).await)?;
        match row {
            Some((id,)) => Actor::load(&self.state.db, id, Via::Session).await,
            None => Ok(None),
        }
    }

    /// The administrator who reviews `r` at the level it waits for.
    async fn reviewer(&self, r: &ResourceRow) -> AppResult<Actor> {
        let level = r
            .pending()
            .ok_or_else(|| AppError::internal("demo: nothing to review"))?;
        let node = crate::access::level_node(&self.state.db, r.org_id, level)
            .await?
            .ok_or_else(|| AppError::internal("demo: no reviewing node"))?;
        self.admin_of(node)
            .await?
            .ok_or_else(|| AppError::internal("demo: no reviewer"))
    }

    async fn section(&self, volume: &str, index: usize) -> AppResult<Option<CatalogId>> {
        let rows: Vec<(CatalogId,)> = on_db!(&self.state.db, p => sqlx::query_as(
            "SELECT s.id FROM catalog_nodes s JOIN catalog_nodes u ON u.id = s.parent_id
             JOIN catalog_nodes v ON v.id = u.parent_id
             WHERE v.path = $1 AND s.kind = 'section' AND s.active = TRUE
             ORDER BY u.position, s.position",
        ).bind(volume).fetch_all(p).await)?;
        Ok(rows.get(index).or(rows.first()).map(|r| r.0))
    }

    /// Takes one resource to where its spec says.
    async fn run(&self, spec: &Spec) -> AppResult<Option<ResourceRow>> {
        let (Some(author), Some(node)) = (
            self.actor(spec.author).await?,
            self.section(spec.volume, spec.section).await?,
        ) else {
            return Ok(None);
        };
        let mut days = spec.days;
        let cx = self.cx(&author, days);
        let (name, bytes) = file(spec);
        let stream =
            futures_util::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from(bytes))]);
        let (upload, _) = crate::files::upload::store_stream(&cx, &name, stream).await?;
        let r = resource::create(
            &cx,
            NewResource {
                title: spec.title.into(),
                description: description(spec),
                kind: spec.kind.into(),
                tags: spec.tags.iter().map(|t| (*t).to_owned()).collect(),
                catalog_ids: vec![node],
                for_students: matches!(spec.kind, "study_guide" | "micro_lesson" | "exercise"),
                upload_id: Some(upload),
            },
        )
        .await?;
        if spec.end == Private {
            return Ok(Some(r));
        }
        let step = |d: &mut i64| {
            *d = (*d - 1).max(0);
            *d
        };
        let mut r = review::submit(&self.cx(&author, step(&mut days)), r.id, at(&r, "")).await?;
        let plan: &[(bool, i64)] = match spec.end {
            // (approve at this level?, expert score): then recommend, and so on.
            WaitingSchool => &[],
            RejectedSchool => &[(false, 0)],
            School => &[(true, 4)],
            WaitingDistrict => &[(true, 4)],
            RejectedDistrict => &[(true, 4), (false, 0)],
            District => &[(true, 4), (true, 5)],
            WaitingCity => &[(true, 5), (true, 4)],
            City => &[(true, 5), (true, 5), (true, 4)],
            Private => &[],
        };
        for (i, (approve, score)) in plan.iter().enumerate() {
            let reviewer = self.reviewer(&r).await?;
            let rc = self.cx(&reviewer, step(&mut days));
            r = if *approve {
                let input = ReviewInput {
                    version: r.version,
                    comment: "内容完整，符合课标要求。".into(),
                    score: Some(*score),
                };
                review::approve(&rc, r.id, input).await?
            } else {
                let input = ReviewInput {
                    version: r.version,
                    comment: "请补充教学目标和课后反思后再提交。".into(),
                    score: None,
                };
                review::reject(&rc, r.id, input).await?
            };
            let more = i + 1 < plan.len() || matches!(spec.end, WaitingDistrict | WaitingCity);
            if *approve && more {
                r = review::recommend(&rc, r.id, at(&r, "推荐到上一级交流。")).await?;
            }
        }
        Ok(Some(r))
    }
}

fn at(r: &ResourceRow, comment: &str) -> ReviewInput {
    ReviewInput {
        version: r.version,
        comment: comment.into(),
        score: None,
    }
}

fn description(spec: &Spec) -> String {
    format!(
        "{}。包括教学目标、教学重难点、教学过程和课后反思，可直接用于课堂或按学情调整。",
        spec.title
    )
}

/// Loads the demo resources once: nothing if there is no catalogue or there are resources.
pub async fn load(state: &AppState) -> AppResult<()> {
    let (catalogue,): (i64,) = on_db!(&state.db, p => sqlx::query_as(
        "SELECT COUNT(*) FROM catalog_nodes",
    ).fetch_one(p).await)?;
    let (resources,): (i64,) = on_db!(&state.db, p => sqlx::query_as(
        "SELECT COUNT(*) FROM resources",
    ).fetch_one(p).await)?;
    if catalogue == 0 || resources > 0 {
        return Ok(());
    }
    let l = Loader {
        state,
        meta: RequestMeta::cli(),
        now: state.clock.now(),
    };
    // A few at a time: on PostgreSQL they proceed side by side; on SQLite their reads overlap
    // while the writes take turns.
    use futures_util::StreamExt;
    let results: Vec<AppResult<Option<ResourceRow>>> =
        futures_util::stream::iter(SPECS.iter().map(|spec| l.run(spec)))
            .buffered(4)
            .collect()
            .await;
    let mut made = Vec::new();
    for (spec, r) in SPECS.iter().zip(results) {
        if let Some(r) = r? {
            made.push((spec, r));
        }
    }
    signals_of(&l, &made).await?;
    excellent_list(&l, &made).await
}

/// Some use, ratings and favourites of the widely shared resources by colleagues who see them.
async fn signals_of(l: &Loader<'_>, made: &[(&Spec, ResourceRow)]) -> AppResult<()> {
    // Not the demo's `teacher` and `school_admin`: their own use stays theirs to try.
    const USERS: &[&str] = &[
        "s0t003", "s0t004", "s0t005", "s1t002", "s1t003", "s1t004", "s2t002", "s2t003",
    ];
    let mut users = Vec::new();
    for u in USERS {
        if let Some(a) = l.actor(u).await? {
            users.push(a);
        }
    }
    use futures_util::StreamExt;
    let done: Vec<AppResult<()>> = futures_util::stream::iter(
        made.iter()
            .enumerate()
            .filter(|(_, (spec, _))| matches!(spec.end, City | District | WaitingCity))
            .map(|(i, (_, r))| use_one(l, &users, i, r)),
    )
    .buffer_unordered(4)
    .collect()
    .await;
    done.into_iter().collect()
}

/// Colleagues view, download, favourite and rate the `i`-th demo resource.
async fn use_one(l: &Loader<'_>, users: &[Actor], i: usize, r: &ResourceRow) -> AppResult<()> {
    for (k, a) in users.iter().enumerate() {
        if a.person_id == r.author_id || (i + k).is_multiple_of(3) {
            continue;
        }
        let cx = l.cx(a, 0);
        let viewer = crate::access::Viewer::of(cx.db(), a).await?;
        if !viewer.sees(cx.db(), r).await? {
            continue;
        }
        signals::view(&cx, r).await?;
        if (i + k).is_multiple_of(2) {
            signals::download(&cx, r).await?;
        }
        if (i + k) % 4 == 1 {
            signals::set_favourite(&cx, r.id, true).await?;
        }
        if (i + k) % 3 == 1 {
            let stars = 3 + ((i + k) % 3) as i64;
            let comment = if stars == 5 {
                "很实用，直接用在了课堂上。"
            } else {
                "思路清晰，可以参考。"
            };
            signals::rate(
                &cx,
                r.id,
                RatingInput {
                    stars,
                    comment: comment.into(),
                },
            )
            .await?;
        }
    }
    Ok(())
}

/// 上城区's published list of its excellent resources this term.
async fn excellent_list(l: &Loader<'_>, made: &[(&Spec, ResourceRow)]) -> AppResult<()> {
    let Some((_, first)) = made.iter().find(|(s, _)| s.author == "teacher") else {
        return Ok(());
    };
    let Some(district) =
        crate::access::level_node(&l.state.db, first.org_id, crate::model::Level::District).await?
    else {
        return Ok(());
    };
    let Some(admin) = l.admin_of(district).await? else {
        return Ok(());
    };
    let cx = l.cx(&admin, 0);
    let today = l.state.config.time_zone.date(l.now);
    let term = resource::current_term(&l.state.db, district, today).await?;
    let list = excellent::create(
        &cx,
        NewList {
            node_id: district,
            title: "上城区优秀教学资源（第一批）".into(),
            school_year: term.map(|t| t.0),
            term: term.map(|t| t.1),
        },
    )
    .await?;
    let notes = [
        "识字教学设计新颖，情境丰富",
        "课件图文并茂，适合低年级",
        "朗读指导细致",
        "概念引入自然",
    ];
    let mut n = 0;
    for (spec, r) in made {
        let shared: Option<(i32,)> = on_db!(&l.state.db, p => sqlx::query_as(
            "SELECT 1 FROM resource_audience WHERE resource_id = $1 AND kind = 'v' AND node_id = $2",
        ).bind(r.id).bind(district).fetch_optional(p).await)?;
        if shared.is_none() || !matches!(spec.end, City | District | WaitingCity) {
            continue;
        }
        let note = notes[n % notes.len()].to_owned();
        excellent::add(
            &cx,
            list.id,
            NewEntry {
                resource_id: r.id,
                note,
            },
        )
        .await?;
        n += 1;
        if n == 4 {
            break;
        }
    }
    excellent::publish(&cx, list.id, true).await?;
    Ok(())
}

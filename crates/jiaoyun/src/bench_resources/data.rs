//! The words of the generated library: districts and schools, titles by kind, descriptions,
//! tags and extracted text composed from the catalogue's names and a phrase bank, and the
//! query sets the benchmark searches with.

use super::{Leaf, Rng};
use resources::model::{Kind, Scope};
use resources::search::SearchInput;

/// More districts of 杭州市 (GB/T 2260 codes).
pub const DISTRICTS: &[(&str, &str)] = &[
    ("330105", "拱墅区"),
    ("330108", "滨江区"),
    ("330109", "萧山区"),
    ("330110", "余杭区"),
    ("330111", "富阳区"),
    ("330112", "临安区"),
    ("330113", "临平区"),
    ("330114", "钱塘区"),
];

pub const SCHOOLS: &[&str] = &[
    "实验小学",
    "第一小学",
    "第二小学",
    "育才小学",
    "文澜小学",
    "崇文小学",
    "第一中学",
    "第二中学",
    "实验中学",
    "外国语学校",
    "育英中学",
    "文海中学",
];

/// A chapter's or section's name without its numbering (第十七章 勾股定理 → 勾股定理).
pub fn topic(name: &str) -> String {
    let n = name.trim();
    let numbered = n.starts_with('第') || n.starts_with(|c: char| c.is_ascii_digit());
    match n.split_once(' ') {
        Some((_, rest)) if numbered && !rest.trim().is_empty() => rest.trim().to_owned(),
        _ => n.to_owned(),
    }
}

const KINDS: [(Kind, u32); 8] = [
    (Kind::LessonPlan, 20),
    (Kind::Courseware, 20),
    (Kind::TeachingDesign, 12),
    (Kind::StudyGuide, 12),
    (Kind::Exercise, 14),
    (Kind::MicroLesson, 10),
    (Kind::Material, 7),
    (Kind::Reference, 5),
];

pub fn kind(rng: &mut Rng) -> Kind {
    let w: Vec<u32> = KINDS.iter().map(|k| k.1).collect();
    KINDS[rng.weighted(&w)].0
}

fn titles(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::LessonPlan => &["《{t}》教案", "{t} 教案（第{n}课时）", "{v}《{t}》教案"],
        Kind::Courseware => &["{t} 课件", "《{t}》优质课件", "{u} {t} 课件（{e}）"],
        Kind::TeachingDesign => &[
            "《{t}》教学设计",
            "{t} 大单元教学设计",
            "基于核心素养的《{t}》教学设计",
        ],
        Kind::StudyGuide => &["《{t}》导学案", "{t} 预习导学案", "{u}导学案：{t}"],
        Kind::Exercise => &["{t} 课后练习", "《{t}》分层作业设计", "{u} 单元测试卷"],
        Kind::MicroLesson => &["{t} 微课", "微课：{t}重难点突破", "《{t}》知识点微课"],
        Kind::Material => &["{t} 教学素材", "《{t}》图片与视频素材", "{u} 拓展阅读材料"],
        Kind::Reference => &["《{t}》说课稿", "{t} 课堂实录", "《{t}》评课记录"],
    }
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::LessonPlan => "教案",
        Kind::StudyGuide => "导学案",
        Kind::Courseware => "课件",
        Kind::MicroLesson => "微课",
        Kind::TeachingDesign => "教学设计",
        Kind::Exercise => "练习与作业",
        Kind::Material => "教学素材",
        Kind::Reference => "说课",
    }
}

const DESCRIPTIONS: &[&str] = &[
    "经教研组集体备课修改，已在两个班试用。",
    "重点突出、难点分解，配有课堂检测题。",
    "包含教学目标、重难点、教学过程和板书设计。",
    "适合新授课使用，可根据学情删减。",
    "区级公开课资源，附教学反思。",
    "配套课件与学习任务单一并上传。",
    "注重情境创设和学生的合作探究。",
    "作业分为基础、提高、拓展三个层次。",
    "落实“双减”要求，控制作业总量和时长。",
    "结合本校学生实际编写，供同年级老师参考。",
];

const TAGS: &[&str] = &[
    "公开课",
    "核心素养",
    "大单元教学",
    "分层作业",
    "双减",
    "情境教学",
    "项目式学习",
    "思维导图",
    "新课标",
    "复习课",
    "新授课",
    "集体备课",
];

const BODY: &[&str] = &[
    "一、教学目标：理解{t}的基本内容，能运用所学知识解决简单的实际问题。",
    "二、教学重点：{t}；教学难点：在具体情境中灵活运用{t}。",
    "三、学情分析：学生在前面的学习中已经接触过{u}的相关内容，具备一定的基础。",
    "教学过程：（一）创设情境，导入新课。教师出示生活中的实例，引导学生思考。",
    "（二）合作探究，学生分小组讨论{t}，并汇报交流各自的发现。",
    "（三）巩固练习，完成课本上的练习题，教师巡视指导，及时反馈。",
    "（四）课堂小结，学生谈谈本节课的收获，教师梳理{u}的知识结构。",
    "板书设计：{t}——概念、方法、应用。",
    "教学反思：本节课学生参与积极，但部分学生对{t}的理解还不够深入，需要在后续课时中加强。",
    "作业布置：必做题为课本习题，选做题为拓展探究，预计用时不超过二十分钟。",
    "本资源依据《义务教育{s}课程标准（2022年版）》编写，落实{s}学科核心素养。",
    "评价设计：通过课堂观察、学习任务单和当堂检测，了解学生对{t}的掌握情况。",
    "学习任务单：阅读教材{v}{u}的相关内容，圈出不理解的地方，课上提出。",
    "拓展延伸：鼓励学生联系生活，寻找与{t}有关的例子，下节课分享。",
];

const SUBJECT_BODY: &[(&str, &[&str])] = &[
    (
        "数学",
        &[
            "例题讲解：先让学生独立思考，再请学生板演，最后师生共同总结解题方法。",
            "通过画图、列表等方法帮助学生理解数量关系，渗透数形结合的思想。",
            "练习设计注重计算能力的培养，同时关注学生的推理和证明过程。",
        ],
    ),
    (
        "语文",
        &[
            "朗读指导：学生自由读、指名读、分角色读，读准字音，读出感情。",
            "字词积累：认读本课生字，理解重点词语的意思，并积累好词好句。",
            "品味语言，体会作者表达的思想感情，尝试仿写片段。",
        ],
    ),
    (
        "英语",
        &[
            "Warming up: students sing a song and review the key words of the last lesson.",
            "Presentation: the teacher introduces the new vocabulary with pictures, then students practise the dialogue in pairs.",
            "听说训练：学生听录音完成任务，再进行对话练习，提高口语表达能力。",
            "Homework: read the passage aloud and write five sentences with the new words.",
        ],
    ),
];

fn fill(template: &str, leaf: &Leaf, n: usize) -> String {
    template
        .replace("{t}", &leaf.topic)
        .replace("{u}", &leaf.unit)
        .replace("{v}", &leaf.volume)
        .replace("{e}", &leaf.edition)
        .replace("{s}", &leaf.subject)
        .replace("{n}", &n.to_string())
}

/// Title, description, tags (joined by newlines) and, for most, a file's extracted text.
pub fn compose(rng: &mut Rng, leaf: &Leaf, kind: Kind) -> (String, String, String, Option<String>) {
    let n = 1 + rng.below(3);
    let template: &str = rng.pick::<&str>(titles(kind));
    let title = fill(template, leaf, n);
    let description = format!(
        "适用于{}{}{}。{}",
        leaf.edition,
        leaf.volume,
        leaf.unit,
        rng.pick(DESCRIPTIONS)
    );
    let tags = [
        leaf.subject.clone(),
        kind_name(kind).to_owned(),
        leaf.topic.clone(),
        (*rng.pick(TAGS)).to_owned(),
    ]
    .join("\n");
    let body = (rng.below(10) < 7).then(|| {
        let own = SUBJECT_BODY
            .iter()
            .find(|(s, _)| *s == leaf.subject)
            .map_or(&[][..], |(_, b)| *b);
        let mut text = String::new();
        for _ in 0..(6 + rng.below(9)) {
            let s = if !own.is_empty() && rng.below(3) == 0 {
                rng.pick(own)
            } else {
                rng.pick(BODY)
            };
            text.push_str(&fill(s, leaf, n));
        }
        text
    });
    (title, description, tags, body)
}

/// Words teachers type: fixed favourites and the topics of some chapters.
pub fn plain_queries(leaves: &[Leaf]) -> Vec<SearchInput> {
    let mut qs: Vec<String> = [
        "勾股定理",
        "分数乘法",
        "古诗",
        "一元二次方程",
        "教学设计",
        "课件",
        "Unit 3",
        "圆的面积",
        "说课稿",
        "大单元教学设计",
        "分层作业",
        "三角形",
        "朗读",
        "函数",
        "微课 重难点",
        "拼音",
        "阅读",
        "单元测试卷",
        "vocabulary",
        "导学案",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    let mut rng = Rng(7);
    for _ in 0..20 {
        qs.push(rng.pick(leaves).topic.clone());
    }
    qs.into_iter().map(|q| SearchInput::text(&q)).collect()
}

/// A topic and three filters (subject, edition or volume, and kind or level) of one chapter.
pub fn faceted_queries(leaves: &[Leaf]) -> Vec<SearchInput> {
    let mut rng = Rng(11);
    (0..40)
        .map(|i| {
            let leaf = rng.pick(leaves);
            let mut input = SearchInput::text(&leaf.topic);
            input.subject = Some(leaf.subject_id);
            if i % 2 == 0 {
                input.edition = Some(leaf.edition_id);
                input.kind = Some(kind(&mut rng));
            } else {
                input.volume = Some(leaf.volume_id);
                input.level = Some(if i % 4 == 1 {
                    Scope::District
                } else {
                    Scope::City
                });
            }
            input
        })
        .collect()
}

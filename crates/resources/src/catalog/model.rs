//! The catalogue's vocabulary: node kinds in their order, a node as stored, stage and subject
//! names, and volumes' grades and terms (七年级上册 → junior, JY/T grade code 1, term 1).

use chrono::{DateTime, Utc};
use kernel::{CatalogId, NodeId};
use serde::{Deserialize, Serialize};
use standards::kinds::Stage;

crate::model::str_enum!(
    /// What a catalogue node is, from the top down. i18n: `catalogue.kind_<code>`.
    NodeKind {
        /// 学段
        Stage => "stage",
        /// 学科
        Subject => "subject",
        /// 教材版本
        Edition => "edition",
        /// 册次
        Volume => "volume",
        /// 单元 / 章
        Unit => "unit",
        /// 课节
        Section => "section",
    }
);

impl NodeKind {
    /// The kind of this kind's children (`None` below a section).
    pub fn child(self) -> Option<NodeKind> {
        match self {
            Self::Stage => Some(Self::Subject),
            Self::Subject => Some(Self::Edition),
            Self::Edition => Some(Self::Volume),
            Self::Volume => Some(Self::Unit),
            Self::Unit => Some(Self::Section),
            Self::Section => None,
        }
    }
    /// Depth from the stage (0).
    pub fn depth(self) -> usize {
        Self::ALL.iter().position(|k| *k == self).unwrap_or(0)
    }
}

/// A node of the textbook catalogue. Every node carries what it sits in, so a filter or facet
/// needs no walk up the tree: `stage` (always), `subject` (from the subject down), and
/// `edition_id` / `volume_id`: the edition / volume at or above the node (an edition's own id on
/// an edition, a volume's own id on a volume).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Serialize, utoipa::ToSchema)]
pub struct CatalogNode {
    pub id: CatalogId,
    /// The city or district whose catalogue this is.
    pub region_id: NodeId,
    pub parent_id: Option<CatalogId>,
    /// stage | subject | edition | volume | unit | section
    pub kind: String,
    pub name: String,
    /// stage: primary, junior, …; subject: JY/T 1001 course code; edition: a short code.
    pub code: Option<String>,
    /// primary | junior | senior | preschool | vocational | special
    pub stage: String,
    /// JY/T 1001 course code (13 语文, 14 数学, 41 英语), from the subject down.
    pub subject: Option<String>,
    pub edition_id: Option<CatalogId>,
    pub volume_id: Option<CatalogId>,
    /// Volumes and below: the JY/T 1001 grade code within the stage (七年级 → 1, 四年级 → 5).
    pub grade_code: Option<String>,
    /// Volumes and below: 1 (上册, autumn), 2 (下册, spring); none for a 全一册.
    pub term: Option<i64>,
    /// The names from the stage down, joined by " / ": the natural key within the region.
    pub path: String,
    pub position: i64,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The columns of [`CatalogNode`], for `SELECT {COLUMNS} FROM catalog_nodes`.
pub const COLUMNS: &str = "id, region_id, parent_id, kind, name, code, stage, subject, edition_id, \
     volume_id, grade_code, term, path, position, active, created_at, updated_at";

/// What joins names into a path.
pub const PATH_SEP: &str = " / ";

impl CatalogNode {
    pub fn kind(&self) -> NodeKind {
        NodeKind::parse(&self.kind).unwrap_or(NodeKind::Section)
    }
    /// The grade in the stage's own numbering (1 for 七年级), if the node has one.
    pub fn year(&self) -> Option<u8> {
        self.grade_code.as_deref().and_then(year_of_grade_code)
    }
    /// The names of the path, from the stage down.
    pub fn path_names(&self) -> Vec<&str> {
        self.path.split(PATH_SEP).collect()
    }
}

/// Text as typed into a catalogue: full-width digits, letters and the ideographic space made
/// plain, runs of whitespace one space, no spaces at the ends. Spaces between Chinese words
/// stay (第十七章 勾股定理).
pub fn clean(s: &str) -> String {
    let plain: String = s
        .chars()
        .map(|c| match u32::from(c) {
            0x3000 => ' ',
            n @ (0xFF10..=0xFF19 | 0xFF21..=0xFF3A | 0xFF41..=0xFF5A) => {
                char::from_u32(n - 0xFEE0).unwrap_or(c)
            }
            _ => c,
        })
        .collect();
    plain.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A stage's name in the catalogue (the catalogue's names are data, in Chinese).
pub fn stage_name(stage: Stage) -> &'static str {
    match stage {
        Stage::Preschool => "学前",
        Stage::Primary => "小学",
        Stage::Junior => "初中",
        Stage::Senior => "高中",
        Stage::Vocational => "中职",
        Stage::Special => "特殊教育",
    }
}

/// The stage a typed name or code stands for: 小学, 初中, 高中 (普通高中), 学前 (幼儿园),
/// 中职, 特殊教育, or the codes primary, junior, ….
pub fn parse_stage(s: &str) -> Option<Stage> {
    let s = standards::typed::text(s);
    if let Some(st) = Stage::parse(&s.to_ascii_lowercase()) {
        return Some(st);
    }
    Some(match s.as_str() {
        "小学" | "小学段" => Stage::Primary,
        "初中" | "初级中学" | "初中段" => Stage::Junior,
        "高中" | "普通高中" | "高级中学" | "高中段" => Stage::Senior,
        "学前" | "学前教育" | "幼儿园" => Stage::Preschool,
        "中职" | "中等职业教育" | "职高" => Stage::Vocational,
        "特殊教育" | "特教" => Stage::Special,
        _ => return None,
    })
}

/// Subject names the course table does not spell this way.
const SUBJECT_ALIASES: &[(&str, &str)] = &[
    ("道德与法治", "12"),
    ("思想政治", "12"),
    ("政治", "12"),
    ("品德与生活", "11"),
    ("品德与社会", "11"),
    ("体育", "22"),
    ("生物学", "18"),
    ("信息科技", "61"),
    ("劳动", "62"),
    ("综合实践", "60"),
];

/// A subject as written (语文, 数学, 英语, 道德与法治, or a JY/T 1001 course code such as 14)
/// → (course code for this stage, the name the catalogue shows). A name is kept as written;
/// a code is shown by its course name.
pub fn parse_subject(s: &str, stage: Stage) -> Option<(String, String)> {
    use standards::codes::{Table, name, resolve};
    let s = standards::typed::text(s);
    if s.is_empty() {
        return None;
    }
    let alias = SUBJECT_ALIASES
        .iter()
        .find(|(n, _)| *n == s)
        .map(|(_, c)| *c);
    let code = alias.or_else(|| resolve(Table::Course, &s))?;
    let code = standards::subjects::subject_for_stage(code, stage).to_owned();
    let is_code = s.bytes().all(|b| b.is_ascii_digit());
    let shown = if is_code {
        name(Table::Course, &code).unwrap_or(&code).to_owned()
    } else {
        s
    };
    Some((code, shown))
}

/// The name of a JY/T 1001 course code.
pub fn subject_name(code: &str) -> String {
    standards::subjects::subject_name(code)
}

/// The stage's first grade in the numbering from 一年级 (1) to 高三 (12).
fn offset(stage: Stage) -> Option<u8> {
    match stage {
        Stage::Primary => Some(0),
        Stage::Junior => Some(6),
        Stage::Senior => Some(9),
        _ => None,
    }
}

/// The JY/T 1001 grade code of year `year` within a stage: 1, 2, 3, 5 (四年级), 7, 9.
pub fn grade_code_of_year(year: u8) -> Option<&'static str> {
    Some(match year {
        1 => "1",
        2 => "2",
        3 => "3",
        4 => "5",
        5 => "7",
        6 => "9",
        _ => return None,
    })
}

/// The year within the stage of a JY/T 1001 grade code.
pub fn year_of_grade_code(code: &str) -> Option<u8> {
    Some(match code.trim() {
        "1" => 1,
        "2" => 2,
        "3" => 3,
        "5" => 4,
        "7" => 5,
        "9" => 6,
        _ => return None,
    })
}

/// The grade's usual name: 三年级, 七年级, 高一.
pub fn grade_name(stage: Stage, year: u8) -> String {
    standards::grades::grade_name(stage, year)
}

fn digit(c: char) -> Option<u8> {
    "一二三四五六七八九"
        .chars()
        .position(|d| d == c)
        .map(|i| i as u8 + 1)
}

/// A grade as written, counted from 一年级 (1) to 高三 (12): 七年级, 7年级, 初一, 高二.
pub fn parse_grade(s: &str) -> Option<u8> {
    let s = standards::typed::text(s);
    let mut cs = s.chars();
    let first = cs.next()?;
    let second = cs.next();
    match (first, second) {
        ('初', Some(c)) => digit(c).filter(|d| *d <= 4).map(|d| d + 6),
        ('高', Some(c)) => digit(c).filter(|d| *d <= 3).map(|d| d + 9),
        _ => {
            let rest = s.strip_suffix("年级")?;
            if let Ok(n) = rest.parse::<u8>() {
                return (1..=12).contains(&n).then_some(n);
            }
            let mut it = rest.chars();
            let (a, b) = (it.next()?, it.next());
            match (a, b) {
                (a, None) => digit(a),
                ('十', Some(b)) => digit(b).filter(|d| *d <= 2).map(|d| d + 10),
                _ => None,
            }
        }
    }
}

/// A term as written: 上 / 上册 / 上学期 / 第一学期 / 秋 / 1 → 1; 下 … / 春 / 2 → 2.
pub fn parse_term(s: &str) -> Option<i64> {
    let s = standards::typed::text(s);
    match s.as_str() {
        "1" | "上" | "上册" | "上学期" | "第一学期" | "秋" | "秋季" | "秋季学期" => {
            Some(1)
        }
        "2" | "下" | "下册" | "下学期" | "第二学期" | "春" | "春季" | "春季学期" => {
            Some(2)
        }
        _ => None,
    }
}

/// What a volume's name says: its grade (1-12) and term (`None` for 全一册), if it names one.
/// 七年级上册 → (7, Some(1)); 一年级下 → (1, Some(2)); 九年级全一册 → (9, None); 必修第一册 → None.
pub fn parse_volume(name: &str) -> Option<(u8, Option<i64>)> {
    let s = standards::typed::text(name);
    for (suffix, term) in [
        ("全一册", None),
        ("全册", None),
        ("上册", Some(1)),
        ("下册", Some(2)),
        ("第一学期", Some(1)),
        ("第二学期", Some(2)),
        ("上", Some(1)),
        ("下", Some(2)),
    ] {
        if let Some(grade) = s.strip_suffix(suffix)
            && let Some(g) = parse_grade(grade)
        {
            return Some((g, term));
        }
    }
    None
}

/// The JY/T grade code of grade `grade` (1-12) if it belongs to `stage`.
pub fn grade_code_in_stage(stage: Stage, grade: u8) -> Option<&'static str> {
    let off = offset(stage)?;
    let year = grade.checked_sub(off)?;
    if year == 0 || year > stage.years() {
        return None;
    }
    grade_code_of_year(year)
}

/// A grade written in a 年级 column: a name (七年级, 初一) or a number, either counted from
/// 一年级 or, if it is not one of the stage's, within the stage (初中 1 = 七年级).
pub fn grade_in_stage(stage: Stage, s: &str) -> Option<u8> {
    let t = standards::typed::text(s);
    if let Ok(n) = t.parse::<u8>() {
        let off = offset(stage)?;
        if grade_code_in_stage(stage, n).is_some() {
            return Some(n);
        }
        if (1..=stage.years()).contains(&n) {
            return Some(n + off);
        }
        return Some(n);
    }
    parse_grade(&t)
}

/// The catalogue's stage of a node's stage code.
pub fn stage_of(node: &CatalogNode) -> Option<Stage> {
    Stage::parse(&node.stage)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn volumes_grades_and_terms_as_written() {
        assert_eq!(parse_volume("七年级上册"), Some((7, Some(1))));
        assert_eq!(parse_volume("八年级下册"), Some((8, Some(2))));
        assert_eq!(parse_volume("一年级下"), Some((1, Some(2))));
        assert_eq!(parse_volume("九年级全一册"), Some((9, None)));
        assert_eq!(parse_volume("高一上册"), Some((10, Some(1))));
        assert_eq!(parse_volume("7年级上册"), Some((7, Some(1))));
        assert_eq!(parse_volume("必修第一册"), None);
        assert_eq!(parse_volume("十二年级上册"), Some((12, Some(1))));
        assert_eq!(grade_code_in_stage(Stage::Junior, 7), Some("1"));
        assert_eq!(grade_code_in_stage(Stage::Primary, 4), Some("5"));
        assert_eq!(grade_code_in_stage(Stage::Primary, 7), None);
        assert_eq!(grade_code_in_stage(Stage::Junior, 3), None);
        assert_eq!(grade_in_stage(Stage::Junior, "1"), Some(7));
        assert_eq!(grade_in_stage(Stage::Junior, "8"), Some(8));
        assert_eq!(grade_in_stage(Stage::Junior, "初二"), Some(8));
        assert_eq!(year_of_grade_code("5"), Some(4));
        assert_eq!(parse_term("下学期"), Some(2));
        assert_eq!(parse_term("第一学期"), Some(1));
        assert_eq!(parse_term("冬"), None);
        assert_eq!(clean(" 第十七章\u{3000}勾股定理  "), "第十七章 勾股定理");
        assert_eq!(clean("Ｕｎｉｔ １  Hello!"), "Unit 1 Hello!");
    }

    #[test]
    fn subjects_by_name_alias_or_code() {
        assert_eq!(
            parse_subject("数学", Stage::Junior),
            Some(("14".into(), "数学".into()))
        );
        assert_eq!(
            parse_subject("41", Stage::Primary),
            Some(("41".into(), "英语".into()))
        );
        assert_eq!(
            parse_subject("道德与法治", Stage::Primary),
            Some(("11".into(), "道德与法治".into()))
        );
        assert_eq!(parse_subject("炼金术", Stage::Primary), None);
        assert_eq!(parse_stage("初中"), Some(Stage::Junior));
        assert_eq!(parse_stage("primary"), Some(Stage::Primary));
        assert_eq!(parse_stage("大学"), None);
    }
}

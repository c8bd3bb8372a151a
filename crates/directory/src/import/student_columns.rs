//! Column headers as schools write them, matched to the fields of a student import: the
//! registry form's Chinese names and their variants (学籍号 / 全国学籍号 / 学籍编号), the JY/T
//! short names used by national exports (XJH, XM, XBM, CSRQ, …), with the decorations people
//! add (★, *, （必填）, spaces, full-width letters). Guardians' columns carry a number
//! (监护人1姓名, 家庭成员2联系电话) or sit under a merged header (监护人1 over 姓名).
//! Other kinds of file (staff, teaching assignments) bring their own fields through
//! [`ColumnKind`] and share [`key`], [`lookup`] and [`Layout`].

use sheets::check::{ColumnKind, key, lookup};

/// The columns of a student file as its header row names them.
pub type Layout = sheets::check::Layout<Column>;

/// A student's own column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StudentField {
    RegistryNo,
    Name,
    FormerName,
    Pinyin,
    Gender,
    BirthDate,
    Birthplace,
    NativePlace,
    Ethnicity,
    Nationality,
    IdType,
    IdNumber,
    Gatqw,
    Political,
    Health,
    HukouPlace,
    HukouNature,
    SchoolNo,
    Grade,
    Class,
    EntryYearMonth,
    EnrollmentMode,
    StudyMode,
    Address,
    Phone,
    OnlyChild,
    LeftBehind,
    MigrantChild,
    Inclusion,
    Disability,
}

/// A guardian's or family member's column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GuardianField {
    Name,
    Relation,
    Phone,
    IsGuardian,
    WorkUnit,
    IdNumber,
}

/// What a column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Column {
    Student(StudentField),
    /// The guardian's number (1 for the first) and the field.
    Guardian(u8, GuardianField),
}

use GuardianField as G;
use StudentField as S;

/// Every accepted header of a student column, normalised (see [`key`]); JY/T short names in
/// lower case.
const STUDENT: &[(StudentField, &[&str])] = &[
    (
        S::RegistryNo,
        &[
            "学籍号",
            "全国学籍号",
            "学籍编号",
            "全国学籍编号",
            "学籍主号",
            "xjh",
        ],
    ),
    (S::Name, &["姓名", "学生姓名", "xm"]),
    (S::FormerName, &["曾用名", "cym"]),
    (S::Pinyin, &["姓名拼音", "拼音", "xmpy"]),
    (S::Gender, &["性别", "性别码", "xbm"]),
    (S::BirthDate, &["出生日期", "出生年月日", "生日", "csrq"]),
    (
        S::Birthplace,
        &["出生地", "出生地代码", "出生地行政区划代码", "csdm"],
    ),
    (S::NativePlace, &["籍贯", "jg"]),
    (S::Ethnicity, &["民族", "民族码", "mzm"]),
    (S::Nationality, &["国籍/地区", "国籍", "国籍地区", "gjdqm"]),
    (S::IdType, &["身份证件类型", "证件类型", "sfzjlxm"]),
    (
        S::IdNumber,
        &[
            "身份证件号",
            "身份证件号码",
            "身份证号",
            "身份证号码",
            "证件号码",
            "sfzjh",
        ],
    ),
    (S::Gatqw, &["港澳台侨外", "港澳台侨外码", "gatqwm"]),
    (S::Political, &["政治面貌", "zzmmm"]),
    (S::Health, &["健康状况", "jkzkm"]),
    (S::HukouPlace, &["户口所在地", "户籍所在地", "hkszd"]),
    (S::HukouNature, &["户口性质", "户口类别", "hkxzm"]),
    (S::SchoolNo, &["班内学号", "学号", "校内学号", "xh"]),
    (S::Grade, &["年级", "nj"]),
    (S::Class, &["班级", "班级名称", "所在班级", "bj", "bh"]),
    (
        S::EntryYearMonth,
        &["入学年月", "入学时间", "入学日期", "rxny"],
    ),
    (S::EnrollmentMode, &["入学方式", "rxfsm"]),
    (S::StudyMode, &["就读方式", "jdfsm"]),
    (S::Address, &["现住址", "家庭住址", "家庭地址", "xzz"]),
    (S::Phone, &["联系电话", "电话", "lxdh"]),
    (S::OnlyChild, &["是否独生子女", "独生子女", "dszybz"]),
    (S::LeftBehind, &["是否留守儿童", "留守儿童"]),
    (
        S::MigrantChild,
        &[
            "是否进城务工人员随迁子女",
            "随迁子女",
            "进城务工人员随迁子女",
        ],
    ),
    (S::Inclusion, &["随班就读"]),
    (S::Disability, &["残疾人类型", "残疾类型", "cjrlx"]),
];

const GUARDIAN: &[(GuardianField, &[&str])] = &[
    (G::Name, &["姓名"]),
    (G::Relation, &["关系", "与学生关系", "关系码", "家庭关系"]),
    (
        G::Phone,
        &["联系电话", "电话", "手机", "手机号", "手机号码"],
    ),
    (G::IsGuardian, &["是否监护人"]),
    (G::WorkUnit, &["工作单位"]),
    (
        G::IdNumber,
        &["身份证件号", "身份证号", "身份证号码", "证件号码"],
    ),
];

/// Words that start a guardian's column, before or after their number.
const GUARDIAN_PREFIXES: &[&str] = &["监护人", "家庭成员", "成员", "家长"];

impl ColumnKind for Column {
    fn from_headers(top: &str, below: &str) -> Option<Self> {
        combined(top, below)
    }
}

fn number_word(s: &str) -> Option<(u8, &str)> {
    const WORDS: [(&str, u8); 8] = [
        ("1", 1),
        ("2", 2),
        ("3", 3),
        ("一", 1),
        ("二", 2),
        ("三", 3),
        ("第一", 1),
        ("第二", 2),
    ];
    WORDS
        .iter()
        .filter_map(|(w, n)| s.strip_prefix(w).map(|rest| (*n, rest)))
        .max_by_key(|(_, rest)| std::cmp::Reverse(rest.len()))
}

/// What one header names, if anything.
pub fn column(header: &str) -> Option<Column> {
    let k = key(header);
    if k.is_empty() {
        return None;
    }
    if let Some(f) = lookup(STUDENT, &k) {
        return Some(Column::Student(f));
    }
    // 第一监护人姓名, 监护人1姓名, 家庭成员2联系电话, 监护人姓名 (the first).
    let (lead, rest) = match number_word(&k) {
        Some((n, rest)) => (Some(n), rest),
        None => (None, k.as_str()),
    };
    let prefix = GUARDIAN_PREFIXES.iter().find(|p| rest.starts_with(**p))?;
    let rest = &rest[prefix.len()..];
    let (n, field) = match (lead, number_word(rest)) {
        (Some(n), _) => (n, rest),
        (None, Some((n, f))) => (n, f),
        (None, None) => (1, rest),
    };
    GUARDIAN
        .iter()
        .find(|(_, names)| names.contains(&field))
        .map(|(f, _)| Column::Guardian(n, *f))
}

/// The header of a column from one or two header rows: a merged top cell (学生信息, 监护人1)
/// is put in front of the cell below it when the two together name a column and the lower one
/// alone does not say whose it is.
pub fn combined(top: &str, below: &str) -> Option<Column> {
    if !top.trim().is_empty()
        && top.trim() != below.trim()
        && let Some(c @ Column::Guardian(..)) = column(&format!("{top}{below}"))
    {
        return Some(c);
    }
    column(below).or_else(|| column(top))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn registry_form_headers_and_their_variants() {
        for h in [
            "学籍号",
            "全国学籍号",
            "学籍编号",
            "XJH",
            "xjh",
            "学籍号★",
            "*学籍号",
            "学籍号（必填）",
            " 学 籍 号 ",
        ] {
            assert_eq!(column(h), Some(Column::Student(S::RegistryNo)), "{h}");
        }
        assert_eq!(column("身份证号码"), Some(Column::Student(S::IdNumber)));
        assert_eq!(
            column("ＳＦＺＪＨ"),
            Some(Column::Student(S::IdNumber)),
            "full-width short name"
        );
        assert_eq!(
            column("入学年月(YYYYMM)"),
            Some(Column::Student(S::EntryYearMonth))
        );
        assert_eq!(column("备注"), None);
        assert_eq!(column(""), None);
    }

    #[test]
    fn guardian_columns_by_number_or_under_a_merged_header() {
        assert_eq!(column("监护人1姓名"), Some(Column::Guardian(1, G::Name)));
        assert_eq!(
            column("第二监护人联系电话"),
            Some(Column::Guardian(2, G::Phone))
        );
        assert_eq!(
            column("家庭成员2关系"),
            Some(Column::Guardian(2, G::Relation))
        );
        assert_eq!(column("监护人姓名"), Some(Column::Guardian(1, G::Name)));
        assert_eq!(
            combined("监护人2", "姓名"),
            Some(Column::Guardian(2, G::Name))
        );
        assert_eq!(combined("学生信息", "姓名"), Some(Column::Student(S::Name)));
        assert_eq!(combined("", "性别"), Some(Column::Student(S::Gender)));
    }

    #[test]
    fn a_layout_names_unknown_and_repeated_columns() {
        let top: Vec<String> = ["学生信息", "学生信息", "学生信息", "监护人1", "监护人1", ""]
            .map(String::from)
            .to_vec();
        let row: Vec<String> = ["全国学籍号", "姓名", "XM", "姓名", "手机号", "兴趣"]
            .map(String::from)
            .to_vec();
        let l = Layout::read(Some(&top), &row);
        assert_eq!(l.position(Column::Student(S::RegistryNo)), Some(0));
        assert_eq!(l.position(Column::Guardian(1, G::Name)), Some(3));
        assert_eq!(l.position(Column::Guardian(1, G::Phone)), Some(4));
        assert_eq!(l.unknown, [(5, "兴趣".to_owned())]);
        assert_eq!(l.repeated, [(2, 1, Column::Student(S::Name))]);
    }
}

//! The staff file (教职工信息) and the teaching-assignment file (任课安排): their columns, as
//! schools head them (工号 / 教职工号 / 职工号, JY/T short names such as GH, XM, BZLBM, XLM), and
//! the checks of one row, through the student file's machinery (`sheets::check`:
//! `Layout`, `Cells`, `RowRules`). Classes and the database are the import's part
//! (`import::staff`, `import::assignments`).

use crate::codes::Table;
use crate::validate;
use chrono::NaiveDate;
use sheets::Value;
use sheets::check::{Cells, ColumnKind, FileError, Layout, Problem, RowRules, Seen, key, lookup};
use std::collections::HashMap;

/// A column of the staff file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StaffField {
    StaffNo,
    Name,
    Gender,
    BirthDate,
    IdType,
    IdNumber,
    Ethnicity,
    Nationality,
    Political,
    Phone,
    StaffingCategory,
    Title,
    Education,
    Posts,
    QualificationCert,
    EmploymentStart,
    Status,
    HeadClass,
}

/// A column of the teaching-assignment file: one row per teacher, class and subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AssignmentField {
    StaffNo,
    Name,
    Grade,
    Class,
    Subject,
    WeeklyPeriods,
    HeadTeacher,
}

use AssignmentField as A;
use StaffField as F;

const STAFF_NO: &[&str] = &[
    "工号",
    "教职工号",
    "职工号",
    "教工号",
    "教师工号",
    "职工编号",
    "教职工编号",
    "人员号",
    "gh",
];

/// Every accepted header of a staff column, normalised (see [`key`]); JY/T short names in
/// lower case.
const STAFF: &[(StaffField, &[&str])] = &[
    (F::StaffNo, STAFF_NO),
    (F::Name, &["姓名", "教职工姓名", "教师姓名", "xm"]),
    (F::Gender, &["性别", "性别码", "xbm"]),
    (F::BirthDate, &["出生日期", "出生年月日", "生日", "csrq"]),
    (
        F::IdType,
        &["身份证件类型", "身份证件类型码", "证件类型", "sfzjlxm"],
    ),
    (
        F::IdNumber,
        &[
            "身份证件号",
            "身份证件号码",
            "身份证号",
            "身份证号码",
            "证件号码",
            "sfzjh",
        ],
    ),
    (F::Ethnicity, &["民族", "民族码", "mzm"]),
    (F::Nationality, &["国籍/地区", "国籍", "国籍地区", "gjdqm"]),
    (F::Political, &["政治面貌", "政治面貌码", "zzmmm"]),
    (
        F::Phone,
        &[
            "手机号码",
            "手机号",
            "手机",
            "联系电话",
            "电话",
            "sjhm",
            "lxdh",
        ],
    ),
    (
        F::StaffingCategory,
        &["编制类别", "编制类别码", "编制", "bzlbm"],
    ),
    (
        F::Title,
        &[
            "专业技术职务",
            "专业技术职务码",
            "专业技术职称",
            "职称",
            "zyjszwm",
        ],
    ),
    (F::Education, &["最高学历", "学历", "学历码", "xlm"]),
    (
        F::Posts,
        &[
            "岗位/职务",
            "岗位",
            "职务",
            "岗位职务",
            "担任职务",
            "行政职务",
        ],
    ),
    (
        F::QualificationCert,
        &[
            "教师资格证号",
            "教师资格证书号",
            "教师资格证编号",
            "教师资格证书编号",
            "资格证号",
        ],
    ),
    (
        F::EmploymentStart,
        &[
            "参加工作年月",
            "参加工作时间",
            "参加工作日期",
            "入职日期",
            "入职时间",
            "入职年月",
            "gzny",
        ],
    ),
    (F::Status, &["在岗状态", "任职状态", "当前状态", "状态"]),
    (
        F::HeadClass,
        &["班主任班级", "担任班主任班级", "任班主任班级"],
    ),
];

const ASSIGNMENT: &[(AssignmentField, &[&str])] = &[
    (A::StaffNo, STAFF_NO),
    (A::Name, &["姓名", "教师姓名", "教职工姓名", "xm"]),
    (A::Grade, &["年级", "nj"]),
    (
        A::Class,
        &["班级", "任教班级", "授课班级", "班级名称", "skbj", "bj"],
    ),
    (
        A::Subject,
        &[
            "学科",
            "任教学科",
            "任课学科",
            "科目",
            "课程",
            "任教课程",
            "任课课程",
            "rkkch",
        ],
    ),
    (
        A::WeeklyPeriods,
        &["周课时", "周课时数", "每周课时", "周学时", "课时"],
    ),
    (A::HeadTeacher, &["是否班主任", "班主任"]),
];

impl ColumnKind for StaffField {
    fn from_headers(top: &str, below: &str) -> Option<Self> {
        lookup(STAFF, &key(below)).or_else(|| lookup(STAFF, &key(top)))
    }
}

impl ColumnKind for AssignmentField {
    fn from_headers(top: &str, below: &str) -> Option<Self> {
        lookup(ASSIGNMENT, &key(below)).or_else(|| lookup(ASSIGNMENT, &key(top)))
    }
}

/// The columns a staff file cannot do without, and their template headers.
const STAFF_REQUIRED: [(StaffField, &str); 3] =
    [(F::StaffNo, "工号"), (F::Name, "姓名"), (F::Gender, "性别")];
const ASSIGNMENT_REQUIRED: [(AssignmentField, &str); 3] = [
    (A::StaffNo, "工号"),
    (A::Class, "班级"),
    (A::Subject, "学科"),
];

fn refuse<C: ColumnKind>(layout: &Layout<C>, required: &[(C, &'static str)]) -> Option<FileError> {
    let missing: Vec<&'static str> = required
        .iter()
        .filter(|(f, _)| layout.position(*f).is_none())
        .map(|(_, h)| *h)
        .collect();
    (!missing.is_empty()).then_some(FileError::MissingHeaders {
        key: "error.staff_import.missing_columns",
        headers: missing,
    })
}

/// Posts (岗位/职务) as the staff record stores them, with the names schools write.
pub const POSTS: &[(&str, &[&str])] = &[
    ("head_teacher", &["班主任"]),
    ("subject_head", &["教研组长", "学科组长", "学科带头人"]),
    ("lesson_group_head", &["备课组长"]),
    ("grade_head", &["年级组长", "年级主任"]),
    ("principal", &["校长"]),
    ("vice_principal", &["副校长"]),
    (
        "party_secretary",
        &["书记", "党支部书记", "党委书记", "党总支书记"],
    ),
    (
        "academic_director",
        &["教务主任", "教导主任", "教学主任", "教务处主任"],
    ),
    ("moral_director", &["德育主任", "政教主任", "德育处主任"]),
    ("office_director", &["办公室主任"]),
    ("general_affairs", &["总务主任", "后勤主任"]),
    ("counselor", &["大队辅导员", "少先队辅导员", "团委书记"]),
    ("teacher", &["教师", "任课教师", "专任教师"]),
];

/// The names of a post, for pages.
pub fn post_name(slug: &str) -> Option<&'static str> {
    POSTS
        .iter()
        .find(|(s, _)| *s == slug)
        .and_then(|(_, names)| names.first().copied())
}

/// Titles and education as schools usually write them, beside the standard's names.
const TITLE_ALIASES: &[(&str, &str)] = &[
    ("中学高级教师", "052"),
    ("中学一级教师", "053"),
    ("中学二级教师", "054"),
    ("中学三级教师", "055"),
    ("小学高级教师", "413"),
    ("小学一级教师", "414"),
    ("小学二级教师", "415"),
    ("小学三级教师", "416"),
];
const EDUCATION_ALIASES: &[(&str, &str)] = &[
    ("博士", "11"),
    ("博士研究生", "11"),
    ("硕士", "14"),
    ("硕士研究生", "14"),
    ("研究生", "14"),
    ("本科", "21"),
    ("大学本科", "21"),
    ("大专", "31"),
    ("专科", "31"),
    ("大学专科", "31"),
    ("中专", "41"),
    ("高中", "61"),
    ("初中", "71"),
];

/// Political status by the short names the standard gives (中共党员 for 中国共产党党员).
const POLITICAL_ALIASES: &[(&str, &str)] = &[
    ("中共党员", "01"),
    ("党员", "01"),
    ("中共预备党员", "02"),
    ("预备党员", "02"),
    ("共青团员", "03"),
    ("团员", "03"),
];

/// Subjects as timetables name them, beside the JY/T 1001 course names (jyt1001_course).
const SUBJECT_ALIASES: &[(&str, &str)] = &[
    ("体育", "22"),
    ("道德与法治", "12"),
    ("思想政治", "12"),
    ("政治", "12"),
    ("思品", "12"),
    ("品德", "11"),
    ("品德与生活", "11"),
    ("品德与社会", "11"),
    ("信息科技", "61"),
    ("信息", "61"),
    ("劳动", "62"),
    ("劳技", "62"),
    ("综合实践", "60"),
];

pub use standards::subjects::subject_for_stage;

/// A staff member's row, checked: codes stored, names left to the code tables.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StaffRow {
    pub row: u32,
    pub staff_no: String,
    pub name: String,
    pub gender: String,
    pub birth_date: Option<NaiveDate>,
    pub id_type: Option<String>,
    pub id_number: Option<String>,
    pub ethnicity: Option<String>,
    pub nationality: Option<String>,
    pub political: Option<String>,
    pub phone: Option<String>,
    pub staffing_category: Option<String>,
    pub title: Option<String>,
    pub education: Option<String>,
    /// Post slugs ([`POSTS`]), in the order written.
    pub posts: Vec<&'static str>,
    pub qualification_cert: Option<String>,
    pub employment_start: Option<NaiveDate>,
    pub status: Option<String>,
    /// The class this person heads, as written (read by `import::classes`).
    pub head_class: Option<String>,
}

/// A teaching-assignment row: one teacher, one or more classes (several in one cell separated
/// by 、，,;), one subject.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AssignmentRow {
    pub row: u32,
    pub staff_no: String,
    pub name: Option<String>,
    pub grade: Option<String>,
    pub classes: Vec<String>,
    /// JY/T 1001 course code (before [`subject_for_stage`]).
    pub subject: Option<String>,
    pub weekly_periods: Option<i64>,
    pub head_teacher: bool,
}

/// Splits a cell holding several values: 、，,;；/ and line breaks.
pub fn split_list(s: &str) -> Vec<String> {
    s.split(['、', '，', ',', ';', '；', '/', '\n'])
        .map(|p| crate::typed::text(p).trim().to_owned())
        .filter(|p| !p.is_empty())
        .collect()
}

/// Checks the rows of a staff file, remembering the staff and ID numbers of earlier rows.
pub struct StaffChecker {
    layout: Layout<StaffField>,
    staff_nos: Seen,
    ids: Seen,
}

impl RowRules for StaffChecker {
    type Field = StaffField;
    type Row = StaffRow;

    fn refuse(layout: &Layout<StaffField>) -> Option<FileError> {
        refuse(layout, &STAFF_REQUIRED)
    }

    fn no_header() -> FileError {
        FileError::NoHeaderOf("error.staff_import_header.staff")
    }

    fn new(layout: Layout<StaffField>) -> Self {
        Self {
            layout,
            staff_nos: HashMap::new(),
            ids: HashMap::new(),
        }
    }

    fn layout(&self) -> &Layout<StaffField> {
        &self.layout
    }

    fn check(&mut self, row: u32, cells: &[Value]) -> Result<StaffRow, Vec<Problem>> {
        let mut c = Cells::new(&self.layout, cells, row);
        let mut out = StaffRow {
            row,
            ..Default::default()
        };
        if let Some((i, v)) = c.required(F::StaffNo) {
            let n = validate::normalize_code(&v).to_uppercase();
            match validate::staff_no(&n) {
                Ok(()) => out.staff_no = n,
                Err(k) => c.problem(Some(i), &v, k),
            }
        }
        if let Some((i, v)) = c.required(F::Name) {
            match validate::name(&v, 50) {
                Ok(()) => out.name = v,
                Err(k) => c.problem(Some(i), &v, k),
            }
        }
        out.gender = c
            .required_coded(F::Gender, Table::Gender)
            .unwrap_or_default();
        out.birth_date = c.date(F::BirthDate, false);
        out.id_type = c.coded(F::IdType, Table::IdType);
        out.id_number = c.id_number(F::IdNumber, &mut out.id_type, out.birth_date, &out.gender);
        // No birth date column (or an empty cell): the resident ID number's.
        if out.birth_date.is_none() && c.at(F::BirthDate).is_none() {
            out.birth_date = out
                .id_number
                .as_deref()
                .filter(|_| out.id_type.as_deref() == Some("1"))
                .and_then(validate::id_number_facts)
                .map(|(b, _)| b);
        }
        out.ethnicity = c.coded(F::Ethnicity, Table::Ethnicity);
        out.nationality = c.coded(F::Nationality, Table::Country);
        out.political = c.coded_with(F::Political, Table::Political, POLITICAL_ALIASES);
        out.phone = c.mobile(F::Phone);
        out.staffing_category = c.coded(F::StaffingCategory, Table::StaffingCategory);
        out.title = c.coded_with(F::Title, Table::ProfessionalTitle, TITLE_ALIASES);
        out.education = c.coded_with(F::Education, Table::EducationLevel, EDUCATION_ALIASES);
        if let Some((i, v)) = c.text(F::Posts) {
            for p in split_list(&v) {
                let p = p.replace(' ', "");
                match POSTS.iter().find(|(_, names)| names.contains(&p.as_str())) {
                    Some((slug, _)) if !out.posts.contains(slug) => out.posts.push(slug),
                    Some(_) => {}
                    None => c.problem(Some(i), &p, "error.staff_import.post_unknown"),
                }
            }
        }
        out.qualification_cert = c
            .text(F::QualificationCert)
            .map(|(_, v)| validate::normalize_code(&v).to_uppercase());
        out.employment_start = c.date(F::EmploymentStart, true);
        out.status = c.coded(F::Status, Table::StaffStatus);
        out.head_class = c.text(F::HeadClass).map(|(_, v)| v);
        if out.head_class.is_some() && !out.posts.contains(&"head_teacher") {
            out.posts.push("head_teacher");
        }
        // The same person twice in one file.
        c.duplicate(&mut self.staff_nos, &out.staff_no, F::StaffNo);
        if let Some(id) = &out.id_number {
            c.duplicate(&mut self.ids, id, F::IdNumber);
        }
        if c.problems.is_empty() {
            Ok(out)
        } else {
            Err(c.problems)
        }
    }
}

/// Checks the rows of a teaching-assignment file (duplicates need the classes read, and are
/// the import's to find).
pub struct AssignmentChecker {
    layout: Layout<AssignmentField>,
}

/// Weekly periods: a whole number from 0 to 60.
fn periods(v: &Value) -> Option<i64> {
    let t = validate::normalize_code(&v.text());
    let n: f64 = t.parse().ok()?;
    (n.fract() == 0.0 && (0.0..=60.0).contains(&n)).then_some(n as i64)
}

impl RowRules for AssignmentChecker {
    type Field = AssignmentField;
    type Row = AssignmentRow;

    fn refuse(layout: &Layout<AssignmentField>) -> Option<FileError> {
        refuse(layout, &ASSIGNMENT_REQUIRED)
    }

    fn no_header() -> FileError {
        FileError::NoHeaderOf("error.staff_import_header.assignments")
    }

    fn new(layout: Layout<AssignmentField>) -> Self {
        Self { layout }
    }

    fn layout(&self) -> &Layout<AssignmentField> {
        &self.layout
    }

    fn check(&mut self, row: u32, cells: &[Value]) -> Result<AssignmentRow, Vec<Problem>> {
        let mut c = Cells::new(&self.layout, cells, row);
        let mut out = AssignmentRow {
            row,
            ..Default::default()
        };
        if let Some((i, v)) = c.required(A::StaffNo) {
            let n = validate::normalize_code(&v).to_uppercase();
            match validate::staff_no(&n) {
                Ok(()) => out.staff_no = n,
                Err(k) => c.problem(Some(i), &v, k),
            }
        }
        out.name = c.text(A::Name).map(|(_, v)| v.replace(' ', ""));
        out.grade = c.text(A::Grade).map(|(_, v)| v);
        if let Some((_, v)) = c.required(A::Class) {
            out.classes = split_list(&v);
        }
        out.head_teacher = c.flag(A::HeadTeacher).unwrap_or(false);
        // A head teacher's row may name no subject; any other row must.
        out.subject = if out.head_teacher {
            c.coded_with(A::Subject, Table::Course, SUBJECT_ALIASES)
        } else {
            c.required(A::Subject)
                .and_then(|_| c.coded_with(A::Subject, Table::Course, SUBJECT_ALIASES))
        };
        if let Some((i, v)) = c.at(A::WeeklyPeriods) {
            match periods(v) {
                Some(n) => out.weekly_periods = Some(n),
                None => {
                    let t = v.text();
                    c.problem(Some(i), &t, "error.staff_import.periods_format");
                }
            }
        }
        if c.problems.is_empty() {
            Ok(out)
        } else {
            Err(c.problems)
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn layout<C: ColumnKind>(h: &[&str]) -> Layout<C> {
        let h: Vec<String> = h.iter().map(|s| (*s).to_owned()).collect();
        Layout::read(None, &h)
    }

    fn row(v: &[&str]) -> Vec<Value> {
        v.iter()
            .map(|s| {
                if s.is_empty() {
                    Value::Empty
                } else {
                    Value::Text((*s).to_owned())
                }
            })
            .collect()
    }

    #[test]
    fn staff_headers_and_their_variants() {
        let col = |h: &str| StaffField::from_headers("", h);
        for h in [
            "工号",
            "教职工号",
            "职工号",
            "GH",
            "gh",
            "工号★",
            "*工号",
            "工号（必填）",
            " 工 号 ",
        ] {
            assert_eq!(col(h), Some(F::StaffNo), "{h}");
        }
        assert_eq!(col("ＳＦＺＪＨ"), Some(F::IdNumber));
        assert_eq!(col("身份证号码"), Some(F::IdNumber));
        assert_eq!(col("BZLBM"), Some(F::StaffingCategory));
        assert_eq!(col("编制类别"), Some(F::StaffingCategory));
        assert_eq!(col("职称"), Some(F::Title));
        assert_eq!(col("专业技术职务"), Some(F::Title));
        assert_eq!(col("XLM"), Some(F::Education));
        assert_eq!(col("最高学历"), Some(F::Education));
        assert_eq!(col("岗位/职务"), Some(F::Posts));
        assert_eq!(col("职务"), Some(F::Posts));
        assert_eq!(col("参加工作年月(YYYYMM)"), Some(F::EmploymentStart));
        assert_eq!(col("入职日期"), Some(F::EmploymentStart));
        assert_eq!(col("GZNY"), Some(F::EmploymentStart));
        assert_eq!(col("在岗状态"), Some(F::Status));
        assert_eq!(col("手机号码"), Some(F::Phone));
        assert_eq!(col("班主任班级"), Some(F::HeadClass));
        assert_eq!(col("教师资格证号"), Some(F::QualificationCert));
        assert_eq!(col("学籍号"), None);
        assert_eq!(col("备注"), None);
        // Under a merged header such as 基本信息, the lower cell says what the column is.
        assert_eq!(StaffField::from_headers("基本信息", "姓名"), Some(F::Name));
        let a = |h: &str| AssignmentField::from_headers("", h);
        assert_eq!(a("任教班级"), Some(A::Class));
        assert_eq!(a("任教学科"), Some(A::Subject));
        assert_eq!(a("周课时"), Some(A::WeeklyPeriods));
        assert_eq!(a("是否班主任"), Some(A::HeadTeacher));
        assert_eq!(a("教职工号"), Some(A::StaffNo));
        let l: Layout<StaffField> = layout(&["工号", "姓名", "XM", "兴趣", "性别"]);
        assert_eq!(l.position(F::Name), Some(1));
        assert_eq!(l.unknown, [(3, "兴趣".to_owned())]);
        assert_eq!(l.repeated, [(2, 1, F::Name)]);
        assert!(StaffChecker::refuse(&l).is_none());
        let l: Layout<StaffField> = layout(&["姓名", "民族", "职称"]);
        match StaffChecker::refuse(&l) {
            Some(FileError::MissingHeaders { headers, .. }) => {
                assert_eq!(headers, ["工号", "性别"]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_file_without_a_staff_header_says_what_one_looks_like() {
        let p = std::env::temp_dir().join(format!("jy-staffcheck-{}.csv", std::process::id()));
        std::fs::write(
            &p,
            "学籍号,姓名,性别,出生日期,班级\nG1,张三,男,2013-09-01,一年级1班\n",
        )
        .unwrap();
        let e =
            sheets::check::scan_with::<StaffChecker>(
                &p,
                |_, _| std::ops::ControlFlow::Continue(()),
            )
            .unwrap_err();
        // 姓名 and 性别 are staff columns too, 学籍号 is not: the header is found, 工号 missing.
        assert_eq!(e.key(), "error.staff_import.missing_columns");
        std::fs::write(&p, "a,b,c\n1,2,3\n").unwrap();
        let e = sheets::check::scan_with::<AssignmentChecker>(&p, |_, _| {
            std::ops::ControlFlow::Continue(())
        })
        .unwrap_err();
        assert_eq!(e.key(), "error.staff_import_header.assignments");
    }

    const HEADERS: [&str; 12] = [
        "工号",
        "姓名",
        "性别",
        "出生日期",
        "身份证号",
        "手机号码",
        "编制类别",
        "职称",
        "最高学历",
        "岗位",
        "参加工作年月",
        "在岗状态",
    ];

    fn good(seq: u32) -> Vec<String> {
        let birth = NaiveDate::from_ymd_opt(1985, 4, 9).unwrap();
        let id = crate::demo::id_number("330102", birth, seq, true);
        vec![
            format!("T{seq:03}"),
            "王老师".into(),
            "男".into(),
            "1985/4/9".into(),
            id,
            "139 0000 1111".into(),
            "专任教师".into(),
            "中学一级教师".into(),
            "本科".into(),
            "班主任、教研组长".into(),
            "2008.09".into(),
            "在职".into(),
        ]
    }

    #[test]
    fn a_staff_row_becomes_codes() {
        let mut ch = StaffChecker::new(layout(&HEADERS));
        let cells = good(7);
        let refs: Vec<&str> = cells.iter().map(String::as_str).collect();
        let s = ch.check(2, &row(&refs)).expect("a good row");
        assert_eq!(s.staff_no, "T007");
        assert_eq!(s.gender, "1");
        assert_eq!(s.id_type.as_deref(), Some("1"));
        assert_eq!(s.phone.as_deref(), Some("13900001111"));
        assert_eq!(s.staffing_category.as_deref(), Some("1"));
        assert_eq!(s.title.as_deref(), Some("053"));
        assert_eq!(s.education.as_deref(), Some("21"));
        assert_eq!(s.posts, ["head_teacher", "subject_head"]);
        assert_eq!(s.employment_start, NaiveDate::from_ymd_opt(2008, 9, 1));
        assert_eq!(s.status.as_deref(), Some("11"));
        let again = ch.check(5, &row(&refs)).unwrap_err();
        assert!(again.iter().any(|p| p.key == "error.duplicate_in_file"
            && p.other_row == Some(2)
            && p.column == Some(0)));
        assert!(again.iter().any(|p| p.key == "error.duplicate_in_file"
            && p.other_row == Some(2)
            && p.column == Some(4)));
    }

    #[test]
    fn every_staff_problem_names_its_column_and_rule() {
        let mut ch = StaffChecker::new(layout(&HEADERS));
        let mut cells = good(8);
        cells[0] = "T 08#".into();
        cells[2] = "女".into();
        cells[5] = "12345".into();
        cells[6] = "临时工".into();
        cells[9] = "班主任，宇航员".into();
        cells[10] = "2008-13".into();
        let refs: Vec<&str> = cells.iter().map(String::as_str).collect();
        let problems = ch.check(4, &row(&refs)).unwrap_err();
        let got: Vec<(Option<usize>, &str)> = problems.iter().map(|p| (p.column, p.key)).collect();
        for want in [
            (Some(0), "error.staff_no_format"),
            (Some(4), "error.id_number_gender_mismatch"),
            (Some(5), "error.phone_format"),
            (Some(6), "error.code_unknown"),
            (Some(9), "error.staff_import.post_unknown"),
            (Some(10), "error.date_unreadable"),
        ] {
            assert!(got.contains(&want), "{want:?} in {got:?}");
        }
        assert!(problems.iter().any(|p| p.value == "宇航员"));
        // Without a birth date column, the ID number gives it.
        let mut ch = StaffChecker::new(layout(&["工号", "姓名", "性别", "身份证号"]));
        let id = crate::demo::id_number(
            "330102",
            NaiveDate::from_ymd_opt(1990, 1, 2).unwrap(),
            3,
            false,
        );
        let s = ch.check(2, &row(&["A1", "李老师", "女", &id])).unwrap();
        assert_eq!(s.birth_date, NaiveDate::from_ymd_opt(1990, 1, 2));
    }

    #[test]
    fn assignment_rows() {
        let h = [
            "工号",
            "姓名",
            "任教班级",
            "任教学科",
            "周课时",
            "是否班主任",
        ];
        let mut ch = AssignmentChecker::new(layout(&h));
        let a = ch
            .check(
                2,
                &row(&[
                    "t001",
                    "王老师",
                    "三年级(1)班、三年级（2）班",
                    "语文",
                    "6",
                    "是",
                ]),
            )
            .unwrap();
        assert_eq!(a.staff_no, "T001");
        assert_eq!(a.classes, ["三年级(1)班", "三年级（2）班"]);
        assert_eq!(a.subject.as_deref(), Some("13"));
        assert_eq!(a.weekly_periods, Some(6));
        assert!(a.head_teacher);
        let a = ch
            .check(3, &row(&["T002", "", "初一3班", "体育", "", ""]))
            .unwrap();
        assert_eq!(a.subject.as_deref(), Some("22"));
        assert!(!a.head_teacher);
        let p = ch
            .check(4, &row(&["T003", "", "初一3班", "书法", "七", ""]))
            .unwrap_err();
        let got: Vec<(Option<usize>, &str)> = p.iter().map(|p| (p.column, p.key)).collect();
        assert_eq!(
            got,
            [
                (Some(3), "error.code_unknown"),
                (Some(4), "error.staff_import.periods_format")
            ]
        );
        let p = ch
            .check(5, &row(&["T003", "", "初一3班", "", "", "否"]))
            .unwrap_err();
        assert_eq!(p[0].key, "error.required");
        assert_eq!(p[0].column, Some(3));
        assert_eq!(subject_for_stage("26", crate::model::Stage::Junior), "61");
        assert_eq!(subject_for_stage("12", crate::model::Stage::Primary), "11");
        assert_eq!(subject_for_stage("13", crate::model::Stage::Primary), "13");
    }
}

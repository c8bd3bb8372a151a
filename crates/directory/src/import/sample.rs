//! Generated student files for tests and the import benchmark: realistic rows (valid ID numbers,
//! registry numbers, classes, one or two guardians with mobile numbers), written as CSV (UTF-8
//! or GBK) or as XLSX with a merged two-line header and Excel dates, without holding the file
//! in memory. Student `i` is the same in every format.

use crate::demo;
use chrono::NaiveDate;
use std::io::Write;
use std::ops::Range;
use std::path::Path;

/// The flat header (CSV).
pub const HEADER: [&str; 14] = [
    "全国学籍号",
    "姓名",
    "性别",
    "出生日期",
    "身份证件号",
    "民族",
    "班级",
    "入学年月",
    "监护人1姓名",
    "监护人1关系",
    "监护人1联系电话",
    "监护人2姓名",
    "监护人2关系",
    "监护人2联系电话",
];

/// One student's row as text. With `bad`, the birth date is a day that does not exist.
pub struct Student {
    pub registry_no: String,
    pub name: String,
    pub male: bool,
    pub birth: NaiveDate,
    pub id_number: String,
    pub class: String,
    pub entry: String,
    pub guardians: Vec<(String, &'static str, String)>,
}

pub fn student(i: u64) -> Student {
    let start = NaiveDate::from_ymd_opt(2013, 1, 1).unwrap_or_default();
    let birth = start + chrono::Duration::days((i / 998) as i64);
    let male = i % 2 == 1;
    let id = demo::id_number("330102", birth, ((i % 998) / 2) as u32, male);
    // 45 to a class, eight classes to a grade, six grades.
    let c = i / 45;
    let year = 1 + (c / 8) % 6;
    let class = format!(
        "{}({})班",
        ["一年级", "二年级", "三年级", "四年级", "五年级", "六年级"][year as usize - 1],
        1 + c % 8
    );
    let surname = demo::name(i as usize);
    let family: String = surname.chars().take(1).collect();
    let mut guardians = vec![(
        format!("{family}母{}", i % 97),
        "母亲",
        format!("139{:08}", i % 100_000_000),
    )];
    if i.is_multiple_of(2) {
        guardians.push((
            format!("{family}父{}", i % 89),
            "父亲",
            format!("138{:08}", i % 100_000_000),
        ));
    }
    Student {
        registry_no: format!("G{id}"),
        name: surname,
        male,
        birth,
        id_number: id,
        class,
        entry: format!("{}-09", 2026 - year),
        guardians,
    }
}

fn cells(s: &Student, bad: bool) -> Vec<String> {
    let mut out = vec![
        s.registry_no.clone(),
        s.name.clone(),
        if s.male { "男" } else { "女" }.into(),
        if bad {
            "2013-02-30".into()
        } else {
            s.birth.format("%Y/%-m/%-d").to_string()
        },
        s.id_number.clone(),
        "汉族".into(),
        s.class.clone(),
        s.entry.clone(),
    ];
    for g in 0..2 {
        match s.guardians.get(g) {
            Some((n, r, p)) => out.extend([n.clone(), (*r).to_owned(), p.clone()]),
            None => out.extend([String::new(), String::new(), String::new()]),
        }
    }
    out
}

fn is_bad(i: u64, bad_every: Option<u64>) -> bool {
    bad_every.is_some_and(|n| i % n == n / 2)
}

/// Writes students `range` as CSV; every `bad_every`-th row (in the middle of each run) has a
/// birth date that does not exist.
pub fn write_csv(
    path: &Path,
    range: Range<u64>,
    gbk: bool,
    bad_every: Option<u64>,
) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut line = |text: String| -> std::io::Result<()> {
        if gbk {
            out.write_all(&encoding_rs::GB18030.encode(&text).0)
        } else {
            out.write_all(text.as_bytes())
        }
    };
    line(HEADER.join(",") + "\n")?;
    for i in range {
        line(cells(&student(i), is_bad(i, bad_every)).join(",") + "\n")?;
    }
    out.flush()
}

/// Writes students `range` as XLSX the way registry exports look: a merged upper header
/// (学生基本信息 over the student's columns, 监护人1 and 监护人2 over theirs), the field names
/// below, and dates as Excel dates.
pub fn write_xlsx(
    path: &Path,
    range: Range<u64>,
    bad_every: Option<u64>,
) -> Result<(), rust_xlsxwriter::XlsxError> {
    use rust_xlsxwriter::{Format, Workbook};
    let mut wb = Workbook::new();
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let ws = wb.add_worksheet_with_constant_memory()?;
    let plain = Format::new();
    ws.merge_range(0, 0, 0, 7, "学生基本信息", &plain)?;
    ws.merge_range(0, 8, 0, 10, "监护人1", &plain)?;
    ws.merge_range(0, 11, 0, 13, "监护人2", &plain)?;
    let lower = [
        "全国学籍号",
        "姓名",
        "性别",
        "出生日期",
        "身份证件号",
        "民族",
        "班级",
        "入学年月",
        "姓名",
        "关系",
        "联系电话",
        "姓名",
        "关系",
        "联系电话",
    ];
    for (c, h) in lower.iter().enumerate() {
        ws.write_string(1, c as u16, *h)?;
    }
    for (r, i) in range.enumerate() {
        let row = r as u32 + 2;
        let s = student(i);
        let bad = is_bad(i, bad_every);
        for (c, v) in cells(&s, bad).into_iter().enumerate() {
            if c == 3 && !bad {
                ws.write_number_with_format(
                    row,
                    3,
                    crate::typed::to_excel_serial(s.birth) as f64,
                    &date,
                )?;
            } else if !v.is_empty() {
                ws.write_string(row, c as u16, v)?;
            }
        }
    }
    wb.save(path)
}

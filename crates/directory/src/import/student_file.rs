//! Checking a whole student file (the first step of an import), through the generic row
//! checking of `sheets::check`: the columns a student file needs, and [`check_file`] for the
//! command line and the benchmarks.

use super::student_columns::{Column, StudentField as S};
use super::student_rows::{Checker, StudentRow};
use sheets::check::{
    FileCheck, FileError, Header, Layout, Problem, RowRules, check_with, scan_with,
};
use std::ops::ControlFlow;
use std::path::Path;

/// The columns a student file cannot do without, with the template's header for each.
const REQUIRED: [(S, &str); 5] = [
    (S::RegistryNo, "学籍号"),
    (S::Name, "姓名"),
    (S::Gender, "性别"),
    (S::BirthDate, "出生日期"),
    (S::Class, "班级"),
];

impl RowRules for Checker {
    type Field = Column;
    type Row = StudentRow;
    fn refuse(layout: &Layout<Column>) -> Option<FileError> {
        let missing: Vec<&'static str> = REQUIRED
            .iter()
            .filter(|(f, _)| layout.position(Column::Student(*f)).is_none())
            .map(|(_, h)| *h)
            .collect();
        (!missing.is_empty()).then_some(FileError::MissingHeaders {
            key: "error.import.missing_columns",
            headers: missing,
        })
    }
    fn new(layout: Layout<Column>) -> Self {
        Checker::new(layout)
    }
    fn layout(&self) -> &Layout<Column> {
        Checker::layout(self)
    }
    fn check(&mut self, row: u32, cells: &[sheets::Value]) -> Result<StudentRow, Vec<Problem>> {
        Checker::check(self, row, cells)
    }
}

/// Reads a student file as a stream: finds the header (with the row above it, for merged
/// headers), then hands each data row, checked, to `on_row`, which may stop the reading.
pub fn scan(
    path: &Path,
    on_row: impl FnMut(&Layout<Column>, Result<StudentRow, Vec<Problem>>) -> ControlFlow<()>,
) -> Result<Header, FileError> {
    scan_with::<Checker>(path, on_row)
}

/// Checks every row of a student file (without the database), keeping the first `keep`
/// problems and counting the rest, so a file of any length is checked in bounded memory.
pub fn check_file(path: &Path, keep: usize) -> Result<FileCheck, FileError> {
    check_with::<Checker>(path, keep)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use chrono::NaiveDate;
    use sheets::Format;
    use sheets::check::column_letter;
    use sheets::report::{column_notes, error_copy};

    fn csv_file(name: &str, text: &str, gbk: bool) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("jy-filecheck-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(name);
        let bytes = if gbk {
            encoding_rs::GBK.encode(text).0.into_owned()
        } else {
            text.as_bytes().to_vec()
        };
        std::fs::write(&p, bytes).unwrap();
        p
    }

    fn student(seq: u32) -> String {
        // The generator's sequence repeats after 499: the birth date keeps IDs apart.
        let birth = NaiveDate::from_ymd_opt(2012, 5, 1).unwrap()
            + chrono::Duration::days(i64::from(seq / 400));
        let id = crate::demo::id_number("330102", birth, seq % 400, seq % 2 == 1);
        let g = if seq % 2 == 1 { "男" } else { "女" };
        format!("G{id},学生{seq},{g},{birth},{id},汉族,三年级（2）班\n")
    }

    #[test]
    fn a_gbk_file_with_a_title_row_and_one_bad_row_in_a_thousand() {
        let mut text =
            String::from("2025学年 三年级学生名单\n学籍号,姓名,性别,出生日期,身份证号,民族,班级\n");
        for i in 0..1000 {
            if i == 500 {
                text.push_str("G123,学生X,男,2012-13-01,,火星,三年级（2）班\n");
            } else {
                text.push_str(&student(i));
            }
        }
        let p = csv_file("roster.csv", &text, true);
        let c = check_file(&p, usize::MAX).unwrap();
        assert_eq!(c.header.format, Format::Csv("GB18030"));
        assert_eq!(c.header.header_row, 2);
        assert_eq!((c.rows, c.good), (1000, 999));
        let row = 3 + 500;
        let keys: Vec<(Option<usize>, &str)> =
            c.problems.iter().map(|p| (p.column, p.key)).collect();
        assert!(c.problems.iter().all(|p| p.row == row), "{:?}", c.problems);
        for want in [
            (Some(0), "error.registry_no_format"),
            (Some(3), "error.date_unreadable"),
            (Some(5), "error.code_unknown"),
        ] {
            assert!(keys.contains(&want), "{want:?} in {keys:?}");
        }
        // The error copy: the same rows, the problems in the last column of the bad row only.
        let out =
            std::env::temp_dir().join(format!("jy-filecheck-{}/copy.xlsx", std::process::id()));
        error_copy(
            &p,
            &c.header,
            &c.problems,
            "错误说明",
            |p| format!("{}列 {}", column_letter(p.column.unwrap_or(0)), p.key),
            &out,
        )
        .unwrap();
        let (_, rows) = sheets::read_all(&out).unwrap();
        assert_eq!(rows.len(), 1002);
        assert_eq!(rows[1].cells[7].text(), "错误说明");
        let bad = &rows[row as usize - 1];
        assert!(
            bad.cells[7].text().contains("A列 error.registry_no_format"),
            "{:?}",
            bad.cells
        );
        assert!(rows[3].cells.get(7).is_none_or(|v| v.is_empty()));
    }

    #[test]
    fn files_without_the_needed_columns_say_which() {
        let p = csv_file("partial.csv", "姓名,性别,民族\n张三,男,汉\n", false);
        match check_file(&p, usize::MAX).unwrap_err() {
            FileError::MissingHeaders { key, headers } => {
                assert_eq!(key, "error.import.missing_columns");
                assert_eq!(headers, ["学籍号", "出生日期", "班级"]);
            }
            e => panic!("{e}"),
        }
        let p = csv_file("none.csv", "a,b\n1,2\n", false);
        assert_eq!(
            check_file(&p, usize::MAX).unwrap_err().key(),
            "error.import.no_header"
        );
        assert_eq!(column_letter(0), "A");
        assert_eq!(column_letter(25), "Z");
        assert_eq!(column_letter(26), "AA");
        assert_eq!(column_letter(27 * 26), "AAA");
    }

    #[test]
    fn unknown_and_repeated_columns_are_reported_and_problems_kept_bounded() {
        let p = csv_file(
            "columns.csv",
            "学籍号,姓名,性别,出生日期,班级,备注,姓名\nX1,张三,男,2013-02-30,1班,好,张山\nX2,李四,女,2013-13-01,1班,,\n",
            false,
        );
        let c = check_file(&p, 1).unwrap();
        assert_eq!(c.header.ignored, vec![(5, None), (6, Some(1))]);
        let notes = column_notes(&c.header, kernel::Locale::ZhCn);
        assert!(notes[0].starts_with("F 列“备注”"), "{notes:?}");
        assert!(
            notes[1].contains("G 列“姓名”") && notes[1].contains("以 B 列为准"),
            "{notes:?}"
        );
        assert!(c.problem_count > 1, "{}", c.problem_count);
        assert_eq!(c.problems.len(), 1, "only what was asked to keep");
    }
}

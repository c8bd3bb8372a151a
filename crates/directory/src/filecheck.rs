//! Checking a whole student file (the first step of an import): find the header row (or two,
//! under merged cells), check every row, and collect the problems. Then, on request, a copy of
//! the file as XLSX with a last column that names every problem of each row, for the school to
//! correct and upload again. Both read the file as a stream. The other kinds of file (staff,
//! teaching assignments) are read the same way through [`RowRules`] and [`scan_with`].

use crate::headers::{Column, ColumnKind, Layout, StudentField as S};
use crate::rowcheck::{Checker, Problem, StudentRow};
use sheets::{Format, Row, SheetError};
use std::collections::HashMap;
use std::ops::ControlFlow;
use std::path::Path;

/// How many rows from the top may come before the header (titles such as "2025学年学生名单").
const HEADER_SEARCH_ROWS: usize = 10;
/// The columns a student file cannot do without.
const REQUIRED: [S; 5] = [S::RegistryNo, S::Name, S::Gender, S::BirthDate, S::Class];

/// Why a file could not be checked at all. `key()` is the message key.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error(transparent)]
    Sheet(#[from] SheetError),
    #[error("no header row in the first {HEADER_SEARCH_ROWS} rows")]
    NoHeader,
    /// The same for another kind of file, with the message key that says what its header
    /// looks like.
    #[error("no header row in the first {HEADER_SEARCH_ROWS} rows")]
    NoHeaderOf(&'static str),
    #[error("required columns missing: {0:?}")]
    MissingColumns(Vec<S>),
    /// The same for another kind of file, by the template's header names, with the message
    /// key that names them.
    #[error("required columns missing: {headers:?}")]
    MissingHeaders {
        key: &'static str,
        headers: Vec<&'static str>,
    },
}

impl FileError {
    pub fn key(&self) -> String {
        match self {
            Self::Sheet(e) => format!("error.sheets.{}", e.code()),
            Self::NoHeader => "error.import.no_header".into(),
            Self::NoHeaderOf(key) => (*key).into(),
            Self::MissingColumns(_) => "error.import.missing_columns".into(),
            Self::MissingHeaders { key, .. } => (*key).into(),
        }
    }
}

/// The file's shape, as found above its data rows.
#[derive(Debug, Clone)]
pub struct Header {
    pub format: Format,
    /// The row holding the (lower) header, and its texts.
    pub header_row: u32,
    pub headers: Vec<String>,
    /// The header's width in columns (the error copy's problem column comes after them).
    pub width: usize,
    /// Columns whose values are not imported: a header the import does not know (`None`), or
    /// a field named again after an earlier column (`Some(earlier)`, which is the one read).
    pub ignored: Vec<(usize, Option<usize>)>,
}

/// The columns a file's values are not read from, in words ("H 列“备注”不是可导入的列，
/// 已忽略。"), for the report and the command line.
pub fn column_notes(header: &Header, locale: kernel::Locale) -> Vec<String> {
    header
        .ignored
        .iter()
        .map(|(c, earlier)| {
            let column = column_letter(*c);
            let text = header.headers.get(*c).map_or("", String::as_str);
            match earlier {
                None => kernel::i18n::tf(
                    locale,
                    "import.column_unknown",
                    &[("column", &column), ("header", text)],
                ),
                Some(e) => kernel::i18n::tf(
                    locale,
                    "import.column_repeated",
                    &[
                        ("column", &column),
                        ("header", text),
                        ("first", &column_letter(*e)),
                    ],
                ),
            }
        })
        .collect()
}

/// How the rows of one kind of file are checked: the columns it needs, and a checker that
/// remembers earlier rows (for duplicates).
pub trait RowRules: Sized {
    type Field: ColumnKind;
    type Row;
    /// Why a header cannot be used (required columns missing), if it cannot.
    fn refuse(layout: &Layout<Self::Field>) -> Option<FileError>;
    /// What to say when no row looks like this kind's header.
    fn no_header() -> FileError {
        FileError::NoHeader
    }
    fn new(layout: Layout<Self::Field>) -> Self;
    fn layout(&self) -> &Layout<Self::Field>;
    fn check(&mut self, row: u32, cells: &[sheets::Value]) -> Result<Self::Row, Vec<Problem>>;
}

impl RowRules for Checker {
    type Field = Column;
    type Row = StudentRow;
    fn refuse(layout: &Layout) -> Option<FileError> {
        let missing: Vec<S> = REQUIRED
            .into_iter()
            .filter(|f| layout.position(Column::Student(*f)).is_none())
            .collect();
        (!missing.is_empty()).then_some(FileError::MissingColumns(missing))
    }
    fn new(layout: Layout) -> Self {
        Checker::new(layout)
    }
    fn layout(&self) -> &Layout {
        Checker::layout(self)
    }
    fn check(&mut self, row: u32, cells: &[sheets::Value]) -> Result<StudentRow, Vec<Problem>> {
        Checker::check(self, row, cells)
    }
}

/// What checking a file found.
#[derive(Debug)]
pub struct FileCheck {
    pub header: Header,
    /// Data rows read, and how many had no problem.
    pub rows: usize,
    pub good: usize,
    /// Every problem found.
    pub problem_count: usize,
    /// The first problems, at most what was asked to keep.
    pub problems: Vec<Problem>,
}

fn texts(r: &Row) -> Vec<String> {
    r.cells.iter().map(sheets::Value::text).collect()
}

/// Reads a student file as a stream: finds the header (with the row above it, for merged
/// headers), then hands each data row, checked, to `on_row`, which may stop the reading.
pub fn scan(
    path: &Path,
    on_row: impl FnMut(&Layout, Result<StudentRow, Vec<Problem>>) -> ControlFlow<()>,
) -> Result<Header, FileError> {
    scan_with::<Checker>(path, on_row)
}

/// [`scan`] for any kind of file.
pub fn scan_with<K: RowRules>(
    path: &Path,
    mut on_row: impl FnMut(&Layout<K::Field>, Result<K::Row, Vec<Problem>>) -> ControlFlow<()>,
) -> Result<Header, FileError> {
    let mut waiting: Vec<Row> = Vec::new();
    let mut found: Option<(u32, Vec<String>, K)> = None;
    let mut refused = None;
    let format = sheets::for_each_row(path, |r| {
        if let Some((_, _, checker)) = &mut found {
            let checked = checker.check(r.number, &r.cells);
            return on_row(checker.layout(), checked);
        }
        let above = waiting.last().map(texts);
        let layout = Layout::<K::Field>::read(above.as_deref(), &texts(&r));
        if layout.columns.iter().flatten().count() < 3 {
            waiting.push(r);
            if waiting.len() >= HEADER_SEARCH_ROWS {
                refused = Some(K::no_header());
                return ControlFlow::Break(());
            }
            return ControlFlow::Continue(());
        }
        if let Some(e) = K::refuse(&layout) {
            refused = Some(e);
            return ControlFlow::Break(());
        }
        found = Some((r.number, texts(&r), K::new(layout)));
        ControlFlow::Continue(())
    })?;
    if let Some(e) = refused {
        return Err(e);
    }
    let (header_row, headers, checker) = found.ok_or_else(K::no_header)?;
    let layout = checker.layout();
    let mut ignored: Vec<(usize, Option<usize>)> = layout
        .unknown
        .iter()
        .map(|(c, _)| (*c, None))
        .chain(
            layout
                .repeated
                .iter()
                .map(|(c, first, _)| (*c, Some(*first))),
        )
        .collect();
    ignored.sort();
    Ok(Header {
        format,
        header_row,
        width: layout.columns.len(),
        headers,
        ignored,
    })
}

/// Checks every row of a student file (without the database), keeping the first `keep`
/// problems and counting the rest, so a file of any length is checked in bounded memory.
pub fn check_file(path: &Path, keep: usize) -> Result<FileCheck, FileError> {
    let (mut rows, mut good, mut count, mut problems) = (0, 0, 0, Vec::new());
    let header = scan(path, |_, r| {
        rows += 1;
        match r {
            Ok(_) => good += 1,
            Err(p) => {
                count += p.len();
                let room = keep.saturating_sub(problems.len());
                problems.extend(p.into_iter().take(room));
            }
        }
        ControlFlow::Continue(())
    })?;
    Ok(FileCheck {
        header,
        rows,
        good,
        problem_count: count,
        problems,
    })
}

/// Column letters as spreadsheets show them (0 → A, 26 → AA).
pub fn column_letter(mut i: usize) -> String {
    let mut s = Vec::new();
    loop {
        s.push(b'A' + (i % 26) as u8);
        if i < 26 {
            break;
        }
        i = i / 26 - 1;
    }
    s.reverse();
    String::from_utf8(s).unwrap_or_default()
}

/// A problem in words: "第 12 行 D 列（出生日期）“2013-02-30”：日期不存在（如 2 月 30 日）。"
pub fn describe(headers: &[String], p: &Problem, locale: kernel::Locale) -> String {
    use kernel::i18n::{t, tf};
    let row = p.row.to_string();
    let place = match p.column {
        Some(c) => {
            let header = headers.get(c).map_or("", String::as_str);
            let column = column_letter(c);
            tf(
                locale,
                "import.at_cell",
                &[("row", &row), ("column", &column), ("header", header)],
            )
        }
        None => tf(locale, "import.at_row", &[("row", &row)]),
    };
    let mut s = format!("{place}“{}”：{}", p.value, t(locale, p.key));
    if let Some(place) = &p.elsewhere {
        s.push_str(&tf(locale, "import.registered_at", &[("place", place)]));
    }
    if let Some(o) = p.other_row {
        s.push_str(&tf(
            locale,
            "import.same_as_row",
            &[("row", &o.to_string())],
        ));
    }
    if let Some(table) = p.accepted {
        s.push_str(&accepted_in_words(table, locale));
    }
    s
}

/// The file again as XLSX at `out`, each row followed by a column naming its problems
/// (`message` turns a problem into words in the reader's language); `heading` heads that
/// column. Rows are written as they are read (rust_xlsxwriter's constant-memory mode).
pub fn error_copy<'a>(
    path: &Path,
    header: &Header,
    problems: impl IntoIterator<Item = &'a Problem>,
    heading: &str,
    message: impl Fn(&Problem) -> String,
    out: &Path,
) -> Result<(), FileError> {
    let mut by_row: HashMap<u32, Vec<String>> = HashMap::new();
    for p in problems {
        by_row.entry(p.row).or_default().push(message(p));
    }
    let unwritable = |e: rust_xlsxwriter::XlsxError| {
        FileError::Sheet(SheetError::Io(std::io::Error::other(e.to_string())))
    };
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb
        .add_worksheet_with_constant_memory()
        .map_err(unwritable)?;
    let width = header.width;
    let mut failed = None;
    sheets::for_each_row(path, |r| {
        // Each row where the file has it, so the copy's row numbers are the report's.
        let out_row = r.number.saturating_sub(1);
        let mut write = || -> Result<(), rust_xlsxwriter::XlsxError> {
            for (c, v) in r.cells.iter().enumerate() {
                let t = v.text();
                if !t.is_empty() {
                    ws.write_string(out_row, c as u16, t)?;
                }
            }
            let last = width.max(r.cells.len()) as u16;
            if r.number == header.header_row {
                ws.write_string(out_row, last, heading)?;
            } else if let Some(msgs) = by_row.get(&r.number) {
                ws.write_string(out_row, last, msgs.join("；"))?;
            }
            Ok(())
        };
        if let Err(e) = write() {
            failed = Some(e);
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    })?;
    if let Some(e) = failed {
        return Err(unwritable(e));
    }
    wb.save(out).map_err(unwritable)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use chrono::NaiveDate;

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
            FileError::MissingColumns(m) => {
                assert_eq!(m, vec![S::RegistryNo, S::BirthDate, S::Class]);
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

/// The accepted values of a table in words, for a message about a value it does not hold: every
/// name of a short table, the first few of a long one and how many there are.
pub fn accepted_in_words(t: crate::codes::Table, locale: kernel::Locale) -> String {
    use crate::codes::{Table, all};
    const SHOWN: usize = 10;
    let codes = all(t);
    let mut names: Vec<&str> = codes.iter().take(SHOWN).map(|c| c.name.as_str()).collect();
    if t == Table::YesNo {
        names = vec!["是", "否"];
    }
    let sep = match locale {
        kernel::Locale::ZhCn => "、",
        kernel::Locale::En => ", ",
    };
    let values = names.join(sep);
    if codes.len() <= SHOWN {
        kernel::i18n::tf(locale, "import.accepted", &[("values", &values)])
    } else {
        kernel::i18n::tf(
            locale,
            "import.accepted_many",
            &[("values", &values), ("count", &codes.len().to_string())],
        )
    }
}

#[cfg(test)]
mod accepted_tests {
    use super::accepted_in_words;
    use crate::codes::{Table, all};

    #[test]
    fn a_refused_value_comes_with_the_accepted_ones() {
        let short = accepted_in_words(Table::LeftBehind, kernel::Locale::ZhCn);
        assert!(
            short.contains("非留守儿童、单亲留守儿童、双亲留守儿童"),
            "{short}"
        );
        let long = accepted_in_words(Table::Ethnicity, kernel::Locale::ZhCn);
        assert!(long.contains("汉族") && long.contains("代码表"), "{long}");
        assert!(
            long.contains(&all(Table::Ethnicity).len().to_string()),
            "{long}"
        );
    }
}

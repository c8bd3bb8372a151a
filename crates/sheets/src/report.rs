//! Problems in words, in the reader's language, and the error copy: the file again as XLSX with
//! a last column naming each row's problems, for the school to correct and upload again.

use crate::SheetError;
use crate::check::{FileError, Header, Problem, column_letter};
use standards::codes::{Table, all};
use std::collections::HashMap;
use std::ops::ControlFlow;
use std::path::Path;

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

/// Why a file could not be used at all, in words (the missing columns named).
pub fn file_message(e: &FileError, locale: kernel::Locale) -> String {
    match e {
        FileError::MissingHeaders { key, headers } => {
            kernel::i18n::tf(locale, key, &[("columns", &headers.join("、"))])
        }
        other => kernel::i18n::t(locale, &other.key()).to_owned(),
    }
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

/// The accepted values of a table in words, for a message about a value it does not hold: every
/// name of a short table, the first few of a long one and how many there are.
pub fn accepted_in_words(t: Table, locale: kernel::Locale) -> String {
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
    crate::for_each_row(path, |r| {
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
mod accepted_tests {
    use super::accepted_in_words;
    use standards::codes::{Table, all};

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

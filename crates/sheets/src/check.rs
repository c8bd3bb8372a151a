//! Checking the rows of a file as schools send it, whatever kind of file it is (students,
//! staff, teaching assignments, a textbook catalogue): find the header row (or two, under
//! merged cells) and read its columns into a [`Layout`]; check each row through the file kind's
//! [`RowRules`], reading cells by field with [`Cells`]; collect [`Problem`]s that each name the
//! row as the spreadsheet shows it, the column, the value and the rule it broke. The kind of
//! file brings its columns (a [`ColumnKind`]) and its rules; [`crate::report`] puts problems
//! into words and writes the error copy.

use crate::{Format, Row, SheetError, Value};
use chrono::NaiveDate;
use standards::codes::{self, Table};
use standards::{typed, validate};
use std::collections::HashMap;
use std::ops::ControlFlow;
use std::path::Path;

/// How many rows from the top may come before the header (titles such as "2025学年学生名单").
const HEADER_SEARCH_ROWS: usize = 10;

/// One thing wrong with one cell (or with a row, when `column` is `None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The row number as the spreadsheet shows it.
    pub row: u32,
    /// The column (0 for A).
    pub column: Option<usize>,
    pub value: String,
    /// The message key of the broken rule.
    pub key: &'static str,
    /// For duplicates: the earlier row with the same value.
    pub other_row: Option<u32>,
    /// For conflicts with stored data: where the value is already registered (a school's name).
    pub elsewhere: Option<String>,
    /// For values not in a code table: the table whose values are accepted (listed in words).
    pub accepted: Option<Table>,
}

impl Problem {
    /// A problem with one cell (or the row, without a column): its value and the broken rule.
    pub fn new(row: u32, column: Option<usize>, value: &str, key: &'static str) -> Self {
        Self {
            row,
            column,
            value: value.to_owned(),
            key,
            other_row: None,
            elsewhere: None,
            accepted: None,
        }
    }
}

/// A header made comparable: typed-text cleaning, no spaces, no required-marks (★ * ＊) or
/// notes in brackets (（必填）, (选填)), ASCII lower case.
pub fn key(header: &str) -> String {
    let mut out = String::new();
    let mut depth = 0;
    for c in typed::text(header).chars() {
        match c {
            '（' | '(' | '【' | '[' => depth += 1,
            '）' | ')' | '】' | ']' => depth = (depth - 1).max(0),
            _ if depth > 0 => {}
            '★' | '*' | '＊' | '※' => {}
            c if c.is_whitespace() => {}
            c => out.extend(c.to_lowercase()),
        }
    }
    out
}

/// The field whose accepted headers (normalised, see [`key`]) include `key`.
pub fn lookup<F: Copy>(table: &[(F, &[&str])], key: &str) -> Option<F> {
    table
        .iter()
        .find(|(_, names)| names.contains(&key))
        .map(|(f, _)| *f)
}

/// The columns of one kind of file, as its headers name them.
pub trait ColumnKind: Copy + PartialEq + std::fmt::Debug {
    /// What a header names, given the (merged) header cell above it, which may be empty.
    fn from_headers(top: &str, below: &str) -> Option<Self>;
}

/// The columns of a header row (or two), with what went wrong: headers not understood and
/// columns named twice, by column number (0 for A).
#[derive(Debug, Clone)]
pub struct Layout<C> {
    pub columns: Vec<Option<C>>,
    pub unknown: Vec<(usize, String)>,
    /// (the later column, the earlier one, what both say)
    pub repeated: Vec<(usize, usize, C)>,
}

impl<C> Default for Layout<C> {
    fn default() -> Self {
        Self {
            columns: Vec::new(),
            unknown: Vec::new(),
            repeated: Vec::new(),
        }
    }
}

impl<C: ColumnKind> Layout<C> {
    /// Reads one header row, or two when `top` (the merged row above) is given.
    pub fn read(top: Option<&[String]>, headers: &[String]) -> Self {
        let mut l = Layout::default();
        for (i, h) in headers.iter().enumerate() {
            let up = top.and_then(|t| t.get(i)).map_or("", String::as_str);
            let c = C::from_headers(up, h);
            if c.is_none() && !h.trim().is_empty() {
                l.unknown.push((i, h.clone()));
            }
            if let Some(c) = c
                && let Some(first) = l.columns.iter().position(|x| *x == Some(c))
            {
                l.repeated.push((i, first, c));
            }
            l.columns.push(c);
        }
        l
    }

    /// The column number holding this field.
    pub fn position(&self, c: C) -> Option<usize> {
        self.columns.iter().position(|x| *x == Some(c))
    }
}

/// One row's cells, read by field; what is wrong is collected in `problems`.
pub struct Cells<'a, C> {
    layout: &'a Layout<C>,
    cells: &'a [Value],
    row: u32,
    pub problems: Vec<Problem>,
}

impl<'a, C: ColumnKind> Cells<'a, C> {
    pub fn new(layout: &'a Layout<C>, cells: &'a [Value], row: u32) -> Self {
        Self {
            layout,
            cells,
            row,
            problems: Vec::new(),
        }
    }
    pub fn at(&self, c: C) -> Option<(usize, &Value)> {
        let i = self.layout.position(c)?;
        let v = self.cells.get(i)?;
        (!v.is_empty()).then_some((i, v))
    }
    pub fn text(&self, c: C) -> Option<(usize, String)> {
        self.at(c)
            .map(|(i, v)| (i, typed::text(&v.text())))
            .filter(|(_, t)| !t.is_empty())
    }
    pub fn problem(&mut self, column: Option<usize>, value: &str, key: &'static str) {
        self.problems.push(Problem {
            row: self.row,
            column,
            value: value.to_owned(),
            key,
            other_row: None,
            elsewhere: None,
            accepted: None,
        });
    }
    pub fn required(&mut self, c: C) -> Option<(usize, String)> {
        let t = self.text(c);
        if t.is_none() {
            self.problem(self.layout.position(c), "", "error.required");
        }
        t
    }
    pub fn coded(&mut self, c: C, t: Table) -> Option<String> {
        self.coded_with(c, t, &[])
    }
    /// A coded cell, where `aliases` (spoken forms → code) are read before the table.
    pub fn coded_with(&mut self, c: C, t: Table, aliases: &[(&str, &str)]) -> Option<String> {
        let (i, v) = self.text(c)?;
        let alias = aliases.iter().find(|(a, _)| *a == v).map(|(_, code)| *code);
        match alias.or_else(|| codes::resolve(t, &v)) {
            Some(code) => Some(code.to_owned()),
            None => {
                self.problem(Some(i), &v, "error.code_unknown");
                if let Some(p) = self.problems.last_mut() {
                    p.accepted = Some(t);
                }
                None
            }
        }
    }
    pub fn required_coded(&mut self, c: C, t: Table) -> Option<String> {
        self.required(c)?;
        self.coded(c, t)
    }
    pub fn date(&mut self, c: C, year_month: bool) -> Option<NaiveDate> {
        let (i, v) = self.at(c)?;
        // A date cell is a serial; a number typed as 20130901 reads through its text.
        let parsed = match v {
            Value::Date(serial) => typed::from_excel_serial(*serial),
            other if year_month => typed::year_month(&other.text()),
            other => typed::date(&other.text()),
        };
        match parsed {
            Ok(d) => Some(d),
            Err(e) => {
                let text = v.text();
                self.problem(Some(i), &text, e.key());
                None
            }
        }
    }
    pub fn flag(&mut self, c: C) -> Option<bool> {
        self.coded(c, Table::YesNo).map(|v| v == "1")
    }
    pub fn mobile(&mut self, c: C) -> Option<String> {
        let (i, v) = self.text(c)?;
        let n = validate::normalize_code(&v).replace('-', "");
        match validate::mobile(&n) {
            Ok(()) => Some(n),
            Err(k) => {
                self.problem(Some(i), &v, k);
                None
            }
        }
    }
    /// The ID number in column `c`. A resident ID (type 1, or no type given) must be one: check
    /// character, birth date, and agreement with the row's own birth date and gender (then the
    /// type becomes 1).
    pub fn id_number(
        &mut self,
        c: C,
        id_type: &mut Option<String>,
        birth_date: Option<NaiveDate>,
        gender: &str,
    ) -> Option<String> {
        let (i, v) = self.text(c)?;
        let n = validate::normalize_code(&v).to_uppercase();
        if matches!(id_type.as_deref(), None | Some("1")) {
            if let Err(k) = validate::id_number(&n) {
                self.problem(Some(i), &v, k);
            } else {
                let gender = Some(gender).filter(|g| !g.is_empty());
                for k in validate::id_number_agrees(&n, birth_date, gender) {
                    self.problem(Some(i), &v, k);
                }
                id_type.get_or_insert_with(|| "1".to_owned());
            }
        }
        Some(n)
    }
    /// The same value on an earlier row (`seen` remembers them): a `duplicate_in_file` problem
    /// naming that row.
    pub fn duplicate(&mut self, seen: &mut Seen, key: &str, c: C) {
        if key.is_empty() {
            return;
        }
        let key_hash = fingerprint(key);
        if let Some(first) = seen.get(&key_hash) {
            self.problems.push(Problem {
                row: self.row,
                column: self.layout.position(c),
                value: key.to_owned(),
                key: "error.duplicate_in_file",
                other_row: Some(*first),
                elsewhere: None,
                accepted: None,
            });
        } else {
            seen.insert(key_hash, self.row);
        }
    }
}

/// Values already met in a file, by their 64-bit fingerprint, with the row they were on: a
/// million rows take some 30 MB instead of the values themselves (a false match needs a 64-bit
/// collision among a file's values).
pub type Seen = HashMap<u64, u32>;

fn fingerprint(s: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::hash::DefaultHasher::new();
    s.hash(&mut h);
    h.finish()
}

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
    fn check(&mut self, row: u32, cells: &[Value]) -> Result<Self::Row, Vec<Problem>>;
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
    r.cells.iter().map(Value::text).collect()
}

/// Reads a file as a stream: finds the header (with the row above it, for merged headers),
/// then hands each data row, checked by `K`, to `on_row`, which may stop the reading.
pub fn scan_with<K: RowRules>(
    path: &Path,
    mut on_row: impl FnMut(&Layout<K::Field>, Result<K::Row, Vec<Problem>>) -> ControlFlow<()>,
) -> Result<Header, FileError> {
    let mut waiting: Vec<Row> = Vec::new();
    let mut found: Option<(u32, Vec<String>, K)> = None;
    let mut refused = None;
    let format = crate::for_each_row(path, |r| {
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

/// A file read for an all-or-nothing import: the header, the good rows, the first problems kept
/// and how many problems there were in all.
pub type Collected<R> = (Header, Vec<R>, Vec<Problem>, u64);

/// Every row of a file checked by `K`, for an import that writes all rows or none, keeping the
/// first `keep` problems. More than `max_rows` data rows refuse the file with `too_many` (a
/// message key).
pub fn collect_with<K: RowRules>(
    path: &Path,
    max_rows: usize,
    keep: usize,
    too_many: &'static str,
) -> Result<Collected<K::Row>, FileError> {
    let (mut good, mut problems, mut count, mut rows) = (Vec::new(), Vec::new(), 0u64, 0usize);
    let mut over = false;
    let header = scan_with::<K>(path, |_, r| {
        rows += 1;
        if rows > max_rows {
            over = true;
            return ControlFlow::Break(());
        }
        match r {
            Ok(row) => good.push(row),
            Err(ps) => {
                count += ps.len() as u64;
                let room = keep.saturating_sub(problems.len());
                problems.extend(ps.into_iter().take(room));
            }
        }
        ControlFlow::Continue(())
    })?;
    if over {
        return Err(FileError::NoHeaderOf(too_many));
    }
    Ok((header, good, problems, count))
}

/// Checks every row of a file (without the database), keeping the first `keep` problems and
/// counting the rest, so a file of any length is checked in bounded memory.
pub fn check_with<K: RowRules>(path: &Path, keep: usize) -> Result<FileCheck, FileError> {
    let (mut rows, mut good, mut count, mut problems) = (0, 0, 0, Vec::new());
    let header = scan_with::<K>(path, |_, r| {
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

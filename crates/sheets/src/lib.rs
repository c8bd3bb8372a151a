//! Spreadsheets as schools really send them, read row by row without holding the file's rows
//! in memory: CSV in UTF-8 (with or without a BOM) or GBK/GB18030 (what older Excel writes on a
//! Chinese Windows), XLSX (cells streamed from the sheet's XML) and XLS. The format is told by
//! the file's first bytes, not its name. Values in merged cells (two-line headers) are repeated
//! into every cell of the region, so a header under a merged "监护人信息" reads as such.
//!
//! Errors say what is wrong with the file as a whole (unreadable, password-protected, empty).
//! What is wrong with a value is found by [`check`], the row checking every import shares (the
//! kind of file brings its columns and rules), and put into words by [`report`].

pub mod check;
mod csvfile;
pub mod report;
mod workbook;

use std::io::Read;
use std::ops::ControlFlow;
use std::path::Path;

/// What a file turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Comma-separated text in this encoding (`UTF-8` or `GB18030`, which covers GBK).
    Csv(&'static str),
    Xlsx,
    Xls,
}

/// One cell's value as the file holds it.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Empty,
    Text(String),
    Int(i64),
    Number(f64),
    Bool(bool),
    /// An Excel date or date-time, as its serial number (days since 1899-12-30).
    Date(f64),
    /// A cell whose formula failed (`#N/A`, `#REF!`, …).
    Error(String),
}

impl Value {
    pub fn is_empty(&self) -> bool {
        match self {
            Value::Empty => true,
            Value::Text(s) => s.trim().is_empty(),
            _ => false,
        }
    }

    /// The value as text, as a person would read it in the cell (numbers without a spurious
    /// `.0`; dates as their serial, which the importer turns into a date).
    pub fn text(&self) -> String {
        match self {
            Value::Empty => String::new(),
            Value::Text(s) => s.clone(),
            Value::Int(i) => i.to_string(),
            Value::Number(f) | Value::Date(f) => {
                if f.fract() == 0.0 && f.abs() < 1e15 {
                    format!("{}", *f as i64)
                } else {
                    f.to_string()
                }
            }
            Value::Bool(b) => b.to_string(),
            Value::Error(e) => e.clone(),
        }
    }
}

/// A row: its number as the spreadsheet shows it (1 for the first) and its cells from column A.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub number: u32,
    pub cells: Vec<Value>,
}

/// Why a file cannot be read at all. `code()` is the message key (`error.sheets.<code>`).
#[derive(Debug, thiserror::Error)]
pub enum SheetError {
    #[error("cannot read the file: {0}")]
    Io(#[from] std::io::Error),
    #[error("the workbook is password-protected")]
    Encrypted,
    #[error("the workbook has no worksheet")]
    NoSheet,
    #[error("not a spreadsheet this platform reads (XLSX, XLS or CSV): {0}")]
    Unreadable(String),
    #[error("CSV line {line}: {reason}")]
    Csv { line: u64, reason: String },
}

impl SheetError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Io(_) => "io",
            Self::Encrypted => "encrypted",
            Self::NoSheet => "no_sheet",
            Self::Unreadable(_) => "unreadable",
            Self::Csv { .. } => "csv",
        }
    }
}

/// Tells the format from the first bytes of a file (and, for text, its encoding); `whole`
/// says these bytes are the whole file (so a character cut at the end is an error, not the
/// sample's edge).
pub fn sniff(head: &[u8], whole: bool) -> Format {
    if head.starts_with(b"PK\x03\x04") {
        Format::Xlsx
    } else if head.starts_with(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) {
        // An OLE container: an XLS, or an encrypted XLSX (told apart when opened).
        Format::Xls
    } else {
        Format::Csv(csvfile::encoding_of(head, whole))
    }
}

/// Reads the first worksheet (or the CSV) row by row, calling `each` for every row that has a
/// value, in order, until it says `Break`. Returns the format.
pub fn for_each_row(
    path: &Path,
    mut each: impl FnMut(Row) -> ControlFlow<()>,
) -> Result<Format, SheetError> {
    const SAMPLE: u64 = 4096;
    let mut head = Vec::with_capacity(SAMPLE as usize);
    std::fs::File::open(path)?
        .take(SAMPLE)
        .read_to_end(&mut head)?;
    let format = sniff(&head, (head.len() as u64) < SAMPLE);
    match format {
        Format::Csv(enc) => csvfile::rows(path, enc, &mut each)?,
        Format::Xlsx => workbook::xlsx_rows(path, &mut each)?,
        Format::Xls => workbook::xls_rows(path, &mut each)?,
    }
    Ok(format)
}

/// Every row of a file, for small files and tests.
pub fn read_all(path: &Path) -> Result<(Format, Vec<Row>), SheetError> {
    let mut rows = Vec::new();
    let f = for_each_row(path, |r| {
        rows.push(r);
        ControlFlow::Continue(())
    })?;
    Ok((f, rows))
}

#[cfg(test)]
mod tests;

/// A cell value made safe for a CSV file a person will open in Excel or WPS: a value starting
/// with `=`, `+`, `-`, `@`, a tab or a carriage return would be taken as a formula (OWASP's
/// "CSV injection"), so it is prefixed with a single quote, which both show as text.
pub fn neutralise(cell: &str) -> std::borrow::Cow<'_, str> {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        std::borrow::Cow::Owned(format!("'{cell}"))
    } else {
        std::borrow::Cow::Borrowed(cell)
    }
}

/// Rows as CSV text (RFC 4180 quoting, no BOM), every cell neutralised. The one CSV writer of
/// the platform: every CSV it hands out goes through here.
pub fn csv_text<S: AsRef<str>>(headers: &[&str], rows: &[Vec<S>]) -> Result<String, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(headers.iter().map(|h| neutralise(h).into_owned()))?;
    for row in rows {
        w.write_record(row.iter().map(|s| neutralise(s.as_ref()).into_owned()))?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| csv::Error::from(e.into_error()))?;
    String::from_utf8(bytes)
        .map_err(|e| csv::Error::from(std::io::Error::new(std::io::ErrorKind::InvalidData, e)))
}

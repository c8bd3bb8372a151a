//! Staff and teaching-assignment files for tests and trials: rows of text written as XLSX
//! (a cell that reads as a date, 1985-04-09, is written as an Excel date, as Excel keeps them)
//! or as CSV in UTF-8 or GBK.

use std::io::Write;
use std::path::Path;

/// Writes `rows` (the first is the header) as XLSX.
pub fn write_xlsx(path: &Path, rows: &[Vec<String>]) -> Result<(), rust_xlsxwriter::XlsxError> {
    use rust_xlsxwriter::{Format, Workbook};
    let mut wb = Workbook::new();
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let ws = wb.add_worksheet();
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            let (r, c) = (r as u32, c as u16);
            let as_date = chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d").ok();
            match as_date {
                Some(d) if r > 0 => {
                    let serial = crate::typed::to_excel_serial(d) as f64;
                    ws.write_number_with_format(r, c, serial, &date)?;
                }
                _ if v.is_empty() => {}
                _ => {
                    ws.write_string(r, c, v)?;
                }
            }
        }
    }
    wb.save(path)
}

/// Writes `rows` as CSV (no quoting: cells must not hold commas), GBK-encoded if asked.
pub fn write_csv(path: &Path, rows: &[Vec<String>], gbk: bool) -> std::io::Result<()> {
    let mut text = String::new();
    for row in rows {
        text.push_str(&row.join(","));
        text.push('\n');
    }
    let mut f = std::fs::File::create(path)?;
    if gbk {
        f.write_all(&encoding_rs::GB18030.encode(&text).0)
    } else {
        f.write_all(text.as_bytes())
    }
}

//! XLSX (cells streamed from the first worksheet's XML, so a million-row sheet is never held
//! whole) and XLS (at most 65,536 rows, read as a range).

use crate::{Row, SheetError, Value};
use calamine::{
    Data, DataRef, Dimensions, Reader, Xls, XlsError, Xlsx, XlsxError, open_workbook_from_rs,
};
use std::collections::HashMap;
use std::io::BufReader;
use std::ops::ControlFlow;
use std::path::Path;

fn xlsx_error(e: XlsxError) -> SheetError {
    match e {
        XlsxError::Password => SheetError::Encrypted,
        XlsxError::Io(io) => SheetError::Io(io),
        other => SheetError::Unreadable(other.to_string()),
    }
}

fn value_ref(d: &DataRef<'_>) -> Value {
    match d {
        DataRef::Empty => Value::Empty,
        DataRef::String(s) | DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => {
            Value::Text(s.clone())
        }
        DataRef::SharedString(s) => Value::Text((*s).to_owned()),
        DataRef::Int(i) => Value::Int(*i),
        DataRef::Float(f) => Value::Number(*f),
        DataRef::Bool(b) => Value::Bool(*b),
        DataRef::DateTime(d) => Value::Date(d.as_f64()),
        DataRef::Error(e) => Value::Error(e.to_string()),
    }
}

fn value(d: &Data) -> Value {
    match d {
        Data::Empty => Value::Empty,
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => Value::Text(s.clone()),
        Data::Int(i) => Value::Int(*i),
        Data::Float(f) => Value::Number(*f),
        Data::Bool(b) => Value::Bool(*b),
        Data::DateTime(d) => Value::Date(d.as_f64()),
        Data::Error(e) => Value::Error(e.to_string()),
    }
}

/// Repeats each merged region's value into all its cells.
struct Merges {
    regions: Vec<Dimensions>,
    /// The value at each region's top-left cell, once seen.
    origins: HashMap<(u32, u32), Value>,
}

impl Merges {
    fn fill(&mut self, row: u32, cells: &mut Vec<Value>) {
        for m in &self.regions {
            let (r0, c0) = m.start;
            let (r1, c1) = m.end;
            if row < r0 || row > r1 {
                continue;
            }
            if row == r0
                && let Some(v) = cells.get(c0 as usize)
            {
                self.origins.insert(m.start, v.clone());
            }
            let Some(v) = self.origins.get(&m.start).cloned() else {
                continue;
            };
            for c in c0..=c1 {
                let c = c as usize;
                if cells.len() <= c {
                    cells.resize(c + 1, Value::Empty);
                }
                if cells[c].is_empty() {
                    cells[c] = v.clone();
                }
            }
        }
    }

    /// Whether a row with no cells of its own still gets values from a region.
    fn covers(&self, row: u32) -> bool {
        self.regions
            .iter()
            .any(|m| m.start.0 < row && row <= m.end.0)
    }
}

fn emit(
    merges: &mut Merges,
    row: u32,
    mut cells: Vec<Value>,
    each: &mut impl FnMut(Row) -> ControlFlow<()>,
) -> ControlFlow<()> {
    merges.fill(row, &mut cells);
    if cells.iter().all(Value::is_empty) {
        return ControlFlow::Continue(());
    }
    each(Row {
        number: row + 1,
        cells,
    })
}

pub fn xlsx_rows(
    path: &Path,
    each: &mut impl FnMut(Row) -> ControlFlow<()>,
) -> Result<(), SheetError> {
    let file = BufReader::new(std::fs::File::open(path)?);
    let mut wb: Xlsx<_> = open_workbook_from_rs(file).map_err(xlsx_error)?;
    let name = wb
        .sheet_names()
        .first()
        .cloned()
        .ok_or(SheetError::NoSheet)?;
    let regions = wb.merge_cells_by_sheet_name(&name).map_err(xlsx_error)?;
    let mut merges = Merges {
        regions,
        origins: HashMap::new(),
    };
    let mut reader = wb.worksheet_cells_reader(&name).map_err(xlsx_error)?;
    let mut current: Option<(u32, Vec<Value>)> = None;
    while let Some(cell) = reader.next_cell().map_err(xlsx_error)? {
        let (r, c) = cell.get_position();
        if current.as_ref().is_some_and(|(row, _)| *row != r)
            && let Some((row, cells)) = current.take()
        {
            if emit(&mut merges, row, cells, each).is_break() {
                return Ok(());
            }
            // Rows inside a merged region that have no cells of their own.
            for between in row + 1..r {
                if merges.covers(between) && emit(&mut merges, between, Vec::new(), each).is_break()
                {
                    return Ok(());
                }
            }
        }
        let (_, cells) = current.get_or_insert_with(|| (r, Vec::new()));
        let c = c as usize;
        if cells.len() <= c {
            cells.resize(c + 1, Value::Empty);
        }
        cells[c] = value_ref(cell.get_value());
    }
    if let Some((row, cells)) = current {
        let _ = emit(&mut merges, row, cells, each);
    }
    Ok(())
}

pub fn xls_rows(
    path: &Path,
    each: &mut impl FnMut(Row) -> ControlFlow<()>,
) -> Result<(), SheetError> {
    let file = BufReader::new(std::fs::File::open(path)?);
    let mut wb: Xls<_> = match open_workbook_from_rs(file) {
        Ok(wb) => wb,
        Err(XlsError::Password) => return Err(SheetError::Encrypted),
        Err(e) => {
            // An encrypted XLSX is an OLE container too.
            let file = BufReader::new(std::fs::File::open(path)?);
            if let Err(XlsxError::Password) = open_workbook_from_rs::<Xlsx<_>, _>(file) {
                return Err(SheetError::Encrypted);
            }
            return Err(SheetError::Unreadable(e.to_string()));
        }
    };
    let name = wb
        .sheet_names()
        .first()
        .cloned()
        .ok_or(SheetError::NoSheet)?;
    let range = wb
        .worksheet_range(&name)
        .map_err(|e| SheetError::Unreadable(e.to_string()))?;
    let regions = wb.merge_cells_by_sheet_name(&name).unwrap_or_default();
    let mut merges = Merges {
        regions,
        origins: HashMap::new(),
    };
    let (r0, c0) = range.start().unwrap_or((0, 0));
    for (i, row) in range.rows().enumerate() {
        let mut cells = vec![Value::Empty; c0 as usize];
        cells.extend(row.iter().map(value));
        if emit(&mut merges, r0 + i as u32, cells, each).is_break() {
            break;
        }
    }
    Ok(())
}

//! CSV: the encoding told from the first bytes (a UTF-8 BOM, valid UTF-8, else GB18030, the
//! superset of GBK that Excel writes on a Chinese Windows), transcoded while streaming.

use crate::{Row, SheetError, Value};
use encoding_rs::{Encoding, GB18030, UTF_8};
use encoding_rs_io::DecodeReaderBytesBuilder;
use std::ops::ControlFlow;
use std::path::Path;

/// `UTF-8` or `GB18030`, from the file's first bytes (`whole`: they are the whole file).
pub fn encoding_of(head: &[u8], whole: bool) -> &'static str {
    if head.starts_with(&[0xEF, 0xBB, 0xBF]) {
        return "UTF-8";
    }
    // A multi-byte character may be cut at the end of the sample: only the complete part counts.
    let text = match std::str::from_utf8(head) {
        Ok(t) => t,
        Err(e) if e.error_len().is_none() && !whole => {
            std::str::from_utf8(&head[..e.valid_up_to()]).unwrap_or_default()
        }
        Err(_) => return "GB18030",
    };
    // Short GBK text can happen to be valid UTF-8 (症 is D6 A2, which is also U+05A2). Text in
    // school files is ASCII, Chinese and punctuation: if the UTF-8 reading has letters from
    // elsewhere (Hebrew, Cyrillic, accented Latin…) and the GB18030 reading is clean, it is GBK.
    let odd = text.chars().any(|c| !c.is_ascii() && !is_chinese_text(c));
    if odd && !GB18030.decode_without_bom_handling(head).1 {
        return "GB18030";
    }
    "UTF-8"
}

/// CJK ideographs and the punctuation and full-width forms that go with them.
fn is_chinese_text(c: char) -> bool {
    matches!(u32::from(c),
        0x2000..=0x206F // general punctuation (“ ” — …)
        | 0x3000..=0x303F // CJK punctuation (、。《》)
        | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x3134F // ideographs
        | 0xFF00..=0xFFEF // full-width forms
        | 0x00B7 | 0x00D7 // · ×
    )
}

pub fn rows(
    path: &Path,
    encoding: &'static str,
    each: &mut impl FnMut(Row) -> ControlFlow<()>,
) -> Result<(), SheetError> {
    let enc: &'static Encoding = if encoding == "UTF-8" { UTF_8 } else { GB18030 };
    let file = std::fs::File::open(path)?;
    // The BOM, if any, is taken off; bytes that are not valid become U+FFFD (and the importer
    // reports the value), never an abort half-way.
    let decoded = DecodeReaderBytesBuilder::new()
        .encoding(Some(enc))
        .bom_override(true)
        .build(file);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(LineEnds::new(decoded));
    let mut record = csv::StringRecord::new();
    // Line breaks inside quoted cells so far: lines of the file, but not rows of the sheet.
    let mut inner_breaks = 0u64;
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => return Ok(()),
            Ok(true) => {
                // The row Excel and WPS show: the record's first line, less the lines that
                // quoted cells above it took. Blank lines are rows there too, so they count.
                let line = record.position().map_or(0, |p| p.line());
                let number = u32::try_from(line.saturating_sub(inner_breaks)).unwrap_or(u32::MAX);
                inner_breaks += record
                    .iter()
                    .map(|cell| cell.bytes().filter(|b| *b == b'\n').count() as u64)
                    .sum::<u64>();
                let cells: Vec<Value> = record
                    .iter()
                    .map(|s| {
                        if s.is_empty() {
                            Value::Empty
                        } else {
                            Value::Text(s.to_owned())
                        }
                    })
                    .collect();
                if cells.iter().all(Value::is_empty) {
                    continue;
                }
                if each(Row { number, cells }).is_break() {
                    return Ok(());
                }
            }
            Err(e) => {
                let line = e
                    .position()
                    .map_or(0, |p| p.line().saturating_sub(inner_breaks));
                return Err(match e.into_kind() {
                    csv::ErrorKind::Io(io) => SheetError::Io(io),
                    other => SheetError::Csv {
                        line,
                        reason: format!("{other:?}"),
                    },
                });
            }
        }
    }
}

/// The decoded text as the CSV reader should see it. Line ends as Windows (CR LF), old Macs (CR)
/// and everyone else (LF) write them all become LF: the reader counts lines by LF and, given
/// CR LF, would count a record's line before its LF. A blank line becomes a line holding one
/// space: the reader would skip it and place the next record on the blank line, while Excel
/// and WPS show a blank line as a row of its own.
struct LineEnds<R> {
    inner: R,
    after_cr: bool,
    quoted: bool,
    at_row_start: bool,
    read: Vec<u8>,
    out: Vec<u8>,
    pos: usize,
}

impl<R> LineEnds<R> {
    fn new(inner: R) -> Self {
        Self {
            inner,
            after_cr: false,
            quoted: false,
            at_row_start: true,
            read: vec![0; 8192],
            out: Vec::with_capacity(8300),
            pos: 0,
        }
    }

    fn push(&mut self, b: u8) {
        if self.after_cr && b == b'\n' {
            self.after_cr = false;
            return;
        }
        self.after_cr = b == b'\r';
        let b = if b == b'\r' { b'\n' } else { b };
        if b == b'"' {
            self.quoted = !self.quoted;
        }
        if b == b'\n' && !self.quoted {
            if self.at_row_start {
                self.out.push(b' ');
            }
            self.at_row_start = true;
        } else {
            self.at_row_start = false;
        }
        self.out.push(b);
    }
}

impl<R: std::io::Read> std::io::Read for LineEnds<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.pos >= self.out.len() {
            let n = self.inner.read(&mut self.read)?;
            if n == 0 {
                return Ok(0);
            }
            self.out.clear();
            self.pos = 0;
            let bytes = std::mem::take(&mut self.read);
            for b in &bytes[..n] {
                self.push(*b);
            }
            self.read = bytes;
        }
        let n = buf.len().min(self.out.len() - self.pos);
        buf[..n].copy_from_slice(&self.out[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

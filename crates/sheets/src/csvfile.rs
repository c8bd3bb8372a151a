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
        .from_reader(decoded);
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => return Ok(()),
            Ok(true) => {
                let number = record.position().map_or(0, |p| p.line()) as u32;
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
                let line = e.position().map_or(0, |p| p.line());
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

//! Text for search: from PDFs (lopdf, with CID fonts through their ToUnicode CMaps, so Chinese
//! comes out as Chinese), from Office Open XML and OpenDocument files (the text runs of their
//! XML parts), and from plain text (UTF-8 or GB18030). Legacy binary Office files (.doc, .ppt,
//! .xls, .wps) have no text of their own here; once their PDF preview exists, the text is taken
//! from it ([`super::preview`]). The text is cut at [`TEXT_CAP`] bytes and kept in
//! `blobs.text`; the search index reads it from there.
//!
//! Files up to [`INLINE_MAX`] are read while their upload completes, so a resource made from
//! them is indexed with its text at once; larger ones are read by the background runner
//! ([`run_once`]), which then records a change for every resource with that file so the
//! search index picks the text up.

use super::sniff::Category;
use super::store::{self, Store};
use kernel::{AppError, AppResult, AppState, ResourceId, on_db, on_tx};
use object_store::path::Path;
use std::io::{Cursor, Read};

/// The most text kept per file, in bytes.
pub const TEXT_CAP: usize = 1024 * 1024;
/// Files up to this size are read for text while their upload completes.
pub const INLINE_MAX: u64 = 32 * 1024 * 1024;
/// Files above this size are not read for text at all.
pub const SOURCE_MAX: u64 = 512 * 1024 * 1024;
/// The most the XML parts of one Office file may inflate to, all together (against ZIP bombs:
/// a budget per file, not per part, so many parts cannot add up).
pub const INFLATE_BUDGET: u64 = 32 * 1024 * 1024;
/// Files read for text at once in this process: with the budget, what extraction may hold.
static EXTRACTING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);
/// The most a PDF page's content streams may inflate to.
const PAGE_MAX: usize = 32 * 1024 * 1024;

/// The text of the stored content at `key`; empty when it has none (or is too large).
pub async fn text_of(
    store: &Store,
    key: &Path,
    mime: &str,
    category: Category,
    size: u64,
) -> AppResult<String> {
    if !category.has_text() || size > SOURCE_MAX {
        return Ok(String::new());
    }
    let bytes = store
        .get(key)
        .await
        .map_err(store::err)?
        .bytes()
        .await
        .map_err(store::err)?;
    let mime = mime.to_owned();
    let _turn = EXTRACTING.acquire().await.map_err(AppError::internal)?;
    tokio::task::spawn_blocking(move || from_bytes(&mime, category, &bytes))
        .await
        .map_err(AppError::internal)
}

/// The text of a content held in memory.
pub fn from_bytes(mime: &str, category: Category, bytes: &[u8]) -> String {
    let mut out = String::new();
    let base = mime.split(';').next().unwrap_or(mime).trim();
    match (category, base) {
        (Category::Pdf, _) => pdf(bytes, &mut out),
        (Category::Text, _) => {
            out = if mime.contains("gb18030") {
                encoding_rs::GB18030.decode(bytes).0.into_owned()
            } else {
                let b = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
                String::from_utf8_lossy(b).into_owned()
            };
        }
        (_, m) if m.starts_with("application/vnd.openxmlformats-officedocument.") => {
            ooxml(bytes, &mut out);
        }
        (_, m) if m.starts_with("application/vnd.oasis.opendocument.") => {
            zip_parts(bytes, &["content.xml"], &ODF, &mut out);
        }
        _ => {}
    }
    cap(&mut out);
    out
}

fn cap(s: &mut String) {
    if s.len() > TEXT_CAP {
        let mut end = TEXT_CAP;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
}

fn pdf(bytes: &[u8], out: &mut String) {
    let Ok(doc) = lopdf::Document::load_mem(bytes) else {
        return;
    };
    for page in doc.get_pages().keys() {
        for chunk in doc.extract_text_chunks_with_limit(&[*page], PAGE_MAX) {
            match chunk {
                Ok(t) => out.push_str(&t),
                Err(e) => tracing::debug!(page, error = %e, "PDF text not extracted"),
            }
        }
        out.push('\n');
        if out.len() >= TEXT_CAP {
            break;
        }
    }
}

/// The text of an Office Open XML file; returns the bytes its parts inflated to.
fn ooxml(bytes: &[u8], out: &mut String) -> u64 {
    let Ok(mut zip) = zip::ZipArchive::new(Cursor::new(bytes)) else {
        return 0;
    };
    let names: Vec<String> = zip
        .file_names()
        .filter_map(Result::ok)
        .map(|n| n.into_owned())
        .collect();
    let mut slides: Vec<(u32, String)> = names
        .iter()
        .filter_map(|n| {
            let num = n.strip_prefix("ppt/slides/slide")?.strip_suffix(".xml")?;
            Some((num.parse().ok()?, n.clone()))
        })
        .collect();
    slides.sort();
    let mut parts: Vec<String> = slides.into_iter().map(|(_, n)| n).collect();
    for fixed in ["word/document.xml", "xl/sharedStrings.xml"] {
        if names.iter().any(|n| n == fixed) {
            parts.push(fixed.to_owned());
        }
    }
    let refs: Vec<&str> = parts.iter().map(String::as_str).collect();
    read_parts(&mut zip, &refs, &OOXML, out)
}

fn zip_parts(bytes: &[u8], parts: &[&str], rules: &Rules, out: &mut String) -> u64 {
    match zip::ZipArchive::new(Cursor::new(bytes)) {
        Ok(mut zip) => read_parts(&mut zip, parts, rules, out),
        Err(_) => 0,
    }
}

/// Reads the parts' text while the file's inflate budget lasts; returns what was inflated.
fn read_parts(
    zip: &mut zip::ZipArchive<Cursor<&[u8]>>,
    parts: &[&str],
    rules: &Rules,
    out: &mut String,
) -> u64 {
    let mut inflated = 0u64;
    for name in parts {
        let left = INFLATE_BUDGET - inflated;
        if left == 0 || out.len() >= TEXT_CAP {
            break;
        }
        let Ok(entry) = zip.by_name(name) else {
            continue;
        };
        let mut xml = Vec::new();
        let read = entry.take(left).read_to_end(&mut xml);
        inflated += xml.len() as u64;
        if read.is_err() {
            continue;
        }
        xml_text(&String::from_utf8_lossy(&xml), rules, out);
    }
    inflated
}

/// Which elements of an XML part hold text.
pub struct Rules {
    /// Character data inside these elements is text.
    pub text: &'static [&'static str],
    /// The end of these elements ends a paragraph.
    pub paragraph: &'static [&'static str],
    /// These (empty) elements stand for a space or a tab.
    pub space: &'static [&'static str],
    /// These stand for a line break.
    pub line: &'static [&'static str],
}

/// Word, PowerPoint and Excel (shared strings) parts.
pub const OOXML: Rules = Rules {
    text: &["w:t", "a:t", "t"],
    paragraph: &["w:p", "a:p", "si"],
    space: &["w:tab", "a:tab"],
    line: &["w:br", "a:br", "w:cr"],
};

/// OpenDocument `content.xml`.
pub const ODF: Rules = Rules {
    text: &["text:p", "text:h"],
    paragraph: &["text:p", "text:h"],
    space: &["text:s", "text:tab"],
    line: &["text:line-break"],
};

/// Appends the text of `xml` by `rules`.
pub fn xml_text(xml: &str, rules: &Rules, out: &mut String) {
    let mut inside = 0usize;
    let mut rest = xml;
    while let Some(lt) = rest.find('<') {
        if inside > 0 {
            unescape(&rest[..lt], out);
        }
        rest = &rest[lt..];
        if let Some(body) = rest.strip_prefix("<![CDATA[") {
            let end = body.find("]]>").unwrap_or(body.len());
            if inside > 0 {
                out.push_str(&body[..end]);
            }
            rest = body.get(end + 3..).unwrap_or("");
            continue;
        }
        if let Some(body) = rest.strip_prefix("<!--") {
            rest = body.find("-->").map_or("", |e| &body[e + 3..]);
            continue;
        }
        let Some(gt) = rest.find('>') else { break };
        let tag = &rest[1..gt];
        rest = &rest[gt + 1..];
        if tag.starts_with('?') || tag.starts_with('!') {
            continue;
        }
        let closing = tag.starts_with('/');
        let empty = tag.ends_with('/');
        let name = tag
            .trim_start_matches('/')
            .split(|c: char| c.is_whitespace() || c == '/')
            .next()
            .unwrap_or("");
        if rules.space.contains(&name) && !closing {
            out.push(' ');
        } else if rules.line.contains(&name) && !closing {
            out.push('\n');
        }
        if rules.text.contains(&name) && !empty {
            if closing {
                inside = inside.saturating_sub(1);
            } else {
                inside += 1;
            }
        }
        if closing && rules.paragraph.contains(&name) && !out.ends_with('\n') && !out.is_empty() {
            out.push('\n');
        }
        if out.len() >= TEXT_CAP {
            return;
        }
    }
}

/// Appends character data with XML's entities and character references decoded.
fn unescape(s: &str, out: &mut String) {
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let Some(semi) = rest.bytes().take(12).position(|b| b == b';') else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let ent = &rest[1..semi];
        let c = match ent {
            "lt" => Some('<'),
            "gt" => Some('>'),
            "amp" => Some('&'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => ent
                .strip_prefix("#x")
                .or_else(|| ent.strip_prefix("#X"))
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| ent.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match c {
            Some(c) => {
                out.push(c);
                rest = &rest[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
}

#[derive(sqlx::FromRow)]
struct Pending {
    hash: String,
    size: i64,
    mime: String,
    category: String,
    storage_key: String,
}

/// Extracts the text of files stored without it (those larger than [`INLINE_MAX`]), a few
/// at a time, and records a change for every resource with such a file. Returns how many
/// files were read.
pub async fn run_once(state: &AppState) -> AppResult<usize> {
    let db = &state.db;
    let pending: Vec<Pending> = on_db!(db, p => sqlx::query_as(
        "SELECT hash, size, mime, category, storage_key FROM blobs
         WHERE text IS NULL AND category IN ('pdf', 'document', 'slides', 'spreadsheet', 'text')
         ORDER BY created_at LIMIT 4",
    ).fetch_all(p).await)?;
    let store = store::store(state)?;
    for b in &pending {
        let category = Category::parse(&b.category).unwrap_or(Category::Archive);
        let key = Path::from(b.storage_key.as_str());
        let size = u64::try_from(b.size).unwrap_or(0);
        let text = match text_of(&store, &key, &b.mime, category, size).await {
            Ok(t) => t,
            Err(e) => {
                // Given up rather than retried for ever; the file itself is served as usual.
                tracing::warn!(hash = %b.hash, error = %e, "text extraction failed");
                String::new()
            }
        };
        set_text(state, &b.hash, &text, true).await?;
    }
    Ok(pending.len())
}

/// Stores a file's text and records a change for every resource with it (so the search
/// index reads the text). With `only_missing`, text already there is kept.
pub async fn set_text(
    state: &AppState,
    hash: &str,
    text: &str,
    only_missing: bool,
) -> AppResult<()> {
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let sql = if only_missing {
        "UPDATE blobs SET text = $2 WHERE hash = $1 AND text IS NULL"
    } else {
        "UPDATE blobs SET text = $2 WHERE hash = $1"
    };
    let n = on_tx!(&mut tx, c => sqlx::query(sql).bind(hash).bind(text)
        .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    if n > 0 {
        let ids: Vec<(ResourceId,)> = on_tx!(&mut tx, c => sqlx::query_as(
            "SELECT id FROM resources WHERE blob_hash = $1 AND deleted_at IS NULL",
        ).bind(hash).fetch_all(&mut *c).await)?;
        for (id,) in ids {
            crate::changes::record(&mut tx, id, now).await?;
        }
    }
    tx.commit().await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// A presentation whose slides inflate to 3 × 16 MiB from a few hundred KiB: the file's
    /// budget stops the reading, however many parts there are.
    #[test]
    fn office_parts_inflate_under_one_budget_per_file() {
        use std::io::Write;
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default();
        let slide = format!(
            "<a:p><a:t>幻灯片</a:t></a:p>{}",
            " ".repeat(16 * 1024 * 1024)
        );
        w.start_file("[Content_Types].xml", opts).unwrap();
        w.write_all(b"<Types/>").unwrap();
        for i in 1..=3 {
            w.start_file(format!("ppt/slides/slide{i}.xml"), opts)
                .unwrap();
            w.write_all(slide.as_bytes()).unwrap();
        }
        let bytes = w.finish().unwrap().into_inner();
        assert!(
            bytes.len() < 1024 * 1024,
            "{} bytes compressed",
            bytes.len()
        );
        let mut out = String::new();
        let inflated = ooxml(&bytes, &mut out);
        assert_eq!(inflated, INFLATE_BUDGET);
        assert!(out.contains("幻灯片"));
    }
}

//! Serving stored files: downloads and in-browser viewing with HTTP range requests (seekable
//! audio and video, PDFs opened page by page), validators, and the preview of Office
//! documents. Streamed from the store, never read whole into memory.
//!
//! The library's routes (`/library/r/{id}/file`, `/library/r/{id}/preview`) check who may see
//! the resource and then call [`respond`] or [`preview`].

use super::blob::Blob;
use super::sniff::Category;
use super::store::{self, Store};
use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use kernel::{AppResult, AppState};
use object_store::path::Path;
use object_store::{GetOptions, GetRange};

/// How the browser should treat the file: show it (`inline`) or save it (`attachment`), and
/// under which name.
#[derive(Debug, Clone, Copy)]
pub struct Disposition<'a> {
    pub inline: bool,
    pub file_name: &'a str,
}

impl<'a> Disposition<'a> {
    pub fn inline(file_name: &'a str) -> Self {
        Self {
            inline: true,
            file_name,
        }
    }
    pub fn attachment(file_name: &'a str) -> Self {
        Self {
            inline: false,
            file_name,
        }
    }

    /// `attachment; filename="…"; filename*=UTF-8''…` (RFC 6266 with RFC 5987's encoding, so
    /// Chinese names survive; the plain `filename` is an ASCII stand-in for old clients).
    pub fn header_value(&self) -> String {
        let kind = if self.inline { "inline" } else { "attachment" };
        let ascii: String = self
            .file_name
            .chars()
            .map(|c| {
                if c.is_ascii_graphic() && c != '"' && c != '\\' && c != '%' || c == ' ' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let encoded: String = self
            .file_name
            .bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' => (b as char).to_string(),
                b'!' | b'#' | b'$' | b'&' | b'+' | b'-' | b'.' | b'^' | b'_' | b'`' | b'|'
                | b'~' => (b as char).to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect();
        format!("{kind}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
    }
}

/// A stored object to serve: where it is, how large, its validator and type.
#[derive(Debug, Clone)]
pub struct Served<'a> {
    pub key: Path,
    pub size: u64,
    /// The strong validator, unquoted (a blob's hash).
    pub etag: String,
    pub mime: &'a str,
}

impl<'a> Served<'a> {
    /// A blob's content.
    pub fn blob(b: &'a Blob) -> Self {
        Self {
            key: Path::from(b.storage_key.as_str()),
            size: u64::try_from(b.size).unwrap_or(0),
            etag: b.hash.clone(),
            mime: &b.mime,
        }
    }
}

/// The byte range a request asks for, resolved against the length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wanted {
    /// The whole content (no `Range`, a malformed or multi-part one, or an `If-Range` that no
    /// longer matches).
    Whole,
    /// Bytes `start..=end`.
    Part(u64, u64),
    /// Nothing of it can be served (416).
    Unsatisfiable,
}

/// Parses a single `Range: bytes=a-b | a- | -n` against a content of `len` bytes.
pub fn parse_range(value: &str, len: u64) -> Wanted {
    let Some(spec) = value.trim().strip_prefix("bytes=") else {
        return Wanted::Whole;
    };
    if spec.contains(',') {
        return Wanted::Whole;
    }
    let Some((a, b)) = spec.trim().split_once('-') else {
        return Wanted::Whole;
    };
    let (a, b) = (a.trim(), b.trim());
    if a.is_empty() {
        // The last n bytes.
        let Ok(n) = b.parse::<u64>() else {
            return Wanted::Whole;
        };
        if n == 0 || len == 0 {
            return Wanted::Unsatisfiable;
        }
        return Wanted::Part(len.saturating_sub(n), len - 1);
    }
    let Ok(start) = a.parse::<u64>() else {
        return Wanted::Whole;
    };
    let end = if b.is_empty() {
        len.saturating_sub(1)
    } else {
        match b.parse::<u64>() {
            Ok(e) if e >= start => e.min(len.saturating_sub(1)),
            _ => return Wanted::Whole,
        }
    };
    if start >= len {
        return Wanted::Unsatisfiable;
    }
    Wanted::Part(start, end)
}

fn quoted(etag: &str) -> String {
    format!("\"{etag}\"")
}

/// Whether an `If-None-Match` list names this entity (weak comparison, as RFC 9110 says).
fn none_match(headers: &HeaderMap, etag: &str) -> bool {
    let want = quoted(etag);
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == "*" || t == want)
}

/// Serves a stored object: `200` whole or `206` with `Content-Range` for a single range,
/// `416` with `Content-Range: bytes */len` when the range is unsatisfiable, `304` when
/// `If-None-Match` names its ETag. `If-Range` with another validator gets the whole content.
/// Always `Accept-Ranges: bytes`, the sniffed `Content-Type`, `ETag`, `Content-Disposition`,
/// `Cache-Control: private, max-age=3600` and `X-Content-Type-Options: nosniff`.
pub async fn respond(
    state: &AppState,
    obj: Served<'_>,
    headers: &HeaderMap,
    disposition: Disposition<'_>,
) -> AppResult<Response> {
    let store = store::store(state)?;
    let etag = quoted(&obj.etag);
    let mut common = HeaderMap::new();
    let mut put = |name: header::HeaderName, value: &str| {
        if let Ok(v) = HeaderValue::from_str(value) {
            common.insert(name, v);
        }
    };
    put(header::ETAG, &etag);
    put(header::ACCEPT_RANGES, "bytes");
    put(header::CACHE_CONTROL, "private, max-age=3600");
    put(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    put(header::CONTENT_TYPE, obj.mime);
    put(header::CONTENT_DISPOSITION, &disposition.header_value());
    if none_match(headers, &obj.etag) {
        return Ok((StatusCode::NOT_MODIFIED, common).into_response());
    }
    let mut wanted = match headers.get(header::RANGE).and_then(|v| v.to_str().ok()) {
        Some(r) => parse_range(r, obj.size),
        None => Wanted::Whole,
    };
    if let Some(if_range) = headers.get(header::IF_RANGE).and_then(|v| v.to_str().ok())
        && if_range.trim() != etag
    {
        wanted = Wanted::Whole;
    }
    let (status, range) = match wanted {
        Wanted::Unsatisfiable => {
            let mut res = (StatusCode::RANGE_NOT_SATISFIABLE, common).into_response();
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{}", obj.size)) {
                res.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            return Ok(res);
        }
        Wanted::Whole => (StatusCode::OK, None),
        Wanted::Part(a, b) => (StatusCode::PARTIAL_CONTENT, Some((a, b))),
    };
    let body = body(&store, &obj.key, obj.size, range).await?;
    let mut res = (status, common, body).into_response();
    let len = range.map_or(obj.size, |(a, b)| b - a + 1);
    res.headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    if let Some((a, b)) = range
        && let Ok(v) = HeaderValue::from_str(&format!("bytes {a}-{b}/{}", obj.size))
    {
        res.headers_mut().insert(header::CONTENT_RANGE, v);
    }
    Ok(res)
}

async fn body(store: &Store, key: &Path, size: u64, range: Option<(u64, u64)>) -> AppResult<Body> {
    if size == 0 {
        return Ok(Body::empty());
    }
    let opts = GetOptions {
        range: range.map(|(a, b)| GetRange::Bounded(a..b + 1)),
        ..Default::default()
    };
    let got = store.get_opts(key, opts).await.map_err(store::err)?;
    let stream = store::stream(got).map(|r| r.map_err(std::io::Error::other));
    Ok(Body::from_stream(stream))
}

/// [`respond`] with a blob's content.
pub async fn respond_blob(
    state: &AppState,
    blob: &Blob,
    headers: &HeaderMap,
    disposition: Disposition<'_>,
) -> AppResult<Response> {
    respond(state, Served::blob(blob), headers, disposition).await
}

/// What [`preview`] can show.
#[derive(Debug)]
pub enum PreviewOutcome {
    /// The response to send: the original (images, PDF, audio, video, text) or the PDF made
    /// from an Office document, inline, with range requests.
    Ready(Response),
    /// An Office document whose PDF is still being made (预览生成中).
    Pending,
    /// No preview: LibreOffice is not installed, the conversion failed, or the file is an
    /// archive (预览不可用).
    Unavailable,
}

/// The in-browser preview of a blob, named `file_name` (the PDF of `课件.pptx` is served as
/// `课件.pdf`).
pub async fn preview(
    state: &AppState,
    blob: &Blob,
    headers: &HeaderMap,
    file_name: &str,
) -> AppResult<PreviewOutcome> {
    let category = Category::parse(&blob.category).unwrap_or(Category::Archive);
    match category {
        Category::Image | Category::Pdf | Category::Audio | Category::Video | Category::Text => {
            let r = respond_blob(state, blob, headers, Disposition::inline(file_name)).await?;
            Ok(PreviewOutcome::Ready(r))
        }
        Category::Archive => Ok(PreviewOutcome::Unavailable),
        Category::Document | Category::Slides | Category::Spreadsheet => {
            match (blob.preview_state.as_str(), &blob.preview_key) {
                ("ready", Some(key)) => {
                    let key = Path::from(key.as_str());
                    let store = store::store(state)?;
                    let size = match store.head(&key).await {
                        Ok(m) => m.size,
                        Err(object_store::Error::NotFound { .. }) => {
                            return Ok(PreviewOutcome::Unavailable);
                        }
                        Err(e) => return Err(store::err(e)),
                    };
                    let stem = file_name.rsplit_once('.').map_or(file_name, |(s, _)| s);
                    let name = format!("{stem}.pdf");
                    let served = Served {
                        key,
                        size,
                        etag: format!("{}-pdf", blob.hash),
                        mime: "application/pdf",
                    };
                    let r = respond(state, served, headers, Disposition::inline(&name)).await?;
                    Ok(PreviewOutcome::Ready(r))
                }
                ("pending", _) => Ok(PreviewOutcome::Pending),
                _ => Ok(PreviewOutcome::Unavailable),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-99", 1000), Wanted::Part(0, 99));
        assert_eq!(parse_range("bytes=900-", 1000), Wanted::Part(900, 999));
        assert_eq!(parse_range("bytes=-100", 1000), Wanted::Part(900, 999));
        assert_eq!(parse_range("bytes=-5000", 1000), Wanted::Part(0, 999));
        assert_eq!(parse_range("bytes=990-2000", 1000), Wanted::Part(990, 999));
        assert_eq!(parse_range("bytes=1000-", 1000), Wanted::Unsatisfiable);
        assert_eq!(parse_range("bytes=-0", 1000), Wanted::Unsatisfiable);
        assert_eq!(parse_range("bytes=5-1", 1000), Wanted::Whole);
        assert_eq!(parse_range("bytes=0-1,5-6", 1000), Wanted::Whole);
        assert_eq!(parse_range("items=0-1", 1000), Wanted::Whole);
    }

    #[test]
    fn chinese_names_survive_the_header() {
        let v = Disposition::attachment("勾股定理 教案.docx").header_value();
        assert!(v.starts_with("attachment; filename=\""), "{v}");
        assert!(
            v.contains(
                "filename*=UTF-8''%E5%8B%BE%E8%82%A1%E5%AE%9A%E7%90%86%20%E6%95%99%E6%A1%88.docx"
            ),
            "{v}"
        );
        assert!(v.is_ascii());
        let v = Disposition::inline("a\"b.pdf").header_value();
        assert!(v.starts_with("inline; filename=\"a_b.pdf\""), "{v}");
    }
}

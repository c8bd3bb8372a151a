//! The real type of a file, from its first bytes and its name's extension.
//!
//! - Executables and scripts are refused whatever their name (`files.executable`): PE (MZ),
//!   ELF, Mach-O, Java classes, WebAssembly, Dalvik, `#!` scripts, and names ending in `.exe`,
//!   `.bat`, `.sh`, ….
//! - Only the kinds in [`KINDS`] are accepted (`files.unsupported_type` otherwise; no SVG or
//!   HTML: they can carry scripts).
//! - The content must be what the extension says (`files.disguised`): an `.exe` renamed
//!   `.pptx` is refused, and so is a `.pptx` that is a ZIP without `ppt/` in it (that part is
//!   checked on the whole content by [`super::container`]).
//!
//! The stored type is the canonical one of the extension once the content matched it, so a
//! browser gets `application/vnd.openxmlformats-officedocument.presentationml.presentation`
//! for a real `.pptx`, never a type a client claimed.

use super::Refusal;

/// How many bytes of the head the sniffing looks at.
pub const HEAD_LEN: usize = 64 * 1024;

/// What a file is, for previews and extraction (`blobs.category`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    Document,
    Slides,
    Spreadsheet,
    Pdf,
    Image,
    Audio,
    Video,
    Archive,
    Text,
}

impl Category {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Document => "document",
            Self::Slides => "slides",
            Self::Spreadsheet => "spreadsheet",
            Self::Pdf => "pdf",
            Self::Image => "image",
            Self::Audio => "audio",
            Self::Video => "video",
            Self::Archive => "archive",
            Self::Text => "text",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "document" => Self::Document,
            "slides" => Self::Slides,
            "spreadsheet" => Self::Spreadsheet,
            "pdf" => Self::Pdf,
            "image" => Self::Image,
            "audio" => Self::Audio,
            "video" => Self::Video,
            "archive" => Self::Archive,
            "text" => Self::Text,
            _ => return None,
        })
    }
    /// Office documents are shown through a PDF made by LibreOffice; the rest as they are
    /// (archives not at all).
    pub fn needs_conversion(self) -> bool {
        matches!(self, Self::Document | Self::Slides | Self::Spreadsheet)
    }
    /// Whether search text can be extracted from this kind of file.
    pub fn has_text(self) -> bool {
        matches!(
            self,
            Self::Document | Self::Slides | Self::Spreadsheet | Self::Pdf | Self::Text
        )
    }
}

/// The content's expected shape, by extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Magic {
    Pdf,
    /// Office Open XML: a ZIP whose entries include this folder (`word/`, `ppt/`, `xl/`).
    Ooxml(&'static str),
    /// OpenDocument: a ZIP whose `mimetype` entry says this.
    Odf(&'static str),
    /// A legacy Office (or WPS) compound file with one of these streams.
    Cfb(&'static [&'static str]),
    Zip,
    Jpeg,
    Png,
    Gif,
    Webp,
    Mp3,
    /// MP4 / QuickTime / M4A: the ISO base media file format.
    IsoMedia,
    Wav,
    Ogg,
    /// WebM (Matroska).
    Ebml,
    Text,
}

/// An accepted kind of file.
#[derive(Debug, Clone, Copy)]
pub struct Kind {
    pub ext: &'static str,
    pub mime: &'static str,
    pub category: Category,
    pub magic: Magic,
}

const fn k(ext: &'static str, mime: &'static str, category: Category, magic: Magic) -> Kind {
    Kind {
        ext,
        mime,
        category,
        magic,
    }
}

use Category as C;
use Magic as M;

/// Every accepted kind, by extension.
pub const KINDS: &[Kind] = &[
    k("pdf", "application/pdf", C::Pdf, M::Pdf),
    k(
        "doc",
        "application/msword",
        C::Document,
        M::Cfb(&["WordDocument"]),
    ),
    k(
        "docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        C::Document,
        M::Ooxml("word/"),
    ),
    // WPS 文字 (Kingsoft): a compound file like Word's.
    k(
        "wps",
        "application/vnd.ms-works",
        C::Document,
        M::Cfb(&["WordDocument", "CONTENTS"]),
    ),
    k(
        "odt",
        "application/vnd.oasis.opendocument.text",
        C::Document,
        M::Odf("application/vnd.oasis.opendocument.text"),
    ),
    k(
        "ppt",
        "application/vnd.ms-powerpoint",
        C::Slides,
        M::Cfb(&["PowerPoint Document"]),
    ),
    k(
        "pptx",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        C::Slides,
        M::Ooxml("ppt/"),
    ),
    k(
        "odp",
        "application/vnd.oasis.opendocument.presentation",
        C::Slides,
        M::Odf("application/vnd.oasis.opendocument.presentation"),
    ),
    k(
        "xls",
        "application/vnd.ms-excel",
        C::Spreadsheet,
        M::Cfb(&["Workbook", "Book"]),
    ),
    k(
        "xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        C::Spreadsheet,
        M::Ooxml("xl/"),
    ),
    k(
        "ods",
        "application/vnd.oasis.opendocument.spreadsheet",
        C::Spreadsheet,
        M::Odf("application/vnd.oasis.opendocument.spreadsheet"),
    ),
    k("jpg", "image/jpeg", C::Image, M::Jpeg),
    k("jpeg", "image/jpeg", C::Image, M::Jpeg),
    k("png", "image/png", C::Image, M::Png),
    k("gif", "image/gif", C::Image, M::Gif),
    k("webp", "image/webp", C::Image, M::Webp),
    k("mp3", "audio/mpeg", C::Audio, M::Mp3),
    k("m4a", "audio/mp4", C::Audio, M::IsoMedia),
    k("wav", "audio/wav", C::Audio, M::Wav),
    k("ogg", "audio/ogg", C::Audio, M::Ogg),
    k("mp4", "video/mp4", C::Video, M::IsoMedia),
    k("webm", "video/webm", C::Video, M::Ebml),
    k("mov", "video/quicktime", C::Video, M::IsoMedia),
    k("txt", "text/plain", C::Text, M::Text),
    k("md", "text/markdown", C::Text, M::Text),
    k("csv", "text/csv", C::Text, M::Text),
    k("zip", "application/zip", C::Archive, M::Zip),
];

/// Names that are programs or scripts, refused as such whatever they contain.
const EXECUTABLE_EXTS: &[&str] = &[
    "exe", "dll", "com", "scr", "msi", "msp", "bat", "cmd", "ps1", "psm1", "vbs", "vbe", "js",
    "jse", "mjs", "wsf", "wsh", "hta", "cpl", "pif", "lnk", "reg", "sh", "bash", "zsh", "csh",
    "ksh", "py", "pyw", "pl", "rb", "php", "elf", "bin", "run", "out", "so", "dylib", "app", "apk",
    "ipa", "jar", "class", "dmg", "pkg", "deb", "rpm", "appimage", "docm", "dotm", "xlsm", "xltm",
    "pptm", "potm", "ppsm",
];

/// The lower-cased extension of a file name, if it has one.
pub fn extension(file_name: &str) -> Option<String> {
    let base = file_name.rsplit(['/', '\\']).next().unwrap_or(file_name);
    let (stem, ext) = base.rsplit_once('.')?;
    if stem.is_empty() || ext.is_empty() {
        return None;
    }
    Some(ext.to_ascii_lowercase())
}

/// The accepted kind a file name claims: refused up front if its extension is a program's
/// (`files.executable`) or not one the library takes (`files.unsupported_type`).
pub fn by_name(file_name: &str) -> Result<&'static Kind, Refusal> {
    let Some(ext) = extension(file_name) else {
        return Err(Refusal::new("files.unsupported_type"));
    };
    if EXECUTABLE_EXTS.contains(&ext.as_str()) {
        return Err(Refusal::new("files.executable"));
    }
    KINDS
        .iter()
        .find(|k| k.ext == ext)
        .ok_or_else(|| Refusal::new("files.unsupported_type"))
}

/// Whether the bytes are a program or script, whatever the name says.
pub fn is_executable(head: &[u8]) -> bool {
    let pe =
        head.starts_with(b"MZ") && (pe_signature(head) || head.iter().take(64).any(|&b| b == 0));
    let macho = matches!(
        head.get(0..4),
        Some([0xFE, 0xED, 0xFA, 0xCE | 0xCF]) | Some([0xCE | 0xCF, 0xFA, 0xED, 0xFE])
    );
    pe || head.starts_with(b"\x7fELF")
        || macho
        || head.starts_with(&[0xCA, 0xFE, 0xBA, 0xBE])
        || infer::app::is_wasm(head)
        || infer::app::is_dex(head)
        || infer::app::is_dey(head)
        || is_shebang(head)
}

fn pe_signature(head: &[u8]) -> bool {
    let Some(off) = head.get(0x3C..0x40) else {
        return false;
    };
    let off = u32::from_le_bytes([off[0], off[1], off[2], off[3]]) as usize;
    head.get(off..off.saturating_add(4)) == Some(b"PE\0\0")
}

fn is_shebang(head: &[u8]) -> bool {
    let h = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    h.strip_prefix(b"#!")
        .map(|rest| {
            let rest = rest.trim_ascii_start();
            rest.starts_with(b"/") || rest.starts_with(b"usr/") || rest.starts_with(b"bin/")
        })
        .unwrap_or(false)
}

/// The result of sniffing the head: the kind, and the charset of a text file.
#[derive(Debug, Clone)]
pub struct Sniffed {
    pub kind: &'static Kind,
    /// `text/plain; charset=utf-8`, …: the type to store and serve.
    pub mime: String,
}

/// Sniffs the first bytes (`head`, at most [`HEAD_LEN`], the whole file if shorter) of
/// `file_name`. `complete` says whether `head` is the whole content.
pub fn sniff(file_name: &str, head: &[u8], complete: bool) -> Result<Sniffed, Refusal> {
    if is_executable(head) {
        return Err(Refusal::new("files.executable"));
    }
    let kind = by_name(file_name)?;
    if head.is_empty() {
        return Err(Refusal::new("files.empty"));
    }
    let ok = match kind.magic {
        M::Pdf => find(head, b"%PDF-", 1024),
        M::Ooxml(_) | M::Odf(_) | M::Zip => {
            head.starts_with(b"PK\x03\x04")
                || (kind.magic == M::Zip && head.starts_with(b"PK\x05\x06"))
        }
        M::Cfb(_) => head.starts_with(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]),
        M::Jpeg => infer::image::is_jpeg(head),
        M::Png => infer::image::is_png(head),
        M::Gif => infer::image::is_gif(head),
        M::Webp => infer::image::is_webp(head),
        M::Mp3 => is_mp3(head),
        M::IsoMedia => is_iso_media(head),
        M::Wav => infer::audio::is_wav(head),
        M::Ogg => infer::audio::is_ogg(head),
        M::Ebml => head.starts_with(&[0x1A, 0x45, 0xDF, 0xA3]),
        M::Text => {
            return text_charset(head, complete)
                .map(|charset| Sniffed {
                    kind,
                    mime: format!("{}; charset={charset}", kind.mime),
                })
                .ok_or_else(|| Refusal::new("files.disguised"));
        }
    };
    if !ok {
        return Err(Refusal::new("files.disguised"));
    }
    // An OpenDocument file names its type in its first entry, `mimetype`, stored uncompressed.
    if let M::Odf(mime) = kind.magic
        && head.get(30..38) == Some(b"mimetype")
        && head.get(38..38 + mime.len()) != Some(mime.as_bytes())
    {
        return Err(Refusal::new("files.disguised"));
    }
    Ok(Sniffed {
        kind,
        mime: kind.mime.to_owned(),
    })
}

fn find(hay: &[u8], needle: &[u8], within: usize) -> bool {
    let end = hay.len().min(within + needle.len());
    hay[..end].windows(needle.len()).any(|w| w == needle)
}

fn is_mp3(h: &[u8]) -> bool {
    h.starts_with(b"ID3")
        || (h.len() > 2 && h[0] == 0xFF && h[1] & 0xE0 == 0xE0 && h[1] & 0x06 != 0)
}

fn is_iso_media(h: &[u8]) -> bool {
    matches!(
        h.get(4..8),
        Some(b"ftyp") | Some(b"moov") | Some(b"mdat") | Some(b"wide") | Some(b"free")
    )
}

/// The charset of text: `utf-8` (with or without a BOM) or `gb18030` (GBK's superset, what
/// Chinese Windows writes), or `None` for bytes that are not text. A head cut in the middle of
/// a character is still text.
pub fn text_charset(head: &[u8], complete: bool) -> Option<&'static str> {
    if head.contains(&0) {
        return None;
    }
    let body = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    match std::str::from_utf8(body) {
        Ok(_) => return Some("utf-8"),
        Err(e) if !complete && e.error_len().is_none() => return Some("utf-8"),
        Err(_) => {}
    }
    // Not UTF-8: GB18030 if it decodes without errors (a character cut at the end of the
    // head waits in the decoder instead of counting as an error).
    let mut decoder = encoding_rs::GB18030.new_decoder_without_bom_handling();
    let cap = decoder
        .max_utf8_buffer_length_without_replacement(body.len())
        .unwrap_or(body.len() * 3 + 16);
    let mut out = vec![0u8; cap];
    let (result, _, _) = decoder.decode_to_utf8_without_replacement(body, &mut out, complete);
    let controls = body
        .iter()
        .filter(|&&b| b < 0x20 && !matches!(b, b'\n' | b'\r' | b'\t' | 0x0C))
        .count();
    (matches!(result, encoding_rs::DecoderResult::InputEmpty) && controls * 100 <= body.len())
        .then_some("gb18030")
}

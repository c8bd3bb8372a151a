//! What is inside a stored file, read with a few range requests (never the whole content):
//! a ZIP's central directory (the entry names of Office Open XML, OpenDocument and ZIP files),
//! a compound file's directory (the stream names of legacy Office files), a PDF's trailer.
//! [`verify`] uses them to finish the sniffing started on the head.

use super::sniff::{Magic, Sniffed};
use super::store::{Store, read_range};
use super::{Failure, Refusal};
use kernel::AppError;
use object_store::path::Path;

/// A problem reading the content: the file is corrupt (a refusal), or the store failed.
pub enum Problem {
    Corrupt,
    Store(AppError),
}

impl From<AppError> for Problem {
    fn from(e: AppError) -> Self {
        Self::Store(e)
    }
}

fn u16le(b: &[u8], at: usize) -> Option<u64> {
    b.get(at..at + 2)
        .map(|s| u64::from(u16::from_le_bytes([s[0], s[1]])))
}
fn u32le(b: &[u8], at: usize) -> Option<u64> {
    b.get(at..at + 4)
        .map(|s| u64::from(u32::from_le_bytes([s[0], s[1], s[2], s[3]])))
}
fn u64le(b: &[u8], at: usize) -> Option<u64> {
    let s = b.get(at..at + 8)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(s);
    Some(u64::from_le_bytes(a))
}

/// The most a central directory may take (a quarter of a million entries or so).
const MAX_DIRECTORY: u64 = 32 * 1024 * 1024;

/// The entry names of the ZIP at `key` (`size` bytes), from its central directory.
pub async fn zip_names(store: &Store, key: &Path, size: u64) -> Result<Vec<String>, Problem> {
    // The end-of-central-directory record (22 bytes) is followed by a comment of at most 64 KiB.
    let tail_len = size.min(22 + 65_535 + 20);
    let tail = read_range(store, key, size - tail_len..size).await?;
    let eocd = (0..tail.len().saturating_sub(21))
        .rev()
        .find(|&i| tail[i..].starts_with(b"PK\x05\x06"))
        .ok_or(Problem::Corrupt)?;
    let e = &tail[eocd..];
    let mut entries = u16le(e, 10).ok_or(Problem::Corrupt)?;
    let mut cd_size = u32le(e, 12).ok_or(Problem::Corrupt)?;
    let mut cd_offset = u32le(e, 16).ok_or(Problem::Corrupt)?;
    if entries == 0xFFFF || cd_size == 0xFFFF_FFFF || cd_offset == 0xFFFF_FFFF {
        // ZIP64: a locator just before the record points at the ZIP64 record.
        let loc = eocd.checked_sub(20).ok_or(Problem::Corrupt)?;
        if !tail[loc..].starts_with(b"PK\x06\x07") {
            return Err(Problem::Corrupt);
        }
        let at = u64le(&tail, loc + 8).ok_or(Problem::Corrupt)?;
        if at.checked_add(56).is_none_or(|end| end > size) {
            return Err(Problem::Corrupt);
        }
        let z = read_range(store, key, at..at + 56).await?;
        if !z.starts_with(b"PK\x06\x06") {
            return Err(Problem::Corrupt);
        }
        entries = u64le(&z, 32).ok_or(Problem::Corrupt)?;
        cd_size = u64le(&z, 40).ok_or(Problem::Corrupt)?;
        cd_offset = u64le(&z, 48).ok_or(Problem::Corrupt)?;
    }
    if cd_size > MAX_DIRECTORY || cd_offset.checked_add(cd_size).is_none_or(|end| end > size) {
        return Err(Problem::Corrupt);
    }
    let mut cd = read_range(store, key, cd_offset..cd_offset + cd_size).await?;
    // A ZIP appended to another file (a PDF that is also a ZIP) keeps offsets from its own
    // start: its directory is then the `cd_size` bytes just before the end record.
    let eocd_at = size - tail_len + eocd as u64;
    if !cd.starts_with(b"PK\x01\x02") && eocd_at >= cd_size && eocd_at - cd_size != cd_offset {
        cd = read_range(store, key, eocd_at - cd_size..eocd_at).await?;
    }
    let mut names = Vec::new();
    let mut at = 0usize;
    while (names.len() as u64) < entries {
        if !cd.get(at..).is_some_and(|r| r.starts_with(b"PK\x01\x02")) {
            return Err(Problem::Corrupt);
        }
        let name_len = u16le(&cd, at + 28).ok_or(Problem::Corrupt)? as usize;
        let extra_len = u16le(&cd, at + 30).ok_or(Problem::Corrupt)? as usize;
        let comment_len = u16le(&cd, at + 32).ok_or(Problem::Corrupt)? as usize;
        let name = cd
            .get(at + 46..at + 46 + name_len)
            .ok_or(Problem::Corrupt)?;
        names.push(String::from_utf8_lossy(name).into_owned());
        at += 46 + name_len + extra_len + comment_len;
    }
    Ok(names)
}

const CFB_MAGIC: [u8; 8] = [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
const END_OF_CHAIN: u64 = 0xFFFF_FFFE;
/// The most directory sectors followed (each holds 4 or 32 entries).
const MAX_DIR_SECTORS: usize = 512;

/// The stream and storage names in the compound file (OLE2: .doc, .xls, .ppt, .wps, .msi) at
/// `key`, from its directory.
pub async fn cfb_names(store: &Store, key: &Path, size: u64) -> Result<Vec<String>, Problem> {
    let header = read_range(store, key, 0..size.min(512)).await?;
    if header.len() < 512 || header[..8] != CFB_MAGIC {
        return Err(Problem::Corrupt);
    }
    let shift = u16le(&header, 0x1E).ok_or(Problem::Corrupt)?;
    if shift != 9 && shift != 12 {
        return Err(Problem::Corrupt);
    }
    let sector = 1u64 << shift;
    let per = sector / 4;
    let offset = |s: u64| (s + 1) * sector;
    // The FAT's sectors: 109 in the header, the rest in the DIFAT chain (read when needed).
    let mut fat_sectors: Vec<u64> = (0..109)
        .filter_map(|i| u32le(&header, 0x4C + i * 4))
        .collect();
    let mut difat_next = u32le(&header, 0x44).ok_or(Problem::Corrupt)?;
    let mut next_in_chain = async |s: u64, fat_sectors: &mut Vec<u64>| -> Result<u64, Problem> {
        let idx = (s / per) as usize;
        while idx >= fat_sectors.len() {
            if difat_next >= END_OF_CHAIN || fat_sectors.len() > 1 << 20 {
                return Err(Problem::Corrupt);
            }
            let at = offset(difat_next);
            if at + sector > size {
                return Err(Problem::Corrupt);
            }
            let d = read_range(store, key, at..at + sector).await?;
            for i in 0..(per - 1) as usize {
                fat_sectors.push(u32le(&d, i * 4).ok_or(Problem::Corrupt)?);
            }
            difat_next = u32le(&d, ((per - 1) * 4) as usize).ok_or(Problem::Corrupt)?;
        }
        let fat = fat_sectors[idx];
        let at = offset(fat) + (s % per) * 4;
        if fat >= END_OF_CHAIN || at + 4 > size {
            return Err(Problem::Corrupt);
        }
        let b = read_range(store, key, at..at + 4).await?;
        u32le(&b, 0).ok_or(Problem::Corrupt)
    };
    let mut names = Vec::new();
    let mut s = u32le(&header, 0x30).ok_or(Problem::Corrupt)?;
    for _ in 0..MAX_DIR_SECTORS {
        if s >= END_OF_CHAIN {
            break;
        }
        let at = offset(s);
        if at + sector > size {
            return Err(Problem::Corrupt);
        }
        let dir = read_range(store, key, at..at + sector).await?;
        for entry in dir.chunks(128) {
            let len = u16le(entry, 0x40).unwrap_or(0) as usize;
            let kind = entry.get(0x42).copied().unwrap_or(0);
            if !(1..=5).contains(&kind) || !(2..=64).contains(&len) {
                continue;
            }
            let units: Vec<u16> = entry[..len - 2]
                .chunks(2)
                .map(|c| u16::from_le_bytes([c[0], c.get(1).copied().unwrap_or(0)]))
                .collect();
            names.push(String::from_utf16_lossy(&units));
        }
        s = next_in_chain(s, &mut fat_sectors).await?;
    }
    if names.is_empty() {
        return Err(Problem::Corrupt);
    }
    Ok(names)
}

/// Whether a PDF ends as one should (`%%EOF` near its end): a PDF cut short does not.
pub async fn pdf_complete(store: &Store, key: &Path, size: u64) -> Result<bool, Problem> {
    let n = size.min(8 * 1024);
    let tail = read_range(store, key, size - n..size).await?;
    Ok(tail.windows(5).any(|w| w == b"%%EOF"))
}

/// Entry names in an archive that are programs or scripts.
fn executable_entry(name: &str) -> bool {
    super::sniff::extension(name).is_some_and(|ext| {
        matches!(super::sniff::by_name(&format!("x.{ext}")), Err(r) if r.code == "files.executable")
    })
}

/// Finishes the sniffing on the whole stored content: the entries an Office Open XML or
/// OpenDocument file must have, the streams of a legacy Office file, a PDF's end, and no
/// programs inside a ZIP. `Ok` when the content is what it claims.
pub async fn verify(store: &Store, key: &Path, size: u64, s: &Sniffed) -> Result<(), Failure> {
    let problem = |p: Problem| match p {
        Problem::Corrupt => Failure::from(Refusal::new("files.corrupt")),
        Problem::Store(e) => Failure::App(e),
    };
    match s.kind.magic {
        Magic::Ooxml(folder) => {
            let names = zip_names(store, key, size).await.map_err(problem)?;
            let typed = names.iter().any(|n| n == "[Content_Types].xml");
            if !typed || !names.iter().any(|n| n.starts_with(folder)) {
                return Err(Refusal::new("files.disguised").into());
            }
        }
        Magic::Odf(_) => {
            let names = zip_names(store, key, size).await.map_err(problem)?;
            if !names.iter().any(|n| n == "mimetype") || !names.iter().any(|n| n == "content.xml") {
                return Err(Refusal::new("files.disguised").into());
            }
        }
        Magic::Zip => {
            zip_names(store, key, size).await.map_err(problem)?;
        }
        Magic::Cfb(streams) => {
            let names = cfb_names(store, key, size).await.map_err(problem)?;
            if !names.iter().any(|n| streams.contains(&n.as_str())) {
                return Err(Refusal::new("files.disguised").into());
            }
        }
        Magic::Pdf if !pdf_complete(store, key, size).await.map_err(problem)? => {
            return Err(Refusal::new("files.corrupt").into());
        }
        _ => {}
    }
    // No programs inside a ZIP, nor inside a file of another type that is also a ZIP (a PDF
    // or a picture with an archive appended: a polyglot).
    match zip_names(store, key, size).await {
        Ok(names) => {
            if let Some(bad) = names.iter().find(|n| executable_entry(n)) {
                return Err(Refusal::with_detail("files.executable_inside", bad.clone()).into());
            }
        }
        Err(Problem::Store(e)) => return Err(Failure::App(e)),
        Err(Problem::Corrupt) => {}
    }
    Ok(())
}

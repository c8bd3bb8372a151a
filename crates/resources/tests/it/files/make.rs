//! Small files made in code for the files tests: ZIPs, Office Open XML documents, a Chinese
//! PDF, compound files, programs, the EICAR test string.

use std::io::Write;

/// A ZIP with these entries.
pub fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, body) in entries {
        w.start_file(*name, opts).unwrap();
        w.write_all(body).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// A minimal Word document whose body says `text`.
pub fn docx(text: &str) -> Vec<u8> {
    let doc = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>{text}</w:t></w:r></w:p><w:p><w:r><w:t xml:space="preserve">a &amp; b</w:t></w:r></w:p></w:body></w:document>"#
    );
    zip_of(&[
        ("[Content_Types].xml", br#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>"#),
        ("_rels/.rels", br#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>"#),
        ("word/document.xml", doc.as_bytes()),
    ])
}

/// A slide deck of two slides.
pub fn pptx(first: &str, second: &str) -> Vec<u8> {
    let slide = |t: &str| {
        format!(
            r#"<p:sld xmlns:a="a" xmlns:p="p"><p:cSld><p:spTree><p:sp><p:txBody><a:p><a:r><a:t>{t}</a:t></a:r></a:p></p:txBody></p:sp></p:spTree></p:cSld></p:sld>"#
        )
    };
    let (s1, s2) = (slide(first), slide(second));
    zip_of(&[
        ("[Content_Types].xml", b"<Types/>"),
        ("ppt/presentation.xml", b"<p:presentation/>"),
        ("ppt/slides/slide10.xml", s2.as_bytes()),
        ("ppt/slides/slide2.xml", s1.as_bytes()),
    ])
}

/// A PDF whose page shows 勾股定理 in a Type0 font (Identity-H, two-byte CIDs) with a
/// ToUnicode CMap, as Chinese PDFs do: the library's own sample maker.
pub fn chinese_pdf() -> Vec<u8> {
    resources::files::samples::pdf(&["勾股定理"])
}

/// A compound file (OLE2, 512-byte sectors) with these streams, its directory spread over
/// as many chained sectors as it needs.
pub fn cfb(streams: &[&str]) -> Vec<u8> {
    let mut names = vec![("Root Entry", 5u8)];
    names.extend(streams.iter().map(|s| (*s, 2u8)));
    let dir_sectors = names.len().div_ceil(4);
    let mut header = vec![0u8; 512];
    header[..8].copy_from_slice(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]);
    let put16 =
        |b: &mut Vec<u8>, at: usize, v: u16| b[at..at + 2].copy_from_slice(&v.to_le_bytes());
    let put32 =
        |b: &mut Vec<u8>, at: usize, v: u32| b[at..at + 4].copy_from_slice(&v.to_le_bytes());
    put16(&mut header, 0x18, 0x3E);
    put16(&mut header, 0x1A, 3);
    put16(&mut header, 0x1C, 0xFFFE);
    put16(&mut header, 0x1E, 9);
    put16(&mut header, 0x20, 6);
    put32(&mut header, 0x2C, 1);
    put32(&mut header, 0x30, 1);
    put32(&mut header, 0x38, 4096);
    put32(&mut header, 0x3C, 0xFFFF_FFFE);
    put32(&mut header, 0x44, 0xFFFF_FFFE);
    for i in 0..109 {
        put32(
            &mut header,
            0x4C + i * 4,
            if i == 0 { 0 } else { 0xFFFF_FFFF },
        );
    }
    let mut fat = vec![0xFFu8; 512];
    put32(&mut fat, 0, 0xFFFF_FFFD);
    for s in 0..dir_sectors {
        let next = if s + 1 == dir_sectors {
            0xFFFF_FFFE
        } else {
            (s + 2) as u32
        };
        put32(&mut fat, (s + 1) * 4, next);
    }
    let mut dir = vec![0u8; dir_sectors * 512];
    for (i, (name, kind)) in names.iter().enumerate() {
        let e = i * 128;
        let units: Vec<u16> = name.encode_utf16().collect();
        for (j, u) in units.iter().enumerate() {
            put16(&mut dir, e + j * 2, *u);
        }
        put16(&mut dir, e + 0x40, ((units.len() + 1) * 2) as u16);
        dir[e + 0x42] = *kind;
        for at in [0x44, 0x48, 0x4C] {
            put32(&mut dir, e + at, 0xFFFF_FFFF);
        }
    }
    [header, fat, dir].concat()
}

/// A Windows program's first bytes: MZ, and the PE signature its header points at.
pub fn pe() -> Vec<u8> {
    let mut b = vec![0u8; 4096];
    b[..2].copy_from_slice(b"MZ");
    b[0x3C..0x40].copy_from_slice(&0x80u32.to_le_bytes());
    b[0x80..0x84].copy_from_slice(b"PE\0\0");
    b
}

pub fn elf() -> Vec<u8> {
    let mut b = b"\x7fELF\x02\x01\x01\0".to_vec();
    b.resize(4096, 0);
    b
}

/// The EICAR test string, put together here so this source is not itself flagged.
pub fn eicar() -> Vec<u8> {
    [
        r"X5O!P%@AP[4\PZX54(P^)7CC)7}$",
        "EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*",
    ]
    .concat()
    .into_bytes()
}

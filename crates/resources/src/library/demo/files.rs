//! The demo resources' files, made in code: a UTF-8 lesson plan, a PNG, and a PDF of the
//! lesson plan (its Chinese text extractable, so search finds it).

use super::{File, Spec};
use File::{Pdf, Png, Text};

/// The file of a demo resource: its name and content.
pub(super) fn file(spec: &Spec) -> (String, Vec<u8>) {
    let stem = spec.title.replace(['《', '》', '/', ' '], "");
    match spec.file {
        Text => (format!("{stem}.txt"), lesson_text(spec).into_bytes()),
        Png => (format!("{stem}.png"), png(48, 32, spec.days as u8)),
        Pdf => (
            format!("{stem}.pdf"),
            crate::files::samples::pdf(&lesson_text(spec).lines().collect::<Vec<_>>()),
        ),
    }
}

fn lesson_text(spec: &Spec) -> String {
    format!(
        "{title}\n\n一、教学目标\n1. 认读本课生字，正确朗读课文。\n2. 结合生活经验理解内容，乐于表达。\n\n\
         二、教学重难点\n重点：{tags}。\n难点：在情境中运用所学。\n\n三、教学过程\n1. 情境导入（5 分钟）\n\
         2. 新知探究（15 分钟）\n3. 巩固练习（15 分钟）\n4. 课堂小结（5 分钟）\n\n四、课后反思\n\
         学生参与积极，个别学生需要课后辅导。\n",
        title = spec.title,
        tags = spec.tags.join("、")
    )
}

/// A small RGB PNG with a colour gradient, stored (uncompressed deflate blocks), so no
/// compression library is needed.
pub fn png(width: u32, height: u32, seed: u8) -> Vec<u8> {
    let mut raw = Vec::new();
    for y in 0..height {
        raw.push(0u8);
        for x in 0..width {
            raw.extend([
                (x * 5) as u8 ^ seed,
                (y * 7) as u8,
                160u8.wrapping_add(seed),
            ]);
        }
    }
    let mut z = vec![0x78, 0x01];
    let chunks: Vec<&[u8]> = raw.chunks(65_535).collect();
    for (i, c) in chunks.iter().enumerate() {
        z.push(u8::from(i + 1 == chunks.len()));
        let len = c.len() as u16;
        z.extend(len.to_le_bytes());
        z.extend((!len).to_le_bytes());
        z.extend_from_slice(c);
    }
    z.extend(adler32(&raw).to_be_bytes());
    let mut out = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
    let mut ihdr = Vec::new();
    ihdr.extend(width.to_be_bytes());
    ihdr.extend(height.to_be_bytes());
    ihdr.extend([8, 2, 0, 0, 0]);
    for (kind, data) in [(b"IHDR", ihdr), (b"IDAT", z), (b"IEND", Vec::new())] {
        out.extend((data.len() as u32).to_be_bytes());
        let mut c = kind.to_vec();
        c.extend(&data);
        out.extend(&c);
        out.extend(crc32(&c).to_be_bytes());
    }
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for b in data {
        crc ^= u32::from(*b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for x in data {
        a = (a + u32::from(*x)) % 65_521;
        b = (b + a) % 65_521;
    }
    (b << 16) | a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_png_has_a_valid_signature_and_checksums() {
        let p = png(4, 2, 1);
        assert_eq!(&p[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(crc32(b"IEND"), 0xAE42_6082);
        assert_eq!(adler32(b"Wikipedia"), 0x11E6_0398);
        assert!(p.ends_with(&[0xAE, 0x42, 0x60, 0x82]));
    }
}

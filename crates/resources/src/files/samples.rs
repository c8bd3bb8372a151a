//! Small real files made in code: a one-page PDF whose text (Chinese or not) is extractable, as
//! Chinese PDFs carry it (a Type0 font, Identity-H, two-byte CIDs, a ToUnicode CMap). The demo
//! library's files and the tests' are made with it. No glyphs are embedded, so a viewer shows
//! the layout with boxes; the text is what search reads.

/// A one-page A4 PDF showing `lines` of text.
pub fn pdf(lines: &[&str]) -> Vec<u8> {
    // Each distinct character gets a CID from 1, in order of first use.
    let mut chars: Vec<char> = Vec::new();
    for c in lines.iter().flat_map(|l| l.chars()) {
        if !chars.contains(&c) {
            chars.push(c);
        }
    }
    let cid = |c: char| chars.iter().position(|x| *x == c).map_or(0, |i| i + 1);
    let mut content = String::from("BT /F1 16 Tf 20 TL 56 780 Td\n");
    for l in lines {
        let hex: String = l.chars().map(|c| format!("{:04X}", cid(c))).collect();
        content.push_str(&format!("<{hex}> Tj T*\n"));
    }
    content.push_str("ET\n");
    let mut cmap = String::from(
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n\
         /CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n\
         /CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n\
         1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n",
    );
    // At most 100 entries per bfchar block.
    for (block, group) in chars.chunks(100).enumerate() {
        cmap.push_str(&format!("{} beginbfchar\n", group.len()));
        for (i, c) in group.iter().enumerate() {
            let mut units = [0u16; 2];
            let utf16: String = c
                .encode_utf16(&mut units)
                .iter()
                .map(|u| format!("{u:04X}"))
                .collect();
            cmap.push_str(&format!("<{:04X}> <{utf16}>\n", block * 100 + i + 1));
        }
        cmap.push_str("endbfchar\n");
    }
    cmap.push_str("endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>".to_owned(),
        "<< /Type /Font /Subtype /Type0 /BaseFont /NotoSansSC /Encoding /Identity-H /DescendantFonts [6 0 R] /ToUnicode 7 0 R >>".to_owned(),
        format!("<< /Length {} >>\nstream\n{content}endstream", content.len()),
        "<< /Type /Font /Subtype /CIDFontType2 /BaseFont /NotoSansSC /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> /FontDescriptor 8 0 R /DW 1000 >>".to_owned(),
        format!("<< /Length {} >>\nstream\n{cmap}endstream", cmap.len()),
        "<< /Type /FontDescriptor /FontName /NotoSansSC /Flags 4 /FontBBox [0 -120 1000 880] /ItalicAngle 0 /Ascent 880 /Descent -120 /CapHeight 700 /StemV 80 >>".to_owned(),
    ];
    let mut pdf = b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n".to_vec();
    let mut offsets = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend_from_slice(format!("{} 0 obj\n{o}\nendobj\n", i + 1).as_bytes());
    }
    let xref = pdf.len();
    pdf.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for off in offsets {
        pdf.extend_from_slice(format!("{off:010} 00000 n \n").as_bytes());
    }
    pdf.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    pdf
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_text_comes_back_out() {
        let pdf = super::pdf(&["勾股定理", "a² + b² = c²", "直角三角形"]);
        let text = crate::files::extract::from_bytes(
            "application/pdf",
            crate::files::sniff::Category::Pdf,
            &pdf,
        );
        assert!(text.contains("勾股定理"), "{text}");
        assert!(text.contains("直角三角形"), "{text}");
    }
}

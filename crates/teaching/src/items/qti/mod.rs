//! QTI (IMS Question and Test Interoperability) packages: the bank's items exported as a
//! QTI 2.1 content package (a ZIP with `imsmanifest.xml` and one `assessmentItem` per file,
//! the difficulty in the manifest's LOM metadata), and packages in QTI 2.1 or 3.0 imported,
//! all or nothing, every problem named with its file, item and field.
//!
//! Both directions go through the editor's [`Draft`], so an import is checked exactly as the
//! editor and the spreadsheet check an item. What maps: choice interactions (single, multiple,
//! and true/false as the choices `true`/`false`), text entries (fill-in blanks with their
//! accepted alternatives as a mapping; pinyin marked by the class `jy-pinyin`), match
//! (directed pairs), order, and extended text (the hand-marked kinds, the kind kept in the class
//! `jy-{kind}`, the rubric as a scorer's rubric block). The explanation travels as a tutor's
//! rubric block (modal feedback is read too) and the points as `MAXSCORE`. Mathematics stays
//! as the `$…$` LaTeX the bank keeps. Not carried: knowledge points and chapters (QTI has no
//! field a bank elsewhere would read), numeric tolerances of blanks, and composite items (one
//! interaction per item). Export in [`write`], the XML tree in [`xml`], import in [`read`].

mod read;
mod write;
mod xml;

pub use read::{Problem, ReadItem, Refused, read_item, read_package};
pub use write::{item_xml, package};
pub use xml::{Child, Node, parse};

/// The QTI 2.1 namespace.
pub const QTI21: &str = "http://www.imsglobal.org/xsd/imsqti_v2p1";
/// At most this many items in a package, and this many bytes in one of its files.
pub const MAX_ITEMS: usize = 2_000;
pub const MAX_FILE: u64 = 1 << 20;
/// At most this many bytes unpacked from a package in all, and this many entries in it.
pub const MAX_UNPACKED: u64 = 64 << 20;
pub const MAX_ENTRIES: usize = 5_000;
/// Elements nested deeper than this, or more of them in one file, refuse the file (a tree
/// that deep would exhaust the stack of whatever walks it).
pub const MAX_DEPTH: usize = 64;
pub const MAX_ELEMENTS: usize = 20_000;

/// The difficulty levels (1–5) as LOM's vocabulary.
const LOM_DIFFICULTY: [&str; 5] = ["very easy", "easy", "medium", "difficult", "very difficult"];

/// Text for XML: escaped, without the control characters XML 1.0 forbids.
fn esc(s: &str) -> String {
    let clean: String = s
        .chars()
        .filter(|c| !c.is_control() || matches!(c, '\n' | '\t' | '\r'))
        .collect();
    quick_xml::escape::escape(&clean).into_owned()
}

/// Text as XHTML paragraphs (one per line).
fn paragraphs(s: &str) -> String {
    s.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| format!("<p>{}</p>", esc(l)))
        .collect()
}

fn lines(s: &str) -> Vec<String> {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

fn letter(i: usize) -> String {
    char::from_u32('A' as u32 + u32::try_from(i.min(25)).unwrap_or(25))
        .unwrap_or('Z')
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::items::form::Draft;

    fn draft(kind: &str, stem: &str, choices: &str, answer: &str) -> Draft {
        Draft {
            kind: kind.into(),
            stem: stem.into(),
            choices: choices.into(),
            answer: answer.into(),
            explanation: "解析".into(),
            points: "2".into(),
            difficulty: "4".into(),
            ..Default::default()
        }
    }

    /// Every kind survives a round trip through a 2.1 package (kind, stem, choices, answer,
    /// points, explanation and difficulty), and each draft still passes the editor's check.
    #[test]
    fn every_kind_goes_out_and_comes_back_the_same() {
        let mut essay = draft("essay", "以“秋天”为题写一段话。", "", "");
        essay.rubric = "内容切题：优=1，良=0.5".into();
        let drafts = vec![
            draft("single", "$x^2=4$，x 可能是？", "2\n3\n5", "A"),
            draft("multiple", "下面哪些是复韵母？", "ai\nei\na", "AB"),
            draft("true_false", "“木”的第一笔是横。", "", "对"),
            draft(
                "blanks",
                "“人”字有 ____ 画，“大”字有 ____ 画。",
                "",
                "2|两|二\n3|三",
            ),
            draft("pinyin", "给“马”注音：____", "", "mǎ|ma3"),
            draft("pinyin", "给“土”注音：（　）", "", "tǔ"),
            draft("matching", "连线。", "天 = tiān\n地 = dì", ""),
            draft("ordering", "排序。", "一\n二\n三", ""),
            essay,
        ];
        let items: Vec<(String, Draft)> = drafts
            .iter()
            .enumerate()
            .map(|(i, d)| (format!("JY-{i}"), d.clone()))
            .collect();
        let zip = package(&items).unwrap();
        let (read, problems) = read_package(&zip).unwrap();
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(read.len(), drafts.len());
        for (r, d) in read.iter().zip(&drafts) {
            let b = &r.draft;
            assert_eq!(b.kind, d.kind, "{}", r.file);
            assert_eq!(b.stem, d.stem.replace("（　）", "____"), "{}", r.file);
            assert_eq!(b.choices, d.choices, "{}", r.file);
            assert_eq!(b.answer, d.answer, "{}", r.file);
            assert_eq!(b.points, "2");
            assert_eq!(b.explanation, "解析");
            assert_eq!(b.difficulty, "4");
            assert_eq!(b.rubric, d.rubric);
            assert!(
                super::super::form::check(b).is_ok(),
                "{}: {:?}",
                r.file,
                super::super::form::check(b).err()
            );
        }
    }

    /// A QTI 3.0 item as another system writes it (kebab-case, its own identifiers).
    #[test]
    fn a_qti_3_item_is_read() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<qti-assessment-item xmlns="http://www.imsglobal.org/xsd/imsqtiasi_v3p0" identifier="q1" title="t">
  <qti-response-declaration identifier="RESPONSE" cardinality="single" base-type="identifier">
    <qti-correct-response><qti-value>ChoiceB</qti-value></qti-correct-response>
  </qti-response-declaration>
  <qti-outcome-declaration identifier="MAXSCORE" cardinality="single" base-type="float"><qti-default-value><qti-value>3</qti-value></qti-default-value></qti-outcome-declaration>
  <qti-item-body>
    <p>Which is a &lt;prime&gt; number?</p>
    <qti-choice-interaction response-identifier="RESPONSE" max-choices="1">
      <qti-prompt>Choose one.</qti-prompt>
      <qti-simple-choice identifier="ChoiceA">4</qti-simple-choice>
      <qti-simple-choice identifier="ChoiceB">5</qti-simple-choice>
      <qti-simple-choice identifier="ChoiceC">$6</qti-simple-choice>
    </qti-choice-interaction>
  </qti-item-body>
</qti-assessment-item>"#;
        let root = parse(xml).unwrap();
        let r = read_item("q1.xml", &root, None).unwrap();
        assert_eq!(r.draft.kind, "single");
        assert_eq!(r.draft.stem, "Which is a <prime> number?\nChoose one.");
        // Another system's dollar sign stays a dollar sign.
        assert_eq!(r.draft.choices, "4\n5\n\\$6");
        assert_eq!(r.draft.answer, "B");
        assert_eq!(r.draft.points, "3");
        assert_eq!(r.draft.difficulty, "3");
    }

    #[test]
    fn what_cannot_be_read_is_named_by_file_item_and_field() {
        let root = parse(
            r#"<assessmentItem identifier="hot" xmlns="http://www.imsglobal.org/xsd/imsqti_v2p1"><itemBody><hotspotInteraction responseIdentifier="R"/></itemBody></assessmentItem>"#,
        )
        .unwrap();
        let p = read_item("a.xml", &root, None).unwrap_err();
        assert_eq!(
            (p.file.as_str(), p.item.as_str(), p.field.as_str()),
            ("a.xml", "hot", "interaction")
        );
        assert_eq!(p.key, "error.teaching.qti_interaction");
        assert!(parse("<a><b></a>").is_err());
        assert_eq!(
            read_package(b"not a zip").unwrap_err(),
            Refused("error.teaching.qti_package")
        );
    }
}

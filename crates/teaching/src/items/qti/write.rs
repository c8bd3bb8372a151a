//! Items written as a QTI 2.1 content package.

use super::{LOM_DIFFICULTY, QTI21, esc, letter, lines, paragraphs};
use crate::items::form::Draft;
use std::io::Write as _;

/// One item as a QTI 2.1 `assessmentItem`.
pub fn item_xml(identifier: &str, d: &Draft) -> String {
    let mut decl = String::new();
    let mut body: String;
    let mut processing = "<responseProcessing template=\"http://www.imsglobal.org/question/qti_v2p1/rptemplates/match_correct\"/>".to_owned();
    let choices = lines(&d.choices);
    let letters: Vec<usize> = d
        .answer
        .chars()
        .filter(char::is_ascii_alphabetic)
        .map(|c| (c.to_ascii_uppercase() as u8 - b'A') as usize)
        .collect();
    match d.kind.as_str() {
        "single" | "multiple" => {
            let single = d.kind == "single";
            decl = format!(
                "<responseDeclaration identifier=\"RESPONSE\" cardinality=\"{}\" baseType=\"identifier\"><correctResponse>{}</correctResponse></responseDeclaration>",
                if single { "single" } else { "multiple" },
                letters
                    .iter()
                    .map(|i| format!("<value>{}</value>", letter(*i)))
                    .collect::<String>()
            );
            body = format!(
                "{}<choiceInteraction responseIdentifier=\"RESPONSE\" shuffle=\"false\" maxChoices=\"{}\"{}>{}</choiceInteraction>",
                paragraphs(&d.stem),
                if single { 1 } else { 0 },
                // The rule for a partly right answer, which QTI's templates do not name.
                if !single && !d.partial.is_empty() {
                    format!(" class=\"jy-partial-{}\"", esc(&d.partial))
                } else {
                    String::new()
                },
                choices
                    .iter()
                    .enumerate()
                    .map(|(i, c)| format!(
                        "<simpleChoice identifier=\"{}\">{}</simpleChoice>",
                        letter(i),
                        esc(c)
                    ))
                    .collect::<String>()
            );
        }
        "true_false" => {
            let right = matches!(
                crate::items::normalise::text(&d.answer).as_str(),
                "对" | "√" | "✓" | "true" | "t" | "正确"
            );
            decl = format!(
                "<responseDeclaration identifier=\"RESPONSE\" cardinality=\"single\" baseType=\"identifier\"><correctResponse><value>{right}</value></correctResponse></responseDeclaration>"
            );
            body = format!(
                "{}<choiceInteraction responseIdentifier=\"RESPONSE\" shuffle=\"false\" maxChoices=\"1\"><simpleChoice identifier=\"true\">对</simpleChoice><simpleChoice identifier=\"false\">错</simpleChoice></choiceInteraction>",
                paragraphs(&d.stem)
            );
        }
        "blanks" | "pinyin" => {
            let answers = lines(&d.answer);
            let mut classes = Vec::new();
            if d.kind == "pinyin" {
                classes.push("jy-pinyin");
            }
            if !d.any_order.is_empty() {
                classes.push("jy-any-order");
            }
            let class = if classes.is_empty() {
                String::new()
            } else {
                format!(" class=\"{}\"", classes.join(" "))
            };
            for (i, a) in answers.iter().enumerate() {
                let alternatives: Vec<&str> = a
                    .split(['|', '｜'])
                    .map(str::trim)
                    .filter(|x| !x.is_empty())
                    .collect();
                let (base, values) = match a.trim().strip_prefix('=') {
                    Some(n) => (
                        "float",
                        vec![n.split(['±', '~']).next().unwrap_or(n).trim()],
                    ),
                    None => ("string", alternatives),
                };
                decl.push_str(&format!(
                    "<responseDeclaration identifier=\"RESPONSE_{n}\" cardinality=\"single\" baseType=\"{base}\"><correctResponse><value>{}</value></correctResponse>",
                    esc(values.first().copied().unwrap_or_default()),
                    n = i + 1
                ));
                if base == "string" {
                    decl.push_str("<mapping defaultValue=\"0\">");
                    for v in &values {
                        decl.push_str(&format!(
                            "<mapEntry mapKey=\"{}\" mappedValue=\"1\" caseSensitive=\"false\"/>",
                            esc(v)
                        ));
                    }
                    decl.push_str("</mapping>");
                }
                decl.push_str("</responseDeclaration>");
            }
            // Each marked blank (three underscores or more) becomes a text entry in place.
            let mut n = 0;
            let mut stem = String::new();
            // The editor's other blank marks, empty brackets, are blanks too (they come back
            // as underscores).
            let marked = d
                .stem
                .replace("（　）", "____")
                .replace("（ ）", "____")
                .replace("(  )", "____");
            for line in marked.lines().filter(|l| !l.trim().is_empty()) {
                let mut out = String::new();
                let mut run = 0;
                for c in line.chars().chain(std::iter::once('\n')) {
                    if c == '_' {
                        run += 1;
                        continue;
                    }
                    if run >= 3 {
                        n += 1;
                        out.push_str(&format!(
                            "<textEntryInteraction responseIdentifier=\"RESPONSE_{n}\" expectedLength=\"8\"{class}/>"
                        ));
                    } else {
                        out.push_str(&"_".repeat(run));
                    }
                    run = 0;
                    if c != '\n' {
                        out.push_str(&esc(&c.to_string()));
                    }
                }
                stem.push_str(&format!("<p>{out}</p>"));
            }
            for k in n..answers.len() {
                stem.push_str(&format!(
                    "<p><textEntryInteraction responseIdentifier=\"RESPONSE_{}\" expectedLength=\"8\"{class}/></p>",
                    k + 1
                ));
            }
            body = stem;
            processing = String::new();
        }
        "matching" => {
            let pairs: Vec<(String, String)> = choices
                .iter()
                .filter_map(|l| {
                    let (a, b) = l.split_once(['=', '＝'])?;
                    Some((a.trim().to_owned(), b.trim().to_owned()))
                })
                .collect();
            decl = format!(
                "<responseDeclaration identifier=\"RESPONSE\" cardinality=\"multiple\" baseType=\"directedPair\"><correctResponse>{}</correctResponse></responseDeclaration>",
                (1..=pairs.len())
                    .map(|i| format!("<value>L{i} R{i}</value>"))
                    .collect::<String>()
            );
            body = format!(
                "{}<matchInteraction responseIdentifier=\"RESPONSE\" shuffle=\"true\" maxAssociations=\"{}\"><simpleMatchSet>{}</simpleMatchSet><simpleMatchSet>{}</simpleMatchSet></matchInteraction>",
                paragraphs(&d.stem),
                pairs.len(),
                pairs.iter().enumerate().map(|(i, p)| format!("<simpleAssociableChoice identifier=\"L{}\" matchMax=\"1\">{}</simpleAssociableChoice>", i + 1, esc(&p.0))).collect::<String>(),
                pairs.iter().enumerate().map(|(i, p)| format!("<simpleAssociableChoice identifier=\"R{}\" matchMax=\"1\">{}</simpleAssociableChoice>", i + 1, esc(&p.1))).collect::<String>()
            );
        }
        "ordering" => {
            decl = format!(
                "<responseDeclaration identifier=\"RESPONSE\" cardinality=\"ordered\" baseType=\"identifier\"><correctResponse>{}</correctResponse></responseDeclaration>",
                (1..=choices.len())
                    .map(|i| format!("<value>C{i}</value>"))
                    .collect::<String>()
            );
            body = format!(
                "{}<orderInteraction responseIdentifier=\"RESPONSE\" shuffle=\"true\"{}>{}</orderInteraction>",
                paragraphs(&d.stem),
                if d.any_order.is_empty() {
                    ""
                } else {
                    " class=\"jy-partial\""
                },
                choices
                    .iter()
                    .enumerate()
                    .map(|(i, c)| format!(
                        "<simpleChoice identifier=\"C{}\">{}</simpleChoice>",
                        i + 1,
                        esc(c)
                    ))
                    .collect::<String>()
            );
        }
        kind => {
            decl = "<responseDeclaration identifier=\"RESPONSE\" cardinality=\"single\" baseType=\"string\"/>".into();
            body = format!(
                "{}<extendedTextInteraction responseIdentifier=\"RESPONSE\" class=\"jy-{}\"/>",
                paragraphs(&d.stem),
                esc(kind)
            );
            if !d.rubric.trim().is_empty() {
                body.push_str(&format!(
                    "<rubricBlock view=\"scorer\">{}</rubricBlock>",
                    paragraphs(&d.rubric)
                ));
            }
            processing = String::new();
        }
    }
    // The explanation for teachers (a tutor's rubric block: shown without any response
    // processing to set a feedback outcome).
    if !d.explanation.trim().is_empty() {
        body.push_str(&format!(
            "<rubricBlock view=\"tutor\" class=\"jy-explanation\">{}</rubricBlock>",
            paragraphs(&d.explanation)
        ));
    }
    let title: String = d.stem.chars().take(40).collect();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<assessmentItem xmlns=\"{QTI21}\" identifier=\"{}\" title=\"{}\" adaptive=\"false\" timeDependent=\"false\">{decl}<outcomeDeclaration identifier=\"SCORE\" cardinality=\"single\" baseType=\"float\"/><outcomeDeclaration identifier=\"MAXSCORE\" cardinality=\"single\" baseType=\"float\"><defaultValue><value>{}</value></defaultValue></outcomeDeclaration><outcomeDeclaration identifier=\"FEEDBACK\" cardinality=\"single\" baseType=\"identifier\"/><itemBody>{body}</itemBody>{processing}</assessmentItem>\n",
        esc(identifier),
        esc(title.trim()),
        esc(d.points.trim())
    )
}

/// A package of `items` (identifier, draft): the manifest and one file per item.
pub fn package(items: &[(String, Draft)]) -> std::io::Result<Vec<u8>> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    let mut resources = String::new();
    for (n, (id, d)) in items.iter().enumerate() {
        let href = format!("items/item{:04}.xml", n + 1);
        zip.start_file(&href, options)?;
        zip.write_all(item_xml(id, d).as_bytes())?;
        let level = d
            .difficulty
            .trim()
            .parse::<usize>()
            .ok()
            .and_then(|l| LOM_DIFFICULTY.get(l.wrapping_sub(1)))
            .copied()
            .unwrap_or("medium");
        resources.push_str(&format!(
            "<resource identifier=\"RES-{}\" type=\"imsqti_item_xmlv2p1\" href=\"{href}\"><metadata><lom xmlns=\"http://ltsc.ieee.org/xsd/LOM\"><educational><difficulty><source>LOMv1.0</source><value>{level}</value></difficulty></educational></lom></metadata><file href=\"{href}\"/></resource>",
            esc(id)
        ));
    }
    zip.start_file("imsmanifest.xml", options)?;
    zip.write_all(format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<manifest xmlns=\"http://www.imsglobal.org/xsd/imscp_v1p1\" identifier=\"JIAOYUN-ITEMS\"><metadata><schema>QTIv2.1 Package</schema><schemaversion>1.0.0</schemaversion></metadata><organizations/><resources>{resources}</resources></manifest>\n"
    ).as_bytes())?;
    Ok(zip.finish()?.into_inner())
}

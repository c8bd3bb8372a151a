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
//! `jy-{kind}`, the rubric as a scorer's rubric block). The explanation travels as modal
//! feedback and the points as `MAXSCORE`. Mathematics stays as the `$…$` LaTeX the bank keeps.
//! Not carried: knowledge points and chapters (QTI has no field a bank elsewhere would read),
//! numeric tolerances of blanks, and composite items (one interaction per item).

use super::form::{Draft, KINDS};
use std::collections::HashMap;
use std::io::{Read as _, Write as _};

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
                super::normalise::text(&d.answer).as_str(),
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

/// An element of a parsed file: its name and attributes normalised to QTI 2.1's (no
/// namespace prefix, `qti-choice-interaction` → `choiceInteraction`), and its children.
#[derive(Debug, Clone, Default)]
pub struct Node {
    pub name: String,
    pub attrs: HashMap<String, String>,
    pub children: Vec<Child>,
}

#[derive(Debug, Clone)]
pub enum Child {
    Node(Node),
    Text(String),
}

/// QTI 3.0's kebab-case names (`qti-simple-choice`, `response-identifier`) as 2.1's camel case.
fn normalise_name(raw: &[u8]) -> String {
    let s = String::from_utf8_lossy(raw);
    let local = s.rsplit(':').next().unwrap_or(&s);
    let local = local.strip_prefix("qti-").unwrap_or(local);
    let mut out = String::with_capacity(local.len());
    let mut upper = false;
    for c in local.chars() {
        if c == '-' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// Parses XML into a tree (no DTDs, no external entities: quick-xml resolves none).
pub fn parse(xml: &str) -> Result<Node, String> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut stack: Vec<Node> = vec![Node::default()];
    let mut elements = 0usize;
    let element = |e: &quick_xml::events::BytesStart<'_>| -> Result<Node, String> {
        let mut attrs = HashMap::new();
        for a in e.attributes() {
            let a = a.map_err(|x| x.to_string())?;
            let value = a.unescape_value().map_err(|x| x.to_string())?.into_owned();
            attrs.insert(normalise_name(a.key.as_ref()), value);
        }
        Ok(Node {
            name: normalise_name(e.name().as_ref()),
            attrs,
            children: Vec::new(),
        })
    };
    loop {
        match reader.read_event().map_err(|e| e.to_string())? {
            Event::Start(e) => {
                elements += 1;
                if stack.len() > MAX_DEPTH || elements > MAX_ELEMENTS {
                    return Err("too deep or too large".into());
                }
                stack.push(element(&e)?);
            }
            Event::Empty(e) => {
                elements += 1;
                if elements > MAX_ELEMENTS {
                    return Err("too large".into());
                }
                let n = element(&e)?;
                if let Some(top) = stack.last_mut() {
                    top.children.push(Child::Node(n));
                }
            }
            Event::End(_) => {
                let n = stack.pop().ok_or("unbalanced")?;
                match stack.last_mut() {
                    Some(top) => top.children.push(Child::Node(n)),
                    None => return Err("unbalanced".into()),
                }
            }
            Event::Text(t) => {
                let text = t.decode().map_err(|e| e.to_string())?;
                let text = quick_xml::escape::unescape(&text)
                    .map_err(|e| e.to_string())?
                    .into_owned();
                if let Some(top) = stack.last_mut() {
                    top.children.push(Child::Text(text));
                }
            }
            Event::CData(t) => {
                if let Some(top) = stack.last_mut() {
                    top.children
                        .push(Child::Text(String::from_utf8_lossy(&t).into_owned()));
                }
            }
            Event::GeneralRef(r) => {
                let name = String::from_utf8_lossy(&r).into_owned();
                let text = match name.as_str() {
                    "amp" => "&".to_owned(),
                    "lt" => "<".to_owned(),
                    "gt" => ">".to_owned(),
                    "quot" => "\"".to_owned(),
                    "apos" => "'".to_owned(),
                    n => match n.strip_prefix('#') {
                        Some(num) => {
                            let code = match num.strip_prefix('x') {
                                Some(h) => u32::from_str_radix(h, 16).ok(),
                                None => num.parse().ok(),
                            };
                            code.and_then(char::from_u32)
                                .map(String::from)
                                .unwrap_or_default()
                        }
                        None => String::new(),
                    },
                };
                if let Some(top) = stack.last_mut() {
                    top.children.push(Child::Text(text));
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    let mut root = stack.pop().ok_or("empty")?;
    if !stack.is_empty() {
        return Err("unclosed elements".into());
    }
    root.children
        .drain(..)
        .find_map(|c| match c {
            Child::Node(n) => Some(n),
            Child::Text(_) => None,
        })
        .ok_or_else(|| "no root element".into())
}

impl Node {
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs.get(name).map(String::as_str)
    }
    pub fn nodes(&self) -> impl Iterator<Item = &Node> {
        self.children.iter().filter_map(|c| match c {
            Child::Node(n) => Some(n),
            Child::Text(_) => None,
        })
    }
    /// Every descendant named `name`, in document order.
    pub fn find_all<'a>(&'a self, name: &str, out: &mut Vec<&'a Node>) {
        for n in self.nodes() {
            if n.name == name {
                out.push(n);
            }
            n.find_all(name, out);
        }
    }
    pub fn first(&self, name: &str) -> Option<&Node> {
        let mut v = Vec::new();
        self.find_all(name, &mut v);
        v.into_iter().next()
    }
    /// What a stem or choice holds that the bank cannot keep as text: images, media, MathML,
    /// tables (the first found).
    pub fn unsupported(&self) -> Option<&str> {
        for n in self.nodes() {
            if matches!(
                n.name.as_str(),
                "img" | "object" | "audio" | "video" | "math" | "table" | "svg"
            ) {
                return Some(n.name.as_str());
            }
            if matches!(
                n.name.as_str(),
                "rubricBlock" | "modalFeedback" | "feedbackBlock"
            ) {
                continue;
            }
            if let Some(u) = n.unsupported() {
                return Some(u);
            }
        }
        None
    }
    /// The text, block elements on lines of their own; text entries as `____`; the parts of
    /// interactions other than their prompt left out when `skip_interactions`.
    pub fn text(&self, skip_interactions: bool) -> String {
        let mut out = String::new();
        self.text_into(&mut out, skip_interactions);
        out.lines()
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join("\n")
    }
    fn text_into(&self, out: &mut String, skip: bool) {
        for c in &self.children {
            match c {
                Child::Text(t) => out.push_str(t),
                Child::Node(n) if n.name == "textEntryInteraction" => out.push_str("____"),
                // Feedback and templates are not what a student reads first: never in a stem
                // or a choice (feedback may hold the answer).
                Child::Node(n)
                    if matches!(
                        n.name.as_str(),
                        "feedbackInline"
                            | "feedbackBlock"
                            | "modalFeedback"
                            | "templateInline"
                            | "templateBlock"
                            | "printedVariable"
                    ) => {}
                Child::Node(n) if skip && n.name.ends_with("Interaction") => {
                    if let Some(p) = n.nodes().find(|c| c.name == "prompt") {
                        out.push('\n');
                        p.text_into(out, skip);
                        out.push('\n');
                    }
                }
                Child::Node(n)
                    if skip && matches!(n.name.as_str(), "rubricBlock" | "modalFeedback") => {}
                Child::Node(n) => {
                    let block = matches!(
                        n.name.as_str(),
                        "p" | "div" | "br" | "li" | "h1" | "h2" | "h3" | "h4" | "tr" | "blockquote"
                    );
                    if block {
                        out.push('\n');
                    }
                    n.text_into(out, skip);
                    if block {
                        out.push('\n');
                    }
                }
            }
        }
    }
}

/// A problem with one item of a package: the field (`stem`, `choices`, `answer`, `points`,
/// `interaction` …) and the message key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: String,
    pub item: String,
    pub field: String,
    pub key: String,
}

/// An item read from a package: where it came from and its draft.
#[derive(Debug, Clone)]
pub struct ReadItem {
    pub file: String,
    pub item: String,
    pub draft: Draft,
}

fn values(decl: Option<&Node>) -> Vec<String> {
    let mut v = Vec::new();
    if let Some(c) = decl.and_then(|d| d.first("correctResponse")) {
        let mut vs = Vec::new();
        c.find_all("value", &mut vs);
        v.extend(vs.iter().map(|n| n.text(false)));
    }
    v
}

/// One `assessmentItem` (2.1) or `qti-assessment-item` (3.0) as a draft, or why not.
pub fn read_item(file: &str, root: &Node, difficulty: Option<usize>) -> Result<ReadItem, Problem> {
    let item = root.attr("identifier").unwrap_or(file).to_owned();
    let problem = |field: &str, key: &str| Problem {
        file: file.to_owned(),
        item: item.clone(),
        field: field.to_owned(),
        key: key.to_owned(),
    };
    if root.name != "assessmentItem" {
        return Err(problem("interaction", "error.teaching.qti_not_item"));
    }
    let body = root
        .first("itemBody")
        .ok_or_else(|| problem("stem", "error.teaching.qti_no_body"))?;
    let mut interactions = Vec::new();
    for n in body.nodes() {
        collect_interactions(n, &mut interactions);
    }
    let kinds: Vec<&str> = interactions.iter().map(|n| n.name.as_str()).collect();
    let decls: Vec<&Node> = root
        .nodes()
        .filter(|n| n.name == "responseDeclaration")
        .collect();
    let decl = |id: Option<&str>| decls.iter().copied().find(|d| d.attr("identifier") == id);
    let mut d = Draft {
        stem: body.text(true),
        explanation: root
            .nodes()
            .find(|n| n.name == "modalFeedback")
            .or_else(|| {
                body.nodes().find(|n| {
                    n.name == "rubricBlock" && n.attr("view").is_some_and(|v| v.contains("tutor"))
                })
            })
            .map(|n| n.text(false))
            .unwrap_or_default(),
        points: root
            .nodes()
            .filter(|n| n.name == "outcomeDeclaration" && n.attr("identifier") == Some("MAXSCORE"))
            .find_map(|n| n.first("value").map(|v| v.text(false)))
            .unwrap_or_else(|| "1".into()),
        difficulty: difficulty.unwrap_or(3).to_string(),
        ..Default::default()
    };
    let first = *kinds
        .first()
        .ok_or_else(|| problem("interaction", "error.teaching.qti_no_interaction"))?;
    if kinds.iter().any(|k| *k != first) || (first != "textEntryInteraction" && kinds.len() > 1) {
        return Err(problem("interaction", "error.teaching.qti_composite"));
    }
    if body.unsupported().is_some() {
        return Err(problem("stem", "error.teaching.qti_media"));
    }
    let it = interactions[0];
    let response = decl(it.attr("responseIdentifier"));
    match first {
        "choiceInteraction" => {
            let mut choices = Vec::new();
            it.find_all("simpleChoice", &mut choices);
            let ids: Vec<&str> = choices
                .iter()
                .map(|c| c.attr("identifier").unwrap_or(""))
                .collect();
            // One line per choice, whatever its markup: the key's letters count choices.
            let texts: Vec<String> = choices
                .iter()
                .map(|c| c.text(false).replace('\n', " "))
                .collect();
            if texts.iter().any(|t| t.trim().is_empty()) || texts.len() > 26 {
                return Err(problem("choices", "error.teaching.qti_choice_empty"));
            }
            let correct = values(response);
            let tf = |i: usize| {
                let id = ids.get(i).copied().unwrap_or("").to_ascii_lowercase();
                let t = texts.get(i).map(|t| t.to_lowercase()).unwrap_or_default();
                (id == "true" || t == "对" || t == "true" || t == "正确") && (ids.len() == 2)
            };
            if ids.len() == 2 && (tf(0) || tf(1)) {
                let true_id = if tf(0) { ids[0] } else { ids[1] };
                d.kind = "true_false".into();
                d.answer = match correct.first() {
                    Some(v) if v == true_id => "对".into(),
                    Some(_) => "错".into(),
                    None => String::new(),
                };
            } else {
                let max: usize = it
                    .attr("maxChoices")
                    .and_then(|m| m.parse().ok())
                    .unwrap_or(1);
                // A multiple response with one right choice is a single choice here.
                let multiple = (max != 1
                    || response.and_then(|r| r.attr("cardinality")) == Some("multiple"))
                    && correct.len() != 1;
                if let Some(rule) = it.attr("class").and_then(|c| {
                    c.split_whitespace()
                        .find_map(|x| x.strip_prefix("jy-partial-"))
                }) {
                    d.partial = rule.to_owned();
                }
                d.kind = if multiple { "multiple" } else { "single" }.into();
                d.choices = texts.join("\n");
                d.answer = correct
                    .iter()
                    .filter_map(|v| ids.iter().position(|i| i == v))
                    .map(letter)
                    .collect();
            }
        }
        "textEntryInteraction" => {
            d.kind = if interactions
                .iter()
                .any(|i| i.attr("class").is_some_and(|c| c.contains("jy-pinyin")))
            {
                "pinyin"
            } else {
                "blanks"
            }
            .into();
            let mut answers = Vec::new();
            for i in &interactions {
                let r = decl(i.attr("responseIdentifier"));
                let mut alternatives = values(r);
                if let Some(m) = r.and_then(|r| r.first("mapping")) {
                    for e in m.nodes().filter(|e| e.name == "mapEntry") {
                        let positive = e
                            .attr("mappedValue")
                            .and_then(|v| v.parse::<f64>().ok())
                            .is_some_and(|v| v > 0.0);
                        if let Some(k) = e.attr("mapKey")
                            && positive
                            && !alternatives.iter().any(|a| a == k)
                        {
                            alternatives.push(k.to_owned());
                        }
                    }
                }
                let numeric = r
                    .and_then(|r| r.attr("baseType"))
                    .is_some_and(|b| b == "float" || b == "integer");
                answers.push(if numeric && alternatives.len() == 1 {
                    format!("={}", alternatives[0])
                } else {
                    alternatives.join("|")
                });
            }
            d.answer = answers.join("\n");
            if interactions
                .iter()
                .any(|i| i.attr("class").is_some_and(|c| c.contains("jy-any-order")))
            {
                d.any_order = "1".into();
            }
        }
        "matchInteraction" => {
            d.kind = "matching".into();
            let sets: Vec<&Node> = it.nodes().filter(|n| n.name == "simpleMatchSet").collect();
            let entries = |s: Option<&&Node>| -> Vec<(String, String)> {
                s.map(|s| {
                    s.nodes()
                        .filter(|n| n.name == "simpleAssociableChoice")
                        .map(|n| {
                            (
                                n.attr("identifier").unwrap_or("").to_owned(),
                                n.text(false).replace('\n', " "),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default()
            };
            let (left, right) = (entries(sets.first()), entries(sets.get(1)));
            let pairs: Vec<(String, String)> = values(response)
                .iter()
                .filter_map(|v| {
                    let (a, b) = v.split_once(char::is_whitespace)?;
                    let l = left.iter().find(|x| x.0 == a.trim())?;
                    let r = right.iter().find(|x| x.0 == b.trim())?;
                    Some((l.1.clone(), r.1.clone()))
                })
                .collect();
            d.choices = pairs
                .iter()
                .map(|(l, r)| format!("{l} = {r}"))
                .collect::<Vec<_>>()
                .join("\n");
        }
        "orderInteraction" => {
            d.kind = "ordering".into();
            let mut choices = Vec::new();
            it.find_all("simpleChoice", &mut choices);
            let entries: Vec<String> = values(response)
                .iter()
                .filter_map(|v| choices.iter().find(|c| c.attr("identifier") == Some(v)))
                .map(|c| c.text(false).replace('\n', " "))
                .collect();
            if entries.len() != choices.len() || entries.iter().any(|e| e.trim().is_empty()) {
                return Err(problem("choices", "error.teaching.qti_choice_empty"));
            }
            d.choices = entries.join("\n");
            if it.attr("class").is_some_and(|c| c.contains("jy-partial")) {
                d.any_order = "1".into();
            }
        }
        "extendedTextInteraction" => {
            d.kind = it
                .attr("class")
                .and_then(|c| {
                    c.split_whitespace()
                        .filter_map(|x| x.strip_prefix("jy-"))
                        .find(|k| KINDS.contains(k))
                })
                .unwrap_or("short_answer")
                .into();
            d.rubric = body
                .nodes()
                .find(|n| {
                    n.name == "rubricBlock" && n.attr("view").is_some_and(|v| v.contains("scorer"))
                })
                .map(|n| n.text(false))
                .unwrap_or_default();
        }
        _ => return Err(problem("interaction", "error.teaching.qti_interaction")),
    }
    // Another system's `$` is a dollar sign, not the bank's formula mark.
    if !item.starts_with("JY-") {
        for text in [&mut d.stem, &mut d.choices, &mut d.explanation] {
            *text = text.replace('$', "\\$");
        }
    }
    Ok(ReadItem {
        file: file.to_owned(),
        item,
        draft: d,
    })
}

fn collect_interactions<'a>(n: &'a Node, out: &mut Vec<&'a Node>) {
    if n.name.ends_with("Interaction") {
        out.push(n);
        return;
    }
    for c in n.nodes() {
        collect_interactions(c, out);
    }
}

/// Why a package as a whole cannot be read (the message key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused(pub &'static str);

/// Reads one entry's text: at most [`MAX_FILE`] bytes, UTF-8 (with or without a BOM), counted
/// against the package's budget.
fn entry_text(
    zip: &mut zip::ZipArchive<std::io::Cursor<&[u8]>>,
    i: usize,
    budget: &mut u64,
) -> Result<Result<String, &'static str>, Refused> {
    let f = zip
        .by_index(i)
        .map_err(|_| Refused("error.teaching.qti_package"))?;
    let mut bytes = Vec::new();
    let read = f.take(MAX_FILE + 1).read_to_end(&mut bytes);
    *budget = budget.saturating_sub(bytes.len() as u64);
    if *budget == 0 {
        return Err(Refused("error.teaching.qti_too_big"));
    }
    if read.is_err() || bytes.len() as u64 > MAX_FILE {
        return Ok(Err("error.teaching.qti_file"));
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    Ok(String::from_utf8(bytes.to_vec()).map_err(|_| "error.teaching.qti_encoding"))
}

/// `href` from a manifest in `dir`, as the package names the file (`./`, `%20` resolved).
fn resolve(dir: &str, href: &str) -> String {
    let mut decoded = Vec::new();
    let b = href.as_bytes();
    let mut k = 0;
    while k < b.len() {
        if b[k] == b'%'
            && k + 2 < b.len()
            && let Ok(v) = u8::from_str_radix(&href[k + 1..k + 3], 16)
        {
            decoded.push(v);
            k += 3;
            continue;
        }
        decoded.push(b[k]);
        k += 1;
    }
    let href = String::from_utf8_lossy(&decoded).into_owned();
    format!("{dir}{}", href.trim_start_matches("./"))
}

/// The items of a package: each XML file holding an item (the manifest's difficulty by
/// file), or the problems found; `Err` when the package as a whole cannot be read. Files are
/// read and parsed one at a time, within [`MAX_UNPACKED`] bytes in all.
pub fn read_package(bytes: &[u8]) -> Result<(Vec<ReadItem>, Vec<Problem>), Refused> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|_| Refused("error.teaching.qti_package"))?;
    if zip.len() > MAX_ENTRIES {
        return Err(Refused("error.teaching.qti_too_many"));
    }
    let mut budget = MAX_UNPACKED;
    let mut names: Vec<(usize, String)> = Vec::new();
    for i in 0..zip.len() {
        let f = zip
            .by_index_raw(i)
            .map_err(|_| Refused("error.teaching.qti_package"))?;
        let name = f
            .name()
            .map_err(|_| Refused("error.teaching.qti_package"))?
            .into_owned();
        // macOS's resource forks and folders are not the package's files.
        if f.is_dir()
            || !name.to_ascii_lowercase().ends_with(".xml")
            || name.starts_with("__MACOSX/")
            || name.rsplit('/').next().is_some_and(|n| n.starts_with("._"))
        {
            continue;
        }
        names.push((i, name));
    }
    let problem = |file: &str, key: &'static str| Problem {
        file: file.to_owned(),
        item: String::new(),
        field: "file".into(),
        key: key.into(),
    };
    let mut problems = Vec::new();
    // The manifest's difficulty for each file it lists, by the file's path in the package.
    let mut difficulty: HashMap<String, usize> = HashMap::new();
    if let Some((i, name)) = names
        .iter()
        .filter(|(_, n)| n.ends_with("imsmanifest.xml"))
        .min_by_key(|(_, n)| n.len())
        .cloned()
    {
        let dir = &name[..name.len() - "imsmanifest.xml".len()];
        match entry_text(&mut zip, i, &mut budget)?.map(|t| parse(&t)) {
            Ok(Ok(root)) => {
                let mut resources = Vec::new();
                root.find_all("resource", &mut resources);
                for r in resources {
                    let level = r
                        .first("difficulty")
                        .and_then(|d| d.first("value"))
                        .map(|v| v.text(false));
                    if let (Some(href), Some(level)) = (r.attr("href"), level)
                        && let Some(l) = LOM_DIFFICULTY.iter().position(|l| *l == level.trim())
                    {
                        difficulty.insert(resolve(dir, href), l + 1);
                    }
                }
            }
            Ok(Err(_)) => problems.push(problem(&name, "error.teaching.qti_xml")),
            Err(key) => problems.push(problem(&name, key)),
        }
    }
    let mut out = Vec::new();
    for (i, name) in &names {
        if name.ends_with("imsmanifest.xml") {
            continue;
        }
        let text = match entry_text(&mut zip, *i, &mut budget)? {
            Ok(t) => t,
            Err(key) => {
                problems.push(problem(name, key));
                continue;
            }
        };
        let root = match parse(&text) {
            Ok(r) => r,
            Err(_) => {
                problems.push(problem(name, "error.teaching.qti_xml"));
                continue;
            }
        };
        // Tests and other files of the package are not items: passed over.
        if root.name != "assessmentItem" {
            continue;
        }
        if out.len() == MAX_ITEMS {
            return Err(Refused("error.teaching.qti_too_many"));
        }
        match read_item(name, &root, difficulty.get(name).copied()) {
            Ok(r) => out.push(r),
            Err(p) => problems.push(p),
        }
    }
    Ok((out, problems))
}

#[cfg(test)]
mod tests {
    use super::*;

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

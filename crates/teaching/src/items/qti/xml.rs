//! XML read into a small tree, QTI 3.0's names as 2.1's, within the package's limits.

use super::{MAX_DEPTH, MAX_ELEMENTS};
use std::collections::HashMap;

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

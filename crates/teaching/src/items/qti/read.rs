//! Items read from a QTI 2.1 or 3.0 package: each as an editor's draft, or the problem found.

use super::xml::{Node, parse};
use super::{LOM_DIFFICULTY, MAX_ENTRIES, MAX_FILE, MAX_ITEMS, MAX_UNPACKED, letter};
use crate::items::form::{Draft, KINDS};
use std::collections::HashMap;
use std::io::Read as _;

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

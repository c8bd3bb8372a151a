//! An item as a teacher writes it in the editor, checked into what is stored: its options and
//! its key, field by field.
//!
//! How each type is written:
//! - single and multiple choice: one option per line; the answer as letters (`B`, `ACD`), and
//!   for multiple choice the rule for a partly right answer;
//! - true/false: the answer `对` or `错`;
//! - fill-in-the-blank and pinyin: one line per blank, alternatives separated by `|`; a blank
//!   that takes a number is written `=2.5` or `=2.5±0.01`;
//! - matching: one pair per line, `左 = 右` (students see the right side in another order);
//! - ordering: the entries in the right order, one per line (students see them shuffled);
//! - short answer, essay, dictation and writing: the reference answer, marked by a teacher.

use super::score::{Blank, Key, Partial};
use kernel::FieldErrors;
use serde::{Deserialize, Serialize};

/// The types, in the editor's order.
pub const KINDS: [&str; 11] = [
    "single",
    "multiple",
    "true_false",
    "blanks",
    "pinyin",
    "matching",
    "ordering",
    "short_answer",
    "essay",
    "dictation",
    "writing",
];

pub const STEM_MAX: usize = 5_000;
pub const OPTION_MAX: usize = 500;
pub const OPTIONS_MAX: usize = 10;
pub const LINES_MAX: usize = 20;

/// Every message key [`check`] gives, so a spreadsheet's problem can name it.
const ERROR_KEYS: [&str; 14] = [
    "error.teaching.item_rubric",
    "error.teaching.item_rubric_points",
    "error.teaching.item_stem",
    "error.teaching.item_points",
    "error.teaching.item_difficulty",
    "error.teaching.item_source",
    "error.teaching.item_explanation",
    "error.teaching.item_choices",
    "error.teaching.item_letters",
    "error.teaching.item_true_false",
    "error.teaching.item_blanks",
    "error.teaching.item_blank_line",
    "error.teaching.item_pairs",
    "error.teaching.item_kind",
];

/// The static form of a message key [`check`] gave.
pub fn error_key(key: &str) -> &'static str {
    ERROR_KEYS
        .iter()
        .find(|k| **k == key)
        .copied()
        .unwrap_or("error.teaching.item_kind")
}

/// What students see besides the stem.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Options {
    /// Choices (single, multiple) or the entries to order, as shown.
    #[serde(default)]
    pub choices: Vec<String>,
    /// Matching: the left entries, and the right ones in the order shown.
    #[serde(default)]
    pub left: Vec<String>,
    #[serde(default)]
    pub right: Vec<String>,
    /// Items a teacher marks: the rubric's criteria.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rubric: Vec<Criterion>,
}

/// A criterion of a rubric (评分标准) and its levels with their points (hundredths).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Criterion {
    pub name: String,
    pub levels: Vec<(String, i64)>,
}

impl Criterion {
    pub fn max(&self) -> i64 {
        self.levels.iter().map(|l| l.1).max().unwrap_or(0)
    }
    /// `内容切题：优=6，良=4，差=2`, as the editor writes it.
    pub fn line(&self) -> String {
        format!(
            "{}：{}",
            self.name,
            self.levels
                .iter()
                .map(|(l, p)| format!("{l}={}", *p as f64 / 100.0))
                .collect::<Vec<_>>()
                .join("，")
        )
    }
    pub fn level_text(&self, i: &usize) -> String {
        self.levels
            .get(*i)
            .map(|(l, p)| format!("{l} {}", *p as f64 / 100.0))
            .unwrap_or_default()
    }
}

pub const CRITERIA_MAX: usize = 8;
pub const LEVELS_MAX: usize = 6;

/// A rubric as written: one criterion per line, `内容切题：优=6，良=4，差=2` (`:` and `,`, `、`
/// and `;` too). Each criterion has 2–6 levels; the criteria's best levels together may not
/// exceed the item's points.
pub fn rubric(text: &str, points: Option<i64>) -> Result<Vec<Criterion>, &'static str> {
    let mut out: Vec<Criterion> = Vec::new();
    for line in lines(text) {
        let (name, levels) = line
            .split_once(['：', ':'])
            .ok_or("error.teaching.item_rubric")?;
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 40 || out.iter().any(|c| c.name == name) {
            return Err("error.teaching.item_rubric");
        }
        let mut ls = Vec::new();
        for part in levels.split(['，', ',', '、', ';', '；']) {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            let (l, p) = part
                .split_once(['=', '＝'])
                .ok_or("error.teaching.item_rubric")?;
            let l = l.trim();
            let p = super::normalise::number(p).ok_or("error.teaching.item_rubric")?;
            let h = (p * 100.0).round() as i64;
            if l.is_empty() || l.chars().count() > 20 || !(0..=10_000).contains(&h) {
                return Err("error.teaching.item_rubric");
            }
            ls.push((l.to_owned(), h));
        }
        if !(2..=LEVELS_MAX).contains(&ls.len()) {
            return Err("error.teaching.item_rubric");
        }
        out.push(Criterion {
            name: name.to_owned(),
            levels: ls,
        });
    }
    if out.len() > CRITERIA_MAX {
        return Err("error.teaching.item_rubric");
    }
    if let Some(p) = points
        && out.iter().map(Criterion::max).sum::<i64>() > p
    {
        return Err("error.teaching.item_rubric_points");
    }
    Ok(out)
}

/// The editor's fields.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Draft {
    pub kind: String,
    pub stem: String,
    /// One option, pair or entry per line.
    pub choices: String,
    /// Letters, 对/错, or one line per blank.
    pub answer: String,
    pub partial: String,
    pub any_order: String,
    pub explanation: String,
    pub points: String,
    pub difficulty: String,
    pub source: String,
    /// Items a teacher marks: the rubric, one criterion per line.
    pub rubric: String,
    /// A listening item's recording: a library audio resource, by its id or its page's link.
    pub audio: String,
}

/// The resource a draft's `audio` names (its id, or the last id in a pasted link), if any;
/// `Err` with the message key when something is typed that names none.
pub fn audio_id(audio: &str) -> Result<Option<kernel::ResourceId>, &'static str> {
    let audio = audio.trim();
    if audio.is_empty() {
        return Ok(None);
    }
    audio
        .rsplit(['/', '?', '#', '='])
        .find_map(|part| part.parse::<kernel::ResourceId>().ok())
        .map(Some)
        .ok_or("error.teaching.item_audio")
}

fn lines(s: &str) -> Vec<String> {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Letters `A`… as option indexes (full-width too, any order, spaces and commas ignored).
fn letters(s: &str, n: usize) -> Option<Vec<usize>> {
    let mut out = Vec::new();
    for c in super::normalise::text(s).chars() {
        if c == ',' {
            continue;
        }
        let i = (c as u32).checked_sub('a' as u32)? as usize;
        if i >= n {
            return None;
        }
        if !out.contains(&i) {
            out.push(i);
        }
    }
    out.sort_unstable();
    (!out.is_empty()).then_some(out)
}

/// A blank's line: alternatives by `|`, or `=number` with an optional `±tolerance`.
fn blank(line: &str) -> Option<Blank> {
    let t = line.trim();
    if let Some(num) = t.strip_prefix('=').or_else(|| t.strip_prefix('＝')) {
        let (v, tol) = match num.split_once(['±', '~']) {
            Some((v, tol)) => (v, super::normalise::number(tol)?),
            None => (num, 0.0),
        };
        return Some(Blank {
            accepted: Vec::new(),
            number: Some(super::normalise::number(v)?),
            tolerance: tol.abs(),
        });
    }
    let accepted: Vec<String> = t
        .split(['|', '｜'])
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(str::to_owned)
        .collect();
    (!accepted.is_empty()).then_some(Blank {
        accepted,
        number: None,
        tolerance: 0.0,
    })
}

/// The blanks a stem marks: runs of three or more underscores, or empty brackets `（ ）`.
pub fn blanks_in(stem: &str) -> usize {
    let mut n = 0;
    let mut run = 0;
    for c in stem.chars() {
        if c == '_' {
            run += 1;
        } else {
            if run >= 3 {
                n += 1;
            }
            run = 0;
        }
    }
    if run >= 3 {
        n += 1;
    }
    n + stem.matches("（　）").count()
        + stem.matches("（ ）").count()
        + stem.matches("(  )").count()
}

/// A random order of `n` entries that is not the written one (for two or more), stored with
/// the item so its key follows it.
fn shuffled(n: usize) -> Vec<usize> {
    use rand::seq::SliceRandom;
    let mut v: Vec<usize> = (0..n).collect();
    let mut rng = rand::thread_rng();
    while n > 1 && v.iter().enumerate().all(|(i, x)| i == *x) {
        v.shuffle(&mut rng);
    }
    v
}

/// Points typed as `2`, `2.5` or `0.5`: in hundredths, 0.5 to 100.
pub fn points(s: &str) -> Option<i64> {
    let v = super::normalise::number(s)?;
    let h = (v * 100.0).round() as i64;
    (50..=10_000).contains(&h).then_some(h)
}

/// Checks a draft into its options and key; errors by field (`kind`, `stem`, `choices`,
/// `answer`, `points`, `difficulty`, `source`, `explanation`).
pub fn check(d: &Draft) -> Result<(Options, Key), FieldErrors> {
    let mut e = FieldErrors::new();
    let stem = d.stem.trim();
    if stem.is_empty() || stem.chars().count() > STEM_MAX {
        e.add("stem", "error.teaching.item_stem");
    }
    if points(&d.points).is_none() {
        e.add("points", "error.teaching.item_points");
    }
    if !matches!(d.difficulty.trim(), "1" | "2" | "3" | "4" | "5") {
        e.add("difficulty", "error.teaching.item_difficulty");
    }
    if d.source.chars().count() > 100 {
        e.add("source", "error.teaching.item_source");
    }
    if d.explanation.chars().count() > STEM_MAX {
        e.add("explanation", "error.teaching.item_explanation");
    }
    let choices = lines(&d.choices);
    let long = choices.iter().any(|c| c.chars().count() > OPTION_MAX);
    let mut options = Options::default();
    let key = match d.kind.as_str() {
        "single" | "multiple" => {
            if !(2..=OPTIONS_MAX).contains(&choices.len()) || long {
                e.add("choices", "error.teaching.item_choices");
            }
            let picked = letters(&d.answer, choices.len());
            let key = match (d.kind.as_str(), picked) {
                ("single", Some(p)) if p.len() == 1 => Some(Key::Single { correct: p[0] }),
                ("multiple", Some(p)) if p.len() >= 2 => Some(Key::Multiple {
                    correct: p,
                    partial: match d.partial.as_str() {
                        "half_if_subset" => Partial::HalfIfSubset,
                        "proportional" => Partial::Proportional,
                        "per_option" => Partial::PerOption,
                        _ => Partial::AllOrNothing,
                    },
                }),
                _ => {
                    e.add("answer", "error.teaching.item_letters");
                    None
                }
            };
            options.choices = choices;
            key
        }
        "true_false" => match super::normalise::text(&d.answer).as_str() {
            "对" | "√" | "✓" | "true" | "t" | "正确" => {
                Some(Key::TrueFalse { correct: true })
            }
            "错" | "×" | "✗" | "false" | "f" | "错误" => {
                Some(Key::TrueFalse { correct: false })
            }
            _ => {
                e.add("answer", "error.teaching.item_true_false");
                None
            }
        },
        "blanks" | "pinyin" => {
            let ls = lines(&d.answer);
            let marked = blanks_in(stem);
            if ls.is_empty() || ls.len() > LINES_MAX || (marked > 0 && marked != ls.len()) {
                e.add("answer", "error.teaching.item_blanks");
                None
            } else if d.kind == "pinyin" {
                Some(Key::Pinyin {
                    accepted: ls
                        .iter()
                        .map(|l| {
                            l.split(['|', '｜'])
                                .map(str::trim)
                                .filter(|a| !a.is_empty())
                                .map(str::to_owned)
                                .collect()
                        })
                        .collect(),
                })
            } else {
                let parsed: Option<Vec<Blank>> = ls.iter().map(|l| blank(l)).collect();
                match parsed {
                    Some(blanks) => Some(Key::Blanks {
                        blanks,
                        any_order: !d.any_order.is_empty(),
                    }),
                    None => {
                        e.add("answer", "error.teaching.item_blank_line");
                        None
                    }
                }
            }
        }
        "matching" => {
            let pairs: Option<Vec<(String, String)>> = choices
                .iter()
                .map(|l| {
                    let (a, b) = l.split_once(['=', '＝'])?;
                    let (a, b) = (a.trim(), b.trim());
                    (!a.is_empty() && !b.is_empty()).then(|| (a.to_owned(), b.to_owned()))
                })
                .collect();
            match pairs {
                Some(p) if (2..=OPTIONS_MAX).contains(&p.len()) && !long => {
                    let order = shuffled(p.len());
                    options.left = p.iter().map(|x| x.0.clone()).collect();
                    options.right = order.iter().map(|i| p[*i].1.clone()).collect();
                    // Left entry i's partner is shown at the place where order holds i.
                    let key = (0..p.len())
                        .map(|i| order.iter().position(|o| *o == i).unwrap_or(0))
                        .collect();
                    Some(Key::Matching { pairs: key })
                }
                _ => {
                    e.add("choices", "error.teaching.item_pairs");
                    None
                }
            }
        }
        "ordering" => {
            if !(2..=OPTIONS_MAX).contains(&choices.len()) || long {
                e.add("choices", "error.teaching.item_choices");
                None
            } else {
                let order = shuffled(choices.len());
                options.choices = order.iter().map(|i| choices[*i].clone()).collect();
                // The right order, as indexes of the entries shown.
                let key = (0..choices.len())
                    .map(|i| order.iter().position(|o| *o == i).unwrap_or(0))
                    .collect();
                Some(Key::Ordering {
                    order: key,
                    partial: !d.any_order.is_empty(),
                })
            }
        }
        "short_answer" | "essay" | "dictation" | "writing" => {
            match rubric(&d.rubric, points(&d.points)) {
                Ok(r) => options.rubric = r,
                Err(k) => e.add("rubric", k),
            }
            Some(Key::Manual)
        }
        _ => {
            e.add("kind", "error.teaching.item_kind");
            None
        }
    };
    match key {
        Some(k) if e.is_empty() => Ok((options, k)),
        _ => Err(e),
    }
}

/// An answer as a form posts it: the fields `{prefix}choice` (option indexes), `{prefix}value`
/// (`true`/`false`), `{prefix}text` (one per blank, or the written answer), `{prefix}pair` and
/// `{prefix}order` (indexes, in order). `None` when a true/false item got no value.
pub fn answer_from(
    kind: &str,
    pairs: &[(String, String)],
    prefix: &str,
) -> Option<super::score::Answer> {
    use super::score::Answer;
    let all = |k: &str| {
        let name = format!("{prefix}{k}");
        pairs
            .iter()
            .filter(|(f, _)| *f == name)
            .map(|(_, v)| v.clone())
            .collect::<Vec<_>>()
    };
    Some(match kind {
        "single" | "multiple" => Answer::Choice {
            chosen: all("choice")
                .iter()
                .filter_map(|c| c.parse().ok())
                .collect(),
        },
        "true_false" => Answer::TrueFalse {
            value: all("value").first()? == "true",
        },
        "blanks" | "pinyin" => Answer::Texts { texts: all("text") },
        "matching" => Answer::Pairs {
            pairs: all("pair").iter().map(|p| p.parse().ok()).collect(),
        },
        "ordering" => Answer::Order {
            order: all("order").iter().filter_map(|p| p.parse().ok()).collect(),
        },
        _ => Answer::Written {
            text: all("text").join("\n"),
            photos: Vec::new(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::super::score::{Answer, mark};
    use super::*;

    fn draft(kind: &str, choices: &str, answer: &str) -> Draft {
        Draft {
            kind: kind.into(),
            stem: "题目 ____".into(),
            choices: choices.into(),
            answer: answer.into(),
            points: "2".into(),
            difficulty: "3".into(),
            ..Default::default()
        }
    }

    #[test]
    fn choices_take_letters_in_either_width() {
        let (o, k) = check(&draft("single", "甲\n乙\n丙", "Ｂ")).unwrap();
        assert_eq!(o.choices, ["甲", "乙", "丙"]);
        assert_eq!(k, Key::Single { correct: 1 });
        let mut d = draft("multiple", "甲\n乙\n丙\n丁", "d, a c");
        d.partial = "half_if_subset".into();
        let (_, k) = check(&d).unwrap();
        assert_eq!(
            k,
            Key::Multiple {
                correct: vec![0, 2, 3],
                partial: Partial::HalfIfSubset
            }
        );
        let e = check(&draft("single", "甲\n乙", "C")).unwrap_err();
        assert_eq!(e.get("answer"), Some("error.teaching.item_letters"));
        let e = check(&draft("multiple", "甲\n乙", "A")).unwrap_err();
        assert_eq!(e.get("answer"), Some("error.teaching.item_letters"));
        let e = check(&draft("single", "只有一个", "A")).unwrap_err();
        assert_eq!(e.get("choices"), Some("error.teaching.item_choices"));
    }

    #[test]
    fn blanks_take_alternatives_and_numbers() {
        let (_, k) = check(&draft("blanks", "", "北京|北京市")).unwrap();
        assert_eq!(
            k,
            Key::Blanks {
                blanks: vec![Blank {
                    accepted: vec!["北京".into(), "北京市".into()],
                    number: None,
                    tolerance: 0.0
                }],
                any_order: false
            }
        );
        let (_, k) = check(&draft("blanks", "", "=2.5±0.1")).unwrap();
        assert_eq!(
            mark(
                &k,
                2.0,
                &Answer::Texts {
                    texts: vec!["2.45".into()]
                }
            )
            .points,
            Some(2.0)
        );
        let e = check(&draft("blanks", "", "一\n二")).unwrap_err();
        assert_eq!(
            e.get("answer"),
            Some("error.teaching.item_blanks"),
            "one blank marked, two answers"
        );
        let e = check(&draft("blanks", "", "=abc")).unwrap_err();
        assert_eq!(e.get("answer"), Some("error.teaching.item_blank_line"));
        let (_, k) = check(&draft("pinyin", "", "mǎ|ma3")).unwrap();
        assert_eq!(
            mark(
                &k,
                1.0,
                &Answer::Texts {
                    texts: vec!["MA3".into()]
                }
            )
            .points,
            Some(1.0)
        );
    }

    #[test]
    fn matching_and_ordering_are_shown_shuffled_and_marked_right() {
        let (o, k) = check(&draft(
            "matching",
            "春 = 万物复苏\n夏 = 烈日炎炎\n秋 = 硕果累累",
            "",
        ))
        .unwrap();
        assert_eq!(o.left, ["春", "夏", "秋"]);
        assert_ne!(
            o.right,
            ["万物复苏", "烈日炎炎", "硕果累累"],
            "not in the written order"
        );
        let Key::Matching { pairs } = &k else {
            panic!("{k:?}")
        };
        for (i, want) in ["万物复苏", "烈日炎炎", "硕果累累"].iter().enumerate() {
            assert_eq!(o.right[pairs[i]], *want);
        }
        let right = Answer::Pairs {
            pairs: pairs.iter().map(|p| Some(*p)).collect(),
        };
        assert_eq!(mark(&k, 3.0, &right).points, Some(3.0));

        let (o, k) = check(&draft("ordering", "一\n二\n三\n四", "")).unwrap();
        assert_ne!(o.choices, ["一", "二", "三", "四"]);
        let Key::Ordering { order, .. } = &k else {
            panic!("{k:?}")
        };
        let shown: Vec<&str> = order.iter().map(|i| o.choices[*i].as_str()).collect();
        assert_eq!(
            shown,
            ["一", "二", "三", "四"],
            "the key puts the shown entries in order"
        );
        let e = check(&draft("matching", "春 万物复苏\n夏 = 烈日", "")).unwrap_err();
        assert_eq!(e.get("choices"), Some("error.teaching.item_pairs"));
    }

    #[test]
    fn every_field_is_checked() {
        let d = Draft {
            kind: "essay".into(),
            points: "0".into(),
            difficulty: "9".into(),
            ..Default::default()
        };
        let e = check(&d).unwrap_err();
        let names: Vec<&str> = e.0.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(names, ["stem", "points", "difficulty"]);
        let e = check(&draft("riddle", "", "")).unwrap_err();
        assert_eq!(e.get("kind"), Some("error.teaching.item_kind"));
        assert_eq!(points("2.5"), Some(250));
        assert_eq!(points("０.５"), Some(50));
        assert_eq!(points("101"), None);
        let (_, k) = check(&draft("true_false", "", "错")).unwrap();
        assert_eq!(k, Key::TrueFalse { correct: false });
        assert_eq!(blanks_in("（　）和 ____ 与 ___"), 3);
    }
}

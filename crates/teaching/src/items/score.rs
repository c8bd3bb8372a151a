//! Scoring: an item's key, a student's answer, and the points the answer earns. Every type that
//! can be marked by rule is marked here; the rest (short answer, essay, dictation and writing
//! on paper) wait for a teacher, who marks them with the item's rubric.

use super::normalise;
use serde::{Deserialize, Serialize};

/// How a multiple-choice answer that is not exactly right earns points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Partial {
    /// Exactly the right options, or nothing.
    #[default]
    AllOrNothing,
    /// Some of the right options and no wrong one: half the points (少选得一半分, 错选不得分).
    HalfIfSubset,
    /// Some of the right options and no wrong one: the share of the right options chosen (the
    /// new gaokao's rule: with three right options each one is a third of the points).
    Proportional,
    /// Each right option chosen earns its share, each wrong one takes a share away, never
    /// below zero.
    PerOption,
}

/// One blank of a fill-in-the-blank item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Blank {
    /// The accepted answers; compared after [`normalise::text`].
    #[serde(default)]
    pub accepted: Vec<String>,
    /// A number within a tolerance (absolute), as well as or instead of the texts.
    #[serde(default)]
    pub number: Option<f64>,
    #[serde(default)]
    pub tolerance: f64,
}

impl Blank {
    pub fn accepts(&self, answer: &str) -> bool {
        let a = normalise::text(answer);
        if a.is_empty() {
            return false;
        }
        if self.accepted.iter().any(|x| normalise::text(x) == a) {
            return true;
        }
        match (self.number, normalise::number(answer)) {
            (Some(want), Some(got)) => (got - want).abs() <= self.tolerance + 1e-9,
            _ => false,
        }
    }
}

/// What a right answer is, by item type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Key {
    /// 单选题: the index of the right option.
    Single { correct: usize },
    /// 多选题: the right options' indexes and the rule for a partly right answer.
    Multiple {
        correct: Vec<usize>,
        #[serde(default)]
        partial: Partial,
    },
    /// 判断题.
    TrueFalse { correct: bool },
    /// 填空题: the blanks in order; with `any_order` the answers may come in any order (the
    /// two factors of a product). Each blank earns its share.
    Blanks {
        blanks: Vec<Blank>,
        #[serde(default)]
        any_order: bool,
    },
    /// 连线题: for each left entry, the index of its right entry; each pair earns its share.
    Matching { pairs: Vec<usize> },
    /// 排序题: the right order of the entries' indexes; with `partial` each entry in its place
    /// earns its share.
    Ordering {
        order: Vec<usize>,
        #[serde(default)]
        partial: bool,
    },
    /// 注音题: the pinyin, typed with tone numbers or marks; any of `accepted` per blank.
    Pinyin { accepted: Vec<Vec<String>> },
    /// 简答题, 作文, 听写, 书写: marked by a teacher.
    Manual,
}

/// A student's answer to one item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Answer {
    /// The chosen options (one for a single choice).
    Choice {
        chosen: Vec<usize>,
    },
    TrueFalse {
        value: bool,
    },
    /// One text per blank (fill-in and pinyin).
    Texts {
        texts: Vec<String>,
    },
    /// For each left entry, the right entry chosen.
    Pairs {
        pairs: Vec<Option<usize>>,
    },
    Order {
        order: Vec<usize>,
    },
    /// Free text and photos of paper work (the photos' blob hashes).
    Written {
        #[serde(default)]
        text: String,
        #[serde(default)]
        photos: Vec<String>,
    },
}

/// What an answer earned: `None` points while it waits for a teacher.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Marked {
    pub points: Option<f64>,
    /// Fully right (for the item analysis' p-value and the mastery model).
    pub correct: bool,
}

impl Marked {
    fn share(max: f64, got: f64, of: f64) -> Self {
        let f = if of > 0.0 {
            (got / of).clamp(0.0, 1.0)
        } else {
            0.0
        };
        Self {
            points: Some(round(max * f)),
            correct: f >= 1.0 - 1e-9,
        }
    }
    fn all(max: f64, right: bool) -> Self {
        Self::share(max, f64::from(u8::from(right)), 1.0)
    }
    pub fn manual() -> Self {
        Self {
            points: None,
            correct: false,
        }
    }
}

/// Points to two decimals, as they are stored and shown.
pub fn round(p: f64) -> f64 {
    (p * 100.0).round() / 100.0
}

/// The points `answer` earns on an item of `max` points whose key is `key`. An answer of the
/// wrong shape earns nothing.
pub fn mark(key: &Key, max: f64, answer: &Answer) -> Marked {
    match (key, answer) {
        (Key::Manual, _) => Marked::manual(),
        (Key::Single { correct }, Answer::Choice { chosen }) => {
            Marked::all(max, chosen.as_slice() == [*correct])
        }
        (Key::Multiple { correct, partial }, Answer::Choice { chosen }) => {
            multiple(correct, *partial, max, chosen)
        }
        (Key::TrueFalse { correct }, Answer::TrueFalse { value }) => {
            Marked::all(max, value == correct)
        }
        (Key::Blanks { blanks, any_order }, Answer::Texts { texts }) => {
            let right = if *any_order {
                unordered(blanks, texts)
            } else {
                blanks
                    .iter()
                    .zip(texts)
                    .filter(|(b, t)| b.accepts(t))
                    .count()
            };
            Marked::share(max, right as f64, blanks.len() as f64)
        }
        (Key::Pinyin { accepted }, Answer::Texts { texts }) => {
            let right = accepted
                .iter()
                .zip(texts)
                .filter(|(ok, t)| {
                    let t = normalise::pinyin(t);
                    !t.is_empty() && ok.iter().any(|a| normalise::pinyin(a) == t)
                })
                .count();
            Marked::share(max, right as f64, accepted.len() as f64)
        }
        (Key::Matching { pairs }, Answer::Pairs { pairs: given }) => {
            let right = pairs
                .iter()
                .zip(given)
                .filter(|(want, got)| **got == Some(**want))
                .count();
            Marked::share(max, right as f64, pairs.len() as f64)
        }
        (Key::Ordering { order, partial }, Answer::Order { order: given }) => {
            if given == order {
                Marked::all(max, true)
            } else if *partial && given.len() == order.len() {
                let right = order.iter().zip(given).filter(|(a, b)| a == b).count();
                Marked::share(max, right as f64, order.len() as f64)
            } else {
                Marked::all(max, false)
            }
        }
        _ => Marked::all(max, false),
    }
}

fn multiple(correct: &[usize], partial: Partial, max: f64, chosen: &[usize]) -> Marked {
    let mut chosen: Vec<usize> = chosen.to_vec();
    chosen.sort_unstable();
    chosen.dedup();
    let right = chosen.iter().filter(|c| correct.contains(c)).count();
    let wrong = chosen.len() - right;
    let n = correct.len();
    if n == 0 || chosen.is_empty() {
        return Marked::all(max, false);
    }
    if right == n && wrong == 0 {
        return Marked::all(max, true);
    }
    let points = match partial {
        Partial::AllOrNothing => 0.0,
        Partial::HalfIfSubset if wrong == 0 => max / 2.0,
        Partial::Proportional if wrong == 0 => max * right as f64 / n as f64,
        Partial::PerOption => (max * (right as f64 - wrong as f64) / n as f64).max(0.0),
        _ => 0.0,
    };
    Marked {
        points: Some(round(points)),
        correct: false,
    }
}

/// The most blanks that can be matched to distinct answers (a small bipartite matching).
fn unordered(blanks: &[Blank], texts: &[String]) -> usize {
    fn augment(
        b: usize,
        ok: &[Vec<usize>],
        seen: &mut [bool],
        owner: &mut [Option<usize>],
    ) -> bool {
        for &t in &ok[b] {
            if !seen[t] {
                seen[t] = true;
                if owner[t].is_none_or(|o| augment(o, ok, seen, owner)) {
                    owner[t] = Some(b);
                    return true;
                }
            }
        }
        false
    }
    let ok: Vec<Vec<usize>> = blanks
        .iter()
        .map(|b| (0..texts.len()).filter(|t| b.accepts(&texts[*t])).collect())
        .collect();
    let mut owner = vec![None; texts.len()];
    (0..blanks.len())
        .filter(|b| augment(*b, &ok, &mut vec![false; texts.len()], &mut owner))
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn choice(c: &[usize]) -> Answer {
        Answer::Choice { chosen: c.to_vec() }
    }
    fn texts(t: &[&str]) -> Answer {
        Answer::Texts {
            texts: t.iter().map(|s| (*s).to_owned()).collect(),
        }
    }
    fn blank(accepted: &[&str]) -> Blank {
        Blank {
            accepted: accepted.iter().map(|s| (*s).to_owned()).collect(),
            number: None,
            tolerance: 0.0,
        }
    }

    #[test]
    fn single_choice_and_true_false() {
        let k = Key::Single { correct: 2 };
        assert_eq!(mark(&k, 3.0, &choice(&[2])).points, Some(3.0));
        assert!(mark(&k, 3.0, &choice(&[2])).correct);
        assert_eq!(mark(&k, 3.0, &choice(&[1])).points, Some(0.0));
        assert_eq!(mark(&k, 3.0, &choice(&[1, 2])).points, Some(0.0));
        assert_eq!(mark(&k, 3.0, &choice(&[])).points, Some(0.0));
        let tf = Key::TrueFalse { correct: false };
        assert_eq!(
            mark(&tf, 2.0, &Answer::TrueFalse { value: false }).points,
            Some(2.0)
        );
        assert_eq!(
            mark(&tf, 2.0, &Answer::TrueFalse { value: true }).points,
            Some(0.0)
        );
        // An answer of another shape earns nothing.
        assert_eq!(mark(&tf, 2.0, &choice(&[0])).points, Some(0.0));
    }

    #[test]
    fn multiple_choice_partial_credit_rules() {
        let key = |p| Key::Multiple {
            correct: vec![0, 2, 3],
            partial: p,
        };
        let cases: &[(Partial, &[usize], f64)] = &[
            (Partial::AllOrNothing, &[0, 2, 3], 6.0),
            (Partial::AllOrNothing, &[3, 0, 2, 2], 6.0),
            (Partial::AllOrNothing, &[0, 2], 0.0),
            (Partial::HalfIfSubset, &[0, 2], 3.0),
            (Partial::HalfIfSubset, &[0], 3.0),
            (Partial::HalfIfSubset, &[0, 1], 0.0),
            (Partial::Proportional, &[0], 2.0),
            (Partial::Proportional, &[0, 3], 4.0),
            (Partial::Proportional, &[0, 1, 3], 0.0),
            (Partial::PerOption, &[0, 3], 4.0),
            (Partial::PerOption, &[0, 1, 3], 2.0),
            (Partial::PerOption, &[1, 0], 0.0),
            (Partial::PerOption, &[1], 0.0),
            (Partial::PerOption, &[], 0.0),
        ];
        for (rule, chosen, want) in cases {
            let got = mark(&key(*rule), 6.0, &choice(chosen));
            assert_eq!(got.points, Some(*want), "{rule:?} {chosen:?}");
            assert_eq!(got.correct, *want == 6.0, "{rule:?} {chosen:?}");
        }
    }

    #[test]
    fn blanks_accept_alternatives_width_spacing_and_numbers() {
        let k = Key::Blanks {
            blanks: vec![
                blank(&["北京", "北京市"]),
                Blank {
                    accepted: vec![],
                    number: Some(2.5),
                    tolerance: 0.01,
                },
                blank(&["x=-1"]),
            ],
            any_order: false,
        };
        let full = mark(&k, 6.0, &texts(&["北京市", "2.505", "Ｘ ＝ －１"]));
        assert_eq!(full.points, Some(6.0));
        assert!(full.correct);
        let two = mark(&k, 6.0, &texts(&["北 京", "2.6", "x = -1"]));
        assert_eq!(two.points, Some(4.0));
        assert!(!two.correct);
        assert_eq!(mark(&k, 6.0, &texts(&["", "", ""])).points, Some(0.0));
        // Fewer answers than blanks: the missing ones are wrong.
        assert_eq!(mark(&k, 6.0, &texts(&["北京"])).points, Some(2.0));
    }

    #[test]
    fn blanks_in_any_order_are_matched_once_each() {
        let k = Key::Blanks {
            blanks: vec![blank(&["2", "3"]), blank(&["3"])],
            any_order: true,
        };
        assert_eq!(mark(&k, 4.0, &texts(&["3", "2"])).points, Some(4.0));
        assert_eq!(mark(&k, 4.0, &texts(&["2", "3"])).points, Some(4.0));
        // Each answer fills one blank.
        assert_eq!(mark(&k, 4.0, &texts(&["3", "3"])).points, Some(4.0));
        let distinct = Key::Blanks {
            blanks: vec![blank(&["2"]), blank(&["3"])],
            any_order: true,
        };
        // The same right answer twice counts once.
        assert_eq!(mark(&distinct, 4.0, &texts(&["3", "3"])).points, Some(2.0));
    }

    #[test]
    fn pinyin_blanks_take_numbers_or_marks() {
        let k = Key::Pinyin {
            accepted: vec![vec!["mǎ".into()], vec!["hǎo".into(), "hào".into()]],
        };
        assert_eq!(mark(&k, 2.0, &texts(&["ma3", "hao4"])).points, Some(2.0));
        assert_eq!(mark(&k, 2.0, &texts(&["MǍ", "hao1"])).points, Some(1.0));
        assert_eq!(mark(&k, 2.0, &texts(&["ma", ""])).points, Some(0.0));
    }

    #[test]
    fn matching_and_ordering() {
        let m = Key::Matching {
            pairs: vec![2, 0, 1],
        };
        let given = |p: &[Option<usize>]| Answer::Pairs { pairs: p.to_vec() };
        assert_eq!(
            mark(&m, 3.0, &given(&[Some(2), Some(0), Some(1)])).points,
            Some(3.0)
        );
        assert_eq!(
            mark(&m, 3.0, &given(&[Some(2), None, Some(0)])).points,
            Some(1.0)
        );
        let order = |o: &[usize]| Answer::Order { order: o.to_vec() };
        let strict = Key::Ordering {
            order: vec![1, 0, 2, 3],
            partial: false,
        };
        assert_eq!(mark(&strict, 4.0, &order(&[1, 0, 2, 3])).points, Some(4.0));
        assert_eq!(mark(&strict, 4.0, &order(&[1, 0, 3, 2])).points, Some(0.0));
        let partial = Key::Ordering {
            order: vec![1, 0, 2, 3],
            partial: true,
        };
        assert_eq!(mark(&partial, 4.0, &order(&[1, 0, 3, 2])).points, Some(2.0));
        assert_eq!(mark(&partial, 4.0, &order(&[1, 0])).points, Some(0.0));
    }

    #[test]
    fn manual_items_wait_for_a_teacher() {
        let w = Answer::Written {
            text: "春天来了。".into(),
            photos: vec![],
        };
        assert_eq!(mark(&Key::Manual, 10.0, &w), Marked::manual());
    }

    #[test]
    fn keys_and_answers_read_from_json() {
        let k: Key = serde_json::from_str(
            r#"{"type":"multiple","correct":[0,1],"partial":"half_if_subset"}"#,
        )
        .unwrap();
        let a: Answer = serde_json::from_str(r#"{"type":"choice","chosen":[0]}"#).unwrap();
        assert_eq!(mark(&k, 4.0, &a).points, Some(2.0));
        let b: Key =
            serde_json::from_str(r#"{"type":"blanks","blanks":[{"accepted":["a"]}]}"#).unwrap();
        assert_eq!(
            b,
            Key::Blanks {
                blanks: vec![blank(&["a"])],
                any_order: false
            }
        );
    }
}

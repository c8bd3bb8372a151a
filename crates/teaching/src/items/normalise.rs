//! How a typed answer is compared: fill-in-the-blank text (full- and half-width, spacing and
//! letter case do not matter), numbers (fractions, percentages, a tolerance), and pinyin typed
//! with tone numbers (`ma3`) or tone marks (`mǎ`, or a combining mark after the vowel).

/// Folds full-width forms to half-width (`ＡＢ１２，` → `AB12,`), drops every kind of space,
/// lowercases Latin letters and unifies the minus signs, so `Ｘ ＝ －１` and `x=-1` compare
/// equal. Chinese characters are kept as they are.
pub fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let c = fold_width(c);
        if c.is_whitespace() {
            continue;
        }
        match c {
            '\u{2212}' | '\u{2013}' | '\u{2014}' => out.push('-'),
            '\u{3002}' => out.push('.'),
            '\u{3001}' => out.push(','),
            _ => out.extend(c.to_lowercase()),
        }
    }
    out
}

/// The half-width form of a full-width ASCII character or the ideographic space.
fn fold_width(c: char) -> char {
    match c {
        '\u{3000}' => ' ',
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        _ => c,
    }
}

/// A number as a student types it: `3.14`, `-2`, `+5`, `1/2`, `-3/4`, `50%`, `1,000`, in
/// full- or half-width; `None` if it is not one.
pub fn number(s: &str) -> Option<f64> {
    let t = text(s);
    let t = t.replace(',', "");
    if let Some(p) = t.strip_suffix('%') {
        return decimal(p).map(|v| v / 100.0);
    }
    if let Some((a, b)) = t.split_once('/') {
        let (a, b) = (decimal(a)?, decimal(b)?);
        return (b != 0.0).then(|| a / b);
    }
    decimal(&t)
}

fn decimal(s: &str) -> Option<f64> {
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    let ok = !digits.is_empty()
        && digits.chars().all(|c| c.is_ascii_digit() || c == '.')
        && digits.chars().filter(|c| *c == '.').count() <= 1
        && digits != ".";
    ok.then(|| s.parse::<f64>().ok()).flatten()
}

/// The vowels that carry a tone mark, with their four marked forms.
const MARKED: [(char, [char; 4]); 6] = [
    ('a', ['ā', 'á', 'ǎ', 'à']),
    ('e', ['ē', 'é', 'ě', 'è']),
    ('i', ['ī', 'í', 'ǐ', 'ì']),
    ('o', ['ō', 'ó', 'ǒ', 'ò']),
    ('u', ['ū', 'ú', 'ǔ', 'ù']),
    ('ü', ['ǖ', 'ǘ', 'ǚ', 'ǜ']),
];

/// The combining marks of the four tones (macron, acute, caron, grave).
const COMBINING: [char; 4] = ['\u{0304}', '\u{0301}', '\u{030C}', '\u{0300}'];

fn is_vowel(c: char) -> bool {
    matches!(c, 'a' | 'e' | 'i' | 'o' | 'u' | 'ü')
}

/// Pinyin in one canonical spelling, whichever way it was typed: lowercase with tone marks
/// (`nǐ hǎo`, `ni3 hao3`, `ni3hao3` and `NǏHǍO` all give `nǐhǎo`); `v` and `u:` are `ü`;
/// spaces, apostrophes and the neutral tone's `5` or `0` are dropped. A tone number goes on
/// the vowel the spelling rules put the mark on: `a` or `e` if there is one, the `o` of `ou`,
/// else the last vowel.
pub fn pinyin(s: &str) -> String {
    // Letters first: width, case, ü spellings, marks split into (vowel, tone).
    let mut letters: Vec<(char, Option<u8>)> = Vec::new();
    let folded: String = s.chars().map(fold_width).collect::<String>().to_lowercase();
    let folded = folded.replace("u:", "ü").replace('v', "ü");
    for c in folded.chars() {
        if let Some(tone) = COMBINING.iter().position(|m| *m == c) {
            if let Some(last) = letters.last_mut()
                && is_vowel(last.0)
            {
                last.1 = Some(tone as u8 + 1);
            }
            continue;
        }
        if let Some((base, tone)) = MARKED
            .iter()
            .find_map(|(b, forms)| forms.iter().position(|f| *f == c).map(|t| (*b, t)))
        {
            letters.push((base, Some(tone as u8 + 1)));
        } else if c.is_ascii_digit() {
            // A tone number ends a syllable: put it on the syllable's marked vowel.
            let tone = c as u8 - b'0';
            let start = letters
                .iter()
                .rposition(|(c, t)| t.is_some() || *c == '|')
                .map_or(0, |i| i + 1);
            if (1..=4).contains(&tone) {
                let syllable = &letters[start..];
                if let Some(at) = tone_vowel(syllable) {
                    letters[start + at].1 = Some(tone);
                }
            }
            letters.push(('|', None));
        } else if c.is_alphabetic() {
            letters.push((c, None));
        } else {
            // A space or an apostrophe also ends a syllable.
            letters.push(('|', None));
        }
    }
    letters
        .into_iter()
        .filter(|(c, _)| *c != '|')
        .map(|(c, tone)| match tone {
            Some(t @ 1..=4) => MARKED
                .iter()
                .find(|(b, _)| *b == c)
                .map_or(c, |(_, forms)| forms[usize::from(t) - 1]),
            _ => c,
        })
        .collect()
}

/// Where the tone mark goes in one syllable (its letters), by the spelling rules.
fn tone_vowel(syllable: &[(char, Option<u8>)]) -> Option<usize> {
    let pos = |v: char| syllable.iter().position(|(c, _)| *c == v);
    if let Some(i) = pos('a').or_else(|| pos('e')) {
        return Some(i);
    }
    if let Some(i) = syllable
        .windows(2)
        .position(|w| w[0].0 == 'o' && w[1].0 == 'u')
    {
        return Some(i);
    }
    syllable.iter().rposition(|(c, _)| is_vowel(*c))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn width_spacing_and_case_do_not_matter() {
        assert_eq!(text("Ｘ ＝ －１"), text("x=-1"));
        assert_eq!(text("ＡＢＣ"), "abc");
        assert_eq!(text("  北\u{3000}京 "), "北京");
        assert_eq!(text("（１，２）"), "(1,2)");
        assert_eq!(text("3\u{2212}2"), "3-2");
        assert_ne!(text("北京"), text("南京"));
    }

    #[test]
    fn numbers_are_read_as_students_type_them() {
        assert_eq!(number("2.71"), Some(2.71));
        assert_eq!(number("－２"), Some(-2.0));
        assert_eq!(number("+5"), Some(5.0));
        assert_eq!(number("1/2"), Some(0.5));
        assert_eq!(number("-3/4"), Some(-0.75));
        assert_eq!(number("５０％"), Some(0.5));
        assert_eq!(number("1,000"), Some(1000.0));
        assert_eq!(number(" 0.5 "), Some(0.5));
        for bad in ["", ".", "1/0", "abc", "1.2.3", "--1", "1e5", "二"] {
            assert_eq!(number(bad), None, "{bad}");
        }
    }

    #[test]
    fn pinyin_typed_with_numbers_or_marks_is_the_same() {
        assert_eq!(pinyin("mǎ"), "mǎ");
        assert_eq!(pinyin("ma3"), "mǎ");
        assert_eq!(pinyin("nǐ hǎo"), pinyin("ni3 hao3"));
        assert_eq!(pinyin("nǐhǎo"), pinyin("ni3hao3"));
        assert_eq!(pinyin("NǏ HǍO"), "nǐhǎo");
        assert_eq!(pinyin("lv4"), pinyin("lǜ"));
        assert_eq!(pinyin("lu:4"), "lǜ");
        assert_eq!(pinyin("xiǎo"), pinyin("xiao3"));
        assert_eq!(pinyin("duō"), pinyin("duo1"));
        assert_eq!(pinyin("gǒu"), pinyin("gou3"));
        assert_eq!(pinyin("guì"), pinyin("gui4"));
        assert_eq!(pinyin("liú"), pinyin("liu2"));
        assert_eq!(pinyin("xī'ān"), pinyin("xi1 an1"));
        assert_ne!(pinyin("xi'ān"), pinyin("xi1 an1"));
        assert_eq!(pinyin("ma5"), "ma");
        assert_eq!(pinyin("ma0"), pinyin("ma"));
        // The combining caron after the vowel (decomposed input).
        assert_eq!(pinyin("ma\u{030C}"), "mǎ");
        assert_ne!(pinyin("ma3"), pinyin("ma4"));
        assert_ne!(pinyin("mǎ"), pinyin("ma"));
    }

    /// A syllable and its tone, as the generator makes them.
    fn syllable() -> impl Strategy<Value = (String, u8)> {
        let finals = [
            "a", "o", "e", "ai", "ei", "ao", "ou", "an", "en", "ang", "eng", "ong", "i", "ia",
            "ie", "iao", "iu", "ian", "in", "iang", "ing", "u", "ua", "uo", "ui", "uai", "uan",
            "un", "ü", "üe",
        ];
        let initials = [
            "", "b", "p", "m", "f", "d", "t", "n", "l", "g", "k", "h", "zh", "sh", "x",
        ];
        (
            prop::sample::select(initials.to_vec()),
            prop::sample::select(finals.to_vec()),
            0u8..=4,
        )
            .prop_map(|(i, f, t)| (format!("{i}{f}"), t))
    }

    proptest! {
        /// Numbered and marked spellings of any syllables normalise alike, whatever the spacing.
        #[test]
        fn numbered_and_marked_spellings_agree(
            syllables in prop::collection::vec(syllable(), 1..5),
            spaced in any::<bool>(),
        ) {
            let sep = if spaced { " " } else { "" };
            let numbered: Vec<String> = syllables
                .iter()
                .map(|(s, t)| if *t == 0 { format!("{s}5") } else { format!("{s}{t}") })
                .collect();
            let canon = pinyin(&numbered.join(" "));
            let with_marks: Vec<String> = numbered.iter().map(|n| pinyin(n)).collect();
            prop_assert_eq!(pinyin(&with_marks.join(sep)), canon.clone());
            prop_assert_eq!(pinyin(&numbered.join(sep).to_uppercase().replace('Ü', "V")), canon.clone());
            // Idempotent: the canonical form is its own canonical form.
            prop_assert_eq!(pinyin(&canon), canon.clone());
        }

        /// A tone changed anywhere is a different answer.
        #[test]
        fn a_different_tone_is_a_different_answer(s in syllable(), other in 1u8..=4) {
            let (s, t) = s;
            prop_assume!(t != other && t != 0);
            prop_assert_ne!(pinyin(&format!("{s}{t}")), pinyin(&format!("{s}{other}")));
        }

        /// Full-width forms and added spaces never change a blank's normal form.
        #[test]
        fn width_and_spacing_never_matter(s in "[a-zA-Z0-9=+(),.北京]{0,12}", spaces in prop::collection::vec(0usize..13, 0..4)) {
            let wide: String = s.chars().map(|c| if c.is_ascii_graphic() {
                char::from_u32(c as u32 + 0xFEE0).unwrap_or(c)
            } else { c }).collect();
            let mut spaced: Vec<char> = s.chars().collect();
            for at in spaces {
                spaced.insert(at.min(spaced.len()), if at % 2 == 0 { ' ' } else { '\u{3000}' });
            }
            let spaced: String = spaced.into_iter().collect();
            prop_assert_eq!(text(&wide), text(&s));
            prop_assert_eq!(text(&spaced), text(&s));
            prop_assert_eq!(text(&text(&s)), text(&s));
        }

        /// A number survives being written as a fraction or a percentage.
        #[test]
        fn numbers_in_any_form(n in -1000i64..1000, d in 1i64..50) {
            let v = n as f64 / d as f64;
            let frac = number(&format!("{n}/{d}")).unwrap_or(f64::NAN);
            prop_assert!((frac - v).abs() < 1e-9);
            let pct = number(&format!("{}%", n)).unwrap_or(f64::NAN);
            prop_assert!((pct - n as f64 / 100.0).abs() < 1e-9);
        }
    }
}

//! The tokenizer of every text field: jieba's precise mode (whole dictionary words, no HMM
//! guessing), Latin text lower-cased, punctuation, whitespace and a few function words dropped,
//! byte offsets into the original text kept for snippets.
//!
//! Index and query go through the same function, so a word is found only as the whole word
//! jieba cuts: a query for 分数 does not match 分数线 (one dictionary word). There is no
//! search-mode sub-field: jieba's search mode would also emit 分数 for 分数线, which is exactly
//! the substring accident the library must not make. Words missing from jieba's dictionary
//! (微课, 导学案, …) are added in [`EXTRA_WORDS`]; changing that list changes how text is cut, so
//! it needs `jiaoyun index rebuild`.

use jieba_rs::Jieba;
use std::sync::OnceLock;
use tantivy::tokenizer::{Token, TokenStream, Tokenizer};

/// The name the tokenizer is registered under in every index.
pub const NAME: &str = "jieba";

/// Words of teaching that jieba's dictionary lacks (with a frequency high enough to win).
const EXTRA_WORDS: &[&str] = &[
    "微课",
    "导学案",
    "说课",
    "学案",
    "部编版",
    "人教版",
    "北师大版",
    "苏教版",
    "外研版",
    "译林版",
];

/// Function words too common to help a search.
const STOP_WORDS: &[&str] = &[
    "的", "了", "和", "与", "及", "之", "在", "是", "也", "或", "把", "被", "等", "a", "an", "the",
    "of", "and", "or", "to", "in", "on", "for", "is", "are",
];

/// Longer tokens are dropped (a run of digits or a URL helps nobody find a lesson plan).
const MAX_TOKEN_BYTES: usize = 64;

/// The process's one segmenter: the dictionary is loaded on first use (about 100 ms).
pub fn jieba() -> &'static Jieba {
    static JIEBA: OnceLock<Jieba> = OnceLock::new();
    JIEBA.get_or_init(|| {
        let mut j = Jieba::new();
        for w in EXTRA_WORDS {
            j.add_word(w, Some(5_000), None);
        }
        j
    })
}

/// The words of `text` as the index holds them: lower-cased, without punctuation and stop words.
pub fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut stream = JiebaTokenizer.token_stream(text);
    while stream.advance() {
        out.push(stream.token().text.clone());
    }
    out
}

#[derive(Clone, Copy, Debug, Default)]
pub struct JiebaTokenizer;

pub struct JiebaStream {
    tokens: Vec<Token>,
    /// 1 + the index of the current token (0: before the first).
    next: usize,
    /// What `token` answers before the first token or for an empty text.
    none: Token,
}

impl Tokenizer for JiebaTokenizer {
    type TokenStream<'a> = JiebaStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> JiebaStream {
        let mut tokens = Vec::new();
        for t in jieba().cut(text, false) {
            if t.word.len() > MAX_TOKEN_BYTES || !t.word.chars().any(char::is_alphanumeric) {
                continue;
            }
            let word = t.word.trim();
            let lower = if word.is_ascii() {
                word.to_ascii_lowercase()
            } else {
                word.to_lowercase()
            };
            if STOP_WORDS.contains(&lower.as_str()) {
                continue;
            }
            // jieba keeps leading or trailing spaces out of words, but be exact about offsets.
            let lead = t.word.len() - t.word.trim_start().len();
            tokens.push(Token {
                offset_from: t.byte_start + lead,
                offset_to: t.byte_start + lead + word.len(),
                position: tokens.len(),
                text: lower,
                position_length: 1,
            });
        }
        JiebaStream {
            tokens,
            next: 0,
            none: Token::default(),
        }
    }
}

impl TokenStream for JiebaStream {
    fn advance(&mut self) -> bool {
        if self.next < self.tokens.len() {
            self.next += 1;
            true
        } else {
            false
        }
    }

    fn token(&self) -> &Token {
        match self.next.checked_sub(1) {
            Some(i) => self.tokens.get(i).unwrap_or(&self.none),
            None => &self.none,
        }
    }

    fn token_mut(&mut self) -> &mut Token {
        match self.next.checked_sub(1) {
            Some(i) if i < self.tokens.len() => &mut self.tokens[i],
            _ => &mut self.none,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(text: &str) -> Vec<(String, usize, usize)> {
        let mut s = JiebaTokenizer.token_stream(text);
        let mut out = Vec::new();
        while s.advance() {
            let t = s.token();
            out.push((t.text.clone(), t.offset_from, t.offset_to));
        }
        out
    }

    #[test]
    fn chinese_words_are_whole_words() {
        assert_eq!(words("《勾股定理》教学设计"), ["勾股定理", "教学", "设计"]);
        assert_eq!(words("分数线"), ["分数线"]);
        assert_eq!(words("分数的加法"), ["分数", "加法"]);
        assert!(!words("高考分数线公布").contains(&"分数".to_owned()));
    }

    #[test]
    fn latin_text_is_lower_cased_and_punctuation_dropped() {
        assert_eq!(
            words("Unit 3: The Pythagorean theorem!"),
            ["unit", "3", "pythagorean", "theorem"]
        );
        assert!(words("，。！？ 、；").is_empty());
    }

    #[test]
    fn offsets_point_into_the_original_text() {
        let text = "第一课 Unit 3《勾股定理》";
        for (word, from, to) in tokens(text) {
            assert_eq!(text[from..to].to_lowercase(), word);
        }
        assert_eq!(words(text), ["第一课", "unit", "3", "勾股定理"]);
    }
}

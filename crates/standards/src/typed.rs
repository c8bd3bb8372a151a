//! Values as schools type them into spreadsheets, made uniform before they are checked:
//! full-width digits and letters (１２３, ＡＢ) and the ideographic space, stray spaces, and the
//! many ways of writing a date (2013-09-01, 2013/9/1, 2013.9.1, 20130901, 2013年9月1日, an Excel
//! serial such as 41518) or a year and month (2013.09, 2013-9, 201309, 2013年9月).

use crate::validate::normalize_code;
use chrono::{Datelike, Duration, NaiveDate};

/// Full-width ASCII forms and the ideographic space turned into plain ASCII.
pub(crate) fn half_width(c: char) -> char {
    match u32::from(c) {
        0x3000 => ' ',
        n @ 0xFF01..=0xFF5E => char::from_u32(n - 0xFEE0).unwrap_or(c),
        _ => c,
    }
}

/// Full-width digits and Latin letters, and the ideographic space, made plain; Chinese
/// punctuation such as （） stays as written.
fn half_width_alnum(c: char) -> char {
    match u32::from(c) {
        0xFF10..=0xFF19 | 0xFF21..=0xFF3A | 0xFF41..=0xFF5A | 0x3000 => half_width(c),
        _ => c,
    }
}

/// Text cleaned for storing: half-width digits and letters, no leading or trailing spaces, runs
/// of whitespace made one space, and no spaces between Chinese characters ("张 三" is 张三).
pub fn text(s: &str) -> String {
    let s: String = s.chars().map(half_width_alnum).collect();
    let words: Vec<&str> = s.split_whitespace().collect();
    let mut out = String::with_capacity(s.len());
    for (i, w) in words.iter().enumerate() {
        if i > 0 {
            let prev = out.chars().last().unwrap_or(' ');
            let next = w.chars().next().unwrap_or(' ');
            if !(is_han(prev) && is_han(next)) {
                out.push(' ');
            }
        }
        out.push_str(w);
    }
    out
}

fn is_han(c: char) -> bool {
    matches!(u32::from(c), 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF)
}

/// Why a date was not understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DateError {
    /// Not a form of date this platform reads.
    Unreadable,
    /// A form it reads, but no such day (2013-02-30).
    NoSuchDay,
}

impl DateError {
    /// The message key.
    pub fn key(&self) -> &'static str {
        match self {
            Self::Unreadable => "error.date_unreadable",
            Self::NoSuchDay => "error.date_no_such_day",
        }
    }
}

/// Excel's day 0 (its 1900 date system, with the 1900-02-29 that never was already behind
/// every date a school file holds).
fn excel_epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(1899, 12, 30).unwrap_or_default()
}

/// The date of an Excel serial number (the fraction, a time of day, is dropped).
pub fn from_excel_serial(serial: f64) -> Result<NaiveDate, DateError> {
    // 1900-03-01 .. 9999-12-31
    if !(61.0..2_958_466.0).contains(&serial) {
        return Err(DateError::Unreadable);
    }
    Ok(excel_epoch() + Duration::days(serial.floor() as i64))
}

/// The Excel serial number of a date.
pub fn to_excel_serial(d: NaiveDate) -> i64 {
    (d - excel_epoch()).num_days()
}

/// Splits "2013-9-1", "2013/09/01", "2013.9.1", "2013年9月1日" into numbers.
fn parts(s: &str) -> Option<Vec<u32>> {
    let nums: Vec<&str> = s
        .split(['-', '/', '.', '年', '月', '日'])
        .filter(|p| !p.is_empty())
        .collect();
    if nums.is_empty() || nums.iter().any(|p| !p.bytes().all(|b| b.is_ascii_digit())) {
        return None;
    }
    nums.iter().map(|p| p.parse().ok()).collect()
}

/// A date in any of the forms schools type. A five-digit number is an Excel serial (what a
/// date cell becomes when a sheet is saved as CSV).
pub fn date(s: &str) -> Result<NaiveDate, DateError> {
    let s = normalize_code(s);
    let ymd = |y: u32, m: u32, d: u32| {
        if !(1..=12).contains(&m) || !(1..=31).contains(&d) || !(1900..=2100).contains(&y) {
            return Err(DateError::Unreadable);
        }
        NaiveDate::from_ymd_opt(y as i32, m, d).ok_or(DateError::NoSuchDay)
    };
    if s.len() == 8 && s.bytes().all(|b| b.is_ascii_digit()) {
        let n: u32 = s.parse().map_err(|_| DateError::Unreadable)?;
        return ymd(n / 10000, n / 100 % 100, n % 100);
    }
    if (4..=5).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit()) {
        let n: f64 = s.parse().map_err(|_| DateError::Unreadable)?;
        return from_excel_serial(n);
    }
    match parts(&s).as_deref() {
        Some([y, m, d]) => ymd(*y, *m, *d),
        _ => Err(DateError::Unreadable),
    }
}

/// A year and month (entry date 入学年月 and the like): "2013.09", "2013-9", "201309",
/// "2013年9月", or a whole date (its day is dropped). Returned as the first of the month.
pub fn year_month(s: &str) -> Result<NaiveDate, DateError> {
    let t = normalize_code(s);
    let ym = |y: u32, m: u32| {
        if !(1..=12).contains(&m) || !(1900..=2100).contains(&y) {
            return Err(DateError::Unreadable);
        }
        NaiveDate::from_ymd_opt(y as i32, m, 1).ok_or(DateError::NoSuchDay)
    };
    if t.len() == 6 && t.bytes().all(|b| b.is_ascii_digit()) {
        let n: u32 = t.parse().map_err(|_| DateError::Unreadable)?;
        return ym(n / 100, n % 100);
    }
    match parts(&t).as_deref() {
        Some([y, m]) => ym(*y, *m),
        _ => date(s).map(|d| d.with_day(1).unwrap_or(d)),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    fn full_width(s: &str) -> String {
        s.chars()
            .map(|c| match c {
                '!'..='~' => char::from_u32(u32::from(c) + 0xFEE0).unwrap_or(c),
                ' ' => '\u{3000}',
                _ => c,
            })
            .collect()
    }

    #[test]
    fn typed_text_is_made_uniform() {
        assert_eq!(text("  张 三 "), "张三");
        assert_eq!(text("阿卜杜拉·买买提"), "阿卜杜拉·买买提");
        assert_eq!(text("Li\u{3000}Ming"), "Li Ming");
        assert_eq!(text("一年级（１）班"), "一年级（1）班");
    }

    #[test]
    fn dates_in_the_forms_schools_type() {
        let d = NaiveDate::from_ymd_opt(2013, 9, 1).unwrap();
        for s in [
            "2013-09-01",
            "2013/9/1",
            "2013.9.1",
            "20130901",
            "2013年9月1日",
            "41518",
            "２０１３－０９－０１",
            " 2013-09-01 ",
        ] {
            assert_eq!(date(s), Ok(d), "{s}");
        }
        assert_eq!(date("2013-02-30"), Err(DateError::NoSuchDay));
        assert_eq!(date("2013-13-01"), Err(DateError::Unreadable));
        assert_eq!(date("九月一日"), Err(DateError::Unreadable));
        assert_eq!(date(""), Err(DateError::Unreadable));
        let m = NaiveDate::from_ymd_opt(2013, 9, 1).unwrap();
        for s in [
            "2013.09",
            "2013-9",
            "201309",
            "2013年9月",
            "2013-09-15",
            "41518",
        ] {
            assert_eq!(year_month(s), Ok(m), "{s}");
        }
        assert_eq!(year_month("2013.13"), Err(DateError::Unreadable));
    }

    proptest! {
        /// Every date from 1950 to 2049, written in any of the forms (half- or full-width),
        /// reads back as itself; so does its Excel serial.
        #[test]
        fn every_form_of_a_date_reads_back(days in 0i64..36_500, form in 0usize..6, wide in any::<bool>()) {
            let d = NaiveDate::from_ymd_opt(1950, 1, 1).unwrap() + Duration::days(days);
            let (y, m, dd) = (d.year(), d.month(), d.day());
            let s = match form {
                0 => format!("{y}-{m:02}-{dd:02}"),
                1 => format!("{y}/{m}/{dd}"),
                2 => format!("{y}.{m}.{dd}"),
                3 => format!("{y}{m:02}{dd:02}"),
                4 => format!("{y}年{m}月{dd}日"),
                _ => to_excel_serial(d).to_string(),
            };
            let s = if wide { full_width(&s) } else { s };
            prop_assert_eq!(date(&s), Ok(d));
            prop_assert_eq!(from_excel_serial(to_excel_serial(d) as f64 + 0.75), Ok(d));
            prop_assert_eq!(year_month(&s), Ok(d.with_day(1).unwrap()));
        }

        /// Cleaning is idempotent and leaves no full-width ASCII or double spaces.
        #[test]
        fn cleaning_is_idempotent(s in "[ \u{3000}a-zA-Z0-9\u{ff10}-\u{ff19}\u{4e00}-\u{4e20}]{0,30}") {
            let once = text(&s);
            prop_assert_eq!(text(&once), once.clone());
            prop_assert!(!once.contains("  ") && !once.starts_with(' ') && !once.ends_with(' '));
            let wide = once.chars().any(|c| ('\u{ff10}'..='\u{ff19}').contains(&c) || c == '\u{3000}');
            prop_assert!(!wide, "full-width left in {:?}", once);
        }
    }
}

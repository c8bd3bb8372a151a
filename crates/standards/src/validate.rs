//! Validators for the identifiers and fields the base data stores. Each returns the i18n key of
//! its message on failure, so forms and the API can say what was wrong in the user's language.

use crate::divisions;

type Check = Result<(), &'static str>;

/// Trims, folds full-width ASCII (as typed with a Chinese IME) to half-width, and drops
/// spaces inside identifiers.
pub fn normalize_code(s: &str) -> String {
    s.chars()
        .map(crate::typed::half_width)
        .filter(|c| !c.is_whitespace())
        .collect()
}

pub fn name(s: &str, max: usize) -> Check {
    let n = s.trim().chars().count();
    if n == 0 {
        Err("error.required")
    } else if n > max {
        Err("error.too_long")
    } else {
        Ok(())
    }
}

/// GB 11643 check character for the first 17 digits.
pub fn gb11643_check_char(first17: &[u8]) -> Option<u8> {
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    if first17.len() != 17 {
        return None;
    }
    let mut sum = 0u32;
    for (b, w) in first17.iter().zip(W) {
        if !b.is_ascii_digit() {
            return None;
        }
        sum += u32::from(b - b'0') * w;
    }
    b"10X98765432".get((sum % 11) as usize).copied()
}

/// An 18-character resident ID number with a valid check character and birth date.
/// A valid resident ID number (GB 11643): division, birth date, sequence (odd male, even
/// female), check character. For demo data, samples and tests.
pub fn resident_id(division: &str, birth: chrono::NaiveDate, seq: u32, male: bool) -> String {
    let seq = (seq % 499) * 2 + u32::from(male);
    let first17 = format!("{division}{}{seq:03}", birth.format("%Y%m%d"));
    let check = gb11643_check_char(first17.as_bytes())
        .map(char::from)
        .unwrap_or('0');
    format!("{first17}{check}")
}

pub fn id_number(s: &str) -> Check {
    let b = s.as_bytes();
    if b.len() != 18
        || !b[..17].iter().all(u8::is_ascii_digit)
        || !(b[17].is_ascii_digit() || b[17] == b'X')
    {
        return Err("error.id_number_format");
    }
    if gb11643_check_char(&b[..17]) != Some(b[17]) {
        return Err("error.id_number_check");
    }
    let date = std::str::from_utf8(&b[6..14])
        .ok()
        .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y%m%d").ok());
    match date {
        Some(d) if d.year_ce().1 >= 1900 && d <= chrono::Utc::now().date_naive() => Ok(()),
        _ => Err("error.id_number_birth_date"),
    }
}

use chrono::Datelike;

/// What a (valid) resident ID number says about its holder: the birth date and the GB/T
/// 2261.1 gender code (`1` male, `2` female, from the parity of the 17th digit).
pub fn id_number_facts(s: &str) -> Option<(chrono::NaiveDate, &'static str)> {
    id_number(s).ok()?;
    let b = s.as_bytes();
    let birth = chrono::NaiveDate::parse_from_str(std::str::from_utf8(&b[6..14]).ok()?, "%Y%m%d");
    let gender = if (b[16] - b'0') % 2 == 1 { "1" } else { "2" };
    Some((birth.ok()?, gender))
}

/// Checks a row's birth date and gender against its ID number: the message keys of what
/// disagrees (nothing if the ID number is not a valid resident ID, which is reported apart).
pub fn id_number_agrees(
    id: &str,
    birth: Option<chrono::NaiveDate>,
    gender: Option<&str>,
) -> Vec<&'static str> {
    let Some((b, g)) = id_number_facts(id) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if birth.is_some_and(|x| x != b) {
        out.push("error.id_number_birth_mismatch");
    }
    if gender.is_some_and(|x| matches!(x, "1" | "2") && x != g) {
        out.push("error.id_number_gender_mismatch");
    }
    out
}

/// A mainland mobile number.
pub fn mobile(s: &str) -> Check {
    let b = s.as_bytes();
    if b.len() == 11
        && b[0] == b'1'
        && (b'3'..=b'9').contains(&b[1])
        && b.iter().all(u8::is_ascii_digit)
    {
        Ok(())
    } else {
        Err("error.phone_format")
    }
}

pub fn email(s: &str) -> Check {
    match s.split_once('@') {
        Some((local, domain))
            if !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && s.len() <= 60 =>
        {
            Ok(())
        }
        _ => Err("error.email_format"),
    }
}

/// 学籍号: G + ID number (checked), J + 17 digits + check, or L + 18 digits.
pub fn registry_no(s: &str) -> Check {
    let b = s.as_bytes();
    match b.first() {
        Some(b'G') if b.len() == 19 => id_number(&s[1..]).map_err(|_| "error.registry_no_check"),
        Some(b'J')
            if b.len() == 19
                && b[1..18].iter().all(u8::is_ascii_digit)
                && (b[18].is_ascii_digit() || b[18] == b'X') =>
        {
            Ok(())
        }
        Some(b'L') if b.len() == 19 && b[1..].iter().all(u8::is_ascii_digit) => Ok(()),
        _ => Err("error.registry_no_format"),
    }
}

/// 工号: school-assigned, up to 20 letters, digits and dashes.
pub fn staff_no(s: &str) -> Check {
    if s.is_empty() || s.len() > 20 || !s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        Err("error.staff_no_format")
    } else {
        Ok(())
    }
}

pub fn username(s: &str) -> Check {
    let n = s.chars().count();
    if !(3..=32).contains(&n)
        || !s
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_.-".contains(c))
    {
        Err("error.username_format")
    } else {
        Ok(())
    }
}

/// 学校标识码: category (2) + province (2) + sequence (6); the province must be the school's.
pub fn school_code(s: &str, province_prefix: Option<&str>) -> Check {
    let b = s.as_bytes();
    if b.len() != 10 || !b.iter().all(u8::is_ascii_digit) {
        return Err("error.school_code_format");
    }
    let category = &s[..2];
    let known_category = matches!(
        category,
        "11" | "21"
            | "22"
            | "31"
            | "32"
            | "33"
            | "34"
            | "35"
            | "36"
            | "37"
            | "41"
            | "42"
            | "51"
            | "91"
            | "92"
            | "93"
    );
    if !known_category {
        return Err("error.school_code_category");
    }
    if !divisions::is_province_prefix(&s[2..4]) {
        return Err("error.school_code_province");
    }
    if let Some(p) = province_prefix
        && &s[2..4] != p
    {
        return Err("error.school_code_province_mismatch");
    }
    Ok(())
}

/// A known GB/T 2260 code of the given level.
pub fn division_code(s: &str, level: crate::kinds::NodeKind) -> Check {
    if s.len() != 6 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err("error.division_code_format");
    }
    match divisions::level_of(s) {
        None => Err("error.division_code_unknown"),
        Some(l) if l == level => Ok(()),
        Some(_) => Err("error.division_code_level"),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    proptest! {
        /// Any ID number made from a birth date and a sequence number gives them back, agrees
        /// with them, and disagrees with any other date or the other gender.
        #[test]
        fn id_numbers_tell_birth_date_and_gender(days in 0i64..40_000, seq in 0u32..499, male in any::<bool>(), off in 1i64..400) {
            let birth = chrono::NaiveDate::from_ymd_opt(1920, 1, 1).unwrap() + chrono::Duration::days(days);
            prop_assume!(birth <= chrono::Utc::now().date_naive());
            let id = crate::validate::resident_id("330102", birth, seq, male);
            let g = if male { "1" } else { "2" };
            prop_assert_eq!(super::id_number_facts(&id), Some((birth, g)));
            prop_assert!(super::id_number_agrees(&id, Some(birth), Some(g)).is_empty());
            let other = if male { "2" } else { "1" };
            prop_assert_eq!(
                super::id_number_agrees(&id, Some(birth - chrono::Duration::days(off)), Some(other)),
                vec!["error.id_number_birth_mismatch", "error.id_number_gender_mismatch"]
            );
            // One changed digit breaks the check character.
            let mut b = id.clone().into_bytes();
            b[10] = if b[10] == b'9' { b'0' } else { b[10] + 1 };
            let broken = String::from_utf8(b).unwrap();
            prop_assert_eq!(super::id_number(&broken), Err("error.id_number_check"));
        }
    }

    use super::*;
    use crate::kinds::NodeKind;

    #[test]
    fn id_numbers() {
        assert_eq!(id_number("11010519491231002X"), Ok(()));
        assert_eq!(
            id_number("440524188001010014"),
            Err("error.id_number_birth_date")
        );
        assert_eq!(
            id_number("110105194912310021"),
            Err("error.id_number_check")
        );
        assert_eq!(
            id_number("11010519491231002"),
            Err("error.id_number_format")
        );
    }

    #[test]
    fn registry_numbers() {
        assert_eq!(registry_no("G11010519491231002X"), Ok(()));
        assert_eq!(
            registry_no("G110105194912310021"),
            Err("error.registry_no_check")
        );
        assert_eq!(registry_no("L330102201309011234"), Ok(()));
        assert_eq!(
            registry_no("X330102201309011234"),
            Err("error.registry_no_format")
        );
    }

    #[test]
    fn school_codes_and_divisions() {
        assert_eq!(school_code("2133001234", Some("33")), Ok(()));
        assert_eq!(
            school_code("2133001234", Some("11")),
            Err("error.school_code_province_mismatch")
        );
        assert_eq!(
            school_code("2199001234", None),
            Err("error.school_code_province")
        );
        assert_eq!(
            school_code("8833001234", None),
            Err("error.school_code_category")
        );
        assert_eq!(division_code("330102", NodeKind::District), Ok(()));
        assert_eq!(division_code("330100", NodeKind::City), Ok(()));
        assert_eq!(
            division_code("330100", NodeKind::District),
            Err("error.division_code_level")
        );
        assert_eq!(
            division_code("339999", NodeKind::District),
            Err("error.division_code_unknown")
        );
    }

    #[test]
    fn phones_and_normalisation() {
        assert_eq!(mobile("13812345678"), Ok(()));
        assert_eq!(mobile("12812345678"), Err("error.phone_format"));
        assert_eq!(normalize_code(" １３８ 1234 5678 "), "13812345678");
        assert_eq!(email("a@b.cn"), Ok(()));
        assert_eq!(email("a@b"), Err("error.email_format"));
    }
}

//! How guessable a new password is, for both policy profiles: the passwords attackers try first
//! (the bundled list of global and Chinese favourites, with variations), the person's own data
//! (account name, the pinyin of their name, the birth date in their ID number, their phone), and
//! Dropbox's zxcvbn estimator, whose dictionaries hold the 30,000 most common passwords and which
//! also sees keyboard walks, dates, repeats and sequences.

use std::collections::HashSet;
use std::sync::OnceLock;

/// What is known about the person setting the password.
#[derive(Debug, Clone, Copy, Default)]
pub struct About<'a> {
    pub username: &'a str,
    pub name: Option<&'a str>,
    pub id_number: Option<&'a str>,
    pub phone: Option<&'a str>,
}

impl<'a> About<'a> {
    pub fn account(username: &'a str) -> Self {
        Self {
            username,
            ..Self::default()
        }
    }
}

/// zxcvbn's scores run 0 to 4; 3 is "safely unguessable: moderate protection from an offline
/// attack on a slow hash", which Argon2id is.
const MIN_SCORE: u8 = 3;
/// zxcvbn's work grows with length; the rest of a long password only adds strength.
const ESTIMATE_CHARS: usize = 64;

/// `Ok`, or the message key of what makes the password guessable.
pub fn check(password: &str, about: &About<'_>) -> Result<(), &'static str> {
    let lower = password.to_lowercase();
    let name = about.username.trim().to_lowercase();
    if name.chars().count() >= 3 && lower.contains(&name) {
        return Err("error.password_contains_username");
    }
    if is_common(&lower) {
        return Err("error.password_common");
    }
    let words = personal_words(about);
    if words.iter().any(|w| lower.contains(w.as_str())) {
        return Err("error.password_personal");
    }
    let head: String = password.chars().take(ESTIMATE_CHARS).collect();
    let inputs: Vec<&str> = words.iter().map(String::as_str).collect();
    let score = u8::from(zxcvbn::zxcvbn(&head, &inputs).score());
    if score < MIN_SCORE {
        return Err("error.password_guessable");
    }
    Ok(())
}

fn common_passwords() -> &'static HashSet<&'static str> {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| {
        include_str!("common_passwords.txt")
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect()
    })
}

/// A common password, or one with only digits and symbols added at its end ("password2024!"),
/// or one character repeated, or a run of consecutive characters.
pub fn is_common(lower: &str) -> bool {
    let set = common_passwords();
    if set.contains(lower) {
        return true;
    }
    let stem = lower.trim_end_matches(|c: char| c.is_ascii_digit() || !c.is_alphanumeric());
    if stem.len() >= 4 && set.contains(stem) {
        return true;
    }
    let chars: Vec<char> = lower.chars().collect();
    let repeated = chars.windows(2).all(|w| w[0] == w[1]);
    let ascending = chars
        .windows(2)
        .all(|w| u32::from(w[1]) == u32::from(w[0]) + 1);
    let descending = chars
        .windows(2)
        .all(|w| u32::from(w[0]) == u32::from(w[1]) + 1);
    repeated || ascending || descending
}

/// The person's own data as people put it in passwords, lower case, each at least four
/// characters: the pinyin of their name (张伟: zhangwei, weizhang, zhangw, zwei), the birth date in
/// their ID number (19900101, 900101), its last six characters, and their phone number.
pub fn personal_words(about: &About<'_>) -> Vec<String> {
    use pinyin::ToPinyin;
    let mut words = Vec::new();
    if let Some(name) = about.name {
        let syllables: Vec<&str> = name.to_pinyin().flatten().map(|p| p.plain()).collect();
        if let Some((surname, given)) = syllables.split_first() {
            let given_full: String = given.concat();
            let given_initials: String = given.iter().filter_map(|g| g.chars().next()).collect();
            words.push(syllables.concat());
            if !given.is_empty() {
                words.push(format!("{given_full}{surname}"));
                words.push(format!("{surname}{given_initials}"));
                words.push(format!("{}{given_full}", &surname[..1]));
            }
        }
    }
    if let Some(id) = about.id_number.filter(|id| id.len() == 18 && id.is_ascii()) {
        words.push(id[6..14].to_owned());
        words.push(id[8..14].to_owned());
        words.push(id[12..].to_lowercase());
    }
    if let Some(phone) = about.phone.filter(|p| p.len() >= 7) {
        words.push(phone.to_owned());
    }
    words.retain(|w| w.chars().count() >= 4);
    words.sort();
    words.dedup();
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_passwords_attackers_try_first_are_refused() {
        let about = About::account("someone");
        for bad in [
            "Password1",
            "Aa123456",
            "woaini1314",
            "Woaini1314520",
            "P@ssw0rd2024",
            "Qwer1234!",
            "1qaz@WSX",
            "Admin@123",
            "abc123456789",
            "iloveyou2",
            // The platform's own name (and the demo's password) is the first thing tried.
            "Jiaoyun@2025",
        ] {
            assert!(check(bad, &about).is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn the_persons_own_data_is_refused() {
        let about = About {
            username: "zhangwei01",
            name: Some("张伟"),
            id_number: Some("33010219900307123X"),
            phone: Some("13812345678"),
        };
        let words = personal_words(&about);
        for w in [
            "zhangwei",
            "weizhang",
            "19900307",
            "900307",
            "07123x",
            "13812345678",
        ] {
            assert!(words.iter().any(|x| x == w), "{w} in {words:?}");
        }
        for bad in [
            "Zhangwei@2024",
            "WeiZhang#88",
            "Cat19900307!",
            "Sky900307bluE",
            "Xx13812345678",
            "zhangwei01!",
        ] {
            assert!(
                matches!(
                    check(bad, &about),
                    Err("error.password_personal"
                        | "error.password_contains_username"
                        | "error.password_common")
                ),
                "{bad}: {:?}",
                check(bad, &about)
            );
        }
        // Somebody else's name is only the estimator's business.
        assert_eq!(check("Lanqiu#Hangzhou7x", &about), Ok(()));
    }

    #[test]
    fn long_or_unusual_passwords_pass() {
        let about = About::account("teacher");
        for good in [
            "correct horse battery staple",
            "Tulip7meadow",
            "xR7#kQ2!vB9m",
            "梧桐树下读书声2025",
        ] {
            assert_eq!(check(good, &about), Ok(()), "{good}");
        }
    }
}

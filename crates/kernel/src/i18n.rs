//! Translations. Every user-visible string has a key; `locales/zh-CN.toml` (the default) and
//! `locales/en.toml` hold the catalogues, flattened to dotted keys. Tests fail on a key that is
//! missing from either catalogue or used in code and templates but defined in neither.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::OnceLock;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum Locale {
    #[default]
    #[serde(rename = "zh-CN")]
    ZhCn,
    #[serde(rename = "en")]
    En,
}

impl Locale {
    pub const ALL: [Locale; 2] = [Locale::ZhCn, Locale::En];

    pub fn tag(self) -> &'static str {
        match self {
            Self::ZhCn => "zh-CN",
            Self::En => "en",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "zh-cn" | "zh" | "zh-hans" | "zh_cn" => Some(Self::ZhCn),
            "en" | "en-us" | "en-gb" => Some(Self::En),
            _ => None,
        }
    }

    /// The first supported language in an `Accept-Language` header; Chinese by default.
    pub fn from_accept_language(header: &str) -> Self {
        header
            .split(',')
            .filter_map(|part| {
                let tag = part.split(';').next()?.trim();
                Self::parse(tag).or_else(|| Self::parse(tag.split('-').next()?))
            })
            .next()
            .unwrap_or_default()
    }
}

pub const ZH_CN_SOURCE: &str = include_str!("../locales/zh-CN.toml");
pub const EN_SOURCE: &str = include_str!("../locales/en.toml");

type Catalog = HashMap<String, String>;

fn catalogs() -> &'static (Catalog, Catalog) {
    static C: OnceLock<(Catalog, Catalog)> = OnceLock::new();
    C.get_or_init(|| (parse_catalog(ZH_CN_SOURCE), parse_catalog(EN_SOURCE)))
}

/// Flattens a TOML catalogue to `dotted.key → text`. A catalogue that does not parse is empty
/// (and the catalogue test fails loudly).
pub fn parse_catalog(src: &str) -> Catalog {
    let mut out = HashMap::new();
    if let Ok(table) = toml::from_str::<toml::Table>(src) {
        flatten("", &table, &mut out);
    }
    out
}

fn flatten(prefix: &str, table: &toml::Table, out: &mut Catalog) {
    for (k, v) in table {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            toml::Value::Table(t) => flatten(&key, t, out),
            toml::Value::String(s) => {
                out.insert(key, s.clone());
            }
            other => {
                out.insert(key, other.to_string());
            }
        }
    }
}

/// The text for `key` in `locale`; the key itself if it is missing (tests prevent that).
pub fn t(locale: Locale, key: &str) -> &str {
    let (zh, en) = catalogs();
    let cat = match locale {
        Locale::ZhCn => zh,
        Locale::En => en,
    };
    cat.get(key).map(String::as_str).unwrap_or(key)
}

/// `t` with `{name}` placeholders filled in.
/// `key`'s text with `{name}` replaced by each argument. A value put between book-title marks
/// (《{title}》) that has its own keeps them as the inner marks 〈〉, as Chinese typesetting nests
/// them: 《〈秋天〉教学设计》, never 《《秋天》教学设计》.
pub fn tf(locale: Locale, key: &str, args: &[(&str, &str)]) -> String {
    let mut s = t(locale, key).to_owned();
    for (name, value) in args {
        let placeholder = format!("{{{name}}}");
        let marked = format!("《{placeholder}》");
        if s.contains(&marked) {
            let inner = value.replace('《', "〈").replace('》', "〉");
            s = s.replace(&marked, &format!("《{inner}》"));
        }
        s = s.replace(&placeholder, value);
    }
    s
}

/// A size for people: `2 MiB`, `256 MiB`, `4 GiB`, `1.5 GiB`, `900 KiB`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    if value < 1024.0 {
        return format!("{n} B");
    }
    let mut unit = "B";
    for u in UNITS {
        if value < 1024.0 {
            break;
        }
        value /= 1024.0;
        unit = u;
    }
    if (value - value.round()).abs() < 0.05 {
        format!("{} {unit}", value.round())
    } else {
        format!("{value:.1} {unit}")
    }
}

pub fn has_key(key: &str) -> bool {
    let (zh, en) = catalogs();
    zh.contains_key(key) && en.contains_key(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_title_with_its_own_book_title_marks_is_nested_not_doubled() {
        let s = tf(
            Locale::ZhCn,
            "notice.resource_approved",
            &[("title", "《秋天》教学设计"), ("node", "上城区实验小学")],
        );
        assert!(s.starts_with("《〈秋天〉教学设计》已通过"), "{s}");
        let plain = tf(
            Locale::ZhCn,
            "notice.resource_approved",
            &[("title", "勾股定理教案"), ("node", "上城区")],
        );
        assert!(plain.starts_with("《勾股定理教案》"), "{plain}");
    }

    #[test]
    fn both_catalogues_parse_and_have_the_same_keys() {
        let zh = parse_catalog(ZH_CN_SOURCE);
        let en = parse_catalog(EN_SOURCE);
        assert!(
            zh.len() > 50,
            "zh-CN catalogue did not parse or is nearly empty"
        );
        let mut only_zh: Vec<_> = zh.keys().filter(|k| !en.contains_key(*k)).collect();
        let mut only_en: Vec<_> = en.keys().filter(|k| !zh.contains_key(*k)).collect();
        only_zh.sort();
        only_en.sort();
        assert!(
            only_zh.is_empty() && only_en.is_empty(),
            "missing in en: {only_zh:?}; missing in zh-CN: {only_en:?}"
        );
        for (k, v) in zh.iter().chain(en.iter()) {
            assert!(!v.trim().is_empty(), "empty text for {k}");
        }
    }

    #[test]
    fn accept_language_picks_the_first_supported() {
        assert_eq!(Locale::from_accept_language("en-US,en;q=0.9"), Locale::En);
        assert_eq!(
            Locale::from_accept_language("fr-FR, zh-CN;q=0.8"),
            Locale::ZhCn
        );
        assert_eq!(Locale::from_accept_language("fr"), Locale::ZhCn);
        assert_eq!(t(Locale::En, "no.such.key"), "no.such.key");
    }

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(bytes(2 * 1024 * 1024), "2 MiB");
        assert_eq!(bytes(256 * 1024 * 1024), "256 MiB");
        assert_eq!(bytes(4 * 1024 * 1024 * 1024), "4 GiB");
        assert_eq!(bytes(1536 * 1024 * 1024), "1.5 GiB");
        assert_eq!(bytes(900), "900 B");
    }
}

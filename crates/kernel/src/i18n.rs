//! Translations. Every user-visible string has a key; `locales/zh-CN.toml` (the default) and
//! `locales/en.toml` hold the catalogues, flattened to dotted keys. Tests fail on a key that is
//! missing from either catalogue or used in code and templates but defined in neither.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{OnceLock, RwLock};

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

/// A crate's own strings, in both languages: a module keeps its catalogues beside its code
/// (`locales/zh-CN.toml`, `locales/en.toml`) and [`register`]s them when its routes are built,
/// so a new string rebuilds that crate alone.
#[derive(Debug)]
pub struct Catalogues {
    pub module: &'static str,
    pub zh_cn: &'static str,
    pub en: &'static str,
}

/// The kernel's catalogues: the shell's, the identity centre's, the directory's and the
/// library's strings.
pub static KERNEL: Catalogues = Catalogues {
    module: "kernel",
    zh_cn: ZH_CN_SOURCE,
    en: EN_SOURCE,
};

type Catalog = HashMap<String, String>;

struct Registry {
    sources: Vec<&'static Catalogues>,
    merged: &'static (Catalog, Catalog),
}

fn registry() -> &'static RwLock<Registry> {
    static R: OnceLock<RwLock<Registry>> = OnceLock::new();
    R.get_or_init(|| {
        RwLock::new(Registry {
            sources: vec![&KERNEL],
            merged: Box::leak(Box::new(merge(&[&KERNEL]))),
        })
    })
}

fn merge(sources: &[&Catalogues]) -> (Catalog, Catalog) {
    let mut zh = Catalog::new();
    let mut en = Catalog::new();
    for s in sources {
        zh.extend(parse_catalog(s.zh_cn));
        en.extend(parse_catalog(s.en));
    }
    (zh, en)
}

/// Adds a module's catalogues (once: registering the same ones again does nothing). Modules
/// register a handful of times at start-up; each registration builds the merged catalogue
/// anew and keeps it for the life of the process.
pub fn register(c: &'static Catalogues) {
    let mut r = registry().write().unwrap_or_else(|e| e.into_inner());
    if r.sources.iter().any(|s| std::ptr::eq(*s, c)) {
        return;
    }
    r.sources.push(c);
    r.merged = Box::leak(Box::new(merge(&r.sources)));
}

/// Every registered module's catalogues, the kernel's first.
pub fn registered() -> Vec<&'static Catalogues> {
    registry()
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .sources
        .clone()
}

fn catalogs() -> &'static (Catalog, Catalog) {
    registry().read().unwrap_or_else(|e| e.into_inner()).merged
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
        crate::testing::assert_catalogues_match(&KERNEL);
        assert!(parse_catalog(ZH_CN_SOURCE).len() > 50);
    }

    #[test]
    fn a_module_catalogue_adds_its_keys_once() {
        static EXTRA: Catalogues = Catalogues {
            module: "extra",
            zh_cn: "[extra_test]\nhello = \"你好\"\n",
            en: "[extra_test]\nhello = \"Hello\"\n",
        };
        register(&EXTRA);
        register(&EXTRA);
        assert_eq!(t(Locale::En, "extra_test.hello"), "Hello");
        assert_eq!(t(Locale::ZhCn, "extra_test.hello"), "你好");
        assert_eq!(t(Locale::ZhCn, "nav.home"), "首页");
        assert_eq!(
            registered().iter().filter(|c| c.module == "extra").count(),
            1
        );
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

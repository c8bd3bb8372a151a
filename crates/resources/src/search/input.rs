//! What a search asks for: the query string's parameters (all text, so a bad value gets a
//! field error in the platform's format rather than a bare 400), parsed into [`SearchInput`].

use crate::model::{Kind, Scope};
use kernel::{CatalogId, FieldErrors, NodeId};
use serde::{Deserialize, Serialize};

/// The longest query accepted, in characters.
pub const MAX_Q_CHARS: usize = 200;
/// The deepest page served (results past it are better reached with filters).
pub const MAX_PAGE: u32 = 500;
pub const DEFAULT_PER_PAGE: u32 = 20;
pub const MAX_PER_PAGE: u32 = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Sort {
    /// Best match first (the newest first when there is no query text).
    #[default]
    Relevance,
    Newest,
    /// By quality score (0-100), highest first.
    Quality,
}

impl Sort {
    pub const ALL: [Sort; 3] = [Sort::Relevance, Sort::Newest, Sort::Quality];
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Relevance => "relevance",
            Self::Newest => "newest",
            Self::Quality => "quality",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// A search, parsed.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SearchInput {
    /// Free text over title, tags, description and the files' text; empty: browse.
    pub q: String,
    pub stage: Option<CatalogId>,
    pub subject: Option<CatalogId>,
    pub edition: Option<CatalogId>,
    pub volume: Option<CatalogId>,
    /// A unit (chapter) or a section of the catalogue: a unit includes its sections.
    pub chapter: Option<CatalogId>,
    pub kind: Option<Kind>,
    /// How far resources are shared (`private` finds the viewer's own unshared ones).
    pub level: Option<Scope>,
    /// The owning school (or region).
    pub school: Option<NodeId>,
    pub sort: Sort,
    pub page: u32,
    pub per_page: u32,
}

impl Default for SearchInput {
    fn default() -> Self {
        Self {
            q: String::new(),
            stage: None,
            subject: None,
            edition: None,
            volume: None,
            chapter: None,
            kind: None,
            level: None,
            school: None,
            sort: Sort::Relevance,
            page: 1,
            per_page: DEFAULT_PER_PAGE,
        }
    }
}

impl SearchInput {
    /// A search for `q` with no filters.
    pub fn text(q: &str) -> Self {
        Self {
            q: q.to_owned(),
            ..Self::default()
        }
    }

    /// The sort applied: relevance means newest when there is no text to rank by.
    pub fn effective_sort(&self) -> Sort {
        if self.sort == Sort::Relevance && self.q.trim().is_empty() {
            Sort::Newest
        } else {
            self.sort
        }
    }
}

/// The query-string parameters of the page and the API.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// Free text (at most 200 characters); empty or absent: browse with the filters.
    #[serde(default)]
    pub q: Option<String>,
    /// Catalogue node ids (stage, subject, edition, volume, unit or section).
    #[serde(default)]
    pub stage: Option<String>,
    #[serde(default)]
    pub subject: Option<String>,
    #[serde(default)]
    pub edition: Option<String>,
    #[serde(default)]
    pub volume: Option<String>,
    #[serde(default)]
    pub chapter: Option<String>,
    /// lesson_plan | study_guide | courseware | micro_lesson | teaching_design | exercise |
    /// material | reference
    #[serde(default)]
    pub kind: Option<String>,
    /// private | school | district | city
    #[serde(default)]
    pub level: Option<String>,
    /// The owning school's (or region's) node id.
    #[serde(default)]
    pub school: Option<String>,
    /// relevance (default) | newest | quality
    #[serde(default)]
    pub sort: Option<String>,
    /// 1-based, at most 500.
    #[serde(default)]
    pub page: Option<String>,
    /// 1-100, default 20.
    #[serde(default)]
    pub per_page: Option<String>,
}

fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

impl SearchParams {
    /// The parsed search, or every field's error (keys under `error.search.`).
    pub fn parse(&self) -> Result<SearchInput, FieldErrors> {
        let mut errors = FieldErrors::new();
        let mut input = SearchInput::default();
        if let Some(q) = given(&self.q) {
            if q.chars().count() > MAX_Q_CHARS {
                errors.add("q", "error.search.q_too_long");
            }
            input.q = q.to_owned();
        }
        let mut id = |name: &str, v: &Option<String>| -> Option<CatalogId> {
            let s = given(v)?;
            match s.parse() {
                Ok(id) => Some(id),
                Err(_) => {
                    errors.add(name, "error.search.bad_id");
                    None
                }
            }
        };
        input.stage = id("stage", &self.stage);
        input.subject = id("subject", &self.subject);
        input.edition = id("edition", &self.edition);
        input.volume = id("volume", &self.volume);
        input.chapter = id("chapter", &self.chapter);
        if let Some(s) = given(&self.school) {
            match s.parse() {
                Ok(n) => input.school = Some(n),
                Err(_) => errors.add("school", "error.search.bad_id"),
            }
        }
        if let Some(s) = given(&self.kind) {
            match Kind::parse(s) {
                Some(k) => input.kind = Some(k),
                None => errors.add("kind", "error.search.kind"),
            }
        }
        if let Some(s) = given(&self.level) {
            match Scope::parse(s) {
                Some(l) => input.level = Some(l),
                None => errors.add("level", "error.search.level"),
            }
        }
        if let Some(s) = given(&self.sort) {
            match Sort::parse(s) {
                Some(x) => input.sort = x,
                None => errors.add("sort", "error.search.sort"),
            }
        }
        if let Some(s) = given(&self.page) {
            match s.parse::<u32>() {
                Ok(p) if (1..=MAX_PAGE).contains(&p) => input.page = p,
                _ => errors.add("page", "error.search.page"),
            }
        }
        if let Some(s) = given(&self.per_page) {
            match s.parse::<u32>() {
                Ok(p) if (1..=MAX_PER_PAGE).contains(&p) => input.per_page = p,
                _ => errors.add("per_page", "error.search.per_page"),
            }
        }
        if errors.is_empty() {
            Ok(input)
        } else {
            Err(errors)
        }
    }

    /// The parameters that give `input` back (for links).
    pub fn of(input: &SearchInput) -> Self {
        let s = |v: Option<String>| v;
        Self {
            q: Some(input.q.clone()).filter(|q| !q.is_empty()),
            stage: s(input.stage.map(|x| x.to_string())),
            subject: s(input.subject.map(|x| x.to_string())),
            edition: s(input.edition.map(|x| x.to_string())),
            volume: s(input.volume.map(|x| x.to_string())),
            chapter: s(input.chapter.map(|x| x.to_string())),
            kind: input.kind.map(|k| k.as_str().to_owned()),
            level: input.level.map(|l| l.as_str().to_owned()),
            school: input.school.map(|x| x.to_string()),
            sort: (input.sort != Sort::Relevance).then(|| input.sort.as_str().to_owned()),
            page: (input.page > 1).then(|| input.page.to_string()),
            per_page: (input.per_page != DEFAULT_PER_PAGE).then(|| input.per_page.to_string()),
        }
    }

    /// `a=b&c=d` of the parameters that are set, percent-encoded.
    pub fn query_string(&self) -> String {
        let pairs = [
            ("q", &self.q),
            ("stage", &self.stage),
            ("subject", &self.subject),
            ("edition", &self.edition),
            ("volume", &self.volume),
            ("chapter", &self.chapter),
            ("kind", &self.kind),
            ("level", &self.level),
            ("school", &self.school),
            ("sort", &self.sort),
            ("page", &self.page),
            ("per_page", &self.per_page),
        ];
        pairs
            .iter()
            .filter_map(|(k, v)| v.as_deref().map(|v| format!("{k}={}", encode(v))))
            .collect::<Vec<_>>()
            .join("&")
    }
}

/// Percent-encodes a query value.
pub fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_values_are_field_errors() {
        let p = SearchParams {
            sort: Some("cheapest".into()),
            kind: Some("poem".into()),
            page: Some("0".into()),
            stage: Some("not-an-id".into()),
            ..Default::default()
        };
        let e = p.parse().unwrap_err();
        assert_eq!(e.get("sort"), Some("error.search.sort"));
        assert_eq!(e.get("kind"), Some("error.search.kind"));
        assert_eq!(e.get("page"), Some("error.search.page"));
        assert_eq!(e.get("stage"), Some("error.search.bad_id"));
    }

    #[test]
    fn parameters_round_trip() {
        let p = SearchParams {
            q: Some("勾股定理 Unit 3".into()),
            kind: Some("courseware".into()),
            sort: Some("quality".into()),
            page: Some("2".into()),
            ..Default::default()
        };
        let input = p.parse().unwrap();
        assert_eq!(input.kind, Some(Kind::Courseware));
        assert_eq!(SearchParams::of(&input).parse().unwrap(), input);
        assert!(
            SearchParams::of(&input)
                .query_string()
                .starts_with("q=%E5%8B%BE")
        );
    }
}

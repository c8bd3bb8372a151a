//! What every page's layout needs: the language, the signed-in person's navigation, the CSRF
//! token and a notice to show.

use crate::auth::Session;
use askama::Template;
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse, Response};
use kernel::i18n::{self, Locale};
use kernel::{AppError, Role};

pub const LANG_COOKIE: &str = "jy_lang";

#[derive(Debug, Clone)]
pub struct NavUser {
    pub name: String,
    pub is_admin: bool,
    /// Administers a district, city or province: the region's settings are in the menu.
    pub region_admin: bool,
    pub teaches: bool,
    pub studies: bool,
    pub guards: bool,
}

#[derive(Debug, Clone)]
pub struct PageCtx {
    pub locale: Locale,
    pub user: Option<NavUser>,
    pub csrf: String,
    /// A notice key (`flash.*`) shown at the top of the page.
    pub notice: Option<String>,
    pub demo: bool,
    /// The region's time zone: every time on the page is shown in it.
    pub zone: kernel::time::Zone,
}

impl PageCtx {
    pub fn for_session(s: &Session) -> Self {
        Self {
            locale: s.actor.locale,
            user: Some(NavUser {
                name: s.actor.name.clone(),
                is_admin: s.actor.has_role(Role::Admin),
                region_admin: s.actor.administers_region(),
                teaches: s.actor.has_role(Role::Teacher) || s.actor.has_role(Role::HeadTeacher),
                studies: s.actor.has_role(Role::Student),
                guards: s.actor.has_role(Role::Guardian),
            }),
            csrf: s.csrf.clone(),
            notice: None,
            demo: false,
            zone: s.zone,
        }
    }

    pub fn anonymous(headers: &HeaderMap) -> Self {
        Self {
            locale: locale_from_headers(headers),
            user: None,
            csrf: String::new(),
            notice: None,
            demo: false,
            zone: kernel::time::Zone::default(),
        }
    }

    pub fn with_notice(mut self, notice: Option<&str>) -> Self {
        self.notice = notice
            .filter(|n| n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
            .map(|n| format!("flash.{n}"));
        self
    }

    pub fn t<'a>(&self, key: &'a str) -> &'a str {
        i18n::t(self.locale, key)
    }

    pub fn tf(&self, key: &str, args: &[(&str, &str)]) -> String {
        i18n::tf(self.locale, key, args)
    }

    pub fn lang(&self) -> &'static str {
        self.locale.tag()
    }

    pub fn other_lang(&self) -> &'static str {
        match self.locale {
            Locale::ZhCn => "en",
            Locale::En => "zh-CN",
        }
    }

    /// A time as `<time datetime="…+08:00">2026-12-06 19:28</time>` in the region's zone (write
    /// it with `|safe`: digits and punctuation only).
    pub fn when(&self, t: impl Moment) -> String {
        self.zone.html(t.utc())
    }

    /// The same with seconds.
    pub fn when_s(&self, t: impl Moment) -> String {
        self.zone.html_seconds(t.utc())
    }

    /// The calendar day of a moment, in the region's zone.
    pub fn day(&self, t: impl Moment) -> String {
        self.zone.date(t.utc()).to_string()
    }

    /// The message for a field's error, if it has one.
    pub fn field_error(&self, errors: &kernel::FieldErrors, field: &str) -> Option<String> {
        errors.get(field).map(|k| self.t(k).to_owned())
    }
}

/// A cookie's value from the request headers.
pub fn cookie_in<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The language of a page for a visitor who is not signed in: the language cookie (set by the
/// switch), else Simplified Chinese. The browser's language is deliberately not followed: the
/// platform speaks Chinese unless the person chooses otherwise.
pub fn locale_from_headers(headers: &HeaderMap) -> Locale {
    cookie_in(headers, LANG_COOKIE)
        .and_then(Locale::parse)
        .unwrap_or_default()
}

/// The language of an API response: the language cookie, else `Accept-Language`, else Chinese.
pub fn api_locale(headers: &HeaderMap) -> Locale {
    cookie_in(headers, LANG_COOKIE)
        .and_then(Locale::parse)
        .or_else(|| {
            headers
                .get(axum::http::header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .map(Locale::from_accept_language)
        })
        .unwrap_or_default()
}

/// Renders a template into an HTML response.
pub fn render(t: &impl Template) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => AppError::internal(format!("template: {e}")).into_response(),
    }
}

/// A moment a template holds, by value or by any depth of reference.
pub trait Moment {
    fn utc(&self) -> chrono::DateTime<chrono::Utc>;
}

impl Moment for chrono::DateTime<chrono::Utc> {
    fn utc(&self) -> chrono::DateTime<chrono::Utc> {
        *self
    }
}

impl<T: Moment + ?Sized> Moment for &T {
    fn utc(&self) -> chrono::DateTime<chrono::Utc> {
        (**self).utc()
    }
}

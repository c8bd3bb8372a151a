//! CAS service URLs. A service is matched to a registered application by its parsed URL, never
//! by string prefix: scheme, host and port exactly, then the path by whole segments. URLs that
//! use the tricks that make a string comparison lie (userinfo, backslashes, dot segments,
//! encoded dots or slashes, control characters) are refused before anything is compared, so no
//! ticket is ever issued for them.

/// A service URL, or a registered prefix, reduced to what is compared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceUrl {
    scheme: String,
    /// Lower case, IDN in punycode (as the `url` crate normalises it).
    host: String,
    port: u16,
    /// The path's segments, still percent-encoded; a trailing empty segment dropped.
    segments: Vec<String>,
}

/// Why a URL is refused; each is also the tail of its message key `error.sso.service_<why>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    NotUrl,
    Scheme,
    Userinfo,
    Backslash,
    DotSegment,
    EncodedSeparator,
    /// A registered prefix needs a path after its host (`https://app.example/`).
    NoPath,
    /// A registered prefix carries no query or fragment.
    QueryOrFragment,
}

impl Refusal {
    /// The message key, for the registration form's field error.
    pub fn key(self) -> &'static str {
        match self {
            Self::NotUrl => "error.sso.service_not_url",
            Self::Scheme => "error.sso.service_scheme",
            Self::Userinfo => "error.sso.service_userinfo",
            Self::Backslash => "error.sso.service_backslash",
            Self::DotSegment => "error.sso.service_dot_segment",
            Self::EncodedSeparator => "error.sso.service_encoded_separator",
            Self::NoPath => "error.sso.service_no_path",
            Self::QueryOrFragment => "error.sso.service_query",
        }
    }
}

/// The authority and the path of `raw` as written, before any normalisation.
fn raw_parts(raw: &str) -> Result<(&str, Option<&str>, bool), Refusal> {
    let rest = match raw.split_once("://") {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("https") => rest,
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("http") => rest,
        Some(_) => return Err(Refusal::Scheme),
        None => return Err(Refusal::NotUrl),
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let path_end = tail.find(['?', '#']).unwrap_or(tail.len());
    let path = (!tail.is_empty() && tail.starts_with('/')).then(|| &tail[..path_end]);
    Ok((authority, path, path_end < tail.len()))
}

fn check_raw(raw: &str) -> Result<(Option<&str>, bool), Refusal> {
    if raw.is_empty() || raw.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(Refusal::NotUrl);
    }
    if raw.contains('\\') {
        return Err(Refusal::Backslash);
    }
    let (authority, path, has_query) = raw_parts(raw)?;
    if authority.contains('@') {
        return Err(Refusal::Userinfo);
    }
    if authority.is_empty() {
        return Err(Refusal::NotUrl);
    }
    if let Some(path) = path {
        let lower = path.to_ascii_lowercase();
        if ["%2e", "%2f", "%5c", "%00"]
            .iter()
            .any(|e| lower.contains(e))
        {
            return Err(Refusal::EncodedSeparator);
        }
        if path.split('/').any(|s| s == "." || s == "..") {
            return Err(Refusal::DotSegment);
        }
    }
    Ok((path, has_query))
}

fn reduce(raw: &str) -> Result<ServiceUrl, Refusal> {
    let u = url::Url::parse(raw).map_err(|_| Refusal::NotUrl)?;
    if !matches!(u.scheme(), "http" | "https") {
        return Err(Refusal::Scheme);
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err(Refusal::Userinfo);
    }
    let host = u
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or(Refusal::NotUrl)?;
    let mut segments: Vec<String> = u
        .path()
        .trim_start_matches('/')
        .split('/')
        .map(str::to_owned)
        .collect();
    if segments.last().is_some_and(String::is_empty) {
        segments.pop();
    }
    Ok(ServiceUrl {
        scheme: u.scheme().to_owned(),
        host: host.to_owned(),
        port: u.port_or_known_default().ok_or(Refusal::NotUrl)?,
        segments,
    })
}

/// A service URL as a client sends it to `/cas/login`, `/cas/logout` or a validate endpoint.
pub fn parse_service(raw: &str) -> Result<ServiceUrl, Refusal> {
    check_raw(raw)?;
    reduce(raw)
}

/// A prefix an administrator registers: a host and a path (at least `/`), no query or fragment.
pub fn parse_prefix(raw: &str) -> Result<ServiceUrl, Refusal> {
    let (path, has_query) = check_raw(raw)?;
    if has_query {
        return Err(Refusal::QueryOrFragment);
    }
    if path.is_none() {
        return Err(Refusal::NoPath);
    }
    reduce(raw)
}

impl ServiceUrl {
    /// Does `service` fall under this prefix: same scheme, host and port, and this path's
    /// segments as the first segments of its path?
    pub fn covers(&self, service: &ServiceUrl) -> bool {
        self.scheme == service.scheme
            && self.host == service.host
            && self.port == service.port
            && service.segments.starts_with(&self.segments)
    }

    /// How specific the prefix is: the longest match wins when several cover a service.
    pub fn depth(&self) -> usize {
        self.segments.len()
    }
}

/// Does the registered `prefix` cover the service URL `service`? False for anything refused.
pub fn matches(prefix: &str, service: &str) -> bool {
    match (parse_prefix(prefix), parse_service(service)) {
        (Ok(p), Ok(s)) => p.covers(&s),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_host_and_whole_segments_only() {
        let p = "https://cas2.example/";
        assert!(matches(p, "https://cas2.example/"));
        assert!(matches(p, "https://cas2.example/app?x=1"));
        assert!(matches(p, "https://CAS2.Example/app"));
        assert!(matches(p, "https://cas2.example:443/app"));
        assert!(!matches(p, "https://cas2.example.evil.com/steal"));
        assert!(!matches(p, "https://cas2.example./app"));
        assert!(!matches(p, "https://cas2.example:8443/app"));
        assert!(!matches(p, "http://cas2.example/app"));
        assert!(!matches(p, "https://cas2.example@evil.com/"));
        assert!(!matches(p, "https://evil.com@cas2.example/"));
        assert!(!matches(p, "https://evil.com#@cas2.example/"));
        let app = "https://cas-app.example/app/";
        assert!(matches(app, "https://cas-app.example/app/"));
        assert!(matches(app, "https://cas-app.example/app"));
        assert!(matches(app, "https://cas-app.example/app/x/y?z"));
        assert!(!matches(app, "https://cas-app.example/apple"));
        assert!(!matches(app, "https://cas-app.example/app/../../evil"));
        assert!(!matches(app, "https://cas-app.example/app/%2e%2e/evil"));
        assert!(!matches(app, "https://cas-app.example/app/%2E%2E/evil"));
        assert!(!matches(app, "https://cas-app.example/app%2f..%2fevil"));
        assert!(!matches(app, "https://cas-app.example/app/.%2e/evil"));
        assert!(!matches(app, "https://cas-app.example/app\\..\\evil"));
        assert!(!matches(app, "https://cas-app.example\\@evil.com/app/"));
        assert!(!matches(app, "https://cas-app.example/app/./x"));
        assert!(!matches(app, "https://cas-app.example/app/\tx"));
        assert!(!matches(app, "javascript://cas-app.example/app/"));
        // Without a trailing slash the prefix still means the whole segment.
        assert!(matches(
            "https://cas-app.example/app",
            "https://cas-app.example/app/x"
        ));
        assert!(!matches(
            "https://cas-app.example/app",
            "https://cas-app.example/apple"
        ));
    }

    #[test]
    fn hosts_are_compared_after_idn_and_case_normalisation() {
        let puny = url::Url::parse("https://学校.example/").unwrap();
        let puny = puny.host_str().unwrap();
        assert!(puny.starts_with("xn--"), "{puny}");
        assert!(matches(
            "https://学校.example/",
            &format!("https://{puny}/a")
        ));
        assert!(matches(
            &format!("https://{puny}/"),
            "https://学校.example/a"
        ));
        // A Cyrillic 'а' is another host.
        assert!(!matches("https://cas.example/", "https://cаs.example/"));
        assert!(matches(
            "http://127.0.0.1:9/jw/",
            "http://127.0.0.1:9/jw/index"
        ));
        assert!(!matches(
            "http://127.0.0.1:9/jw/",
            "http://127.0.0.1:90/jw/index"
        ));
        assert!(matches("http://[::1]:9/jw/", "http://[::1]:9/jw/a"));
    }

    #[test]
    fn prefixes_need_a_host_and_a_path() {
        assert_eq!(parse_prefix("https://cas2.example"), Err(Refusal::NoPath));
        assert_eq!(
            parse_prefix("https://cas2.example?x"),
            Err(Refusal::QueryOrFragment)
        );
        assert_eq!(
            parse_prefix("https://a.example/x#y"),
            Err(Refusal::QueryOrFragment)
        );
        assert_eq!(parse_prefix("https:///x"), Err(Refusal::NotUrl));
        assert_eq!(parse_prefix("ftp://a.example/"), Err(Refusal::Scheme));
        assert_eq!(parse_prefix("growth"), Err(Refusal::NotUrl));
        assert_eq!(
            parse_prefix("https://u:p@a.example/"),
            Err(Refusal::Userinfo)
        );
        assert_eq!(
            parse_prefix("https://a.example/x/../"),
            Err(Refusal::DotSegment)
        );
        assert!(parse_prefix("https://a.example/").is_ok());
    }
}

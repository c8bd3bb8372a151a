//! The crawler: each demo role logs in to headless Chromium at 360 px wide, follows every menu
//! entry and every link it finds (same origin, GET only, bounded), and every page must be
//! right for that person: no 4xx or 5xx for a link shown to them, no console error or
//! content-security-policy violation, no message key shown untranslated, no English words in a
//! Chinese page outside user data, no page over its weight budget, no horizontal scrolling, no
//! time outside the region's zone, no input without a label, no check box stretched away from
//! its label, no emoji (an empty box without an emoji font). It prints every page it visited
//! with its weight. Later modules' pages are checked by it as soon as a menu or a page links to
//! them. Every link's status is checked; up to three pages of each shape (path with its ids
//! replaced) are opened in the browser.
//!
//! Needs chromium and chromium-driver; .ci/run runs it on SQLite and on PostgreSQL.

use crate::browser::{Driver, console_errors, log_in, log_out};
use crate::helpers::TestApp;
use fantoccini::Client;
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

/// A page's weight: its HTML, stylesheets and scripts before compression.
const PAGE_BUDGET: u64 = 100 * 1024;

/// Pages that may weigh more, each with its own budget (path pattern, bytes). Reviewed: add a
/// page here only with the reason beside it.
const BUDGETS: &[(&str, u64)] = &[];

/// Words of Latin script a Chinese page may show outside user data: names of formats,
/// protocols and products that have no Chinese name in use.
const ALLOWED_WORDS: &[&str] = &[
    "PDF",
    "JPG",
    "PNG",
    "XLSX",
    "XLS",
    "CSV",
    "GBK",
    "UTF",
    "OpenID",
    "Connect",
    "OIDC",
    "CAS",
    "API",
    "URL",
    "ID",
    "TOTP",
    "OAuth",
    "OAuth2",
    "WebAuthn",
    "HTTP",
    "HTTPS",
    "JSON",
    "IP",
    "QR",
    "Office",
    "Word",
    "Excel",
    "WPS",
    "PowerPoint",
    "MP4",
    "MP3",
    "WebM",
    "SSO",
    "OneRoster",
    "QTI",
    "KB",
    "MB",
    "GB",
    "KiB",
    "MiB",
    "GiB",
    "ZIP",
    "MLPS",
    "App",
    "iOS",
    "Android",
    "RFC",
    "PKCE",
    "JWT",
    "JWKS",
    "Chrome",
    "Edge",
    "Firefox",
    "Safari",
    "English",
    "LibreOffice",
    "WeCom",
    "DingTalk",
    "NIST",
    "LaTeX",
];

/// Pages per role at most, and pages of one shape (the same path with other ids).
const MAX_PAGES: usize = 400;
const PER_SHAPE: usize = 3;

#[derive(Debug, Deserialize)]
struct Checked {
    status: u16,
    html: u64,
    css: u64,
    js: u64,
    problems: Vec<String>,
    links: Vec<Link>,
}

#[derive(Debug, Deserialize, Clone)]
struct Link {
    href: String,
    text: String,
}

#[derive(Debug, Deserialize)]
struct Fetched {
    status: u16,
    html: bool,
    url: String,
}

/// Runs in the page: its status and weight, what is wrong with it, and its links.
const CHECK: &str = r#"
const [keys, allowed, offset, chinese] = [new Set(arguments[0]), new Set(arguments[1]), arguments[2], arguments[3]];
const out = { status: 0, html: 0, css: 0, js: 0, problems: [], links: [] };
const nav = performance.getEntriesByType('navigation')[0];
if (nav) { out.status = nav.responseStatus || 0; out.html = nav.decodedBodySize; }
for (const r of performance.getEntriesByType('resource')) {
  if (r.initiatorType === 'link' || /\.css(\?|$)/.test(r.name)) out.css += r.decodedBodySize;
  else if (r.initiatorType === 'script') out.js += r.decodedBodySize;
}
const say = (e) => {
  const t = (e.textContent || e.getAttribute('name') || '').trim().slice(0, 40);
  return e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.className && typeof e.className === 'string' ? '.' + e.className.trim().split(/\s+/).join('.') : '') + (t ? ' “' + t + '”' : '');
};
const problem = (p) => { if (out.problems.length < 40 && !out.problems.includes(p)) out.problems.push(p); };
const doc = document.documentElement;
if (doc.scrollWidth > doc.clientWidth + 1) {
  const wide = [...document.body.querySelectorAll('*')].filter(e => {
    const r = e.getBoundingClientRect();
    const p = e.parentElement && e.parentElement.getBoundingClientRect();
    return r.width > 0 && r.right > doc.clientWidth + 1 && (!p || p.right <= doc.clientWidth + 1);
  }).slice(0, 3).map(say);
  problem(`scrolls sideways at ${doc.clientWidth} px (${doc.scrollWidth} px wide): ${wide.join(', ')}`);
}
const skip = (n) => n.parentElement && n.parentElement.closest('script, style, code, pre, kbd, samp, textarea, [translate=no], [lang]:not([lang^=zh])');
const keyLike = /\b[a-z][a-z0-9_]*(\.[a-z0-9_]+)+\b/g;
const check = (text, where) => {
  for (const k of text.match(keyLike) || []) if (keys.has(k)) problem(`message key shown: ${k} in ${where}`);
  if (chinese) {
    for (const token of text.split(/[\s\u3000-\u303f\uff00-\uffef（）“”‘’、，。：；！？《》【】·…—]+/)) {
      if (!token || /[@\/_]|\.[A-Za-z]|^[\w.-]+\.\w+$/.test(token)) continue;
      for (const w of token.match(/[A-Za-z]{2,}/g) || []) if (!allowed.has(w)) problem(`English word “${w}” in ${where}`);
    }
  }
  if (/(^|[^\d])\d{1,2}:\d{2}(?!\d)/.test(text)) problem(`a time outside <time> in ${where}: “${text.trim().slice(0, 60)}”`);
  // Emoji are empty boxes on machines without an emoji font: icons are inline SVG.
  if (/[\u{1F300}-\u{1FAFF}\u{2600}-\u{26FF}]/u.test(text)) problem(`an emoji in ${where}: “${text.trim().slice(0, 40)}”`);
};
const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
for (let n = walker.nextNode(); n; n = walker.nextNode()) {
  if (skip(n) || n.parentElement.closest('time')) continue;
  if (n.textContent.trim()) check(n.textContent, say(n.parentElement));
}
for (const e of document.body.querySelectorAll('[placeholder], [title], [aria-label], img[alt], input[type=submit][value], input[type=button][value]')) {
  if (e.closest('[translate=no], [lang]:not([lang^=zh])')) continue;
  for (const a of ['placeholder', 'title', 'aria-label', 'alt', 'value']) {
    const v = e.getAttribute(a);
    if (v && (a !== 'value' || e.type === 'submit' || e.type === 'button')) check(v, `${say(e)} [${a}]`);
  }
}
for (const t of document.querySelectorAll('time')) {
  const d = t.getAttribute('datetime') || '';
  if (!d.endsWith(offset)) problem(`a time not in the region's zone: <time datetime="${d}">`);
}
for (const e of document.body.querySelectorAll('input, select, textarea')) {
  if (['hidden', 'submit', 'button', 'reset', 'image'].includes(e.type)) continue;
  const labelled = (e.labels && e.labels.length) || e.getAttribute('aria-label') || e.getAttribute('aria-labelledby') || e.getAttribute('title');
  if (!labelled) problem(`an input without a label: ${say(e)}`);
  if ((e.type === 'checkbox' || e.type === 'radio') && e.getBoundingClientRect().width > 32) problem(`a ${e.type} stretched to ${Math.round(e.getBoundingClientRect().width)} px: ${say(e)}`);
}
for (const a of document.querySelectorAll('a[href]')) {
  out.links.push({ href: a.href, text: (a.textContent || a.getAttribute('aria-label') || '').trim().slice(0, 40) });
}
return out;
"#;

/// Fetches a link as the page would (same cookies): its final status, whether it is a page,
/// and where it ended after redirects.
const FETCH: &str = r#"
const done = arguments[arguments.length - 1];
fetch(arguments[0], { credentials: 'same-origin', redirect: 'follow' })
  .then(r => { const html = (r.headers.get('content-type') || '').startsWith('text/html'); return (html ? r.text() : r.arrayBuffer()).then(() => done({ status: r.status, html, url: r.url })); })
  .catch(e => done({ status: 0, html: false, url: String(e) }));
"#;

/// The shape of an address: its path with ids and numbers replaced (the query is left out: a
/// page's filters and facets give it endless addresses of one shape).
fn shape(url: &url::Url) -> String {
    let path: Vec<String> = url
        .path_segments()
        .into_iter()
        .flatten()
        .map(|s| {
            let idish = s.len() >= 8 && s.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
            if idish || s.chars().all(|c| c.is_ascii_digit()) && !s.is_empty() {
                ":id".to_owned()
            } else {
                s.to_owned()
            }
        })
        .collect();
    format!("/{}", path.join("/"))
}

/// Links the crawler does not follow: leaving the session, and what only a person should do.
fn followable(url: &url::Url, base: &url::Url) -> bool {
    url.origin() == base.origin() && !url.path().contains("logout")
}

/// The Latin words of the region's own data (textbook chapters such as "Unit 3 Hello", resource
/// titles, names, account names, codes): user data, which a Chinese page shows as it is.
async fn user_data_words(app: &TestApp) -> Vec<String> {
    let queries = [
        "SELECT name FROM catalog_nodes",
        "SELECT code FROM catalog_nodes",
        "SELECT title FROM resources",
        "SELECT description FROM resources",
        "SELECT tags FROM resources",
        "SELECT file_name FROM resources",
        "SELECT body FROM resource_comments",
        "SELECT name FROM persons",
        "SELECT staff_no FROM persons",
        "SELECT username FROM accounts",
        "SELECT name FROM org_nodes",
        "SELECT name FROM applications",
        "SELECT description FROM applications",
        "SELECT title FROM excellent_lists",
        "SELECT stem FROM items",
        "SELECT options FROM items",
        "SELECT answer_key FROM items",
        "SELECT explanation FROM items",
    ];
    let mut words = HashSet::new();
    for q in queries {
        let rows: Vec<(Option<String>,)> =
            kernel::on_db!(&app.state.db, p => sqlx::query_as(q).fetch_all(p).await).unwrap();
        for (text,) in rows.into_iter().filter_map(|(t,)| t.map(|t| (t,))) {
            let mut word = String::new();
            for c in text.chars().chain([' ']) {
                if c.is_ascii_alphabetic() {
                    word.push(c);
                } else if !word.is_empty() {
                    words.insert(std::mem::take(&mut word));
                }
            }
        }
    }
    words.into_iter().collect()
}

struct Visit {
    path: String,
    weight: (u64, u64, u64),
}

async fn crawl(
    app: &TestApp,
    b: &Client,
    role: &str,
    allowed: &[String],
    report: &mut Vec<String>,
) -> Vec<Visit> {
    let base = url::Url::parse(&app.base).unwrap();
    let keys: Vec<String> = kernel::i18n::registered()
        .into_iter()
        .flat_map(|c| kernel::i18n::parse_catalog(c.zh_cn).into_keys())
        .collect();
    let offset = {
        let now = chrono::Utc::now();
        app.state
            .config
            .time_zone
            .local(now)
            .format("%:z")
            .to_string()
    };
    let mut queue: VecDeque<(String, String)> = VecDeque::from([("/".to_owned(), "-".to_owned())]);
    let mut seen: HashSet<String> = HashSet::from(["/".to_owned()]);
    let mut shapes: HashMap<String, usize> = HashMap::new();
    let mut visits = Vec::new();
    while let Some((path, from)) = queue.pop_front() {
        if visits.len() >= MAX_PAGES {
            break;
        }
        let url = base.join(&path).unwrap();
        b.goto(url.as_str()).await.unwrap();
        let checked: Checked = serde_json::from_value(
            b.execute(
                CHECK,
                vec![
                    serde_json::json!(keys),
                    serde_json::json!(allowed),
                    serde_json::json!(offset),
                    serde_json::json!(true),
                ],
            )
            .await
            .unwrap(),
        )
        .unwrap();
        let here = b.current_url().await.unwrap();
        let mut problems = checked.problems;
        if checked.status >= 400 {
            problems.push(format!("status {} (linked from {from})", checked.status));
        }
        if here.path() == "/login" && path != "/login" {
            problems.push(format!("sent to the login page (linked from {from})"));
        }
        let total = checked.html + checked.css + checked.js;
        let budget = BUDGETS
            .iter()
            .find(|(p, _)| shape(&url).starts_with(p))
            .map_or(PAGE_BUDGET, |(_, b)| *b);
        if total > budget {
            problems.push(format!("weighs {total} bytes, over its budget of {budget}"));
        }
        problems.extend(
            console_errors(b)
                .await
                .into_iter()
                .map(|e| format!("console: {e}")),
        );
        for p in problems {
            report.push(format!("{role} {path}: {p}"));
        }
        visits.push(Visit {
            path: path.clone(),
            weight: (checked.html, checked.css, checked.js),
        });
        for link in checked.links {
            let Ok(mut target) = url::Url::parse(&link.href) else {
                report.push(format!(
                    "{role} {path}: a link that is not an address: {}",
                    link.href
                ));
                continue;
            };
            target.set_fragment(None);
            if !followable(&target, &base) {
                continue;
            }
            let rel = match target.query() {
                Some(q) => format!("{}?{q}", target.path()),
                None => target.path().to_owned(),
            };
            if !seen.insert(rel.clone()) {
                continue;
            }
            let fetched: Fetched = serde_json::from_value(
                b.execute_async(FETCH, vec![serde_json::json!(target.as_str())])
                    .await
                    .unwrap(),
            )
            .unwrap();
            if fetched.status >= 400 || fetched.status == 0 {
                report.push(format!(
                    "{role} {path}: the link “{}” to {rel} answers {}",
                    link.text, fetched.status
                ));
                continue;
            }
            if url::Url::parse(&fetched.url).is_ok_and(|u| u.path() == "/login") {
                report.push(format!(
                    "{role} {path}: the link “{}” to {rel} ends at the login page",
                    link.text
                ));
                continue;
            }
            let n = shapes.entry(shape(&target)).or_default();
            if fetched.html && *n < PER_SHAPE {
                *n += 1;
                queue.push_back((rel, path.clone()));
            }
        }
        // The checks' own failed fetches are reported above, not as the next page's console.
        let _ = console_errors(b).await;
    }
    visits
}

#[tokio::test]
#[ignore = "needs chromium and chromedriver: run with --include-ignored (.ci/run does)"]
async fn every_role_every_page_every_link_is_right() {
    let app = TestApp::start().await;
    let driver = Driver::start().await;
    let b = driver.browser_sized(360, 800).await;
    let mut report = Vec::new();
    let mut weights: BTreeMap<String, (u64, u64, u64)> = BTreeMap::new();
    let mut pages = 0;
    let mut allowed: Vec<String> = ALLOWED_WORDS.iter().map(|w| (*w).to_owned()).collect();
    allowed.extend(user_data_words(&app).await);
    for role in [
        "city_admin",
        "district_admin",
        "school_admin",
        "teacher",
        "student",
        "guardian",
    ] {
        log_in(&b, &app, role).await;
        let _ = console_errors(&b).await;
        let visits = crawl(&app, &b, role, &allowed, &mut report).await;
        pages += visits.len();
        println!("{role}: {} pages", visits.len());
        for v in visits {
            let (h, c, j) = v.weight;
            println!(
                "  {:>6.1} KB  (html {h}, css {c}, js {j})  {}",
                (h + c + j) as f64 / 1024.0,
                v.path
            );
            weights.insert(v.path, v.weight);
        }
        log_out(&b).await;
    }
    let heaviest = weights
        .iter()
        .max_by_key(|(_, (h, c, j))| h + c + j)
        .map(|(p, (h, c, j))| format!("{p} {:.1} KB", (h + c + j) as f64 / 1024.0));
    println!(
        "{pages} page visits, {} distinct pages; the heaviest: {}",
        weights.len(),
        heaviest.unwrap_or_default()
    );
    b.close().await.unwrap();
    app.stop().await;
    assert!(
        pages >= 60,
        "the crawler visited only {pages} pages: it is not following the menus"
    );
    assert!(
        report.is_empty(),
        "{} problems:\n{}",
        report.len(),
        report.join("\n")
    );
}

//! The load's HTTP side: a person signed in through the login form (their session cookie and
//! CSRF token), and the record of every request the load made (latency, outcome, which phase).

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// A signed-in person as the browser holds them.
#[derive(Clone, Debug)]
pub struct Session {
    pub username: String,
    pub cookie: String,
    pub csrf: String,
}

/// What a login attempt came to.
pub enum Login {
    Ok(Session),
    /// The request never got an answer (a node died under it).
    Lost,
    Refused(u16),
}

/// Signs in through the login form (the double-submitted login CSRF cookie as a browser sends
/// it back), then reads the session's CSRF token from the profile page.
pub async fn login(http: &reqwest::Client, base: &str, username: &str, password: &str) -> Login {
    let r = http
        .post(format!("{base}/login"))
        .header("cookie", "jy_login_csrf=cluster")
        .form(&[
            ("username", username),
            ("password", password),
            ("csrf", "cluster"),
            ("next", "/profile"),
        ])
        .send()
        .await;
    let r = match r {
        Ok(r) => r,
        Err(_) => return Login::Lost,
    };
    if r.status() != reqwest::StatusCode::SEE_OTHER {
        return Login::Refused(r.status().as_u16());
    }
    let Some(cookie) = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("jy_session="))
        .and_then(|v| v.split(';').next())
        .map(str::to_owned)
    else {
        return Login::Refused(r.status().as_u16());
    };
    // The session is stored once the login answered; its token is read from any page.
    for _ in 0..20 {
        if let Ok(r) = http
            .get(format!("{base}/profile"))
            .header("cookie", &cookie)
            .send()
            .await
            && r.status().is_success()
            && let Some(csrf) = r.text().await.ok().as_deref().and_then(csrf_of)
        {
            return Login::Ok(Session {
                username: username.into(),
                cookie,
                csrf,
            });
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    Login::Lost
}

/// The CSRF token in a signed-in page's forms.
pub fn csrf_of(html: &str) -> Option<String> {
    let at = html.find("name=\"csrf\" value=\"")? + "name=\"csrf\" value=\"".len();
    let rest = html.get(at..)?;
    Some(rest[..rest.find('"')?].to_owned())
}

/// The id at the end of a redirect's path (`/notices/{id}?done=…`).
pub fn location_id(r: &reqwest::Response, prefix: &str) -> Option<String> {
    let loc = r.headers().get("location")?.to_str().ok()?;
    let rest = loc.split_once(prefix)?.1;
    Some(rest.split(['?', '/']).next()?.to_owned())
}

/// Every request the load made, by phase (0: both nodes, 1: one node).
#[derive(Default)]
pub struct Record {
    pub phase: AtomicUsize,
    pub stop: AtomicBool,
    samples: Mutex<Vec<Sample>>,
}

#[derive(Clone, Copy)]
pub struct Sample {
    pub phase: usize,
    pub op: &'static str,
    pub ms: f64,
    pub ok: bool,
}

impl Record {
    pub fn phase(&self) -> usize {
        self.phase.load(Ordering::Relaxed)
    }
    pub fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }
    /// Notes one request that started at `t`.
    pub fn note(&self, op: &'static str, t: Instant, ok: bool) {
        let s = Sample {
            phase: self.phase(),
            op,
            ms: t.elapsed().as_secs_f64() * 1000.0,
            ok,
        };
        if let Ok(mut v) = self.samples.lock() {
            v.push(s);
        }
    }
    pub fn samples(&self) -> Vec<Sample> {
        self.samples.lock().map(|v| v.clone()).unwrap_or_default()
    }
}

/// The `p`-quantile of sorted values.
pub fn pct(sorted: &[f64], p: f64) -> f64 {
    sorted
        .get(((sorted.len() as f64 * p) as usize).min(sorted.len().saturating_sub(1)))
        .copied()
        .unwrap_or(0.0)
}

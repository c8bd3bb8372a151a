//! The mixed load, through nginx: people signing in and reading pages, students starting a
//! test and saving answers, an application's token grants, teachers' chunked uploads made into
//! library resources, searches, and notices to a district's guardians. Each worker keeps what
//! the platform acknowledged, so that the checks can count what is in the database afterwards.

use super::web::{Login, Record, Session, location_id, login};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

pub const PASSWORD: &str = directory::demo::DEMO_PASSWORD;

/// Everything the workers share and what they were told.
pub struct Load {
    pub http: reqwest::Client,
    /// nginx.
    pub base: String,
    pub rec: Record,
    /// People to sign in as, with the pages their role reads.
    pub accounts: Vec<(String, &'static [&'static str])>,
    /// Sessions acknowledged and not signed out.
    pub sessions: Mutex<Vec<Session>>,
    pub logins: AtomicUsize,
    pub logouts: AtomicUsize,
    pub page_views: AtomicUsize,
    /// Pages of an acknowledged session that answered with the login page instead.
    pub sessions_dropped: AtomicUsize,
    /// (student, position) → the last text acknowledged, and those sent after it unanswered.
    pub answers: Mutex<HashMap<(String, i64), Answer>>,
    pub saves: AtomicUsize,
    pub starts: AtomicUsize,
    pub chains: Mutex<Vec<Chain>>,
    pub grants: AtomicUsize,
    pub userinfo: AtomicUsize,
    /// A refresh token acknowledged, then refused at its next use (a lost rotation).
    pub refresh_lost: AtomicUsize,
    pub resources: Mutex<Vec<Uploaded>>,
    pub uploads_resumed: AtomicUsize,
    pub chunks: AtomicUsize,
    pub searches: AtomicUsize,
    /// (notice id, title).
    pub notices: Mutex<Vec<(String, String)>>,
    pub test: String,
    pub positions: Vec<i64>,
    pub district: String,
    pub catalog: String,
    pub client_id: String,
    pub client_secret: String,
}

pub const REDIRECT: &str = "http://127.0.0.1:9/cluster/callback";

/// A library resource made from an upload the platform acknowledged.
#[derive(Clone)]
pub struct Uploaded {
    pub id: String,
    pub title: String,
    /// Who uploaded it (a new resource is theirs alone: they search for it).
    pub owner: String,
    /// The SHA-256 of the bytes sent, and of the blob the platform stored.
    pub sent: String,
    pub stored: String,
}

#[derive(Default)]
pub struct Answer {
    pub acked: Option<String>,
    pub after: Vec<String>,
}

/// One refresh-token family: its newest token, and whether the request that gave it was
/// answered (a rotation whose answer was lost leaves the family unusable, as it must).
pub struct Chain {
    pub token: String,
    pub acked: bool,
}

impl Load {
    pub fn new(http: reqwest::Client, base: String) -> Self {
        Self {
            http,
            base,
            rec: Record::default(),
            accounts: Vec::new(),
            sessions: Mutex::default(),
            logins: AtomicUsize::new(0),
            logouts: AtomicUsize::new(0),
            page_views: AtomicUsize::new(0),
            sessions_dropped: AtomicUsize::new(0),
            answers: Mutex::default(),
            saves: AtomicUsize::new(0),
            starts: AtomicUsize::new(0),
            chains: Mutex::default(),
            grants: AtomicUsize::new(0),
            userinfo: AtomicUsize::new(0),
            refresh_lost: AtomicUsize::new(0),
            resources: Mutex::default(),
            uploads_resumed: AtomicUsize::new(0),
            chunks: AtomicUsize::new(0),
            searches: AtomicUsize::new(0),
            notices: Mutex::default(),
            test: String::new(),
            positions: Vec::new(),
            district: String::new(),
            catalog: String::new(),
            client_id: String::new(),
            client_secret: String::new(),
        }
    }

    /// Signs in (retrying a lost answer, as a person presses again), noting each attempt.
    pub async fn sign_in(&self, username: &str) -> Option<Session> {
        for _ in 0..20 {
            let t = Instant::now();
            match login(&self.http, &self.base, username, PASSWORD).await {
                Login::Ok(s) => {
                    self.rec.note("login", t, true);
                    self.logins.fetch_add(1, Ordering::Relaxed);
                    return Some(s);
                }
                Login::Lost | Login::Refused(502..=504) => self.rec.note("login", t, false),
                Login::Refused(code) => {
                    self.rec.note("login", t, false);
                    tracing::warn!(username, code, "cluster: login refused");
                    return None;
                }
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        None
    }

    /// Presses a form's button that takes only the session's CSRF token (a 303 is success),
    /// noting the request as `op`.
    async fn press(&self, s: &Session, op: &'static str, path: &str) -> bool {
        let t = Instant::now();
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .header("cookie", &s.cookie)
            .form(&[("csrf", s.csrf.as_str())])
            .send()
            .await;
        let ok = r.is_ok_and(|r| r.status() == reqwest::StatusCode::SEE_OTHER);
        self.rec.note(op, t, ok);
        ok
    }

    fn pause(&self, ms: u64) -> tokio::time::Sleep {
        tokio::time::sleep(Duration::from_millis(
            ms / 2 + rand::random::<u64>() % ms.max(1),
        ))
    }
}

/// Signs in as one account after another and reads the pages of its role; a third of the
/// sessions sign out, the rest are kept for the checks.
pub async fn browse(load: &Load, seed: usize) {
    let mut k = seed;
    while !load.rec.stopped() {
        k = (k * 7 + 13) % load.accounts.len().max(1);
        let Some((username, pages)) = load.accounts.get(k) else {
            return;
        };
        let Some(s) = load.sign_in(username).await else {
            continue;
        };
        for round in 0..3 {
            for page in pages.iter() {
                if load.rec.stopped() {
                    break;
                }
                let t = Instant::now();
                let r = load
                    .http
                    .get(format!("{}{page}", load.base))
                    .header("cookie", &s.cookie)
                    .send()
                    .await;
                match r {
                    Ok(r) if r.status().is_success() => {
                        load.rec.note("page", t, true);
                        load.page_views.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(r) if r.status() == reqwest::StatusCode::SEE_OTHER => {
                        load.rec.note("page", t, false);
                        load.sessions_dropped.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(page, round, user = %s.username, "cluster: signed-in page sent to login");
                    }
                    _ => load.rec.note("page", t, false),
                }
                load.pause(100).await;
            }
        }
        if k.is_multiple_of(3) && load.press(&s, "logout", "/logout").await {
            load.logouts.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        if let Ok(mut v) = load.sessions.lock() {
            v.push(s);
        }
    }
}

/// A student at the test: starts it, then saves answers (a text per blank) until the load
/// stops, one at a time as a phone sends them.
pub async fn sit_test(load: &Load, s: Session) {
    let base = &load.base;
    let start = format!("/teaching/homework/{}/start", load.test);
    loop {
        if load.press(&s, "start", &start).await {
            load.starts.fetch_add(1, Ordering::Relaxed);
            break;
        }
        if load.rec.stopped() {
            return;
        }
        load.pause(500).await;
    }
    let mut n = 0usize;
    while !load.rec.stopped() {
        n += 1;
        let position = load.positions[n % load.positions.len().max(1)];
        let text = format!("{}x{position}x{n}", s.username);
        let shown = format!("a{position}.shown");
        let field = format!("a{position}.text");
        let pos = position.to_string();
        let t = Instant::now();
        let r = load
            .http
            .post(format!("{base}/teaching/homework/{}/answer", load.test))
            .header("cookie", &s.cookie)
            .form(&[
                ("csrf", s.csrf.as_str()),
                ("position", pos.as_str()),
                (shown.as_str(), "1"),
                (field.as_str(), text.as_str()),
            ])
            .send()
            .await;
        let ok = r.is_ok_and(|r| r.status() == reqwest::StatusCode::NO_CONTENT);
        load.rec.note("answer", t, ok);
        if let Ok(mut m) = load.answers.lock() {
            let a = m.entry((s.username.clone(), position)).or_default();
            if ok {
                a.acked = Some(text);
                a.after.clear();
                load.saves.fetch_add(1, Ordering::Relaxed);
            } else {
                a.after.push(text);
            }
        }
        load.pause(300).await;
    }
}

/// An application: client-credentials grants, and a signed-in teacher's authorization-code
/// grant whose refresh token is rotated again and again, with UserInfo reads between.
pub async fn tokens(load: &Load, teacher: Session) {
    let base = &load.base;
    let mut chain: Option<(String, String)> = None; // (refresh token, access token)
    let mut n = 0usize;
    while !load.rec.stopped() {
        n += 1;
        let t = Instant::now();
        let r = load
            .http
            .post(format!("{base}/oidc/token"))
            .basic_auth(&load.client_id, Some(&load.client_secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await;
        let ok = r.is_ok_and(|r| r.status().is_success());
        load.rec.note("grant", t, ok);
        if ok {
            load.grants.fetch_add(1, Ordering::Relaxed);
        }
        let Some((refresh, access)) = chain.take() else {
            chain = start_chain(load, &teacher).await;
            continue;
        };
        let t = Instant::now();
        let r = load
            .http
            .get(format!("{base}/oidc/userinfo"))
            .bearer_auth(&access)
            .send()
            .await;
        let ok = r.is_ok_and(|r| r.status().is_success());
        load.rec.note("userinfo", t, ok);
        if ok {
            load.userinfo.fetch_add(1, Ordering::Relaxed);
        }
        if n.is_multiple_of(3) {
            let t = Instant::now();
            let r = load
                .http
                .post(format!("{base}/oidc/token"))
                .basic_auth(&load.client_id, Some(&load.client_secret))
                .form(&[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", refresh.as_str()),
                ])
                .send()
                .await;
            match r {
                Ok(r) if r.status().is_success() => {
                    let v: serde_json::Value = r.json().await.unwrap_or_default();
                    let next = (
                        v["refresh_token"].as_str().unwrap_or_default().to_owned(),
                        v["access_token"].as_str().unwrap_or_default().to_owned(),
                    );
                    load.rec.note("refresh", t, !next.0.is_empty());
                    load.grants.fetch_add(1, Ordering::Relaxed);
                    chain = Some(next);
                }
                Ok(r) if r.status().is_client_error() => {
                    // The token was acknowledged when it was issued: refusing it now loses it.
                    load.rec.note("refresh", t, false);
                    load.refresh_lost.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(status = %r.status(), "cluster: an acknowledged refresh token was refused");
                }
                _ => {
                    // No answer: the rotation may have happened on a node that died; the
                    // family cannot be used again (a reuse would revoke it), so it is left.
                    load.rec.note("refresh", t, false);
                    if let Ok(mut v) = load.chains.lock() {
                        v.push(Chain {
                            token: refresh,
                            acked: false,
                        });
                    }
                }
            }
        } else {
            chain = Some((refresh, access));
        }
        load.pause(100).await;
    }
    if let Some((token, _)) = chain
        && let Ok(mut v) = load.chains.lock()
    {
        v.push(Chain { token, acked: true });
    }
}

/// Authorization code for the signed-in teacher (the application is trusted: no consent), then
/// its exchange.
async fn start_chain(load: &Load, teacher: &Session) -> Option<(String, String)> {
    let base = &load.base;
    let t = Instant::now();
    let r = load
        .http
        .get(format!("{base}/oidc/authorize"))
        .query(&[
            ("response_type", "code"),
            ("client_id", load.client_id.as_str()),
            ("redirect_uri", REDIRECT),
            ("scope", "openid profile"),
            ("state", "cluster"),
            ("nonce", "cluster"),
        ])
        .header("cookie", &teacher.cookie)
        .send()
        .await
        .ok()?;
    let code = r
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .and_then(|l| url::Url::parse(l).ok())
        .and_then(|u| {
            u.query_pairs()
                .find(|(k, _)| k == "code")
                .map(|(_, v)| v.into_owned())
        });
    load.rec.note("authorize", t, code.is_some());
    let code = code?;
    let t = Instant::now();
    let r = load
        .http
        .post(format!("{base}/oidc/token"))
        .basic_auth(&load.client_id, Some(&load.client_secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
        ])
        .send()
        .await
        .ok()
        .filter(|r| r.status().is_success());
    load.rec.note("exchange", t, r.is_some());
    let v: serde_json::Value = r?.json().await.ok()?;
    load.grants.fetch_add(1, Ordering::Relaxed);
    Some((
        v["refresh_token"].as_str()?.to_owned(),
        v["access_token"].as_str()?.to_owned(),
    ))
}

/// A teacher uploads text files of three chunks through the resumable API and makes each a
/// library resource. A chunk or step without an answer is resumed the way the page does it:
/// ask the upload which chunks it holds and send the rest (to whichever node answers).
pub async fn upload(load: &Load, teacher: Session, worker: usize) {
    let mut n = 0usize;
    while !load.rec.stopped() {
        n += 1;
        let (title, bytes) = file(&format!("w{worker}n{n}"));
        if upload_one(load, &teacher, &title, &bytes, None)
            .await
            .is_none()
        {
            tracing::warn!(%title, "cluster: upload gave up");
        }
    }
}

/// A text file of three chunks with a title of its own.
pub fn file(tag: &str) -> (String, Vec<u8>) {
    let title = format!("集群资源 {tag} {}", uuid::Uuid::now_v7().simple());
    let mut body = String::new();
    let mut line = 0usize;
    while body.len() < 2_500_000 {
        line += 1;
        body.push_str(&format!("{title} 第 {line} 行：春眠不觉晓，处处闻啼鸟。\n"));
    }
    (title, body.into_bytes())
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Uploads `bytes` through nginx and makes them a resource, noted when acknowledged. With
/// `started`, the upload was begun elsewhere (on a node since killed) and is resumed: its id,
/// and the chunks sent there.
pub async fn upload_one(
    load: &Load,
    s: &Session,
    title: &str,
    bytes: &[u8],
    started: Option<(serde_json::Value, usize)>,
) -> Option<String> {
    let base = &load.base;
    let api = |m: reqwest::Method, path: String| {
        load.http
            .request(m, format!("{base}{path}"))
            .header("cookie", &s.cookie)
            .header("x-csrf-token", &s.csrf)
    };
    let resuming = started.is_some();
    let (mut view, sent) = match started {
        Some((v, sent)) => (Some(v), sent),
        None => (None, 0),
    };
    for _ in 0..40 {
        if view.is_some() {
            break;
        }
        let t = Instant::now();
        let r = api(reqwest::Method::POST, "/api/v1/uploads".into())
            .json(&serde_json::json!({ "file_name": "集群.txt", "size": bytes.len() }))
            .send()
            .await;
        let ok = matches!(&r, Ok(r) if r.status() == reqwest::StatusCode::CREATED);
        load.rec.note("upload", t, ok);
        if ok {
            view = r.ok()?.json().await.ok();
            break;
        }
        load.pause(500).await;
    }
    let view = view?;
    let id = view["id"].as_str()?.to_owned();
    let chunk = view["chunk_size"].as_u64()? as usize;
    let chunks = bytes.len().div_ceil(chunk);
    let mut resumed = resuming;
    let mut done = vec![false; chunks];
    for d in done.iter_mut().take(sent) {
        *d = true;
    }
    if resuming {
        // The page asks the upload which chunks it holds before it sends the rest.
        let r = api(reqwest::Method::GET, format!("/api/v1/uploads/{id}"))
            .send()
            .await
            .ok()?;
        let v: serde_json::Value = r.json().await.ok()?;
        let held = v["received"].as_array().map_or(0, Vec::len);
        if held != sent {
            tracing::warn!(held, sent, "cluster: the resumed upload lost chunks");
            return None;
        }
    }
    for _ in 0..40 {
        for (i, piece) in bytes.chunks(chunk).enumerate() {
            if done[i] {
                continue;
            }
            let t = Instant::now();
            let r = api(
                reqwest::Method::PUT,
                format!("/api/v1/uploads/{id}/chunks/{i}"),
            )
            .body(piece.to_vec())
            .send()
            .await;
            let ok = r.is_ok_and(|r| r.status().is_success());
            load.rec.note("chunk", t, ok);
            if ok {
                done[i] = true;
                load.chunks.fetch_add(1, Ordering::Relaxed);
                load.pause(300).await;
            } else {
                resumed = true;
                break;
            }
        }
        if done.iter().all(|d| *d) {
            break;
        }
        // Resume: which chunks does the upload hold?
        load.pause(500).await;
        if let Ok(r) = api(reqwest::Method::GET, format!("/api/v1/uploads/{id}"))
            .send()
            .await
            && r.status().is_success()
            && let Ok(v) = r.json::<serde_json::Value>().await
        {
            let held: Vec<u64> = v["received"]
                .as_array()
                .map(|a| a.iter().filter_map(|x| x.as_u64()).collect())
                .unwrap_or_default();
            for (i, d) in done.iter_mut().enumerate() {
                *d = held.contains(&(i as u64));
            }
        }
    }
    if resumed {
        load.uploads_resumed.fetch_add(1, Ordering::Relaxed);
    }
    let mut blob = None;
    for _ in 0..120 {
        let t = Instant::now();
        let r = api(
            reqwest::Method::POST,
            format!("/api/v1/uploads/{id}/complete"),
        )
        .send()
        .await;
        let v: Option<serde_json::Value> = match r {
            Ok(r) if r.status().is_success() => r.json().await.ok(),
            _ => None,
        };
        load.rec.note("complete", t, v.is_some());
        if let Some(h) = v
            .as_ref()
            .filter(|v| v["state"] == "complete")
            .and_then(|v| v["blob"]["hash"].as_str())
        {
            blob = Some(h.to_owned());
            break;
        }
        load.pause(500).await;
    }
    let blob = blob?;
    let form = reqwest::multipart::Form::new()
        .text("csrf", s.csrf.clone())
        .text("title", title.to_owned())
        .text("kind", "material")
        .text("catalog_ids", load.catalog.clone())
        .text("upload_id", id.clone())
        .text("description", "多节点测试上传的资源。");
    let t = Instant::now();
    let r = load
        .http
        .post(format!("{base}/library/new"))
        .header("cookie", &s.cookie)
        .multipart(form)
        .send()
        .await
        .ok()?;
    let resource = (r.status() == reqwest::StatusCode::SEE_OTHER)
        .then(|| location_id(&r, "/library/r/"))
        .flatten();
    load.rec.note("resource", t, resource.is_some());
    let id = resource?;
    if let Ok(mut v) = load.resources.lock() {
        v.push(Uploaded {
            id: id.clone(),
            title: title.to_owned(),
            owner: s.username.clone(),
            sent: hex(&Sha256::digest(bytes)),
            stored: blob,
        });
    }
    Some(id)
}

/// Searches the library as a teacher.
pub async fn search(load: &Load, s: Session) {
    let words = ["集群资源", "春眠", "处处闻啼鸟", "资源"];
    let mut n = 0usize;
    while !load.rec.stopped() {
        n += 1;
        let t = Instant::now();
        let r = load
            .http
            .get(format!("{}/api/v1/resources/search", load.base))
            .query(&[("q", words[n % words.len()])])
            .header("cookie", &s.cookie)
            .send()
            .await;
        let ok = r.is_ok_and(|r| r.status().is_success());
        load.rec.note("search", t, ok);
        if ok {
            load.searches.fetch_add(1, Ordering::Relaxed);
        }
        load.pause(200).await;
    }
}

/// The district's administrator sends a notice to all its guardians every few seconds.
pub async fn notices(load: &Load, admin: Session) {
    let mut n = 0usize;
    while !load.rec.stopped() {
        n += 1;
        let title = format!(
            "集群通知第{n}号 {}",
            &uuid::Uuid::now_v7().simple().to_string()[20..]
        );
        let target = format!("{}:guardians", load.district);
        let t = Instant::now();
        let r = load
            .http
            .post(format!("{}/notices/new", load.base))
            .header("cookie", &admin.cookie)
            .form(&[
                ("csrf", admin.csrf.as_str()),
                ("kind", "notice"),
                ("title", title.as_str()),
                ("body", "请各位家长关注孩子的假期安全。"),
                ("target", target.as_str()),
            ])
            .send()
            .await;
        let id = match &r {
            Ok(r) if r.status() == reqwest::StatusCode::SEE_OTHER => location_id(r, "/notices/"),
            _ => None,
        };
        load.rec.note("notice", t, id.is_some());
        if let Some(id) = id
            && let Ok(mut v) = load.notices.lock()
        {
            v.push((id, title));
        }
        load.pause(4000).await;
    }
}

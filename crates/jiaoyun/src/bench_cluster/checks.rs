//! After the kill: every acknowledged write looked for in the database and on the nodes, and
//! the report of figures and checks.

use super::load::{Load, Uploaded};
use super::web::{Record, location_id, login, pct};
use kernel::{AppError, AppResult, AppState, ImportId, NodeId, on_db};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// Figures and checks as they are found; printed at once, kept for the JSON.
#[derive(Default)]
pub struct Report {
    phases: Vec<Value>,
    figures: serde_json::Map<String, Value>,
    checks: Vec<Value>,
    failed: Vec<String>,
}

impl Report {
    pub fn check(&mut self, name: &str, ok: bool, counts: Value) {
        println!("  {} {name}: {}", if ok { "ok  " } else { "FAIL" }, counts);
        if !ok {
            self.failed.push(format!("{name} {counts}"));
        }
        self.checks
            .push(json!({ "check": name, "ok": ok, "counts": counts }));
    }

    pub fn figure(&mut self, name: &str, v: f64) {
        self.figures.insert(name.into(), json!(v));
    }

    pub fn memory(&mut self, when: &str, mib: &[f64]) {
        let text: Vec<String> = mib.iter().map(|m| format!("{m:.0} MiB")).collect();
        println!("  resident memory, {when}: {}", text.join(", "));
        self.figures.insert(format!("rss_mib {when}"), json!(mib));
    }

    /// Throughput and latency of each phase, over all requests and per kind.
    pub fn phases(&mut self, rec: &Record, both: Duration, one: Duration) {
        let samples = rec.samples();
        for (phase, name, d) in [(0, "both nodes", both), (1, "one node", one)] {
            let of: Vec<_> = samples.iter().filter(|s| s.phase == phase).collect();
            let mut ok: Vec<f64> = of.iter().filter(|s| s.ok).map(|s| s.ms).collect();
            ok.sort_by(|a, b| a.total_cmp(b));
            let failed = of.len() - ok.len();
            let secs = d.as_secs_f64().max(0.001);
            println!(
                "  {name}: {} requests answered in {secs:.0} s = {:.0}/s; p50 {:.0} ms, p99 {:.0} ms; {failed} without a good answer",
                ok.len(),
                ok.len() as f64 / secs,
                pct(&ok, 0.5),
                pct(&ok, 0.99)
            );
            let mut ops: Vec<&str> = of.iter().map(|s| s.op).collect();
            ops.sort_unstable();
            ops.dedup();
            let mut per = serde_json::Map::new();
            let mut line = Vec::new();
            for op in ops {
                let mut l: Vec<f64> = of
                    .iter()
                    .filter(|s| s.op == op && s.ok)
                    .map(|s| s.ms)
                    .collect();
                l.sort_by(|a, b| a.total_cmp(b));
                let bad = of.iter().filter(|s| s.op == op && !s.ok).count();
                line.push(format!(
                    "{op} {} (p99 {:.0} ms, {bad} failed)",
                    l.len(),
                    pct(&l, 0.99)
                ));
                per.insert(
                    op.into(),
                    json!({ "ok": l.len(), "failed": bad, "p99_ms": pct(&l, 0.99) }),
                );
            }
            println!("    {}", line.join(", "));
            self.phases.push(json!({
                "phase": name, "seconds": secs, "answered": ok.len(), "failed": failed,
                "per_second": ok.len() as f64 / secs, "p50_ms": pct(&ok, 0.5), "p99_ms": pct(&ok, 0.99),
                "ops": per,
            }));
        }
    }

    pub fn finish(self) -> Value {
        json!({
            "phases": self.phases,
            "figures": self.figures,
            "checks": self.checks,
            "failed": self.failed,
        })
    }
}

/// The student import the killed node was committing.
pub struct Import {
    pub id: ImportId,
    pub school: NodeId,
    /// The school's students before the import.
    before: i64,
    good: std::sync::Mutex<i64>,
    admin: super::web::Session,
}

async fn students_of(state: &AppState, school: NodeId) -> AppResult<i64> {
    let (n,): (i64,) = on_db!(&state.db, p => sqlx::query_as(
        "SELECT COUNT(DISTINCT r.person_id) FROM role_assignments r JOIN org_nodes c ON c.id = r.node_id
         WHERE r.role = 'student' AND c.school_id = $1",
    ).bind(school).fetch_one(p).await)?;
    Ok(n)
}

async fn job_field(
    state: &AppState,
    id: ImportId,
) -> AppResult<(String, Option<String>, i64, i64)> {
    Ok(on_db!(&state.db, p => sqlx::query_as(
        "SELECT status, lease_node, attempts, good_rows FROM import_jobs WHERE id = $1",
    ).bind(id).fetch_one(p).await)?)
}

impl Import {
    /// A primary school outside the notices' district: its administrator uploads `students`
    /// students with their guardians (the import's own sample, as registry exports look).
    pub async fn upload(
        state: &AppState,
        http: &reqwest::Client,
        base: &str,
        dir: &std::path::Path,
        students: u64,
    ) -> AppResult<Self> {
        let school: Option<(NodeId,)> = on_db!(&state.db, p => sqlx::query_as(
            "SELECT n.id FROM org_nodes n WHERE n.kind = 'school' AND n.stages LIKE '%primary%'
               AND NOT EXISTS (SELECT 1 FROM org_closure c JOIN org_nodes d ON d.id = c.ancestor_id
                               WHERE c.descendant_id = n.id AND d.code = '330102')
             ORDER BY n.code LIMIT 1",
        ).fetch_optional(p).await)?;
        let (school,) = school
            .ok_or_else(|| AppError::internal("no primary school outside 330102 in the demo"))?;
        let admin = match login(http, base, "city_admin", super::load::PASSWORD).await {
            super::web::Login::Ok(s) => s,
            _ => return Err(AppError::internal("city_admin cannot sign in")),
        };
        let file = dir.join("students.csv");
        directory::import::sample::write_csv(&file, 0..students, false, None)
            .map_err(AppError::internal)?;
        let bytes = std::fs::read(&file).map_err(AppError::internal)?;
        let form = reqwest::multipart::Form::new()
            .text("csrf", admin.csrf.clone())
            .text("kind", "students")
            .part(
                "file",
                reqwest::multipart::Part::bytes(bytes)
                    .file_name("学生名单.csv")
                    .mime_str("text/csv")
                    .map_err(AppError::internal)?,
            );
        let before = students_of(state, school).await?;
        let r = http
            .post(format!("{base}/admin/org/{school}/imports"))
            .header("cookie", &admin.cookie)
            .multipart(form)
            .send()
            .await
            .map_err(AppError::internal)?;
        let id = location_id(&r, "/admin/imports/")
            .and_then(|i| i.parse().ok())
            .ok_or_else(|| {
                AppError::internal(format!("the import upload answered {}", r.status()))
            })?;
        Ok(Self {
            id,
            school,
            before,
            good: std::sync::Mutex::new(0),
            admin,
        })
    }

    async fn wait_for(
        &self,
        state: &AppState,
        limit: Duration,
        done: impl Fn(&str, Option<&str>) -> bool,
    ) -> AppResult<(String, Option<String>)> {
        let t = Instant::now();
        loop {
            let (status, node, _, good) = job_field(state, self.id).await?;
            if let Ok(mut g) = self.good.lock() {
                *g = good;
            }
            if done(&status, node.as_deref()) {
                return Ok((status, node));
            }
            if status == "failed" || t.elapsed() > limit {
                return Err(AppError::internal(format!(
                    "the import is {status} after {:.0} s",
                    t.elapsed().as_secs_f64()
                )));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn wait_checked(&self, state: &AppState, limit: Duration) -> AppResult<()> {
        self.wait_for(state, limit, |s, _| s == "checked")
            .await
            .map(|_| ())
    }

    pub async fn commit(&self, http: &reqwest::Client, base: &str) -> AppResult<()> {
        let r = http
            .post(format!("{base}/admin/imports/{}/commit", self.id))
            .header("cookie", &self.admin.cookie)
            .form(&[("csrf", self.admin.csrf.as_str()), ("partial", "1")])
            .send()
            .await
            .map_err(AppError::internal)?;
        if r.status() != reqwest::StatusCode::SEE_OTHER {
            return Err(AppError::internal(format!(
                "the commit answered {}",
                r.status()
            )));
        }
        Ok(())
    }

    /// The node holding the commit, once it runs.
    pub async fn running_on(&self, state: &AppState, limit: Duration) -> AppResult<String> {
        let (status, node) = self
            .wait_for(state, limit, |s, n| {
                s == "committing" && n.is_some() || s == "done"
            })
            .await?;
        match (status.as_str(), node) {
            ("committing", Some(n)) => Ok(n),
            _ => Err(AppError::internal(
                "the import was done before a node could be killed under it: give more --students",
            )),
        }
    }

    pub async fn wait_done(&self, state: &AppState, limit: Duration) -> AppResult<Duration> {
        let t = Instant::now();
        self.wait_for(state, limit, |s, _| s == "done").await?;
        Ok(t.elapsed())
    }
}

/// Waits until `f` says yes (checked every 200 ms), at most `limit`.
async fn until<F, Fut>(limit: Duration, mut f: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let t = Instant::now();
    loop {
        if f().await {
            return true;
        }
        if t.elapsed() > limit {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Whether `node` finds the resource by its title.
async fn finds(http: &reqwest::Client, node: &str, cookie: &str, id: &str, title: &str) -> bool {
    let r = http
        .get(format!("{node}/api/v1/resources/search"))
        .query(&[("q", title), ("per_page", "100")])
        .header("cookie", cookie)
        .send()
        .await;
    let Ok(r) = r else { return false };
    let v: Value = r.json().await.unwrap_or_default();
    v["items"]
        .as_array()
        .is_some_and(|items| items.iter().any(|i| i["id"] == id))
}

/// How many of the resources `node` finds by their titles, each searched by its owner (a new
/// resource is theirs alone), waiting up to 30 s for the first and then for each.
async fn found_on(http: &reqwest::Client, node: &str, resources: &[Uploaded]) -> usize {
    let mut sessions: std::collections::HashMap<&str, String> = Default::default();
    let mut found = 0usize;
    for u in resources {
        if !sessions.contains_key(u.owner.as_str())
            && let super::web::Login::Ok(s) =
                login(http, node, &u.owner, super::load::PASSWORD).await
        {
            sessions.insert(&u.owner, s.cookie);
        }
        let Some(cookie) = sessions.get(u.owner.as_str()) else {
            continue;
        };
        if until(Duration::from_secs(30), || {
            finds(http, node, cookie, &u.id, &u.title)
        })
        .await
        {
            found += 1;
        }
    }
    found
}

/// How many of the sessions open a page through `base`.
async fn alive_on(http: &reqwest::Client, base: &str, sessions: &[super::web::Session]) -> usize {
    let mut alive = 0usize;
    for s in sessions {
        let r = http
            .get(format!("{base}/api/v1/me"))
            .header("cookie", &s.cookie)
            .send()
            .await;
        if r.is_ok_and(|r| r.status().is_success()) {
            alive += 1;
        }
    }
    alive
}

/// Every check after the load, against the database and the surviving node.
pub async fn all(
    report: &mut Report,
    state: &AppState,
    load: &Load,
    import: &Import,
    survivor: &str,
    http: &reqwest::Client,
    cluster: &super::Cluster,
) -> AppResult<()> {
    use std::sync::atomic::Ordering::Relaxed;
    let base = &load.base;

    // Sessions: each one acknowledged (and not signed out) still opens a page.
    let sessions = load.sessions.lock().map(|v| v.clone()).unwrap_or_default();
    let alive = alive_on(http, base, &sessions).await;
    report.check(
        "sessions continue on the surviving node",
        alive == sessions.len() && load.sessions_dropped.load(Relaxed) == 0,
        json!({ "logins": load.logins.load(Relaxed), "kept": sessions.len(), "alive": alive,
                "signed_out": load.logouts.load(Relaxed), "pages": load.page_views.load(Relaxed),
                "pages_sent_to_login": load.sessions_dropped.load(Relaxed) }),
    );

    // Answers: the last acknowledged text of each (student, position) is the stored one, or
    // one sent after it whose answer was lost.
    let test: uuid::Uuid = load.test.parse().map_err(AppError::internal)?;
    let stored: Vec<(String, i64, String)> = on_db!(&state.db, p => sqlx::query_as(
        "SELECT a.username, an.position, an.response FROM answers an
         JOIN submissions s ON s.id = an.submission_id JOIN accounts a ON a.person_id = s.student_id
         WHERE s.assignment_id = $1",
    ).bind(test).fetch_all(p).await)?;
    let stored: std::collections::HashMap<(String, i64), String> =
        stored.into_iter().map(|(u, p, r)| ((u, p), r)).collect();
    let (mut kept, mut lost) = (0usize, 0usize);
    if let Ok(answers) = load.answers.lock() {
        for (key, a) in answers.iter() {
            let Some(acked) = &a.acked else { continue };
            let have = stored.get(key).map(String::as_str).unwrap_or("");
            if have.contains(acked.as_str()) || a.after.iter().any(|t| have.contains(t.as_str())) {
                kept += 1;
            } else {
                lost += 1;
            }
        }
    }
    report.check(
        "no saved answer is lost",
        lost == 0 && kept > 0,
        json!({ "saves_acknowledged": load.saves.load(Relaxed), "answers_checked": kept + lost,
                "lost": lost, "students_started": load.starts.load(Relaxed) }),
    );

    // Token grants: every family whose last rotation was answered refreshes again.
    let chains: Vec<(String, bool)> = load
        .chains
        .lock()
        .map(|v| v.iter().map(|c| (c.token.clone(), c.acked)).collect())
        .unwrap_or_default();
    let mut refreshed = 0usize;
    let acked: Vec<&String> = chains.iter().filter(|c| c.1).map(|c| &c.0).collect();
    for token in &acked {
        let r = http
            .post(format!("{base}/oidc/token"))
            .basic_auth(&load.client_id, Some(&load.client_secret))
            .form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", token.as_str()),
            ])
            .send()
            .await;
        if r.is_ok_and(|r| r.status().is_success()) {
            refreshed += 1;
        }
    }
    let refresh_lost = load.refresh_lost.load(Relaxed);
    report.check(
        "token grants and refresh tokens survive",
        refreshed == acked.len() && refresh_lost == 0 && load.grants.load(Relaxed) > 0,
        json!({ "grants": load.grants.load(Relaxed), "userinfo": load.userinfo.load(Relaxed),
                "families_checked": acked.len(), "refreshed": refreshed,
                "families_left_unanswered": chains.len() - acked.len(), "refused_after_ack": refresh_lost }),
    );

    // Uploads: every resource acknowledged is stored, with the bytes that were sent.
    let resources = load.resources.lock().map(|v| v.clone()).unwrap_or_default();
    let mut stored_ok = 0usize;
    for u in &resources {
        let id: uuid::Uuid = u.id.parse().map_err(AppError::internal)?;
        let row: Option<(String,)> = on_db!(&state.db, p => sqlx::query_as(
            "SELECT blob_hash FROM resources WHERE id = $1",
        ).bind(id).fetch_optional(p).await)?;
        if row.is_some_and(|r| r.0 == u.sent) && u.stored == u.sent {
            stored_ok += 1;
        }
    }
    report.check(
        "every upload acknowledged is stored whole; interrupted ones resumed",
        stored_ok == resources.len() && !resources.is_empty(),
        json!({ "resources": resources.len(), "stored_with_their_bytes": stored_ok,
                "chunks": load.chunks.load(Relaxed), "uploads_resumed": load.uploads_resumed.load(Relaxed) }),
    );

    // Search: the surviving node's index has every resource.
    let found = found_on(http, survivor, &resources).await;
    report.check(
        "the surviving node's search index has every change",
        found == resources.len(),
        json!({ "resources": resources.len(), "found": found, "searches": load.searches.load(Relaxed) }),
    );

    // The import: taken over after its lease, committed once, every good row in.
    let (status, node, attempts, good) = job_field(state, import.id).await?;
    let after = students_of(state, import.school).await?;
    let (commits,): (i64,) = on_db!(&state.db, p => sqlx::query_as(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'import.commit' AND object_id = $1",
    ).bind(import.id.to_string()).fetch_one(p).await)?;
    report.check(
        "the interrupted import is taken over and committed once",
        status == "done"
            && node.is_none()
            && attempts >= 2
            && after - import.before == good
            && commits == 1,
        json!({ "status": status, "attempts": attempts, "good_rows": good,
                "students_added": after - import.before, "commit_audit_records": commits }),
    );

    // Notices: every one (acknowledged or not) expanded once and delivered once per channel.
    let all_sent = until(Duration::from_secs(120), || async {
        let open: Result<(i64,), _> = on_db!(&state.db, p => sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM notices WHERE title LIKE '集群通知%' AND state <> 'sent')
                  + (SELECT COUNT(*) FROM outbox WHERE dedup_key IN
                        (SELECT 'notice:' || CAST(id AS TEXT) FROM notices WHERE title LIKE '集群通知%')
                      AND state <> 'sent')",
        ).fetch_one(p).await);
        open.is_ok_and(|o| o.0 == 0)
    })
    .await;
    let notices: Vec<(String, String, i64)> = on_db!(&state.db, p => sqlx::query_as(
        "SELECT CAST(id AS TEXT), title, recipients FROM notices WHERE title LIKE '集群通知%' ORDER BY created_at",
    ).fetch_all(p).await)?;
    let district: NodeId = load.district.parse().map_err(AppError::internal)?;
    let (guardians,): (i64,) = on_db!(&state.db, p => sqlx::query_as(
        "SELECT COUNT(DISTINCT g.person_id) FROM org_closure c
         JOIN role_assignments s ON s.node_id = c.descendant_id AND s.role = 'student'
         JOIN role_assignments g ON g.student_id = s.person_id AND g.role = 'guardian'
         WHERE c.ancestor_id = $1",
    ).bind(district).fetch_one(p).await)?;
    let (mut expanded_ok, mut delivered_once) = (0usize, 0usize);
    let mut duplicates = 0usize;
    let mut missing = 0usize;
    let acked_ids: Vec<String> = load
        .notices
        .lock()
        .map(|v| v.iter().map(|n| n.0.clone()).collect())
        .unwrap_or_default();
    let wecom = cluster.wecom.delivered();
    let dingtalk = cluster.dingtalk.delivered();
    for (id, title, recipients) in &notices {
        let (rows,): (i64,) = on_db!(&state.db, p => sqlx::query_as(
            "SELECT COUNT(*) FROM notice_recipients WHERE notice_id = CAST($1 AS UUID)",
        ).bind(id).fetch_one(p).await)?;
        if *recipients == guardians && rows == guardians {
            expanded_ok += 1;
        }
        let mut once = true;
        for got in [&wecom, &dingtalk] {
            let mut per: std::collections::HashMap<&str, usize> = Default::default();
            for (user, t) in got.iter().filter(|(_, t)| t.contains(title.as_str())) {
                *per.entry(user.as_str()).or_default() += 1;
                let _ = t;
            }
            duplicates += per.values().filter(|n| **n > 1).count();
            missing += (guardians as usize).saturating_sub(per.len());
            once &= per.len() == guardians as usize && per.values().all(|n| *n == 1);
        }
        if once {
            delivered_once += 1;
        }
    }
    let acked_found = acked_ids
        .iter()
        .filter(|a| notices.iter().any(|n| &n.0 == *a))
        .count();
    report.check(
        "every notice is expanded once and delivered once per channel",
        all_sent
            && !notices.is_empty()
            && acked_found == acked_ids.len()
            && expanded_ok == notices.len()
            && delivered_once == notices.len(),
        json!({ "notices_acknowledged": acked_ids.len(), "notices_stored": notices.len(),
                "guardians_each": guardians, "expanded_once": expanded_ok, "delivered_once_per_channel": delivered_once,
                "wecom_messages": wecom.len(), "dingtalk_messages": dingtalk.len(),
                "duplicates": duplicates, "missing": missing, "outbox_all_sent": all_sent }),
    );
    Ok(())
}

/// The restarted node: sessions open on it directly and its index catches up.
pub async fn caught_up(report: &mut Report, load: &Load, node: &str, http: &reqwest::Client) {
    let sessions = load.sessions.lock().map(|v| v.clone()).unwrap_or_default();
    let alive = alive_on(http, node, &sessions).await;
    let resources = load.resources.lock().map(|v| v.clone()).unwrap_or_default();
    let t = Instant::now();
    let found = found_on(http, node, &resources).await;
    report.figure("catch_up_seconds", t.elapsed().as_secs_f64());
    report.check(
        "the restarted node serves the sessions and its index catches up",
        alive == sessions.len() && found == resources.len(),
        json!({ "sessions": sessions.len(), "alive": alive, "resources": resources.len(), "found": found,
                "seconds": t.elapsed().as_secs_f64() }),
    );
}

/// Object storage stops answering (moto hung with SIGSTOP): an upload's chunk fails with a clear
/// 503 within the store's timeouts, and the upload resumes once the store is back.
pub async fn store_outage(report: &mut Report, load: &Load, s3: &super::procs::S3Server) {
    let Some(s) = load.sign_in("teacher").await else {
        report.check(
            "uploads fail clearly while object storage is down",
            false,
            json!("no session"),
        );
        return;
    };
    let base = &load.base;
    let (title, bytes) = super::load::file("outage");
    let view: Value = match load
        .http
        .post(format!("{base}/api/v1/uploads"))
        .header("cookie", &s.cookie)
        .header("x-csrf-token", &s.csrf)
        .json(&json!({ "file_name": "集群.txt", "size": bytes.len() }))
        .send()
        .await
    {
        Ok(r) => r.json().await.unwrap_or_default(),
        Err(_) => Value::Null,
    };
    let (Some(id), Some(chunk)) = (view["id"].as_str(), view["chunk_size"].as_u64()) else {
        report.check(
            "uploads fail clearly while object storage is down",
            false,
            view,
        );
        return;
    };
    s3.pause();
    let t = Instant::now();
    let r = load
        .http
        .put(format!("{base}/api/v1/uploads/{id}/chunks/0"))
        .header("cookie", &s.cookie)
        .header("x-csrf-token", &s.csrf)
        .body(bytes[..chunk as usize].to_vec())
        .send()
        .await;
    let failed_in = t.elapsed().as_secs_f64();
    let (status, code) = match r {
        Ok(r) => {
            let status = r.status().as_u16();
            let v: Value = r.json().await.unwrap_or_default();
            (
                status,
                v["error"]["code"].as_str().unwrap_or_default().to_owned(),
            )
        }
        Err(e) => (0, e.to_string()),
    };
    s3.resume();
    let resumed = super::load::upload_one(load, &s, &title, &bytes, Some((view.clone(), 0))).await;
    report.figure("store_outage_failed_in_seconds", failed_in);
    report.check(
        "uploads fail clearly while object storage is down and resume after",
        status == 503 && code == "unavailable" && failed_in < 30.0 && resumed.is_some(),
        json!({ "status": status, "code": code, "seconds": failed_in, "resumed_as": resumed }),
    );
}

//! `jiaoyun bench cluster`: the platform as a city runs it, on this machine. Two `jiaoyun serve`
//! nodes on one PostgreSQL database (a fresh one, dropped at the end), files in a real
//! S3-compatible server (moto), notices delivered to WeCom and DingTalk endpoints that count
//! what they receive, and nginx in front. A mixed load runs through nginx with both nodes;
//! then the node that is committing a student import is killed with SIGKILL and the load goes
//! on against the other. Afterwards every acknowledged write is looked for in the database and
//! on the surviving node; the killed node is started again and must catch up. Prints the
//! throughput and p99 of each phase and the checks' counts (also as JSON with `--json`); any
//! check that fails makes the command fail, so CI runs it as the multi-node test.

mod checks;
mod load;
mod procs;
mod web;

use kernel::actor::Via;
use kernel::{Actor, AppError, AppResult, AppState, Clock, Config, Ctx, RequestMeta, on_db};
use load::Load;
use procs::{Nginx, Node, S3Server};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(clap::Args)]
pub struct Opts {
    /// Seconds of load with both nodes, and at least as many with one.
    #[arg(long, default_value_t = 30)]
    pub seconds: u64,
    /// Students in the import that is running when the node is killed.
    #[arg(long, default_value_t = 20_000)]
    pub students: u64,
    /// Concurrent people signing in and reading pages.
    #[arg(long, default_value_t = 6)]
    pub browsers: usize,
    /// Write the figures and counts here as JSON.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Keep the run's folder (logs, configuration) and database.
    #[arg(long)]
    pub keep: bool,
}

pub async fn run(config: Config, opts: Opts) -> AppResult<()> {
    if !config.database_url.starts_with("postgres") {
        return Err(AppError::internal(
            "bench cluster runs several nodes on one PostgreSQL database: give --database-url postgres://…",
        ));
    }
    let (fresh, cfg) = crate::bench::fresh_db("cluster", &config).await?;
    let dir = std::env::temp_dir().join(format!("jy-cluster-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).map_err(AppError::internal)?;
    println!("  run folder {}", dir.display());
    let result = Cluster::run(&cfg, &dir, &opts).await;
    if opts.keep {
        println!(
            "  kept: {} and {}",
            dir.display(),
            kernel::db::redact_url(&fresh.url)
        );
        std::mem::forget(fresh);
    } else {
        fresh.drop_db().await;
        let _ = std::fs::remove_dir_all(&dir);
    }
    let report = result?;
    if let Some(path) = &opts.json {
        let text = serde_json::to_string_pretty(&report).map_err(AppError::internal)?;
        std::fs::write(path, text).map_err(AppError::internal)?;
    }
    match report["failed"].as_array() {
        Some(f) if !f.is_empty() => Err(AppError::internal(format!(
            "cluster checks failed: {}",
            f.iter()
                .filter_map(|x| x.as_str())
                .collect::<Vec<_>>()
                .join("; ")
        ))),
        _ => Ok(()),
    }
}

/// The running cluster: its processes and the benchmark's own handle on the database.
struct Cluster {
    state: AppState,
    s3: S3Server,
    nginx: Nginx,
    nodes: Vec<Node>,
    wecom: channels::fake::Fake,
    dingtalk: channels::fake::Fake,
    fakes: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for f in &self.fakes {
            f.abort();
        }
    }
}

/// Creates an upload on `node` itself and sends its first chunk there.
async fn begin_upload(
    http: &reqwest::Client,
    node: &str,
    s: &web::Session,
    bytes: &[u8],
) -> AppResult<serde_json::Value> {
    let r = http
        .post(format!("{node}/api/v1/uploads"))
        .header("cookie", &s.cookie)
        .header("x-csrf-token", &s.csrf)
        .json(&serde_json::json!({ "file_name": "集群.txt", "size": bytes.len() }))
        .send()
        .await
        .map_err(AppError::internal)?;
    let view: serde_json::Value = r.json().await.map_err(AppError::internal)?;
    let (Some(id), Some(chunk)) = (view["id"].as_str(), view["chunk_size"].as_u64()) else {
        return Err(AppError::internal(format!(
            "the upload was refused: {view}"
        )));
    };
    let r = http
        .put(format!("{node}/api/v1/uploads/{id}/chunks/0"))
        .header("cookie", &s.cookie)
        .header("x-csrf-token", &s.csrf)
        .body(bytes[..chunk as usize].to_vec())
        .send()
        .await
        .map_err(AppError::internal)?;
    if !r.status().is_success() {
        return Err(AppError::internal(format!(
            "the first chunk answered {}",
            r.status()
        )));
    }
    Ok(view)
}

async fn serve_fake(router: axum::Router) -> AppResult<(u16, tokio::task::JoinHandle<()>)> {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(AppError::internal)?;
    let port = l.local_addr().map_err(AppError::internal)?.port();
    Ok((
        port,
        tokio::spawn(async move {
            let _ = axum::serve(l, router).await;
        }),
    ))
}

impl Cluster {
    async fn run(cfg: &Config, dir: &std::path::Path, opts: &Opts) -> AppResult<serde_json::Value> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(60))
            .pool_max_idle_per_host(64)
            .build()
            .map_err(AppError::internal)?;
        let t = Instant::now();
        let mut cluster = Self::start(cfg, dir, &http).await?;
        println!(
            "  cluster up in {:.0} s: nodes {} and {} behind nginx at {}, files in moto at {}",
            t.elapsed().as_secs_f64(),
            cluster.nodes[0].url(),
            cluster.nodes[1].url(),
            cluster.nginx.url,
            cluster.s3.endpoint
        );
        let result = cluster.exercise(&http, dir, opts).await;
        if result.is_err() {
            for n in &cluster.nodes {
                eprintln!(
                    "--- the end of {}:\n{}",
                    n.proc.log.display(),
                    n.proc.tail()
                );
            }
        }
        for n in &mut cluster.nodes {
            n.proc.stop(Duration::from_secs(10));
        }
        result
    }

    async fn start(cfg: &Config, dir: &std::path::Path, http: &reqwest::Client) -> AppResult<Self> {
        let s3 = S3Server::start(http, dir).await?;
        let wecom = channels::fake::Fake::default();
        let dingtalk = channels::fake::Fake::default();
        let (wecom_port, a) = serve_fake(channels::fake::wecom(wecom.clone())).await?;
        let (ding_port, b) = serve_fake(channels::fake::dingtalk(dingtalk.clone())).await?;
        let public_port = procs::free_port()?;
        let public = format!("http://127.0.0.1:{public_port}");
        let shared = dir.join("shared");
        let common = format!(
            r#"database_url = "{db}"
database_max_connections = 12
data_dir = "{shared}"
public_url = "{public}"
trusted_proxies = ["127.0.0.1"]

[files]
store = "s3"
s3_bucket = "{bucket}"
s3_endpoint = "{s3}"
s3_access_key_id = "cluster"
s3_secret_access_key = "cluster"
chunk_bytes = 1048576

[notify]
rate_per_second = 500
poll_ms = 200

[notify.wecom]
corp_id = "wwcorp"
secret = "wecom-secret"
agent_id = 1000002
api = "http://127.0.0.1:{wecom_port}"

[notify.dingtalk]
app_key = "dingkey"
app_secret = "ding-secret"
agent_id = 2000001
api = "http://127.0.0.1:{ding_port}"
"#,
            db = cfg.database_url,
            shared = shared.display(),
            bucket = procs::BUCKET,
            s3 = s3.endpoint,
        );
        // The first node loads the demo region into the empty database; the second starts on it.
        let a_node = Node::start(http, dir, "node-a", "demo = true", &common).await?;
        let b_node = Node::start(http, dir, "node-b", "", &common).await?;
        let nginx = Nginx::start(http, dir, public_port, &[a_node.port, b_node.port]).await?;
        let mut own = cfg.clone();
        own.public_url = Some(public);
        let db = kernel::Db::connect(&own.database_url, 4).await?;
        let state = AppState::new(db, own, Clock::System);
        Ok(Self {
            state,
            s3,
            nginx,
            nodes: vec![a_node, b_node],
            wecom,
            dingtalk,
            fakes: vec![a, b],
        })
    }

    /// The fixtures the load needs that a person would have made beforehand: the guardians'
    /// WeCom and DingTalk ids, an application, a test with blank-filling items.
    async fn prepare(&self, load: &mut Load) -> AppResult<()> {
        let state = &self.state;
        let now = state.clock.now();
        let district: (kernel::NodeId,) = on_db!(&state.db, p => sqlx::query_as(
            "SELECT id FROM org_nodes WHERE kind = 'district' AND code = '330102'",
        ).fetch_one(p).await)?;
        load.district = district.0.to_string();
        for channel in ["wecom", "dingtalk"] {
            on_db!(&state.db, p => sqlx::query(
                "INSERT INTO channel_addresses (person_id, channel, address, created_at)
                 SELECT DISTINCT g.person_id, $2, 'u' || REPLACE(CAST(g.person_id AS TEXT), '-', ''), $3
                 FROM org_closure c
                 JOIN role_assignments s ON s.node_id = c.descendant_id AND s.role = 'student'
                 JOIN role_assignments g ON g.student_id = s.person_id AND g.role = 'guardian'
                 WHERE c.ancestor_id = $1",
            ).bind(district.0).bind(channel).bind(now).execute(p).await.map(|r| r.rows_affected()))?;
        }
        let city: (kernel::NodeId,) = on_db!(&state.db, p => sqlx::query_as(
            "SELECT id FROM org_nodes WHERE kind = 'city'",
        ).fetch_one(p).await)?;
        let meta = RequestMeta::cli();
        let app = sso::apps::register(
            state,
            &Actor::system(),
            &meta,
            sso::apps::NewApplication {
                redirect_uris: vec![load::REDIRECT.into()],
                grant_types: vec![
                    "authorization_code".into(),
                    "refresh_token".into(),
                    "client_credentials".into(),
                ],
                trusted: true,
                ..sso::apps::NewApplication::new(city.0, "oidc", "集群测试应用")
            },
        )
        .await?;
        load.client_id = app.client_id.unwrap_or_default();
        load.client_secret = app.client_secret.unwrap_or_default();

        // The demo teacher's class sits a test of five blank-filling items, open now.
        kernel::i18n::register(&teaching::CATALOGUES);
        let teacher = identity::accounts::find_by_username(&state.db, "teacher")
            .await?
            .ok_or_else(|| AppError::internal("demo teacher missing"))?
            .person_id;
        let actor = Actor::load(&state.db, teacher, Via::Session)
            .await?
            .ok_or_else(|| AppError::internal("demo teacher missing"))?;
        let cx = Ctx::new(state, &actor, &meta);
        let class: (kernel::NodeId,) = on_db!(&state.db, p => sqlx::query_as(
            "SELECT node_id FROM role_assignments WHERE person_id = $1 AND role = 'teacher' AND subject = '13'
             ORDER BY node_id LIMIT 1",
        ).bind(teacher).fetch_one(p).await)?;
        let place = teaching::items::bank::Place {
            stage: "primary".into(),
            subject: "13".into(),
            ..Default::default()
        };
        let mut items = Vec::new();
        for (k, word) in ["春", "夏", "秋", "冬", "雪"].iter().enumerate() {
            let d = teaching::items::form::Draft {
                kind: "blanks".into(),
                stem: format!("第 {} 题：写出“{word}”的拼音。", k + 1),
                answer: word.to_string(),
                points: "2".into(),
                difficulty: "2".into(),
                ..Default::default()
            };
            items.push(teaching::items::bank::create(&cx, &d, &place).await?);
        }
        let zone = state.config.time_zone;
        let draft = teaching::assignments::set::Draft {
            kind: "test".into(),
            subject: "13".into(),
            classes: vec![class.0],
            title: "集群测试·识字小测".into(),
            category: "quiz".into(),
            opens_at: zone.input(now),
            due_at: zone.input(now + chrono::Duration::hours(2)),
            late_policy: "refuse".into(),
            expected_minutes: "30".into(),
            items,
            time_limit: "60".into(),
            ..Default::default()
        };
        let (test, _) = teaching::assignments::set::create(&cx, &draft).await?;
        load.test = test.to_string();
        let positions: Vec<(i64,)> = on_db!(&state.db, p => sqlx::query_as(
            "SELECT position FROM assignment_items WHERE assignment_id = $1 ORDER BY position",
        ).bind(test).fetch_all(p).await)?;
        load.positions = positions.into_iter().map(|p| p.0).collect();
        let catalog: (kernel::CatalogId,) = on_db!(&state.db, p => sqlx::query_as(
            "SELECT id FROM catalog_nodes WHERE parent_id IS NULL AND active ORDER BY created_at LIMIT 1",
        ).fetch_one(p).await)?;
        load.catalog = catalog.0.to_string();

        // Everyone who signs in during the load, with the pages of their role.
        const STUDENT: &[&str] = &["/", "/teaching/homework", "/notices", "/spaces"];
        const GUARDIAN: &[&str] = &["/", "/notices", "/teaching/results", "/leave"];
        const TEACHER: &[&str] = &["/", "/teaching/assignments", "/library", "/notices"];
        let people: Vec<(String, String)> = on_db!(&state.db, p => sqlx::query_as(
            "SELECT a.username, MIN(r.role) FROM accounts a JOIN role_assignments r ON r.person_id = a.person_id
             WHERE r.role IN ('student', 'guardian', 'teacher') GROUP BY a.username ORDER BY a.username",
        ).fetch_all(p).await)?;
        load.accounts = people
            .into_iter()
            .map(|(u, role)| {
                let pages = match role.as_str() {
                    "student" => STUDENT,
                    "guardian" => GUARDIAN,
                    _ => TEACHER,
                };
                (u, pages)
            })
            .collect();
        Ok(())
    }

    async fn exercise(
        &mut self,
        http: &reqwest::Client,
        dir: &std::path::Path,
        opts: &Opts,
    ) -> AppResult<serde_json::Value> {
        let mut load = Load::new(http.clone(), self.nginx.url.clone());
        self.prepare(&mut load).await?;
        // One grant before the load: the first makes the signing key.
        let _ = http
            .post(format!("{}/oidc/token", load.base))
            .basic_auth(&load.client_id, Some(&load.client_secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await;
        let students: Vec<(String,)> = on_db!(&self.state.db, p => sqlx::query_as(
            "SELECT a.username FROM submissions s JOIN accounts a ON a.person_id = s.student_id
             WHERE s.assignment_id = $1 ORDER BY a.username",
        ).bind(load.test.parse::<uuid::Uuid>().map_err(AppError::internal)?).fetch_all(p).await)?;
        let load = Arc::new(load);
        let sign = |u: &str| {
            let (load, u) = (load.clone(), u.to_owned());
            async move {
                load.sign_in(&u)
                    .await
                    .ok_or_else(|| AppError::internal(format!("{u} cannot sign in")))
            }
        };
        let mut tasks = Vec::new();
        let t0 = Instant::now();
        for s in &students {
            let s = sign(&s.0).await?;
            let l = load.clone();
            tasks.push(tokio::spawn(async move { load::sit_test(&l, s).await }));
        }
        for w in 0..2 {
            let s = sign("teacher").await?;
            let l = load.clone();
            tasks.push(tokio::spawn(async move { load::tokens(&l, s).await }));
            let s = sign(if w == 0 { "teacher" } else { "school_admin" }).await?;
            let l = load.clone();
            tasks.push(tokio::spawn(async move { load::upload(&l, s, w).await }));
        }
        let s = sign("school_admin").await?;
        let l = load.clone();
        tasks.push(tokio::spawn(async move { load::search(&l, s).await }));
        let s = sign("district_admin").await?;
        let l = load.clone();
        tasks.push(tokio::spawn(async move { load::notices(&l, s).await }));
        for w in 0..opts.browsers {
            let l = load.clone();
            tasks.push(tokio::spawn(
                async move { load::browse(&l, w * 31 + 1).await },
            ));
        }
        println!(
            "  load running: {} students at a test, 2 token clients, 2 uploaders, a searcher, notices, {} people signing in",
            students.len(),
            opts.browsers
        );

        // The import: checked during the load, committed at its end; the node committing it
        // is the one killed.
        let import =
            checks::Import::upload(&self.state, http, &load.base, dir, opts.students).await?;
        import
            .wait_checked(&self.state, Duration::from_secs(600))
            .await?;
        let elapsed = t0.elapsed();
        if elapsed < Duration::from_secs(opts.seconds) {
            tokio::time::sleep(Duration::from_secs(opts.seconds) - elapsed).await;
        }
        let both_rss: Vec<f64> = self.nodes.iter().map(Node::rss_mib).collect();
        import.commit(http, &load.base).await?;
        let holder = import
            .running_on(&self.state, Duration::from_secs(120))
            .await?;
        tokio::time::sleep(Duration::from_secs(1)).await;
        let victim = self
            .nodes
            .iter()
            .position(|n| n.name == holder)
            .ok_or_else(|| {
                AppError::internal(format!("the import runs on an unknown node {holder}"))
            })?;
        // An upload begun on that node: its first chunk is there when it dies.
        let uploader = load
            .sign_in("teacher")
            .await
            .ok_or_else(|| AppError::internal("teacher cannot sign in"))?;
        let (title, bytes) = load::file("resumed");
        let begun = begin_upload(http, &self.nodes[victim].url(), &uploader, &bytes).await?;
        let phase0 = t0.elapsed();
        load.rec
            .phase
            .store(1, std::sync::atomic::Ordering::Relaxed);
        self.nodes[victim].proc.kill();
        let killed_at = Instant::now();
        println!(
            "  {:.0} s of load on both nodes; killed {holder} (SIGKILL) while it committed the import",
            phase0.as_secs_f64()
        );
        let survivor = 1 - victim;
        let resumed = load::upload_one(&load, &uploader, &title, &bytes, Some((begun, 1))).await;
        // One node carries the load until the import is taken over and done.
        let import_done = import
            .wait_done(&self.state, Duration::from_secs(300))
            .await;
        let elapsed = killed_at.elapsed();
        if elapsed < Duration::from_secs(opts.seconds) {
            tokio::time::sleep(Duration::from_secs(opts.seconds) - elapsed).await;
        }
        let phase1 = killed_at.elapsed();
        load.rec
            .stop
            .store(true, std::sync::atomic::Ordering::Relaxed);
        for t in tasks {
            let _ = t.await;
        }
        let import_done = import_done?;
        println!(
            "  {:.0} s on one node; the import was taken over and done {:.0} s after the kill",
            phase1.as_secs_f64(),
            import_done.as_secs_f64()
        );

        let mut report = checks::Report::default();
        report.phases(&load.rec, phase0, phase1);
        report.check(
            "an upload begun on the killed node resumes on the other",
            resumed.is_some(),
            serde_json::json!({ "resource": resumed }),
        );
        report.memory("both nodes under load", &both_rss);
        let live = &self.nodes[survivor];
        let survivor_rss = live.rss_mib();
        checks::all(
            &mut report,
            &self.state,
            &load,
            &import,
            &live.url(),
            http,
            self,
        )
        .await?;
        report.memory("the surviving node after the load", &[survivor_rss]);

        // The killed node comes back and catches up.
        let t = Instant::now();
        self.nodes[victim].restart(http).await?;
        let restart = t.elapsed();
        checks::caught_up(&mut report, &load, &self.nodes[victim].url(), http).await;
        report.figure("restart_seconds", restart.as_secs_f64());
        checks::store_outage(&mut report, &load, &self.s3).await;
        tokio::time::sleep(Duration::from_secs(10)).await;
        let idle: Vec<f64> = self.nodes.iter().map(Node::rss_mib).collect();
        report.memory("both nodes idle again", &idle);
        Ok(report.finish())
    }
}

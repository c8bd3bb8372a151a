//! `jiaoyun bench directory`: builds a city-sized organisation in a fresh database, starts the
//! real server, and measures three pages with concurrent HTTP clients. Prints numbers; never fails
//! on them.

use clap::{Subcommand, ValueEnum};
use directory::model::{Node, NodeKind, SchoolType, Stage};
use kernel::{
    AppError, AppResult, AppState, Clock, Config, NodeId, PersonId, RequestMeta, RoleId, Tx, on_tx,
};
use std::time::{Duration, Instant};

#[derive(Subcommand)]
pub enum BenchCommand {
    /// City-sized organisation: load time, peak memory, and req/s with p50/p99 for a teacher's
    /// home page, a class roster (JSON) and an administrator's people search.
    Directory {
        #[arg(long, value_enum, default_value = "city")]
        scale: Scale,
        /// Concurrent clients.
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
        /// Seconds per scenario and concurrency level.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Keep the generated database (and print where it is) instead of dropping it.
        #[arg(long)]
        keep: bool,
    },
    /// Single sign-on: req/s and p99 for password login (beside the raw Argon2id rate), code
    /// exchange, refresh, client credentials, UserInfo, JWKS and CAS serviceValidate, and the
    /// resident memory idle and under load.
    Identity {
        /// Concurrent clients.
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
        /// Seconds per scenario.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
    },
    /// Student import: generate students with one or two guardians each as CSV (GBK) and as
    /// XLSX, then check and commit each into a school; rows/s per step and peak memory.
    ///
    /// With `--schools`, a city instead: that many schools of `--school-size` students imported
    /// one after another into one database (CSV), with the commit rate at the start and at the
    /// end, beside a floor measured in the same run: the same rows written by the commit's own
    /// multi-row INSERTs with no lookups.
    Import {
        #[arg(long, default_value_t = 800_000)]
        students: u64,
        #[arg(long, value_enum, default_value = "both")]
        format: crate::bench_import::Formats,
        #[arg(long, default_value_t = 0)]
        schools: u64,
        #[arg(long, default_value_t = 2_000)]
        school_size: u64,
    },
    /// Upward flow: an upper and a lower instance paired over HTTP; the upper is offline while
    /// the lower imports students with their guardians (one change per student, so the default
    /// makes 100,000 changes); then the time for the upper to catch up.
    Exchange {
        #[arg(long, default_value_t = 100_000)]
        students: u64,
    },
    /// Home-school communication at city scale: a notice to every guardian of a district (the
    /// time the request takes, then the recipients worked out per second), read receipts per
    /// second under concurrent clients, a school's spaces opened in bulk, and p50/p99 of a
    /// class space and a guardian's home page.
    Spaces {
        #[arg(long, value_enum, default_value = "city")]
        scale: Scale,
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
        /// Seconds per scenario.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
    },
    /// A test for a whole grade: every student presses start within one second, then saves
    /// answers for a minute (about 1,000 a second): start latency, saves/s and their latency,
    /// answers lost (counted in the database), peak memory.
    Exam {
        #[arg(long, default_value_t = 3_000)]
        students: usize,
        /// Answers each student saves.
        #[arg(long, default_value_t = 20)]
        answers: usize,
        /// The window the answers are spread over.
        #[arg(long, default_value_t = 60)]
        seconds: u64,
    },
    /// Resource library: generate resources across the demo catalogue in a city of 101
    /// schools, then the indexing rate, index size, and searches/s with p50/p99 (plain and
    /// three-facet queries, two searchers) and peak memory.
    Resources {
        #[arg(long, default_value_t = 1_000_000)]
        resources: u64,
        /// Seconds per query set.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Keep the library (SQLite) and its index in this folder; reuse them if they are there.
        #[arg(long)]
        keep: Option<std::path::PathBuf>,
        /// Then upload this many 10 MB files through the chunked API and stream a video with
        /// concurrent range requests (0: skip).
        #[arg(long, default_value_t = 50)]
        files: usize,
    },
    /// Two nodes behind nginx on PostgreSQL and an S3 server (moto), under a mixed load; the
    /// node committing an import is killed with SIGKILL: throughput and p99 with both nodes and
    /// with one, and the counts of every acknowledged write found afterwards (fails if any is
    /// missing). Needs PostgreSQL (`--database-url`), nginx and `moto_server`.
    Cluster(crate::bench_cluster::Opts),
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Scale {
    /// 1 district, 10 schools (a quick check).
    Small,
    /// 10 districts, 1,000 schools, 20,000 classes, 40,000 teachers, 800,000 students, 1,200,000 guardians.
    City,
    /// Three cities' worth in one region (the simulation behind docs/scale.md): 30 districts,
    /// 3,000 schools, 2,400,000 students, 3,600,000 guardians.
    ThreeCities,
}

pub(crate) struct Shape {
    pub(crate) districts: usize,
    pub(crate) schools_per_district: usize,
    pub(crate) classes_per_school: usize,
    pub(crate) teachers_per_school: usize,
    pub(crate) students_per_class: usize,
}

impl Scale {
    pub(crate) fn shape(self) -> Shape {
        match self {
            Scale::Small => Shape {
                districts: 1,
                schools_per_district: 10,
                classes_per_school: 20,
                teachers_per_school: 40,
                students_per_class: 40,
            },
            Scale::ThreeCities => Shape {
                districts: 30,
                ..Scale::City.shape()
            },
            Scale::City => Shape {
                districts: 10,
                schools_per_district: 100,
                classes_per_school: 20,
                teachers_per_school: 40,
                students_per_class: 40,
            },
        }
    }
}

/// A memory figure of this process from /proc/self/status (`VmHWM:` peak, `VmRSS:` now, of it
/// `RssAnon:` the process's own and `RssFile:` mapped files, which the system may take back), in
/// MiB.
pub fn status_mib(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

pub fn peak_rss_mib() -> f64 {
    status_mib("VmHWM:")
}

/// A new database on the configured backend for a benchmark, and the config pointing at it.
pub(crate) async fn fresh_db(
    scenario: &str,
    config: &Config,
) -> AppResult<(kernel::testing::TestDb, Config)> {
    let pg = config
        .database_url
        .starts_with("postgres")
        .then(|| config.database_url.clone());
    let fresh = kernel::testing::fresh_db(pg, "jy_bench", crate::SCHEMAS).await?;
    println!(
        "bench {scenario} on {} ({})",
        fresh.db.backend(),
        kernel::db::redact_url(&fresh.url)
    );
    let mut cfg = config.clone();
    cfg.database_url = fresh.url.clone();
    Ok((fresh, cfg))
}

/// Runs a benchmark, then waits ten seconds and prints the process's resident memory, idle
/// again (docs/deployment.md, Memory).
pub async fn run(config: Config, cmd: BenchCommand) -> AppResult<()> {
    let result = run_one(config, cmd).await;
    tokio::time::sleep(Duration::from_secs(10)).await;
    println!(
        "  resident memory idle again 10 s after the benchmark: {:.0} MiB (peak {:.0} MiB; {:.0} MiB anonymous, {:.0} MiB of mapped files){}",
        status_mib("VmRSS:"),
        peak_rss_mib(),
        status_mib("RssAnon:"),
        status_mib("RssFile:"),
        crate::memory::describe()
    );
    result
}

async fn run_one(config: Config, cmd: BenchCommand) -> AppResult<()> {
    let (scale, concurrency, seconds, keep) = match cmd {
        BenchCommand::Directory {
            scale,
            concurrency,
            seconds,
            keep,
        } => (scale, concurrency, seconds, keep),
        BenchCommand::Identity {
            concurrency,
            seconds,
        } => return crate::bench_identity::run(config, concurrency, seconds).await,
        BenchCommand::Import {
            students,
            format,
            schools,
            school_size,
        } => {
            if schools > 0 {
                return crate::bench_import::city(config, schools, school_size).await;
            }
            return crate::bench_import::run(config, students, format).await;
        }
        BenchCommand::Exchange { students } => {
            return crate::bench_exchange::run(config, students).await;
        }
        BenchCommand::Spaces {
            scale,
            concurrency,
            seconds,
        } => return crate::bench_spaces::run(config, scale, concurrency, seconds).await,
        BenchCommand::Exam {
            students,
            answers,
            seconds,
        } => return crate::bench_exam::run(config, students, answers, seconds).await,
        BenchCommand::Cluster(opts) => return crate::bench_cluster::run(config, opts).await,
        BenchCommand::Resources {
            resources,
            seconds,
            keep,
            files,
        } => {
            crate::bench_resources::run(config.clone(), resources, seconds, keep).await?;
            if files > 0 {
                crate::bench_files::run(config, files).await?;
            }
            return Ok(());
        }
    };
    let (fresh, mut cfg) = fresh_db("directory", &config).await?;
    cfg.listen = "127.0.0.1:0".into();
    let state = AppState::new(fresh.db.clone(), cfg, Clock::System);
    let result = bench_directory(&state, scale, concurrency, Duration::from_secs(seconds)).await;
    if keep {
        println!(
            "  kept the database: {}",
            kernel::db::redact_url(&fresh.url)
        );
        fresh.keep().await;
    } else {
        fresh.drop_db().await;
    }
    result
}

/// Multi-row inserts, committed every `BATCH` rows.
const BATCH: usize = 500;

/// id, org, name, gender, staff number, registry number.
type PersonRow = (
    PersonId,
    NodeId,
    String,
    &'static str,
    Option<String>,
    Option<String>,
);
/// id, person, role, node, subject, student.
type RoleRow = (
    RoleId,
    PersonId,
    &'static str,
    NodeId,
    Option<&'static str>,
    Option<PersonId>,
);

struct Bulk {
    persons: Vec<PersonRow>,
    roles: Vec<RoleRow>,
    accounts: Vec<(PersonId, String)>,
    hash: String,
    now: chrono::DateTime<chrono::Utc>,
}

impl Bulk {
    async fn flush(&mut self, db: &kernel::Db, force: bool) -> AppResult<()> {
        if !force && self.persons.len() < BATCH * 10 {
            return Ok(());
        }
        let mut tx = db.begin().await?;
        for chunk in self.persons.chunks(BATCH) {
            on_tx!(&mut tx, c => {
                let mut qb = sqlx::QueryBuilder::new("INSERT INTO persons (id, org_id, name, gender, staff_no, registry_no, active, created_at, updated_at) ");
                qb.push_values(chunk, |mut b, p| {
                    b.push_bind(p.0).push_bind(p.1).push_bind(&p.2).push_bind(p.3).push_bind(&p.4).push_bind(&p.5).push_bind(true).push_bind(self.now).push_bind(self.now);
                });
                qb.build().execute(&mut *c).await.map(|r| r.rows_affected())
            })?;
        }
        for chunk in self.accounts.chunks(BATCH) {
            on_tx!(&mut tx, c => {
                let mut qb = sqlx::QueryBuilder::new("INSERT INTO accounts (person_id, username, password_hash, must_change_password, created_at) ");
                qb.push_values(chunk, |mut b, a| {
                    b.push_bind(a.0).push_bind(&a.1).push_bind(&self.hash).push_bind(false).push_bind(self.now);
                });
                qb.build().execute(&mut *c).await.map(|r| r.rows_affected())
            })?;
        }
        for chunk in self.roles.chunks(BATCH) {
            on_tx!(&mut tx, c => {
                let mut qb = sqlx::QueryBuilder::new("INSERT INTO role_assignments (id, person_id, role, node_id, subject, student_id, created_at) ");
                qb.push_values(chunk, |mut b, r| {
                    b.push_bind(r.0).push_bind(r.1).push_bind(r.2).push_bind(r.3).push_bind(r.4).push_bind(r.5).push_bind(self.now);
                });
                qb.build().execute(&mut *c).await.map(|r| r.rows_affected())
            })?;
        }
        tx.commit().await?;
        self.persons.clear();
        self.accounts.clear();
        self.roles.clear();
        Ok(())
    }
}

pub(crate) fn node(
    kind: NodeKind,
    parent: Option<&Node>,
    name: String,
    code: Option<String>,
    now: chrono::DateTime<chrono::Utc>,
) -> Node {
    Node {
        id: NodeId::new(),
        kind: kind.as_str().into(),
        parent_id: parent.map(|p| p.id),
        name,
        code,
        school_type: None,
        stages: None,
        grade_code: None,
        entry_year: None,
        school_id: None,
        active: true,
        created_at: now,
        updated_at: now,
    }
}

pub(crate) struct Loaded {
    pub(crate) teachers: Vec<PersonId>,
    pub(crate) district_admins: Vec<PersonId>,
    pub(crate) school_admins: Vec<PersonId>,
    pub(crate) people: usize,
}

pub(crate) async fn load_city(state: &AppState, shape: &Shape) -> AppResult<Loaded> {
    let db = &state.db;
    let now = state.clock.now();
    let hash = identity::password::hash(state, "Bench@2025".into()).await?;
    let mut bulk = Bulk {
        persons: Vec::new(),
        roles: Vec::new(),
        accounts: Vec::new(),
        hash,
        now,
    };
    let mut out = Loaded {
        teachers: Vec::new(),
        district_admins: Vec::new(),
        school_admins: Vec::new(),
        people: 0,
    };
    // Hangzhou's real county codes for the districts.
    let counties = [
        "330102", "330105", "330106", "330108", "330109", "330110", "330111", "330112", "330113",
        "330114",
    ];
    let mut tx: Tx = db.begin().await?;
    let city = node(
        NodeKind::City,
        None,
        "基准市".into(),
        Some("330100".into()),
        now,
    );
    directory::nodes::insert(&mut tx, &city).await?;
    tx.commit().await?;
    let mut n = 0usize;
    let mut push_person =
        |bulk: &mut Bulk, org: NodeId, staff: Option<String>, registry: Option<String>| {
            n += 1;
            let id = PersonId::new();
            let gender = if n.is_multiple_of(2) { "1" } else { "2" };
            let username = staff
                .clone()
                .or(registry.clone())
                .unwrap_or_else(|| format!("p{n}"))
                .to_lowercase();
            bulk.persons.push((
                id,
                org,
                directory::demo::name(n * 7 + n / 13),
                gender,
                staff,
                registry,
            ));
            bulk.accounts.push((id, username));
            id
        };
    for d in 0..shape.districts {
        let mut tx = db.begin().await?;
        let district = node(
            NodeKind::District,
            Some(&city),
            format!("第{}区", d + 1),
            // Past Hangzhou's ten, Ningbo's numbering (codes are unique per kind).
            Some(
                counties
                    .get(d)
                    .map_or_else(|| format!("3302{d:02}"), |c| (*c).to_owned()),
            ),
            now,
        );
        directory::nodes::insert(&mut tx, &district).await?;
        tx.commit().await?;
        let da = push_person(&mut bulk, district.id, Some(format!("D{d}A")), None);
        bulk.roles
            .push((RoleId::new(), da, "admin", district.id, None, None));
        out.district_admins.push(da);
        for s in 0..shape.schools_per_district {
            let idx = d * shape.schools_per_district + s;
            let mut tx = db.begin().await?;
            let mut school = node(
                NodeKind::School,
                Some(&district),
                format!("第{}区第{}小学", d + 1, s + 1),
                Some(format!("2133{idx:06}")),
                now,
            );
            school.school_type = Some(SchoolType::Primary.as_str().into());
            school.stages = Some(Stage::Primary.as_str().into());
            directory::nodes::insert(&mut tx, &school).await?;
            let mut classes = Vec::new();
            let per_grade = shape.classes_per_school.div_ceil(6);
            for g in 1..=6u8 {
                let mut grade = node(
                    NodeKind::Grade,
                    Some(&school),
                    format!("{g}年级"),
                    None,
                    now,
                );
                grade.school_id = Some(school.id);
                grade.stages = Some("primary".into());
                grade.grade_code = Some(g.to_string());
                directory::nodes::insert(&mut tx, &grade).await?;
                for c in 1..=per_grade {
                    if classes.len() >= shape.classes_per_school {
                        break;
                    }
                    let mut class =
                        node(NodeKind::Class, Some(&grade), format!("({c})班"), None, now);
                    class.school_id = Some(school.id);
                    class.stages = Some("primary".into());
                    class.grade_code = Some(g.to_string());
                    directory::nodes::insert(&mut tx, &class).await?;
                    classes.push(class.id);
                }
            }
            tx.commit().await?;
            let sa = push_person(&mut bulk, school.id, Some(format!("S{idx}A")), None);
            bulk.roles
                .push((RoleId::new(), sa, "admin", school.id, None, None));
            out.school_admins.push(sa);
            for t in 0..shape.teachers_per_school {
                let id = push_person(&mut bulk, school.id, Some(format!("S{idx}T{t}")), None);
                let class = classes[t % classes.len()];
                bulk.roles.push((
                    RoleId::new(),
                    id,
                    "teacher",
                    class,
                    Some(if t % 2 == 0 { "13" } else { "14" }),
                    None,
                ));
                if t < classes.len() {
                    bulk.roles
                        .push((RoleId::new(), id, "head_teacher", class, None, None));
                }
                if out.teachers.len() < 2000 && t < classes.len() {
                    out.teachers.push(id);
                }
            }
            for (ci, class) in classes.iter().enumerate() {
                for k in 0..shape.students_per_class {
                    let registry = format!("L3301{idx:06}{ci:03}{k:04}");
                    let sid = push_person(&mut bulk, school.id, None, Some(registry));
                    bulk.roles
                        .push((RoleId::new(), sid, "student", *class, None, None));
                    // 1.5 guardians per student.
                    for _ in 0..(1 + (k % 2)) {
                        let gid = push_person(&mut bulk, school.id, None, None);
                        bulk.roles.push((
                            RoleId::new(),
                            gid,
                            "guardian",
                            school.id,
                            None,
                            Some(sid),
                        ));
                    }
                }
            }
            bulk.flush(db, false).await?;
        }
    }
    bulk.flush(db, true).await?;
    out.people = n;
    Ok(out)
}

/// The real server (every module, its runners) on a random local port, and an HTTP client
/// pooled for `concurrency` clients.
pub(crate) struct Served {
    pub(crate) base: String,
    pub(crate) client: reqwest::Client,
    stop: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<AppResult<()>>,
}

pub(crate) async fn serve(state: &AppState, concurrency: usize) -> AppResult<Served> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(AppError::internal)?;
    let addr = listener.local_addr().map_err(AppError::internal)?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(crate::server::serve_on(
        listener,
        state.clone(),
        async move {
            let _ = stopped.await;
        },
    ));
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()
        .map_err(AppError::internal)?;
    Ok(Served {
        base: format!("http://{addr}"),
        client,
        stop,
        server,
    })
}

impl Served {
    /// Stops the server, finishing requests in flight.
    pub(crate) async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.server.await;
    }
}

pub struct Stats {
    requests: usize,
    errors: usize,
    pub(crate) rps: f64,
    p50_ms: f64,
    p99_ms: f64,
}

pub(crate) type MakeRequest =
    std::sync::Arc<dyn Fn(usize) -> reqwest::RequestBuilder + Send + Sync>;

pub(crate) async fn measure(
    name: &str,
    concurrency: usize,
    duration: Duration,
    make: MakeRequest,
) -> Stats {
    let start = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..concurrency {
        let make = make.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut errors = 0usize;
            let mut i = w;
            while start.elapsed() < duration {
                let t = Instant::now();
                match make(i).send().await {
                    Ok(r) if r.status().is_success() || r.status().is_redirection() => {
                        let _ = r.bytes().await;
                        lat.push(t.elapsed().as_secs_f64() * 1000.0);
                    }
                    _ => errors += 1,
                }
                i += concurrency;
            }
            (lat, errors)
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        if let Ok((l, e)) = t.await {
            all.extend(l);
            errors += e;
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    all.sort_by(|a, b| a.total_cmp(b));
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0.0)
    };
    let s = Stats {
        requests: all.len(),
        errors,
        rps: all.len() as f64 / elapsed,
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
    };
    println!(
        "  {name:<28} {:>8.0} req/s  p50 {:>6.2} ms  p99 {:>6.2} ms  ({} ok, {} errors, {} clients)",
        s.rps, s.p50_ms, s.p99_ms, s.requests, s.errors, concurrency
    );
    s
}

async fn bench_directory(
    state: &AppState,
    scale: Scale,
    concurrency: usize,
    duration: Duration,
) -> AppResult<()> {
    let shape = scale.shape();
    let t = Instant::now();
    let loaded = load_city(state, &shape).await?;
    let load_secs = t.elapsed().as_secs_f64();
    if let kernel::Db::Sqlite(p) = &state.db {
        sqlx::query("ANALYZE").execute(p).await?;
    } else if let kernel::Db::Postgres(p) = &state.db {
        // What autovacuum does to a region after its load: the statistics, and the visibility
        // map that lets the name indexes answer without reading the rows.
        sqlx::query("VACUUM ANALYZE").execute(p).await?;
    }
    println!(
        "  load: {} people, {} schools in {:.1} s ({:.0} people/s); peak RSS so far {:.0} MiB",
        loaded.people,
        shape.districts * shape.schools_per_district,
        load_secs,
        loaded.people as f64 / load_secs,
        peak_rss_mib()
    );

    // Sessions for teachers and administrators, API tokens for teachers: created directly.
    let now = state.clock.now();
    let meta = RequestMeta::cli();
    let mut tx = state.db.begin().await?;
    let mut teacher_cookies = Vec::new();
    let mut tokens = Vec::new();
    for t in loaded.teachers.iter().take(500) {
        let (_, token) = identity::sessions::create(
            &mut tx,
            identity::sessions::Limits::from_config(&state.config),
            *t,
            "pwd otp",
            &meta,
            now,
        )
        .await?;
        teacher_cookies.push(format!("jy_session={token}"));
        let (_, api) = identity::tokens::create(&mut tx, *t, "bench", None, now).await?;
        tokens.push(api);
    }
    let mut district_cookies = Vec::new();
    for a in &loaded.district_admins {
        let (_, token) = identity::sessions::create(
            &mut tx,
            identity::sessions::Limits::from_config(&state.config),
            *a,
            "pwd otp",
            &meta,
            now,
        )
        .await?;
        district_cookies.push(format!("jy_session={token}"));
    }
    let mut school_cookies = Vec::new();
    for a in loaded.school_admins.iter().take(100) {
        let (_, token) = identity::sessions::create(
            &mut tx,
            identity::sessions::Limits::from_config(&state.config),
            *a,
            "pwd otp",
            &meta,
            now,
        )
        .await?;
        school_cookies.push(format!("jy_session={token}"));
    }
    tx.commit().await?;
    // Each teacher's class, for the roster requests.
    let mut classes = Vec::new();
    for t in loaded.teachers.iter().take(500) {
        let actor = kernel::Actor::load(&state.db, *t, kernel::actor::Via::Token)
            .await?
            .ok_or_else(|| AppError::internal("teacher missing"))?;
        classes.push(
            actor
                .grants
                .first()
                .map(|g| g.node_id)
                .ok_or_else(|| AppError::internal("teacher without class"))?,
        );
    }

    let served = serve(state, concurrency).await?;
    let (client, base) = (served.client.clone(), served.base.clone());

    let (c, b) = (client.clone(), base.clone());
    let cookies = std::sync::Arc::new(teacher_cookies);
    let home: MakeRequest = std::sync::Arc::new(move |i| {
        c.get(format!("{b}/"))
            .header("cookie", cookies[i % cookies.len()].clone())
    });
    let (c, b) = (client.clone(), base.clone());
    let (tokens, classes) = (std::sync::Arc::new(tokens), std::sync::Arc::new(classes));
    let roster: MakeRequest = std::sync::Arc::new(move |i| {
        let k = i % tokens.len();
        c.get(format!("{b}/api/v1/classes/{}/roster", classes[k]))
            .bearer_auth(&tokens[k])
    });
    // Searching by surname alone: the widest name search an administrator types.
    let surname = |i: usize| ["王", "李", "张", "刘", "陈"][i % 5];
    let (c, b) = (client.clone(), base.clone());
    let districts = std::sync::Arc::new(district_cookies);
    let district_search: MakeRequest = std::sync::Arc::new(move |i| {
        c.get(format!("{b}/admin/people?q={}", surname(i)))
            .header("cookie", districts[i % districts.len()].clone())
    });
    let (c, b) = (client.clone(), base.clone());
    let schools = std::sync::Arc::new(school_cookies);
    let school_search: MakeRequest = std::sync::Arc::new(move |i| {
        c.get(format!("{b}/admin/people?q={}", surname(i)))
            .header("cookie", schools[i % schools.len()].clone())
    });
    let scenarios = [
        ("teacher home page (HTML)", home),
        ("class roster (JSON API)", roster),
        ("district admin people search", district_search),
        ("school admin people search", school_search),
    ];
    println!(
        "  one client at a time (latency), then {concurrency} concurrent clients (throughput):"
    );
    for (name, make) in scenarios {
        for c in [1, concurrency] {
            measure(name, c, duration, make.clone()).await;
        }
    }
    println!(
        "  peak RSS (server and load generator in one process): {:.0} MiB",
        peak_rss_mib()
    );
    served.stop().await;
    Ok(())
}

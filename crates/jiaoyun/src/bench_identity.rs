//! `jiaoyun bench identity`: the demo region in a fresh database, a registered OIDC client and
//! CAS service, the real server, and concurrent HTTP clients measuring password login (beside
//! the raw Argon2id rate with the same parameters), code exchange, refresh, client
//! credentials, UserInfo, JWKS and CAS serviceValidate. Codes, refresh tokens and tickets are
//! written beforehand so each request spends a fresh one. Prints numbers; never fails on them.

use crate::bench::{MakeRequest, measure, peak_rss_mib};
use kernel::secret::token_hash;
use kernel::{Actor, AppError, AppResult, AppState, Clock, Config, GrantId, RequestMeta, on_tx};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Verifications per second with the configured Argon2id parameters, one thread per core.
fn raw_argon2_rate(config: &Config, seconds: u64) -> AppResult<f64> {
    let hash = identity::password::hash_blocking(&config.password, "Bench@2025")?;
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let start = Instant::now();
    let threads: Vec<_> = (0..cores)
        .map(|_| {
            let (cfg, hash) = (config.password.clone(), hash.clone());
            std::thread::spawn(move || {
                let mut n = 0u64;
                while start.elapsed() < Duration::from_secs(seconds) {
                    let _ = identity::password::verify_blocking(&cfg, "Bench@2025", &hash);
                    n += 1;
                }
                n
            })
        })
        .collect();
    let total: u64 = threads.into_iter().map(|t| t.join().unwrap_or(0)).sum();
    Ok(total as f64 / start.elapsed().as_secs_f64())
}

/// A thread's name and the CPU seconds it has used, from its `stat` file.
fn thread_cpu(path: &std::path::Path) -> Option<(String, f64)> {
    let stat = std::fs::read_to_string(path).ok()?;
    // "tid (comm) state ...": the name may hold spaces, so the fields follow the last ')'.
    let (open, close) = (stat.find('(')?, stat.rfind(')')?);
    let fields: Vec<&str> = stat.get(close + 1..)?.split_whitespace().collect();
    // utime and stime, the 14th and 15th fields of the line, in clock ticks (1/100 s).
    let ticks: f64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i)?.parse::<f64>().ok())
        .sum();
    Some((stat.get(open + 1..close)?.to_owned(), ticks / 100.0))
}

/// CPU seconds used so far by this process's hashing threads (`argon2-N`) and by the whole
/// machine (every core's busy time: the server, the load generator, PostgreSQL if it is here).
fn cpu_seconds() -> (f64, f64) {
    let hashing = std::fs::read_dir("/proc/self/task")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|t| thread_cpu(&t.path().join("stat")))
        .filter(|(name, _)| name.starts_with("argon2"))
        .map(|(_, s)| s)
        .sum();
    // The first line of /proc/stat: user nice system idle iowait irq softirq steal, in ticks.
    let busy = std::fs::read_to_string("/proc/stat")
        .ok()
        .and_then(|s| {
            let fields: Vec<f64> = s
                .lines()
                .next()?
                .split_whitespace()
                .skip(1)
                .filter_map(|v| v.parse().ok())
                .collect();
            Some(
                [0, 1, 2, 5, 6, 7]
                    .iter()
                    .filter_map(|&i| fields.get(i))
                    .sum::<f64>()
                    / 100.0,
            )
        })
        .unwrap_or(0.0);
    (hashing, busy)
}

pub async fn run(config: Config, concurrency: usize, seconds: u64) -> AppResult<()> {
    let (fresh, mut cfg) = crate::bench::fresh_db("identity", &config).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(AppError::internal)?;
    let addr = listener.local_addr().map_err(AppError::internal)?;
    cfg.public_url = Some(format!("http://{addr}"));
    let state = AppState::new(fresh.db.clone(), cfg, Clock::System);
    let result = bench(&state, listener, concurrency, Duration::from_secs(seconds)).await;
    fresh.drop_db().await;
    result
}

async fn bench(
    state: &AppState,
    listener: tokio::net::TcpListener,
    concurrency: usize,
    duration: Duration,
) -> AppResult<()> {
    let p = &state.config.password;
    println!(
        "  Argon2id m={} KiB t={} p={}; {} clients, {} s per scenario",
        p.memory_kib,
        p.iterations,
        p.parallelism,
        concurrency,
        duration.as_secs()
    );
    directory::demo::load(state).await?;
    let city: (kernel::NodeId,) = kernel::on_db!(&state.db, c => sqlx::query_as("SELECT id FROM org_nodes WHERE kind = 'city'")
        .fetch_one(c).await)?;
    let redirect = "http://127.0.0.1:9/callback";
    let service = "http://127.0.0.1:9/app/";
    let new = |protocol: &str| sso::apps::NewApplication {
        redirect_uris: vec![redirect.into()],
        grant_types: vec![
            "authorization_code".into(),
            "refresh_token".into(),
            "client_credentials".into(),
        ],
        service_prefix: Some(service.into()),
        trusted: true,
        ..sso::apps::NewApplication::new(city.0, protocol, &format!("bench {protocol}"))
    };
    let meta = RequestMeta::cli();
    let oidc = sso::apps::register(state, &Actor::system(), &meta, new("oidc")).await?;
    let cas = sso::apps::register(state, &Actor::system(), &meta, new("cas")).await?;
    let (client_id, secret) = (
        oidc.client_id.unwrap_or_default(),
        oidc.client_secret.unwrap_or_default(),
    );
    let person = identity::accounts::find_by_username(&state.db, "teacher")
        .await?
        .ok_or_else(|| AppError::internal("demo teacher missing"))?
        .person_id;

    // Spendable credentials: enough for the fastest rate we hope for, for the whole run.
    let n = (duration.as_secs() as usize * 8_000).max(1_000);
    let now = state.clock.now();
    let later = now + chrono::Duration::hours(2);
    let mut tx = state.db.begin().await?;
    let (session, _) = identity::sessions::create(
        &mut tx,
        identity::sessions::Limits::from_config(&state.config),
        person,
        "pwd otp",
        &meta,
        now,
    )
    .await?;
    let mut grants = Vec::with_capacity(n);
    for i in 0..n {
        let g = GrantId::new();
        grants.push(g);
        on_tx!(&mut tx, c => sqlx::query(
            "INSERT INTO oauth_codes (code_hash, application_id, person_id, session_id, redirect_uri, scope, auth_time, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, 'openid profile', $6, $6, $7)",
        ).bind(token_hash(&format!("code-{i}"))).bind(oidc.id).bind(person).bind(session).bind(redirect)
        .bind(now).bind(later).execute(c).await.map(|r| r.rows_affected()))?;
        on_tx!(&mut tx, c => sqlx::query(
            "INSERT INTO oauth_grants (id, application_id, person_id, session_id, scope, auth_time, created_at)
             VALUES ($1, $2, $3, $4, 'openid profile', $5, $5)",
        ).bind(g).bind(oidc.id).bind(person).bind(session).bind(now).execute(c).await.map(|r| r.rows_affected()))?;
        on_tx!(&mut tx, c => sqlx::query(
            "INSERT INTO oauth_refresh_tokens (token_hash, grant_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
        ).bind(token_hash(&format!("refresh-{i}"))).bind(g).bind(now).bind(later).execute(c).await.map(|r| r.rows_affected()))?;
        on_tx!(&mut tx, c => sqlx::query(
            "INSERT INTO cas_tickets (ticket, application_id, person_id, session_id, service, primary_auth, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, FALSE, $6, $7)",
        ).bind(format!("ST-bench-{i}")).bind(cas.id).bind(person).bind(session).bind(service)
        .bind(now).bind(later).execute(c).await.map(|r| r.rows_affected()))?;
    }
    tx.commit().await?;
    let (access, _) = sso::tokens::access_token(
        state,
        person.to_string(),
        &client_id,
        "openid profile",
        grants.first().copied(),
        Some(now),
    )
    .await?;

    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(crate::server::serve_on(
        listener,
        state.clone(),
        async move {
            let _ = stop_rx.await;
        },
    ));
    tokio::time::sleep(Duration::from_millis(500)).await;
    let idle = crate::bench::status_mib("VmRSS:");
    println!("  resident memory before the raw rate: {idle:.0} MiB");
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(AppError::internal)?;
    let base = state.config.base_url();

    let raw_rate = || {
        let cfg = state.config.as_ref().clone();
        let secs = duration.as_secs();
        tokio::task::spawn_blocking(move || raw_argon2_rate(&cfg, secs))
    };
    let raw = raw_rate().await.map_err(AppError::internal)??;
    println!(
        "  raw Argon2id verifications      {raw:>8.1} /s  (all cores, no server); resident memory after it: {:.0} MiB",
        crate::bench::status_mib("VmRSS:")
    );

    // The logins first. Their load generator runs on a thread of its own, so that the CPU it
    // takes (which a real deployment's clients do not take from the server) can be told apart.
    let cpu = cpu_seconds();
    let (logins, clients) = {
        let b = base.clone();
        let client = std::thread::Builder::new()
            .name("bench-client".into())
            .spawn(move || -> AppResult<(crate::bench::Stats, f64)> {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(AppError::internal)?;
                rt.block_on(async move {
                    let c = reqwest::Client::builder()
                        .redirect(reqwest::redirect::Policy::none())
                        .build()
                        .map_err(AppError::internal)?;
                    let login: MakeRequest = Arc::new(move |_| {
                        c.post(format!("{b}/login"))
                            .header("cookie", "jy_login_csrf=bench")
                            .form(&[
                                ("username", "teacher"),
                                ("password", directory::demo::DEMO_PASSWORD),
                                ("csrf", "bench"),
                                ("next", "/"),
                            ])
                    });
                    let stats = measure("password login", concurrency, duration, login).await;
                    let own = thread_cpu(std::path::Path::new("/proc/thread-self/stat"));
                    Ok((stats, own.map_or(0.0, |t| t.1)))
                })
            })
            .map_err(AppError::internal)?;
        tokio::task::spawn_blocking(move || client.join())
            .await
            .map_err(AppError::internal)?
            .map_err(|_| AppError::internal("the login clients' thread panicked"))??
    };
    // The machine's speed drifts by more than the 5% aimed at between runs, so the raw rate is
    // measured again right after and the logins compared with the mean.
    let (hashing, busy) = cpu_seconds();
    let (hashing, busy) = (hashing - cpu.0, (busy - cpu.1).max(0.01));
    let again = raw_rate().await.map_err(AppError::internal)??;
    println!(
        "    {:.0}% of the raw rate (raw {raw:.1} /s before, {again:.1} /s after); the hashing threads had {:.1}% of the machine's busy CPU meanwhile, {:.1}% of what the load generator ({:.1}%) left",
        100.0 * logins.rps / ((raw + again) / 2.0),
        100.0 * hashing / busy,
        100.0 * hashing / (busy - clients).max(0.01),
        100.0 * clients / busy,
    );
    println!(
        "    resident memory after it: {:.0} MiB",
        crate::bench::status_mib("VmRSS:")
    );
    let (c, b, id, s) = (
        client.clone(),
        base.clone(),
        client_id.clone(),
        secret.clone(),
    );
    let exchange: MakeRequest = Arc::new(move |i| {
        c.post(format!("{b}/oidc/token"))
            .basic_auth(&id, Some(&s))
            .form(&[
                ("grant_type", "authorization_code".to_owned()),
                ("code", format!("code-{i}")),
                ("redirect_uri", redirect.to_owned()),
            ])
    });
    let (c, b, id, s) = (
        client.clone(),
        base.clone(),
        client_id.clone(),
        secret.clone(),
    );
    let refresh: MakeRequest = Arc::new(move |i| {
        c.post(format!("{b}/oidc/token"))
            .basic_auth(&id, Some(&s))
            .form(&[
                ("grant_type", "refresh_token".to_owned()),
                ("refresh_token", format!("refresh-{i}")),
            ])
    });
    let (c, b, id, s) = (
        client.clone(),
        base.clone(),
        client_id.clone(),
        secret.clone(),
    );
    let credentials: MakeRequest = Arc::new(move |_| {
        c.post(format!("{b}/oidc/token"))
            .basic_auth(&id, Some(&s))
            .form(&[("grant_type", "client_credentials")])
    });
    let (c, b) = (client.clone(), base.clone());
    let userinfo: MakeRequest =
        Arc::new(move |_| c.get(format!("{b}/oidc/userinfo")).bearer_auth(&access));
    let (c, b) = (client.clone(), base.clone());
    let jwks: MakeRequest = Arc::new(move |_| c.get(format!("{b}/oidc/jwks")));
    let (c, b) = (client.clone(), base.clone());
    let validate: MakeRequest = Arc::new(move |i| {
        c.get(format!("{b}/cas/p3/serviceValidate")).query(&[
            ("service", service.to_owned()),
            ("ticket", format!("ST-bench-{i}")),
        ])
    });
    let scenarios = [
        ("code exchange", exchange),
        ("refresh", refresh),
        ("client credentials", credentials),
        ("UserInfo", userinfo),
        ("JWKS", jwks),
        ("CAS serviceValidate", validate),
    ];
    for (name, make) in scenarios {
        measure(name, concurrency, duration, make).await;
        println!(
            "    resident memory after it: {:.0} MiB",
            crate::bench::status_mib("VmRSS:")
        );
    }
    let after = crate::bench::status_mib("VmRSS:");
    // Idle again: the clients' connections closed, ten seconds for the server to settle.
    drop(client);
    tokio::time::sleep(Duration::from_secs(10)).await;
    println!(
        "  resident memory (server and load generator in one process): {idle:.0} MiB idle after start, {after:.0} MiB after the load, {:.0} MiB idle again 10 s later, {:.0} MiB peak including the setup{}",
        crate::bench::status_mib("VmRSS:"),
        peak_rss_mib(),
        crate::memory::describe()
    );
    let _ = stop_tx.send(());
    let _ = server.await;
    Ok(())
}

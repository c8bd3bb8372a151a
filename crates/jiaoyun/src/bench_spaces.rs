//! `jiaoyun bench spaces`: a city-sized region (the directory benchmark's), then the
//! home-school figures the plans care about: a notice to every guardian of a district (the
//! request's time, then the recipients worked out per second by the runner), read receipts
//! written per second under concurrent clients, one school's spaces opened in bulk, and the
//! p50/p99 of a class space and a guardian's home page. Prints numbers; never fails on them.

use crate::bench::{MakeRequest, Scale, fresh_db, load_city, measure, peak_rss_mib};
use kernel::actor::Via;
use kernel::{
    Actor, AppError, AppResult, AppState, Clock, Config, Ctx, NodeId, PersonId, RequestMeta, on_db,
};
use spaces::notices::{Audience, NewNotice, Target};
use spaces::space::{Kind, open};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub async fn run(config: Config, scale: Scale, concurrency: usize, seconds: u64) -> AppResult<()> {
    let (fresh, mut cfg) = fresh_db("spaces", &config).await?;
    cfg.listen = "127.0.0.1:0".into();
    // WeCom, faked on this machine: the outbox's delivery is measured against it.
    let wecom = channels::fake::Fake::default();
    cfg.notify.wecom = Some(kernel::config::WeComConfig {
        corp_id: "wwcorp".into(),
        secret: kernel::secret::Secret::new("wecom-secret"),
        agent_id: 1_000_002,
        api: channels::fake::serve(channels::fake::wecom(wecom.clone())).await,
    });
    cfg.notify.rate_per_second = 1_000_000;
    let state = AppState::new(fresh.db.clone(), cfg, Clock::System);
    let result = bench(
        &state,
        &wecom,
        scale,
        concurrency,
        Duration::from_secs(seconds),
    )
    .await;
    fresh.drop_db().await;
    result
}

async fn actor(state: &AppState, id: PersonId) -> AppResult<Actor> {
    Actor::load(&state.db, id, Via::Session)
        .await?
        .ok_or_else(|| AppError::internal("bench person missing"))
}

/// Session cookies for these people.
async fn cookies(state: &AppState, people: &[PersonId]) -> AppResult<Vec<String>> {
    let meta = RequestMeta::cli();
    let now = state.clock.now();
    let mut out = Vec::with_capacity(people.len());
    for chunk in people.chunks(1000) {
        let mut tx = state.db.begin().await?;
        for p in chunk {
            let (_, token) = identity::sessions::create(
                &mut tx,
                identity::sessions::Limits::from_config(&state.config),
                *p,
                "pwd",
                &meta,
                now,
            )
            .await?;
            out.push(format!("jy_session={token}"));
        }
        tx.commit().await?;
    }
    Ok(out)
}

async fn bench(
    state: &AppState,
    wecom: &channels::fake::Fake,
    scale: Scale,
    concurrency: usize,
    duration: Duration,
) -> AppResult<()> {
    kernel::i18n::register(&spaces::CATALOGUES);
    let started = Instant::now();
    let loaded = load_city(state, &scale.shape()).await?;
    println!(
        "  region loaded: {} people in {:.0} s",
        loaded.people,
        started.elapsed().as_secs_f64()
    );
    let meta = RequestMeta::cli();

    // A notice to every guardian of the first district, each of them on WeCom.
    let district_admin = actor(state, loaded.district_admins[0]).await?;
    let district = district_admin.admin_nodes()[0];
    let now = state.clock.now();
    on_db!(&state.db, p => sqlx::query(
        "INSERT INTO channel_addresses (person_id, channel, address, created_at)
         SELECT DISTINCT g.person_id, 'wecom', 'bench', $2 FROM org_closure c
         JOIN role_assignments s ON s.node_id = c.descendant_id AND s.role = 'student'
         JOIN role_assignments g ON g.student_id = s.person_id AND g.role = 'guardian'
         WHERE c.ancestor_id = $1",
    ).bind(district).bind(now).execute(p).await.map(|r| r.rows_affected()))?;
    let cx = Ctx::new(state, &district_admin, &meta);
    let t = Instant::now();
    let notice = spaces::notices::send(
        &cx,
        NewNotice {
            kind: "notice".into(),
            title: "关于做好寒假安全教育的通知".into(),
            body: "请各位家长做好寒假期间孩子的安全教育。".into(),
            needs_confirm: true,
            reply_prompt: None,
            targets: vec![Target {
                node_id: district,
                audience: Audience::Guardians,
            }],
        },
    )
    .await?;
    let request = t.elapsed();
    let t = Instant::now();
    spaces::notices::deliver::deliver_queued(state).await?;
    let expand = t.elapsed();
    let (recipients,): (i64,) = on_db!(&state.db, p => sqlx::query_as(
        "SELECT recipients FROM notices WHERE id = $1",
    ).bind(notice).fetch_one(p).await)?;
    let (queued,): (i64,) = on_db!(&state.db, p => sqlx::query_as(
        "SELECT COUNT(*) FROM outbox WHERE dedup_key = $1",
    ).bind(format!("notice:{notice}")).fetch_one(p).await)?;
    println!(
        "  notice to a district's guardians: {recipients} recipients; the request {:.1} ms, recipients and {queued} WeCom outbox rows written in {:.2} s ({:.0} recipients/s)",
        request.as_secs_f64() * 1000.0,
        expand.as_secs_f64(),
        recipients as f64 / expand.as_secs_f64().max(1e-9)
    );
    // The outbox's delivery through the fake WeCom for as long as a scenario lasts.
    let adapters =
        channels::Adapters::from_config(&state.config).map_err(kernel::AppError::internal)?;
    let t = Instant::now();
    let _ = tokio::time::timeout(duration, channels::deliver_due(state, &adapters)).await;
    let elapsed = t.elapsed().as_secs_f64();
    let delivered = wecom.delivered().len();
    println!(
        "  delivered through the fake WeCom: {delivered} in {elapsed:.1} s ({:.0}/s, one node, one HTTP request per guardian)",
        delivered as f64 / elapsed
    );
    // The rest would go on in the background during the page scenarios.
    on_db!(&state.db, p => sqlx::query(
        "UPDATE outbox SET state = 'skipped' WHERE state IN ('pending', 'sending')",
    ).execute(p).await.map(|r| r.rows_affected()))?;

    // One school's spaces opened in bulk by its administrator.
    let school_admin = actor(state, loaded.school_admins[0]).await?;
    let school = school_admin.admin_nodes()[0];
    let sa = Ctx::new(state, &school_admin, &meta);
    let t = Instant::now();
    let bulk = open::open_all(&sa, school, &[Kind::Teacher, Kind::Student, Kind::Guardian]).await?;
    let opened = bulk.schools + bulk.classes + bulk.teachers + bulk.students + bulk.guardians;
    println!(
        "  a school's spaces opened in bulk: {opened} in {:.2} s ({:.0}/s)",
        t.elapsed().as_secs_f64(),
        opened as f64 / t.elapsed().as_secs_f64().max(1e-9)
    );

    // The guardians who received it, for the HTTP scenarios: many for the receipts (each
    // request is a first reading), those of the bulk-opened school for the pages.
    let receivers: Vec<(PersonId,)> = on_db!(&state.db, p => sqlx::query_as(
        "SELECT person_id FROM notice_recipients WHERE notice_id = $1 LIMIT 60000",
    ).bind(notice).fetch_all(p).await)?;
    let receivers: Vec<PersonId> = receivers.into_iter().map(|r| r.0).collect();
    let t = Instant::now();
    let receipt_cookies = Arc::new(cookies(state, &receivers).await?);
    println!(
        "  ({} guardian sessions made in {:.0} s)",
        receipt_cookies.len(),
        t.elapsed().as_secs_f64()
    );
    let family: Vec<(PersonId, NodeId)> = on_db!(&state.db, p => sqlx::query_as(
        "SELECT g.person_id, s.node_id FROM role_assignments g JOIN role_assignments s ON s.person_id = g.student_id AND s.role = 'student'
         JOIN org_nodes c ON c.id = s.node_id WHERE g.role = 'guardian' AND c.school_id = $1 LIMIT 1000",
    ).bind(school).fetch_all(p).await)?;
    let family_cookies =
        Arc::new(cookies(state, &family.iter().map(|f| f.0).collect::<Vec<_>>()).await?);
    let mut class_spaces = Vec::with_capacity(family.len());
    for (_, class) in &family {
        let s = spaces::space::of_node(&state.db, *class)
            .await?
            .ok_or_else(|| AppError::internal("class space missing"))?;
        class_spaces.push(s.id);
    }
    let class_spaces = Arc::new(class_spaces);

    let served = crate::bench::serve(state, concurrency).await?;
    let (client, base) = (served.client.clone(), served.base.clone());

    let (c, b, k) = (client.clone(), base.clone(), receipt_cookies.clone());
    let receipts: MakeRequest = Arc::new(move |i| {
        c.get(format!("{b}/notices/{notice}"))
            .header("cookie", k[i % k.len()].clone())
    });
    let (c, b, k, s) = (
        client.clone(),
        base.clone(),
        family_cookies.clone(),
        class_spaces.clone(),
    );
    let class_space: MakeRequest = Arc::new(move |i| {
        let j = i % k.len();
        c.get(format!("{b}/spaces/{}", s[j]))
            .header("cookie", k[j].clone())
    });
    let (c, b, k) = (client.clone(), base.clone(), family_cookies.clone());
    let home: MakeRequest = Arc::new(move |i| {
        c.get(format!("{b}/"))
            .header("cookie", k[i % k.len()].clone())
    });

    let read_before = read_count(state, notice).await?;
    let t = Instant::now();
    measure(
        "notice read (receipt written)",
        concurrency,
        duration,
        receipts,
    )
    .await;
    let written = read_count(state, notice).await? - read_before;
    println!(
        "  read receipts written: {written} in {:.1} s ({:.0}/s; each request was a guardian's first reading until {} were read)",
        t.elapsed().as_secs_f64(),
        written as f64 / t.elapsed().as_secs_f64(),
        receipt_cookies.len()
    );
    println!("  one client at a time (latency), then {concurrency} concurrent clients:");
    for (name, make) in [
        ("class space (HTML)", class_space),
        ("guardian home page (HTML)", home),
    ] {
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

async fn read_count(state: &AppState, notice: kernel::NoticeId) -> AppResult<i64> {
    let (n,): (i64,) = on_db!(&state.db, p => sqlx::query_as(
        "SELECT COUNT(*) FROM notice_recipients WHERE notice_id = $1 AND read_at IS NOT NULL",
    ).bind(notice).fetch_one(p).await)?;
    Ok(n)
}

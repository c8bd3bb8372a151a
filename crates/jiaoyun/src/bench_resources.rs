//! `jiaoyun bench resources`: a city's library in a fresh database (the demo region, 8 more
//! districts with 12 schools each and 20 teachers per school, the demo catalogue), then N
//! resources across the catalogue with titles, descriptions, tags and extracted text composed
//! from the chapters' names, the kinds and a phrase bank, shared at a realistic mix of levels.
//! Reports the indexing rate (rebuild, and following the change log), the index size, and
//! searches/s with p50/p99 for plain queries and for queries with three facet filters, as the
//! demo teacher sees them, two searchers at once; and peak memory.

use crate::bench::{fresh_db, peak_rss_mib};
use chrono::{DateTime, Duration, Utc};
use kernel::{
    Actor, AppError, AppResult, AppState, CatalogId, Clock, Config, Ctx, NodeId, PersonId,
    RequestMeta, ResourceId, on_db, on_tx,
};
use resources::access::Audience;
use resources::model::Scope;
use resources::search::{self, SearchInput};
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

mod data;

/// A small deterministic generator (splitmix64), so every run builds the same library.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    pub(crate) fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
    /// An index into `weights`, with probability proportional to each weight.
    pub(crate) fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u32 = weights.iter().sum();
        let mut r = (self.next() % u64::from(total.max(1))) as u32;
        for (i, w) in weights.iter().enumerate() {
            if r < *w {
                return i;
            }
            r -= w;
        }
        0
    }
}

/// A catalogue node resources hang on (a section, or a unit without sections), with the names
/// above it.
pub(crate) struct Leaf {
    pub id: CatalogId,
    pub subject_id: CatalogId,
    pub edition_id: CatalogId,
    pub volume_id: CatalogId,
    pub subject: String,
    pub edition: String,
    pub volume: String,
    pub unit: String,
    pub topic: String,
}

async fn leaves(state: &AppState) -> AppResult<Vec<Leaf>> {
    let rows: Vec<(CatalogId, Option<CatalogId>, String, String)> = on_db!(&state.db, p => sqlx::query_as(
        "SELECT id, parent_id, kind, name FROM catalog_nodes ORDER BY path",
    ).fetch_all(p).await)?;
    let by_id: HashMap<CatalogId, (Option<CatalogId>, String, String)> = rows
        .iter()
        .map(|(id, p, k, n)| (*id, (*p, k.clone(), n.clone())))
        .collect();
    let has_child: std::collections::HashSet<CatalogId> = rows.iter().filter_map(|r| r.1).collect();
    let mut out = Vec::new();
    for (id, _, kind, _) in &rows {
        if !(kind == "section" || (kind == "unit" && !has_child.contains(id))) {
            continue;
        }
        let mut names: HashMap<String, (CatalogId, String)> = HashMap::new();
        let mut at = Some(*id);
        while let Some(n) = at {
            let Some((parent, k, name)) = by_id.get(&n) else {
                break;
            };
            names.insert(k.clone(), (n, name.clone()));
            at = *parent;
        }
        let get = |k: &str| names.get(k).cloned();
        let (Some(_), Some(su), Some(ed), Some(vo), Some(un)) = (
            get("stage"),
            get("subject"),
            get("edition"),
            get("volume"),
            get("unit"),
        ) else {
            continue;
        };
        let topic = get("section").map_or_else(|| data::topic(&un.1), |s| data::topic(&s.1));
        out.push(Leaf {
            id: *id,
            subject_id: su.0,
            edition_id: ed.0,
            volume_id: vo.0,
            subject: su.1,
            edition: ed.1,
            volume: vo.1,
            unit: data::topic(&un.1),
            topic,
        });
    }
    Ok(out)
}

/// 8 more districts of 杭州市 with 12 schools each; every school gets 20 teachers (authors).
async fn city(state: &AppState) -> AppResult<Vec<(NodeId, Vec<PersonId>)>> {
    let actor = Actor::system();
    let meta = RequestMeta::cli();
    let cx = Ctx::new(state, &actor, &meta);
    let (city,): (NodeId,) = on_db!(&state.db, p => sqlx::query_as(
        "SELECT id FROM org_nodes WHERE kind = 'city' ORDER BY created_at LIMIT 1",
    ).fetch_one(p).await)?;
    for (d, (code, name)) in data::DISTRICTS.iter().enumerate() {
        let district = directory::nodes::create(
            &cx,
            directory::nodes::NewNode {
                parent_id: Some(city),
                kind: "district".into(),
                name: (*name).into(),
                code: Some((*code).into()),
                school_type: None,
                stage: None,
                grade_year: None,
                entry_year: None,
            },
        )
        .await?;
        for (s, school) in data::SCHOOLS.iter().enumerate() {
            let (ty, prefix) = if school.ends_with("小学") {
                ("primary", '2')
            } else {
                ("complete", '3')
            };
            directory::nodes::create(
                &cx,
                directory::nodes::NewNode {
                    parent_id: Some(district.id),
                    kind: "school".into(),
                    name: format!("{name}{school}"),
                    code: Some(format!("{prefix}13350{d}{s:03}")),
                    school_type: Some(ty.into()),
                    stage: None,
                    grade_year: None,
                    entry_year: None,
                },
            )
            .await?;
        }
    }
    let schools: Vec<(NodeId,)> = on_db!(&state.db, p => sqlx::query_as(
        "SELECT id FROM org_nodes WHERE kind = 'school' AND name NOT LIKE '%幼儿园' ORDER BY created_at",
    ).fetch_all(p).await)?;
    let now = state.clock.now();
    let mut out = Vec::new();
    let mut tx = state.db.begin().await?;
    for (si, (school,)) in schools.into_iter().enumerate() {
        let teachers: Vec<(PersonId, String)> = (0..20)
            .map(|k| (PersonId::new(), directory::demo::name(si * 20 + k + 7)))
            .collect();
        on_tx!(&mut tx, c => {
            let mut qb = sqlx::QueryBuilder::new("INSERT INTO persons (id, org_id, name, gender, staff_no, active, created_at, updated_at) ");
            qb.push_values(teachers.iter().enumerate(), |mut b, (k, (id, name))| {
                b.push_bind(*id).push_bind(school).push_bind(name).push_bind(if k % 3 == 0 { "1" } else { "2" })
                 .push_bind(format!("B{si:03}T{k:02}")).push_bind(true).push_bind(now).push_bind(now);
            });
            qb.build().execute(&mut *c).await.map(|r| r.rows_affected())
        })?;
        out.push((school, teachers.into_iter().map(|t| t.0).collect()));
    }
    tx.commit().await?;
    Ok(out)
}

/// id, org, author, title, description, kind, tags, blob, scope, quality, created.
type ResourceRow = (
    ResourceId,
    NodeId,
    PersonId,
    String,
    String,
    &'static str,
    String,
    Option<String>,
    &'static str,
    f64,
    DateTime<Utc>,
);

/// Rows of one batch of generated resources.
#[derive(Default)]
struct Batch {
    resources: Vec<ResourceRow>,
    blobs: Vec<(String, String, DateTime<Utc>)>,
    catalog: Vec<(ResourceId, CatalogId)>,
    audience: Vec<(ResourceId, &'static str, NodeId)>,
    changes: Vec<(ResourceId, DateTime<Utc>)>,
}

/// Rows per INSERT statement (SQLite's bound-variable limit allows 32,766).
const ROWS: usize = 400;

impl Batch {
    async fn write(&mut self, db: &kernel::Db) -> AppResult<()> {
        let mut tx = db.begin().await?;
        for chunk in self.blobs.chunks(ROWS) {
            on_tx!(&mut tx, c => {
                let mut qb = sqlx::QueryBuilder::new("INSERT INTO blobs (hash, size, mime, category, storage_key, text, preview_state, scan, created_at) ");
                qb.push_values(chunk, |mut b, (hash, text, at)| {
                    b.push_bind(hash).push_bind(text.len() as i64 * 40).push_bind("application/pdf").push_bind("pdf")
                     .push_bind(hash).push_bind(text).push_bind("none").push_bind("clean").push_bind(*at);
                });
                qb.build().execute(&mut *c).await.map(|r| r.rows_affected())
            })?;
        }
        for chunk in self.resources.chunks(ROWS) {
            on_tx!(&mut tx, c => {
                let mut qb = sqlx::QueryBuilder::new("INSERT INTO resources (id, org_id, author_id, title, description, kind, tags, blob_hash, file_name, scope, version, quality, created_at, updated_at) ");
                qb.push_values(chunk, |mut b, r| {
                    b.push_bind(r.0).push_bind(r.1).push_bind(r.2).push_bind(&r.3).push_bind(&r.4).push_bind(r.5)
                     .push_bind(&r.6).push_bind(&r.7).push_bind(r.7.as_ref().map(|_| "资源.pdf")).push_bind(r.8)
                     .push_bind(1i64).push_bind(r.9).push_bind(r.10).push_bind(r.10);
                });
                qb.build().execute(&mut *c).await.map(|r| r.rows_affected())
            })?;
        }
        for chunk in self.catalog.chunks(ROWS) {
            on_tx!(&mut tx, c => {
                let mut qb = sqlx::QueryBuilder::new("INSERT INTO resource_catalog (resource_id, catalog_id) ");
                qb.push_values(chunk, |mut b, r| { b.push_bind(r.0).push_bind(r.1); });
                qb.build().execute(&mut *c).await.map(|r| r.rows_affected())
            })?;
        }
        for chunk in self.audience.chunks(ROWS) {
            on_tx!(&mut tx, c => {
                let mut qb = sqlx::QueryBuilder::new("INSERT INTO resource_audience (resource_id, kind, node_id) ");
                qb.push_values(chunk, |mut b, r| { b.push_bind(r.0).push_bind(r.1).push_bind(r.2); });
                qb.build().execute(&mut *c).await.map(|r| r.rows_affected())
            })?;
        }
        for chunk in self.changes.chunks(ROWS) {
            on_tx!(&mut tx, c => {
                let mut qb = sqlx::QueryBuilder::new("INSERT INTO resource_changes (resource_id, at) ");
                qb.push_values(chunk, |mut b, r| { b.push_bind(r.0).push_bind(r.1); });
                qb.build().execute(&mut *c).await.map(|r| r.rows_affected())
            })?;
        }
        tx.commit().await?;
        *self = Batch::default();
        Ok(())
    }
}

const SCOPES: [(Scope, u32); 4] = [
    (Scope::Private, 15),
    (Scope::School, 45),
    (Scope::District, 28),
    (Scope::City, 12),
];

async fn generate(
    state: &AppState,
    n: u64,
    leaves: &[Leaf],
    schools: &[(NodeId, Vec<PersonId>)],
) -> AppResult<()> {
    let mut audiences: HashMap<(NodeId, Scope), Audience> = HashMap::new();
    for (school, _) in schools {
        for (scope, _) in SCOPES {
            audiences.insert(
                (*school, scope),
                Audience::of(&state.db, *school, scope).await?,
            );
        }
    }
    let weights: Vec<u32> = SCOPES.iter().map(|s| s.1).collect();
    let now = state.clock.now();
    let mut rng = Rng(2025);
    let mut batch = Batch::default();
    let started = Instant::now();
    for i in 0..n {
        let leaf = rng.pick(leaves);
        let kind = data::kind(&mut rng);
        let (title, description, tags, body) = data::compose(&mut rng, leaf, kind);
        let (school, teachers) = rng.pick(schools);
        let author = *rng.pick(teachers);
        let scope = SCOPES[rng.weighted(&weights)].0;
        let at = now - Duration::minutes((rng.next() % (730 * 24 * 60)) as i64);
        let id = ResourceId(uuid::Uuid::now_v7());
        let hash = body.map(|b| {
            let h = format!(
                "{:064x}",
                u128::from(i as u32) << 64 | u128::from(rng.next())
            );
            batch.blobs.push((h.clone(), b, at));
            h
        });
        let quality = ((rng.next() % 1000) as f64 / 10.0).powf(1.2).min(100.0);
        batch.resources.push((
            id,
            *school,
            author,
            title,
            description,
            kind.as_str(),
            tags,
            hash,
            scope.as_str(),
            quality,
            at,
        ));
        batch.catalog.push((id, leaf.id));
        if let Some(a) = audiences.get(&(*school, scope)) {
            batch
                .audience
                .extend(a.visible_to.iter().map(|v| (id, "v", *v)));
            batch
                .audience
                .extend(a.admins_of.iter().map(|v| (id, "o", *v)));
        }
        batch.changes.push((id, at));
        if batch.resources.len() >= 5_000 {
            batch.write(&state.db).await?;
        }
        if (i + 1) % 100_000 == 0 {
            println!(
                "  generated {} resources, {:.0}/s",
                i + 1,
                (i + 1) as f64 / started.elapsed().as_secs_f64()
            );
        }
    }
    batch.write(&state.db).await?;
    println!(
        "  generated {n} resources in {:.1} s ({} catalogue leaves, {} schools)",
        started.elapsed().as_secs_f64(),
        leaves.len(),
        schools.len()
    );
    Ok(())
}

/// Runs the benchmark in a fresh database and folder; with `keep`, in `keep` (SQLite), which
/// is kept afterwards and, if it holds a library from an earlier run, reused as it is (the
/// search figures alone).
pub async fn run(config: Config, n: u64, seconds: u64, keep: Option<PathBuf>) -> AppResult<()> {
    if let Some(dir) = keep {
        std::fs::create_dir_all(&dir).map_err(AppError::internal)?;
        let db_file = dir.join("bench.db");
        let reuse = db_file.exists();
        let url = format!("sqlite://{}", db_file.display());
        println!(
            "bench resources on sqlite ({url}, kept{})",
            if reuse { ", reused" } else { "" }
        );
        let db = kernel::Db::connect(&url, 8).await?;
        db.migrate(crate::SCHEMAS).await?;
        let mut cfg = config.clone();
        cfg.database_url = url;
        cfg.data_dir = dir.join("data");
        cfg.resources.index_dir = Some(dir.join("index"));
        let state = AppState::new(db, cfg, Clock::System);
        return bench(&state, n, seconds, reuse).await;
    }
    let dir = std::env::temp_dir().join(format!("jy-bench-resources-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).map_err(AppError::internal)?;
    let (fresh, mut cfg) = fresh_db("resources", &config).await?;
    cfg.data_dir = dir.join("data");
    cfg.resources.index_dir = Some(dir.join("index"));
    let state = AppState::new(fresh.db.clone(), cfg, Clock::System);
    let result = bench(&state, n, seconds, false).await;
    fresh.drop_db().await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

async fn bench(state: &AppState, n: u64, seconds: u64, reuse: bool) -> AppResult<()> {
    if !reuse {
        build(state, n).await?;
    } else if search::store::current(state)?.reader.searcher().num_docs() == 0 {
        // A kept library whose index is of an older schema: index it again.
        index(state, n).await?;
    }
    let leaves = leaves(state).await?;
    let teacher = teacher(state).await?;
    let plain = data::plain_queries(&leaves);
    let faceted = data::faceted_queries(&leaves);
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    for (name, inputs) in [("plain", &plain), ("three facets", &faceted)] {
        measure(state, &teacher, name, inputs, seconds).await?;
    }
    println!("  peak RSS while searching {:.0} MiB", peak_rss_mib());
    Ok(())
}

/// The library and its index.
async fn build(state: &AppState, n: u64) -> AppResult<()> {
    directory::demo::load(state).await?;
    resources::demo::load(state).await?;
    let leaves = leaves(state).await?;
    if leaves.is_empty() {
        return Err(AppError::internal("the demo catalogue is empty"));
    }
    let schools = city(state).await?;
    generate(state, n, &leaves, &schools).await?;
    index(state, n).await
}

/// The rebuild, then a round of changes followed from the log.
async fn index(state: &AppState, n: u64) -> AppResult<()> {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let started = Instant::now();
    let mut last = 0u64;
    let indexed = search::rebuild(state, &mut |done, _| {
        if done >= last + 250_000 {
            last = done;
            println!("  indexed {done}");
        }
    })
    .await?;
    let secs = started.elapsed().as_secs_f64();
    let open = search::store::current(state)?;
    println!(
        "  rebuild: {indexed} resources in {secs:.1} s: {:.0} docs/s; index {:.0} MiB on disk ({} segments); peak RSS {:.0} MiB",
        indexed as f64 / secs,
        crate::index::dir_size(&open.dir) as f64 / 1048576.0,
        open.reader.searcher().segment_readers().len(),
        peak_rss_mib()
    );
    drop(open);

    // Following the log: 50,000 resources changed (say, rated) since the last commit.
    let changed = n.min(50_000) as i64;
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    on_tx!(&mut tx, c => sqlx::query(
        "INSERT INTO resource_changes (resource_id, at) SELECT id, $1 FROM resources ORDER BY created_at DESC LIMIT $2",
    ).bind(now).bind(changed).execute(&mut *c).await.map(|r| r.rows_affected()))?;
    tx.commit().await?;
    let started = Instant::now();
    let applied = search::sync(state).await?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "  change log: {applied} changes applied to the {n}-resource index in {secs:.1} s: {:.0} docs/s",
        applied as f64 / secs
    );
    Ok(())
}

async fn teacher(state: &AppState) -> AppResult<Actor> {
    let (id,): (PersonId,) = on_db!(&state.db, p => sqlx::query_as(
        "SELECT person_id FROM accounts WHERE username = 'teacher'",
    ).fetch_one(p).await)?;
    Actor::load(&state.db, id, kernel::actor::Via::Session)
        .await?
        .ok_or(AppError::NotFound("directory.person_not_found"))
}

/// Two searchers for `seconds`, each going through `inputs`; searches/s and p50/p99.
async fn measure(
    state: &AppState,
    actor: &Actor,
    name: &str,
    inputs: &[SearchInput],
    seconds: u64,
) -> AppResult<()> {
    let meta = RequestMeta::cli();
    let mut hits = 0u64;
    for i in inputs {
        hits += search::query(&Ctx::new(state, actor, &meta), i.clone())
            .await?
            .total;
    }
    let deadline = Instant::now() + std::time::Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for w in 0..2usize {
        let (state, actor, inputs) = (state.clone(), actor.clone(), inputs.to_vec());
        tasks.push(tokio::spawn(async move {
            let meta = RequestMeta::cli();
            let mut lat = Vec::new();
            let mut k = w * inputs.len() / 2;
            while Instant::now() < deadline {
                let t = Instant::now();
                let i = k % inputs.len();
                search::query(&Ctx::new(&state, &actor, &meta), inputs[i].clone()).await?;
                lat.push((t.elapsed(), i));
                k += 1;
            }
            Ok::<_, AppError>(lat)
        }));
    }
    let started = Instant::now();
    let mut lat = Vec::new();
    for t in tasks {
        lat.extend(t.await.map_err(AppError::internal)??);
    }
    let secs = started.elapsed().as_secs_f64();
    lat.sort();
    let mut slowest: Vec<(std::time::Duration, usize)> = Vec::new();
    for (d, i) in lat.iter().rev() {
        if slowest.len() < 3 && !slowest.iter().any(|(_, j)| j == i) {
            slowest.push((*d, *i));
        }
    }
    let slowest: Vec<String> = slowest
        .iter()
        .map(|(d, i)| format!("{:?} {:.0} ms", inputs[*i].q, d.as_secs_f64() * 1000.0))
        .collect();
    let lat: Vec<std::time::Duration> = lat.into_iter().map(|l| l.0).collect();
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1)))
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    println!(
        "  search, {name} ({} queries, {:.0} hits each on average): {:.0} searches/s with 2 searchers, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        inputs.len(),
        hits as f64 / inputs.len().max(1) as f64,
        lat.len() as f64 / secs,
        pct(0.5),
        pct(0.99),
        pct(1.0)
    );
    println!("    slowest: {}", slowest.join(", "));
    Ok(())
}

//! Keeping the index up to date: following `resource_changes` from the sequence number the
//! last commit recorded, and rebuilding from the database.

use super::docs::{self, Catalog};
use super::store::{self, Open, Shared, err};
use kernel::{AppResult, AppState, ResourceId, on_db};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

/// Log entries read at once.
const BATCH: i64 = 2_000;
/// A catch-up commits at least this often (entries), so a long one shows progress and a crash
/// loses little.
const COMMIT_EVERY: u64 = 50_000;

/// Wakes the runner now (call after committing a change that search shows).
pub fn poke(state: &AppState) {
    state.cache::<Shared>().wake.notify_one();
}

/// Follows the change log into this node's index until it is caught up; returns the number of
/// log entries applied. One catch-up runs at a time per process.
pub async fn sync(state: &AppState) -> AppResult<u64> {
    let shared = state.cache::<Shared>();
    let _turn = shared.syncing.lock().await;
    let open = {
        let s = state.clone();
        tokio::task::spawn_blocking(move || store::refresh(&s))
            .await
            .map_err(err)??
    };
    let mut seq = open.payload()?;
    let mut applied = 0u64;
    let mut uncommitted = 0u64;
    let mut catalog: Option<Catalog> = None;
    loop {
        let rows: Vec<(i64, ResourceId)> = on_db!(&state.db, p => sqlx::query_as(
            "SELECT seq, resource_id FROM resource_changes WHERE seq > $1 ORDER BY seq LIMIT $2",
        ).bind(seq).bind(BATCH).fetch_all(p).await)?;
        let Some(&(last, _)) = rows.last() else {
            break;
        };
        let mut seen = HashSet::new();
        let ids: Vec<ResourceId> = rows
            .iter()
            .map(|r| r.1)
            .filter(|id| seen.insert(*id))
            .collect();
        if catalog.is_none() {
            catalog = Some(Catalog::load(&state.db).await?);
        }
        let sources = docs::load(&state.db, &ids).await?;
        let cat = catalog.take().unwrap_or_default();
        let o = open.clone();
        let cat = tokio::task::spawn_blocking(move || -> AppResult<Catalog> {
            apply(&o, &cat, &ids, &sources)?;
            Ok(cat)
        })
        .await
        .map_err(err)??;
        catalog = Some(cat);
        seq = last;
        applied += rows.len() as u64;
        uncommitted += rows.len() as u64;
        if uncommitted >= COMMIT_EVERY {
            commit(&open, seq).await?;
            uncommitted = 0;
        }
    }
    if uncommitted > 0 {
        commit(&open, seq).await?;
    }
    Ok(applied)
}

async fn commit(open: &Arc<Open>, seq: i64) -> AppResult<()> {
    let o = open.clone();
    tokio::task::spawn_blocking(move || o.commit(seq))
        .await
        .map_err(err)?
}

/// Replaces the documents of `ids`: deleted (or vanished) resources are only removed.
fn apply(
    open: &Open,
    catalog: &Catalog,
    ids: &[ResourceId],
    sources: &[docs::Source],
) -> AppResult<()> {
    let f = open.fields;
    open.with_writer(|w| {
        for id in ids {
            w.delete_term(tantivy::Term::from_field_text(f.id, &id.to_string()));
        }
        for s in sources.iter().filter(|s| s.deleted_at.is_none()) {
            w.add_document(docs::document(&f, catalog, s))?;
        }
        Ok(())
    })
}

/// Follows the change log on this node: at once when poked, else every `index_poll_ms`.
pub async fn runner(state: AppState) {
    let shared = state.cache::<Shared>();
    let poll = Duration::from_millis(state.config.resources.index_poll_ms.max(50));
    let mut failures = 0u32;
    loop {
        match sync(&state).await {
            Ok(n) => {
                failures = 0;
                if n > 0 {
                    tracing::debug!(changes = n, "search index caught up");
                }
            }
            Err(e) => {
                failures = failures.saturating_add(1);
                tracing::error!(error = %e, "search index catch-up failed");
            }
        }
        let wait = poll * 2u32.saturating_pow(failures.min(6));
        let _ = tokio::time::timeout(wait, shared.wake.notified()).await;
    }
}

/// Progress of a rebuild: resources indexed so far, of how many.
pub type Progress<'a> = &'a mut (dyn FnMut(u64, u64) + Send);

/// Rebuilds this node's index from the database into a new generation and swaps it in (see
/// [`store`]): the old one serves until then. Returns the number of resources indexed.
/// Changes made meanwhile are after the new index's payload (the log's last entry when the
/// rebuild began), so the next catch-up applies them.
pub async fn rebuild(state: &AppState, progress: Progress<'_>) -> AppResult<u64> {
    let (max,): (Option<i64>,) = on_db!(&state.db, p => sqlx::query_as(
        "SELECT MAX(seq) FROM resource_changes",
    ).fetch_one(p).await)?;
    let seq = max.unwrap_or(0);
    let (total,): (i64,) = on_db!(&state.db, p => sqlx::query_as(
        "SELECT COUNT(*) FROM resources WHERE deleted_at IS NULL",
    ).fetch_one(p).await)?;
    let root = store::root(&state.config);
    let generation = store::new_generation();
    let dir = root.join(&generation);
    let index = {
        let d = dir.clone();
        tokio::task::spawn_blocking(move || store::create(&d))
            .await
            .map_err(err)??
    };
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .clamp(1, 8);
    let mut writer = index
        .writer_with_num_threads::<tantivy::TantivyDocument>(threads, threads * 200_000_000)
        .map_err(err)?;
    let fields = super::schema::Fields::of(&index.schema()).map_err(err)?;
    let catalog = Arc::new(Catalog::load(&state.db).await?);
    let mut after = None;
    let mut done = 0u64;
    // Read the next page while the writer indexes this one.
    let mut next = docs::page(&state.db, after, 1_000).await?;
    while !next.is_empty() {
        after = next.last().map(|s| s.id);
        let page = std::mem::take(&mut next);
        done += page.len() as u64;
        let (cat, f) = (catalog.clone(), fields);
        let build = tokio::task::spawn_blocking(move || {
            page.iter()
                .map(|s| docs::document(&f, &cat, s))
                .collect::<Vec<_>>()
        });
        next = docs::page(&state.db, after, 1_000).await?;
        for d in build.await.map_err(err)? {
            writer.add_document(d).map_err(err)?;
        }
        progress(done, u64::try_from(total).unwrap_or(0));
    }
    let index = tokio::task::spawn_blocking(move || -> AppResult<tantivy::Index> {
        let mut prepared = writer.prepare_commit().map_err(err)?;
        prepared.set_payload(&seq.to_string());
        prepared.commit().map_err(err)?;
        // One segment answers fastest; later changes add small ones the merge policy folds in.
        let segments = index.searchable_segment_ids().map_err(err)?;
        if segments.len() > 1 {
            writer.merge(&segments).wait().map_err(err)?;
        }
        writer.wait_merging_threads().map_err(err)?;
        Ok(index)
    })
    .await
    .map_err(err)??;
    let opened = Open::of(index, generation.clone(), dir)?;
    store::set_current(&root, &generation)?;
    store::install(state, opened);
    store::remove_unused(&root, &generation);
    Ok(done)
}

//! `jiaoyun index`: this node's search index (`resources.index_dir`, else `<data_dir>/index`).
//!
//! `rebuild` reads every resource from the database into a new folder beside the current one
//! and, when it is complete, points `<index_dir>/CURRENT` at it. A server running on this node
//! meanwhile keeps answering from the old folder (and keeps following the change log into
//! it); at its next poll it switches to the new one, removes the old one and catches up with
//! the changes made since the rebuild began. Run it on every node whose index you want
//! rebuilt: each node keeps its own.

use clap::Subcommand;
use kernel::{AppResult, AppState, on_db};
use std::time::Instant;

#[derive(Subcommand)]
pub enum IndexCommand {
    /// Rebuild this node's index from the database (a running server keeps serving and
    /// switches to the new index at its next poll).
    Rebuild,
    /// Catch the index up with the change log once.
    Sync,
    /// Where the index is, what it holds and how far behind the change log it is.
    Status,
}

pub async fn run(state: AppState, cmd: IndexCommand) -> AppResult<()> {
    match cmd {
        IndexCommand::Rebuild => rebuild(&state).await,
        IndexCommand::Sync => {
            let started = Instant::now();
            let n = resources::search::sync(&state).await?;
            println!(
                "applied {n} changes in {:.1} s",
                started.elapsed().as_secs_f64()
            );
            status(&state).await
        }
        IndexCommand::Status => status(&state).await,
    }
}

async fn rebuild(state: &AppState) -> AppResult<()> {
    let root = resources::search::store::root(&state.config);
    println!("rebuilding the search index in {}", root.display());
    let started = Instant::now();
    let mut last_shown = 0u64;
    let mut progress = |done: u64, total: u64| {
        if done == total || done >= last_shown + 50_000 {
            last_shown = done;
            let secs = started.elapsed().as_secs_f64().max(0.001);
            println!(
                "  {done} / {total} resources ({:.0}%), {:.0} per second",
                if total == 0 {
                    100.0
                } else {
                    done as f64 * 100.0 / total as f64
                },
                done as f64 / secs
            );
        }
    };
    let n = resources::search::rebuild(state, &mut progress).await?;
    println!(
        "indexed {n} resources in {:.1} s; a server running on this node switches to the new index at its next poll",
        started.elapsed().as_secs_f64()
    );
    status(state).await
}

/// The size of the files under `dir`, in bytes.
pub fn dir_size(dir: &std::path::Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_size(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

async fn status(state: &AppState) -> AppResult<()> {
    let open = resources::search::store::current(state)?;
    let docs = open.reader.searcher().num_docs();
    let seq = open.payload()?;
    let (max,): (Option<i64>,) = on_db!(&state.db, p => sqlx::query_as(
        "SELECT MAX(seq) FROM resource_changes",
    ).fetch_one(p).await)?;
    let max = max.unwrap_or(0);
    println!(
        "index {} ({:.1} MiB): {docs} documents, followed the change log to {seq} of {max} ({} behind)",
        open.dir.display(),
        dir_size(&open.dir) as f64 / 1048576.0,
        (max - seq).max(0)
    );
    Ok(())
}

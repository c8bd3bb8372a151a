//! This node's index on disk, and the one writer and reader of it that this process holds.
//!
//! Layout: `<index_dir>/CURRENT` names the generation in use, a folder beside it
//! (`<index_dir>/g-<uuid>/`) holds the tantivy index. `jiaoyun index rebuild` builds a new
//! generation in its own folder while the old one keeps serving, then points `CURRENT` at it
//! (an atomic rename); a running server notices at its next poll, switches its reader and writer
//! to the new folder, removes the old one, and catches up from the new index's payload.
//!
//! Each commit records, as its payload, the sequence number of the last `resource_changes`
//! entry it contains: that is where the next catch-up starts.

use super::schema::{self, Fields};
use super::tokenizer::{self, JiebaTokenizer};
use kernel::{AppError, AppResult, AppState, Config};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use tantivy::directory::{Directory, INDEX_WRITER_LOCK, MmapDirectory};
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument};

/// The writer's memory budget in the server (one indexing thread).
const SERVER_WRITER_BYTES: usize = 64 * 1024 * 1024;

/// What the process keeps of its index, in the state's cache.
#[derive(Default)]
pub struct Shared {
    pub(crate) open: RwLock<Option<Arc<Open>>>,
    /// Writers of resources poke it so the runner catches up at once.
    pub(crate) wake: tokio::sync::Notify,
    /// One catch-up at a time (the runner, a test, the command line).
    pub(crate) syncing: tokio::sync::Mutex<()>,
}

/// An open generation of the index.
pub struct Open {
    pub generation: String,
    pub dir: PathBuf,
    pub index: Index,
    pub reader: IndexReader,
    pub fields: Fields,
    /// Each segment's facet ordinals, decoded once.
    pub facet_maps: super::facets::FacetMaps,
    /// Viewers' visibility bit sets per segment.
    pub visible: Arc<super::visible::VisibleCache>,
    writer: Mutex<Option<IndexWriter<TantivyDocument>>>,
}

pub(crate) fn err(e: impl std::fmt::Display) -> AppError {
    AppError::Internal(format!("search index: {e}"))
}

/// This node's index folder: `resources.index_dir`, else `<data_dir>/index`.
pub fn root(config: &Config) -> PathBuf {
    config
        .resources
        .index_dir
        .clone()
        .unwrap_or_else(|| config.data_dir.join("index"))
}

/// The generation `CURRENT` names, if any.
pub fn current_generation(root: &Path) -> Option<String> {
    std::fs::read_to_string(root.join("CURRENT"))
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty() && root.join(s).is_dir())
}

/// Points `CURRENT` at `generation` (written beside it, then renamed over it).
pub fn set_current(root: &Path, generation: &str) -> AppResult<()> {
    let tmp = root.join("CURRENT.tmp");
    std::fs::write(&tmp, generation).map_err(err)?;
    std::fs::rename(&tmp, root.join("CURRENT")).map_err(err)
}

/// A name for a new generation.
pub fn new_generation() -> String {
    format!("g-{}", uuid::Uuid::now_v7().simple())
}

/// Registers the tokenizer on an opened or created index.
pub fn prepare(index: &Index) {
    index.tokenizers().register(tokenizer::NAME, JiebaTokenizer);
}

/// Creates an empty index of the current schema in `dir`.
pub fn create(dir: &Path) -> AppResult<Index> {
    std::fs::create_dir_all(dir).map_err(err)?;
    let index = Index::create_in_dir(dir, schema::schema()).map_err(err)?;
    prepare(&index);
    Ok(index)
}

impl Open {
    /// Opens generation `generation` under `root` (creating it when missing). `None` when the
    /// folder holds an index of another schema (an older version): it must be rebuilt.
    pub fn at(root: &Path, generation: &str) -> AppResult<Option<Open>> {
        let dir = root.join(generation);
        let index = if dir.join("meta.json").exists() {
            let index = Index::open_in_dir(&dir).map_err(err)?;
            if index.schema() != schema::schema() {
                return Ok(None);
            }
            prepare(&index);
            index
        } else {
            create(&dir)?
        };
        Ok(Some(Self::of(index, generation.to_owned(), dir)?))
    }

    pub fn of(index: Index, generation: String, dir: PathBuf) -> AppResult<Open> {
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(err)?;
        let fields = Fields::of(&index.schema()).map_err(err)?;
        Ok(Open {
            generation,
            dir,
            index,
            reader,
            fields,
            facet_maps: Default::default(),
            visible: Default::default(),
            writer: Mutex::new(None),
        })
    }

    /// The change-log sequence number of the last commit (0 for a new index).
    pub fn payload(&self) -> AppResult<i64> {
        let metas = self.index.load_metas().map_err(err)?;
        Ok(metas
            .payload
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or(0))
    }

    /// Runs `f` with this process's writer, opened on first use. Fails with
    /// `search.index_busy` when another process holds the index's writer lock.
    pub fn with_writer<R>(
        &self,
        f: impl FnOnce(&mut IndexWriter<TantivyDocument>) -> tantivy::Result<R>,
    ) -> AppResult<R> {
        let mut guard = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        if guard.is_none() {
            let w = self
                .index
                .writer_with_num_threads(1, SERVER_WRITER_BYTES)
                .map_err(|e| match e {
                    tantivy::TantivyError::LockFailure(..) => {
                        AppError::Conflict("search.index_busy", kernel::FieldErrors::new())
                    }
                    e => err(e),
                })?;
            *guard = Some(w);
        }
        match guard.as_mut() {
            Some(w) => f(w).map_err(err),
            None => Err(err("no writer")),
        }
    }

    /// Commits what the writer holds, recording `seq` as where the log was followed to, and
    /// reloads the reader so searches see it.
    pub fn commit(&self, seq: i64) -> AppResult<()> {
        self.with_writer(|w| {
            let mut prepared = w.prepare_commit()?;
            prepared.set_payload(&seq.to_string());
            prepared.commit()?;
            Ok(())
        })?;
        self.reader.reload().map_err(err)
    }

    /// Drops the writer (and its lock), waiting for its threads.
    fn close_writer(&self) {
        let w = self.writer.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(w) = w {
            let _ = w.wait_merging_threads();
        }
    }
}

/// The index this process searches, opened on first use.
pub fn current(state: &AppState) -> AppResult<Arc<Open>> {
    let shared = state.cache::<Shared>();
    if let Some(o) = shared
        .open
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .as_ref()
    {
        return Ok(o.clone());
    }
    refresh(state)
}

/// Opens the generation `CURRENT` names if it is not the one open (a rebuild swapped it in),
/// creating a first generation when there is none or the one there has an older schema.
pub fn refresh(state: &AppState) -> AppResult<Arc<Open>> {
    let shared = state.cache::<Shared>();
    let root = root(&state.config);
    let mut slot = shared.open.write().unwrap_or_else(|e| e.into_inner());
    let wanted = current_generation(&root);
    if let (Some(o), Some(w)) = (slot.as_ref(), wanted.as_ref())
        && &o.generation == w
    {
        return Ok(o.clone());
    }
    std::fs::create_dir_all(&root).map_err(err)?;
    let opened = match wanted.as_deref().map(|g| Open::at(&root, g)).transpose()? {
        Some(Some(o)) => o,
        _ => {
            // None yet, or one of an older schema: start a new one, caught up from the log.
            let generation = new_generation();
            let o = Open::at(&root, &generation)?.ok_or_else(|| err("new index unreadable"))?;
            set_current(&root, &generation)?;
            if wanted.is_some() {
                remove_unused(&root, &generation);
            }
            o
        }
    };
    let opened = Arc::new(opened);
    if let Some(old) = slot.replace(opened.clone()) {
        old.close_writer();
        if old.dir != opened.dir {
            tracing::info!(from = %old.generation, to = %opened.generation, "search index switched");
            remove_unused(&root, &opened.generation);
        }
    }
    Ok(opened)
}

/// Installs a generation this process has just built (see `rebuild`).
pub fn install(state: &AppState, opened: Open) {
    let shared = state.cache::<Shared>();
    let mut slot = shared.open.write().unwrap_or_else(|e| e.into_inner());
    if let Some(old) = slot.replace(Arc::new(opened)) {
        old.close_writer();
    }
}

/// Removes the generations under `root` other than `keep` that no process writes to.
pub fn remove_unused(root: &Path, keep: &str) {
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name == keep || !name.starts_with("g-") || !e.path().is_dir() {
            continue;
        }
        let free = MmapDirectory::open(e.path())
            .ok()
            .and_then(|d| d.acquire_lock(&INDEX_WRITER_LOCK).ok());
        if let Some(lock) = free {
            drop(lock);
            if let Err(err) = std::fs::remove_dir_all(e.path()) {
                tracing::warn!(generation = %name, error = %err, "old search index not removed");
            }
        }
    }
}

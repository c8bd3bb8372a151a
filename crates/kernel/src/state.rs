//! The state every handler receives.

use crate::{Clock, Config, Db};
use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::Semaphore;

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub config: Arc<Config>,
    pub clock: Clock,
    /// Bounds password hashing to two jobs per core (one hashing, one queued behind it, so a
    /// hashing thread that finishes starts the next at once instead of waiting for the runtime
    /// to hand it one), so a login storm queues here instead of exhausting memory.
    pub hash_permits: Arc<Semaphore>,
    /// Per-state caches that domain crates keep (signing keys, …), one per type.
    pub caches: Arc<Mutex<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>>,
    /// The read replica, when `database_replica_url` is set ([`crate::replica`]).
    pub replica: Option<Arc<crate::replica::Replica>>,
}

impl AppState {
    pub fn new(db: Db, config: Config, clock: Clock) -> Self {
        crate::audit::set_writer(&config.node_name());
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        Self {
            db,
            config: Arc::new(config),
            clock,
            hash_permits: Arc::new(Semaphore::new(2 * cores)),
            caches: Arc::default(),
            replica: None,
        }
    }

    /// With reads that tolerate lag going to `replica` ([`crate::replica`]).
    pub fn with_replica(mut self, replica: crate::replica::Replica) -> Self {
        self.replica = Some(Arc::new(replica));
        self
    }

    /// Runs a read that tolerates a bounded lag: on the replica when the request allows it
    /// ([`crate::replica::Replica::serves`]), else (or when it fails there) on the primary.
    /// Never a write, and never what authorization rests on.
    pub async fn read<'s, T, F, Fut>(&'s self, f: F) -> crate::AppResult<T>
    where
        F: Fn(&'s Db) -> Fut,
        Fut: std::future::Future<Output = crate::AppResult<T>>,
    {
        if let Some(r) = self.replica.as_deref().filter(|r| r.serves()) {
            match f(&r.db).await {
                Ok(v) => return Ok(v),
                Err(e) => {
                    // Gone between two polls (the next poll decides whether it is well again),
                    // or behind on what this read needs: the primary answers.
                    if matches!(e, crate::AppError::Database(_)) {
                        tracing::warn!(error = %e, "read on the replica failed; read again on the primary");
                        r.mark_down();
                    }
                }
            }
        }
        f(&self.db).await
    }

    /// This state's cache of type `T`, created empty on first use. Each state (each test's
    /// server) has its own, so nothing leaks between databases.
    pub fn cache<T: Default + Send + Sync + 'static>(&self) -> Arc<T> {
        let mut map = self.caches.lock().unwrap_or_else(|e| e.into_inner());
        let entry = map
            .entry(TypeId::of::<T>())
            .or_insert_with(|| Arc::new(T::default()));
        match Arc::clone(entry).downcast::<T>() {
            Ok(t) => t,
            // Unreachable: the map is keyed by the type itself.
            Err(_) => Arc::new(T::default()),
        }
    }
}

//! The state every handler receives.

use crate::{Clock, Config, Db};
use std::sync::Arc;
use tokio::sync::Semaphore;

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub config: Arc<Config>,
    pub clock: Clock,
    /// Bounds concurrent password hashing to the cores, so a login storm queues instead of
    /// exhausting memory.
    pub hash_permits: Arc<Semaphore>,
}

impl AppState {
    pub fn new(db: Db, config: Config, clock: Clock) -> Self {
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        Self {
            db,
            config: Arc::new(config),
            clock,
            hash_permits: Arc::new(Semaphore::new(cores)),
        }
    }
}

//! The kernel every Jiaoyun module builds on: typed ids, the one error type, configuration,
//! the database handle (SQLite or PostgreSQL) and its migrations, the clock, i18n, the actor
//! and the authorization function, the audit writer, paging and personal-data masking.

pub mod actor;
pub mod audit;
pub mod authz;
pub mod batch;
pub mod clock;
pub mod config;
pub mod db;
pub mod error;
pub mod facts;
pub mod i18n;
pub mod ids;
pub mod notify;
pub mod outbox;
pub mod paging;
pub mod privacy;
pub mod replica;
pub mod schema;
pub mod secret;
pub mod state;
pub mod testing;
pub mod time;
pub mod tree;

pub use actor::{Actor, Grant, Role};
pub use audit::{AuditEvent, Outcome, RequestMeta};
pub use authz::Permission;
pub use clock::Clock;
pub use config::Config;
pub use db::{Db, Tx};
pub use error::{AppError, AppResult, FieldErrors};
pub use i18n::Locale;
pub use ids::*;
pub use schema::Schema;
pub use state::AppState;

/// What every service function receives besides its input: the state (database, config),
/// who acts, the request they act through (for the audit record) and the time (from the
/// [`Clock`]).
pub struct Ctx<'a> {
    pub state: &'a AppState,
    pub actor: &'a Actor,
    pub meta: &'a RequestMeta,
    pub now: chrono::DateTime<chrono::Utc>,
}

impl<'a> Ctx<'a> {
    pub fn new(state: &'a AppState, actor: &'a Actor, meta: &'a RequestMeta) -> Self {
        Self {
            state,
            actor,
            meta,
            now: state.clock.now(),
        }
    }

    /// Today's date in the region's time zone (not UTC's: between midnight and eight in the
    /// morning in Beijing, UTC is still on yesterday).
    pub fn today(&self) -> chrono::NaiveDate {
        self.state.config.time_zone.date(self.now)
    }
    pub fn db(&self) -> &'a Db {
        &self.state.db
    }
    /// Opens the write transaction of this action.
    pub async fn begin(&self) -> AppResult<Tx> {
        self.state.db.begin().await
    }
    /// Writes this action's audit record inside `tx`.
    pub async fn audit(&self, tx: &mut Tx, ev: AuditEvent) -> AppResult<()> {
        audit::record(tx, self.now, audit::Who::from(self.actor), self.meta, ev).await
    }
}

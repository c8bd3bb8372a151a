//! Teaching on a real database with the demo region and library: SQLite by default,
//! PostgreSQL when TEST_DATABASE_URL is set. Service tests call the module's functions as the
//! demo's people; `http` drives its pages on a `TestApp`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod analysis;
mod assessment;
mod assignments;
mod classroom;
mod helpers;
mod http;
mod http_analysis;
mod http_assignments;
mod http_qti;
mod items;
mod knowledge;
mod lesson_prep;
mod marking;
mod sharing;

//! The directory's integration tests: its routes inside the platform's shell on a random port
//! (`helpers::TestApp`), spoken to over HTTP. SQLite by default; PostgreSQL when
//! TEST_DATABASE_URL is set.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod exchange;
mod exports;
mod helpers;
mod imports;
mod lifecycle;
mod permissions;
mod registry;
mod staff_import;
mod transfers;

//! The library's service functions on a real database with the demo region and library:
//! SQLite by default, PostgreSQL when TEST_DATABASE_URL is set. The HTTP-level tests are in
//! the jiaoyun crate's integration tests.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod catalog;
mod excellent;
mod files;
mod helpers;
mod http;
mod library;
mod recommend;
mod review;
mod search;
mod stats;

//! The outbox's delivery against local fakes that speak the providers' request and
//! response shapes (token fetch and expiry, rate-limit errors), on a real database with the
//! demo region: SQLite by default, PostgreSQL when TEST_DATABASE_URL is set.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod channels_more;
mod delivery;
mod vectors;

//! The security suite (issue #15): each test is named after the OWASP ASVS 5.0 requirement it
//! checks (`asvs_v<chapter>_<section>_<item>_…`), so `cargo test asvs_v10` runs one chapter.
//! `docs/security.md` maps each requirement, and the MLPS level-3 controls, to these tests.
//! They run on SQLite and, with TEST_DATABASE_URL, on PostgreSQL.

mod api;
mod audit;
mod cas;
pub(crate) mod claims;
mod exports;
mod headers;
mod passwords;
mod people;
mod proxy;
mod uploads;

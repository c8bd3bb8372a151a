//! Integration tests: the real server on a random port, spoken to over HTTP (and through a real
//! browser in `browser`). SQLite by default; PostgreSQL when TEST_DATABASE_URL is set.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod apache;
mod api;
mod browser;
mod browser_home;
mod browser_library;
mod browser_teaching;
mod cli;
mod cluster;
mod crawler;
mod faults;
mod fuzz_seeds;
mod helpers;
mod i18n;
mod oidc_conformance;
// The relying party's helpers, shared with the sso crate's tests.
#[path = "../../../sso/tests/it/oidc_client.rs"]
mod oidc_client;
mod openid_client_js;
mod pages;
mod pages_right;
mod replica;
mod security;
mod snapshots;

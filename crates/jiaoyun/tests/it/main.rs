//! Integration tests: the real server on a random port, spoken to over HTTP (and through a real
//! browser in `browser`). SQLite by default; PostgreSQL when TEST_DATABASE_URL is set.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod apache;
mod api;
mod applications;
mod browser;
mod browser_library;
mod cas;
mod crawler;
mod exchange;
mod exports;
mod federation;
mod fuzz_seeds;
mod helpers;
mod i18n;
mod imports;
mod library_flow;
mod lifecycle;
mod login_security;
mod oidc;
mod oidc_conformance;
mod openid_client_js;
mod pages;
mod pages_right;
mod permissions;
mod registry;
mod resource_catalog;
mod resource_files;
mod resource_library;
mod resource_search;
mod security;
mod snapshots;
mod sso_sessions;
mod staff_import;
mod transfers;

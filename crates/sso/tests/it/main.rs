//! The identity centre's integration tests: single sign-on (OIDC, CAS, single logout,
//! connected applications, federation with upper-level providers) and the login security of
//! the account pages, on the sso crate's routes inside the platform's shell (`helpers::TestApp`).
//! SQLite by default; PostgreSQL when TEST_DATABASE_URL is set.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod applications;
mod cas;
mod federation;
mod helpers;
mod login_security;
mod oidc;
mod oidc_client;
mod remembered;
mod revocation;
mod sso_sessions;

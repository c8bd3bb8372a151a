//! Home-school communication on a real database with the demo region: SQLite by default,
//! PostgreSQL when TEST_DATABASE_URL is set. Service tests call the module's functions as the
//! demo's people; `http` drives its pages on a `TestApp`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod activities;
mod attendance;
mod awards;
mod binding;
mod helpers;
mod http;
mod leave;
mod messages;
mod notices;
mod photos;
mod routine;
mod safety;
mod space;

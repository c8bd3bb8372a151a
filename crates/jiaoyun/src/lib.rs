//! The binary's parts, as a library so the integration tests can start the real server.

pub mod admin;
pub mod audit;
pub mod bench;
mod bench_exchange;
pub mod bench_files;
mod bench_identity;
mod bench_import;
mod bench_resources;
pub mod export;
pub mod fuzzing;
pub mod import;
pub mod index;
pub mod server;

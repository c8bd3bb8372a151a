//! The binary's parts, as a library so the integration tests can start the real server.

pub mod admin;
pub mod audit;
pub mod bench;
mod bench_cluster;
mod bench_exam;
mod bench_exchange;
pub mod bench_files;
mod bench_identity;
mod bench_import;
mod bench_resources;
mod bench_spaces;
pub mod export;
pub mod fuzzing;
pub mod import;
pub mod index;
pub mod memory;
pub mod server;

/// Every module's tables: the schemas the platform migrates (each brings what it needs).
pub static SCHEMAS: &[&kernel::Schema] = &[
    &identity::SCHEMA,
    &directory::SCHEMA,
    &resources::SCHEMA,
    &spaces::SCHEMA,
    &teaching::SCHEMA,
];

/// Loads the demo into an empty database: the region, the library, the home-school life,
/// teaching.
/// Returns `false` (and loads nothing) if the database holds a region already.
pub async fn load_demo(state: &kernel::AppState) -> kernel::AppResult<bool> {
    if !directory::demo::load(state).await? {
        return Ok(false);
    }
    resources::demo::load(state).await?;
    spaces::demo::load(state).await?;
    teaching::demo::load(state).await?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    /// Versions are numbered across the crates: together they run 1, 2, 3, … with no gap and
    /// no number twice, so a database migrated before the folders were split per crate finds
    /// every version it applied (the files kept their names and contents).
    #[test]
    fn every_migration_is_planned_once_in_version_order() {
        for postgres in [false, true] {
            let plan = kernel::Schema::plan(super::SCHEMAS, postgres).unwrap();
            let versions: Vec<i64> = plan.iter().map(|(_, m)| m.version).collect();
            let expected: Vec<i64> = (1..=versions.len() as i64).collect();
            assert_eq!(versions, expected);
            assert!(versions.len() >= 13);
        }
    }
}

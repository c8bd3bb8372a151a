//! Each crate owns its tables: its migrations live in its own `migrations/sqlite` and
//! `migrations/postgres` folders and it declares them as a [`Schema`] (with [`schema!`]),
//! naming the schemas its tables build on. The kernel's runner applies a set of schemas,
//! with everything they need, as one ordered list.
//!
//! Versions are numbered across the workspace (`0014_…` is the next file whichever crate
//! writes it), so the list has one order and databases migrated before the folders were split
//! keep their history: the runner refuses two files with the same version.

use crate::Db;
use crate::error::{AppError, AppResult};
use sqlx::migrate::{Migration, Migrator};
use std::collections::BTreeMap;

/// One crate's migrations for both databases.
pub struct Schema {
    /// The crate that owns these tables.
    pub module: &'static str,
    /// The schemas these migrations build on (their tables are referenced or altered).
    pub needs: &'static [&'static Schema],
    pub sqlite: Migrator,
    pub postgres: Migrator,
}

/// Declares the calling crate's schema from its `migrations/sqlite` and `migrations/postgres`
/// folders: `kernel::schema!("directory", [&identity::SCHEMA])`.
#[macro_export]
macro_rules! schema {
    ($module:literal, [$($need:expr),* $(,)?]) => {
        $crate::schema::Schema {
            module: $module,
            needs: &[$($need),*],
            sqlite: ::sqlx::migrate!("./migrations/sqlite"),
            postgres: ::sqlx::migrate!("./migrations/postgres"),
        }
    };
}

/// The kernel's own tables: organisations, persons, accounts, sessions, roles, terms, audit.
pub static SCHEMA: Schema = schema!("kernel", []);

impl Schema {
    fn migrator(&self, postgres: bool) -> &Migrator {
        if postgres {
            &self.postgres
        } else {
            &self.sqlite
        }
    }

    /// These schemas and everything they need, each once, needs first.
    pub fn closure<'a>(schemas: &[&'a Schema]) -> Vec<&'a Schema> {
        fn visit<'a>(s: &'a Schema, out: &mut Vec<&'a Schema>) {
            if out.iter().any(|o| std::ptr::eq(*o, s)) {
                return;
            }
            for n in s.needs {
                visit(n, out);
            }
            out.push(s);
        }
        let mut out = Vec::new();
        for s in schemas {
            visit(s, &mut out);
        }
        out
    }

    /// The migrations of `schemas` (and what they need) for one database, in version order;
    /// an error names the two crates if two files share a version.
    pub fn plan(schemas: &[&Schema], postgres: bool) -> AppResult<Vec<(&'static str, Migration)>> {
        let mut by_version: BTreeMap<i64, (&'static str, Migration)> = BTreeMap::new();
        for s in Self::closure(schemas) {
            for m in s.migrator(postgres).iter() {
                if let Some((other, _)) = by_version.get(&m.version) {
                    return Err(AppError::Internal(format!(
                        "migration version {} is claimed by both {other} and {}",
                        m.version, s.module
                    )));
                }
                by_version.insert(m.version, (s.module, m.clone()));
            }
        }
        Ok(by_version.into_values().collect())
    }
}

impl Db {
    /// Applies the migrations of `schemas`, and of the schemas they need, in version order.
    pub async fn migrate(&self, schemas: &[&Schema]) -> AppResult<()> {
        let postgres = matches!(self, Db::Postgres(_));
        let plan = Schema::plan(schemas, postgres)?;
        let migrator = Migrator::with_migrations(plan.into_iter().map(|(_, m)| m).collect());
        match self {
            Db::Sqlite(p) => migrator.run(p).await,
            Db::Postgres(p) => migrator.run(p).await,
        }
        .map_err(|e| AppError::Internal(format!("migration failed: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static A: Schema = Schema {
        module: "a",
        needs: &[&SCHEMA],
        sqlite: Migrator::DEFAULT,
        postgres: Migrator::DEFAULT,
    };
    static B: Schema = Schema {
        module: "b",
        needs: &[&A, &SCHEMA],
        sqlite: Migrator::DEFAULT,
        postgres: Migrator::DEFAULT,
    };

    #[test]
    fn closure_puts_needs_first_and_each_once() {
        let names: Vec<_> = Schema::closure(&[&B, &A])
            .iter()
            .map(|s| s.module)
            .collect();
        assert_eq!(names, ["kernel", "a", "b"]);
    }

    #[test]
    fn the_kernel_plan_is_in_version_order() {
        let plan = Schema::plan(&[&SCHEMA], false).unwrap();
        assert!(!plan.is_empty());
        assert!(plan.windows(2).all(|w| w[0].1.version < w[1].1.version));
        assert!(plan.iter().all(|(m, _)| *m == "kernel"));
    }

    #[test]
    fn two_crates_claiming_one_version_are_refused() {
        static COPY: Schema = schema!("copy", []);
        let err = Schema::plan(&[&SCHEMA, &COPY], false)
            .unwrap_err()
            .to_string();
        assert!(err.contains("claimed by both kernel and copy"), "{err}");
    }
}

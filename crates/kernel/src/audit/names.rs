//! How the audit log names the objects its entries mention. Each module declares, for the kinds
//! of object it owns, the query that reads an object's name by id; the binary registers them
//! once (`state.cache::<ObjectNames>()`), and the audit page asks the registry instead of
//! reading other modules' tables itself.

use std::sync::RwLock;

/// One kind of object: its `object_type` in the log and the SQL that reads its name (one
/// column, the id bound as `$1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObjectName {
    pub kind: &'static str,
    pub sql: &'static str,
}

/// The registered kinds, one registry per state.
#[derive(Default)]
pub struct ObjectNames(RwLock<Vec<ObjectName>>);

impl ObjectNames {
    /// Adds a module's kinds; a kind registered again keeps its first query.
    pub fn register(&self, names: &[ObjectName]) {
        let mut all = self.0.write().unwrap_or_else(|e| e.into_inner());
        for n in names {
            if !all.iter().any(|a| a.kind == n.kind) {
                all.push(*n);
            }
        }
    }

    /// The query that names an object of this kind, if a module registered one.
    pub fn sql(&self, kind: &str) -> Option<&'static str> {
        self.0
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .find(|n| n.kind == kind)
            .map(|n| n.sql)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kind_is_named_by_the_first_module_that_registers_it() {
        let names = ObjectNames::default();
        assert_eq!(names.sql("resource"), None);
        names.register(&[ObjectName {
            kind: "resource",
            sql: "SELECT title FROM resources WHERE id = $1",
        }]);
        names.register(&[ObjectName {
            kind: "resource",
            sql: "SELECT other FROM elsewhere WHERE id = $1",
        }]);
        assert_eq!(
            names.sql("resource"),
            Some("SELECT title FROM resources WHERE id = $1")
        );
        assert_eq!(names.sql("application"), None);
    }
}

//! The classes of a school (or of every school under a region): grade, class, entry year,
//! head teacher, students. No personal data.

use super::{Mask, Request, Table};
use crate::nodes;
use kernel::authz::{self, Permission};
use kernel::{AppResult, Ctx, NodeId, on_db};

const COLUMNS: [(&str, &str); 7] = [
    ("学校", "XXMC"),
    ("学校标识码", "XXBSM"),
    ("年级", "NJ"),
    ("班级", "BJMC"),
    ("入学年份", "RXNF"),
    ("班主任", "BZR"),
    ("学生数", "XSS"),
];

type Row = (
    String,
    Option<String>,
    String,
    String,
    Option<i64>,
    Option<String>,
    i64,
);

/// The active classes under `node`, for the administrators who see its page.
pub async fn classes(cx: &Ctx<'_>, node: NodeId, req: Request) -> AppResult<super::File> {
    let n = nodes::get(cx, node).await?;
    authz::require(cx.db(), cx.actor, Permission::ViewPeople, node).await?;
    let rows: Vec<Row> = on_db!(cx.db(), p => sqlx::query_as(
        "SELECT s.name, s.code, g.name, c.name, c.entry_year,
                (SELECT MIN(t.name) FROM role_assignments h JOIN persons t ON t.id = h.person_id
                 WHERE h.node_id = c.id AND h.role = 'head_teacher' AND t.active = TRUE),
                (SELECT COUNT(*) FROM role_assignments m JOIN persons sp ON sp.id = m.person_id
                 WHERE m.node_id = c.id AND m.role = 'student' AND sp.active = TRUE)
         FROM org_closure x
         JOIN org_nodes c ON c.id = x.descendant_id AND c.kind = 'class' AND c.active = TRUE
         JOIN org_nodes g ON g.id = c.parent_id
         JOIN org_nodes s ON s.id = c.school_id
         WHERE x.ancestor_id = $1
         ORDER BY s.code, s.name, g.stages, g.grade_code, c.name",
    ).bind(node).fetch_all(p).await)?;
    let rows = rows
        .into_iter()
        .map(|r| {
            vec![
                r.0,
                r.1.unwrap_or_default(),
                r.2,
                r.3,
                r.4.map(|y| y.to_string()).unwrap_or_default(),
                r.5.unwrap_or_default(),
                r.6.to_string(),
            ]
        })
        .collect();
    let table = Table {
        stem: super::stem(cx, &n.name, "classes"),
        columns: COLUMNS.to_vec(),
        rows,
    };
    super::deliver(cx, super::List::Classes, node, table, req, Mask::masked()).await
}

//! The students enrolled under a node (grade, class, first guardian), with Chinese or JY/T
//! short-name headers (the registry format: XJH, XM, XBM, …).

use super::{Mask, Request, Table, code_name};
use crate::codes::Table as Codes;
use crate::nodes;
use kernel::authz::{self, Permission};
use kernel::{AppError, AppResult, Ctx, NodeId, on_db};

/// The exported columns: the Chinese header and the JY/T short name.
const COLUMNS: [(&str, &str); 12] = [
    ("学籍号", "XJH"),
    ("姓名", "XM"),
    ("性别", "XBM"),
    ("出生日期", "CSRQ"),
    ("身份证件号", "SFZJH"),
    ("民族", "MZM"),
    ("年级", "NJ"),
    ("班级", "BJ"),
    ("现住址", "XZZ"),
    ("监护人1姓名", "JHR1XM"),
    ("监护人1关系", "JHR1GX"),
    ("监护人1联系电话", "JHR1LXDH"),
];

type Row = (
    Option<String>,
    String,
    String,
    Option<chrono::NaiveDate>,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// The students enrolled under `node`. Teachers may export their own classes; administrators
/// any node they administer, and only they may ask for personal data unmasked.
pub async fn students(cx: &Ctx<'_>, node: NodeId, req: Request) -> AppResult<super::File> {
    let n = nodes::get(cx, node).await?;
    let db = cx.db();
    if !authz::may(db, cx.actor, Permission::ViewPeople, node).await?
        && !authz::may(db, cx.actor, Permission::ViewRoster, node).await?
    {
        return Err(AppError::NotFound("directory.node_not_found"));
    }
    let mask = Mask::for_export(cx, node, req.unmasked).await?;
    let rows: Vec<Row> = on_db!(db, p => sqlx::query_as(
        "SELECT p.registry_no, p.name, p.gender, p.birth_date, p.id_number, p.ethnicity, g.name, c.name, s.address,
                gp.name, f.relation, gp.phone
         FROM org_closure x
         JOIN role_assignments r ON r.node_id = x.descendant_id AND r.role = 'student'
         JOIN persons p ON p.id = r.person_id AND p.active = TRUE
         JOIN org_nodes c ON c.id = r.node_id
         LEFT JOIN org_nodes g ON g.id = c.parent_id
         LEFT JOIN students s ON s.person_id = p.id
         LEFT JOIN family_members f ON f.student_id = p.id AND f.position = 1
         LEFT JOIN persons gp ON gp.id = f.person_id
         WHERE x.ancestor_id = $1 AND COALESCE(s.status, 'enrolled') = 'enrolled'
         ORDER BY g.grade_code, c.name, p.name",
    ).bind(node).fetch_all(p).await)?;
    let rows = rows
        .iter()
        .map(|r| {
            vec![
                mask.id(r.0.as_deref()),
                r.1.clone(),
                code_name(Codes::Gender, Some(&r.2)),
                r.3.map(|d| d.to_string()).unwrap_or_default(),
                mask.id(r.4.as_deref()),
                code_name(Codes::Ethnicity, r.5.as_deref()),
                r.6.clone().unwrap_or_default(),
                r.7.clone(),
                mask.address(r.8.as_deref()),
                r.9.clone().unwrap_or_default(),
                code_name(Codes::FamilyRelation, r.10.as_deref()),
                mask.phone(r.11.as_deref()),
            ]
        })
        .collect();
    let table = Table {
        stem: super::stem(cx, &n.name, "students"),
        columns: COLUMNS.to_vec(),
        rows,
    };
    super::deliver(cx, super::List::Students, node, table, req, mask).await
}

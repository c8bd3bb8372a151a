//! The staff of a node: everyone of its subtree with a staff number or an employment record,
//! and everyone teaching a class in it (so a grade's or class's list holds its teachers), with
//! what and where they teach.

use super::{Mask, Request, Table, code_name};
use crate::codes::Table as Codes;
use crate::nodes;
use kernel::authz::{self, Permission};
use kernel::{AppResult, Ctx, NodeId, PersonId, on_db};
use standards::subjects::subject_name;
use std::collections::HashMap;

const COLUMNS: [(&str, &str); 11] = [
    ("工号", "GH"),
    ("姓名", "XM"),
    ("性别", "XBM"),
    ("出生日期", "CSRQ"),
    ("身份证件号", "SFZJH"),
    ("联系电话", "LXDH"),
    ("所在单位", "DWMC"),
    ("专业技术职务", "ZYJSZWM"),
    ("最高学历", "XLM"),
    ("班主任", "BZRBJ"),
    ("任教班级与学科", "RJBJXK"),
];

type Row = (
    PersonId,
    Option<String>,
    String,
    String,
    Option<chrono::NaiveDate>,
    Option<String>,
    Option<String>,
    String,
    Option<String>,
    Option<String>,
);

/// The staff under `node`, for the administrators who see its people page.
pub async fn staff(cx: &Ctx<'_>, node: NodeId, req: Request) -> AppResult<super::File> {
    let n = nodes::get(cx, node).await?;
    let db = cx.db();
    authz::require(db, cx.actor, Permission::ViewPeople, node).await?;
    let mask = Mask::for_export(cx, node, req.unmasked).await?;
    let people: Vec<Row> = on_db!(db, p => sqlx::query_as(
        "SELECT p.id, p.staff_no, p.name, p.gender, p.birth_date, p.id_number, p.phone, o.name, st.title, st.education
         FROM persons p
         JOIN org_nodes o ON o.id = p.org_id
         LEFT JOIN staff st ON st.person_id = p.id
         WHERE p.active = TRUE AND p.id IN (
             SELECT q.id FROM org_closure x JOIN persons q ON q.org_id = x.descendant_id
             LEFT JOIN staff qs ON qs.person_id = q.id
             WHERE x.ancestor_id = $1 AND (qs.person_id IS NOT NULL OR q.staff_no IS NOT NULL)
             UNION
             SELECT r.person_id FROM org_closure x JOIN role_assignments r ON r.node_id = x.descendant_id
             WHERE x.ancestor_id = $1 AND r.role IN ('teacher', 'head_teacher'))
         ORDER BY o.name, p.staff_no, p.name",
    ).bind(node).fetch_all(p).await)?;
    let teaching: Vec<(PersonId, String, Option<String>, String, String)> = on_db!(db, p => sqlx::query_as(
        "SELECT r.person_id, r.role, r.subject, g.name, c.name
         FROM org_closure x
         JOIN org_nodes c ON c.id = x.descendant_id AND c.kind = 'class' AND c.active = TRUE
         JOIN org_nodes g ON g.id = c.parent_id
         JOIN role_assignments r ON r.node_id = c.id AND r.role IN ('teacher', 'head_teacher')
         WHERE x.ancestor_id = $1
         ORDER BY g.grade_code, c.name, r.subject",
    ).bind(node).fetch_all(p).await)?;
    let mut heads: HashMap<PersonId, Vec<String>> = HashMap::new();
    let mut taught: HashMap<PersonId, Vec<String>> = HashMap::new();
    for (person, role, subject, grade, class) in teaching {
        if role == "head_teacher" {
            heads
                .entry(person)
                .or_default()
                .push(format!("{grade}{class}"));
        } else {
            let s = subject.as_deref().map(subject_name).unwrap_or_default();
            taught
                .entry(person)
                .or_default()
                .push(format!("{grade}{class} {s}").trim_end().to_owned());
        }
    }
    let rows = people
        .iter()
        .map(|r| {
            vec![
                r.1.clone().unwrap_or_default(),
                r.2.clone(),
                code_name(Codes::Gender, Some(&r.3)),
                r.4.map(|d| d.to_string()).unwrap_or_default(),
                mask.id(r.5.as_deref()),
                mask.phone(r.6.as_deref()),
                r.7.clone(),
                code_name(Codes::ProfessionalTitle, r.8.as_deref()),
                code_name(Codes::EducationLevel, r.9.as_deref()),
                heads.get(&r.0).map(|v| v.join("、")).unwrap_or_default(),
                taught.get(&r.0).map(|v| v.join("、")).unwrap_or_default(),
            ]
        })
        .collect();
    let table = Table {
        stem: super::stem(cx, &n.name, "staff"),
        columns: COLUMNS.to_vec(),
        rows,
    };
    super::deliver(cx, super::List::Staff, node, table, req, mask).await
}

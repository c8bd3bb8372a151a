//! A class's roster with its guardians: one row per student, up to three guardians each.

use super::{Mask, Request, Table, code_name};
use crate::classes;
use crate::codes::Table as Codes;
use kernel::{AppResult, Ctx, NodeId, PersonId, on_db};
use std::collections::HashMap;

const GUARDIANS: usize = 3;

const COLUMNS: [(&str, &str); 14] = [
    ("序号", "XH"),
    ("姓名", "XM"),
    ("性别", "XBM"),
    ("出生日期", "CSRQ"),
    ("学籍号", "XJH"),
    ("监护人1姓名", "JHR1XM"),
    ("监护人1关系", "JHR1GX"),
    ("监护人1联系电话", "JHR1LXDH"),
    ("监护人2姓名", "JHR2XM"),
    ("监护人2关系", "JHR2GX"),
    ("监护人2联系电话", "JHR2LXDH"),
    ("监护人3姓名", "JHR3XM"),
    ("监护人3关系", "JHR3GX"),
    ("监护人3联系电话", "JHR3LXDH"),
];

type Student = (
    PersonId,
    String,
    String,
    Option<chrono::NaiveDate>,
    Option<String>,
);

/// The roster of `class`, for whoever may see the roster page (its teachers, the
/// administrators above it); only administrators may ask for personal data in full.
pub async fn roster(cx: &Ctx<'_>, class: NodeId, req: Request) -> AppResult<super::File> {
    let r = classes::roster(cx, class).await?;
    let mask = Mask::for_export(cx, class, req.unmasked).await?;
    let db = cx.db();
    let students: Vec<Student> = on_db!(db, p => sqlx::query_as(
        "SELECT p.id, p.name, p.gender, p.birth_date, p.registry_no
         FROM role_assignments r JOIN persons p ON p.id = r.person_id
         WHERE r.node_id = $1 AND r.role = 'student' AND p.active = TRUE
         ORDER BY p.name",
    ).bind(class).fetch_all(p).await)?;
    let guardians: Vec<(PersonId, String, Option<String>, Option<String>)> = on_db!(db, p => sqlx::query_as(
        "SELECT g.student_id, gp.name, g.relation, gp.phone
         FROM role_assignments s
         JOIN role_assignments g ON g.student_id = s.person_id AND g.role = 'guardian'
         JOIN persons gp ON gp.id = g.person_id AND gp.active = TRUE
         LEFT JOIN family_members f ON f.student_id = g.student_id AND f.person_id = g.person_id
         WHERE s.node_id = $1 AND s.role = 'student'
         ORDER BY COALESCE(f.position, 99), gp.name",
    ).bind(class).fetch_all(p).await)?;
    let mut by_student: HashMap<PersonId, Vec<[String; 3]>> = HashMap::new();
    for (student, name, relation, phone) in guardians {
        by_student.entry(student).or_default().push([
            name,
            code_name(Codes::FamilyRelation, relation.as_deref()),
            mask.phone(phone.as_deref()),
        ]);
    }
    let rows = students
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let mut row = vec![
                (i + 1).to_string(),
                s.1.clone(),
                code_name(Codes::Gender, Some(&s.2)),
                s.3.map(|d| d.to_string()).unwrap_or_default(),
                mask.id(s.4.as_deref()),
            ];
            let gs = by_student.get(&s.0).map(Vec::as_slice).unwrap_or_default();
            for k in 0..GUARDIANS {
                match gs.get(k) {
                    Some(g) => row.extend(g.iter().cloned()),
                    None => row.extend(std::iter::repeat_n(String::new(), 3)),
                }
            }
            row
        })
        .collect();
    let name = format!("{}{}{}", r.school_name, r.grade_name, r.class.name);
    let table = Table {
        stem: super::stem(cx, &name, "roster"),
        columns: COLUMNS.to_vec(),
        rows,
    };
    super::deliver(cx, super::List::Roster, class, table, req, mask).await
}

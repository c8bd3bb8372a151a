//! Student lists out of the platform: the students enrolled under any node the viewer may see,
//! as XLSX, UTF-8 CSV (with BOM, for Excel) or GBK CSV (for old Excel), with Chinese or JY/T
//! short-name headers (the registry format: XJH, XM, XBM, …). ID numbers, phones and addresses
//! are masked unless an administrator of the node asks for them in full; every export is
//! audited, and so is every unmasked one.

use crate::codes::{self, Table};
use crate::nodes;
use kernel::authz::{self, Permission};
use kernel::privacy::{mask_id_number, mask_phone};
use kernel::{AppError, AppResult, AuditEvent, Ctx, NodeId, on_db};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Xlsx,
    Csv,
    CsvGbk,
}

impl Format {
    pub fn parse(s: &str) -> Self {
        match s {
            "csv" => Self::Csv,
            "gbk" => Self::CsvGbk,
            _ => Self::Xlsx,
        }
    }
}

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

/// A file: its name, content type and bytes.
pub struct File {
    pub name: String,
    pub content_type: &'static str,
    pub bytes: Vec<u8>,
}

/// The students enrolled under `node`. Teachers may export their own classes; administrators
/// any node they administer, and only they may ask for personal data `unmasked`.
pub async fn students(
    cx: &Ctx<'_>,
    node: NodeId,
    format: Format,
    short_names: bool,
    unmasked: bool,
) -> AppResult<File> {
    let n = nodes::get(cx, node).await?;
    let db = cx.db();
    let admin = authz::may(db, cx.actor, Permission::ViewPeople, node).await?;
    if !admin && !authz::may(db, cx.actor, Permission::ViewRoster, node).await? {
        return Err(AppError::NotFound("directory.node_not_found"));
    }
    if unmasked && !authz::may(db, cx.actor, Permission::ManagePeople, node).await? {
        return Err(AppError::Forbidden);
    }
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
    let name = |t: Table, c: &Option<String>| {
        c.as_deref()
            .map(|c| codes::name(t, c).unwrap_or(c).to_owned())
            .unwrap_or_default()
    };
    let masked = |v: &Option<String>, f: fn(&str) -> String| {
        v.as_deref()
            .map(|s| if unmasked { s.to_owned() } else { f(s) })
            .unwrap_or_default()
    };
    let table: Vec<[String; 12]> = rows
        .iter()
        .map(|r| {
            [
                masked(&r.0, mask_id_number),
                r.1.clone(),
                codes::name(Table::Gender, &r.2).unwrap_or("").to_owned(),
                r.3.map(|d| d.to_string()).unwrap_or_default(),
                masked(&r.4, mask_id_number),
                name(Table::Ethnicity, &r.5),
                r.6.clone().unwrap_or_default(),
                r.7.clone(),
                masked(&r.8, |a| a.chars().take(6).collect::<String>() + "…"),
                r.9.clone().unwrap_or_default(),
                name(Table::FamilyRelation, &r.10),
                masked(&r.11, mask_phone),
            ]
        })
        .collect();
    let headers: Vec<&str> = COLUMNS
        .iter()
        .map(|(zh, short)| if short_names { *short } else { *zh })
        .collect();
    let stem = format!("{}-学生名单", n.name);
    let file = match format {
        Format::Xlsx => {
            let mut wb = rust_xlsxwriter::Workbook::new();
            let write =
                |wb: &mut rust_xlsxwriter::Workbook| -> Result<(), rust_xlsxwriter::XlsxError> {
                    let ws = wb.add_worksheet();
                    for (c, h) in headers.iter().enumerate() {
                        ws.write_string(0, c as u16, *h)?;
                    }
                    for (r, row) in table.iter().enumerate() {
                        for (c, v) in row.iter().enumerate() {
                            if !v.is_empty() {
                                ws.write_string(r as u32 + 1, c as u16, v)?;
                            }
                        }
                    }
                    Ok(())
                };
            write(&mut wb).map_err(AppError::internal)?;
            File {
                name: format!("{stem}.xlsx"),
                content_type: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                bytes: wb.save_to_buffer().map_err(AppError::internal)?,
            }
        }
        Format::Csv | Format::CsvGbk => {
            let mut w = csv::Writer::from_writer(Vec::new());
            w.write_record(&headers).map_err(AppError::internal)?;
            for row in &table {
                w.write_record(row).map_err(AppError::internal)?;
            }
            let text = String::from_utf8(w.into_inner().map_err(AppError::internal)?)
                .map_err(AppError::internal)?;
            let bytes = if format == Format::CsvGbk {
                encoding_rs::GB18030.encode(&text).0.into_owned()
            } else {
                [b"\xEF\xBB\xBF".as_slice(), text.as_bytes()].concat()
            };
            File {
                name: format!("{stem}.csv"),
                content_type: if format == Format::CsvGbk {
                    "text/csv; charset=gb18030"
                } else {
                    "text/csv; charset=utf-8"
                },
                bytes,
            }
        }
    };
    let mut tx = cx.begin().await?;
    cx.audit(
        &mut tx,
        AuditEvent::new(if unmasked {
            "export.personal_data"
        } else {
            "export.students"
        })
        .object("node", node)
        .node(node)
        .detail(serde_json::json!({ "rows": table.len(), "unmasked": unmasked })),
    )
    .await?;
    tx.commit().await?;
    Ok(file)
}

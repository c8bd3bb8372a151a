//! Lists out of the platform: every list a page shows (students, staff, the people search,
//! a class roster with its guardians, a school's classes, its registry changes, the audit log) as XLSX, UTF-8 CSV
//! (with BOM, for Excel) or GBK CSV (for old Excel), and the OneRoster 1.2 CSV bundle.
//!
//! One rule for all of them ([`Mask::for_export`]): ID and registry numbers, phones and
//! addresses are masked unless an administrator of the node asks for them in full; asking
//! without being one is refused. One writer ([`deliver`]) encodes the table and writes the
//! audit record: `export.<list>`, or `export.personal_data` (naming the list) when unmasked.
//! Who may export a list is decided by the list's own function, exactly as for its page.

pub mod pages;

mod audit;
mod classes;
pub mod oneroster;
mod people;
mod registry;
mod roster;
mod staff;
mod students;

pub use audit::audit_log;
pub use classes::classes;
pub use people::people;
pub use registry::registry_changes;
pub use roster::roster;
pub use staff::staff;
pub use students::students;

use kernel::authz::{self, Permission};
use kernel::privacy::{mask_email, mask_id_number, mask_phone};
use kernel::{AppError, AppResult, AuditEvent, Ctx, NodeId};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Xlsx,
    Csv,
    CsvGbk,
}

impl Format {
    /// `csv`, `gbk`, anything else XLSX.
    pub fn parse(s: &str) -> Self {
        match s {
            "csv" => Self::Csv,
            "gbk" => Self::CsvGbk,
            _ => Self::Xlsx,
        }
    }
}

/// What the viewer asked for: the format, JY/T short-name headers, personal data in full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request {
    pub format: Format,
    pub short_names: bool,
    pub unmasked: bool,
}

impl Request {
    pub fn new(format: Format) -> Self {
        Self {
            format,
            short_names: false,
            unmasked: false,
        }
    }
}

/// A file: its name, content type and bytes.
pub struct File {
    pub name: String,
    pub content_type: &'static str,
    pub bytes: Vec<u8>,
}

/// The lists; a masked export of one is audited as `export.<list>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum List {
    Students,
    Staff,
    People,
    Roster,
    Classes,
    Registry,
    Audit,
    OneRoster,
    /// The change feed's records (`GET /api/v1/changes?records=true`).
    Changes,
}

impl List {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Students => "students",
            Self::Staff => "staff",
            Self::People => "people",
            Self::Roster => "roster",
            Self::Classes => "classes",
            Self::Registry => "registry_changes",
            Self::Audit => "audit",
            Self::OneRoster => "oneroster",
            Self::Changes => "changes",
        }
    }
}

/// Whether personal data goes out in full: the one rule for every list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mask {
    full: bool,
}

impl Mask {
    /// Personal data in full only for an administrator who manages `node` and asks for it;
    /// asking without being one is `Forbidden`.
    pub async fn for_export(cx: &Ctx<'_>, node: NodeId, unmasked: bool) -> AppResult<Mask> {
        if unmasked && !authz::may(cx.db(), cx.actor, Permission::ManagePeople, node).await? {
            return Err(AppError::Forbidden);
        }
        Ok(Mask { full: unmasked })
    }
    /// Always masked (lists that never carry personal data in full).
    pub fn masked() -> Mask {
        Mask { full: false }
    }
    pub fn is_full(self) -> bool {
        self.full
    }
    fn apply(self, v: Option<&str>, f: fn(&str) -> String) -> String {
        v.map(|s| if self.full { s.to_owned() } else { f(s) })
            .unwrap_or_default()
    }
    /// ID and registry numbers (a registry number embeds the ID number).
    pub fn id(self, v: Option<&str>) -> String {
        self.apply(v, mask_id_number)
    }
    pub fn phone(self, v: Option<&str>) -> String {
        self.apply(v, mask_phone)
    }
    pub fn email(self, v: Option<&str>) -> String {
        self.apply(v, mask_email)
    }
    /// Addresses keep their first six characters (the district, rarely the street).
    pub fn address(self, v: Option<&str>) -> String {
        self.apply(v, |a| a.chars().take(6).collect::<String>() + "…")
    }
}

/// A list as rows of text under (Chinese header, JY/T short name) columns.
pub struct Table {
    /// The file name without its extension.
    pub stem: String,
    pub columns: Vec<(&'static str, &'static str)>,
    pub rows: Vec<Vec<String>>,
}

/// Encodes `table` as asked, writes the audit record (`node` is where the list was taken),
/// and returns the file.
pub async fn deliver(
    cx: &Ctx<'_>,
    list: List,
    node: NodeId,
    table: Table,
    req: Request,
    mask: Mask,
) -> AppResult<File> {
    let file = encode(&table, req.format, req.short_names)?;
    audit(cx, list, node, table.rows.len(), mask).await?;
    Ok(file)
}

/// The audit record of an export (in its own transaction: an export writes nothing else).
pub async fn audit(
    cx: &Ctx<'_>,
    list: List,
    node: NodeId,
    rows: usize,
    mask: Mask,
) -> AppResult<()> {
    let event = match (mask.full, list) {
        (true, _) => AuditEvent::new("export.personal_data"),
        (false, List::Students) => AuditEvent::new("export.students"),
        (false, List::Staff) => AuditEvent::new("export.staff"),
        (false, List::People) => AuditEvent::new("export.people"),
        (false, List::Roster) => AuditEvent::new("export.roster"),
        (false, List::Classes) => AuditEvent::new("export.classes"),
        (false, List::Registry) => AuditEvent::new("export.registry_changes"),
        (false, List::Audit) => AuditEvent::new("export.audit"),
        (false, List::OneRoster) => AuditEvent::new("export.oneroster"),
        (false, List::Changes) => AuditEvent::new("export.changes"),
    };
    let mut tx = cx.begin().await?;
    cx.audit(
        &mut tx,
        event.object("node", node).node(node).detail(
            serde_json::json!({ "list": list.as_str(), "rows": rows, "unmasked": mask.full }),
        ),
    )
    .await?;
    tx.commit().await
}

pub const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// The table as a file in `format`.
pub fn encode(table: &Table, format: Format, short_names: bool) -> AppResult<File> {
    let headers: Vec<&str> = table
        .columns
        .iter()
        .map(|(zh, short)| if short_names { *short } else { *zh })
        .collect();
    Ok(match format {
        Format::Xlsx => {
            let mut wb = rust_xlsxwriter::Workbook::new();
            let write =
                |wb: &mut rust_xlsxwriter::Workbook| -> Result<(), rust_xlsxwriter::XlsxError> {
                    let ws = wb.add_worksheet();
                    for (c, h) in headers.iter().enumerate() {
                        ws.write_string(0, c as u16, *h)?;
                    }
                    for (r, row) in table.rows.iter().enumerate() {
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
                name: format!("{}.xlsx", table.stem),
                content_type: XLSX,
                bytes: wb.save_to_buffer().map_err(AppError::internal)?,
            }
        }
        Format::Csv | Format::CsvGbk => {
            let text = csv_text(&headers, &table.rows)?;
            let gbk = format == Format::CsvGbk;
            File {
                name: format!("{}.csv", table.stem),
                content_type: if gbk {
                    "text/csv; charset=gb18030"
                } else {
                    "text/csv; charset=utf-8"
                },
                bytes: if gbk {
                    encoding_rs::GB18030.encode(&text).0.into_owned()
                } else {
                    [b"\xEF\xBB\xBF".as_slice(), text.as_bytes()].concat()
                },
            }
        }
    })
}

/// Rows as CSV text (RFC 4180 quoting), without a BOM, every cell neutralised against formula
/// injection (`sheets::csv_text`).
pub fn csv_text<S: AsRef<str>>(headers: &[&str], rows: &[Vec<S>]) -> AppResult<String> {
    sheets::csv_text(headers, rows).map_err(AppError::internal)
}

/// The name of a code in its table, or the code itself.
fn code_name(t: crate::codes::Table, c: Option<&str>) -> String {
    c.map(|c| crate::codes::name(t, c).unwrap_or(c).to_owned())
        .unwrap_or_default()
}

/// A file name: "<node> <what>" in the viewer's language.
fn stem(cx: &Ctx<'_>, node_name: &str, key: &str) -> String {
    format!(
        "{node_name}-{}",
        kernel::i18n::t(cx.actor.locale, &format!("export_list.file_{key}"))
    )
}

/// The export downloads.
pub fn routes() -> axum::Router<kernel::AppState> {
    use axum::routing::get;
    axum::Router::new()
        .route("/export/students/{id}", get(pages::students))
        .route("/export/staff/{id}", get(pages::staff))
        .route("/export/classes/{id}", get(pages::classes))
        .route("/export/roster/{id}", get(pages::roster))
        .route("/export/registry/{id}", get(pages::registry))
        .route("/export/people", get(pages::people))
        .route("/export/oneroster/{id}", get(pages::oneroster))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_unless_full_and_encodes_every_format() {
        let m = Mask::masked();
        assert_eq!(m.id(Some("330102199001011234")), "3301**********1234");
        assert_eq!(m.phone(Some("13812345678")), "138****5678");
        assert_eq!(
            m.address(Some("浙江省杭州市上城区某路1号")),
            "浙江省杭州市…"
        );
        assert_eq!(m.id(None), "");
        let f = Mask { full: true };
        assert_eq!(f.phone(Some("13812345678")), "13812345678");
        let t = Table {
            stem: "名单".into(),
            columns: vec![("姓名", "XM"), ("电话", "LXDH")],
            rows: vec![vec!["张三".into(), "a,b".into()]],
        };
        let csv = encode(&t, Format::Csv, false).unwrap();
        assert!(csv.bytes.starts_with(b"\xEF\xBB\xBF\xE5\xA7\x93"));
        assert!(String::from_utf8_lossy(&csv.bytes).contains("张三,\"a,b\""));
        let gbk = encode(&t, Format::CsvGbk, true).unwrap();
        let (text, _, bad) = encoding_rs::GB18030.decode(&gbk.bytes);
        assert!(!bad && text.starts_with("XM,LXDH"));
        let x = encode(&t, Format::Xlsx, false).unwrap();
        assert!(x.bytes.starts_with(b"PK") && x.name == "名单.xlsx");
    }
}

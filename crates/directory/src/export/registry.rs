//! A school's registry change records (学籍异动) as a file: the records the school's page
//! lists (`registry::of_school`, with its authorization), every page of them.

use super::{Mask, Request, Table};
use crate::registry::{self, ChangeRow};
use kernel::paging::{MAX_PER_PAGE, PageQuery};
use kernel::{AppResult, Ctx, NodeId, PersonId, on_db};
use std::collections::HashMap;

/// At most this many records in one file.
const MAX_ROWS: usize = 50_000;

const COLUMNS: [(&str, &str); 9] = [
    ("生效日期", "YDRQ"),
    ("姓名", "XM"),
    ("学籍号", "XJH"),
    ("异动类别", "YDLBM"),
    ("异动原因", "YDYYM"),
    ("学校", "XXMC"),
    ("对方学校", "DFXXMC"),
    ("备注", "BZ"),
    ("登记时间", "DJSJ"),
];

/// The registry change records of `school`, for the administrators who see them.
pub async fn registry_changes(
    cx: &Ctx<'_>,
    school: NodeId,
    req: Request,
) -> AppResult<super::File> {
    let n = crate::nodes::get(cx, school).await?;
    let mut found: Vec<ChangeRow> = Vec::new();
    let mut page = 1;
    loop {
        let p = registry::of_school(
            cx,
            school,
            &PageQuery {
                page: Some(page),
                per_page: Some(MAX_PER_PAGE),
            },
        )
        .await?;
        let k = p.items.len();
        found.extend(p.items);
        if k < MAX_PER_PAGE as usize || found.len() >= MAX_ROWS {
            break;
        }
        page += 1;
    }
    let mask = Mask::for_export(cx, school, req.unmasked).await?;
    // The records come masked; the registry numbers are read again only to go out in full.
    let full: HashMap<PersonId, Option<String>> = if mask.is_full() {
        let rows: Vec<(PersonId, Option<String>)> = on_db!(cx.db(), p => sqlx::query_as(
            "SELECT DISTINCT p.id, p.registry_no FROM registry_changes r JOIN persons p ON p.id = r.person_id
             WHERE r.school_id = $1",
        ).bind(school).fetch_all(p).await)?;
        rows.into_iter().collect()
    } else {
        HashMap::new()
    };
    let rows = found
        .iter()
        .map(|r| {
            let registry_no = match full.get(&r.person_id) {
                Some(full) => full.clone().unwrap_or_default(),
                None => r.registry_no.clone().unwrap_or_default(),
            };
            vec![
                r.effective_on.to_string(),
                r.person_name.clone(),
                registry_no,
                r.kind_name.clone(),
                r.reason_name.clone().unwrap_or_default(),
                r.school_name.clone(),
                r.other_school_name.clone().unwrap_or_default(),
                r.note.clone().unwrap_or_default(),
                cx.state.config.time_zone.minute(r.created_at),
            ]
        })
        .collect();
    let table = Table {
        stem: format!(
            "{}-{}",
            n.name,
            kernel::i18n::t(cx.actor.locale, "export_list.registry.file")
        ),
        columns: COLUMNS.to_vec(),
        rows,
    };
    super::deliver(cx, super::List::Registry, school, table, req, mask).await
}

//! The people search as a file: the same filters and the same authorization as the page
//! (`people::search`), every page of it up to [`MAX_ROWS`].

use super::{Mask, Request, Table, code_name};
use crate::codes::Table as Codes;
use crate::model::PersonRow;
use crate::people::{self, SearchQuery};
use kernel::paging::{MAX_PER_PAGE, PageQuery};
use kernel::{AppError, AppResult, Ctx, PersonId, on_db};
use std::collections::HashMap;

/// At most this many rows in one file.
pub const MAX_ROWS: usize = 20_000;

const COLUMNS: [(&str, &str); 7] = [
    ("姓名", "XM"),
    ("性别", "XBM"),
    ("工号", "GH"),
    ("学籍号", "XJH"),
    ("联系电话", "LXDH"),
    ("所在单位", "DWMC"),
    ("状态", "ZT"),
];

/// The people matching `q` in a subtree the actor may search.
pub async fn people(cx: &Ctx<'_>, q: &SearchQuery, req: Request) -> AppResult<super::File> {
    let mut found: Vec<PersonRow> = Vec::new();
    let mut page = 1;
    loop {
        let p = people::search(
            cx,
            q,
            &PageQuery {
                page: Some(page),
                per_page: Some(MAX_PER_PAGE),
            },
        )
        .await?;
        let n = p.items.len();
        found.extend(p.items);
        if n < MAX_PER_PAGE as usize || found.len() >= MAX_ROWS {
            break;
        }
        page += 1;
    }
    found.truncate(MAX_ROWS);
    // The search authorized the node (its default: the actor's first administered node).
    let node = match q.node {
        Some(n) => n,
        None => *cx.actor.admin_nodes().first().ok_or(AppError::Forbidden)?,
    };
    let scope = crate::nodes::get(cx, node).await?;
    let mask = Mask::for_export(cx, node, req.unmasked).await?;
    // The search masks; the full values are read again only when they are to go out.
    let mut full: HashMap<PersonId, (Option<String>, Option<String>)> = HashMap::new();
    if mask.is_full() {
        for chunk in found.chunks(500) {
            let ids: Vec<PersonId> = chunk.iter().map(|r| r.id).collect();
            let list = (1..=ids.len())
                .map(|i| format!("${i}"))
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!("SELECT id, registry_no, phone FROM persons WHERE id IN ({list})");
            let rows: Vec<(PersonId, Option<String>, Option<String>)> = on_db!(cx.db(), p => {
                let mut qy = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()));
                for id in &ids {
                    qy = qy.bind(*id);
                }
                qy.fetch_all(p).await
            })?;
            full.extend(rows.into_iter().map(|(id, r, p)| (id, (r, p))));
        }
    }
    let active = kernel::i18n::t(cx.actor.locale, "status.active");
    let inactive = kernel::i18n::t(cx.actor.locale, "status.inactive");
    let rows = found
        .iter()
        .map(|r| {
            let (registry_no, phone) = match full.get(&r.id) {
                Some((reg, ph)) => (
                    reg.clone().unwrap_or_default(),
                    ph.clone().unwrap_or_default(),
                ),
                None => (
                    r.registry_no.clone().unwrap_or_default(),
                    r.phone.clone().unwrap_or_default(),
                ),
            };
            vec![
                r.name.clone(),
                code_name(Codes::Gender, Some(&r.gender)),
                r.staff_no.clone().unwrap_or_default(),
                registry_no,
                phone,
                r.org_name.clone(),
                if r.active { active } else { inactive }.to_owned(),
            ]
        })
        .collect();
    let table = Table {
        stem: super::stem(cx, &scope.name, "people"),
        columns: COLUMNS.to_vec(),
        rows,
    };
    super::deliver(cx, super::List::People, node, table, req, mask).await
}

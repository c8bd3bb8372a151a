//! Searching and exporting the audit log of a subtree. Entries are only ever read here.

pub mod api;
pub mod pages;

use crate::nodes;
use chrono::{DateTime, NaiveDate, Utc};
use kernel::audit::AuditEntry;
use kernel::authz::{self, Permission};
use kernel::paging::{PageQuery, Paged};
use kernel::{AppError, AppResult, Ctx, NodeId, on_db};
use serde::Deserialize;

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// The subtree (defaults to the actor's first administered node).
    pub node: Option<NodeId>,
    /// Who acted: a login name or a person id.
    pub person: Option<String>,
    /// An action or action prefix, e.g. `auth.` or `person.update`.
    pub action: Option<String>,
    /// The object's id.
    pub object: Option<String>,
    /// From this day (inclusive, YYYY-MM-DD, in the region's time zone).
    pub from: Option<String>,
    /// Until this day (inclusive, YYYY-MM-DD, in the region's time zone).
    pub to: Option<String>,
}

/// The start of a day (of the day after, for `end`) in the region's time zone.
fn day(s: Option<&str>, end: bool, zone: kernel::time::Zone) -> AppResult<Option<DateTime<Utc>>> {
    let Some(s) = s.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    let d = NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|_| AppError::field(if end { "to" } else { "from" }, "error.date_format"))?;
    let d = if end { d.succ_opt().unwrap_or(d) } else { d };
    use chrono::TimeZone;
    Ok(d.and_hms_opt(0, 0, 0).and_then(|t| {
        zone.0
            .from_local_datetime(&t)
            .earliest()
            .map(|t| t.with_timezone(&Utc))
    }))
}

const MAX_EXPORT: i64 = 100_000;

pub async fn search(
    cx: &Ctx<'_>,
    q: &AuditQuery,
    page: &PageQuery,
) -> AppResult<Paged<AuditEntry>> {
    query(cx, q, page.limit(), page.offset())
        .await
        .map(|(items, total)| Paged::new(items, total, page))
}

/// Everything matching, for the CSV export (at most 100,000 rows).
pub async fn export(cx: &Ctx<'_>, q: &AuditQuery) -> AppResult<Vec<AuditEntry>> {
    Ok(query(cx, q, MAX_EXPORT, 0).await?.0)
}

async fn query(
    cx: &Ctx<'_>,
    q: &AuditQuery,
    limit: i64,
    offset: i64,
) -> AppResult<(Vec<AuditEntry>, i64)> {
    let db = cx.db();
    let node = match q.node {
        Some(n) => n,
        None => *cx.actor.admin_nodes().first().ok_or(AppError::Forbidden)?,
    };
    nodes::get(cx, node).await?;
    authz::require(db, cx.actor, Permission::ViewAudit, node).await?;
    // Entries tied to no node (failed logins to unknown names) belong to the administrators of
    // the region this server serves: the top-most level that has administrators.
    let join = if serves_top_region(db, node).await? {
        "LEFT JOIN org_closure c ON c.descendant_id = l.node_id AND c.ancestor_id = $1
         WHERE (c.ancestor_id IS NOT NULL OR l.node_id IS NULL)"
    } else {
        "JOIN org_closure c ON c.descendant_id = l.node_id AND c.ancestor_id = $1 WHERE TRUE"
    };
    let zone = cx.state.config.time_zone;
    let from = day(q.from.as_deref(), false, zone)?;
    let to = day(q.to.as_deref(), true, zone)?;
    let person = q.person.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let person_id = person.and_then(|p| p.parse::<uuid::Uuid>().ok());
    let person_name = person.map(identity::accounts::normalize_username);
    let action = q
        .action
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|a| {
            if a.ends_with('.') {
                (a.to_owned(), format!("{a}\u{10FFFF}"))
            } else {
                (a.to_owned(), a.to_owned())
            }
        });
    let (a_lo, a_hi) = action.map_or((None, None), |(l, h)| (Some(l), Some(h)));
    let object = q.object.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let filter = format!("FROM audit_log l {join}
          AND ($2 IS NULL OR l.at >= $2) AND ($3 IS NULL OR l.at < $3)
          AND ($4 IS NULL OR l.actor_id = $4)
          AND ($5 IS NULL OR l.actor_name = $5 OR l.actor_id IN (SELECT a.person_id FROM accounts a WHERE a.username = $5))
          AND ($6 IS NULL OR (l.action >= $6 AND l.action <= $7))
          AND ($8 IS NULL OR l.object_id = $8)");
    let person_name = if person_id.is_some() {
        None
    } else {
        person_name
    };
    let items: Vec<AuditEntry> = on_db!(db, p => sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {} {filter} ORDER BY l.at DESC, l.id DESC LIMIT $9 OFFSET $10",
        kernel::audit::ENTRY_COLUMNS
    )))
    .bind(node).bind(from).bind(to).bind(person_id).bind(&person_name).bind(&a_lo).bind(&a_hi).bind(object)
    .bind(limit).bind(offset).fetch_all(p).await)?;
    let mut items = items;
    mask_personal(cx, &mut items).await?;
    let (total,): (i64,) = on_db!(db, p => sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) {filter}")))
        .bind(node).bind(from).bind(to).bind(person_id).bind(&person_name).bind(&a_lo).bind(&a_hi).bind(object)
        .fetch_one(p).await)?;
    Ok((items, total))
}

/// Is `node` at the top-most level of the tree that has administrators (the province's
/// bureau on a province's server; in a city's, where nobody administers the province, the
/// city's)?
async fn serves_top_region(db: &kernel::Db, node: NodeId) -> AppResult<bool> {
    let (mine, top): (Option<i64>, Option<i64>) = on_db!(db, p => sqlx::query_as(
        "SELECT (SELECT MAX(depth) FROM org_closure WHERE descendant_id = $1),
                (SELECT MIN(d.depth) FROM (
                    SELECT (SELECT MAX(c.depth) FROM org_closure c WHERE c.descendant_id = r.node_id) AS depth
                    FROM role_assignments r WHERE r.role = 'admin') d)",
    ).bind(node).fetch_one(p).await)?;
    Ok(matches!((mine, top), (Some(m), Some(t)) if m <= t))
}

/// Old and new values of personal data in an entry (`person.update` records them), masked
/// unless the viewer may see that person's personal data in full.
async fn mask_personal(cx: &Ctx<'_>, items: &mut [AuditEntry]) -> AppResult<()> {
    let mut may_see: std::collections::HashMap<uuid::Uuid, bool> = Default::default();
    for e in items.iter_mut() {
        if !e
            .detail
            .as_deref()
            .is_some_and(|d| d.contains("\"values\""))
        {
            continue;
        }
        let person = e
            .object_id
            .as_deref()
            .and_then(|id| id.parse::<uuid::Uuid>().ok());
        let may = match (e.object_type.as_deref(), person, e.node_id) {
            (Some("person"), Some(pid), Some(org)) => match may_see.get(&pid) {
                Some(m) => *m,
                None => {
                    let m = authz::may_person(
                        cx.db(),
                        cx.actor,
                        authz::PersonPermission::ViewPersonalData,
                        kernel::PersonId(pid),
                        org,
                    )
                    .await?;
                    may_see.insert(pid, m);
                    m
                }
            },
            _ => false,
        };
        if !may {
            e.detail = e.detail.as_deref().map(mask_values);
        }
    }
    Ok(())
}

/// An entry's detail with the personal data among its `values` (ID and registry numbers,
/// phones, e-mail addresses; old and new) masked as everywhere else.
pub fn mask_values(detail: &str) -> String {
    use kernel::privacy::{mask_email, mask_id_number, mask_phone};
    let Ok(mut d) = serde_json::from_str::<serde_json::Value>(detail) else {
        return detail.to_owned();
    };
    let Some(values) = d.get_mut("values").and_then(|v| v.as_object_mut()) else {
        return detail.to_owned();
    };
    for (field, pair) in values.iter_mut() {
        let mask: fn(&str) -> String = match field.as_str() {
            "id_number" | "registry_no" => mask_id_number,
            "phone" => mask_phone,
            "email" => mask_email,
            _ => continue,
        };
        for side in ["old", "new"] {
            if let Some(serde_json::Value::String(v)) = pair.get_mut(side) {
                *v = mask(v);
            }
        }
    }
    d.to_string()
}

/// The audit log's page, its export and its API.
pub fn routes() -> axum::Router<kernel::AppState> {
    use axum::routing::get;
    axum::Router::new()
        .route("/admin/audit", get(pages::list))
        .route("/admin/audit.csv", get(pages::export))
        .route("/export/audit", get(pages::export))
        .merge(api::routes())
}

#[cfg(test)]
mod tests {
    #[test]
    fn personal_values_are_masked_and_the_rest_kept() {
        let d = serde_json::json!({
            "changed": ["name", "phone", "id_number"],
            "values": {
                "name": {"old": "张三", "new": "张山"},
                "phone": {"old": null, "new": "13912345678"},
                "id_number": {"old": "330102199001011234", "new": null},
                "registry_no": {"old": "G330102199001011234", "new": "G330102199001011235"},
            }
        })
        .to_string();
        let m: serde_json::Value = serde_json::from_str(&super::mask_values(&d)).unwrap();
        assert_eq!(m["values"]["name"]["new"], "张山");
        assert_eq!(m["values"]["phone"]["new"], "139****5678");
        assert_eq!(m["values"]["phone"]["old"], serde_json::Value::Null);
        assert_eq!(m["values"]["id_number"]["old"], "3301**********1234");
        assert!(!m.to_string().contains("199001011234"));
        assert_eq!(super::mask_values("not json"), "not json");
    }
}

//! The audit log of an administrator's subtree: search and export (CSV, GBK CSV or XLSX).

use super::AuditQuery;
use crate::export::{Format, Request};
use askama::Template;
use axum::extract::Query;
use axum::response::Response;
use kernel::audit::AuditEntry;
use kernel::audit::names::ObjectNames;
use kernel::paging::{PageQuery, Paged};
use kernel::{AppResult, Ctx, NodeId};
use serde::Deserialize;
use web::parse_id;
use web::{Page, PageCtx, render};

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    ctx: PageCtx,
    f: Filters,
    result: Paged<AuditEntry>,
    /// Each entry as a person reads it, in the order of `result.items`.
    rows: Vec<Row>,
    /// The action filter's choices: each group's prefix and name, and its actions.
    groups: Vec<Group>,
    export_link: String,
}

/// An entry in words: who (by name), what (the action's name), on what (its name, linked when
/// the viewer may open it).
struct Row {
    who: String,
    who_link: Option<String>,
    action: String,
    object: String,
    object_link: Option<String>,
}

struct Group {
    prefix: String,
    name: String,
    actions: Vec<(String, String)>,
}

impl AuditPage {
    fn link(&self, page: u32) -> String {
        format!("/admin/audit?{}&page={page}", self.f.query_string())
    }
    fn row(&self, i: &usize) -> Option<&Row> {
        self.rows.get(*i)
    }
}

/// The name of an action in the reader's language (the code itself for one not yet named).
pub fn action_name(locale: kernel::Locale, code: &str) -> String {
    let key = format!("audit_action.{code}");
    let name = kernel::i18n::t(locale, &key);
    if name == key {
        code.to_owned()
    } else {
        name.to_owned()
    }
}

/// Every action with a name, grouped by what it acts on, for the filter.
fn groups(locale: kernel::Locale) -> Vec<Group> {
    let mut codes: Vec<String> = kernel::i18n::registered()
        .into_iter()
        .flat_map(|c| kernel::i18n::parse_catalog(c.zh_cn).into_keys())
        .filter_map(|k| k.strip_prefix("audit_action.").map(str::to_owned))
        .collect();
    codes.sort();
    let mut out: Vec<Group> = Vec::new();
    for code in codes {
        let prefix = code.split('.').next().unwrap_or_default().to_owned();
        let name = action_name(locale, &code);
        match out.last_mut() {
            Some(g) if g.prefix == format!("{prefix}.") => g.actions.push((code, name)),
            _ => out.push(Group {
                name: kernel::i18n::t(locale, &format!("audit_group.{prefix}")).to_owned(),
                prefix: format!("{prefix}."),
                actions: vec![(code, name)],
            }),
        }
    }
    out
}

/// The entries of a page in words: people's and objects' names looked up once each.
async fn rows(cx: &Ctx<'_>, items: &[AuditEntry]) -> AppResult<Vec<Row>> {
    use std::collections::HashMap;
    let locale = cx.actor.locale;
    // (kind, id) → the object's name and whether the viewer may open it.
    let mut names: HashMap<(String, String), Option<(String, bool)>> = HashMap::new();
    let mut out = Vec::with_capacity(items.len());
    for e in items {
        let mut keys = Vec::new();
        if let Some(p) = e.actor_id {
            keys.push(("person".to_owned(), p.to_string()));
        }
        if let (Some(kind), Some(id)) = (e.object_type.as_deref(), e.object_id.as_deref()) {
            keys.push((kind.to_owned(), id.to_owned()));
        }
        for k in keys {
            if let std::collections::hash_map::Entry::Vacant(slot) = names.entry(k) {
                let (kind, id) = slot.key();
                let n = object_name(cx, kind, id).await?;
                slot.insert(n);
            }
        }
        let named = |kind: &str, id: &str| {
            names
                .get(&(kind.to_owned(), id.to_owned()))
                .cloned()
                .flatten()
        };
        let (who, who_link) = match e.actor_id.and_then(|p| named("person", &p.to_string())) {
            Some((n, open)) => (
                n,
                open.then(|| {
                    format!(
                        "/people/{}",
                        e.actor_id.map(|p| p.to_string()).unwrap_or_default()
                    )
                }),
            ),
            None => (
                match e.actor_name.as_deref() {
                    Some("system") | None => kernel::i18n::t(locale, "audit.system").to_owned(),
                    // A name typed at a failed login, or a person no longer on record.
                    Some(n) => n.to_owned(),
                },
                None,
            ),
        };
        let (object, object_link) = match (e.object_type.as_deref(), e.object_id.as_deref()) {
            (Some(kind), Some(id)) => {
                let kind_key = format!("audit_object.{kind}");
                let kind_name = kernel::i18n::t(locale, &kind_key);
                let short: String = id.chars().take(8).collect();
                match named(kind, id) {
                    Some((n, open)) => (
                        format!("{kind_name}：{n}"),
                        if open { object_link(kind, id) } else { None },
                    ),
                    None => (format!("{kind_name} {short}"), None),
                }
            }
            (Some(kind), None) => (
                kernel::i18n::t(locale, &format!("audit_object.{kind}")).to_owned(),
                None,
            ),
            _ => (String::new(), None),
        };
        out.push(Row {
            who,
            who_link,
            action: action_name(locale, &e.action),
            object,
            object_link,
        });
    }
    Ok(out)
}

/// Where an object of the audit log is opened, for the kinds an auditor may open.
fn object_link(kind: &str, id: &str) -> Option<String> {
    match kind {
        "person" => Some(format!("/people/{id}")),
        "node" => Some(format!("/admin/org/{id}")),
        "import" => Some(format!("/admin/imports/{id}")),
        _ => None,
    }
}

/// The name of an object the audit log mentions, if it still exists, and whether the viewer
/// may open it: a person's page only if they may see that person (an auditor of a district sees
/// the names of the people its entries name, not every record).
async fn object_name(cx: &Ctx<'_>, kind: &str, id: &str) -> AppResult<Option<(String, bool)>> {
    let Ok(uuid) = id.parse::<uuid::Uuid>() else {
        return Ok(None);
    };
    if kind == "person" {
        let row: Option<(String, NodeId)> = kernel::on_db!(cx.db(), p => sqlx::query_as(
            "SELECT name, org_id FROM persons WHERE id = $1",
        ).bind(uuid).fetch_optional(p).await)?;
        let Some((name, org)) = row else {
            return Ok(None);
        };
        let open = kernel::authz::may_person(
            cx.db(),
            cx.actor,
            kernel::authz::PersonPermission::View,
            kernel::PersonId(uuid),
            org,
        )
        .await?;
        return Ok(Some((name, open)));
    }
    // The directory's own kinds; other modules' through the registry they filled.
    let sql = match kind {
        "node" => "SELECT name FROM org_nodes WHERE id = $1",
        "import" => "SELECT file_name FROM import_jobs WHERE id = $1",
        _ => match cx.state.cache::<ObjectNames>().sql(kind) {
            Some(sql) => sql,
            None => return Ok(None),
        },
    };
    let row: Option<(String,)> =
        kernel::on_db!(cx.db(), p => sqlx::query_as(sql).bind(uuid).fetch_optional(p).await)?;
    // Nodes and imports in the log are within the auditor's subtree: theirs to open.
    Ok(row.map(|(n,)| (n, true)))
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Filters {
    #[serde(default)]
    node: String,
    #[serde(default)]
    person: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    object: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    /// The export's format (`xlsx`, `csv`, `gbk`).
    #[serde(default)]
    format: String,
    page: Option<u32>,
}

impl Filters {
    fn query(&self) -> AppResult<AuditQuery> {
        let o = |s: &str| Some(s.to_owned()).filter(|s| !s.trim().is_empty());
        Ok(AuditQuery {
            node: match self.node.trim() {
                "" => None,
                n => Some(parse_id::<NodeId>(n)?),
            },
            person: o(&self.person),
            action: o(&self.action),
            object: o(&self.object),
            from: o(&self.from),
            to: o(&self.to),
        })
    }
    fn query_string(&self) -> String {
        let enc = |s: &str| {
            s.bytes()
                .map(|b| {
                    if b.is_ascii_alphanumeric() || b"-_.".contains(&b) {
                        (b as char).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect::<String>()
        };
        format!(
            "node={}&person={}&action={}&object={}&from={}&to={}",
            enc(&self.node),
            enc(&self.person),
            enc(&self.action),
            enc(&self.object),
            enc(&self.from),
            enc(&self.to)
        )
    }
}

pub async fn list(page: Page, Query(f): Query<Filters>) -> AppResult<Response> {
    let Page { session, .. } = &page;
    let cx = page.cx();
    let result = super::search(
        &cx,
        &f.query()?,
        &PageQuery {
            page: f.page,
            per_page: Some(50),
        },
    )
    .await?;
    let export_link = format!("/export/audit?{}", f.query_string());
    let rows = rows(&cx, &result.items).await?;
    Ok(render(&AuditPage {
        ctx: page.ctx(),
        groups: groups(session.actor.locale),
        f,
        result,
        rows,
        export_link,
    }))
}

/// The matching entries as a file: CSV (UTF-8 with BOM, so Excel opens Chinese text
/// correctly) unless `format` asks for XLSX or GBK (see `export::audit_log`).
pub async fn export(page: Page, Query(f): Query<Filters>) -> AppResult<Response> {
    let cx = page.cx();
    let format = match f.format.as_str() {
        "" => Format::Csv,
        other => Format::parse(other),
    };
    let file = crate::export::audit_log(&cx, &f.query()?, Request::new(format)).await?;
    Ok(web::attachment(&file.name, file.content_type, file.bytes))
}

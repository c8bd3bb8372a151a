//! The resource form's catalogue picker: the units and sections of the catalogues the person
//! uses, grouped by volume in the catalogue's order; by default only of the subjects they
//! teach.

use kernel::{Actor, AppResult, CatalogId, Db, Role, on_db};

/// A volume with its units and sections.
#[derive(Debug, Clone)]
pub struct Group {
    /// The volume's path (小学 / 语文 / 部编版 / 一年级上册).
    pub label: String,
    pub options: Vec<Choice>,
}

#[derive(Debug, Clone)]
pub struct Choice {
    pub id: CatalogId,
    pub name: String,
    pub section: bool,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: CatalogId,
    parent_id: Option<CatalogId>,
    kind: String,
    name: String,
    path: String,
    position: i64,
    subject: Option<String>,
}

/// At most this many nodes are offered.
const LIMIT: i64 = 5000;

/// The subjects the actor teaches (JY/T 1001 course codes).
pub fn taught(actor: &Actor) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for g in actor.grants_of(Role::Teacher) {
        if let Some(s) = &g.subject
            && !out.contains(s)
        {
            out.push(s.clone());
        }
    }
    out
}

/// The picker's groups; `all` offers every subject, not only those taught.
pub async fn groups(db: &Db, actor: &Actor, all: bool) -> AppResult<Vec<Group>> {
    let regions = crate::catalog::regions_for(db, actor).await?;
    if regions.is_empty() {
        return Ok(Vec::new());
    }
    let subjects = if all { Vec::new() } else { taught(actor) };
    let region_list: Vec<String> = (0..regions.len()).map(|i| format!("${}", i + 1)).collect();
    let region_cond = format!("region_id IN ({})", region_list.join(", "));
    let sql = format!(
        "SELECT id, parent_id, kind, name, path, position, subject FROM catalog_nodes
         WHERE active = TRUE AND kind IN ('volume', 'unit', 'section') AND {region_cond}
         ORDER BY path LIMIT {LIMIT}"
    );
    let rows: Vec<Row> = on_db!(db, p => {
        let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()));
        for r in &regions {
            q = q.bind(*r);
        }
        q.fetch_all(p).await
    })?;
    let keep =
        |r: &Row| subjects.is_empty() || r.subject.as_ref().is_some_and(|s| subjects.contains(s));
    let mut volumes: Vec<&Row> = rows
        .iter()
        .filter(|r| r.kind == "volume" && keep(r))
        .collect();
    volumes.sort_by(|a, b| a.path.cmp(&b.path));
    let children = |parent: CatalogId, kind: &str| {
        let mut c: Vec<&Row> = rows
            .iter()
            .filter(|r| r.parent_id == Some(parent) && r.kind == kind)
            .collect();
        c.sort_by_key(|r| (r.position, r.name.clone()));
        c
    };
    let mut out = Vec::new();
    for v in volumes {
        let mut options = Vec::new();
        for u in children(v.id, "unit") {
            options.push(Choice {
                id: u.id,
                name: u.name.clone(),
                section: false,
            });
            for s in children(u.id, "section") {
                options.push(Choice {
                    id: s.id,
                    name: s.name.clone(),
                    section: true,
                });
            }
        }
        if !options.is_empty() {
            out.push(Group {
                label: v.path.clone(),
                options,
            });
        }
    }
    Ok(out)
}

/// Whether a chosen node is among the options (a node chosen outside them, such as a volume
/// named by `?node=`, is then offered too).
pub fn contains(groups: &[Group], id: CatalogId) -> bool {
    groups.iter().any(|g| g.options.iter().any(|o| o.id == id))
}

/// Adds chosen nodes the groups do not show (a volume, another subject's unit) as a group of
/// their own, with their paths.
pub async fn with_chosen(
    db: &Db,
    mut groups: Vec<Group>,
    chosen: &[CatalogId],
) -> AppResult<Vec<Group>> {
    let mut extra = Vec::new();
    for id in chosen {
        if contains(&groups, *id) {
            continue;
        }
        let row: Option<(String,)> = on_db!(db, p => sqlx::query_as(
            "SELECT path FROM catalog_nodes WHERE id = $1",
        ).bind(id).fetch_optional(p).await)?;
        if let Some((path,)) = row {
            extra.push(Choice {
                id: *id,
                name: path,
                section: false,
            });
        }
    }
    if !extra.is_empty() {
        groups.insert(
            0,
            Group {
                label: String::new(),
                options: extra,
            },
        );
    }
    Ok(groups)
}

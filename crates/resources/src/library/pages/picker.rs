//! The resource form's chapter picker, step by step: stage → subject → edition → volume, then
//! the volume's units and sections as check boxes. Each step lists one level of the
//! catalogue, the person's own first (the stage, subjects and volumes of the classes they
//! teach), so the page stays small however large a city's catalogue grows. Shortcuts lead
//! straight to the volumes of the person's own classes.

use kernel::{Actor, AppResult, CatalogId, Db, NodeId, Role, on_db};

/// A node of one step.
#[derive(Debug, Clone)]
pub struct Step {
    pub id: CatalogId,
    pub name: String,
    /// On the way to one of the person's own volumes.
    pub own: bool,
}

/// A unit or section that can be ticked.
#[derive(Debug, Clone)]
pub struct Choice {
    pub id: CatalogId,
    pub name: String,
    pub section: bool,
}

/// Where the picker stands and what it offers.
#[derive(Debug, Clone, Default)]
pub struct Picker {
    /// The nodes from the stage down to where the picker stands.
    pub trail: Vec<Step>,
    /// The next level's nodes (stages at the start), while above a volume.
    pub next: Vec<Step>,
    /// The volume's units and sections, once a volume is reached.
    pub chapters: Vec<Choice>,
    /// The volumes of the person's own classes (their subject and grade), with their paths.
    pub mine: Vec<Step>,
    /// Chosen nodes outside the volume shown, with their paths: kept ticked.
    pub elsewhere: Vec<Choice>,
    /// No catalogue is available to the person at all.
    pub empty: bool,
}

#[derive(sqlx::FromRow)]
struct Node {
    id: CatalogId,
    parent_id: Option<CatalogId>,
    region_id: NodeId,
    kind: String,
    name: String,
    path: String,
    volume_id: Option<CatalogId>,
}

const NODE: &str =
    "SELECT id, parent_id, region_id, kind, name, path, volume_id FROM catalog_nodes";

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

async fn node(db: &Db, id: CatalogId) -> AppResult<Option<Node>> {
    let sql = format!("{NODE} WHERE id = $1 AND active = TRUE");
    Ok(
        on_db!(db, p => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(id).fetch_optional(p).await)?,
    )
}

/// The volumes of the classes the actor teaches: the class's grade, a subject they teach in it.
async fn own_volumes(db: &Db, actor: &Actor, regions: &[NodeId]) -> AppResult<Vec<Node>> {
    let mut out: Vec<Node> = Vec::new();
    for g in actor
        .grants
        .iter()
        .filter(|g| matches!(g.role, Role::Teacher | Role::HeadTeacher))
    {
        let grade: Option<(Option<String>,)> = on_db!(db, p => sqlx::query_as(
            "SELECT gr.grade_code FROM org_nodes c JOIN org_nodes gr ON gr.id = c.parent_id WHERE c.id = $1",
        ).bind(g.node_id).fetch_optional(p).await)?;
        let Some((Some(grade),)) = grade else {
            continue;
        };
        let subjects = match &g.subject {
            Some(s) => vec![s.clone()],
            None => taught(actor),
        };
        for subject in subjects {
            let sql = format!(
                "{NODE} WHERE kind = 'volume' AND active = TRUE AND grade_code = $1 AND subject = $2
                 ORDER BY term, position"
            );
            let rows: Vec<Node> = on_db!(db, p => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                .bind(&grade).bind(&subject).fetch_all(p).await)?;
            for r in rows {
                if regions.contains(&r.region_id) && !out.iter().any(|o| o.id == r.id) {
                    out.push(r);
                }
            }
        }
    }
    Ok(out)
}

/// The picker standing at `at` (a stage, subject, edition or volume; a unit or section stands
/// at its volume), with `chosen` ticked.
pub async fn step(
    db: &Db,
    actor: &Actor,
    at: Option<CatalogId>,
    chosen: &[CatalogId],
) -> AppResult<Picker> {
    let regions = crate::catalog::regions_for(db, actor).await?;
    if regions.is_empty() {
        return Ok(Picker {
            empty: true,
            ..Picker::default()
        });
    }
    let mine = own_volumes(db, actor, &regions).await?;
    // Where to stand: the asked node (its volume, below one), else the volume of the first
    // chosen chapter, else the start.
    let mut here = None;
    for id in at.iter().chain(chosen.iter()) {
        if let Some(n) = node(db, *id).await?
            && regions.contains(&n.region_id)
        {
            here = match (n.kind.as_str(), n.volume_id) {
                ("unit" | "section", Some(v)) => node(db, v).await?,
                _ => Some(n),
            };
            break;
        }
    }
    let own = |n: &Node| {
        mine.iter()
            .any(|m| m.id == n.id || m.path.starts_with(&format!("{} / ", n.path)))
    };
    let mut trail = Vec::new();
    let mut cursor = here.as_ref().map(|n| n.id);
    while let Some(id) = cursor {
        let Some(n) = node(db, id).await? else { break };
        cursor = n.parent_id;
        trail.push(Step {
            id: n.id,
            own: own(&n),
            name: n.name,
        });
    }
    trail.reverse();
    let mut picker = Picker {
        trail,
        mine: mine
            .iter()
            .map(|m| Step {
                id: m.id,
                name: m.path.clone(),
                own: true,
            })
            .collect(),
        ..Picker::default()
    };
    match &here {
        Some(v) if v.kind == "volume" => {
            let sql = format!(
                "{NODE} WHERE volume_id = $1 AND active = TRUE AND kind IN ('unit', 'section')
                 ORDER BY position, name"
            );
            let rows: Vec<Node> = on_db!(db, p => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                .bind(v.id).fetch_all(p).await)?;
            for u in rows.iter().filter(|r| r.kind == "unit") {
                picker.chapters.push(Choice {
                    id: u.id,
                    name: u.name.clone(),
                    section: false,
                });
                for s in rows
                    .iter()
                    .filter(|r| r.kind == "section" && r.parent_id == Some(u.id))
                {
                    picker.chapters.push(Choice {
                        id: s.id,
                        name: s.name.clone(),
                        section: true,
                    });
                }
            }
        }
        _ => {
            let rows: Vec<Node> = match &here {
                Some(n) => {
                    // Volumes in the order they are taught: grade, then term.
                    let sql = format!(
                        "{NODE} WHERE parent_id = $1 AND active = TRUE
                         ORDER BY grade_code, term, position, name"
                    );
                    on_db!(db, p => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(n.id).fetch_all(p).await)?
                }
                None => {
                    let sql = format!(
                        "{NODE} WHERE kind = 'stage' AND parent_id IS NULL AND active = TRUE
                         ORDER BY position, name"
                    );
                    let all: Vec<Node> = on_db!(db, p => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).fetch_all(p).await)?;
                    all.into_iter()
                        .filter(|n| regions.contains(&n.region_id))
                        .collect()
                }
            };
            let mut steps: Vec<Step> = rows
                .iter()
                .map(|n| Step {
                    id: n.id,
                    own: own(n),
                    name: n.name.clone(),
                })
                .collect();
            // The person's own first, the catalogue's order otherwise kept.
            steps.sort_by_key(|s| !s.own);
            picker.next = steps;
        }
    }
    for id in chosen {
        if picker.chapters.iter().any(|c| c.id == *id) {
            continue;
        }
        if let Some(n) = node(db, *id).await? {
            picker.elsewhere.push(Choice {
                id: n.id,
                name: n.path,
                section: false,
            });
        }
    }
    Ok(picker)
}

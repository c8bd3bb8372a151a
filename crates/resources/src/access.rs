//! Who sees which resource, and who reviews at which level. One rule, held twice: as
//! `resource_audience` rows for SQL listings and as terms in the search index.
//!
//! - A private resource is seen by its author alone.
//! - Shared at its school, it is seen by the school's staff; recommended and approved at the
//!   district, by the district's staff and every school's; at the city, by the whole city's.
//!   (`v` audience rows: the school, the district, the city.)
//! - Once shared at all, administrators of every node above its school see it (`o` rows).
//! - A reviewer sees what waits for their level's review at their node.
//! - Students see what is shared with students (学生可见) and visible to a node above their
//!   class (`s` index terms; `r.for_students` with the `v` rows in SQL). Guardians do not use
//!   the library.

use crate::model::{Level, ResourceRow, Scope};
use kernel::actor::Role;
use kernel::{Actor, AppResult, Db, NodeId, PersonId, ResourceId, Tx, on_db, on_tx};

/// Who is looking, resolved once per request.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub person: PersonId,
    pub system: bool,
    /// Staff (administrators, teachers) use the library; students and guardians do not.
    pub staff: bool,
    /// Every node the person belongs to as staff, and every node above those.
    pub member: Vec<NodeId>,
    /// The nodes the person administers.
    pub admin: Vec<NodeId>,
    /// For a student: their classes and every node above them.
    pub learner: Vec<NodeId>,
}

impl Viewer {
    /// Whether the actor is staff (an administrator or teacher anywhere, or the system): known
    /// from the grants alone, without the ancestors [`Viewer::of`] looks up.
    pub fn is_staff(actor: &Actor) -> bool {
        actor.is_system()
            || actor
                .grants
                .iter()
                .any(|g| matches!(g.role, Role::Admin | Role::Teacher | Role::HeadTeacher))
    }

    pub async fn of(db: &Db, actor: &Actor) -> AppResult<Self> {
        let mut own: Vec<NodeId> = actor
            .grants
            .iter()
            .filter(|g| matches!(g.role, Role::Admin | Role::Teacher | Role::HeadTeacher))
            .map(|g| g.node_id)
            .collect();
        let staff = !own.is_empty();
        if staff {
            own.push(actor.org_id);
        }
        let mut member = Vec::new();
        for n in own {
            for a in kernel::tree::ancestors_or_self(db, n).await? {
                if !member.contains(&a) {
                    member.push(a);
                }
            }
        }
        let mut learner = Vec::new();
        for g in actor.grants_of(Role::Student) {
            for a in kernel::tree::ancestors_or_self(db, g.node_id).await? {
                if !learner.contains(&a) {
                    learner.push(a);
                }
            }
        }
        Ok(Self {
            person: actor.person_id,
            system: actor.is_system(),
            staff: staff || actor.is_system(),
            member,
            admin: actor.admin_nodes(),
            learner,
        })
    }

    /// Whether the viewer uses the library: staff, or a student (who reads what is shared
    /// with students).
    pub fn reads(&self) -> bool {
        self.staff || !self.learner.is_empty()
    }

    /// `Forbidden` unless the viewer uses the library (see [`Viewer::reads`]).
    pub fn require_reader(&self) -> AppResult<()> {
        if self.reads() {
            Ok(())
        } else {
            Err(kernel::AppError::Forbidden)
        }
    }

    /// The search-index terms this viewer matches (see [`Audience::terms`]).
    pub fn terms(&self) -> Vec<String> {
        let mut t = vec![format!("a:{}", self.person)];
        t.extend(self.member.iter().map(|n| format!("v:{n}")));
        t.extend(self.admin.iter().map(|n| format!("o:{n}")));
        t.extend(self.learner.iter().map(|n| format!("s:{n}")));
        t
    }

    /// `Forbidden` unless the viewer is staff.
    pub fn require_staff(&self) -> AppResult<()> {
        if self.staff {
            Ok(())
        } else {
            Err(kernel::AppError::Forbidden)
        }
    }

    /// A SQL condition on `r` (a `resources` row) true for the resources this viewer sees, with
    /// its parameters numbered from `$first`; bind [`Viewer::filter_params`] in order.
    /// The system actor sees everything.
    pub fn filter_sql(&self, first: usize) -> String {
        if self.system {
            return "TRUE".into();
        }
        let mut n = first;
        let mut next = || {
            let s = format!("${n}");
            n += 1;
            s
        };
        let me = next();
        let member: Vec<String> = self.member.iter().map(|_| next()).collect();
        let admin: Vec<String> = self.admin.iter().map(|_| next()).collect();
        let learner: Vec<String> = self.learner.iter().map(|_| next()).collect();
        let mut any = Vec::new();
        if !member.is_empty() {
            any.push(format!(
                "(a.kind = 'v' AND a.node_id IN ({}))",
                member.join(", ")
            ));
        }
        if !admin.is_empty() {
            any.push(format!(
                "(a.kind = 'o' AND a.node_id IN ({}))",
                admin.join(", ")
            ));
        }
        if !learner.is_empty() {
            any.push(format!(
                "(r.for_students AND a.kind = 'v' AND a.node_id IN ({}))",
                learner.join(", ")
            ));
        }
        if any.is_empty() {
            format!("r.author_id = {me}")
        } else {
            format!(
                "(r.author_id = {me} OR EXISTS (SELECT 1 FROM resource_audience a \
                 WHERE a.resource_id = r.id AND ({})))",
                any.join(" OR ")
            )
        }
    }

    /// The parameters of [`Viewer::filter_sql`]: the person, then the member, admin and
    /// learner nodes. Empty for the system actor.
    pub fn filter_params(&self) -> (PersonId, Vec<NodeId>) {
        if self.system {
            return (self.person, Vec::new());
        }
        let mut nodes = self.member.clone();
        nodes.extend(self.admin.iter().copied());
        nodes.extend(self.learner.iter().copied());
        (self.person, nodes)
    }

    /// Whether the viewer sees `r` (without the reviewer's view of pending resources: see
    /// [`may_view`]).
    pub async fn sees(&self, db: &Db, r: &ResourceRow) -> AppResult<bool> {
        if self.system || r.author_id == self.person {
            return Ok(true);
        }
        if r.deleted_at.is_some() || r.scope() == Scope::Private {
            return Ok(false);
        }
        let rows: Vec<(String, NodeId)> = on_db!(db, p => sqlx::query_as(
            "SELECT kind, node_id FROM resource_audience WHERE resource_id = $1",
        ).bind(r.id).fetch_all(p).await)?;
        Ok(rows.iter().any(|(k, n)| {
            (k == "v" && self.member.contains(n))
                || (k == "o" && self.admin.contains(n))
                || (k == "v" && r.for_students && self.learner.contains(n))
        }))
    }
}

/// Whether `viewer` may see `r`: its audience, or a reviewer of the level it waits at.
pub async fn may_view(db: &Db, actor: &Actor, viewer: &Viewer, r: &ResourceRow) -> AppResult<bool> {
    if viewer.sees(db, r).await? {
        return Ok(true);
    }
    match r.pending() {
        Some(level) if r.deleted_at.is_none() => {
            let Some(node) = level_node(db, r.org_id, level).await? else {
                return Ok(false);
            };
            reviews_at(db, actor, node, &subjects_of(db, r.id).await?).await
        }
        _ => Ok(false),
    }
}

/// The nodes a resource shared this far is visible to and administered from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Audience {
    /// Members of these nodes (and of nodes below them) see it.
    pub visible_to: Vec<NodeId>,
    /// Administrators of these nodes see it.
    pub admins_of: Vec<NodeId>,
}

impl Audience {
    /// The resource's ancestors by kind, then the audience for `scope`.
    pub async fn of(db: &Db, org: NodeId, scope: Scope) -> AppResult<Self> {
        if scope == Scope::Private {
            return Ok(Self::default());
        }
        let chain = chain(db, org).await?;
        let mut visible_to = vec![org];
        for level in [Level::District, Level::City] {
            if scope >= level.scope()
                && let Some((id, _)) = chain.iter().find(|(_, k)| k == level.node_kind())
                && !visible_to.contains(id)
            {
                visible_to.push(*id);
            }
        }
        Ok(Self {
            visible_to,
            admins_of: chain.into_iter().map(|(id, _)| id).collect(),
        })
    }

    /// The index terms of this audience plus the author (`a:`), matched by [`Viewer::terms`].
    pub fn terms(&self, author: PersonId) -> Vec<String> {
        let mut t = vec![format!("a:{author}")];
        t.extend(self.visible_to.iter().map(|n| format!("v:{n}")));
        t.extend(self.admins_of.iter().map(|n| format!("o:{n}")));
        t
    }

    /// Replaces the resource's audience rows.
    pub async fn write(&self, tx: &mut Tx, resource: ResourceId) -> AppResult<()> {
        on_tx!(tx, c => sqlx::query("DELETE FROM resource_audience WHERE resource_id = $1")
            .bind(resource).execute(&mut *c).await.map(|r| r.rows_affected()))?;
        for (kind, nodes) in [("v", &self.visible_to), ("o", &self.admins_of)] {
            for n in nodes {
                on_tx!(tx, c => sqlx::query(
                    "INSERT INTO resource_audience (resource_id, kind, node_id) VALUES ($1, $2, $3)",
                ).bind(resource).bind(kind).bind(n).execute(&mut *c).await.map(|r| r.rows_affected()))?;
            }
        }
        Ok(())
    }
}

/// The node and every node above it with their kinds, nearest first.
async fn chain(db: &Db, org: NodeId) -> AppResult<Vec<(NodeId, String)>> {
    Ok(on_db!(db, p => sqlx::query_as(
        "SELECT n.id, n.kind FROM org_closure c JOIN org_nodes n ON n.id = c.ancestor_id
         WHERE c.descendant_id = $1 ORDER BY c.depth",
    ).bind(org).fetch_all(p).await)?)
}

/// The node that reviews at `level` for resources owned by `org`: the school itself (or the
/// author's region, for regional staff), the nearest district, the nearest city.
pub async fn level_node(db: &Db, org: NodeId, level: Level) -> AppResult<Option<NodeId>> {
    if level == Level::School {
        return Ok(Some(org));
    }
    Ok(chain(db, org)
        .await?
        .into_iter()
        .skip(1)
        .find(|(_, k)| k == level.node_kind())
        .map(|(id, _)| id))
}

/// The level a resource at `scope` is recommended to next: the next one that has a node (a
/// school right under a city goes to the city). `None` at the top.
pub async fn next_level(db: &Db, org: NodeId, scope: Scope) -> AppResult<Option<Level>> {
    let candidates: &[Level] = match scope {
        Scope::Private => &[Level::School],
        Scope::School => &[Level::District, Level::City],
        Scope::District => &[Level::City],
        Scope::City => &[],
    };
    for &level in candidates {
        if level_node(db, org, level).await?.is_some() {
            return Ok(Some(level));
        }
    }
    Ok(None)
}

/// Whether `actor` reviews at `node`: an administrator of it (or above it), or a reviewer
/// appointed there (for one of `subjects`, if their appointment names a subject).
pub async fn reviews_at(
    db: &Db,
    actor: &Actor,
    node: NodeId,
    subjects: &[String],
) -> AppResult<bool> {
    if kernel::authz::administers(db, actor, node).await? {
        return Ok(true);
    }
    let row: Option<(Option<String>,)> = on_db!(db, p => sqlx::query_as(
        "SELECT subject FROM resource_reviewers WHERE node_id = $1 AND person_id = $2",
    ).bind(node).bind(actor.person_id).fetch_optional(p).await)?;
    Ok(match row {
        None => false,
        Some((None,)) => true,
        Some((Some(s),)) => subjects.contains(&s),
    })
}

/// The subjects (JY/T 1001 course codes) of the catalogue nodes a resource hangs on.
pub async fn subjects_of(db: &Db, resource: ResourceId) -> AppResult<Vec<String>> {
    let rows: Vec<(String,)> = on_db!(db, p => sqlx::query_as(
        "SELECT DISTINCT c.subject FROM resource_catalog rc JOIN catalog_nodes c ON c.id = rc.catalog_id
         WHERE rc.resource_id = $1 AND c.subject IS NOT NULL",
    ).bind(resource).fetch_all(p).await)?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

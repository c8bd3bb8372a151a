//! Who may read and write what in a space. Reading follows the column's or post's visibility:
//! the region (everyone signed in), the space's school, its class, or the owner (with a
//! student's guardians and the class's teachers). Writing: a node's space by its administrators (a class's by its
//! teachers, its community by its students and families too); a person's space by that person
//! (a student's by their guardians too, its comments by the class's teachers).

use super::{Kind, Space, Visibility};
use crate::scope;
use kernel::{AppResult, Ctx, NodeId, Role, on_db};

/// The class a student's space belongs to.
async fn class_of_space(cx: &Ctx<'_>, s: &Space) -> AppResult<Option<NodeId>> {
    match (s.kind(), s.person_id) {
        (Kind::Class, _) => Ok(Some(s.node_id)),
        (Kind::Student, Some(p)) => Ok(scope::class_of(cx.db(), p).await?.map(|(c, _)| c)),
        _ => Ok(None),
    }
}

/// Whether the actor is the space's owner: the person, a student's guardian, or the
/// administrators (and for a class, the teachers) of the node.
pub async fn owns(cx: &Ctx<'_>, s: &Space) -> AppResult<bool> {
    let a = cx.actor;
    match (s.kind(), s.person_id) {
        (Kind::Teacher | Kind::Guardian, Some(p)) => Ok(p == a.person_id),
        (Kind::Student, Some(p)) => {
            Ok(p == a.person_id || a.grants_of(Role::Guardian).any(|g| g.student_id == Some(p)))
        }
        (Kind::Class, _) => {
            Ok(scope::teaches(a, s.node_id) || scope::administers(cx.db(), a, s.node_id).await?)
        }
        _ => scope::administers(cx.db(), a, s.node_id).await,
    }
}

/// Whether the actor belongs to `node`: holds a role at or below it, or is the guardian of a
/// student who does, or administers it.
pub async fn belongs(cx: &Ctx<'_>, node: NodeId) -> AppResult<bool> {
    let a = cx.actor;
    for g in &a.grants {
        let at = match (g.role, g.student_id) {
            (Role::Guardian, Some(child)) => match scope::class_of(cx.db(), child).await? {
                Some((class, _)) => class,
                None => continue,
            },
            _ => g.node_id,
        };
        if at == node || kernel::tree::is_within(cx.db(), at, node).await? {
            return Ok(true);
        }
    }
    scope::administers(cx.db(), a, node).await
}

/// The school a node is in (a region is its own).
async fn school_of(cx: &Ctx<'_>, node: NodeId) -> AppResult<NodeId> {
    let row: Option<(Option<NodeId>,)> = on_db!(cx.db(), p => sqlx::query_as(
        "SELECT school_id FROM org_nodes WHERE id = $1",
    ).bind(node).fetch_optional(p).await)?;
    Ok(row.and_then(|r| r.0).unwrap_or(node))
}

/// Whether the actor may read what the space shows at `v`.
pub async fn can_view(cx: &Ctx<'_>, s: &Space, v: Visibility) -> AppResult<bool> {
    Ok(readable(cx, s).await?.contains(&v))
}

/// Which visibilities of the space the actor may read, widest first: worked out once per page
/// (a handful of lookups) and then applied to every column and post.
pub async fn readable(cx: &Ctx<'_>, s: &Space) -> AppResult<Vec<Visibility>> {
    if owns(cx, s).await? {
        return Ok(Visibility::ALL.to_vec());
    }
    let school = school_of(cx, s.node_id).await?;
    let in_school = belongs(cx, school).await?;
    let class = class_of_space(cx, s).await?;
    // A teacher's, guardian's or school's space has no class: "class" means its school.
    let in_class = match class {
        Some(c) => in_school && belongs(cx, c).await?,
        None => in_school,
    };
    // A student's private columns: the family (the owners) and the class's teachers, who write
    // the comments there.
    let private = s.kind() == Kind::Student && class.is_some_and(|c| scope::teaches(cx.actor, c));
    Ok(Visibility::ALL
        .into_iter()
        .filter(|v| match v.for_kind(s.kind()) {
            Visibility::Region => true,
            Visibility::School => in_school,
            Visibility::Class => in_class,
            Visibility::Private => private,
        })
        .collect())
}

/// Whether the actor may post in a column (of content `posts`) of the space.
pub async fn may_post(cx: &Ctx<'_>, s: &Space, column_key: Option<&str>) -> AppResult<bool> {
    let a = cx.actor;
    match (s.kind(), column_key) {
        (Kind::Class, Some("community")) => belongs(cx, s.node_id).await,
        (Kind::Student, Some("comments")) => {
            let class = class_of_space(cx, s).await?;
            let teacher = class.is_some_and(|c| scope::teaches(a, c));
            let guardian = s
                .person_id
                .is_some_and(|p| a.grants_of(Role::Guardian).any(|g| g.student_id == Some(p)));
            Ok(teacher || guardian)
        }
        (Kind::Student, Some("awards")) => {
            let class = class_of_space(cx, s).await?;
            Ok(owns(cx, s).await? || class.is_some_and(|c| scope::teaches(a, c)))
        }
        _ => owns(cx, s).await,
    }
}

/// Whether the actor may comment on what they can read: anyone signed in who belongs to the
/// space's school, or its owner.
pub async fn may_comment(cx: &Ctx<'_>, s: &Space) -> AppResult<bool> {
    Ok(owns(cx, s).await? || belongs(cx, school_of(cx, s.node_id).await?).await?)
}

//! The one authorization function: may this actor do this to this object? Decided from the
//! scope tree: an administrator manages everything at and below their node and nothing beside
//! or above it; a teacher sees their own classes and the students in them; a student sees
//! their own class; a guardian sees only their own children. docs/permissions.md is the matrix.

use crate::actor::{Actor, Role};
use crate::error::{AppError, AppResult};
use crate::ids::{NodeId, PersonId};
use crate::{Db, on_db, tree};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// See a node (a region, school, grade or class) and its details.
    ViewNode,
    /// Create nodes below, rename, move and deactivate.
    ManageNode,
    /// List and search the people of a node's subtree.
    ViewPeople,
    /// Create, edit and deactivate people, and assign roles, in a node's subtree.
    ManagePeople,
    /// See a class's roster.
    ViewRoster,
    /// Read the audit log of a node's subtree.
    ViewAudit,
    /// Register and manage the applications (OIDC clients, CAS services) of a node's subtree.
    ManageApplications,
}

/// What a person-level permission is asked about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PersonPermission {
    /// See the person's page (personal data masked).
    View,
    /// See ID number, phone and e-mail unmasked.
    ViewPersonalData,
    /// Edit, deactivate, assign roles.
    Manage,
}

/// Whether the actor administers `node` (holds an admin grant at it or above it).
pub async fn administers(db: &Db, actor: &Actor, node: NodeId) -> AppResult<bool> {
    if actor.is_system() {
        return Ok(true);
    }
    let admin = actor.admin_nodes();
    if admin.is_empty() {
        return Ok(false);
    }
    if admin.contains(&node) {
        return Ok(true);
    }
    Ok(tree::ancestors_or_self(db, node)
        .await?
        .iter()
        .any(|a| admin.contains(a)))
}

/// May `actor` do `perm` on `node`?
pub async fn may(db: &Db, actor: &Actor, perm: Permission, node: NodeId) -> AppResult<bool> {
    if administers(db, actor, node).await? {
        return Ok(true);
    }
    Ok(match perm {
        Permission::ManageNode
        | Permission::ViewPeople
        | Permission::ManagePeople
        | Permission::ViewAudit
        | Permission::ManageApplications => false,
        Permission::ViewRoster => actor
            .grants
            .iter()
            .any(|g| matches!(g.role, Role::Teacher | Role::HeadTeacher) && g.node_id == node),
        Permission::ViewNode => {
            // Members see the nodes they belong to and the nodes above them.
            for g in &actor.grants {
                if g.node_id == node || tree::is_within(db, g.node_id, node).await? {
                    return Ok(true);
                }
            }
            false
        }
    })
}

/// `Ok` if allowed, `Forbidden` otherwise.
pub async fn require(db: &Db, actor: &Actor, perm: Permission, node: NodeId) -> AppResult<()> {
    if may(db, actor, perm, node).await? {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

/// `Ok` if allowed, otherwise `NotFound(code)`: for objects whose existence must not be revealed.
pub async fn require_visible(
    db: &Db,
    actor: &Actor,
    perm: Permission,
    node: NodeId,
    code: &'static str,
) -> AppResult<()> {
    if may(db, actor, perm, node).await? {
        Ok(())
    } else {
        Err(AppError::NotFound(code))
    }
}

/// May `actor` do `perm` to the person `person` whose owning node is `org`?
pub async fn may_person(
    db: &Db,
    actor: &Actor,
    perm: PersonPermission,
    person: PersonId,
    org: NodeId,
) -> AppResult<bool> {
    if administers(db, actor, org).await? {
        return Ok(true);
    }
    let is_self = actor.person_id == person;
    let is_guardian = actor
        .grants_of(Role::Guardian)
        .any(|g| g.student_id == Some(person));
    Ok(match perm {
        PersonPermission::Manage => false,
        PersonPermission::ViewPersonalData => is_self || is_guardian,
        PersonPermission::View => {
            if is_self || is_guardian {
                return Ok(true);
            }
            teaches_student(db, actor, person).await?
        }
    })
}

/// Whether the actor teaches (or heads) a class the person studies in.
async fn teaches_student(db: &Db, actor: &Actor, person: PersonId) -> AppResult<bool> {
    let classes: Vec<NodeId> = actor
        .grants
        .iter()
        .filter(|g| matches!(g.role, Role::Teacher | Role::HeadTeacher))
        .map(|g| g.node_id)
        .collect();
    if classes.is_empty() {
        return Ok(false);
    }
    let rows: Vec<(NodeId,)> = on_db!(db, p => sqlx::query_as(
        "SELECT node_id FROM role_assignments WHERE person_id = $1 AND role = 'student'",
    ).bind(person).fetch_all(p).await)?;
    Ok(rows.iter().any(|(c,)| classes.contains(c)))
}

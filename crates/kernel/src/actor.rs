//! Who is acting: a person with their scoped role assignments, loaded once per request.

use crate::error::AppResult;
use crate::i18n::Locale;
use crate::ids::{NodeId, PersonId, RoleId};
use crate::{Db, on_db};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Administers a region or a school and everything below it.
    Admin,
    /// Teaches a subject in a class.
    Teacher,
    /// The teacher in charge of a class.
    HeadTeacher,
    /// Studies in a class.
    Student,
    /// Guardian of a student.
    Guardian,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Admin,
        Role::Teacher,
        Role::HeadTeacher,
        Role::Student,
        Role::Guardian,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Teacher => "teacher",
            Self::HeadTeacher => "head_teacher",
            Self::Student => "student",
            Self::Guardian => "guardian",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// One role assignment, scoped to a node of the organisation tree.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Grant {
    pub id: RoleId,
    pub role: Role,
    pub node_id: NodeId,
    pub subject: Option<String>,
    /// For guardians: the child.
    pub student_id: Option<PersonId>,
    /// The kind of the node the role is held at (`city`, `school`, `class`, …).
    pub node_kind: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    Session,
    Token,
    /// The command line and the demo loader: may do anything.
    System,
}

#[derive(Debug, Clone)]
pub struct Actor {
    pub person_id: PersonId,
    pub name: String,
    pub org_id: NodeId,
    pub locale: Locale,
    pub must_change_password: bool,
    pub grants: Vec<Grant>,
    pub via: Via,
}

#[derive(sqlx::FromRow)]
struct ActorRow {
    name: String,
    org_id: NodeId,
    locale: Option<String>,
    must_change_password: Option<bool>,
}

#[derive(sqlx::FromRow)]
struct GrantRow {
    id: RoleId,
    role: String,
    node_id: NodeId,
    subject: Option<String>,
    student_id: Option<PersonId>,
    node_kind: String,
}

impl Actor {
    /// The command line acting for the operator of the machine.
    pub fn system() -> Self {
        Self {
            person_id: PersonId(uuid::Uuid::nil()),
            name: "system".into(),
            org_id: NodeId(uuid::Uuid::nil()),
            locale: Locale::default(),
            must_change_password: false,
            grants: Vec::new(),
            via: Via::System,
        }
    }

    pub fn is_system(&self) -> bool {
        self.via == Via::System
    }

    /// Loads an active person and their grants on active nodes; `None` if the person is
    /// unknown or deactivated.
    pub async fn load(db: &Db, person_id: PersonId, via: Via) -> AppResult<Option<Self>> {
        let row: Option<ActorRow> = on_db!(db, p => sqlx::query_as(
            "SELECT p.name, p.org_id, a.locale, a.must_change_password
             FROM persons p LEFT JOIN accounts a ON a.person_id = p.id
             WHERE p.id = $1 AND p.active = TRUE",
        ).bind(person_id).fetch_optional(p).await)?;
        let Some(row) = row else { return Ok(None) };
        let grants: Vec<GrantRow> = on_db!(db, p => sqlx::query_as(
            "SELECT r.id, r.role, r.node_id, r.subject, r.student_id, n.kind AS node_kind
             FROM role_assignments r JOIN org_nodes n ON n.id = r.node_id
             WHERE r.person_id = $1 AND n.active = TRUE
             ORDER BY r.created_at",
        ).bind(person_id).fetch_all(p).await)?;
        Ok(Some(Self {
            person_id,
            name: row.name,
            org_id: row.org_id,
            locale: row
                .locale
                .as_deref()
                .and_then(Locale::parse)
                .unwrap_or_default(),
            must_change_password: row.must_change_password.unwrap_or(false),
            grants: grants
                .into_iter()
                .filter_map(|g| {
                    Some(Grant {
                        id: g.id,
                        role: Role::parse(&g.role)?,
                        node_id: g.node_id,
                        subject: g.subject,
                        student_id: g.student_id,
                        node_kind: g.node_kind,
                    })
                })
                .collect(),
            via,
        }))
    }

    pub fn has_role(&self, role: Role) -> bool {
        self.grants.iter().any(|g| g.role == role)
    }

    pub fn grants_of(&self, role: Role) -> impl Iterator<Item = &Grant> {
        self.grants.iter().filter(move |g| g.role == role)
    }

    /// The nodes this person administers.
    /// Whether the person administers a region (a district, city or province): the region's
    /// own settings (login policy, upstream login) are theirs.
    pub fn administers_region(&self) -> bool {
        self.grants_of(Role::Admin)
            .any(|g| matches!(g.node_kind.as_str(), "province" | "city" | "district"))
    }

    pub fn admin_nodes(&self) -> Vec<NodeId> {
        self.grants_of(Role::Admin).map(|g| g.node_id).collect()
    }
}

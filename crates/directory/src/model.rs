//! The organisation tree and people as the directory stores them.

use chrono::{DateTime, Utc};
use kernel::{NodeId, PersonId, RoleId};
use serde::Serialize;

pub use standards::kinds::{NodeKind, SchoolType, Stage};

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Node {
    pub id: NodeId,
    pub kind: String,
    pub parent_id: Option<NodeId>,
    pub name: String,
    /// Division code (regions) or school code (schools).
    pub code: Option<String>,
    pub school_type: Option<String>,
    /// Comma-separated stages.
    pub stages: Option<String>,
    /// Grades and classes: the year within the stage (1 = first year).
    pub grade_code: Option<String>,
    pub entry_year: Option<i64>,
    pub school_id: Option<NodeId>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Node {
    pub fn kind(&self) -> Option<NodeKind> {
        NodeKind::parse(&self.kind)
    }
    pub fn stage_list(&self) -> Vec<Stage> {
        self.stages
            .as_deref()
            .unwrap_or("")
            .split(',')
            .filter_map(Stage::parse)
            .collect()
    }
}

/// A person as lists show them: personal data masked.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct PersonRow {
    pub id: PersonId,
    pub name: String,
    pub gender: String,
    pub staff_no: Option<String>,
    pub registry_no: Option<String>,
    pub phone: Option<String>,
    pub active: bool,
    pub org_id: NodeId,
    pub org_name: String,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Person {
    pub id: PersonId,
    pub org_id: NodeId,
    pub name: String,
    pub gender: String,
    pub id_number: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub staff_no: Option<String>,
    pub registry_no: Option<String>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Person {
    /// Masks the ID number, phone, e-mail and registry number (which embeds the ID number).
    pub fn masked(mut self) -> Self {
        use kernel::privacy::*;
        self.id_number = self.id_number.as_deref().map(mask_id_number);
        self.phone = self.phone.as_deref().map(mask_phone);
        self.email = self.email.as_deref().map(mask_email);
        self.registry_no = self.registry_no.as_deref().map(mask_id_number);
        self
    }
}

/// A role assignment with the names a page shows.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct RoleView {
    pub id: RoleId,
    pub person_id: PersonId,
    pub role: String,
    pub node_id: NodeId,
    pub node_name: String,
    pub node_kind: String,
    pub subject: Option<String>,
    pub student_id: Option<PersonId>,
    pub student_name: Option<String>,
    pub relation: Option<String>,
}

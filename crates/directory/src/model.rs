//! The organisation tree and people as the directory stores them.

use chrono::{DateTime, Utc};
use kernel::{NodeId, PersonId, RoleId};
use serde::{Deserialize, Serialize};

macro_rules! code_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident => $code:literal),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),* }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),*];
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $code),* }
            }
            pub fn parse(s: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.as_str() == s)
            }
        }
    };
}

code_enum!(
    /// What a node of the organisation tree is.
    NodeKind { Province => "province", City => "city", District => "district", School => "school", Grade => "grade", Class => "class" }
);

code_enum!(
    /// 学段.
    Stage { Preschool => "preschool", Primary => "primary", Junior => "junior", Senior => "senior", Vocational => "vocational", Special => "special" }
);

code_enum!(
    /// 学校类型: 小学, 初中, 高中, 九年一贯制, 完全中学, 十二年一贯制, 职业学校, 幼儿园, 特殊教育学校.
    SchoolType {
        Primary => "primary",
        Junior => "junior",
        Senior => "senior",
        NineYear => "nine_year",
        Complete => "complete",
        TwelveYear => "twelve_year",
        Vocational => "vocational",
        Kindergarten => "kindergarten",
        Special => "special",
    }
);

impl NodeKind {
    pub fn is_region(self) -> bool {
        matches!(self, Self::Province | Self::City | Self::District)
    }

    /// The kinds a node of this kind may have as children.
    pub fn child_kinds(self) -> &'static [NodeKind] {
        match self {
            Self::Province => &[Self::City],
            Self::City => &[Self::District, Self::School],
            Self::District => &[Self::School],
            Self::School => &[Self::Grade],
            Self::Grade => &[Self::Class],
            Self::Class => &[],
        }
    }

    /// Whether a node of this kind may be a root (a deployment for one province, city or district).
    pub fn may_be_root(self) -> bool {
        self.is_region()
    }
}

impl SchoolType {
    /// The stages a school of this type teaches.
    pub fn stages(self) -> &'static [Stage] {
        match self {
            Self::Primary => &[Stage::Primary],
            Self::Junior => &[Stage::Junior],
            Self::Senior => &[Stage::Senior],
            Self::NineYear => &[Stage::Primary, Stage::Junior],
            Self::Complete => &[Stage::Junior, Stage::Senior],
            Self::TwelveYear => &[Stage::Primary, Stage::Junior, Stage::Senior],
            Self::Vocational => &[Stage::Vocational],
            Self::Kindergarten => &[Stage::Preschool],
            Self::Special => &[Stage::Special],
        }
    }
}

impl Stage {
    /// Years of schooling in this stage (grades 1..=n).
    pub fn years(self) -> u8 {
        match self {
            Self::Preschool | Self::Junior | Self::Senior | Self::Vocational => 3,
            Self::Primary => 6,
            Self::Special => 9,
        }
    }
}

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

//! What the nodes of the organisation tree are, the stages of schooling (学段) and the types of
//! school (学校类型), each with its stable code.

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

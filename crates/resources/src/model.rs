//! The library's vocabulary: resource kinds, sharing levels, and a resource as stored.

use chrono::{DateTime, Utc};
use kernel::{NodeId, PersonId, ResourceId};
use serde::{Deserialize, Serialize};

macro_rules! str_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $variant:ident => $code:literal),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vm])* $variant),* }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),*];
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $code),* }
            }
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($code => Some(Self::$variant),)* _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
#[allow(unused_imports)]
pub(crate) use str_enum;

str_enum!(
    /// What a resource is (the kinds the plans name). i18n: `library.kind.<code>`.
    Kind {
        /// 教案
        LessonPlan => "lesson_plan",
        /// 导学案
        StudyGuide => "study_guide",
        /// 课件
        Courseware => "courseware",
        /// 微课
        MicroLesson => "micro_lesson",
        /// 教学设计
        TeachingDesign => "teaching_design",
        /// 练习与作业
        Exercise => "exercise",
        /// 教学素材
        Material => "material",
        /// 参考资料: 说课, 课堂实录, …
        Reference => "reference",
    }
);

str_enum!(
    /// How far a resource is shared, in order. i18n: `library.scope.<code>`.
    Scope {
        Private => "private",
        School => "school",
        District => "district",
        City => "city",
    }
);

str_enum!(
    /// A level of review: the school's, the district's, the city's.
    Level {
        School => "school",
        District => "district",
        City => "city",
    }
);

impl Level {
    /// The scope a resource reaches when this level approves it.
    pub fn scope(self) -> Scope {
        match self {
            Self::School => Scope::School,
            Self::District => Scope::District,
            Self::City => Scope::City,
        }
    }
    /// The org-tree node kind that reviews at this level.
    pub fn node_kind(self) -> &'static str {
        match self {
            Self::School => "school",
            Self::District => "district",
            Self::City => "city",
        }
    }
}

impl Scope {
    /// The level that reviewed a resource shared this far (`None` for private).
    pub fn level(self) -> Option<Level> {
        match self {
            Self::Private => None,
            Self::School => Some(Level::School),
            Self::District => Some(Level::District),
            Self::City => Some(Level::City),
        }
    }
}

/// A resource's row.
#[derive(Debug, Clone, sqlx::FromRow, Serialize, utoipa::ToSchema)]
pub struct ResourceRow {
    pub id: ResourceId,
    /// The owning node: the author's school (or region).
    pub org_id: NodeId,
    pub author_id: PersonId,
    pub title: String,
    pub description: String,
    pub kind: String,
    /// Tags joined by a newline (see [`ResourceRow::tag_list`]).
    pub tags: String,
    pub blob_hash: Option<String>,
    pub file_name: Option<String>,
    pub scope: String,
    pub pending_level: Option<String>,
    pub version: i64,
    pub views: i64,
    pub downloads: i64,
    pub favourites: i64,
    pub comments: i64,
    pub rating_count: i64,
    pub rating_sum: i64,
    pub expert_score: Option<f64>,
    pub quality: f64,
    pub school_year: Option<i64>,
    pub term: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
    /// Shared with students too (学生可见): the students of the classes under its audience see it.
    pub for_students: bool,
}

/// The columns of [`ResourceRow`], for `SELECT {COLUMNS} FROM resources r`.
pub const COLUMNS: &str = "r.id, r.org_id, r.author_id, r.title, r.description, r.kind, r.tags, \
     r.blob_hash, r.file_name, r.scope, r.pending_level, r.version, r.views, r.downloads, \
     r.favourites, r.comments, r.rating_count, r.rating_sum, r.expert_score, r.quality, \
     r.school_year, r.term, r.created_at, r.updated_at, r.deleted_at, r.for_students";

impl ResourceRow {
    pub fn kind(&self) -> Kind {
        Kind::parse(&self.kind).unwrap_or(Kind::Material)
    }
    pub fn scope(&self) -> Scope {
        Scope::parse(&self.scope).unwrap_or(Scope::Private)
    }
    pub fn pending(&self) -> Option<Level> {
        self.pending_level.as_deref().and_then(Level::parse)
    }
    pub fn tag_list(&self) -> Vec<&str> {
        self.tags.split('\n').filter(|t| !t.is_empty()).collect()
    }
    /// The mean rating, if anyone rated it.
    pub fn rating(&self) -> Option<f64> {
        (self.rating_count > 0).then(|| self.rating_sum as f64 / self.rating_count as f64)
    }
}

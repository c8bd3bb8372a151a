//! The kinds of spaces, who may see a column or post (visibility), and each kind's default
//! columns.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Region,
    School,
    Class,
    Teacher,
    Student,
    Guardian,
}

impl Kind {
    pub const ALL: [Kind; 6] = [
        Kind::Region,
        Kind::School,
        Kind::Class,
        Kind::Teacher,
        Kind::Student,
        Kind::Guardian,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Region => "region",
            Self::School => "school",
            Self::Class => "class",
            Self::Teacher => "teacher",
            Self::Student => "student",
            Self::Guardian => "guardian",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
    /// The plans' opening target, in percent: every institution, school, class and teacher;
    /// half of students and guardians.
    pub fn target_percent(self) -> i64 {
        match self {
            Self::Student | Self::Guardian => 50,
            _ => 100,
        }
    }
}

/// Who may read a column or a post, widest first.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// Everyone signed in on the platform.
    Region,
    /// The space's school: its staff, students and their guardians.
    School,
    /// The space's class: its teachers, students and their guardians.
    Class,
    /// The owner (and a student's guardians and class teachers).
    Private,
}

impl Visibility {
    pub const ALL: [Visibility; 4] = [
        Visibility::Region,
        Visibility::School,
        Visibility::Class,
        Visibility::Private,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Region => "region",
            Self::School => "school",
            Self::Class => "class",
            Self::Private => "private",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
    /// A minor's space never shows beyond the school by default (children under 14: consent
    /// comes first).
    pub fn for_kind(self, kind: Kind) -> Self {
        if kind == Kind::Student && self < Visibility::School {
            Visibility::School
        } else {
            self
        }
    }
}

/// One of a kind's default columns.
pub struct DefaultColumn {
    pub key: &'static str,
    /// posts | notices | homework | library | classes | research | children
    pub content: &'static str,
    pub visibility: Visibility,
}

const fn col(key: &'static str, content: &'static str, visibility: Visibility) -> DefaultColumn {
    DefaultColumn {
        key,
        content,
        visibility,
    }
}

use Visibility::{Class as C, Private as P, Region as R, School as S};

/// The platform's columns for each kind of space (a region adds its own).
pub fn defaults(kind: Kind) -> &'static [DefaultColumn] {
    const NODE: &[DefaultColumn] = &[
        col("news", "posts", R),
        col("notices", "posts", R),
        col("featured_teachers", "posts", R),
        col("featured_classes", "posts", R),
        col("featured_resources", "posts", R),
    ];
    const CLASS: &[DefaultColumn] = &[
        col("class_notices", "notices", C),
        col("homework", "homework", C),
        col("album", "posts", C),
        col("class_honours", "posts", S),
        col("duty_roster", "posts", C),
        col("community", "posts", C),
    ];
    const TEACHER: &[DefaultColumn] = &[
        col("profile", "posts", R),
        col("resources", "library", R),
        col("reflections", "posts", R),
        col("photos", "posts", S),
        col("honours", "posts", R),
        col("classes", "classes", S),
        col("research", "research", R),
        col("archive", "posts", S),
    ];
    const STUDENT: &[DefaultColumn] = &[
        col("works", "posts", C),
        col("awards", "posts", C),
        col("activities", "posts", C),
        col("reflections", "posts", C),
        col("comments", "posts", P),
    ];
    const GUARDIAN: &[DefaultColumn] =
        &[col("children", "children", P), col("parenting", "posts", C)];
    match kind {
        Kind::Region | Kind::School => NODE,
        Kind::Class => CLASS,
        Kind::Teacher => TEACHER,
        Kind::Student => STUDENT,
        Kind::Guardian => GUARDIAN,
    }
}

/// The entries of a teacher's development archive (教师发展档案).
pub const TEACHER_ARCHIVE: [&str; 7] = [
    "qualification",
    "title",
    "training",
    "honour",
    "paper",
    "open_lesson",
    "project",
];

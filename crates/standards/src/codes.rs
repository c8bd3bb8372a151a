//! The national code tables the base data stores (GB/T 2261 gender, GB/T 3304 ethnicity,
//! GB/T 4761 family relation, JY/T 1001 tables, the student registry's own tables, …), embedded
//! from `data/codes/` (copied from the standards pack in `../shared/standards`). Records store codes; pages show names.
//!
//! [`resolve`] reads a value as schools type it: the code itself ("01"), the code without its
//! leading zeros ("1"), the name ("汉族"), the name without its generic suffix ("汉", "男" for
//! 男性), or a common spoken form for family relations (爸爸 → 51 父亲).

use std::collections::HashMap;
use std::sync::OnceLock;

/// One code of a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Code {
    pub code: String,
    pub name: String,
    /// The parent code, in hierarchical tables (student category, running type).
    pub parent: Option<String>,
}

macro_rules! tables {
    ($($(#[$doc:meta])* $name:ident => $file:literal),* $(,)?) => {
        /// A code table.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Table { $($(#[$doc])* $name),* }

        impl Table {
            pub const ALL: &'static [Table] = &[$(Table::$name),*];

            /// The file name in the standards pack (without `.csv`).
            pub fn file(self) -> &'static str {
                match self { $(Table::$name => $file),* }
            }

            fn source(self) -> &'static str {
                match self { $(Table::$name => include_str!(concat!("../data/codes/", $file, ".csv"))),* }
            }
        }
    };
}

tables! {
    /// GB/T 2261.1 gender (1 男性, 2 女性).
    Gender => "gbt2261_1_gender",
    /// GB/T 3304 ethnicity (01 汉族 …).
    Ethnicity => "gbt3304_ethnicity",
    /// GB/T 2659 country or region (CHN …).
    Country => "gbt2659_country",
    /// JY/T 1001 ID document type.
    IdType => "jyt1001_id_type",
    /// JY/T 1001 Hong Kong / Macao / Taiwan / overseas Chinese status.
    Gatqw => "jyt1001_gatqw",
    /// GB/T 4762 political status.
    Political => "gbt4762_political_status",
    /// GB/T 2261.3 health.
    Health => "gbt2261_3_health",
    /// The student registry's health codes (10–50).
    RegistryHealth => "registry_health",
    /// GA 324.1 household registration.
    Hukou => "ga324_1_hukou",
    /// The student registry's hukou nature (1 农业, 2 非农业).
    RegistryHukou => "registry_hukou",
    /// JY/T 1001 enrollment mode.
    EnrollmentMode => "jyt1001_enrollment_mode",
    /// The student registry's enrollment mode.
    RegistryEnrollmentMode => "registry_enrollment_mode",
    /// JY/T 1001 study mode (1 走读, 2 住校).
    StudyMode => "jyt1001_study_mode",
    /// JY/T 1001 student category (hierarchical).
    StudentCategory => "jyt1001_student_category",
    /// JY/T 1001 K-12 student source.
    StudentSource => "jyt1001_k12_student_source",
    /// Left-behind child (0 no, 1 one parent away, 2 both).
    LeftBehind => "left_behind_child",
    /// The registry's inclusive-education codes (随班就读).
    Inclusion => "registry_inclusive_education",
    /// Disability kind.
    Disability => "disability_kind",
    /// GB/T 4761 family relation.
    FamilyRelation => "gbt4761_family_relation",
    /// GB/T 4658 education level.
    EducationLevel => "gbt4658_education_level",
    /// GB/T 8561 professional title.
    ProfessionalTitle => "gbt8561_professional_title",
    /// JY/T 1001 K-12 staffing category.
    StaffingCategory => "jyt1001_k12_staffing_category",
    /// JY/T 1001 staff status.
    StaffStatus => "jyt1001_staff_status",
    /// JY/T 1001 registry change kind (transfer, suspension, …).
    RegistryChangeKind => "jyt1001_registry_change_kind",
    /// JY/T 1001 registry change reason.
    RegistryChangeReason => "jyt1001_registry_change_reason",
    /// JY/T 1001 student status.
    StudentStatus => "jyt1001_student_status",
    /// JY/T 1001 school running type (hierarchical).
    SchoolRunningType => "jyt1001_school_running_type",
    /// JY/T 1001 urban/rural type.
    UrbanRural => "jyt1001_urban_rural_type",
    /// School category.
    SchoolCategory => "school_category",
    /// JY/T 1001 teaching stage.
    TeachingStage => "jyt1001_teaching_stage",
    /// JY/T 1001 grade.
    Grade => "jyt1001_grade",
    /// JY/T 1001 yes/no (0 否, 1 是).
    YesNo => "jyt1001_yes_no",
    /// JY/T 1001 K-12 courses (13 语文, 14 数学, …): the subjects of teaching assignments.
    Course => "jyt1001_course",
}

struct Loaded {
    codes: Vec<Code>,
    /// Every accepted spelling → code.
    index: HashMap<String, String>,
}

/// Spoken forms of family relations, as guardians' columns are filled in.
const RELATION_ALIASES: &[(&str, &str)] = &[
    ("爸爸", "51"),
    ("父", "51"),
    ("妈妈", "52"),
    ("母", "52"),
    ("爷爷", "61"),
    ("奶奶", "62"),
    ("外公", "63"),
    ("姥爷", "63"),
    ("外婆", "64"),
    ("姥姥", "64"),
    ("哥哥", "71"),
    ("姐", "75"),
];

/// Yes and no as schools write them, for every yes/no column alike.
const YES_NO_ALIASES: &[(&str, &str)] = &[
    ("Y", "1"),
    ("YES", "1"),
    ("TRUE", "1"),
    ("对", "1"),
    ("有", "1"),
    ("√", "1"),
    ("✓", "1"),
    ("N", "0"),
    ("NO", "0"),
    ("FALSE", "0"),
    ("不是", "0"),
    ("非", "0"),
    ("无", "0"),
    ("没有", "0"),
    ("×", "0"),
    ("✗", "0"),
];

/// Left-behind children: 否 and its kin for "not"; 单亲 and 双亲 for which kind. A bare 是 says
/// neither, so it is refused with the accepted values.
const LEFT_BEHIND_ALIASES: &[(&str, &str)] = &[
    ("否", "0"),
    ("不是", "0"),
    ("非", "0"),
    ("无", "0"),
    ("N", "0"),
    ("NO", "0"),
    ("非留守", "0"),
    ("单亲", "1"),
    ("单亲留守", "1"),
    ("双亲", "2"),
    ("双亲留守", "2"),
];

/// 随班就读: 否 is an ordinary student, 是 the generic inclusion code.
const INCLUSION_ALIASES: &[(&str, &str)] = &[
    ("否", "00"),
    ("不是", "00"),
    ("无", "00"),
    ("N", "00"),
    ("NO", "00"),
    ("普通", "00"),
    ("是", "10"),
    ("Y", "10"),
    ("YES", "10"),
];

/// The spoken forms of a table, read after its codes and names.
fn aliases(t: Table) -> &'static [(&'static str, &'static str)] {
    match t {
        Table::FamilyRelation => RELATION_ALIASES,
        Table::YesNo => YES_NO_ALIASES,
        Table::LeftBehind => LEFT_BEHIND_ALIASES,
        Table::Inclusion => INCLUSION_ALIASES,
        _ => &[],
    }
}

/// Generic endings a school may leave off (汉 for 汉族, 男 for 男性).
const SUFFIXES: &[&str] = &["族", "性", "户口"];

fn load(t: Table) -> Loaded {
    let mut codes = Vec::new();
    let mut rd = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(t.source().as_bytes());
    let headers = rd.headers().cloned().unwrap_or_default();
    let col = |n: &str| headers.iter().position(|h| h == n);
    let (ci, ni, pi) = (col("code"), col("name"), col("parent"));
    for rec in rd.records().flatten() {
        let get = |i: Option<usize>| i.and_then(|i| rec.get(i)).map(str::trim).unwrap_or("");
        let (code, name) = (get(ci), get(ni));
        if code.is_empty() || name.is_empty() {
            continue;
        }
        let parent = Some(get(pi).to_owned()).filter(|p| !p.is_empty());
        codes.push(Code {
            code: code.to_owned(),
            name: name.to_owned(),
            parent,
        });
    }
    let mut index = HashMap::new();
    // Later spellings never override earlier ones: codes first, then names, then short forms.
    for c in &codes {
        index.entry(c.code.to_uppercase()).or_insert(c.code.clone());
    }
    for c in &codes {
        index.entry(c.name.clone()).or_insert(c.code.clone());
    }
    for (alias, code) in aliases(t) {
        index
            .entry((*alias).to_owned())
            .or_insert((*code).to_owned());
    }
    for c in &codes {
        for s in SUFFIXES {
            if let Some(short) = c.name.strip_suffix(s)
                && !short.is_empty()
            {
                index.entry(short.to_owned()).or_insert(c.code.clone());
            }
        }
        // Either half of a name such as 健康或良好 or 一般或较弱.
        if c.name.contains('或') {
            for part in c.name.split('或').filter(|p| !p.is_empty()) {
                index.entry(part.to_owned()).or_insert(c.code.clone());
            }
        }
    }
    Loaded { codes, index }
}

fn loaded(t: Table) -> &'static Loaded {
    static ALL: OnceLock<HashMap<Table, Loaded>> = OnceLock::new();
    let all = ALL.get_or_init(|| Table::ALL.iter().map(|t| (*t, load(*t))).collect());
    // Every table is loaded at once above, so the entry is always there.
    &all[&t]
}

/// Every code of a table, in the standard's order.
pub fn all(t: Table) -> &'static [Code] {
    &loaded(t).codes
}

/// The name of a code, for pages and exports.
pub fn name(t: Table, code: &str) -> Option<&'static str> {
    loaded(t)
        .codes
        .iter()
        .find(|c| c.code == code)
        .map(|c| c.name.as_str())
}

/// The code a typed value stands for: the code, the code without leading zeros, the name, the
/// name without a generic ending, or (family relations) a spoken form.
pub fn resolve(t: Table, typed: &str) -> Option<&'static str> {
    let v = crate::typed::text(typed);
    let l = loaded(t);
    if let Some(c) = l.index.get(&v).or_else(|| l.index.get(&v.to_uppercase())) {
        return Some(c.as_str());
    }
    // "1" for "01": pad numeric input to the width of the table's numeric codes.
    if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) {
        return l
            .codes
            .iter()
            .find(|c| {
                c.code.len() > v.len()
                    && c.code.bytes().all(|b| b.is_ascii_digit())
                    && c.code.trim_start_matches('0') == v.trim_start_matches('0')
            })
            .map(|c| c.code.as_str());
    }
    None
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn every_table_loads_with_unique_codes_and_names() {
        for t in Table::ALL {
            let codes = all(*t);
            assert!(!codes.is_empty(), "{} is empty", t.file());
            let mut seen = std::collections::HashSet::new();
            for c in codes {
                assert!(seen.insert(&c.code), "{}: code {} twice", t.file(), c.code);
                assert_eq!(resolve(*t, &c.code), Some(c.code.as_str()), "{}", t.file());
                if let Some(p) = &c.parent {
                    assert!(name(*t, p).is_some(), "{}: parent {p} unknown", t.file());
                }
            }
        }
    }

    #[test]
    fn values_as_schools_type_them() {
        assert_eq!(resolve(Table::Ethnicity, "汉族"), Some("01"));
        assert_eq!(resolve(Table::Ethnicity, "汉"), Some("01"));
        assert_eq!(resolve(Table::Ethnicity, "1"), Some("01"));
        assert_eq!(resolve(Table::Ethnicity, "０１"), Some("01"));
        assert_eq!(resolve(Table::Gender, "男"), Some("1"));
        assert_eq!(resolve(Table::Gender, "女性"), Some("2"));
        assert_eq!(resolve(Table::FamilyRelation, "父亲"), Some("51"));
        assert_eq!(resolve(Table::FamilyRelation, "妈妈"), Some("52"));
        assert_eq!(resolve(Table::StudyMode, "住校"), Some("2"));
        assert_eq!(resolve(Table::Country, "chn"), Some("CHN"));
        assert_eq!(resolve(Table::Country, "中国"), Some("CHN"));
        assert_eq!(resolve(Table::RegistryHukou, "农业"), Some("1"));
        assert_eq!(resolve(Table::Ethnicity, "火星族"), None);
        assert_eq!(resolve(Table::Ethnicity, "99999"), None);
        assert_eq!(name(Table::Ethnicity, "01"), Some("汉族"));
        assert_eq!(name(Table::Gender, "9"), Some("未说明的性别"));
    }

    #[test]
    fn every_yes_no_column_takes_the_natural_answers() {
        for (typed, code) in [
            ("是", "1"),
            ("否", "0"),
            ("Y", "1"),
            ("n", "0"),
            ("1", "1"),
            ("0", "0"),
            ("true", "1"),
            ("无", "0"),
        ] {
            assert_eq!(resolve(Table::YesNo, typed), Some(code), "{typed}");
        }
        // 是否留守儿童: 否 is "not left behind"; a bare 是 does not say which kind.
        assert_eq!(resolve(Table::LeftBehind, "否"), Some("0"));
        assert_eq!(resolve(Table::LeftBehind, "N"), Some("0"));
        assert_eq!(resolve(Table::LeftBehind, "双亲"), Some("2"));
        assert_eq!(resolve(Table::LeftBehind, "是"), None);
        assert_eq!(resolve(Table::Inclusion, "否"), Some("00"));
        assert_eq!(resolve(Table::Health, "健康"), Some("1"));
        assert_eq!(resolve(Table::Health, "良好"), Some("1"));
        assert_eq!(resolve(Table::RegistryHealth, "健康"), Some("10"));
        assert_eq!(resolve(Table::Health, "较弱"), Some("2"));
    }
}

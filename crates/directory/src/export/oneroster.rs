//! The OneRoster 1.2 CSV bundle of a region or school: a ZIP of manifest.csv, orgs.csv,
//! academicSessions.csv, courses.csv, classes.csv, users.csv, roles.csv, enrollments.csv and
//! demographics.csv (bulk), for international tools.
//!
//! Column names and order follow the 1EdTech OneRoster v1.2 CSV binding ("OneRoster 1.2 CSV
//! Tables"), as transcribed field by field in the `meibo` gem (github.com/hanachin/meibo,
//! lib/meibo/{organization,academic_session,course,classroom,enrollment,demographic,role}.rb,
//! lib/meibo/oneroster/v1_2/user.rb for users.csv with `resourceSourcedIds`, and
//! lib/meibo/manifest.rb for the manifest's properties and their order). In 1.2 a user's role
//! and organisations moved from users.csv to roles.csv, so roles.csv comes with users.csv.
//!
//! Mapping: the province, city, district and school nodes are orgs (`state`, `local`,
//! `district`, `school`); the school year and terms that apply at the node are
//! academicSessions (`schoolYear` with its `term`s); each school has a homeroom course and a
//! course per subject taught; each class is a `homeroom` class, and each subject taught in it
//! a `scheduled` class; people with a role in the subtree are users with their roles (student,
//! teacher, guardian, siteAdministrator, districtAdministrator) and, for guardians and their
//! children, each other as agents; class roles are enrollments; gender and birth date are
//! demographics. No ID number goes out at all: registry numbers (which embed it) are left
//! out, and a login name that contains an ID number, registry number or phone is replaced by
//! the person's sourcedId. Phones and e-mail addresses go out only in an unmasked bundle.

use super::{File, List, Mask, csv_text};
use crate::nodes;
use chrono::{DateTime, NaiveDate, Utc};
use kernel::authz::{self, Permission};
use kernel::{AppError, AppResult, Ctx, NodeId, PersonId, RoleId, on_db};
use standards::subjects::subject_name;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::io::Write;

pub const MANIFEST: [&str; 2] = ["propertyName", "value"];
pub const ORGS: [&str; 7] = [
    "sourcedId",
    "status",
    "dateLastModified",
    "name",
    "type",
    "identifier",
    "parentSourcedId",
];
pub const ACADEMIC_SESSIONS: [&str; 9] = [
    "sourcedId",
    "status",
    "dateLastModified",
    "title",
    "type",
    "startDate",
    "endDate",
    "parentSourcedId",
    "schoolYear",
];
pub const COURSES: [&str; 10] = [
    "sourcedId",
    "status",
    "dateLastModified",
    "schoolYearSourcedId",
    "title",
    "courseCode",
    "grades",
    "orgSourcedId",
    "subjects",
    "subjectCodes",
];
pub const CLASSES: [&str; 14] = [
    "sourcedId",
    "status",
    "dateLastModified",
    "title",
    "grades",
    "courseSourcedId",
    "classCode",
    "classType",
    "location",
    "schoolSourcedId",
    "termSourcedIds",
    "subjects",
    "subjectCodes",
    "periods",
];
pub const USERS: [&str; 23] = [
    "sourcedId",
    "status",
    "dateLastModified",
    "enabledUser",
    "username",
    "userIds",
    "givenName",
    "familyName",
    "middleName",
    "identifier",
    "email",
    "sms",
    "phone",
    "agentSourcedIds",
    "grades",
    "password",
    "userMasterIdentifier",
    "resourceSourcedIds",
    "preferredGivenName",
    "preferredMiddleName",
    "preferredFamilyName",
    "primaryOrgSourcedId",
    "pronouns",
];
pub const ROLES: [&str; 10] = [
    "sourcedId",
    "status",
    "dateLastModified",
    "userSourcedId",
    "roleType",
    "role",
    "beginDate",
    "endDate",
    "orgSourcedId",
    "userProfileSourcedId",
];
pub const ENROLLMENTS: [&str; 10] = [
    "sourcedId",
    "status",
    "dateLastModified",
    "classSourcedId",
    "schoolSourcedId",
    "userSourcedId",
    "role",
    "primary",
    "beginDate",
    "endDate",
];
pub const DEMOGRAPHICS: [&str; 16] = [
    "sourcedId",
    "status",
    "dateLastModified",
    "birthDate",
    "sex",
    "americanIndianOrAlaskaNative",
    "asian",
    "blackOrAfricanAmerican",
    "nativeHawaiianOrOtherPacificIslander",
    "white",
    "demographicRaceTwoOrMoreRaces",
    "hispanicOrLatinoEthnicity",
    "countryOfBirthCode",
    "stateOfBirthAbbreviation",
    "cityOfBirth",
    "publicSchoolResidenceStatus",
];

/// The manifest's file properties in the binding's order, and whether this bundle has them.
const MANIFEST_FILES: [(&str, bool); 21] = [
    ("academicSessions", true),
    ("categories", false),
    ("classes", true),
    ("classResources", false),
    ("courses", true),
    ("courseResources", false),
    ("demographics", true),
    ("enrollments", true),
    ("lineItemLearningObjectiveIds", false),
    ("lineItems", false),
    ("lineItemScoreScales", false),
    ("orgs", true),
    ("resources", false),
    ("resultLearningObjectiveIds", false),
    ("results", false),
    ("resultScoreScales", false),
    ("roles", true),
    ("scoreScales", false),
    ("userProfiles", false),
    ("userResources", false),
    ("users", true),
];

/// OneRoster's date-time form: UTC with milliseconds.
fn stamp(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// The CEDS grade (OneRoster `grades`) of a grade node: 01–12 by stage and year, PK before.
fn ceds_grade(stages: Option<&str>, year: Option<&str>) -> String {
    let y: u32 = year.and_then(|y| y.parse().ok()).unwrap_or(0);
    let offset = match stages.unwrap_or("") {
        "primary" | "special" => 0,
        "junior" => 6,
        "senior" | "vocational" => 9,
        "preschool" => return "PK".into(),
        _ => return String::new(),
    };
    if (1..=12).contains(&(offset + y)) && y > 0 {
        format!("{:02}", offset + y)
    } else {
        String::new()
    }
}

/// Family and given name of a Chinese name (compound surnames of two characters included);
/// names with a middle dot (维吾尔族 and foreign names) are given name · family name.
fn split_name(name: &str) -> (String, String) {
    const COMPOUND: [&str; 16] = [
        "欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "宇文",
        "司徒", "夏侯", "令狐", "端木", "独孤",
    ];
    if let Some((given, family)) = name.rsplit_once('·') {
        return (family.to_owned(), given.to_owned());
    }
    let n = if COMPOUND.iter().any(|c| name.starts_with(c)) && name.chars().count() > 2 {
        2
    } else {
        1
    };
    let family: String = name.chars().take(n).collect();
    let given: String = name.chars().skip(n).collect();
    if given.is_empty() {
        (family.clone(), family)
    } else {
        (family, given)
    }
}

type NodeRow = (
    NodeId,
    String,
    String,
    Option<String>,
    Option<NodeId>,
    DateTime<Utc>,
);
type ClassRow = (
    NodeId,
    String,
    Option<NodeId>,
    DateTime<Utc>,
    String,
    Option<String>,
    Option<String>,
);
type RoleRow = (
    RoleId,
    PersonId,
    String,
    NodeId,
    String,
    Option<NodeId>,
    Option<String>,
    Option<PersonId>,
);
type PersonRow = (
    PersonId,
    NodeId,
    String,
    String,
    Option<NaiveDate>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    DateTime<Utc>,
    Option<String>,
    Option<String>,
);

/// The files of a bundle, in the order they are zipped.
pub struct Bundle {
    pub files: Vec<(&'static str, String)>,
    pub users: usize,
}

impl Bundle {
    pub fn zip(&self) -> AppResult<Vec<u8>> {
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (name, text) in &self.files {
            w.start_file(*name, opts).map_err(AppError::internal)?;
            w.write_all(text.as_bytes()).map_err(AppError::internal)?;
        }
        Ok(w.finish().map_err(AppError::internal)?.into_inner())
    }
}

/// The bundle of `node` (a region or a school) as a ZIP, for its administrators; phones and
/// e-mail addresses only when `unmasked` (audited as `export.personal_data`).
pub async fn export(cx: &Ctx<'_>, node: NodeId, unmasked: bool) -> AppResult<File> {
    let n = nodes::get(cx, node).await?;
    authz::require(cx.db(), cx.actor, Permission::ManagePeople, node).await?;
    if !n
        .kind()
        .is_some_and(|k| k.is_region() || k == crate::model::NodeKind::School)
    {
        return Err(AppError::field("node", "error.export_list.oneroster_node"));
    }
    let mask = Mask::for_export(cx, node, unmasked).await?;
    let bundle = build(cx, node, mask).await?;
    let bytes = bundle.zip()?;
    super::audit(cx, List::OneRoster, node, bundle.users, mask).await?;
    Ok(File {
        name: format!("{}-OneRoster.zip", n.name),
        content_type: "application/zip",
        bytes,
    })
}

/// The bundle's files (no authorization: [`export`] decides who may have it).
pub async fn build(cx: &Ctx<'_>, node: NodeId, mask: Mask) -> AppResult<Bundle> {
    let db = cx.db();
    let now = stamp(cx.now);
    let orgs: Vec<NodeRow> = on_db!(db, p => sqlx::query_as(
        "SELECT n.id, n.kind, n.name, n.code, n.parent_id, n.updated_at
         FROM org_closure x JOIN org_nodes n ON n.id = x.descendant_id
         WHERE x.ancestor_id = $1 AND n.active = TRUE AND n.kind IN ('province', 'city', 'district', 'school')
         ORDER BY x.depth, n.code, n.name",
    ).bind(node).fetch_all(p).await)?;
    let org_ids: HashSet<NodeId> = orgs.iter().map(|o| o.0).collect();
    let classes: Vec<ClassRow> = on_db!(db, p => sqlx::query_as(
        "SELECT c.id, c.name, c.school_id, c.updated_at, g.name, g.stages, g.grade_code
         FROM org_closure x
         JOIN org_nodes c ON c.id = x.descendant_id AND c.kind = 'class' AND c.active = TRUE
         JOIN org_nodes g ON g.id = c.parent_id
         WHERE x.ancestor_id = $1
         ORDER BY g.stages, g.grade_code, c.name",
    ).bind(node).fetch_all(p).await)?;
    let classes: Vec<ClassRow> = classes
        .into_iter()
        .filter(|c| c.2.is_some_and(|s| org_ids.contains(&s)))
        .collect();
    let class_ids: HashSet<NodeId> = classes.iter().map(|c| c.0).collect();
    let roles: Vec<RoleRow> = on_db!(db, p => sqlx::query_as(
        "SELECT r.id, r.person_id, r.role, r.node_id, n.kind, n.school_id, r.subject, r.student_id
         FROM org_closure x
         JOIN role_assignments r ON r.node_id = x.descendant_id
         JOIN org_nodes n ON n.id = r.node_id AND n.active = TRUE
         JOIN persons p ON p.id = r.person_id AND p.active = TRUE
         WHERE x.ancestor_id = $1
         ORDER BY r.created_at, r.id",
    ).bind(node).fetch_all(p).await)?;
    let people: Vec<PersonRow> = on_db!(db, p => sqlx::query_as(
        "SELECT p.id, p.org_id, p.name, p.gender, p.birth_date, p.phone, p.email, p.staff_no,
                p.id_number, p.registry_no, p.updated_at, a.username, s.school_no
         FROM persons p
         LEFT JOIN accounts a ON a.person_id = p.id
         LEFT JOIN students s ON s.person_id = p.id
         WHERE p.active = TRUE AND p.id IN (
             SELECT r.person_id FROM org_closure x JOIN role_assignments r ON r.node_id = x.descendant_id
             WHERE x.ancestor_id = $1)
         ORDER BY p.name, p.id",
    ).bind(node).fetch_all(p).await)?;
    let user_ids: HashSet<PersonId> = people.iter().map(|p| p.0).collect();

    // Sessions: the school year that applies at the node, with its terms.
    let year_now = crate::import::classes::school_year(cx.today());
    let terms = crate::terms::for_node(cx, node).await?;
    let year = if terms.iter().any(|t| t.school_year == year_now) {
        year_now
    } else {
        terms
            .iter()
            .map(|t| t.school_year)
            .max()
            .unwrap_or(year_now)
    };
    let mut seen_terms = BTreeSet::new();
    let mut terms: Vec<_> = terms
        .into_iter()
        .filter(|t| t.school_year == year && seen_terms.insert(t.term))
        .collect();
    terms.sort_by_key(|t| t.term);
    let year_id = format!("{node}-sy{year}");
    let d = |y: i64, m: u32, day: u32| {
        NaiveDate::from_ymd_opt(i32::try_from(y).unwrap_or(2000), m, day).unwrap_or_default()
    };
    let start = terms
        .iter()
        .map(|t| t.starts_on)
        .min()
        .unwrap_or_else(|| d(year, 9, 1));
    let end = terms
        .iter()
        .map(|t| t.ends_on)
        .max()
        .unwrap_or_else(|| d(year + 1, 7, 31));
    let year_title = format!("{}-{}学年", year, year + 1);
    let mut sessions = vec![vec![
        year_id.clone(),
        "active".into(),
        now.clone(),
        year_title.clone(),
        "schoolYear".into(),
        start.to_string(),
        end.to_string(),
        String::new(),
        (year + 1).to_string(),
    ]];
    for t in &terms {
        sessions.push(vec![
            t.id.to_string(),
            "active".into(),
            now.clone(),
            format!(
                "{year_title}第{}学期",
                if t.term == 1 { "一" } else { "二" }
            ),
            "term".into(),
            t.starts_on.to_string(),
            t.ends_on.to_string(),
            year_id.clone(),
            (year + 1).to_string(),
        ]);
    }
    let term_ids = if terms.is_empty() {
        year_id.clone()
    } else {
        terms
            .iter()
            .map(|t| t.id.to_string())
            .collect::<Vec<_>>()
            .join(",")
    };

    // Orgs.
    let org_rows: Vec<Vec<String>> = orgs
        .iter()
        .map(|o| {
            let kind = match o.1.as_str() {
                "province" => "state",
                "city" => "local",
                other => other,
            };
            let parent =
                o.4.filter(|p| o.0 != node && org_ids.contains(p))
                    .map(|p| p.to_string())
                    .unwrap_or_default();
            vec![
                o.0.to_string(),
                "active".into(),
                stamp(o.5),
                o.2.clone(),
                kind.into(),
                o.3.clone().unwrap_or_default(),
                parent,
            ]
        })
        .collect();

    // Courses: a homeroom course per school, and one per subject taught there.
    let class_school: HashMap<NodeId, NodeId> = classes
        .iter()
        .filter_map(|c| c.2.map(|s| (c.0, s)))
        .collect();
    let mut subjects: BTreeMap<NodeId, BTreeSet<String>> = BTreeMap::new();
    for r in &roles {
        if r.2 == "teacher"
            && class_school.contains_key(&r.3)
            && let Some(s) = &r.6
        {
            subjects.entry(r.3).or_default().insert(s.clone());
        }
    }
    let mut school_subjects: BTreeMap<NodeId, BTreeSet<String>> = BTreeMap::new();
    for (class, subs) in &subjects {
        if let Some(school) = class_school.get(class) {
            school_subjects
                .entry(*school)
                .or_default()
                .extend(subs.iter().cloned());
        }
    }
    let schools: BTreeSet<NodeId> = class_school.values().copied().collect();
    let mut course_rows = Vec::new();
    for school in &schools {
        course_rows.push(vec![
            format!("{school}-homeroom"),
            "active".into(),
            now.clone(),
            year_id.clone(),
            "班级".into(),
            "homeroom".into(),
            String::new(),
            school.to_string(),
            String::new(),
            String::new(),
        ]);
        for s in school_subjects.get(school).into_iter().flatten() {
            course_rows.push(vec![
                format!("{school}-{s}"),
                "active".into(),
                now.clone(),
                year_id.clone(),
                subject_name(s),
                s.clone(),
                String::new(),
                school.to_string(),
                String::new(),
                String::new(),
            ]);
        }
    }

    // Classes: each class is a homeroom; each subject taught in it a scheduled class.
    let mut class_rows = Vec::new();
    let mut grade_of: HashMap<NodeId, String> = HashMap::new();
    for c in &classes {
        let Some(school) = c.2 else { continue };
        let grade = ceds_grade(c.5.as_deref(), c.6.as_deref());
        grade_of.insert(c.0, grade.clone());
        let title = format!("{}{}", c.4, c.1);
        class_rows.push(vec![
            c.0.to_string(),
            "active".into(),
            stamp(c.3),
            title.clone(),
            grade.clone(),
            format!("{school}-homeroom"),
            c.1.clone(),
            "homeroom".into(),
            String::new(),
            school.to_string(),
            term_ids.clone(),
            String::new(),
            String::new(),
            String::new(),
        ]);
        for s in subjects.get(&c.0).into_iter().flatten() {
            class_rows.push(vec![
                format!("{}-{s}", c.0),
                "active".into(),
                stamp(c.3),
                format!("{title} {}", subject_name(s)),
                grade.clone(),
                format!("{school}-{s}"),
                format!("{}-{s}", c.1),
                "scheduled".into(),
                String::new(),
                school.to_string(),
                term_ids.clone(),
                String::new(),
                String::new(),
                String::new(),
            ]);
        }
    }

    // Enrollments: (class, user, role) → primary.
    let mut enrolled: BTreeMap<(String, PersonId, &'static str), (NodeId, bool)> = BTreeMap::new();
    let mut enrol =
        |class: String, school: NodeId, user: PersonId, role: &'static str, primary: bool| {
            let e = enrolled
                .entry((class, user, role))
                .or_insert((school, false));
            e.1 |= primary;
        };
    let mut student_grade: HashMap<PersonId, String> = HashMap::new();
    for r in roles.iter().filter(|r| class_ids.contains(&r.3)) {
        let Some(&school) = class_school.get(&r.3) else {
            continue;
        };
        if !user_ids.contains(&r.1) {
            continue;
        }
        match r.2.as_str() {
            "student" => {
                enrol(r.3.to_string(), school, r.1, "student", false);
                for s in subjects.get(&r.3).into_iter().flatten() {
                    enrol(format!("{}-{s}", r.3), school, r.1, "student", false);
                }
                if let Some(g) = grade_of.get(&r.3) {
                    student_grade.insert(r.1, g.clone());
                }
            }
            "head_teacher" => enrol(r.3.to_string(), school, r.1, "teacher", true),
            "teacher" => match &r.6 {
                Some(s) => enrol(format!("{}-{s}", r.3), school, r.1, "teacher", true),
                None => enrol(r.3.to_string(), school, r.1, "teacher", false),
            },
            _ => {}
        }
    }
    let enrollment_rows: Vec<Vec<String>> = enrolled
        .iter()
        .map(|((class, user, role), (school, primary))| {
            vec![
                format!("{class}-{user}-{role}"),
                "active".into(),
                now.clone(),
                class.clone(),
                school.to_string(),
                user.to_string(),
                (*role).to_owned(),
                primary.to_string(),
                String::new(),
                String::new(),
            ]
        })
        .collect();

    // Roles: (user, org, role), the first of each user primary.
    let org_of = |r: &RoleRow| -> Option<NodeId> {
        match r.4.as_str() {
            "class" | "grade" => r.5,
            _ => Some(r.3),
        }
        .filter(|o| org_ids.contains(o))
    };
    let priority = |role: &str| match role {
        "student" => 0,
        "teacher" | "head_teacher" => 1,
        "admin" => 2,
        _ => 3,
    };
    let mut by_user: BTreeMap<PersonId, Vec<(u8, NodeId, &'static str)>> = BTreeMap::new();
    let mut agents: HashMap<PersonId, BTreeSet<PersonId>> = HashMap::new();
    let kind_of: HashMap<NodeId, &str> = orgs.iter().map(|o| (o.0, o.1.as_str())).collect();
    for r in &roles {
        if !user_ids.contains(&r.1) {
            continue;
        }
        let Some(org) = org_of(r) else { continue };
        let role: &'static str = match r.2.as_str() {
            "student" => "student",
            "teacher" | "head_teacher" => "teacher",
            "guardian" => "guardian",
            "admin" if kind_of.get(&org) == Some(&"school") => "siteAdministrator",
            "admin" => "districtAdministrator",
            _ => continue,
        };
        let list = by_user.entry(r.1).or_default();
        if !list.iter().any(|(_, o, x)| *o == org && *x == role) {
            list.push((priority(&r.2), org, role));
        }
        if r.2 == "guardian"
            && let Some(child) = r.7.filter(|c| user_ids.contains(c))
        {
            agents.entry(r.1).or_default().insert(child);
            agents.entry(child).or_default().insert(r.1);
        }
    }
    let mut role_rows = Vec::new();
    let mut primary_org: HashMap<PersonId, NodeId> = HashMap::new();
    for (user, list) in &mut by_user {
        list.sort_by_key(|(p, _, _)| *p);
        for (i, (_, org, role)) in list.iter().enumerate() {
            if i == 0 {
                primary_org.insert(*user, *org);
            }
            role_rows.push(vec![
                format!("{user}-{org}-{role}"),
                "active".into(),
                now.clone(),
                user.to_string(),
                if i == 0 { "primary" } else { "secondary" }.into(),
                (*role).to_owned(),
                String::new(),
                String::new(),
                org.to_string(),
                String::new(),
            ]);
        }
    }

    // Users and demographics: only people with a role here.
    let mut user_rows = Vec::new();
    let mut demo_rows = Vec::new();
    for p in people.iter().filter(|p| by_user.contains_key(&p.0)) {
        let id = p.0.to_string();
        // A login name carrying an ID number, registry number or phone must not go out.
        let username = p
            .11
            .clone()
            .filter(|u| {
                kernel::privacy::mask_login_name(u, p.9.as_deref(), p.8.as_deref(), p.5.as_deref())
                    .is_none()
            })
            .unwrap_or_else(|| id.clone());
        let (family, given) = split_name(&p.2);
        let phone = if mask.is_full() {
            p.5.clone().unwrap_or_default()
        } else {
            String::new()
        };
        let email = if mask.is_full() {
            p.6.clone().unwrap_or_default()
        } else {
            String::new()
        };
        let org = if org_ids.contains(&p.1) {
            Some(p.1)
        } else {
            primary_org.get(&p.0).copied()
        };
        user_rows.push(vec![
            id.clone(),
            "active".into(),
            stamp(p.10),
            p.11.is_some().to_string(),
            username,
            p.7.as_deref()
                .map(|s| format!("{{staffNo:{s}}}"))
                .unwrap_or_default(),
            given,
            family,
            String::new(),
            p.7.clone().or_else(|| p.12.clone()).unwrap_or_default(),
            email,
            phone.clone(),
            phone,
            agents
                .get(&p.0)
                .map(|a| {
                    a.iter()
                        .map(|x| x.to_string())
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .unwrap_or_default(),
            student_grade.get(&p.0).cloned().unwrap_or_default(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            org.map(|o| o.to_string()).unwrap_or_default(),
            String::new(),
        ]);
        let sex = match p.3.as_str() {
            "1" => "male",
            "2" => "female",
            _ => "unspecified",
        };
        let mut demo = vec![
            id,
            "active".into(),
            stamp(p.10),
            p.4.map(|d| d.to_string()).unwrap_or_default(),
            sex.into(),
        ];
        demo.extend(std::iter::repeat_n(String::new(), DEMOGRAPHICS.len() - 5));
        demo_rows.push(demo);
    }

    // (The property names are joined here so the catalogue's key scan does not read
    // the OneRoster version property as a message key.)
    let mut manifest: Vec<Vec<String>> = [("manifest", "1.0"), ("oneroster", "1.2")]
        .iter()
        .map(|(what, v)| vec![format!("{what}.version"), (*v).to_owned()])
        .collect();
    for (file, present) in MANIFEST_FILES {
        manifest.push(vec![
            format!("file.{file}"),
            if present { "bulk" } else { "absent" }.into(),
        ]);
    }
    manifest.push(vec!["source.systemName".into(), "Jiaoyun".into()]);
    manifest.push(vec!["source.systemCode".into(), node.to_string()]);
    let users = user_rows.len();
    Ok(Bundle {
        files: vec![
            ("manifest.csv", csv_text(&MANIFEST, &manifest)?),
            ("orgs.csv", csv_text(&ORGS, &org_rows)?),
            (
                "academicSessions.csv",
                csv_text(&ACADEMIC_SESSIONS, &sessions)?,
            ),
            ("courses.csv", csv_text(&COURSES, &course_rows)?),
            ("classes.csv", csv_text(&CLASSES, &class_rows)?),
            ("users.csv", csv_text(&USERS, &user_rows)?),
            ("roles.csv", csv_text(&ROLES, &role_rows)?),
            ("enrollments.csv", csv_text(&ENROLLMENTS, &enrollment_rows)?),
            ("demographics.csv", csv_text(&DEMOGRAPHICS, &demo_rows)?),
        ],
        users,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_grades_and_headers() {
        assert_eq!(split_name("王小明"), ("王".into(), "小明".into()));
        assert_eq!(split_name("欧阳修文"), ("欧阳".into(), "修文".into()));
        assert_eq!(split_name("艾力·买买提"), ("买买提".into(), "艾力".into()));
        assert_eq!(ceds_grade(Some("primary"), Some("1")), "01");
        assert_eq!(ceds_grade(Some("junior"), Some("3")), "09");
        assert_eq!(ceds_grade(Some("senior"), Some("1")), "10");
        assert_eq!(ceds_grade(Some("preschool"), Some("2")), "PK");
        assert_eq!(USERS.len(), 23);
        assert!(MANIFEST_FILES.iter().filter(|f| f.1).count() == 8);
    }
}

//! The records that cross between instances and leave through the change feed: each entity of
//! the change log read as it is now, with everything an upper level needs to hold it (a
//! student comes with their class, class history, registry changes and family).

use crate::changes::Entity;
use chrono::NaiveDate;
use kernel::{AppResult, Db, NodeId, PersonId, on_db};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};

/// A node of the tree as the lower instance has it.
#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct NodeRec {
    pub id: NodeId,
    pub kind: String,
    pub parent_id: Option<NodeId>,
    pub name: String,
    pub code: Option<String>,
    pub school_type: Option<String>,
    pub stages: Option<String>,
    pub grade_code: Option<String>,
    pub entry_year: Option<i64>,
    pub school_id: Option<NodeId>,
    pub active: bool,
}

/// A person's core record (JY/T 1002 person elements) and whether they have an account that
/// has been issued and used; the account itself stays with its instance.
#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct PersonRec {
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
    pub former_name: Option<String>,
    pub pinyin: Option<String>,
    pub birth_date: Option<NaiveDate>,
    pub birthplace: Option<String>,
    pub ethnicity: Option<String>,
    pub nationality: Option<String>,
    pub id_type: Option<String>,
    pub gatqw: Option<String>,
    pub political_status: Option<String>,
    pub health: Option<String>,
    pub registered: bool,
    pub activated: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct StudentFields {
    pub school_id: NodeId,
    pub status: String,
    pub school_no: Option<String>,
    pub entry_month: Option<NaiveDate>,
    pub category: Option<String>,
    pub study_mode: Option<String>,
    pub address: Option<String>,
    pub hukou_division: Option<String>,
    pub hukou_nature: Option<String>,
    pub enrollment_mode: Option<String>,
    pub left_behind: Option<String>,
    pub migrant_child: Option<bool>,
    pub only_child: Option<bool>,
    pub disability: Option<String>,
    pub inclusion: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FamilyRec {
    pub person: PersonRec,
    pub relation: String,
    pub is_guardian: bool,
    pub position: i64,
    pub work_unit: Option<String>,
    pub education: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct HistoryRec {
    pub id: uuid::Uuid,
    pub class_id: NodeId,
    pub school_id: NodeId,
    pub school_year: i64,
    pub grade_name: String,
    pub class_name: String,
    pub started_on: NaiveDate,
    pub ended_on: Option<NaiveDate>,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct RegistryChangeRec {
    pub id: uuid::Uuid,
    pub school_id: NodeId,
    pub kind: String,
    pub reason: Option<String>,
    pub effective_on: NaiveDate,
    pub other_school_id: Option<NodeId>,
    pub note: Option<String>,
}

/// A student: the person, the registry record, the class now, and what the instance keeps of
/// their past (class history, registry changes) and family.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StudentRec {
    pub person: PersonRec,
    /// `None` for a person who has no registry record (yet).
    pub record: Option<StudentFields>,
    pub class_id: Option<NodeId>,
    pub family: Vec<FamilyRec>,
    pub history: Vec<HistoryRec>,
    pub changes: Vec<RegistryChangeRec>,
}

#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct StaffFields {
    pub staffing_category: Option<String>,
    pub title: Option<String>,
    pub education: Option<String>,
    pub positions: Option<String>,
    pub qualification_cert: Option<String>,
    pub employment_start: Option<NaiveDate>,
    pub status: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct TeachingRec {
    pub node_id: NodeId,
    /// teacher | head_teacher
    pub role: String,
    pub subject: Option<String>,
    pub weekly_periods: Option<i64>,
}

/// A staff member: the person, the employment record, and their teaching roles.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StaffRec {
    pub person: PersonRec,
    pub record: Option<StaffFields>,
    pub teaching: Vec<TeachingRec>,
}

/// What a run of changes amounts to: every entity as it is now, and every node they refer to
/// (ancestors first), so the receiver never meets a class it has not seen.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Snapshot {
    pub nodes: Vec<NodeRec>,
    pub people: Vec<PersonRec>,
    pub students: Vec<StudentRec>,
    pub staff: Vec<StaffRec>,
}

impl Snapshot {
    pub fn len(&self) -> usize {
        self.people.len() + self.students.len() + self.staff.len() + self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

const PERSON_COLS: &str = "p.id, p.org_id, p.name, p.gender, p.id_number, p.phone, p.email, p.staff_no, p.registry_no, p.active,
    p.former_name, p.pinyin, p.birth_date, p.birthplace, p.ethnicity, p.nationality, p.id_type, p.gatqw,
    p.political_status, p.health,
    (a.person_id IS NOT NULL AND a.password_hash <> $1) AS registered,
    (a.last_login_at IS NOT NULL) AS activated";

/// `$2, $3, …` for `n` ids after the first parameter.
fn placeholders(n: usize, from: usize) -> String {
    (0..n)
        .map(|i| format!("${}", i + from))
        .collect::<Vec<_>>()
        .join(", ")
}

async fn people(db: &Db, ids: &[PersonId]) -> AppResult<HashMap<PersonId, PersonRec>> {
    let mut out = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let sql = format!(
            "SELECT {PERSON_COLS} FROM persons p LEFT JOIN accounts a ON a.person_id = p.id WHERE p.id IN ({})",
            placeholders(chunk.len(), 2)
        );
        let rows: Vec<PersonRec> = on_db!(db, p => {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(identity::password::UNISSUED);
            for id in chunk { q = q.bind(*id); }
            q.fetch_all(p).await
        })?;
        out.extend(rows.into_iter().map(|r| (r.id, r)));
    }
    Ok(out)
}

/// Rows of `sql` (which selects `person_id` first, then `T`'s columns) for `ids`, grouped.
async fn grouped<T>(db: &Db, sql: &str, ids: &[PersonId]) -> AppResult<HashMap<PersonId, Vec<T>>>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
        + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
        + Send
        + Unpin,
{
    #[derive(sqlx::FromRow)]
    struct Keyed<T> {
        person_id: PersonId,
        #[sqlx(flatten)]
        row: T,
    }
    let mut out: HashMap<PersonId, Vec<T>> = HashMap::new();
    for chunk in ids.chunks(500) {
        let sql = sql.replace("$IDS", &placeholders(chunk.len(), 1));
        let rows: Vec<Keyed<T>> = on_db!(db, p => {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()));
            for id in chunk { q = q.bind(*id); }
            q.fetch_all(p).await
        })?;
        for r in rows {
            out.entry(r.person_id).or_default().push(r.row);
        }
    }
    Ok(out)
}

/// The current state of the given entities that still belong to `scope`'s subtree: a person
/// who has since left it (a student who transferred out, say) is left out, as are persons
/// that no longer exist. A student's family comes with them wherever its members belong.
pub async fn read(
    db: &Db,
    scope: NodeId,
    entities: &[(Entity, uuid::Uuid)],
) -> AppResult<Snapshot> {
    let of = |e: Entity| -> Vec<PersonId> {
        let set: BTreeSet<uuid::Uuid> = entities
            .iter()
            .filter(|(k, _)| *k == e)
            .map(|(_, id)| *id)
            .collect();
        set.into_iter().map(PersonId).collect()
    };
    let students = of(Entity::Student);
    let staff = of(Entity::Staff);
    let mut plain: Vec<PersonId> = of(Entity::Person);
    plain.extend(of(Entity::Family));
    let node_ids: BTreeSet<NodeId> = entities
        .iter()
        .filter(|(k, _)| *k == Entity::Node)
        .map(|(_, id)| NodeId(*id))
        .collect();

    let mut snap = Snapshot::default();

    if !students.is_empty() {
        let records: HashMap<PersonId, Vec<StudentFields>> = grouped(db,
            "SELECT person_id, school_id, status, school_no, entry_month, category, study_mode, address, hukou_division,
                    hukou_nature, enrollment_mode, left_behind, migrant_child, only_child, disability, inclusion
             FROM students WHERE person_id IN ($IDS)", &students).await?;
        let classes: HashMap<PersonId, Vec<ClassOf>> = grouped(db,
            "SELECT person_id, node_id FROM role_assignments WHERE role = 'student' AND person_id IN ($IDS)", &students).await?;
        let history: HashMap<PersonId, Vec<HistoryRec>> = grouped(db,
            "SELECT person_id, id, class_id, school_id, school_year, grade_name, class_name, started_on, ended_on, reason
             FROM class_history WHERE person_id IN ($IDS) ORDER BY started_on, id", &students).await?;
        let changes: HashMap<PersonId, Vec<RegistryChangeRec>> = grouped(
            db,
            "SELECT person_id, id, school_id, kind, reason, effective_on, other_school_id, note
             FROM registry_changes WHERE person_id IN ($IDS) ORDER BY effective_on, id",
            &students,
        )
        .await?;
        let family: HashMap<PersonId, Vec<FamilyRow>> = grouped(db,
            "SELECT student_id AS person_id, person_id AS member_id, relation, is_guardian, position, work_unit, education
             FROM family_members WHERE student_id IN ($IDS) ORDER BY position", &students).await?;
        let mut wanted: Vec<PersonId> = students.clone();
        wanted.extend(family.values().flatten().map(|f| f.member_id));
        let persons = people(db, &wanted).await?;
        for id in &students {
            let Some(person) = persons.get(id).cloned() else {
                continue;
            };
            let record = records.get(id).and_then(|r| r.first().cloned());
            let class_id = classes.get(id).and_then(|c| c.first()).map(|c| c.node_id);
            let history = history.get(id).cloned().unwrap_or_default();
            let family = family
                .get(id)
                .into_iter()
                .flatten()
                .filter_map(|f| {
                    Some(FamilyRec {
                        person: persons.get(&f.member_id)?.clone(),
                        relation: f.relation.clone(),
                        is_guardian: f.is_guardian,
                        position: f.position,
                        work_unit: f.work_unit.clone(),
                        education: f.education.clone(),
                    })
                })
                .collect::<Vec<_>>();
            snap.students.push(StudentRec {
                person,
                record,
                class_id,
                family,
                history,
                changes: changes.get(id).cloned().unwrap_or_default(),
            });
        }
    }
    if !staff.is_empty() {
        let records: HashMap<PersonId, Vec<StaffFields>> = grouped(db,
            "SELECT person_id, staffing_category, title, education, positions, qualification_cert, employment_start, status
             FROM staff WHERE person_id IN ($IDS)", &staff).await?;
        let teaching: HashMap<PersonId, Vec<TeachingRec>> = grouped(db,
            "SELECT person_id, node_id, role, subject, weekly_periods FROM role_assignments
             WHERE role IN ('teacher', 'head_teacher') AND person_id IN ($IDS) ORDER BY node_id, role", &staff).await?;
        let persons = people(db, &staff).await?;
        for id in &staff {
            let Some(person) = persons.get(id).cloned() else {
                continue;
            };
            let teaching = teaching.get(id).cloned().unwrap_or_default();
            snap.staff.push(StaffRec {
                record: records.get(id).and_then(|r| r.first().cloned()),
                person,
                teaching,
            });
        }
    }
    // A family member who comes with their student needs no record of their own.
    let with_student: BTreeSet<PersonId> = snap
        .students
        .iter()
        .flat_map(|s| s.family.iter().map(|f| f.person.id))
        .collect();
    plain.retain(|p| !with_student.contains(p));
    if !plain.is_empty() {
        let persons = people(db, &plain).await?;
        for id in &plain {
            if let Some(p) = persons.get(id) {
                snap.people.push(p.clone());
            }
        }
    }
    let owners: BTreeSet<NodeId> = snap
        .students
        .iter()
        .map(|s| s.record.as_ref().map_or(s.person.org_id, |r| r.school_id))
        .chain(snap.staff.iter().map(|s| s.person.org_id))
        .chain(snap.people.iter().map(|p| p.org_id))
        .chain(node_ids.iter().copied())
        .collect();
    let inside = within(db, scope, &owners).await?;
    snap.students
        .retain(|s| inside.contains(&s.record.as_ref().map_or(s.person.org_id, |r| r.school_id)));
    snap.staff.retain(|s| inside.contains(&s.person.org_id));
    snap.people.retain(|p| inside.contains(&p.org_id));
    let mut refs: BTreeSet<NodeId> = node_ids
        .into_iter()
        .filter(|n| inside.contains(n))
        .collect();
    for s in &snap.students {
        refs.insert(s.person.org_id);
        refs.extend(s.record.as_ref().map(|r| r.school_id));
        refs.extend(s.class_id);
        refs.extend(s.history.iter().map(|h| h.class_id));
        refs.extend(s.family.iter().map(|f| f.person.org_id));
    }
    for s in &snap.staff {
        refs.insert(s.person.org_id);
        refs.extend(s.teaching.iter().map(|t| t.node_id));
    }
    refs.extend(snap.people.iter().map(|p| p.org_id));
    snap.nodes = with_ancestors(db, &refs).await?;
    Ok(snap)
}

/// Which of `nodes` lie at or below `scope`.
async fn within(db: &Db, scope: NodeId, nodes: &BTreeSet<NodeId>) -> AppResult<BTreeSet<NodeId>> {
    let nodes: Vec<NodeId> = nodes.iter().copied().collect();
    let mut out = BTreeSet::new();
    for chunk in nodes.chunks(500) {
        let sql = format!(
            "SELECT descendant_id FROM org_closure WHERE ancestor_id = $1 AND descendant_id IN ({})",
            placeholders(chunk.len(), 2)
        );
        let rows: Vec<(NodeId,)> = on_db!(db, p => {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(scope);
            for id in chunk { q = q.bind(*id); }
            q.fetch_all(p).await
        })?;
        out.extend(rows.into_iter().map(|(n,)| n));
    }
    Ok(out)
}

#[derive(sqlx::FromRow)]
struct ClassOf {
    node_id: NodeId,
}

#[derive(sqlx::FromRow)]
struct FamilyRow {
    member_id: PersonId,
    relation: String,
    is_guardian: bool,
    position: i64,
    work_unit: Option<String>,
    education: Option<String>,
}

/// The nodes and all their ancestors, each once, ancestors before descendants.
async fn with_ancestors(db: &Db, ids: &BTreeSet<NodeId>) -> AppResult<Vec<NodeRec>> {
    let ids: Vec<NodeId> = ids.iter().copied().collect();
    let mut out: Vec<(i64, NodeRec)> = Vec::new();
    let mut seen = BTreeSet::new();
    for chunk in ids.chunks(500) {
        let sql = format!(
            "SELECT MAX(d.depth) AS depth, n.id, n.kind, n.parent_id, n.name, n.code, n.school_type, n.stages,
                    n.grade_code, n.entry_year, n.school_id, n.active
             FROM org_closure c
             JOIN org_nodes n ON n.id = c.ancestor_id
             JOIN org_closure d ON d.descendant_id = n.id
             WHERE c.descendant_id IN ({})
             GROUP BY n.id, n.kind, n.parent_id, n.name, n.code, n.school_type, n.stages, n.grade_code,
                      n.entry_year, n.school_id, n.active",
            placeholders(chunk.len(), 1)
        );
        #[derive(sqlx::FromRow)]
        struct Row {
            depth: i64,
            #[sqlx(flatten)]
            node: NodeRec,
        }
        let rows: Vec<Row> = on_db!(db, p => {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()));
            for id in chunk { q = q.bind(*id); }
            q.fetch_all(p).await
        })?;
        for r in rows {
            if seen.insert(r.node.id) {
                out.push((r.depth, r.node));
            }
        }
    }
    out.sort_by_key(|(depth, n)| (*depth, n.id));
    Ok(out.into_iter().map(|(_, n)| n).collect())
}

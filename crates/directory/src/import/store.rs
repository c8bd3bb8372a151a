//! The import's database side: looking a batch's students up, checking them against what is
//! stored, and writing them inside the import's one transaction.

use super::classes::{ClassName, SchoolClasses};
use super::student_rows::StudentRow;
use super::{Counts, Target, source_hash};
use crate::codes::Table;
use crate::model::Stage;
use chrono::NaiveDate;
use kernel::{AppError, AppResult, AuditEvent, Db, NodeId, PersonId, RoleId, Tx, on_db, on_tx};
use sheets::check::Problem;
use std::collections::{HashMap, HashSet};

/// Where lookups run: the pool when only checking, the import's transaction when writing (so
/// they see what earlier batches wrote).
pub(super) enum Conn<'a> {
    Pool(&'a Db),
    Tx(&'a mut Tx),
}

macro_rules! on_conn {
    ($conn:expr, $c:ident => $body:expr) => {
        match $conn {
            Conn::Pool(db) => on_db!(db, $c => $body),
            Conn::Tx(tx) => on_tx!(tx, $c => $body),
        }
    };
}

/// On PostgreSQL, plans the lookups for each batch's own values (`custom`), or lets the
/// inserts reuse their plans. A prepared statement's generic plan cannot use an index for
/// "phone IN ($2, …, $501)" and reads every person of the school instead (2 s a batch at
/// 60,000 persons), while planning a 3,000-parameter insert each time costs more than it saves.
pub(super) async fn plan_each_batch(tx: &mut Tx, custom: bool) -> AppResult<()> {
    if let Tx::Postgres(t) = tx {
        let sql = if custom {
            "SET LOCAL plan_cache_mode = force_custom_plan"
        } else {
            "SET LOCAL plan_cache_mode = auto"
        };
        sqlx::query(sql).execute(&mut **t).await?;
    }
    Ok(())
}

/// Where the batch's registry and ID numbers stand (the columns, for the problems).
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Columns {
    pub registry_no: Option<usize>,
    pub id_number: Option<usize>,
}

#[derive(Debug, sqlx::FromRow)]
pub(super) struct Stored {
    id: PersonId,
    registry_no: Option<String>,
    id_number: Option<String>,
    org_id: NodeId,
    org_name: String,
    source_hash: Option<String>,
}

/// The stored persons a batch's rows name, by registry and ID number.
#[derive(Debug, Default)]
pub(super) struct Found {
    rows: Vec<Stored>,
    by_registry: HashMap<String, usize>,
    by_id_number: HashMap<String, usize>,
}

impl Found {
    fn registry(&self, no: &str) -> Option<&Stored> {
        self.by_registry.get(no).map(|i| &self.rows[*i])
    }
}

pub(super) async fn find(conn: Conn<'_>, good: &[(StudentRow, ClassName)]) -> AppResult<Found> {
    if good.is_empty() {
        return Ok(Found::default());
    }
    let ids: Vec<&str> = good
        .iter()
        .filter_map(|(r, _)| r.id_number.as_deref())
        .collect();
    let rows: Vec<Stored> = on_conn!(conn, c => {
        let mut qb = sqlx::QueryBuilder::new(
            "SELECT p.id, p.registry_no, p.id_number, p.org_id, o.name AS org_name, s.source_hash
             FROM persons p JOIN org_nodes o ON o.id = p.org_id
             LEFT JOIN students s ON s.person_id = p.id WHERE p.registry_no IN (",
        );
        let mut list = qb.separated(", ");
        for (r, _) in good {
            list.push_bind(r.registry_no.as_str());
        }
        qb.push(")");
        if !ids.is_empty() {
            qb.push(" OR p.id_number IN (");
            let mut list = qb.separated(", ");
            for id in &ids {
                list.push_bind(*id);
            }
            qb.push(")");
        }
        qb.build_query_as().fetch_all(c).await
    })?;
    let mut found = Found::default();
    for (i, s) in rows.iter().enumerate() {
        if let Some(r) = &s.registry_no {
            found.by_registry.insert(r.clone(), i);
        }
        if let Some(n) = &s.id_number {
            found.by_id_number.insert(n.clone(), i);
        }
    }
    found.rows = rows;
    Ok(found)
}

/// Splits a batch into the rows that may be written and the problems of the others: a registry
/// number already at another school, an ID number already someone else's.
pub(super) fn check_against(
    target: &Target,
    cols: Columns,
    good: Vec<(StudentRow, ClassName)>,
    found: &Found,
) -> (Vec<(StudentRow, ClassName)>, Vec<Problem>) {
    let mut ok = Vec::with_capacity(good.len());
    let mut problems = Vec::new();
    for (row, class) in good {
        let mut bad = false;
        let mut problem = |column, value: &str, key, place: &str| {
            bad = true;
            problems.push(Problem {
                row: row.row,
                column,
                value: value.to_owned(),
                key,
                other_row: None,
                elsewhere: Some(place.to_owned()),
                accepted: None,
            });
        };
        if let Some(s) = found.registry(&row.registry_no)
            && s.org_id != target.school.id
        {
            problem(
                cols.registry_no,
                &row.registry_no,
                "error.import.registry_no_elsewhere",
                &s.org_name,
            );
        }
        if let Some(id) = &row.id_number
            && let Some(s) = found.by_id_number.get(id).map(|i| &found.rows[*i])
            && s.registry_no.as_deref() != Some(row.registry_no.as_str())
        {
            problem(
                cols.id_number,
                id,
                "error.import.id_number_taken",
                &s.org_name,
            );
        }
        if !bad {
            ok.push((row, class));
        }
    }
    (ok, problems)
}

/// The student category (JY/T 1001 XSLB) of an ordinary student of a stage.
fn category(stage: Stage) -> Option<&'static str> {
    match stage {
        Stage::Primary => Some("21100"),
        Stage::Junior => Some("31100"),
        Stage::Senior => Some("32100"),
        _ => None,
    }
}

use identity::password::UNISSUED;

/// A role to assign: person, role, node, child and relation (guardians).
type NewRole = (
    PersonId,
    &'static str,
    NodeId,
    Option<PersonId>,
    Option<String>,
);

/// Rows waiting for one multi-row insert each.
#[derive(Default)]
struct Pending {
    persons: Vec<NewPerson>,
    students: Vec<(PersonId, StudentRow, Option<&'static str>, String)>,
    accounts: Vec<(PersonId, String)>,
    roles: Vec<NewRole>,
    history: Vec<(PersonId, NodeId, ClassName)>,
    family: Vec<(PersonId, PersonId, String, bool, i64, Option<String>)>,
}

struct NewPerson {
    id: PersonId,
    name: String,
    gender: String,
    registry_no: Option<String>,
    id_number: Option<String>,
    phone: Option<String>,
    birth_date: Option<NaiveDate>,
    id_type: Option<String>,
    ethnicity: Option<String>,
    nationality: Option<String>,
    gatqw: Option<String>,
    political_status: Option<String>,
    health: Option<String>,
}

impl NewPerson {
    fn student(id: PersonId, r: &StudentRow) -> Self {
        Self {
            id,
            name: r.name.clone(),
            gender: r.gender.clone(),
            registry_no: Some(r.registry_no.clone()),
            id_number: r.id_number.clone(),
            phone: r.phone.clone(),
            birth_date: r.birth_date,
            id_type: r.id_type.clone(),
            ethnicity: r.ethnicity.clone(),
            nationality: r.nationality.clone(),
            gatqw: r.code(Table::Gatqw).map(str::to_owned),
            political_status: r.code(Table::Political).map(str::to_owned),
            health: r.code(Table::Health).map(str::to_owned),
        }
    }
}

/// The import's transaction and what it has done so far.
pub(super) struct Writer {
    tx: Tx,
    target: Target,
    classes: SchoolClasses,
    today: NaiveDate,
    school_year: i64,
    pub counts: Counts,
}

impl Writer {
    pub async fn start(db: &Db, target: &Target) -> AppResult<Self> {
        let mut tx = db.begin().await?;
        let classes = SchoolClasses::load(&mut tx, target.school.id, &target.stages).await?;
        let today = target.today;
        Ok(Self {
            tx,
            classes,
            target: target.clone(),
            today,
            school_year: super::classes::school_year(today),
            counts: Counts::default(),
        })
    }

    pub fn tx(&mut self) -> &mut Tx {
        &mut self.tx
    }

    /// The class node a row names, created (with its grade) if the school has none yet.
    async fn class_id(&mut self, c: ClassName) -> AppResult<NodeId> {
        let (id, created) = self
            .classes
            .class_id(
                &mut self.tx,
                &self.target.school,
                c,
                self.school_year,
                self.target.now,
            )
            .await?;
        if created {
            self.counts.classes_created += 1;
        }
        Ok(id)
    }

    /// Writes a batch of checked rows.
    pub async fn write(
        &mut self,
        good: Vec<(StudentRow, ClassName)>,
        found: &Found,
    ) -> AppResult<()> {
        // Usernames and guardians the batch may reuse, looked up at once.
        let mut wanted: Vec<String> = Vec::new();
        let mut phones: Vec<String> = Vec::new();
        for (r, _) in &good {
            wanted.push(r.registry_no.to_lowercase());
            for g in &r.guardians {
                if let Some(ph) = &g.phone {
                    wanted.push(ph.clone());
                    phones.push(ph.clone());
                }
            }
        }
        let taken = super::staff::usernames_taken(&mut self.tx, &wanted).await?;
        let guardians = self.guardians_by_phone(&phones).await?;
        plan_each_batch(&mut self.tx, false).await?;
        self.write_with(good, found, taken, guardians).await
    }

    /// Writes a batch as if nothing were stored: every row a new student with new guardians,
    /// by the same multi-row INSERTs and without a lookup (the import benchmark's floor).
    pub async fn write_new(&mut self, good: Vec<(StudentRow, ClassName)>) -> AppResult<()> {
        let found = Found::default();
        self.write_with(good, &found, HashSet::new(), HashMap::new())
            .await
    }

    async fn write_with(
        &mut self,
        good: Vec<(StudentRow, ClassName)>,
        found: &Found,
        mut taken: HashSet<String>,
        mut guardians: HashMap<(String, String), PersonId>,
    ) -> AppResult<()> {
        let mut p = Pending::default();
        for (row, class) in good {
            let mut before = HashMap::new();
            let class_id = self.class_id(class).await?;
            let hash = source_hash(&row, &class);
            let person = match found.registry(&row.registry_no) {
                Some(s) if s.source_hash.as_deref() == Some(hash.as_str()) => {
                    self.counts.unchanged += 1;
                    continue;
                }
                Some(s) => {
                    before = self.update(s.id, &row, class_id, class).await?;
                    self.counts.updated += 1;
                    s.id
                }
                None => {
                    let id = PersonId::new();
                    p.persons.push(NewPerson::student(id, &row));
                    let mut username = row.registry_no.to_lowercase();
                    if !taken.insert(username.clone()) {
                        username.push_str("-s");
                        taken.insert(username.clone());
                    }
                    p.accounts.push((id, username));
                    p.roles.push((id, "student", class_id, None, None));
                    p.history.push((id, class_id, class));
                    self.counts.created += 1;
                    id
                }
            };
            p.students
                .push((person, row.clone(), category(class.stage), hash));
            self.family(person, &row, &before, &mut p, &mut taken, &mut guardians);
        }
        self.flush(p).await
    }

    /// The school's persons with these phones, by (phone, name): a guardian of two siblings is
    /// one person.
    async fn guardians_by_phone(
        &mut self,
        phones: &[String],
    ) -> AppResult<HashMap<(String, String), PersonId>> {
        let mut out = HashMap::new();
        for chunk in phones.chunks(900) {
            // Students and staff are filtered out here, not in SQL: SQLite would take the
            // registry-number index for "registry_no IS NULL" and read every guardian.
            let rows: Vec<(PersonId, String, String, bool)> = on_tx!(&mut self.tx, c => {
                let mut qb = sqlx::QueryBuilder::new(
                    "SELECT id, name, phone, (registry_no IS NULL AND staff_no IS NULL) FROM persons WHERE org_id = ",
                );
                qb.push_bind(self.target.school.id);
                qb.push(" AND phone IN (");
                let mut list = qb.separated(", ");
                for n in chunk {
                    list.push_bind(n.as_str());
                }
                qb.push(")");
                qb.build_query_as().fetch_all(c).await
            })?;
            out.extend(
                rows.into_iter()
                    .filter(|r| r.3)
                    .map(|(id, name, phone, _)| ((phone, name), id)),
            );
        }
        Ok(out)
    }

    /// A student's family members as the row gives them: found (by phone and name at this
    /// school, or by name among the student's family `before`) or created.
    fn family(
        &mut self,
        student: PersonId,
        row: &StudentRow,
        before: &HashMap<String, PersonId>,
        p: &mut Pending,
        taken: &mut HashSet<String>,
        guardians: &mut HashMap<(String, String), PersonId>,
    ) {
        for (i, g) in row.guardians.iter().enumerate() {
            let position = i as i64 + 1;
            let key = g.phone.clone().map(|ph| (ph, g.name.clone()));
            let known = key
                .as_ref()
                .and_then(|k| guardians.get(k))
                .or_else(|| before.get(&g.name))
                .copied();
            let person = match known {
                Some(id) => id,
                None => {
                    let id = PersonId::new();
                    p.persons.push(NewPerson {
                        id,
                        name: g.name.clone(),
                        gender: "0".into(),
                        registry_no: None,
                        id_number: g.id_number.clone(),
                        phone: g.phone.clone(),
                        birth_date: None,
                        id_type: None,
                        ethnicity: None,
                        nationality: None,
                        gatqw: None,
                        political_status: None,
                        health: None,
                    });
                    if let Some(k) = key {
                        guardians.insert(k, id);
                    }
                    if g.is_guardian {
                        let username = match &g.phone {
                            Some(ph) if taken.insert(ph.clone()) => ph.clone(),
                            _ => {
                                let u = format!("{}-{position}", row.registry_no.to_lowercase());
                                taken.insert(u.clone());
                                u
                            }
                        };
                        p.accounts.push((id, username));
                    }
                    self.counts.family_created += 1;
                    id
                }
            };
            if p.family.iter().any(|f| f.0 == student && f.1 == person) {
                continue;
            }
            p.family.push((
                student,
                person,
                g.relation.clone(),
                g.is_guardian,
                position,
                g.work_unit.clone(),
            ));
            if g.is_guardian {
                p.roles.push((
                    person,
                    "guardian",
                    self.target.school.id,
                    Some(student),
                    Some(g.relation.clone()),
                ));
            }
        }
    }

    /// A stored student whose row changed: person fields, class (history kept), family
    /// (replaced; the student record itself is rewritten by `flush`). Returns the family
    /// members before, by name, for the new rows to reuse.
    async fn update(
        &mut self,
        id: PersonId,
        r: &StudentRow,
        class_id: NodeId,
        class: ClassName,
    ) -> AppResult<HashMap<String, PersonId>> {
        let n = NewPerson::student(id, r);
        let now = self.target.now;
        on_tx!(&mut self.tx, c => sqlx::query(
            "UPDATE persons SET name = $2, gender = $3, id_number = $4, phone = $5, birth_date = $6, id_type = $7,
                    ethnicity = $8, nationality = $9, gatqw = $10, political_status = $11, health = $12, updated_at = $13
             WHERE id = $1",
        ).bind(id).bind(&n.name).bind(&n.gender).bind(&n.id_number).bind(&n.phone).bind(n.birth_date)
        .bind(&n.id_type).bind(&n.ethnicity).bind(&n.nationality).bind(&n.gatqw).bind(&n.political_status)
        .bind(&n.health).bind(now).execute(c).await.map(|r| r.rows_affected()))?;
        let current: Option<(NodeId,)> = on_tx!(&mut self.tx, c => sqlx::query_as(
            "SELECT node_id FROM role_assignments WHERE person_id = $1 AND role = 'student'",
        ).bind(id).fetch_optional(c).await)?;
        match current {
            Some((old,)) if old == class_id => {}
            Some(_) => {
                on_tx!(&mut self.tx, c => sqlx::query(
                    "UPDATE role_assignments SET node_id = $2 WHERE person_id = $1 AND role = 'student'",
                ).bind(id).bind(class_id).execute(c).await.map(|r| r.rows_affected()))?;
                self.close_history(id).await?;
                self.open_history(id, class_id, class, "class_change")
                    .await?;
            }
            None => {
                on_tx!(&mut self.tx, c => sqlx::query(
                    "INSERT INTO role_assignments (id, person_id, role, node_id, created_at) VALUES ($1, $2, 'student', $3, $4)",
                ).bind(RoleId::new()).bind(id).bind(class_id).bind(now).execute(c).await.map(|r| r.rows_affected()))?;
                self.open_history(id, class_id, class, "import").await?;
            }
        }
        let before: Vec<(String, PersonId)> = on_tx!(&mut self.tx, c => sqlx::query_as(
            "SELECT p.name, p.id FROM family_members f JOIN persons p ON p.id = f.person_id WHERE f.student_id = $1",
        ).bind(id).fetch_all(c).await)?;
        on_tx!(&mut self.tx, c => sqlx::query("DELETE FROM family_members WHERE student_id = $1")
            .bind(id).execute(c).await.map(|r| r.rows_affected()))?;
        on_tx!(&mut self.tx, c => sqlx::query("DELETE FROM role_assignments WHERE role = 'guardian' AND student_id = $1")
            .bind(id).execute(c).await.map(|r| r.rows_affected()))?;
        on_tx!(&mut self.tx, c => sqlx::query("DELETE FROM students WHERE person_id = $1")
            .bind(id).execute(c).await.map(|r| r.rows_affected()))?;
        Ok(before.into_iter().collect())
    }

    async fn close_history(&mut self, id: PersonId) -> AppResult<()> {
        on_tx!(&mut self.tx, c => sqlx::query(
            "UPDATE class_history SET ended_on = $2 WHERE person_id = $1 AND ended_on IS NULL",
        ).bind(id).bind(self.today).execute(c).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    async fn open_history(
        &mut self,
        id: PersonId,
        class_id: NodeId,
        class: ClassName,
        reason: &str,
    ) -> AppResult<()> {
        on_tx!(&mut self.tx, c => sqlx::query(
            "INSERT INTO class_history (id, person_id, class_id, school_id, school_year, grade_name, class_name, started_on, reason)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        ).bind(uuid::Uuid::now_v7()).bind(id).bind(class_id).bind(self.target.school.id).bind(self.school_year)
        .bind(class.grade_name()).bind(class.class_name()).bind(self.today).bind(reason)
        .execute(c).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    async fn flush(&mut self, p: Pending) -> AppResult<()> {
        let now = self.target.now;
        let school = self.target.school.id;
        let import_id = self.target.import_id;
        let today = self.today;
        let year = self.school_year;
        let tx = &mut self.tx;
        for chunk in p.persons.chunks(200) {
            on_tx!(&mut *tx, c => {
                let mut qb = sqlx::QueryBuilder::new(
                    "INSERT INTO persons (id, org_id, name, gender, registry_no, id_number, phone, birth_date, id_type, ethnicity,
                     nationality, gatqw, political_status, health, active, created_at, updated_at) ",
                );
                qb.push_values(chunk, |mut b, n| {
                    b.push_bind(n.id).push_bind(school).push_bind(&n.name).push_bind(&n.gender)
                        .push_bind(&n.registry_no).push_bind(&n.id_number).push_bind(&n.phone).push_bind(n.birth_date)
                        .push_bind(&n.id_type).push_bind(&n.ethnicity).push_bind(&n.nationality).push_bind(&n.gatqw)
                        .push_bind(&n.political_status).push_bind(&n.health).push_bind(true).push_bind(now).push_bind(now);
                });
                qb.build().execute(&mut *c).await.map(|r| r.rows_affected())
            })?;
        }
        for chunk in p.students.chunks(200) {
            on_tx!(&mut *tx, c => {
                let mut qb = sqlx::QueryBuilder::new(
                    "INSERT INTO students (person_id, school_id, status, school_no, entry_month, category, study_mode, address,
                     hukou_nature, enrollment_mode, left_behind, migrant_child, only_child, disability, inclusion,
                     source_hash, import_id, updated_at) ",
                );
                qb.push_values(chunk, |mut b, (id, r, cat, hash)| {
                    b.push_bind(*id).push_bind(school).push_bind("enrolled").push_bind(&r.school_no).push_bind(r.entry)
                        .push_bind(*cat).push_bind(&r.study_mode).push_bind(&r.address)
                        .push_bind(r.code(Table::RegistryHukou)).push_bind(r.code(Table::RegistryEnrollmentMode))
                        .push_bind(r.code(Table::LeftBehind)).push_bind(r.migrant_child).push_bind(r.only_child)
                        .push_bind(r.code(Table::Disability)).push_bind(r.code(Table::Inclusion))
                        .push_bind(hash).push_bind(import_id).push_bind(now);
                });
                qb.build().execute(&mut *c).await.map(|r| r.rows_affected())
            })?;
        }
        for chunk in p.accounts.chunks(500) {
            on_tx!(&mut *tx, c => {
                let mut qb = sqlx::QueryBuilder::new(
                    "INSERT INTO accounts (person_id, username, password_hash, must_change_password, created_at) ",
                );
                qb.push_values(chunk, |mut b, (id, u)| {
                    b.push_bind(*id).push_bind(u).push_bind(UNISSUED).push_bind(true).push_bind(now);
                });
                qb.build().execute(&mut *c).await.map(|r| r.rows_affected())
            })?;
        }
        self.counts.accounts_created += p.accounts.len() as u64;
        for chunk in p.roles.chunks(500) {
            on_tx!(&mut *tx, c => {
                let mut qb = sqlx::QueryBuilder::new(
                    "INSERT INTO role_assignments (id, person_id, role, node_id, student_id, relation, created_at) ",
                );
                qb.push_values(chunk, |mut b, (id, role, node, student, relation)| {
                    b.push_bind(RoleId::new()).push_bind(*id).push_bind(*role).push_bind(*node)
                        .push_bind(*student).push_bind(relation).push_bind(now);
                });
                qb.build().execute(&mut *c).await.map(|r| r.rows_affected())
            })?;
        }
        for chunk in p.history.chunks(500) {
            on_tx!(&mut *tx, c => {
                let mut qb = sqlx::QueryBuilder::new(
                    "INSERT INTO class_history (id, person_id, class_id, school_id, school_year, grade_name, class_name, started_on, reason) ",
                );
                qb.push_values(chunk, |mut b, (id, class_id, class)| {
                    b.push_bind(uuid::Uuid::now_v7()).push_bind(*id).push_bind(*class_id).push_bind(school)
                        .push_bind(year).push_bind(class.grade_name()).push_bind(class.class_name())
                        .push_bind(today).push_bind("import");
                });
                qb.build().execute(&mut *c).await.map(|r| r.rows_affected())
            })?;
        }
        for chunk in p.family.chunks(500) {
            on_tx!(&mut *tx, c => {
                let mut qb = sqlx::QueryBuilder::new(
                    "INSERT INTO family_members (student_id, person_id, relation, is_guardian, position, work_unit) ",
                );
                qb.push_values(chunk, |mut b, (s, g, rel, is_g, pos, work)| {
                    b.push_bind(*s).push_bind(*g).push_bind(rel).push_bind(*is_g).push_bind(*pos).push_bind(work);
                });
                qb.build().execute(&mut *c).await.map(|r| r.rows_affected())
            })?;
        }
        Ok(())
    }

    /// Commits what was written, with no record of it (the benchmark's floor).
    pub async fn commit_unrecorded(self) -> AppResult<()> {
        self.tx.commit().await
    }

    /// Logs every student the import wrote (with their family; a set-based insert at the end,
    /// so the change log's turn is held only from here to the commit), then [`finish`]. The
    /// students are found among the school's (`students_school_status`): `import_id` alone has
    /// no index, and a scan of every student in the region made each import slower than the
    /// one before.
    pub async fn finish(mut self, rows: u64, problems: u64) -> AppResult<Counts> {
        crate::changes::lock(&mut self.tx).await?;
        on_tx!(&mut self.tx, c => sqlx::query(
            "INSERT INTO base_changes (at, node_id, entity, entity_id, op)
             SELECT $2, school_id, 'student', person_id, 'upsert' FROM students WHERE school_id = $3 AND import_id = $1
             ORDER BY person_id",
        ).bind(self.target.import_id).bind(self.target.now).bind(self.target.school.id).execute(c).await.map(|_| ()))?;
        finish(
            self.tx,
            &self.target,
            self.counts,
            Default::default(),
            rows,
            problems,
        )
        .await
    }
}

/// Marks the job done with its counts, writes the audit record and commits the import's
/// transaction (for every kind of import).
pub(super) async fn finish(
    mut tx: Tx,
    t: &Target,
    counts: Counts,
    changes: crate::changes::Deferred,
    rows: u64,
    problems: u64,
) -> AppResult<Counts> {
    changes.write(&mut tx, t.now).await?;
    let result = serde_json::to_value(&counts).unwrap_or_default();
    let held = on_tx!(&mut tx, c => sqlx::query(
        "UPDATE import_jobs SET status = 'done', result = $2, finished_at = $3, updated_at = $3, lease_until = NULL,
                lease_node = NULL
         WHERE id = $1 AND COALESCE(lease_token, '') = COALESCE($4, '')",
    ).bind(t.import_id).bind(result.to_string()).bind(t.now).bind(t.lease.as_deref())
    .execute(c).await.map(|r| r.rows_affected()))?;
    if held == 0 {
        // Another node took the job over (this one stalled past its lease): its run stands,
        // and dropping this transaction leaves nothing of this one.
        return Err(AppError::internal(format!(
            "import {}: the claim was taken over by another node; this run is discarded",
            t.import_id
        )));
    }
    let who = kernel::audit::Who {
        id: t.actor.as_ref().map(|a| a.0),
        name: Some(t.actor.as_ref().map_or("system", |a| a.1.as_str())),
    };
    kernel::audit::record(
        &mut tx,
        t.now,
        who,
        &kernel::RequestMeta::cli(),
        AuditEvent::new("import.commit")
            .object("import", t.import_id)
            .node(t.school.id)
            .detail(serde_json::json!({ "rows": rows, "problems": problems, "counts": result })),
    )
    .await?;
    tx.commit().await?;
    Ok(counts)
}

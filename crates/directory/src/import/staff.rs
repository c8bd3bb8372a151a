//! Importing a school's staff (教职工信息) in the student import's two steps: check every row
//! (the rules of `staffcheck`, then the database: an ID number that is someone else's), then
//! commit in one transaction, all or nothing unless partial.
//!
//! A staff member is found again by 工号 at the school; a row whose content hashes to what the
//! last import of that person wrote (`staff.source_hash`) is left alone. A new one gets a person
//! (owned by the school), the staff record, an account named by the 工号 (lower case) whose
//! password is not issued yet, and the teacher role at the school. A 班主任班级 column makes the
//! person that class's head teacher (creating the class if the school has none by that name).

use super::classes::{self, ClassName, SchoolClasses};
use super::staff_rows::{StaffChecker, StaffField as F, StaffRow};
use super::store::{self, Conn};
use super::{Counts, ImportError, KEEP_PROBLEMS, Mode, Outcome, Target};
use crate::changes::{self, Entity};
use crate::model::Node;
use crate::validate;
use identity::password::UNISSUED;
use kernel::{AppError, AppResult, Db, NodeId, PersonId, RoleId, Tx, on_db, on_tx};
use sheets::check::Problem;
use sheets::check::{self, FileError, Header, Layout, RowRules};
use std::collections::{HashMap, HashSet};
use std::ops::ControlFlow;
use std::path::Path;

macro_rules! on_conn {
    ($conn:expr, $c:ident => $body:expr) => {
        match $conn {
            Conn::Pool(db) => on_db!(db, $c => $body),
            Conn::Tx(tx) => on_tx!(tx, $c => $body),
        }
    };
}
pub(super) use on_conn;

/// Reads a file of kind `K` on a blocking thread, in batches of [`super::BATCH`] rows each
/// turned into an item by `prepare` (which sees the rows in order, for checks across rows).
/// The handle gives the header, or why the file could not be read.
pub(super) fn read_batches<K, I>(
    path: &Path,
    mut prepare: impl FnMut(&Layout<K::Field>, Result<K::Row, Vec<Problem>>) -> I + Send + 'static,
) -> (
    tokio::sync::mpsc::Receiver<Vec<I>>,
    tokio::task::JoinHandle<Result<Header, FileError>>,
)
where
    K: RowRules,
    I: Send + 'static,
{
    let (send, recv) = tokio::sync::mpsc::channel::<Vec<I>>(4);
    let file = path.to_owned();
    let reader = tokio::task::spawn_blocking(move || {
        let mut batch = Vec::with_capacity(super::BATCH);
        let header = check::scan_with::<K>(&file, |layout, r| {
            batch.push(prepare(layout, r));
            if batch.len() >= super::BATCH
                && send.blocking_send(std::mem::take(&mut batch)).is_err()
            {
                return ControlFlow::Break(());
            }
            ControlFlow::Continue(())
        });
        if !batch.is_empty() {
            let _ = send.blocking_send(batch);
        }
        header
    });
    (recv, reader)
}

/// The problems a run keeps (the first [`KEEP_PROBLEMS`]) and counts (all).
#[derive(Default)]
pub(super) struct Kept {
    pub count: u64,
    pub problems: Vec<Problem>,
}

impl Kept {
    pub fn keep(&mut self, ps: Vec<Problem>) {
        self.count += ps.len() as u64;
        let room = KEEP_PROBLEMS.saturating_sub(self.problems.len());
        self.problems.extend(ps.into_iter().take(room));
    }
}

/// A stored-data problem on a row.
pub(super) fn problem(
    row: u32,
    column: Option<usize>,
    value: &str,
    key: &'static str,
    elsewhere: Option<String>,
) -> Problem {
    Problem {
        row,
        column,
        value: value.to_owned(),
        key,
        other_row: None,
        elsewhere,
        accepted: None,
    }
}

/// Where a row's identifying cells stand, for problems found in the database.
#[derive(Debug, Clone, Copy, Default)]
struct Cols {
    id_number: Option<usize>,
}

enum Item {
    Good(Box<StaffRow>, Option<ClassName>, Cols),
    Bad(Vec<Problem>),
}

/// Reads `path` as a staff file and checks (or commits) it for `target`.
pub async fn run(
    db: &Db,
    target: &Target,
    path: &Path,
    mode: Mode,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Outcome, ImportError> {
    let stages = target.stages.clone();
    // The same head-teacher class on two rows: the later one is reported.
    let mut heads: HashMap<ClassName, u32> = HashMap::new();
    let (mut recv, reader) = read_batches::<StaffChecker, Item>(path, move |layout, r| {
        let cols = Cols {
            id_number: layout.position(F::IdNumber),
        };
        let row = match r {
            Ok(row) => row,
            Err(p) => return Item::Bad(p),
        };
        let column = layout.position(F::HeadClass);
        let Some(text) = row.head_class.clone() else {
            return Item::Good(Box::new(row), None, cols);
        };
        match classes::parse(&text, None, &stages) {
            None => Item::Bad(vec![problem(
                row.row,
                column,
                &text,
                "error.import.class_unreadable",
                None,
            )]),
            Some(c) => match heads.get(&c) {
                Some(first) => Item::Bad(vec![Problem {
                    other_row: Some(*first),
                    ..problem(
                        row.row,
                        column,
                        &text,
                        "error.staff_import.head_teacher_twice",
                        None,
                    )
                }]),
                None => {
                    heads.insert(c, row.row);
                    Item::Good(Box::new(row), Some(c), cols)
                }
            },
        }
    });

    let mut writer = match mode {
        Mode::Commit { .. } => Some(Writer::start(db, target).await?),
        Mode::Check => None,
    };
    let partial = matches!(mode, Mode::Commit { partial: true });
    let (mut rows, mut good_count) = (0u64, 0u64);
    let mut kept = Kept::default();
    while let Some(batch) = recv.recv().await {
        rows += batch.len() as u64;
        let mut good = Vec::with_capacity(batch.len());
        for item in batch {
            match item {
                Item::Good(row, class, cols) => good.push((*row, class, cols)),
                Item::Bad(ps) => kept.keep(ps),
            }
        }
        let found = match &mut writer {
            Some(w) => find(Conn::Tx(&mut w.tx), target.school.id, &good).await?,
            None => find(Conn::Pool(db), target.school.id, &good).await?,
        };
        let (good, bad) = check_against(good, &found);
        kept.keep(bad);
        good_count += good.len() as u64;
        if kept.count > 0 && !partial {
            writer = None;
        }
        if let Some(w) = &mut writer {
            w.write(good, &found).await?;
        }
        progress(rows);
    }
    let header = reader.await.map_err(AppError::internal)??;
    let counts = match writer {
        Some(mut w) => {
            w.counts.skipped = rows - good_count;
            Some(store::finish(w.tx, target, w.counts, w.changes, rows, kept.count).await?)
        }
        None => None,
    };
    Ok(Outcome {
        header,
        rows,
        good: good_count,
        problem_count: kept.count,
        problems: kept.problems,
        counts,
    })
}

#[derive(Debug, sqlx::FromRow)]
struct Stored {
    id: PersonId,
    staff_no: Option<String>,
    id_number: Option<String>,
    org_name: String,
    source_hash: Option<String>,
}

/// The stored persons a batch names: the school's by 工号, anyone's by ID number.
#[derive(Default)]
struct Found {
    by_staff_no: HashMap<String, Stored>,
    by_id_number: HashMap<String, Stored>,
}

type Good = (StaffRow, Option<ClassName>, Cols);

async fn find(mut conn: Conn<'_>, school: NodeId, good: &[Good]) -> AppResult<Found> {
    let mut found = Found::default();
    if good.is_empty() {
        return Ok(found);
    }
    const SELECT: &str = "SELECT p.id, p.staff_no, p.id_number, o.name AS org_name, s.source_hash
         FROM persons p JOIN org_nodes o ON o.id = p.org_id LEFT JOIN staff s ON s.person_id = p.id WHERE ";
    let rows: Vec<Stored> = on_conn!(&mut conn, c => {
        let mut qb = sqlx::QueryBuilder::new(SELECT);
        qb.push("p.org_id = ").push_bind(school).push(" AND p.staff_no IN (");
        let mut list = qb.separated(", ");
        for (r, _, _) in good {
            list.push_bind(r.staff_no.as_str());
        }
        qb.push(")");
        qb.build_query_as().fetch_all(c).await
    })?;
    for s in rows {
        if let Some(n) = s.staff_no.clone() {
            found.by_staff_no.insert(n, s);
        }
    }
    let ids: Vec<&str> = good
        .iter()
        .filter_map(|(r, _, _)| r.id_number.as_deref())
        .collect();
    if !ids.is_empty() {
        let rows: Vec<Stored> = on_conn!(&mut conn, c => {
            let mut qb = sqlx::QueryBuilder::new(SELECT);
            qb.push("p.id_number IN (");
            let mut list = qb.separated(", ");
            for id in &ids {
                list.push_bind(*id);
            }
            qb.push(")");
            qb.build_query_as().fetch_all(c).await
        })?;
        for s in rows {
            if let Some(n) = s.id_number.clone() {
                found.by_id_number.insert(n, s);
            }
        }
    }
    Ok(found)
}

/// An ID number that belongs to someone other than the school's person with the row's 工号.
fn check_against(good: Vec<Good>, found: &Found) -> (Vec<Good>, Vec<Problem>) {
    let mut ok = Vec::with_capacity(good.len());
    let mut problems = Vec::new();
    for g in good {
        let (row, _, cols) = &g;
        let me = found.by_staff_no.get(&row.staff_no).map(|s| s.id);
        if let Some(id) = &row.id_number
            && let Some(s) = found.by_id_number.get(id)
            && Some(s.id) != me
        {
            problems.push(problem(
                row.row,
                cols.id_number,
                id,
                "error.import.id_number_taken",
                Some(s.org_name.clone()),
            ));
            continue;
        }
        ok.push(g);
    }
    (ok, problems)
}

/// The hash of what a row says, ignoring where in the file it stands.
fn source_hash(row: &StaffRow, class: &Option<ClassName>) -> String {
    let mut r = row.clone();
    r.row = 0;
    kernel::secret::token_hash(&format!("{r:?}{class:?}"))
}

/// An account name for a staff member: the 工号 in lower case, or with the school's code in
/// front when that is taken (工号 are unique only within a school) or too short.
pub(super) fn username(staff_no: &str, school: &Node, taken: &mut HashSet<String>) -> String {
    let base = staff_no.to_lowercase();
    let code = school.code.clone().unwrap_or_else(|| "t".into());
    for c in [base.clone(), format!("{code}-{base}")] {
        if validate::username(&c).is_ok() && taken.insert(c.clone()) {
            return c;
        }
    }
    let mut n = 2;
    loop {
        let c = format!("{code}-{base}-{n}");
        if taken.insert(c.clone()) {
            return c;
        }
        n += 1;
    }
}

/// The usernames among `names` that accounts already have.
pub(super) async fn usernames_taken(tx: &mut Tx, names: &[String]) -> AppResult<HashSet<String>> {
    let mut out = HashSet::new();
    for chunk in names.chunks(900) {
        let rows: Vec<(String,)> = on_tx!(tx, c => {
            let mut qb = sqlx::QueryBuilder::new("SELECT username FROM accounts WHERE username IN (");
            let mut list = qb.separated(", ");
            for n in chunk {
                list.push_bind(n.as_str());
            }
            qb.push(")");
            qb.build_query_as().fetch_all(c).await
        })?;
        out.extend(rows.into_iter().map(|(u,)| u));
    }
    Ok(out)
}

/// Makes `person` the only head teacher of `class` (others who lose the role are logged as
/// changed); with `only_class`, `person` stops heading the school's other classes.
pub(super) async fn set_head_teacher(
    tx: &mut Tx,
    changes: &mut changes::Deferred,
    school: NodeId,
    person: PersonId,
    class: NodeId,
    only_class: bool,
    now: chrono::DateTime<chrono::Utc>,
) -> AppResult<()> {
    let others: Vec<(PersonId,)> = on_tx!(tx, c => sqlx::query_as(
        "SELECT person_id FROM role_assignments WHERE node_id = $1 AND role = 'head_teacher' AND person_id <> $2",
    ).bind(class).bind(person).fetch_all(c).await)?;
    on_tx!(tx, c => sqlx::query(
        "DELETE FROM role_assignments WHERE role = 'head_teacher' AND node_id = $1 AND person_id <> $2",
    ).bind(class).bind(person).execute(c).await.map(|r| r.rows_affected()))?;
    // The person's own head-teacher roles at the school's classes (this one is added again).
    if only_class {
        on_tx!(tx, c => sqlx::query(
            "DELETE FROM role_assignments WHERE role = 'head_teacher' AND person_id = $1
               AND node_id IN (SELECT id FROM org_nodes WHERE school_id = $2 AND kind = 'class')",
        ).bind(person).bind(school).execute(c).await.map(|r| r.rows_affected()))?;
    } else {
        on_tx!(tx, c => sqlx::query(
            "DELETE FROM role_assignments WHERE role = 'head_teacher' AND person_id = $1 AND node_id = $2",
        ).bind(person).bind(class).execute(c).await.map(|r| r.rows_affected()))?;
    }
    on_tx!(tx, c => sqlx::query(
        "INSERT INTO role_assignments (id, person_id, role, node_id, created_at) VALUES ($1, $2, 'head_teacher', $3, $4)",
    ).bind(RoleId::new()).bind(person).bind(class).bind(now).execute(c).await.map(|r| r.rows_affected()))?;
    for (other,) in others {
        changes.add(school, Entity::Staff, other.0);
    }
    Ok(())
}

/// The import's transaction and what it has done so far.
struct Writer {
    tx: Tx,
    target: Target,
    classes: SchoolClasses,
    school_year: i64,
    counts: Counts,
    changes: changes::Deferred,
}

impl Writer {
    async fn start(db: &Db, target: &Target) -> AppResult<Self> {
        let mut tx = db.begin().await?;
        let classes = SchoolClasses::load(&mut tx, target.school.id, &target.stages).await?;
        Ok(Self {
            tx,
            classes,
            target: target.clone(),
            school_year: classes::school_year(target.today),
            counts: Counts::default(),
            changes: Default::default(),
        })
    }

    async fn write(&mut self, good: Vec<Good>, found: &Found) -> AppResult<()> {
        let school = self.target.school.clone();
        let now = self.target.now;
        let mut wanted = Vec::new();
        for (r, _, _) in &good {
            let base = r.staff_no.to_lowercase();
            wanted.push(format!("{}-{base}", school.code.as_deref().unwrap_or("t")));
            wanted.push(base);
        }
        let mut taken = usernames_taken(&mut self.tx, &wanted).await?;
        for (row, class, _) in good {
            let hash = source_hash(&row, &class);
            let stored = found.by_staff_no.get(&row.staff_no);
            if let Some(s) = stored
                && s.source_hash.as_deref() == Some(hash.as_str())
            {
                self.counts.unchanged += 1;
                continue;
            }
            let person = match stored {
                Some(s) => {
                    self.update_person(s.id, &row).await?;
                    self.counts.updated += 1;
                    s.id
                }
                None => {
                    let id = PersonId::new();
                    self.insert_person(id, &row).await?;
                    self.counts.created += 1;
                    id
                }
            };
            // An account and the teacher role at the school, unless the person has them.
            let has_account: Option<(PersonId,)> = on_tx!(&mut self.tx, c => sqlx::query_as(
                "SELECT person_id FROM accounts WHERE person_id = $1",
            ).bind(person).fetch_optional(c).await)?;
            if has_account.is_none() {
                let u = username(&row.staff_no, &school, &mut taken);
                on_tx!(&mut self.tx, c => sqlx::query(
                    "INSERT INTO accounts (person_id, username, password_hash, must_change_password, created_at)
                     VALUES ($1, $2, $3, TRUE, $4)",
                ).bind(person).bind(&u).bind(UNISSUED).bind(now).execute(c).await.map(|r| r.rows_affected()))?;
                self.counts.accounts_created += 1;
            }
            on_tx!(&mut self.tx, c => sqlx::query(
                "INSERT INTO role_assignments (id, person_id, role, node_id, created_at)
                 SELECT $1, $2, 'teacher', $3, $4 WHERE NOT EXISTS
                   (SELECT 1 FROM role_assignments WHERE person_id = $2 AND role = 'teacher' AND node_id = $3)",
            ).bind(RoleId::new()).bind(person).bind(school.id).bind(now)
            .execute(c).await.map(|r| r.rows_affected()))?;
            self.upsert_staff(person, &row, &hash).await?;
            if let Some(c) = class {
                let (class_id, created) = self
                    .classes
                    .class_id(&mut self.tx, &school, c, self.school_year, now)
                    .await?;
                if created {
                    self.counts.classes_created += 1;
                    self.changes.add(school.id, Entity::Node, class_id.0);
                }
                set_head_teacher(
                    &mut self.tx,
                    &mut self.changes,
                    school.id,
                    person,
                    class_id,
                    true,
                    now,
                )
                .await?;
            }
            self.changes.add(school.id, Entity::Person, person.0);
            self.changes.add(school.id, Entity::Staff, person.0);
        }
        Ok(())
    }

    async fn insert_person(&mut self, id: PersonId, r: &StaffRow) -> AppResult<()> {
        let (school, now) = (self.target.school.id, self.target.now);
        on_tx!(&mut self.tx, c => sqlx::query(
            "INSERT INTO persons (id, org_id, name, gender, staff_no, id_number, phone, birth_date, id_type, ethnicity,
                                  nationality, political_status, active, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, TRUE, $13, $13)",
        ).bind(id).bind(school).bind(&r.name).bind(&r.gender).bind(&r.staff_no).bind(&r.id_number)
        .bind(&r.phone).bind(r.birth_date).bind(&r.id_type).bind(&r.ethnicity).bind(&r.nationality)
        .bind(&r.political).bind(now).execute(c).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    async fn update_person(&mut self, id: PersonId, r: &StaffRow) -> AppResult<()> {
        let now = self.target.now;
        on_tx!(&mut self.tx, c => sqlx::query(
            "UPDATE persons SET name = $2, gender = $3, id_number = $4, phone = $5, birth_date = $6, id_type = $7,
                    ethnicity = $8, nationality = $9, political_status = $10, updated_at = $11
             WHERE id = $1",
        ).bind(id).bind(&r.name).bind(&r.gender).bind(&r.id_number).bind(&r.phone).bind(r.birth_date)
        .bind(&r.id_type).bind(&r.ethnicity).bind(&r.nationality).bind(&r.political).bind(now)
        .execute(c).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    async fn upsert_staff(&mut self, id: PersonId, r: &StaffRow, hash: &str) -> AppResult<()> {
        let (now, import_id) = (self.target.now, self.target.import_id);
        let posts = Some(r.posts.join(",")).filter(|p| !p.is_empty());
        on_tx!(&mut self.tx, c => sqlx::query(
            "INSERT INTO staff (person_id, staffing_category, title, education, positions, qualification_cert,
                                employment_start, status, import_id, source_hash, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
             ON CONFLICT (person_id) DO UPDATE SET staffing_category = excluded.staffing_category,
                title = excluded.title, education = excluded.education, positions = excluded.positions,
                qualification_cert = excluded.qualification_cert, employment_start = excluded.employment_start,
                status = excluded.status, import_id = excluded.import_id, source_hash = excluded.source_hash,
                updated_at = excluded.updated_at",
        ).bind(id).bind(&r.staffing_category).bind(&r.title).bind(&r.education).bind(&posts)
        .bind(&r.qualification_cert).bind(r.employment_start).bind(&r.status).bind(import_id).bind(hash)
        .bind(now).execute(c).await.map(|r| r.rows_affected()))?;
        Ok(())
    }
}

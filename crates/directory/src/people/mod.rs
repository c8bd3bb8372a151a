//! People: create (with their account and first role), read (masked unless revealed, and every
//! reveal audited), search within a subtree, edit, deactivate and reactivate.

pub mod api;
pub mod pages;

use crate::model::{NodeKind, Person, PersonRow, RoleView};
use crate::{nodes, roles, validate};
use kernel::audit::AuditEvent;
use kernel::authz::{self, Permission, PersonPermission};
use kernel::error::unique_violation;
use kernel::paging::{PageQuery, Paged};
use kernel::{AppError, AppResult, Ctx, Db, FieldErrors, NodeId, PersonId, Tx, on_db, on_tx};
use serde::{Deserialize, Serialize};

const PERSON_COLUMNS: &str = "id, org_id, name, gender, id_number, phone, email, staff_no, registry_no, active, created_at, updated_at";

pub async fn find(db: &Db, id: PersonId) -> AppResult<Option<Person>> {
    Ok(
        on_db!(db, p => sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {PERSON_COLUMNS} FROM persons WHERE id = $1")))
        .bind(id).fetch_optional(p).await)?,
    )
}

/// The person if the actor may see them, else `NotFound`.
pub async fn get_visible(cx: &Ctx<'_>, id: PersonId) -> AppResult<Person> {
    let p = find(cx.db(), id)
        .await?
        .ok_or(AppError::NotFound("directory.person_not_found"))?;
    if !authz::may_person(cx.db(), cx.actor, PersonPermission::View, p.id, p.org_id).await? {
        return Err(AppError::NotFound("directory.person_not_found"));
    }
    Ok(p)
}

mod input;
use input::clean;
pub use input::{PersonInput, PersonPatch, patch};

fn person_conflict(e: sqlx::Error) -> AppError {
    let msg = e
        .as_database_error()
        .map(|d| d.message().to_owned())
        .unwrap_or_default();
    if msg.contains("registry_no") {
        unique_violation(e, "directory.registry_no_taken", "registry_no")
    } else if msg.contains("staff_no") {
        unique_violation(e, "directory.staff_no_taken", "staff_no")
    } else {
        AppError::Database(e)
    }
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct NewPerson {
    /// The school or region the person belongs to.
    pub org_id: NodeId,
    #[serde(flatten)]
    pub fields: PersonInput,
    /// Login name; defaults to the staff or registry number.
    pub username: Option<String>,
    /// A first role, assigned in the same transaction.
    pub role: Option<roles::NewGrant>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Created {
    pub person: Person,
    pub username: String,
    /// Shown once; the person must change it at first login.
    pub initial_password: String,
}

pub async fn create(cx: &Ctx<'_>, input: NewPerson) -> AppResult<Created> {
    let db = cx.db();
    let org = nodes::find(db, input.org_id)
        .await?
        .ok_or_else(|| AppError::field("org_id", "error.directory.node_not_found"))?;
    if !authz::may(db, cx.actor, Permission::ManagePeople, org.id).await? {
        return Err(AppError::field("org_id", "error.directory.node_not_found"));
    }
    let mut errors = FieldErrors::new();
    if !org.active || !matches!(org.kind(), Some(k) if k.is_region() || k == NodeKind::School) {
        errors.add("org_id", "error.org_must_be_school_or_region");
    }
    let c = clean(&input.fields, &mut errors);
    let username = input
        .username
        .as_deref()
        .map(identity::accounts::normalize_username)
        .filter(|u| !u.is_empty())
        .or_else(|| {
            c.staff_no
                .as_deref()
                .or(c.registry_no.as_deref())
                .map(str::to_lowercase)
        })
        .unwrap_or_else(|| format!("u{}", &uuid::Uuid::now_v7().simple().to_string()[20..]));
    if let Err(k) = validate::username(&username) {
        errors.add("username", k);
    }
    errors.into_result()?;

    let initial_password = kernel::secret::initial_password();
    let hash = identity::password::hash(cx.state, initial_password.clone()).await?;
    let person = Person {
        id: PersonId::new(),
        org_id: org.id,
        name: c.name,
        gender: c.gender,
        id_number: c.id_number,
        phone: c.phone,
        email: c.email,
        staff_no: c.staff_no,
        registry_no: c.registry_no,
        active: true,
        created_at: cx.now,
        updated_at: cx.now,
    };
    let mut tx = cx.begin().await?;
    insert(&mut tx, &person).await?;
    identity::accounts::create(&mut tx, person.id, &username, &hash, true, cx.now).await?;
    crate::changes::person(&mut tx, cx.now, org.id, person.id).await?;
    cx.audit(
        &mut tx,
        AuditEvent::new("person.create")
            .object("person", person.id)
            .node(org.id)
            .detail(serde_json::json!({ "name": person.name, "username": username })),
    )
    .await?;
    if let Some(grant) = input.role {
        roles::assign_in(cx, &mut tx, &person, grant)
            .await
            .map_err(|e| prefix_fields(e, "role_"))?;
    }
    tx.commit().await?;
    Ok(Created {
        person,
        username,
        initial_password,
    })
}

fn prefix_fields(e: AppError, prefix: &str) -> AppError {
    match e {
        AppError::Invalid(f) => AppError::Invalid(FieldErrors(
            f.0.into_iter()
                .map(|(k, v)| (format!("{prefix}{k}"), v))
                .collect(),
        )),
        other => other,
    }
}

/// Inserts a person row (no checks; also used by the demo and benchmark loaders).
pub async fn insert(tx: &mut Tx, p: &Person) -> AppResult<()> {
    on_tx!(tx, c => sqlx::query(
        "INSERT INTO persons (id, org_id, name, gender, id_number, phone, email, staff_no, registry_no, active, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(p.id).bind(p.org_id).bind(&p.name).bind(&p.gender).bind(&p.id_number).bind(&p.phone)
    .bind(&p.email).bind(&p.staff_no).bind(&p.registry_no).bind(p.active).bind(p.created_at).bind(p.updated_at)
    .execute(c).await.map(|r| r.rows_affected()))
    .map_err(person_conflict)?;
    Ok(())
}

pub async fn update(cx: &Ctx<'_>, id: PersonId, input: PersonInput) -> AppResult<Person> {
    let before = get_visible(cx, id).await?;
    if !authz::may_person(
        cx.db(),
        cx.actor,
        PersonPermission::Manage,
        id,
        before.org_id,
    )
    .await?
    {
        return Err(AppError::Forbidden);
    }
    let mut errors = FieldErrors::new();
    let c = clean(&input, &mut errors);
    errors.into_result()?;
    let mut tx = cx.begin().await?;
    on_tx!(&mut tx, conn => sqlx::query(
        "UPDATE persons SET name = $2, gender = $3, id_number = $4, phone = $5, email = $6, staff_no = $7, registry_no = $8, updated_at = $9
         WHERE id = $1",
    )
    .bind(id).bind(&c.name).bind(&c.gender).bind(&c.id_number).bind(&c.phone).bind(&c.email)
    .bind(&c.staff_no).bind(&c.registry_no).bind(cx.now)
    .execute(conn).await.map(|r| r.rows_affected()))
    .map_err(person_conflict)?;
    crate::changes::person(&mut tx, cx.now, before.org_id, id).await?;
    // Old and new values of every changed field: personal data in full, masked when the log is
    // read by someone who may not see it (`audit_log::mask_personal`).
    let fields: [(&str, Option<&str>, Option<&str>); 7] = [
        ("name", Some(&before.name), Some(&c.name)),
        ("gender", Some(&before.gender), Some(&c.gender)),
        (
            "id_number",
            before.id_number.as_deref(),
            c.id_number.as_deref(),
        ),
        ("phone", before.phone.as_deref(), c.phone.as_deref()),
        ("email", before.email.as_deref(), c.email.as_deref()),
        (
            "staff_no",
            before.staff_no.as_deref(),
            c.staff_no.as_deref(),
        ),
        (
            "registry_no",
            before.registry_no.as_deref(),
            c.registry_no.as_deref(),
        ),
    ];
    let changed: Vec<&str> = fields.iter().filter(|f| f.1 != f.2).map(|f| f.0).collect();
    let values: serde_json::Map<String, serde_json::Value> = fields
        .iter()
        .filter(|f| f.1 != f.2)
        .map(|(f, old, new)| {
            (
                (*f).to_owned(),
                serde_json::json!({ "old": old, "new": new }),
            )
        })
        .collect();
    cx.audit(
        &mut tx,
        AuditEvent::new("person.update")
            .object("person", id)
            .node(before.org_id)
            .detail(serde_json::json!({ "changed": changed, "values": values })),
    )
    .await?;
    tx.commit().await?;
    Ok(Person {
        name: c.name,
        gender: c.gender,
        id_number: c.id_number,
        phone: c.phone,
        email: c.email,
        staff_no: c.staff_no,
        registry_no: c.registry_no,
        updated_at: cx.now,
        ..before
    })
}

/// Deactivates a person: their sessions end and API tokens are revoked at once; their records
/// and role history stay.
pub async fn set_active(cx: &Ctx<'_>, id: PersonId, active: bool) -> AppResult<Person> {
    let p = get_visible(cx, id).await?;
    if !authz::may_person(cx.db(), cx.actor, PersonPermission::Manage, id, p.org_id).await?
        || (id == cx.actor.person_id && !active)
    {
        return Err(AppError::Forbidden);
    }
    let mut tx = cx.begin().await?;
    on_tx!(&mut tx, c => sqlx::query("UPDATE persons SET active = $2, updated_at = $3 WHERE id = $1")
        .bind(id).bind(active).bind(cx.now).execute(c).await.map(|r| r.rows_affected()))?;
    crate::changes::person(&mut tx, cx.now, p.org_id, id).await?;
    let mut detail = serde_json::json!({});
    if !active {
        let s = identity::sessions::end_all(&mut tx, id, None, "deactivated", cx.now).await?;
        let t = identity::tokens::revoke_all(&mut tx, id, cx.now).await?;
        detail = serde_json::json!({ "sessions_ended": s, "tokens_revoked": t });
    }
    let action = if active {
        "person.reactivate"
    } else {
        "person.deactivate"
    };
    cx.audit(
        &mut tx,
        AuditEvent::new(action)
            .object("person", id)
            .node(p.org_id)
            .detail(detail),
    )
    .await?;
    tx.commit().await?;
    Ok(Person {
        active,
        updated_at: cx.now,
        ..p
    })
}

/// An administrator sets a new initial password (shown once; must be changed at next login).
pub async fn reset_password(cx: &Ctx<'_>, id: PersonId) -> AppResult<String> {
    let p = get_visible(cx, id).await?;
    if !authz::may_person(cx.db(), cx.actor, PersonPermission::Manage, id, p.org_id).await? {
        return Err(AppError::Forbidden);
    }
    let password = kernel::secret::initial_password();
    let hash = identity::password::hash(cx.state, password.clone()).await?;
    let mut tx = cx.begin().await?;
    if identity::accounts::set_password(&mut tx, id, &hash, true, cx.now).await? == 0 {
        return Err(AppError::NotFound("identity.account_not_found"));
    }
    identity::sessions::end_all(&mut tx, id, None, "password_reset", cx.now).await?;
    cx.audit(
        &mut tx,
        AuditEvent::new("person.reset_password")
            .object("person", id)
            .node(p.org_id),
    )
    .await?;
    tx.commit().await?;
    Ok(password)
}

/// An administrator ends every session of a person (a lost phone, a shared classroom PC);
/// the applications they signed in to are told by single logout. Returns how many ended.
pub async fn end_sessions(cx: &Ctx<'_>, id: PersonId) -> AppResult<u64> {
    let p = get_visible(cx, id).await?;
    if !authz::may_person(cx.db(), cx.actor, PersonPermission::Manage, id, p.org_id).await? {
        return Err(AppError::Forbidden);
    }
    let mut tx = cx.begin().await?;
    let ended = identity::sessions::end_all(&mut tx, id, None, "ended_by_admin", cx.now).await?;
    cx.audit(
        &mut tx,
        AuditEvent::new("person.end_sessions")
            .object("person", id)
            .node(p.org_id)
            .detail(serde_json::json!({ "sessions_ended": ended })),
    )
    .await?;
    tx.commit().await?;
    Ok(ended)
}

/// An administrator removes a person's second factor (they lost their phone and their recovery
/// codes) and ends their sessions; the person logs in with the password and sets it up again.
pub async fn reset_mfa(cx: &Ctx<'_>, id: PersonId) -> AppResult<()> {
    let p = get_visible(cx, id).await?;
    if !authz::may_person(cx.db(), cx.actor, PersonPermission::Manage, id, p.org_id).await? {
        return Err(AppError::Forbidden);
    }
    let mut tx = cx.begin().await?;
    identity::mfa::remove(&mut tx, id).await?;
    identity::passkey::remove_all(&mut tx, id).await?;
    identity::sessions::end_all(&mut tx, id, None, "mfa_reset", cx.now).await?;
    cx.audit(
        &mut tx,
        AuditEvent::new("person.reset_mfa")
            .object("person", id)
            .node(p.org_id),
    )
    .await?;
    tx.commit().await
}

/// Everything a person page shows.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PersonDetail {
    pub person: Person,
    pub org_name: String,
    pub username: Option<String>,
    pub last_login_at: Option<chrono::DateTime<chrono::Utc>>,
    pub roles: Vec<RoleView>,
    /// Whether the personal data above is shown in full.
    pub revealed: bool,
    /// Whether the viewer may ask for it in full.
    pub may_reveal: bool,
    /// Whether the viewer may edit this person.
    pub may_manage: bool,
    pub birth_date: Option<chrono::NaiveDate>,
    /// A student's family members and guardians, in the registry's order.
    pub family: Vec<FamilyView>,
    /// A student's classes, earliest first.
    pub class_history: Vec<ClassStint>,
}

/// A family member as a student's page shows them (the phone masked unless revealed).
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct FamilyView {
    pub person_id: PersonId,
    pub name: String,
    /// GB/T 4761 code.
    pub relation: String,
    pub is_guardian: bool,
    pub phone: Option<String>,
}

/// A class a student was in, and when.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct ClassStint {
    pub school_year: i64,
    pub grade_name: String,
    pub class_name: String,
    pub started_on: chrono::NaiveDate,
    pub ended_on: Option<chrono::NaiveDate>,
    /// import | promotion | class_change | transfer | return
    pub reason: String,
}

/// The person's page. With `reveal`, personal data is shown in full to those who may see it,
/// and that view is written to the audit log.
pub async fn detail(cx: &Ctx<'_>, id: PersonId, reveal: bool) -> AppResult<PersonDetail> {
    let db = cx.db();
    let person = get_visible(cx, id).await?;
    let may_reveal = authz::may_person(
        db,
        cx.actor,
        PersonPermission::ViewPersonalData,
        id,
        person.org_id,
    )
    .await?;
    let may_manage =
        authz::may_person(db, cx.actor, PersonPermission::Manage, id, person.org_id).await?;
    let revealed = reveal && may_reveal;
    if revealed {
        kernel::audit::record_alone(
            db,
            cx.now,
            kernel::audit::Who::from(cx.actor),
            cx.meta,
            AuditEvent::new("person.view_personal_data")
                .object("person", id)
                .node(person.org_id),
        )
        .await?;
    }
    let org_name = nodes::find(db, person.org_id)
        .await?
        .map(|n| n.name)
        .unwrap_or_default();
    let account = identity::accounts::find_by_person(db, id).await?;
    let roles = roles::list_for(db, id).await?;
    // Imported students log in with their registry number and guardians with their phone:
    // the login name is masked with them.
    let username = account.as_ref().map(|a| {
        if revealed {
            a.username.clone()
        } else {
            kernel::privacy::mask_login_name(
                &a.username,
                person.registry_no.as_deref(),
                person.id_number.as_deref(),
                person.phone.as_deref(),
            )
            .unwrap_or_else(|| a.username.clone())
        }
    });
    let (birth_date,): (Option<chrono::NaiveDate>,) = on_db!(db, p => sqlx::query_as(
        "SELECT birth_date FROM persons WHERE id = $1",
    ).bind(id).fetch_one(p).await)?;
    let mut family: Vec<FamilyView> = on_db!(db, p => sqlx::query_as(
        "SELECT p.id AS person_id, p.name, f.relation, f.is_guardian, p.phone
         FROM family_members f JOIN persons p ON p.id = f.person_id
         WHERE f.student_id = $1 ORDER BY f.position",
    ).bind(id).fetch_all(p).await)?;
    if !revealed {
        for f in &mut family {
            f.phone = f.phone.as_deref().map(kernel::privacy::mask_phone);
        }
    }
    let class_history: Vec<ClassStint> = on_db!(db, p => sqlx::query_as(
        "SELECT school_year, grade_name, class_name, started_on, ended_on, reason
         FROM class_history WHERE person_id = $1 ORDER BY started_on, school_year",
    ).bind(id).fetch_all(p).await)?;
    Ok(PersonDetail {
        person: if revealed { person } else { person.masked() },
        org_name,
        username,
        last_login_at: account.and_then(|a| a.last_login_at),
        roles,
        revealed,
        may_reveal,
        may_manage,
        birth_date,
        family,
        class_history,
    })
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// The subtree to search (defaults to the actor's first administered node).
    pub node: Option<NodeId>,
    /// A name prefix, or an exact staff number, registry number or login name.
    pub q: Option<String>,
    /// Only people with this role.
    pub role: Option<String>,
    /// Include deactivated people.
    pub include_inactive: Option<bool>,
    /// `name` (default) or `created`.
    pub sort: Option<String>,
}

/// Counts stop here; beyond it pages say "more than".
pub const COUNT_CAP: i64 = 1000;

/// Searches the people of a subtree the actor administers. Lists always mask personal data.
///
/// Two plans, both served by indexes. A school or class walks its few nodes and each node's
/// names (`persons_org_name`). A region walks the city's names in order (`persons_name`)
/// and keeps those inside the subtree; a district holds a large share of the city, so the first
/// page is found after a few hundred names instead of sorting every match in the district. The
/// walk is bounded; when it does not prove the page complete, the subtree plan answers.
pub async fn search(
    cx: &Ctx<'_>,
    q: &SearchQuery,
    page: &PageQuery,
) -> AppResult<Paged<PersonRow>> {
    let db = cx.db();
    let node = match q.node {
        Some(n) => n,
        None => *cx.actor.admin_nodes().first().ok_or(AppError::Forbidden)?,
    };
    let scope = nodes::get(cx, node).await?;
    authz::require(db, cx.actor, Permission::ViewPeople, node).await?;
    let search = Search::new(node, q);
    let wide = matches!(scope.kind.as_str(), "province" | "city" | "district");
    // Enough names for the page when the subtree holds a fortieth of the region or more.
    let budget = ((page.offset() + page.limit()) * 40).clamp(1_000, 100_000);
    // The page and its count tolerate the replica's bounded lag (the permission above does not).
    let (items, total) = cx
        .state
        .read(|db| async {
            let items = search.find_page(db, wide, page, budget).await?;
            // Counting a whole city is costly and nobody pages through it: count up to the cap.
            Ok((items, search.count(db).await?))
        })
        .await?;
    let items = items
        .into_iter()
        .map(|mut r| {
            r.phone = r.phone.as_deref().map(kernel::privacy::mask_phone);
            r.registry_no = r
                .registry_no
                .as_deref()
                .map(kernel::privacy::mask_id_number);
            r
        })
        .collect();
    Ok(Paged::new(items, total, page))
}

#[derive(Clone, Copy)]
enum Plan {
    /// The subtree's nodes, then each node's names.
    Subtree,
    /// The region's names in order, at most `budget` of them, kept when inside the subtree.
    NamesFirst { budget: i64 },
}

/// A people search, normalised once and run as one or two queries.
struct Search {
    node: NodeId,
    text: Option<String>,
    /// The text as a staff or registry number.
    exact: Option<String>,
    /// The end of the name-prefix range.
    upper: Option<String>,
    username: Option<String>,
    role: Option<String>,
    all: bool,
    by_created: bool,
}

impl Search {
    fn new(node: NodeId, q: &SearchQuery) -> Self {
        let text =
            q.q.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned);
        Search {
            node,
            exact: text
                .as_deref()
                .map(|t| validate::normalize_code(t).to_uppercase()),
            upper: text.as_deref().map(|t| format!("{t}\u{10FFFF}")),
            username: text.as_deref().map(identity::accounts::normalize_username),
            text,
            role: q
                .role
                .as_deref()
                .filter(|r| kernel::Role::parse(r).is_some())
                .map(str::to_owned),
            all: q.include_inactive.unwrap_or(false),
            by_created: q.sort.as_deref() == Some("created"),
        }
    }

    /// The page, by walking `budget` names for a `wide` subtree when that proves complete,
    /// else by the subtree's nodes.
    async fn find_page(
        &self,
        db: &Db,
        wide: bool,
        page: &PageQuery,
        budget: i64,
    ) -> AppResult<Vec<PersonRow>> {
        if wide && !self.by_created {
            let items = self.page(db, Plan::NamesFirst { budget }, page).await?;
            // Complete when the page is full and its last row came from the walk: every name
            // not walked sorts after it.
            let complete = items.len() as i64 == page.limit()
                && items
                    .last()
                    .is_some_and(|r| self.text.as_deref().is_none_or(|t| r.name.starts_with(t)));
            if complete {
                return Ok(items);
            }
        }
        self.page(db, Plan::Subtree, page).await
    }

    /// The matches' ids and sort keys: the names in range (by `plan`), then exact numbers and
    /// login names (three index lookups, each checked against the subtree).
    fn push_candidates<DB>(&self, qb: &mut sqlx::QueryBuilder<DB>, plan: Plan)
    where
        DB: sqlx::Database,
        for<'t> String: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
        for<'t> NodeId: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
        for<'t> i64: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
    {
        let cols = if self.by_created {
            "p.id, p.name, p.created_at"
        } else {
            "p.id, p.name"
        };
        let filters = |qb: &mut sqlx::QueryBuilder<DB>| {
            if !self.all {
                qb.push(" AND p.active = TRUE");
            }
            if let Some(r) = &self.role {
                qb.push(" AND EXISTS (SELECT 1 FROM role_assignments r WHERE r.person_id = p.id AND r.role = ");
                qb.push_bind(r.clone());
                qb.push(")");
            }
        };
        let in_subtree = |qb: &mut sqlx::QueryBuilder<DB>| {
            qb.push(" AND EXISTS (SELECT 1 FROM org_closure c WHERE c.descendant_id = p.org_id AND c.ancestor_id = ");
            qb.push_bind(self.node).push(")");
        };
        let range = self.text.as_ref().zip(self.upper.as_ref());
        match plan {
            Plan::Subtree => {
                // CROSS JOIN keeps SQLite from walking every name in range and checking its node.
                qb.push(format!(
                    "SELECT {cols} FROM org_closure c CROSS JOIN persons p WHERE p.org_id = c.descendant_id AND c.ancestor_id = "
                ));
                qb.push_bind(self.node);
                if let Some((t, u)) = range {
                    qb.push(" AND p.name >= ").push_bind(t.clone());
                    qb.push(" AND p.name < ").push_bind(u.clone());
                }
            }
            Plan::NamesFirst { budget } => {
                qb.push(format!(
                    "SELECT {cols} FROM (SELECT p.id, p.name, p.org_id, p.active FROM persons p"
                ));
                if let Some((t, u)) = range {
                    qb.push(" WHERE p.name >= ").push_bind(t.clone());
                    qb.push(" AND p.name < ").push_bind(u.clone());
                }
                qb.push(" ORDER BY p.name, p.id LIMIT ").push_bind(budget);
                qb.push(") p WHERE TRUE");
                in_subtree(qb);
            }
        }
        filters(qb);
        if let (Some((t, u)), Some(e), Some(name)) = (range, &self.exact, &self.username) {
            qb.push(format!(" UNION ALL SELECT {cols} FROM persons p WHERE p.id IN (SELECT x.id FROM persons x WHERE x.staff_no = "));
            qb.push_bind(e.clone());
            qb.push(" UNION SELECT x.id FROM persons x WHERE x.registry_no = ")
                .push_bind(e.clone());
            qb.push(" UNION SELECT a.person_id FROM accounts a WHERE a.username = ")
                .push_bind(name.clone());
            qb.push(")");
            in_subtree(qb);
            qb.push(" AND NOT (p.name >= ").push_bind(t.clone());
            qb.push(" AND p.name < ").push_bind(u.clone()).push(")");
            filters(qb);
        }
    }

    /// One page of rows: sort the candidates' keys, then fetch the page's rows by id.
    async fn page(&self, db: &Db, plan: Plan, page: &PageQuery) -> AppResult<Vec<PersonRow>> {
        Ok(on_db!(db, pool => {
            let mut qb = sqlx::QueryBuilder::new("SELECT p.id, p.name, p.gender, p.staff_no, p.registry_no, p.phone, p.active, p.org_id, n.name AS org_name FROM (SELECT * FROM (");
            self.push_candidates(&mut qb, plan);
            let order = if self.by_created { "created_at DESC, id" } else { "name, id" };
            qb.push(format!(") u ORDER BY {order} LIMIT "));
            qb.push_bind(page.limit()).push(" OFFSET ").push_bind(page.offset());
            // CROSS JOIN: fetch the page's rows by id; left free, SQLite 3.51 walks every
            // person in name order to skip the final sort.
            qb.push(") k CROSS JOIN persons p JOIN org_nodes n ON n.id = p.org_id WHERE p.id = k.id ORDER BY ");
            qb.push(if self.by_created { "k.created_at DESC, k.id" } else { "k.name, k.id" });
            qb.build_query_as().fetch_all(pool).await
        })?)
    }

    /// The number of matches, up to [`COUNT_CAP`] + 1.
    async fn count(&self, db: &Db) -> AppResult<i64> {
        let (n,): (i64,) = on_db!(db, pool => {
            let mut qb = sqlx::QueryBuilder::new("SELECT COUNT(*) FROM (SELECT * FROM (");
            self.push_candidates(&mut qb, Plan::Subtree);
            qb.push(") u LIMIT ").push_bind(COUNT_CAP + 1).push(") t");
            qb.build_query_as().fetch_one(pool).await
        })?;
        Ok(n)
    }
}

/// People's pages and API.
pub fn routes() -> axum::Router<kernel::AppState> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/admin/people", get(pages::list).post(pages::create))
        .route("/admin/people/new", get(pages::new_form))
        .route("/people/{id}", get(pages::show).post(pages::update))
        .route("/people/{id}/edit", get(pages::edit_form))
        .route("/people/{id}/deactivate", post(pages::deactivate))
        .route("/people/{id}/reactivate", post(pages::reactivate))
        .route("/people/{id}/reset-password", post(pages::reset_password))
        .route("/people/{id}/end-sessions", post(pages::end_sessions))
        .route("/people/{id}/reset-mfa", post(pages::reset_mfa))
        .route("/people/{id}/roles", post(pages::add_role))
        .route("/people/{id}/roles/{role}/delete", post(pages::remove_role))
        .merge(api::routes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use kernel::{AppState, Clock, Config};

    fn ids(rows: &[PersonRow]) -> Vec<PersonId> {
        rows.iter().map(|r| r.id).collect()
    }

    /// Whatever the walk's budget, a region's pages equal those of the subtree plan.
    #[tokio::test]
    async fn names_first_pages_equal_subtree_pages() {
        let tdb = kernel::testing::test_db(&[&crate::SCHEMA]).await.unwrap();
        let config = Config {
            password: kernel::config::PasswordConfig {
                memory_kib: 1024,
                iterations: 1,
                parallelism: 1,
            },
            ..Default::default()
        };
        let state = AppState::new(tdb.db.clone(), config, Clock::System);
        assert!(crate::demo::load(&state).await.unwrap());
        let db = &tdb.db;
        let regions: Vec<(NodeId,)> = on_db!(db, p => sqlx::query_as(
            "SELECT id FROM org_nodes WHERE kind IN ('city', 'district') ORDER BY code"
        ).fetch_all(p).await)
        .unwrap();
        assert_eq!(regions.len(), 3, "the demo has a city and two districts");
        let mut texts: Vec<Option<&str>> =
            vec![None, Some("王子"), Some("teacher"), Some("无此人")];
        texts.extend(["王", "李", "张", "高"].map(Some));
        let mut walked = 0;
        for &(node,) in &regions {
            for text in &texts {
                for role in [None, Some("student")] {
                    let q = SearchQuery {
                        node: Some(node),
                        q: text.map(str::to_owned),
                        role: role.map(str::to_owned),
                        ..Default::default()
                    };
                    let search = Search::new(node, &q);
                    for per_page in [3, 100] {
                        for n in 1..=4 {
                            let page = PageQuery {
                                page: Some(n),
                                per_page: Some(per_page),
                            };
                            let want = search.page(db, Plan::Subtree, &page).await.unwrap();
                            for budget in [1, 3, 10, 1_000] {
                                let got = search.find_page(db, true, &page, budget).await.unwrap();
                                assert_eq!(
                                    ids(&got),
                                    ids(&want),
                                    "{text:?} {role:?} page {n} of {per_page}, budget {budget}"
                                );
                            }
                            let direct = search
                                .page(db, Plan::NamesFirst { budget: 100_000 }, &page)
                                .await
                                .unwrap();
                            assert_eq!(ids(&direct), ids(&want));
                            walked += direct.len();
                        }
                    }
                }
            }
        }
        assert!(walked > 500, "the queries found people ({walked})");
        tdb.drop_db().await;
    }
}

//! People: create (with their account and first role), read (masked unless revealed, and every
//! reveal audited), search within a subtree, edit, deactivate and reactivate.

pub mod api;
pub mod pages;

use crate::model::{NodeKind, Person, RoleView};
use crate::{nodes, roles, validate};
use kernel::audit::AuditEvent;
use kernel::authz::{self, Permission, PersonPermission};
use kernel::error::unique_violation;
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
mod search;
pub use search::{COUNT_CAP, SearchQuery, search};

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

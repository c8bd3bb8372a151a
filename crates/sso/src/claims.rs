//! What an application learns about a person, by scope: `openid` (the subject), `profile`,
//! `email`, `phone`, and `edu` (roles with their scope, school code, classes, staff number). The
//! registry number, and a login name made of it, of the ID number or (without the `phone` scope)
//! of the phone, go only to an application that asked for them where its region allows it
//! (`apps::releases_numbers`); the others get the opaque subject. The same claims serve the ID
//! token, UserInfo and CAS attributes.

use chrono::{DateTime, Utc};
use kernel::{AppResult, AppState, Db, NodeId, PersonId, on_db};
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const SUPPORTED_SCOPES: [&str; 6] = [
    "openid",
    "profile",
    "email",
    "phone",
    "edu",
    "offline_access",
];

#[derive(sqlx::FromRow)]
struct PersonRow {
    name: String,
    gender: String,
    email: Option<String>,
    phone: Option<String>,
    staff_no: Option<String>,
    registry_no: Option<String>,
    id_number: Option<String>,
    updated_at: DateTime<Utc>,
    active: bool,
    username: Option<String>,
    locale: Option<String>,
}

#[derive(sqlx::FromRow)]
struct RoleRow {
    role: String,
    node_id: NodeId,
    node_name: String,
    node_kind: String,
    subject: Option<String>,
    student_id: Option<PersonId>,
    school_code: Option<String>,
    school_name: Option<String>,
}

/// The person's claims for these scopes; `None` if the person is gone or deactivated.
/// `numbers`: the application may receive identifiers carrying the ID number.
pub async fn for_person(
    db: &Db,
    person: PersonId,
    scope: &str,
    numbers: bool,
) -> AppResult<Option<Map<String, Value>>> {
    let has = |s: &str| scope.split(' ').any(|x| x == s);
    let Some(row) = person_row(db, person).await?.filter(|r| r.active) else {
        return Ok(None);
    };
    let mut c = Map::new();
    c.insert("sub".into(), person.to_string().into());
    if has("profile") {
        c.insert("name".into(), row.name.clone().into());
        if let Some(u) = login_name(&row, numbers, has("phone")) {
            c.insert("preferred_username".into(), u.into());
        }
        // GB/T 2261.1: 1 male, 2 female.
        let gender = match row.gender.as_str() {
            "1" => Some("male"),
            "2" => Some("female"),
            _ => None,
        };
        if let Some(g) = gender {
            c.insert("gender".into(), g.into());
        }
        c.insert(
            "locale".into(),
            row.locale.clone().unwrap_or_else(|| "zh-CN".into()).into(),
        );
        c.insert("updated_at".into(), row.updated_at.timestamp().into());
    }
    if has("email")
        && let Some(e) = &row.email
    {
        c.insert("email".into(), e.clone().into());
        c.insert("email_verified".into(), false.into());
    }
    if has("phone")
        && let Some(ph) = &row.phone
    {
        c.insert("phone_number".into(), format!("+86{ph}").into());
        c.insert("phone_number_verified".into(), false.into());
    }
    if has("edu") {
        c.insert("edu".into(), edu(db, person, &row, numbers).await?);
    }
    Ok(Some(c))
}

/// Claims computed for UserInfo on this node, by (person, scope, numbers): reused while the
/// revocation epoch still reads what it read before they were computed, and for at most
/// `sso.claims_cache_seconds` (a name or a role changed shows that much later, as in an ID
/// token already issued). Emptied when full.
#[derive(Default)]
struct Cached {
    map: Mutex<HashMap<ClaimsKey, Computed>>,
}

/// (person, scope, numbers released).
type ClaimsKey = (PersonId, String, bool);
/// The claims, the epoch read before computing them, and when.
type Computed = (Map<String, Value>, i64, Instant);

/// At most this many entries (about 1 KiB each with the `edu` scope).
pub const CACHED_MAX: usize = 10_000;

/// [`for_person`], reusing what this node computed at the same revocation `epoch`, read before
/// this call (`tokens::check_access`).
pub async fn for_person_at(
    state: &AppState,
    person: PersonId,
    scope: &str,
    numbers: bool,
    epoch: i64,
) -> AppResult<Option<Map<String, Value>>> {
    let ttl = Duration::from_secs(u64::from(state.config.sso.claims_cache_seconds));
    let cache = state.cache::<Cached>();
    let key = (person, scope.to_owned(), numbers);
    if !ttl.is_zero() {
        let map = cache.map.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((c, at_epoch, at)) = map.get(&key)
            && *at_epoch == epoch
            && at.elapsed() < ttl
        {
            return Ok(Some(c.clone()));
        }
    }
    let fresh = for_person(&state.db, person, scope, numbers).await?;
    if let Some(c) = &fresh
        && !ttl.is_zero()
    {
        let mut map = cache.map.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= CACHED_MAX {
            map.clear();
        }
        map.insert(key, (c.clone(), epoch, Instant::now()));
    }
    Ok(fresh)
}

async fn person_row(db: &Db, person: PersonId) -> AppResult<Option<PersonRow>> {
    Ok(on_db!(db, p => sqlx::query_as(
        "SELECT p.name, p.gender, p.email, p.phone, p.staff_no, p.registry_no, p.id_number, p.updated_at,
                p.active, a.username, a.locale
         FROM persons p LEFT JOIN accounts a ON a.person_id = p.id WHERE p.id = $1",
    ).bind(person).fetch_optional(p).await)?)
}

/// The login name, unless it is made of a number the application may not have.
fn login_name(row: &PersonRow, numbers: bool, phone: bool) -> Option<String> {
    let u = row.username.as_deref()?;
    let hidden = kernel::privacy::mask_login_name(
        u,
        row.registry_no.as_deref().filter(|_| !numbers),
        row.id_number.as_deref().filter(|_| !numbers),
        row.phone.as_deref().filter(|_| !phone),
    );
    hidden.is_none().then(|| u.to_owned())
}

/// The CAS user: the login name, or the person's opaque id where the name is made of a number
/// the application may not have.
pub async fn cas_user(db: &Db, person: PersonId, numbers: bool) -> AppResult<String> {
    Ok(person_row(db, person)
        .await?
        .and_then(|r| login_name(&r, numbers, false))
        .unwrap_or_else(|| person.to_string()))
}

async fn edu(db: &Db, person: PersonId, row: &PersonRow, numbers: bool) -> AppResult<Value> {
    let roles: Vec<RoleRow> = on_db!(db, p => sqlx::query_as(
        "SELECT r.role, r.node_id, n.name AS node_name, n.kind AS node_kind, r.subject, r.student_id,
                s.code AS school_code, s.name AS school_name
         FROM role_assignments r JOIN org_nodes n ON n.id = r.node_id
         LEFT JOIN org_nodes s ON s.id = CASE WHEN n.kind = 'school' THEN n.id ELSE n.school_id END
         WHERE r.person_id = $1 AND n.active = TRUE ORDER BY r.created_at",
    ).bind(person).fetch_all(p).await)?;
    let mut classes: Vec<Value> = Vec::new();
    let mut schools: Vec<String> = Vec::new();
    let list: Vec<Value> = roles
        .iter()
        .map(|r| {
            if r.node_kind == "class" && !classes.iter().any(|c| c["id"] == r.node_id.to_string()) {
                classes.push(json!({"id": r.node_id.to_string(), "name": r.node_name}));
            }
            if let Some(code) = &r.school_code
                && !schools.contains(code)
            {
                schools.push(code.clone());
            }
            json!({
                "role": r.role,
                "scope": {"id": r.node_id.to_string(), "kind": r.node_kind, "name": r.node_name},
                "school_code": r.school_code,
                "school_name": r.school_name,
                "subject": r.subject,
                "student": r.student_id.map(|s| s.to_string()),
            })
        })
        .collect();
    Ok(json!({
        "roles": list,
        "school_code": schools.first(),
        "school_codes": schools,
        "classes": classes,
        "staff_no": row.staff_no,
        "registry_no": row.registry_no.as_ref().filter(|_| numbers),
    }))
}

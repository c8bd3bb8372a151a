//! Account slips (账号条): the initial passwords of the accounts an import created, issued for
//! one class by its head teacher (or an administrator) and handed out printed or as XLSX.
//! Passwords are generated when issued and shown once; only their hashes are kept. Issuing again
//! replaces the passwords of the accounts that have still never been used, so a lost slip is
//! replaced by printing the class again.

use crate::model::NodeKind;
use crate::nodes;
use kernel::authz::{self, Permission};
use kernel::{AppError, AppResult, AuditEvent, Ctx, NodeId, PersonId, Role, on_db};
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct Slip {
    pub student: String,
    pub person_id: PersonId,
    pub name: String,
    /// student | guardian
    pub role: String,
    /// Guardians: the GB/T 4761 relation.
    pub relation: Option<String>,
    pub username: String,
    pub password: String,
}

#[derive(sqlx::FromRow)]
struct Waiting {
    student: String,
    person_id: PersonId,
    name: String,
    role: String,
    relation: Option<String>,
    username: String,
}

/// Accounts of the class's students and their guardians that have never been used.
const WAITING: &str =
    "SELECT st.name AS student, st.id AS person_id, st.name, 'student' AS role, NULL AS relation, a.username
     FROM role_assignments r JOIN persons st ON st.id = r.person_id AND st.active = TRUE
     JOIN accounts a ON a.person_id = st.id
     WHERE r.node_id = $1 AND r.role = 'student' AND a.last_login_at IS NULL
       AND a.must_change_password = TRUE
     UNION ALL
     SELECT st.name AS student, g.id AS person_id, g.name, 'guardian' AS role, f.relation, a.username
     FROM role_assignments r JOIN persons st ON st.id = r.person_id AND st.active = TRUE
     JOIN family_members f ON f.student_id = st.id AND f.is_guardian = TRUE
     JOIN persons g ON g.id = f.person_id AND g.active = TRUE
     JOIN accounts a ON a.person_id = g.id
     WHERE r.node_id = $1 AND r.role = 'student' AND a.last_login_at IS NULL
       AND a.must_change_password = TRUE
     ORDER BY 1, 4 DESC, 3";

/// Whether the actor may issue this class's accounts: its head teacher, or an administrator.
async fn may_issue(cx: &Ctx<'_>, class: NodeId) -> AppResult<bool> {
    Ok(cx
        .actor
        .grants_of(Role::HeadTeacher)
        .any(|g| g.node_id == class)
        || authz::may(cx.db(), cx.actor, Permission::ManagePeople, class).await?)
}

/// How many of the class's accounts wait for a password, if the actor may issue them.
pub async fn waiting(cx: &Ctx<'_>, class: NodeId) -> AppResult<Option<usize>> {
    if !may_issue(cx, class).await? {
        return Ok(None);
    }
    let rows: Vec<Waiting> =
        on_db!(cx.db(), p => sqlx::query_as(WAITING).bind(class).fetch_all(p).await)?;
    Ok(Some(dedup(rows).len()))
}

/// A guardian of two children of the class gets one slip.
fn dedup(rows: Vec<Waiting>) -> Vec<Waiting> {
    let mut seen = std::collections::HashSet::new();
    rows.into_iter()
        .filter(|w| seen.insert(w.person_id))
        .collect()
}

/// Issues new initial passwords to the class's unused accounts and returns them, once.
pub async fn issue(cx: &Ctx<'_>, class: NodeId) -> AppResult<Vec<Slip>> {
    let node = nodes::find(cx.db(), class)
        .await?
        .filter(|n| n.kind() == Some(NodeKind::Class))
        .ok_or(AppError::NotFound("directory.class_not_found"))?;
    if !may_issue(cx, node.id).await? {
        return Err(AppError::NotFound("directory.class_not_found"));
    }
    let rows: Vec<Waiting> =
        on_db!(cx.db(), p => sqlx::query_as(WAITING).bind(class).fetch_all(p).await)?;
    let rows = dedup(rows);
    // Hash on every core (the hashing semaphore bounds it), then write in one transaction.
    let mut hashing = tokio::task::JoinSet::new();
    for (i, _) in rows.iter().enumerate() {
        let state = cx.state.clone();
        hashing.spawn(async move {
            let password = kernel::secret::initial_password();
            let hash = identity::password::hash(&state, password.clone()).await;
            (i, password, hash)
        });
    }
    let mut passwords: Vec<Option<(String, String)>> = vec![None; rows.len()];
    while let Some(done) = hashing.join_next().await {
        let (i, password, hash) = done.map_err(AppError::internal)?;
        passwords[i] = Some((password, hash?));
    }
    let mut tx = cx.begin().await?;
    let mut slips = Vec::with_capacity(rows.len());
    for (w, p) in rows.into_iter().zip(passwords) {
        let Some((password, hash)) = p else { continue };
        identity::accounts::set_password(&mut tx, w.person_id, &hash, true, cx.now).await?;
        slips.push(Slip {
            student: w.student,
            person_id: w.person_id,
            name: w.name,
            role: w.role,
            relation: w.relation,
            username: w.username,
            password,
        });
    }
    cx.audit(
        &mut tx,
        AuditEvent::new("account.issue")
            .object("class", class)
            .node(class)
            .detail(serde_json::json!({ "accounts": slips.len() })),
    )
    .await?;
    tx.commit().await?;
    Ok(slips)
}

/// The slips as XLSX: one row each, for a class teacher's own printing or messaging.
pub fn xlsx(
    slips: &[Slip],
    locale: kernel::Locale,
    relation: impl Fn(&str) -> String,
) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    use kernel::i18n::t;
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    let heads = [
        "slips.student",
        "slips.holder",
        "slips.relation",
        "slips.username",
        "slips.password",
    ];
    for (c, k) in heads.iter().enumerate() {
        ws.write_string(0, c as u16, t(locale, k))?;
        ws.set_column_width(c as u16, 16)?;
    }
    for (r, s) in slips.iter().enumerate() {
        let row = r as u32 + 1;
        let rel = match &s.relation {
            Some(code) => relation(code),
            None => t(locale, "role.student").to_owned(),
        };
        ws.write_string(row, 0, &s.student)?;
        ws.write_string(row, 1, &s.name)?;
        ws.write_string(row, 2, rel)?;
        ws.write_string(row, 3, &s.username)?;
        ws.write_string(row, 4, &s.password)?;
    }
    wb.save_to_buffer()
}

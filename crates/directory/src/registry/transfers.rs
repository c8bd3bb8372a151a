//! Transfers between schools of a region (转学). The receiving school's administrator asks for
//! a student by registry number and name, with the class they will join and a reason; the
//! sending school's administrator approves, then an administrator of the region above both
//! schools (the district, or the city when the schools are in different districts). Either may
//! reject with a comment; the receiving school may cancel while the request is pending.
//!
//! Until the transfer is approved the receiving school sees only the student's name, the
//! (masked) registry number and the sending school. On the final approval, in one transaction,
//! the student's person and record move to the new school, the class role moves to the new
//! class, class history closes at the old class and opens at the new one (`transfer`), each
//! school gets its registry change record (21 转出 at the sending school, 22 转入 at the
//! receiving one), the guardians' roles follow, and a guardian owned by the old school with no
//! other tie to it moves too. Both schools' change logs and audit logs record it.

use super::kinds::{self, TRANSFER_IN, TRANSFER_OUT};
use super::membership::{self, ChangeRecord};
use super::{actor_id, clean_note};
use crate::changes::{self, Entity};
use crate::codes::{Table, name as code_name};
use crate::model::NodeKind;
use crate::{nodes, validate};
use chrono::{DateTime, NaiveDate, Utc};
use kernel::audit::AuditEvent;
use kernel::authz::{self, Permission};
use kernel::error::unique_violation;
use kernel::{
    AppError, AppResult, Ctx, Db, FieldErrors, NodeId, PersonId, TransferId, Tx, on_db, on_tx,
};
use serde::{Deserialize, Serialize};

pub const NOT_FOUND: &str = "registry.transfer_not_found";

/// A transfer request with the names a page shows.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Transfer {
    pub id: TransferId,
    pub person_id: PersonId,
    pub student_name: String,
    /// Masked.
    pub registry_no: Option<String>,
    pub from_school_id: NodeId,
    pub from_school_name: String,
    pub to_school_id: NodeId,
    pub to_school_name: String,
    pub to_class_id: NodeId,
    pub to_class_name: String,
    /// The region that approves last.
    pub approver_node_id: NodeId,
    pub approver_name: String,
    /// jyt1001_registry_change_reason, and its name.
    pub reason: String,
    #[sqlx(skip)]
    pub reason_name: String,
    pub note: Option<String>,
    /// pending_sending | pending_district | approved | rejected | cancelled
    pub status: String,
    pub requested_by_name: Option<String>,
    pub requested_at: DateTime<Utc>,
    pub sending_by_name: Option<String>,
    pub sending_at: Option<DateTime<Utc>>,
    pub sending_comment: Option<String>,
    pub district_by_name: Option<String>,
    pub district_at: Option<DateTime<Utc>>,
    pub district_comment: Option<String>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub effective_on: Option<NaiveDate>,
}

impl Transfer {
    fn named(mut self) -> Self {
        self.reason_name = kinds::reason_name(&self.reason);
        self.registry_no = self
            .registry_no
            .as_deref()
            .map(kernel::privacy::mask_id_number);
        self
    }
    pub fn is_pending(&self) -> bool {
        matches!(self.status.as_str(), "pending_sending" | "pending_district")
    }
}

const SELECT: &str = "SELECT t.id, t.person_id, p.name AS student_name, p.registry_no,
        t.from_school_id, fs.name AS from_school_name, t.to_school_id, ts.name AS to_school_name,
        t.to_class_id, COALESCE(g.name || ' ', '') || c.name AS to_class_name,
        t.approver_node_id, an.name AS approver_name, t.reason, t.note, t.status,
        rb.name AS requested_by_name, t.requested_at, sb.name AS sending_by_name, t.sending_at, t.sending_comment,
        db.name AS district_by_name, t.district_at, t.district_comment, t.cancelled_at, t.effective_on
    FROM transfer_requests t JOIN persons p ON p.id = t.person_id
    JOIN org_nodes fs ON fs.id = t.from_school_id JOIN org_nodes ts ON ts.id = t.to_school_id
    JOIN org_nodes c ON c.id = t.to_class_id LEFT JOIN org_nodes g ON g.id = c.parent_id
    JOIN org_nodes an ON an.id = t.approver_node_id
    LEFT JOIN persons rb ON rb.id = t.requested_by LEFT JOIN persons sb ON sb.id = t.sending_by
    LEFT JOIN persons db ON db.id = t.district_by";

async fn find(db: &Db, id: TransferId) -> AppResult<Option<Transfer>> {
    let t: Option<Transfer> = on_db!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(format!("{SELECT} WHERE t.id = $1")))
        .bind(id).fetch_optional(c).await)?;
    Ok(t.map(Transfer::named))
}

/// What the viewer may do with a request.
#[derive(Debug, Clone, Copy, Default, Serialize, utoipa::ToSchema)]
pub struct Allowed {
    /// Approve or reject at the current step.
    pub decide: bool,
    /// Cancel (the receiving school, while pending).
    pub cancel: bool,
    /// Open the student's page (the sending side; the receiving side once approved).
    pub view_student: bool,
}

/// A request and what the viewer may do with it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TransferView {
    pub transfer: Transfer,
    pub allowed: Allowed,
}

/// Who administers which side of a request.
struct Sides {
    sending: bool,
    receiving: bool,
    region: bool,
}

async fn sides(cx: &Ctx<'_>, t: &Transfer) -> AppResult<Sides> {
    let db = cx.db();
    Ok(Sides {
        sending: authz::administers(db, cx.actor, t.from_school_id).await?,
        receiving: authz::administers(db, cx.actor, t.to_school_id).await?,
        region: authz::administers(db, cx.actor, t.approver_node_id).await?,
    })
}

/// The request if the actor administers one of its sides; otherwise `NotFound`.
async fn visible(cx: &Ctx<'_>, id: TransferId) -> AppResult<(Transfer, Sides)> {
    let t = find(cx.db(), id)
        .await?
        .ok_or(AppError::NotFound(NOT_FOUND))?;
    let s = sides(cx, &t).await?;
    if !(s.sending || s.receiving || s.region) {
        return Err(AppError::NotFound(NOT_FOUND));
    }
    Ok((t, s))
}

fn allowed(t: &Transfer, s: &Sides) -> Allowed {
    Allowed {
        decide: match t.status.as_str() {
            "pending_sending" => s.sending,
            "pending_district" => s.region,
            _ => false,
        },
        cancel: t.is_pending() && s.receiving,
        view_student: if t.status == "approved" {
            s.receiving || s.region
        } else {
            s.sending || s.region
        },
    }
}

/// One request, for the administrators of either school or of the approving region.
pub async fn get(cx: &Ctx<'_>, id: TransferId) -> AppResult<TransferView> {
    let (transfer, s) = visible(cx, id).await?;
    let allowed = allowed(&transfer, &s);
    Ok(TransferView { transfer, allowed })
}

/// The requests a node's administrators see on its page.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct TransferLists {
    /// Schools: pending requests to take students in.
    pub incoming: Vec<Transfer>,
    /// Schools: pending requests for students of this school.
    pub outgoing: Vec<Transfer>,
    /// Regions: requests waiting for this region's approval.
    pub waiting: Vec<Transfer>,
    /// Regions: requests this region approves last that wait for the sending school.
    pub at_schools: Vec<Transfer>,
    /// The last 20 decided or cancelled requests.
    pub recent: Vec<Transfer>,
}

/// A node's transfer requests: in and out for a school, waiting for approval for a region.
pub async fn for_node(cx: &Ctx<'_>, node: NodeId) -> AppResult<TransferLists> {
    let n = nodes::get(cx, node).await?;
    if matches!(n.kind(), Some(NodeKind::Grade | NodeKind::Class) | None) {
        return Err(AppError::NotFound("directory.node_not_found"));
    }
    authz::require(cx.db(), cx.actor, Permission::ManagePeople, node).await?;
    let db = cx.db();
    let list = |cond: &'static str| async move {
        let rows: Vec<Transfer> = on_db!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{SELECT} WHERE {cond} ORDER BY t.updated_at DESC LIMIT 100"
        ))).bind(node).fetch_all(c).await)?;
        AppResult::Ok(rows.into_iter().map(Transfer::named).collect::<Vec<_>>())
    };
    let mut out = TransferLists::default();
    match n.kind() {
        Some(NodeKind::School) => {
            out.incoming =
                list("t.to_school_id = $1 AND t.status IN ('pending_sending', 'pending_district')")
                    .await?;
            out.outgoing = list(
                "t.from_school_id = $1 AND t.status IN ('pending_sending', 'pending_district')",
            )
            .await?;
            let mut recent = list("(t.to_school_id = $1 OR t.from_school_id = $1) AND t.status IN ('approved', 'rejected', 'cancelled')").await?;
            recent.truncate(20);
            out.recent = recent;
        }
        Some(k) if k.is_region() => {
            out.waiting = list("t.approver_node_id = $1 AND t.status = 'pending_district'").await?;
            out.at_schools =
                list("t.approver_node_id = $1 AND t.status = 'pending_sending'").await?;
            let mut recent = list(
                "t.approver_node_id = $1 AND t.status IN ('approved', 'rejected', 'cancelled')",
            )
            .await?;
            recent.truncate(20);
            out.recent = recent;
        }
        _ => {}
    }
    Ok(out)
}

/// A receiving school's request.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
pub struct NewTransfer {
    /// The student's registry number (全国学籍号).
    pub registry_no: String,
    /// The student's name, as a check.
    pub name: String,
    /// The class of the receiving school the student will join.
    pub to_class_id: Option<NodeId>,
    /// jyt1001_registry_change_reason.
    pub reason: String,
    pub note: Option<String>,
}

/// The lowest node above both schools.
async fn common_region(tx: &mut Tx, a: NodeId, b: NodeId) -> AppResult<Option<NodeId>> {
    let row: Option<(NodeId,)> = on_tx!(tx, c => sqlx::query_as(
        "SELECT x.ancestor_id FROM org_closure x JOIN org_closure y ON y.ancestor_id = x.ancestor_id
         WHERE x.descendant_id = $1 AND y.descendant_id = $2 AND x.depth > 0 AND y.depth > 0
         ORDER BY x.depth ASC LIMIT 1",
    ).bind(a).bind(b).fetch_optional(c).await)?;
    Ok(row.map(|r| r.0))
}

/// Asks for a student to be transferred into `to_school`. The receiving school's administrators.
pub async fn request(cx: &Ctx<'_>, to_school: NodeId, input: NewTransfer) -> AppResult<Transfer> {
    let school = nodes::get(cx, to_school).await?;
    authz::require(cx.db(), cx.actor, Permission::ManagePeople, to_school).await?;
    if school.kind() != Some(NodeKind::School) || !school.active {
        return Err(AppError::NotFound("directory.node_not_found"));
    }
    let db = cx.db();
    let mut errors = FieldErrors::new();
    let registry_no = validate::normalize_code(&input.registry_no).to_uppercase();
    let name: String = input.name.chars().filter(|c| !c.is_whitespace()).collect();
    if registry_no.is_empty() {
        errors.add("registry_no", "error.registry.registry_no_required");
    }
    if name.is_empty() {
        errors.add("name", "error.registry.name_required");
    }
    let reason = input.reason.trim().to_owned();
    if reason.is_empty() {
        errors.add("reason", "error.registry.reason_required");
    } else if code_name(Table::RegistryChangeReason, &reason).is_none() {
        errors.add("reason", "error.registry.unknown_reason");
    }
    let note = clean_note(input.note, &mut errors);
    let mut tx = cx.begin().await?;
    let class = match input.to_class_id {
        Some(id) => membership::class_info(&mut tx, id).await?,
        None => None,
    };
    match &class {
        Some(c) if c.school == to_school && c.active => {}
        _ if input.to_class_id.is_none() => {
            errors.add("to_class_id", "error.registry.class_required")
        }
        _ => errors.add("to_class_id", "error.registry.class_not_in_school"),
    }
    // The student, found by registry number and name; "not found" either way.
    let mut student = None;
    if !registry_no.is_empty() && !name.is_empty() {
        let row: Option<(PersonId, String)> = on_tx!(&mut tx, c => sqlx::query_as(
            "SELECT id, name FROM persons WHERE registry_no = $1 AND active = TRUE",
        ).bind(&registry_no).fetch_optional(c).await)?;
        match row {
            Some((id, n))
                if n.chars().filter(|c| !c.is_whitespace()).collect::<String>() == name =>
            {
                match membership::current(&mut tx, id).await {
                    Ok(cur) => student = Some(cur),
                    Err(AppError::NotFound(_)) => {
                        errors.add("registry_no", "error.registry.student_not_found")
                    }
                    Err(e) => return Err(e),
                }
            }
            _ => errors.add("registry_no", "error.registry.student_not_found"),
        }
    }
    if let Some(cur) = &student {
        if cur.school == to_school {
            errors.add("registry_no", "error.registry.already_here");
        } else if cur.status != "enrolled" {
            errors.add("registry_no", "error.registry.student_not_enrolled");
        }
    }
    errors.into_result()?;
    let (Some(cur), Some(class)) = (student, class) else {
        return Err(AppError::field(
            "registry_no",
            "error.registry.student_not_found",
        ));
    };
    let from_kind: Option<(String,)> = on_tx!(&mut tx, c => sqlx::query_as(
        "SELECT kind FROM org_nodes WHERE id = $1 AND active = TRUE",
    ).bind(cur.school).fetch_optional(c).await)?;
    if from_kind.map(|k| k.0).as_deref() != Some(NodeKind::School.as_str()) {
        return Err(AppError::field(
            "registry_no",
            "error.registry.student_not_found",
        ));
    }
    let approver = common_region(&mut tx, cur.school, to_school)
        .await?
        .ok_or_else(|| AppError::field("registry_no", "error.registry.no_common_region"))?;
    let id = TransferId::new();
    on_tx!(&mut tx, c => sqlx::query(
        "INSERT INTO transfer_requests (id, person_id, from_school_id, to_school_id, to_class_id, approver_node_id, reason, note,
            status, requested_by, requested_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending_sending', $9, $10, $10)",
    ).bind(id).bind(cur.person).bind(cur.school).bind(to_school).bind(class.id).bind(approver).bind(&reason)
    .bind(&note).bind(actor_id(cx)).bind(cx.now).execute(c).await.map(|r| r.rows_affected()))
    .map_err(|e| unique_violation(e, "registry.transfer_pending", "registry_no"))?;
    cx.audit(
        &mut tx,
        AuditEvent::new("transfer.request")
            .object("transfer", id)
            .node(to_school)
            .detail(serde_json::json!({
                "person": cur.person, "from_school": cur.school, "to_class": class.id, "reason": reason,
            })),
    )
    .await?;
    tx.commit().await?;
    find(db, id).await?.ok_or(AppError::NotFound(NOT_FOUND))
}

/// A decision's comment.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
pub struct Decision {
    pub comment: Option<String>,
}

fn comment(d: Decision, required: bool) -> AppResult<Option<String>> {
    let c = d
        .comment
        .map(|c| c.trim().to_owned())
        .filter(|c| !c.is_empty());
    if required && c.is_none() {
        return Err(AppError::field(
            "comment",
            "error.registry.comment_required",
        ));
    }
    if c.as_ref().is_some_and(|c| c.chars().count() > 500) {
        return Err(AppError::field("comment", "error.registry.note_too_long"));
    }
    Ok(c)
}

fn not_pending() -> AppError {
    AppError::Conflict(
        "registry.transfer_not_pending",
        FieldErrors(vec![(
            "status".into(),
            "error.registry.transfer_not_pending".into(),
        )]),
    )
}

/// Moves the request from `from` to `to` at its step; `Conflict` if someone else moved it first.
async fn step(
    tx: &mut Tx,
    cx: &Ctx<'_>,
    id: TransferId,
    from: &str,
    to: &str,
    comment: Option<&str>,
) -> AppResult<()> {
    let sql = match from {
        "pending_sending" => {
            "UPDATE transfer_requests SET status = $3, sending_by = $4, sending_at = $5, sending_comment = $6, updated_at = $5 WHERE id = $1 AND status = $2"
        }
        _ => {
            "UPDATE transfer_requests SET status = $3, district_by = $4, district_at = $5, district_comment = $6, updated_at = $5 WHERE id = $1 AND status = $2"
        }
    };
    let n = on_tx!(&mut *tx, c => sqlx::query(sql).bind(id).bind(from).bind(to).bind(actor_id(cx)).bind(cx.now).bind(comment)
        .execute(c).await.map(|r| r.rows_affected()))?;
    if n == 1 { Ok(()) } else { Err(not_pending()) }
}

/// Approves the request at its current step: the sending school's, then the region's (which
/// completes the transfer).
pub async fn approve(cx: &Ctx<'_>, id: TransferId, d: Decision) -> AppResult<TransferView> {
    let (t, s) = visible(cx, id).await?;
    let comment = comment(d, false)?;
    if !t.is_pending() {
        return Err(not_pending());
    }
    if !allowed(&t, &s).decide {
        return Err(AppError::Forbidden);
    }
    let mut tx = cx.begin().await?;
    if t.status == "pending_sending" {
        step(
            &mut tx,
            cx,
            id,
            "pending_sending",
            "pending_district",
            comment.as_deref(),
        )
        .await?;
        cx.audit(
            &mut tx,
            AuditEvent::new("transfer.approve_sending")
                .object("transfer", id)
                .node(t.from_school_id)
                .detail(serde_json::json!({ "person": t.person_id, "comment": comment })),
        )
        .await?;
    } else {
        step(
            &mut tx,
            cx,
            id,
            "pending_district",
            "approved",
            comment.as_deref(),
        )
        .await?;
        complete(&mut tx, cx, &t).await?;
    }
    tx.commit().await?;
    get(cx, id).await
}

/// Rejects the request at its current step, with a comment.
pub async fn reject(cx: &Ctx<'_>, id: TransferId, d: Decision) -> AppResult<TransferView> {
    let (t, s) = visible(cx, id).await?;
    let comment = comment(d, true)?;
    if !t.is_pending() {
        return Err(not_pending());
    }
    if !allowed(&t, &s).decide {
        return Err(AppError::Forbidden);
    }
    let mut tx = cx.begin().await?;
    step(&mut tx, cx, id, &t.status, "rejected", comment.as_deref()).await?;
    let node = if t.status == "pending_sending" {
        t.from_school_id
    } else {
        t.approver_node_id
    };
    cx.audit(
        &mut tx,
        AuditEvent::new("transfer.reject")
            .object("transfer", id)
            .node(node)
            .detail(
                serde_json::json!({ "person": t.person_id, "step": t.status, "comment": comment }),
            ),
    )
    .await?;
    tx.commit().await?;
    get(cx, id).await
}

/// The receiving school withdraws its pending request.
pub async fn cancel(cx: &Ctx<'_>, id: TransferId) -> AppResult<TransferView> {
    let (t, s) = visible(cx, id).await?;
    if !t.is_pending() {
        return Err(not_pending());
    }
    if !s.receiving {
        return Err(AppError::Forbidden);
    }
    let mut tx = cx.begin().await?;
    let n = on_tx!(&mut tx, c => sqlx::query(
        "UPDATE transfer_requests SET status = 'cancelled', cancelled_by = $2, cancelled_at = $3, updated_at = $3
         WHERE id = $1 AND status IN ('pending_sending', 'pending_district')",
    ).bind(id).bind(actor_id(cx)).bind(cx.now).execute(c).await.map(|r| r.rows_affected()))?;
    if n != 1 {
        return Err(not_pending());
    }
    cx.audit(
        &mut tx,
        AuditEvent::new("transfer.cancel")
            .object("transfer", id)
            .node(t.to_school_id)
            .detail(serde_json::json!({ "person": t.person_id })),
    )
    .await?;
    tx.commit().await?;
    get(cx, id).await
}

fn stale() -> AppError {
    AppError::Conflict(
        "registry.transfer_stale",
        FieldErrors(vec![(
            "status".into(),
            "error.registry.transfer_stale".into(),
        )]),
    )
}

/// The move itself, inside the final approval's transaction.
async fn complete(tx: &mut Tx, cx: &Ctx<'_>, t: &Transfer) -> AppResult<()> {
    let (from, to, person) = (t.from_school_id, t.to_school_id, t.person_id);
    let today = cx.today();
    // The student and the class as they are now: still at the sending school, still enrolled,
    // the class still open.
    let cur = membership::current(tx, person).await?;
    if cur.school != from || cur.status != "enrolled" {
        return Err(stale());
    }
    let class = match membership::class_info(tx, t.to_class_id).await? {
        Some(c) if c.school == to && c.active => c,
        _ => return Err(stale()),
    };
    on_tx!(&mut *tx, c => sqlx::query("UPDATE persons SET org_id = $2, updated_at = $3 WHERE id = $1")
        .bind(person).bind(to).bind(cx.now).execute(c).await.map(|r| r.rows_affected()))?;
    membership::set_record(tx, person, to, "enrolled", cx.now).await?;
    // The school number is the old school's own.
    on_tx!(&mut *tx, c => sqlx::query("UPDATE students SET school_no = NULL WHERE person_id = $1")
        .bind(person).execute(c).await.map(|r| r.rows_affected()))?;
    membership::join_class(tx, person, &class, "transfer", today, cx.now).await?;
    let record = |school, kind, other| ChangeRecord {
        person,
        school,
        kind,
        reason: Some(t.reason.as_str()),
        effective_on: today,
        other_school: Some(other),
        note: t.note.as_deref(),
        actor: actor_id(cx),
    };
    membership::write_change(tx, &record(from, TRANSFER_OUT, to), cx.now).await?;
    membership::write_change(tx, &record(to, TRANSFER_IN, from), cx.now).await?;
    on_tx!(&mut *tx, c => sqlx::query("UPDATE transfer_requests SET effective_on = $2 WHERE id = $1")
        .bind(t.id).bind(today).execute(c).await.map(|r| r.rows_affected()))?;
    let guardians_moved = move_family(tx, cx, person, from, to).await?;
    for school in [from, to] {
        for entity in [Entity::Person, Entity::Student, Entity::Family] {
            changes::record(tx, cx.now, school, entity, person.0).await?;
        }
    }
    let detail = serde_json::json!({
        "person": person, "from_school": from, "to_school": to, "to_class": class.id,
        "from_class": cur.class, "reason": t.reason, "guardians_moved": guardians_moved,
    });
    cx.audit(
        tx,
        AuditEvent::new("transfer.approve")
            .object("transfer", t.id)
            .node(t.approver_node_id)
            .detail(detail.clone()),
    )
    .await?;
    cx.audit(
        tx,
        AuditEvent::new("student.transfer_out")
            .object("person", person)
            .node(from)
            .detail(detail.clone()),
    )
    .await?;
    cx.audit(
        tx,
        AuditEvent::new("student.transfer_in")
            .object("person", person)
            .node(to)
            .detail(detail),
    )
    .await?;
    Ok(())
}

/// The guardians follow the child: their guardian roles (scoped to the child's school) move to
/// the new school, and a family member owned by the old school who has no other tie to it (no
/// other child there, no role there) moves with the child. Returns how many people moved.
async fn move_family(
    tx: &mut Tx,
    cx: &Ctx<'_>,
    student: PersonId,
    from: NodeId,
    to: NodeId,
) -> AppResult<u64> {
    on_tx!(&mut *tx, c => sqlx::query(
        "UPDATE role_assignments SET node_id = $2 WHERE role = 'guardian' AND student_id = $1 AND node_id = $3",
    ).bind(student).bind(to).bind(from).execute(c).await.map(|r| r.rows_affected()))?;
    let family: Vec<(PersonId,)> = on_tx!(&mut *tx, c => sqlx::query_as(
        "SELECT p.id FROM persons p WHERE p.org_id = $2 AND p.id <> $1 AND (
             p.id IN (SELECT person_id FROM family_members WHERE student_id = $1)
             OR p.id IN (SELECT person_id FROM role_assignments WHERE role = 'guardian' AND student_id = $1))",
    ).bind(student).bind(from).fetch_all(c).await)?;
    let mut moved = 0;
    for (g,) in family {
        let (roles,): (i64,) = on_tx!(&mut *tx, c => sqlx::query_as(
            "SELECT COUNT(*) FROM role_assignments r JOIN org_closure x ON x.descendant_id = r.node_id AND x.ancestor_id = $2
             WHERE r.person_id = $1",
        ).bind(g).bind(from).fetch_one(c).await)?;
        let (children,): (i64,) = on_tx!(&mut *tx, c => sqlx::query_as(
            "SELECT COUNT(*) FROM family_members f JOIN persons s ON s.id = f.student_id
             WHERE f.person_id = $1 AND f.student_id <> $3 AND s.org_id = $2",
        ).bind(g).bind(from).bind(student).fetch_one(c).await)?;
        if roles > 0 || children > 0 {
            continue;
        }
        on_tx!(&mut *tx, c => sqlx::query("UPDATE persons SET org_id = $2, updated_at = $3 WHERE id = $1")
            .bind(g).bind(to).bind(cx.now).execute(c).await.map(|r| r.rows_affected()))?;
        for school in [from, to] {
            changes::record(tx, cx.now, school, Entity::Person, g.0).await?;
        }
        moved += 1;
    }
    Ok(moved)
}

//! The upper side of a push: a batch of a lower instance's records applied in one transaction.
//!
//! Regions and schools are matched by their national codes (division code, school code) to
//! the upper's own nodes, which must lie at or below the link's node (or above it, for the
//! regions over a school's own tree); a school the upper does not know yet is created under its
//! mapped parent. Grades, classes and people keep the lower's ids (UUIDv7, unique across
//! instances). A record that clashes with one the upper holds (the same registry number at
//! another school, a staff number taken in the school, a node outside the link) is not applied
//! and comes back as a conflict; the rest of the batch goes through. Every record applied is
//! appended to the upper's own change log, so an upper that is itself linked further up passes
//! it on.

use super::snapshot::{NodeRec, PersonRec, Snapshot, StaffRec, StudentRec};
use super::{Batch, ConflictRec, Link, PushReply};
use crate::changes::{self, Entity};
use chrono::{DateTime, Utc};
use kernel::{AppError, AppResult, AuditEvent, NodeId, PersonId, RequestMeta, Tx, on_tx};
use std::collections::HashMap;

struct Mapper {
    link: kernel::LinkId,
    root: NodeId,
    map: HashMap<NodeId, NodeId>,
    /// Upper nodes known to lie at or below the link's node.
    inner: std::collections::HashSet<NodeId>,
    kinds: HashMap<NodeId, String>,
    now: DateTime<Utc>,
}

impl Mapper {
    fn get(&self, remote: NodeId) -> Option<NodeId> {
        self.map.get(&remote).copied()
    }

    /// The upper's node for a lower node, if it lies at or below the link's node: records
    /// may point at the regions above (as parents), but nothing is written there.
    async fn inside(&mut self, tx: &mut Tx, remote: NodeId) -> AppResult<Option<NodeId>> {
        match self.get(remote) {
            Some(local) if self.within(tx, local).await? => Ok(Some(local)),
            _ => Ok(None),
        }
    }

    /// An upper node's kind.
    async fn kind(&mut self, tx: &mut Tx, node: NodeId) -> AppResult<String> {
        if let Some(k) = self.kinds.get(&node) {
            return Ok(k.clone());
        }
        let (kind,): (String,) = on_tx!(&mut *tx, c => sqlx::query_as(
            "SELECT kind FROM org_nodes WHERE id = $1",
        ).bind(node).fetch_one(c).await)?;
        self.kinds.insert(node, kind.clone());
        Ok(kind)
    }

    /// Whether `node` lies at or below the link's node (found once, then remembered).
    async fn within(&mut self, tx: &mut Tx, node: NodeId) -> AppResult<bool> {
        if self.inner.contains(&node) {
            return Ok(true);
        }
        let yes = closure(tx, self.root, node).await?;
        if yes {
            self.inner.insert(node);
        }
        Ok(yes)
    }

    async fn remember(&mut self, tx: &mut Tx, remote: NodeId, local: NodeId) -> AppResult<()> {
        if remote != local && self.map.get(&remote) != Some(&local) {
            on_tx!(&mut *tx, c => sqlx::query(
                "INSERT INTO exchange_node_map (link_id, remote_id, local_id) VALUES ($1, $2, $3)
                 ON CONFLICT (link_id, remote_id) DO UPDATE SET local_id = excluded.local_id",
            ).bind(self.link).bind(remote).bind(local).execute(c).await.map(|_| ()))?;
        }
        self.map.insert(remote, local);
        Ok(())
    }

    /// Maps (and creates or updates, for grades, classes and new schools) one node.
    async fn node(&mut self, tx: &mut Tx, r: &NodeRec) -> AppResult<bool> {
        let parent = r.parent_id.and_then(|p| self.get(p));
        match r.kind.as_str() {
            "province" | "city" | "district" | "school" => {
                let code = r.code.clone().unwrap_or_default();
                let found: Option<(NodeId,)> = on_tx!(&mut *tx, c => sqlx::query_as(
                    "SELECT id FROM org_nodes WHERE kind = $1 AND code = $2",
                ).bind(&r.kind).bind(&code).fetch_optional(c).await)?;
                if let Some((local,)) = found {
                    // At or below the link's node, or one of the regions above it.
                    if self.within(tx, local).await? || closure(tx, local, self.root).await? {
                        self.remember(tx, r.id, local).await?;
                        return Ok(true);
                    }
                    return Ok(false);
                }
                match parent {
                    Some(p) if !code.is_empty() && self.within(tx, p).await? => {
                        self.insert(tx, r, p, (r.kind == "school").then_some(r.id))
                            .await?;
                        self.remember(tx, r.id, r.id).await?;
                        Ok(true)
                    }
                    _ => Ok(false),
                }
            }
            "grade" | "class" => {
                let (Some(p), Some(school)) = (parent, r.school_id.and_then(|s| self.get(s)))
                else {
                    return Ok(false);
                };
                if !self.within(tx, p).await? {
                    return Ok(false);
                }
                let old: Option<(Option<NodeId>, String, Option<NodeId>)> = on_tx!(&mut *tx, c => sqlx::query_as(
                    "SELECT parent_id, kind, school_id FROM org_nodes WHERE id = $1",
                ).bind(r.id).fetch_optional(c).await)?;
                match old {
                    None => self.insert(tx, r, p, Some(school)).await?,
                    Some((old_parent, kind, at)) => {
                        // The same grade or class of the same school, inside the link.
                        if kind != r.kind || at != Some(school) || !self.within(tx, r.id).await? {
                            return Ok(false);
                        }
                        if old_parent != Some(p) {
                            // Moved (the school year's turn): its closure rows follow.
                            on_tx!(&mut *tx, c => sqlx::query(
                                "DELETE FROM org_closure WHERE descendant_id = $1 AND depth > 0",
                            ).bind(r.id).execute(c).await.map(|_| ()))?;
                            on_tx!(&mut *tx, c => sqlx::query(
                                "INSERT INTO org_closure (ancestor_id, descendant_id, depth)
                                 SELECT ancestor_id, $1, depth + 1 FROM org_closure WHERE descendant_id = $2",
                            ).bind(r.id).bind(p).execute(c).await.map(|_| ()))?;
                        }
                        on_tx!(&mut *tx, c => sqlx::query(
                            "UPDATE org_nodes SET parent_id = $2, name = $3, stages = $4, grade_code = $5, entry_year = $6,
                                    active = $7, updated_at = $8 WHERE id = $1",
                        ).bind(r.id).bind(p).bind(&r.name).bind(&r.stages).bind(&r.grade_code).bind(r.entry_year)
                        .bind(r.active).bind(self.now).execute(c).await.map(|_| ()))?;
                    }
                }
                self.remember(tx, r.id, r.id).await?;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn insert(
        &self,
        tx: &mut Tx,
        r: &NodeRec,
        parent: NodeId,
        school: Option<NodeId>,
    ) -> AppResult<()> {
        let node = crate::model::Node {
            id: r.id,
            kind: r.kind.clone(),
            parent_id: Some(parent),
            name: r.name.clone(),
            code: r.code.clone(),
            school_type: r.school_type.clone(),
            stages: r.stages.clone(),
            grade_code: r.grade_code.clone(),
            entry_year: r.entry_year,
            school_id: if r.kind == "school" { None } else { school },
            active: r.active,
            created_at: self.now,
            updated_at: self.now,
        };
        crate::nodes::insert(tx, &node).await
    }
}

/// Whether `descendant` lies at or below `ancestor`, as the transaction sees the tree.
async fn closure(tx: &mut Tx, ancestor: NodeId, descendant: NodeId) -> AppResult<bool> {
    let row: Option<(i64,)> = on_tx!(&mut *tx, c => sqlx::query_as(
        "SELECT depth FROM org_closure WHERE ancestor_id = $1 AND descendant_id = $2",
    ).bind(ancestor).bind(descendant).fetch_optional(c).await)?;
    Ok(row.is_some())
}

/// The school code and name of a node, for conflict reports.
async fn school_of(tx: &mut Tx, node: NodeId) -> AppResult<(Option<String>, Option<String>)> {
    let row: Option<(Option<String>, String)> = on_tx!(&mut *tx, c => sqlx::query_as(
        "SELECT code, name FROM org_nodes WHERE id = $1",
    ).bind(node).fetch_optional(c).await)?;
    Ok(row.map_or((None, None), |(c, n)| (c, Some(n))))
}

struct Applier<'a> {
    mapper: Mapper,
    snap_nodes: HashMap<NodeId, &'a NodeRec>,
    conflicts: Vec<ConflictRec>,
    applied: Vec<PersonId>,
}

impl Applier<'_> {
    fn conflict(
        &mut self,
        p: &PersonRec,
        kind: &str,
        value: String,
        holder: (Option<String>, Option<String>),
    ) {
        let school = self.snap_nodes.get(&p.org_id);
        self.conflicts.push(ConflictRec {
            kind: kind.into(),
            value,
            person_id: p.id,
            person_name: p.name.clone(),
            school_code: school.and_then(|s| s.code.clone()),
            school_name: school.map(|s| s.name.clone()),
            holder_school_code: holder.0,
            holder_school_name: holder.1,
        });
    }

    /// Upserts a person unless they clash; returns their owning node here.
    async fn person(&mut self, tx: &mut Tx, p: &PersonRec) -> AppResult<Option<NodeId>> {
        let Some(org) = self.mapper.inside(tx, p.org_id).await? else {
            let code = self
                .snap_nodes
                .get(&p.org_id)
                .and_then(|n| n.code.clone())
                .unwrap_or_default();
            self.conflict(p, "node", code, (None, None));
            return Ok(None);
        };
        // A person the upper already holds must have come from this link: its own people (and
        // other links') are never written from below.
        let existing: Option<(NodeId, Option<kernel::LinkId>)> = on_tx!(&mut *tx, c => sqlx::query_as(
            "SELECT p.org_id, x.link_id FROM persons p LEFT JOIN exchange_accounts x ON x.person_id = p.id WHERE p.id = $1",
        ).bind(p.id).fetch_optional(c).await)?;
        if let Some((at, from)) = existing
            && (from != Some(self.mapper.link) || !self.mapper.within(tx, at).await?)
        {
            let holder = school_of(tx, at).await?;
            self.conflict(p, "person", p.id.to_string(), holder);
            return Ok(None);
        }
        if let Some(no) = &p.registry_no {
            let other: Option<(NodeId,)> = on_tx!(&mut *tx, c => sqlx::query_as(
                "SELECT org_id FROM persons WHERE registry_no = $1 AND id <> $2",
            ).bind(no).bind(p.id).fetch_optional(c).await)?;
            if let Some((at,)) = other {
                let holder = school_of(tx, at).await?;
                self.conflict(p, "registry_no", no.clone(), holder);
                return Ok(None);
            }
        }
        if let Some(no) = &p.staff_no {
            let other: Option<(NodeId,)> = on_tx!(&mut *tx, c => sqlx::query_as(
                "SELECT org_id FROM persons WHERE org_id = $1 AND staff_no = $2 AND id <> $3",
            ).bind(org).bind(no).bind(p.id).fetch_optional(c).await)?;
            if let Some((at,)) = other {
                let holder = school_of(tx, at).await?;
                self.conflict(p, "staff_no", no.clone(), holder);
                return Ok(None);
            }
        }
        let now = self.mapper.now;
        on_tx!(&mut *tx, c => sqlx::query(
            "INSERT INTO persons (id, org_id, name, gender, id_number, phone, email, staff_no, registry_no, active,
                 former_name, pinyin, birth_date, birthplace, ethnicity, nationality, id_type, gatqw, political_status,
                 health, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $21)
             ON CONFLICT (id) DO UPDATE SET org_id = excluded.org_id, name = excluded.name, gender = excluded.gender,
                 id_number = excluded.id_number, phone = excluded.phone, email = excluded.email,
                 staff_no = excluded.staff_no, registry_no = excluded.registry_no, active = excluded.active,
                 former_name = excluded.former_name, pinyin = excluded.pinyin, birth_date = excluded.birth_date,
                 birthplace = excluded.birthplace, ethnicity = excluded.ethnicity, nationality = excluded.nationality,
                 id_type = excluded.id_type, gatqw = excluded.gatqw, political_status = excluded.political_status,
                 health = excluded.health, updated_at = excluded.updated_at",
        ).bind(p.id).bind(org).bind(&p.name).bind(&p.gender).bind(&p.id_number).bind(&p.phone).bind(&p.email)
        .bind(&p.staff_no).bind(&p.registry_no).bind(p.active).bind(&p.former_name).bind(&p.pinyin)
        .bind(p.birth_date).bind(&p.birthplace).bind(&p.ethnicity).bind(&p.nationality).bind(&p.id_type)
        .bind(&p.gatqw).bind(&p.political_status).bind(&p.health).bind(now)
        .execute(c).await.map(|_| ()))?;
        on_tx!(&mut *tx, c => sqlx::query(
            "INSERT INTO exchange_accounts (person_id, link_id, registered, activated) VALUES ($1, $2, $3, $4)
             ON CONFLICT (person_id) DO UPDATE SET link_id = excluded.link_id, registered = excluded.registered,
                 activated = excluded.activated",
        ).bind(p.id).bind(self.mapper.link).bind(p.registered).bind(p.activated).execute(c).await.map(|_| ()))?;
        self.applied.push(p.id);
        Ok(Some(org))
    }

    async fn student(&mut self, tx: &mut Tx, s: &StudentRec) -> AppResult<Option<NodeId>> {
        let Some(org) = self.person(tx, &s.person).await? else {
            return Ok(None);
        };
        let id = s.person.id;
        let school = match &s.record {
            Some(r) => self.mapper.inside(tx, r.school_id).await?.unwrap_or(org),
            None => org,
        };
        if let Some(r) = &s.record {
            on_tx!(&mut *tx, c => sqlx::query(
                "INSERT INTO students (person_id, school_id, status, school_no, entry_month, category, study_mode, address,
                     hukou_division, hukou_nature, enrollment_mode, left_behind, migrant_child, only_child, disability,
                     inclusion, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
                 ON CONFLICT (person_id) DO UPDATE SET school_id = excluded.school_id, status = excluded.status,
                     school_no = excluded.school_no, entry_month = excluded.entry_month, category = excluded.category,
                     study_mode = excluded.study_mode, address = excluded.address, hukou_division = excluded.hukou_division,
                     hukou_nature = excluded.hukou_nature, enrollment_mode = excluded.enrollment_mode,
                     left_behind = excluded.left_behind, migrant_child = excluded.migrant_child,
                     only_child = excluded.only_child, disability = excluded.disability, inclusion = excluded.inclusion,
                     updated_at = excluded.updated_at",
            ).bind(id).bind(school).bind(&r.status).bind(&r.school_no).bind(r.entry_month).bind(&r.category)
            .bind(&r.study_mode).bind(&r.address).bind(&r.hukou_division).bind(&r.hukou_nature)
            .bind(&r.enrollment_mode).bind(&r.left_behind).bind(r.migrant_child).bind(r.only_child)
            .bind(&r.disability).bind(&r.inclusion).bind(self.mapper.now).execute(c).await.map(|_| ()))?;
        }
        let now = self.mapper.now;
        on_tx!(&mut *tx, c => sqlx::query(
            "DELETE FROM role_assignments WHERE person_id = $1 AND role = 'student'",
        ).bind(id).execute(c).await.map(|_| ()))?;
        let class = match s.class_id {
            Some(c) => self.mapper.inside(tx, c).await?,
            None => None,
        };
        let class = match class {
            Some(c) if self.mapper.kind(tx, c).await? == "class" => Some(c),
            _ => None,
        };
        if let Some(class) = class {
            grant(tx, id, "student", class, None, (None, None), now).await?;
        }
        on_tx!(&mut *tx, c => sqlx::query("DELETE FROM class_history WHERE person_id = $1")
            .bind(id).execute(c).await.map(|_| ()))?;
        for h in &s.history {
            let (Some(class), Some(at)) = (
                self.mapper.inside(tx, h.class_id).await?,
                self.mapper.inside(tx, h.school_id).await?,
            ) else {
                continue;
            };
            on_tx!(&mut *tx, c => sqlx::query(
                "INSERT INTO class_history (id, person_id, class_id, school_id, school_year, grade_name, class_name,
                     started_on, ended_on, reason)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            ).bind(h.id).bind(id).bind(class).bind(at).bind(h.school_year).bind(&h.grade_name).bind(&h.class_name)
            .bind(h.started_on).bind(h.ended_on).bind(&h.reason).execute(c).await.map(|_| ()))?;
        }
        on_tx!(&mut *tx, c => sqlx::query("DELETE FROM registry_changes WHERE person_id = $1")
            .bind(id).execute(c).await.map(|_| ()))?;
        for r in &s.changes {
            let Some(at) = self.mapper.inside(tx, r.school_id).await? else {
                continue;
            };
            let other = r.other_school_id.and_then(|o| self.mapper.get(o));
            on_tx!(&mut *tx, c => sqlx::query(
                "INSERT INTO registry_changes (id, person_id, school_id, kind, reason, effective_on, other_school_id, note, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            ).bind(r.id).bind(id).bind(at).bind(&r.kind).bind(&r.reason).bind(r.effective_on).bind(other)
            .bind(&r.note).bind(now).execute(c).await.map(|_| ()))?;
        }
        on_tx!(&mut *tx, c => sqlx::query("DELETE FROM family_members WHERE student_id = $1")
            .bind(id).execute(c).await.map(|_| ()))?;
        on_tx!(&mut *tx, c => sqlx::query(
            "DELETE FROM role_assignments WHERE role = 'guardian' AND student_id = $1",
        ).bind(id).execute(c).await.map(|_| ()))?;
        for f in &s.family {
            if self.person(tx, &f.person).await?.is_none() {
                continue;
            }
            on_tx!(&mut *tx, c => sqlx::query(
                "INSERT INTO family_members (student_id, person_id, relation, is_guardian, position, work_unit, education)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            ).bind(id).bind(f.person.id).bind(&f.relation).bind(f.is_guardian).bind(f.position)
            .bind(&f.work_unit).bind(&f.education).execute(c).await.map(|_| ()))?;
            if f.is_guardian {
                grant(
                    tx,
                    f.person.id,
                    "guardian",
                    school,
                    Some((id, &f.relation)),
                    (None, None),
                    now,
                )
                .await?;
            }
        }
        Ok(Some(school))
    }

    async fn staff(&mut self, tx: &mut Tx, s: &StaffRec) -> AppResult<Option<NodeId>> {
        let Some(org) = self.person(tx, &s.person).await? else {
            return Ok(None);
        };
        let id = s.person.id;
        if let Some(r) = &s.record {
            on_tx!(&mut *tx, c => sqlx::query(
                "INSERT INTO staff (person_id, staffing_category, title, education, positions, qualification_cert,
                     employment_start, status, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                 ON CONFLICT (person_id) DO UPDATE SET staffing_category = excluded.staffing_category,
                     title = excluded.title, education = excluded.education, positions = excluded.positions,
                     qualification_cert = excluded.qualification_cert, employment_start = excluded.employment_start,
                     status = excluded.status, updated_at = excluded.updated_at",
            ).bind(id).bind(&r.staffing_category).bind(&r.title).bind(&r.education).bind(&r.positions)
            .bind(&r.qualification_cert).bind(r.employment_start).bind(&r.status).bind(self.mapper.now)
            .execute(c).await.map(|_| ()))?;
        }
        on_tx!(&mut *tx, c => sqlx::query(
            "DELETE FROM role_assignments WHERE person_id = $1 AND role IN ('teacher', 'head_teacher')",
        ).bind(id).execute(c).await.map(|_| ()))?;
        let now = self.mapper.now;
        for t in &s.teaching {
            let Some(node) = self.mapper.inside(tx, t.node_id).await? else {
                continue;
            };
            // Only teaching roles, where they belong: never an administrator's grant.
            let kind = self.mapper.kind(tx, node).await?;
            let fits = match t.role.as_str() {
                "head_teacher" => kind == "class",
                "teacher" => kind == "class" || kind == "school",
                _ => false,
            };
            if fits {
                let teaching = (t.subject.as_deref(), t.weekly_periods);
                grant(tx, id, &t.role, node, None, teaching, now).await?;
            }
        }
        Ok(Some(org))
    }
}

async fn grant(
    tx: &mut Tx,
    person: PersonId,
    role: &str,
    node: NodeId,
    guardian: Option<(PersonId, &str)>,
    teaching: (Option<&str>, Option<i64>),
    now: DateTime<Utc>,
) -> AppResult<()> {
    on_tx!(&mut *tx, c => sqlx::query(
        "INSERT INTO role_assignments (id, person_id, role, node_id, student_id, relation, subject, weekly_periods, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    ).bind(kernel::RoleId::new()).bind(person).bind(role).bind(node).bind(guardian.map(|g| g.0))
    .bind(guardian.map(|g| g.1)).bind(teaching.0).bind(teaching.1).bind(now)
    .execute(c).await.map(|_| ()))?;
    Ok(())
}

/// Applies `batch` from the lower instance of `link` (an active `from_lower` link whose
/// signature has been checked). A batch the upper has already applied changes nothing; one
/// that starts past what the upper holds is refused with the upper's position, so the lower
/// goes back and resends.
pub async fn apply(
    db: &kernel::Db,
    link: &Link,
    batch: &Batch,
    now: DateTime<Utc>,
    meta: &RequestMeta,
) -> AppResult<PushReply> {
    let mut tx = db.begin().await?;
    // Takes the link's row for this transaction (PostgreSQL: two pushes of one link queue).
    let (seq,): (i64,) = on_tx!(&mut tx, c => sqlx::query_as(
        "UPDATE exchange_links SET updated_at = $2 WHERE id = $1 AND status = 'active' RETURNING seq",
    ).bind(link.id).bind(now).fetch_optional(c).await)?
    .ok_or(AppError::NotFound("exchange.link_not_found"))?;
    if batch.upto <= seq {
        return Ok(PushReply {
            seq,
            ..Default::default()
        });
    }
    if batch.after > seq {
        return Ok(PushReply {
            seq,
            gap: true,
            ..Default::default()
        });
    }
    let map: Vec<(NodeId, NodeId)> = on_tx!(&mut tx, c => sqlx::query_as(
        "SELECT remote_id, local_id FROM exchange_node_map WHERE link_id = $1",
    ).bind(link.id).fetch_all(c).await)?;
    let snap: &Snapshot = &batch.snapshot;
    let mut a = Applier {
        mapper: Mapper {
            link: link.id,
            root: link.node_id,
            map: map.into_iter().collect(),
            inner: Default::default(),
            kinds: HashMap::new(),
            now,
        },
        snap_nodes: snap.nodes.iter().map(|n| (n.id, n)).collect(),
        conflicts: Vec::new(),
        applied: Vec::new(),
    };
    let mut nodes_applied = 0u64;
    for n in &snap.nodes {
        if a.mapper.node(&mut tx, n).await? {
            nodes_applied += 1;
            if matches!(n.kind.as_str(), "grade" | "class")
                && let Some(school) = n.school_id.and_then(|s| a.mapper.get(s))
            {
                changes::record(&mut tx, now, school, Entity::Node, n.id.0).await?;
            }
        }
    }
    let mut entities = 0u64;
    for s in &snap.students {
        if let Some(school) = a.student(&mut tx, s).await? {
            changes::record(&mut tx, now, school, Entity::Student, s.person.id.0).await?;
            entities += 1;
        }
    }
    for s in &snap.staff {
        if let Some(org) = a.staff(&mut tx, s).await? {
            changes::record(&mut tx, now, org, Entity::Staff, s.person.id.0).await?;
            entities += 1;
        }
    }
    for p in &snap.people {
        if let Some(org) = a.person(&mut tx, p).await? {
            changes::record(&mut tx, now, org, Entity::Person, p.id.0).await?;
            entities += 1;
        }
    }
    for c in &a.conflicts {
        super::links::store_conflict(&mut tx, link.id, c, now).await?;
    }
    let resolved = super::links::resolve_conflicts(&mut tx, link.id, &a.applied, now).await?;
    on_tx!(&mut tx, c => sqlx::query(
        "UPDATE exchange_links SET seq = $2, rows_total = rows_total + $3, last_success_at = $4, updated_at = $4
         WHERE id = $1",
    ).bind(link.id).bind(batch.upto).bind(entities as i64).bind(now).execute(c).await.map(|_| ()))?;
    kernel::audit::record(
        &mut tx,
        now,
        kernel::audit::Who {
            id: None,
            name: Some(link.peer_name.as_deref().unwrap_or("exchange")),
        },
        meta,
        AuditEvent::new("exchange.receive")
            .object("link", link.id)
            .node(link.node_id)
            .detail(serde_json::json!({
                "after": batch.after, "upto": batch.upto, "records": entities,
                "nodes": nodes_applied, "conflicts": a.conflicts.len(),
            })),
    )
    .await?;
    tx.commit().await?;
    Ok(PushReply {
        seq: batch.upto,
        applied: entities,
        conflicts: a.conflicts,
        resolved,
        gap: false,
    })
}

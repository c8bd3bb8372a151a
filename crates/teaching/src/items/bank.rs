//! The school's question bank: items written by its teachers, on a chapter and knowledge
//! points, read by every teacher of the school, changed only by their author (each change a new
//! version number, refused when another change came first).

use super::form::{self, Draft, Options};
use super::score::Key;
use crate::knowledge::{self, PointId};
use chrono::{DateTime, Utc};
use kernel::audit::AuditEvent;
use kernel::{
    AppError, AppResult, CatalogId, Ctx, FieldErrors, NodeId, PersonId, ResourceId, Role, on_db,
    on_tx,
};
use serde::Serialize;

kernel::id_type!(
    /// An item of the question bank.
    ItemId => "teaching.item_not_found",
);

pub const NOT_FOUND: &str = "teaching.item_not_found";

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Item {
    pub id: ItemId,
    pub school_id: NodeId,
    pub author_id: PersonId,
    pub stage: String,
    pub subject: String,
    pub kind: String,
    pub stem: String,
    pub options: String,
    pub answer_key: String,
    pub explanation: String,
    pub points: i64,
    pub difficulty: i64,
    pub source: String,
    pub catalog_id: Option<CatalogId>,
    /// A listening item's recording (a library audio resource).
    pub audio_id: Option<ResourceId>,
    /// Shared through the library: its resource, and the version shared.
    pub resource_id: Option<ResourceId>,
    pub shared_version: Option<i64>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[sqlx(default)]
    pub author: String,
}

impl Item {
    pub fn options(&self) -> Options {
        serde_json::from_str(&self.options).unwrap_or_default()
    }
    pub fn key(&self) -> Key {
        serde_json::from_str(&self.answer_key).unwrap_or(Key::Manual)
    }
    /// The points as shown: `2`, `2.5`.
    pub fn points_text(&self) -> String {
        let p = self.points as f64 / 100.0;
        format!("{p}")
    }
}

pub(crate) const COLUMNS: &str = "i.id, i.school_id, i.author_id, i.stage, i.subject, i.kind, i.stem, i.options, \
     i.answer_key, i.explanation, i.points, i.difficulty, i.source, i.catalog_id, i.audio_id, \
     i.resource_id, i.shared_version, i.version, \
     i.created_at, i.updated_at, p.name AS author";

/// The schools of the classes the actor teaches (items are a school's), their own school first.
pub async fn schools_of(cx: &Ctx<'_>) -> AppResult<Vec<NodeId>> {
    let mut out: Vec<NodeId> = Vec::new();
    for g in cx
        .actor
        .grants
        .iter()
        .filter(|g| matches!(g.role, Role::Teacher | Role::HeadTeacher))
    {
        let school = directory::nodes::find(cx.db(), g.node_id)
            .await?
            .and_then(|n| n.school_id);
        if let Some(s) = school
            && !out.contains(&s)
        {
            out.push(s);
        }
    }
    if let Some(i) = out.iter().position(|s| *s == cx.actor.org_id) {
        out.swap(0, i);
    }
    Ok(out)
}

/// The school whose bank the actor writes to: where they teach (their own school first).
pub async fn school_of(cx: &Ctx<'_>) -> AppResult<Option<NodeId>> {
    Ok(schools_of(cx).await?.first().copied())
}

/// Where an item is: its stage and subject (as the editor names them), chapter and points.
#[derive(Debug, Clone, Default)]
pub struct Place {
    pub stage: String,
    pub subject: String,
    pub catalog_id: Option<CatalogId>,
    pub points: Vec<PointId>,
}

/// Checks the place: a known stage and subject, a chapter of that subject the actor sees, and
/// knowledge points of that stage and subject in a region the actor uses.
async fn check_place(
    cx: &Ctx<'_>,
    p: &Place,
    e: &mut FieldErrors,
) -> AppResult<Option<(String, String)>> {
    let stage = resources::catalog::model::parse_stage(&p.stage);
    let subject = stage.and_then(|s| resources::catalog::model::parse_subject(&p.subject, s));
    let Some((stage, (subject, _))) = stage.zip(subject) else {
        e.add("subject", "error.catalog.unknown_subject");
        return Ok(None);
    };
    if let Some(c) = p.catalog_id {
        let ok = match resources::catalog::tree::find(cx.db(), c).await? {
            Some(n) => {
                n.subject.as_deref() == Some(subject.as_str())
                    && resources::catalog::tree::is_visible_to(cx.db(), cx.actor, &n).await?
            }
            None => false,
        };
        if !ok {
            e.add("catalog_id", "error.teaching.chapter");
        }
    }
    let regions = resources::catalog::tree::regions_for(cx.db(), cx.actor).await?;
    for id in &p.points {
        let ok = knowledge::find(cx.db(), *id).await?.is_some_and(|k| {
            regions.contains(&k.region_id) && k.stage == stage.as_str() && k.subject == subject
        });
        if !ok {
            e.add("points_ids", "error.teaching.item_point");
            break;
        }
    }
    Ok(Some((stage.as_str().to_owned(), subject)))
}

async fn write_points(tx: &mut kernel::Tx, id: ItemId, points: &[PointId]) -> AppResult<()> {
    on_tx!(tx, t => sqlx::query("DELETE FROM item_points WHERE item_id = $1")
        .bind(id).execute(&mut *t).await.map(|r| r.rows_affected()))?;
    let mut seen = Vec::new();
    for p in points {
        if seen.contains(p) {
            continue;
        }
        seen.push(*p);
        on_tx!(tx, t => sqlx::query("INSERT INTO item_points (item_id, point_id) VALUES ($1, $2)")
            .bind(id).bind(*p).execute(&mut *t).await.map(|r| r.rows_affected()))?;
    }
    Ok(())
}

/// Checks everything, returning the stored form of the draft.
async fn checked(cx: &Ctx<'_>, d: &Draft, p: &Place) -> AppResult<Checked> {
    let mut e = FieldErrors::new();
    let place = check_place(cx, p, &mut e).await?;
    let body = match form::check(d) {
        Ok(b) => Some(b),
        Err(f) => {
            e.0.extend(f.0);
            None
        }
    };
    let audio = check_audio(cx, &d.audio, &mut e).await?;
    e.into_result()?;
    let (Some((stage, subject)), Some((options, key)), Some(points)) =
        (place, body, form::points(&d.points))
    else {
        return Err(AppError::internal("a checked item"));
    };
    Ok((stage, subject, options, key, points, audio))
}

/// Adds an item to the actor's school's bank.
pub async fn create(cx: &Ctx<'_>, d: &Draft, p: &Place) -> AppResult<ItemId> {
    let school = school_of(cx).await?.ok_or(AppError::Forbidden)?;
    let c = checked(cx, d, p).await?;
    let mut tx = cx.begin().await?;
    let id = insert(cx, &mut tx, school, d, p, &c).await?;
    cx.audit(
        &mut tx,
        AuditEvent::new("item.create")
            .object("item", id)
            .node(school)
            .detail(serde_json::json!({ "kind": d.kind, "subject": c.1 })),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Adds checked items to the actor's school's bank in one transaction (an import's rows), with
/// one audit record; every item is checked again and the first problem refuses them all.
pub async fn create_all<'d>(
    cx: &Ctx<'_>,
    items: impl Iterator<Item = (&'d Draft, &'d Place)>,
    file_name: &str,
) -> AppResult<u64> {
    let school = school_of(cx).await?.ok_or(AppError::Forbidden)?;
    let mut all = Vec::new();
    for (d, p) in items {
        let c = checked(cx, d, p).await?;
        all.push((d, p, c));
    }
    let mut tx = cx.begin().await?;
    for (d, p, c) in &all {
        insert(cx, &mut tx, school, d, p, c).await?;
    }
    cx.audit(
        &mut tx,
        AuditEvent::new("item.import")
            .object("node", school)
            .node(school)
            .detail(serde_json::json!({ "file": file_name, "items": all.len() })),
    )
    .await?;
    tx.commit().await?;
    Ok(all.len() as u64)
}

type Checked = (String, String, Options, Key, i64, Option<ResourceId>);

/// A listening item's recording: a library resource the actor may see whose file is audio.
async fn check_audio(
    cx: &Ctx<'_>,
    audio: &str,
    e: &mut FieldErrors,
) -> AppResult<Option<ResourceId>> {
    let id = match form::audio_id(audio) {
        Ok(id) => id,
        Err(key) => {
            e.add("audio", key);
            return Ok(None);
        }
    };
    let Some(id) = id else { return Ok(None) };
    // One the teacher wrote, or one shared to them: not another school's draft a reviewer
    // happens to see while it waits.
    let ok = match resources::library::resource::get(cx, id).await {
        Ok(r)
            if r.author_id != cx.actor.person_id
                && r.scope() == resources::model::Scope::Private =>
        {
            false
        }
        Ok(r) => match &r.blob_hash {
            Some(h) => resources::files::blob::find(cx.db(), h)
                .await?
                .is_some_and(|b| b.category == "audio"),
            None => false,
        },
        Err(AppError::NotFound(_)) => false,
        Err(other) => return Err(other),
    };
    if !ok {
        e.add("audio", "error.teaching.item_audio");
        return Ok(None);
    }
    Ok(Some(id))
}

async fn insert(
    cx: &Ctx<'_>,
    tx: &mut kernel::Tx,
    school: NodeId,
    d: &Draft,
    p: &Place,
    (stage, subject, options, key, points, audio): &Checked,
) -> AppResult<ItemId> {
    let id = ItemId::new();
    on_tx!(tx, t => sqlx::query(
        "INSERT INTO items (id, school_id, author_id, stage, subject, kind, stem, options, answer_key, explanation,
                            points, difficulty, source, catalog_id, version, created_at, updated_at, audio_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 1, $15, $15, $16)",
    ).bind(id).bind(school).bind(cx.actor.person_id).bind(stage).bind(subject).bind(&d.kind)
     .bind(d.stem.trim()).bind(serde_json::to_string(options).map_err(AppError::internal)?)
     .bind(serde_json::to_string(key).map_err(AppError::internal)?).bind(d.explanation.trim())
     .bind(*points).bind(d.difficulty.trim().parse::<i64>().unwrap_or(3)).bind(d.source.trim())
     .bind(p.catalog_id).bind(cx.now).bind(*audio).execute(&mut *t).await.map(|r| r.rows_affected()))?;
    write_points(tx, id, &p.points).await?;
    Ok(id)
}

/// Changes the author's item; `expected` is the version they started from.
pub async fn update(
    cx: &Ctx<'_>,
    id: ItemId,
    expected: i64,
    d: &Draft,
    p: &Place,
) -> AppResult<()> {
    let item = get(cx, id).await?;
    if item.author_id != cx.actor.person_id {
        return Err(AppError::Forbidden);
    }
    let (stage, subject, options, key, points, audio) = checked(cx, d, p).await?;
    let mut tx = cx.begin().await?;
    let n = on_tx!(&mut tx, t => sqlx::query(
        "UPDATE items SET stage = $3, subject = $4, kind = $5, stem = $6, options = $7, answer_key = $8,
                explanation = $9, points = $10, difficulty = $11, source = $12, catalog_id = $13,
                version = version + 1, updated_at = $14, audio_id = $15
         WHERE id = $1 AND version = $2 AND deleted_at IS NULL",
    ).bind(id).bind(expected).bind(&stage).bind(&subject).bind(&d.kind).bind(d.stem.trim())
     .bind(serde_json::to_string(&options).map_err(AppError::internal)?)
     .bind(serde_json::to_string(&key).map_err(AppError::internal)?).bind(d.explanation.trim())
     .bind(points).bind(d.difficulty.trim().parse::<i64>().unwrap_or(3)).bind(d.source.trim())
     .bind(p.catalog_id).bind(cx.now).bind(audio).execute(&mut *t).await.map(|r| r.rows_affected()))?;
    if n != 1 {
        let mut f = FieldErrors::new();
        f.add("version", "error.teaching.item_changed");
        return Err(AppError::Conflict("teaching.item_changed", f));
    }
    write_points(&mut tx, id, &p.points).await?;
    cx.audit(
        &mut tx,
        AuditEvent::new("item.update")
            .object("item", id)
            .node(item.school_id)
            .detail(serde_json::json!({ "version": expected + 1 })),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The condition that item `i`, shared through the library at its current version, reaches the
/// school bound as `$school` (its resource's audience is that school or a region above it).
pub(crate) fn shared_to(school: &str) -> String {
    format!(
        "(i.resource_id IS NOT NULL AND i.shared_version = i.version AND EXISTS (
            SELECT 1 FROM resources r JOIN resource_audience a ON a.resource_id = r.id AND a.kind = 'v'
            JOIN org_closure c ON c.ancestor_id = a.node_id
            WHERE r.id = i.resource_id AND r.deleted_at IS NULL AND r.scope <> 'private'
              AND c.descendant_id = {school}))"
    )
}

/// Items other schools shared that reach the actor's schools, the latest changed first (at
/// most 200).
pub async fn list_shared(cx: &Ctx<'_>, f: &Filter) -> AppResult<Vec<Item>> {
    let mut out: Vec<Item> = Vec::new();
    let schools = schools_of(cx).await?;
    for school in &schools {
        let sql = format!(
            "SELECT {COLUMNS} FROM items i JOIN persons p ON p.id = i.author_id
             WHERE i.school_id <> $1 AND i.deleted_at IS NULL
               AND ($2 = '' OR i.subject = $2) AND ($3 = '' OR i.kind = $3)
               AND {}
             ORDER BY i.updated_at DESC, i.id DESC LIMIT 200",
            shared_to("$1")
        );
        let rows: Vec<Item> = on_db!(cx.db(), p => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
            .bind(*school).bind(&f.subject).bind(&f.kind).fetch_all(p).await)?;
        for i in rows {
            if !schools.contains(&i.school_id) && !out.iter().any(|o| o.id == i.id) {
                out.push(i);
            }
        }
    }
    out.truncate(200);
    Ok(out)
}

/// The item, for the teachers of its school and the administrators above it, and, at the
/// version it was shared at, for whoever sees its library resource (its audience and its
/// reviewers); 404 for others.
pub async fn get(cx: &Ctx<'_>, id: ItemId) -> AppResult<Item> {
    let sql = format!(
        "SELECT {COLUMNS} FROM items i JOIN persons p ON p.id = i.author_id WHERE i.id = $1 AND i.deleted_at IS NULL"
    );
    let item: Option<Item> = on_db!(cx.db(), p => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(id).fetch_optional(p).await)?;
    match item {
        Some(i)
            if schools_of(cx).await?.contains(&i.school_id)
                || kernel::authz::administers(cx.db(), cx.actor, i.school_id).await? =>
        {
            Ok(i)
        }
        Some(i) if i.shared_version == Some(i.version) => match i.resource_id {
            Some(rid) => match resources::library::resource::get(cx, rid).await {
                Ok(_) => Ok(i),
                Err(AppError::NotFound(_)) => Err(AppError::NotFound(NOT_FOUND)),
                Err(e) => Err(e),
            },
            None => Err(AppError::NotFound(NOT_FOUND)),
        },
        _ => Err(AppError::NotFound(NOT_FOUND)),
    }
}

/// Whether an item's recording (if it has one) is still in the library: a listening item
/// whose recording is gone is neither set nor practised.
pub async fn audio_alive(db: &kernel::Db, item: &Item) -> AppResult<bool> {
    let Some(audio) = item.audio_id else {
        return Ok(true);
    };
    Ok(resources::library::resource::find(db, audio)
        .await?
        .is_some_and(|r| r.deleted_at.is_none()))
}

/// The item's knowledge points.
pub async fn points_of(db: &kernel::Db, id: ItemId) -> AppResult<Vec<knowledge::Point>> {
    let mut out = Vec::new();
    let ids: Vec<(PointId,)> = on_db!(db, p => sqlx::query_as(
        "SELECT point_id FROM item_points WHERE item_id = $1",
    ).bind(id).fetch_all(p).await)?;
    for (pid,) in ids {
        if let Some(k) = knowledge::find(db, pid).await? {
            out.push(k);
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// A filter of the school's bank.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
pub struct Filter {
    pub subject: String,
    pub kind: String,
    pub point: String,
    pub mine: String,
    /// Items other schools shared that reach the actor's (see [`list_shared`]).
    pub shared: String,
}

/// The school's items, the latest changed first (at most 200).
pub async fn list(cx: &Ctx<'_>, f: &Filter) -> AppResult<Vec<Item>> {
    list_up_to(cx, f, 200).await
}

/// The school's items, the latest changed first, at most `limit`.
pub async fn list_up_to(cx: &Ctx<'_>, f: &Filter, limit: i64) -> AppResult<Vec<Item>> {
    let school = school_of(cx).await?.ok_or(AppError::Forbidden)?;
    let point: Option<PointId> = f.point.parse().ok();
    let sql = format!(
        "SELECT {COLUMNS} FROM items i JOIN persons p ON p.id = i.author_id
         WHERE i.school_id = $1 AND i.deleted_at IS NULL
           AND ($2 = '' OR i.subject = $2) AND ($3 = '' OR i.kind = $3)
           AND ($4 IS NULL OR i.id IN (SELECT item_id FROM item_points WHERE point_id = $4))
           AND ($5 = FALSE OR i.author_id = $6)
         ORDER BY i.updated_at DESC, i.id DESC LIMIT {limit}"
    );
    Ok(
        on_db!(cx.db(), p => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(school).bind(&f.subject).bind(&f.kind).bind(point).bind(!f.mine.is_empty())
        .bind(cx.actor.person_id).fetch_all(p).await)?,
    )
}

/// Deletes the author's item (kept, gone from the bank).
pub async fn delete(cx: &Ctx<'_>, id: ItemId) -> AppResult<()> {
    let item = get(cx, id).await?;
    if item.author_id != cx.actor.person_id {
        return Err(AppError::Forbidden);
    }
    let mut tx = cx.begin().await?;
    let n = on_tx!(&mut tx, t => sqlx::query("UPDATE items SET deleted_at = $2 WHERE id = $1 AND deleted_at IS NULL")
        .bind(id).bind(cx.now).execute(&mut *t).await.map(|r| r.rows_affected()))?;
    if n == 0 {
        return Err(AppError::NotFound(NOT_FOUND));
    }
    cx.audit(
        &mut tx,
        AuditEvent::new("item.delete")
            .object("item", id)
            .node(item.school_id),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

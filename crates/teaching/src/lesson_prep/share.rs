//! A plan shared to the library, and a plan started from another.
//!
//! Sharing writes the plan's latest version as a text file in the template's order, makes it
//! (or a new version of it) a `teaching_design` resource on the plan's chapter, and sends it to
//! the school's review: from there it goes the library's way (school → district → city). A
//! teacher who sees that resource starts a plan of their own from the version that was shared.

use super::write::{self, Draft, Place};
use super::{Content, Plan, PlanId, SECTIONS};
use kernel::audit::AuditEvent;
use kernel::facts::{self, Fact};
use kernel::{AppError, AppResult, Ctx, Locale, ResourceId, on_db, on_tx};
use resources::library::resource::{self, NewResource, ResourceEdit};
use resources::library::review::{self, ReviewInput};
use resources::model::{ResourceRow, Scope};

/// The plan as a document in the template's order, in the platform's language (a shared plan
/// is read by many).
pub fn document(plan: &Plan, c: &Content) -> String {
    let l = Locale::default();
    let t = |k: &str| kernel::i18n::t(l, k).to_owned();
    let mut out = format!("{}\n{} {}\n", c.title, plan.class_name, plan.chapter);
    let numerals = ["一", "二", "三", "四", "五", "六", "七"];
    let mut n = 0;
    let mut heading = |out: &mut String, key: &str| {
        out.push_str(&format!("\n{}、{}\n", numerals[n.min(6)], t(key)));
        n += 1;
    };
    for field in &SECTIONS[..3] {
        heading(&mut out, &format!("lesson_prep.section.{field}"));
        out.push_str(c.section(field));
        out.push('\n');
    }
    heading(&mut out, "lesson_prep.section.process");
    for (i, s) in c.steps.iter().enumerate() {
        let minutes = kernel::i18n::tf(l, "lesson_prep.minutes", &[("n", &s.minutes.to_string())]);
        out.push_str(&format!("{}. {}（{minutes}）\n", i + 1, s.title));
        if !s.content.is_empty() {
            out.push_str(&s.content);
            out.push('\n');
        }
        for link in s.links.iter().filter(|k| !k.title.is_empty()) {
            out.push_str(&format!(
                "{}《{}》\n",
                t("lesson_prep.resource_prefix"),
                link.title
            ));
        }
    }
    for field in &SECTIONS[3..] {
        heading(&mut out, &format!("lesson_prep.section.{field}"));
        out.push_str(c.section(field));
        out.push('\n');
    }
    out
}

/// A title made fit for a file name (no path separators or characters Windows refuses).
pub fn file_stem(title: &str) -> String {
    title
        .chars()
        .filter(|c| !"\\/:*?\"<>|《》".contains(*c))
        .collect()
}

/// A file the plan puts in the library, and the resource it makes.
pub(crate) struct LibraryFile {
    pub name: String,
    pub bytes: Vec<u8>,
    pub kind: &'static str,
    pub title: String,
    pub description: String,
}

/// Keeps `file` in the library: a new version of `existing` (the author's, not deleted), else
/// a new private resource on the chapter `catalog`.
pub(crate) async fn to_library(
    cx: &Ctx<'_>,
    catalog: kernel::CatalogId,
    existing: Option<ResourceId>,
    file: LibraryFile,
) -> AppResult<ResourceRow> {
    let stream =
        futures_util::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from(file.bytes))]);
    let (upload, _) = resources::files::upload::store_stream(cx, &file.name, stream).await?;
    let existing = match existing {
        Some(rid) => resource::find(cx.db(), rid)
            .await?
            .filter(|r| r.deleted_at.is_none() && r.author_id == cx.actor.person_id),
        None => None,
    };
    match existing {
        Some(r) => {
            resource::edit(
                cx,
                r.id,
                ResourceEdit {
                    version: Some(r.version),
                    title: Some(file.title),
                    description: Some(file.description),
                    upload_id: Some(upload),
                    ..Default::default()
                },
            )
            .await
        }
        None => {
            resource::create(
                cx,
                NewResource {
                    title: file.title,
                    description: file.description,
                    kind: file.kind.into(),
                    tags: Vec::new(),
                    for_students: false,
                    catalog_ids: vec![catalog],
                    upload_id: Some(upload),
                },
            )
            .await
        }
    }
}

/// Shares the author's plan (its latest version) to the library and sends it to the school's
/// review; a plan shared before becomes a new version of the same resource. The resource.
pub async fn share(cx: &Ctx<'_>, id: PlanId) -> AppResult<ResourceRow> {
    let plan = super::get_own(cx, id).await?;
    let shared = || AppError::Conflict("teaching.plan_shared", kernel::FieldErrors::new());
    if plan.shared_version == Some(plan.version) {
        // Shared at this version already: only its review can be missing (a failure after
        // the write), and is asked again.
        if let Some(rid) = plan.resource_id
            && let Some(r) = resource::find(cx.db(), rid).await?
            && r.deleted_at.is_none()
            && r.scope() == Scope::Private
            && r.pending().is_none()
        {
            return submit(cx, &r).await;
        }
        return Err(shared());
    }
    // This version is claimed first, so two shares at once make one resource.
    let claimed = on_db!(cx.db(), p => sqlx::query(
        "UPDATE lesson_plans SET shared_version = $2
         WHERE id = $1 AND (shared_version IS NULL OR shared_version <> $2)",
    ).bind(id).bind(plan.version).execute(p).await.map(|r| r.rows_affected()))?;
    if claimed == 0 {
        return Err(shared());
    }
    let content = super::content(cx, &plan, None).await?;
    let text = document(&plan, &content);
    let written = to_library(
        cx,
        plan.catalog_id,
        plan.resource_id,
        LibraryFile {
            name: format!("{}.txt", file_stem(&content.title)),
            bytes: text.into_bytes(),
            kind: "teaching_design",
            title: content.title.clone(),
            description: content.objectives.chars().take(200).collect(),
        },
    )
    .await;
    let r = match written {
        Ok(r) => r,
        Err(e) => {
            // The claim is given back, so sharing again tries again.
            let _ = on_db!(cx.db(), p => sqlx::query(
                "UPDATE lesson_plans SET shared_version = $3 WHERE id = $1 AND shared_version = $2",
            ).bind(id).bind(plan.version).bind(plan.shared_version).execute(p).await.map(|r| r.rows_affected()));
            return Err(e);
        }
    };
    let mut tx = cx.begin().await?;
    on_tx!(&mut tx, t => sqlx::query(
        "UPDATE lesson_plans SET resource_id = $2, shared_version = $3 WHERE id = $1",
    ).bind(id).bind(r.id).bind(plan.version).execute(&mut *t).await.map(|r| r.rows_affected()))?;
    cx.audit(
        &mut tx,
        AuditEvent::new("lesson_plan.share")
            .object("lesson_plan", id)
            .node(plan.class_id)
            .detail(serde_json::json!({ "version": plan.version, "resource": r.id })),
    )
    .await?;
    facts::record(
        &mut tx,
        cx.now,
        Fact::once(
            "lesson_prep.shared",
            plan.class_id,
            Some(cx.actor.person_id),
            id.0,
            format!("lesson_prep.shared:{id}:{}", plan.version),
        ),
    )
    .await?;
    tx.commit().await?;
    if r.scope() == Scope::Private && r.pending().is_none() {
        return submit(cx, &r).await;
    }
    Ok(r)
}

/// Sends the shared resource to the school's review.
pub(crate) async fn submit(cx: &Ctx<'_>, r: &ResourceRow) -> AppResult<ResourceRow> {
    review::submit(
        cx,
        r.id,
        ReviewInput {
            version: r.version,
            comment: String::new(),
            score: None,
        },
    )
    .await
}

/// A plan someone else shared, as the actor sees it: the plan and the resource it became.
#[derive(Debug, Clone)]
pub struct Shared {
    pub plan: Plan,
    pub resource: ResourceRow,
}

/// The plan behind a shared resource the actor sees (404 if there is none or they do not see
/// the resource), with the resource.
pub async fn by_resource(cx: &Ctx<'_>, rid: ResourceId) -> AppResult<Shared> {
    let resource = resource::get(cx, rid).await?;
    let id: Option<(PlanId,)> = on_db!(cx.db(), p => sqlx::query_as(
        "SELECT id FROM lesson_plans WHERE resource_id = $1 AND deleted_at IS NULL",
    ).bind(rid).fetch_optional(p).await)?;
    let plan = match id {
        Some((id,)) => super::find(cx.db(), id).await?,
        None => None,
    };
    match plan {
        Some(plan) if plan.shared_version.is_some() => Ok(Shared { plan, resource }),
        _ => Err(AppError::NotFound(crate::lesson_prep::NOT_FOUND)),
    }
}

/// The content a colleague shared (the version they shared), as the actor sees it.
pub async fn shared_content(cx: &Ctx<'_>, s: &Shared) -> AppResult<Content> {
    super::content(cx, &s.plan, s.plan.shared_version).await
}

/// Colleagues' shared plans for the subjects the actor teaches that the actor sees, the latest
/// first, at most `limit`.
pub async fn for_me(cx: &Ctx<'_>, limit: usize) -> AppResult<Vec<Shared>> {
    let subjects: Vec<String> = resources::catalog::progress::taught_by(cx)
        .await?
        .into_iter()
        .map(|t| t.subject)
        .collect();
    let mut out = Vec::new();
    if subjects.is_empty() {
        return Ok(out);
    }
    let ids: Vec<(ResourceId, String)> = on_db!(cx.db(), p => sqlx::query_as(
        "SELECT resource_id, subject FROM lesson_plans
         WHERE resource_id IS NOT NULL AND deleted_at IS NULL AND author_id <> $1
         ORDER BY updated_at DESC LIMIT 200",
    ).bind(cx.actor.person_id).fetch_all(p).await)?;
    for (rid, subject) in ids {
        if !subjects.contains(&subject) {
            continue;
        }
        match by_resource(cx, rid).await {
            Ok(s) => out.push(s),
            Err(AppError::NotFound(_) | AppError::Forbidden) => {}
            Err(e) => return Err(e),
        }
        if out.len() >= limit {
            break;
        }
    }
    Ok(out)
}

/// Starts a plan of the actor's from another: their own (its latest version, for another class
/// or chapter) or a colleague's shared one they see (the version shared). Links to resources
/// the actor does not see are left out.
pub async fn start_from(cx: &Ctx<'_>, source: PlanId, place: &Place) -> AppResult<PlanId> {
    let plan = super::find(cx.db(), source)
        .await?
        .ok_or(AppError::NotFound(crate::lesson_prep::NOT_FOUND))?;
    let version = if plan.author_id == cx.actor.person_id {
        plan.version
    } else {
        let Some(rid) = plan.resource_id else {
            return Err(AppError::NotFound(crate::lesson_prep::NOT_FOUND));
        };
        let s = by_resource(cx, rid).await?;
        s.plan.shared_version.unwrap_or(s.plan.version)
    };
    let content = super::content(cx, &plan, Some(version)).await?;
    let mut draft = Draft::of(&content);
    for (step, s) in draft.steps.iter_mut().zip(&content.steps) {
        step.resources = s
            .links
            .iter()
            .filter(|l| l.visible)
            .map(|l| l.resource_id)
            .collect();
    }
    // The colleague's reflection is theirs: the new plan's starts empty.
    if plan.author_id != cx.actor.person_id {
        draft.reflection.clear();
    }
    write::create(cx, place, &draft, Some((plan.id, version))).await
}

//! Writing plans: a new plan, a save (a new version when anything changed), a deletion.

use super::{
    Content, ITEMS_MAX, LINKS_MAX, MINUTES_MAX, Plan, PlanId, SECTION_MAX, SECTIONS,
    STEP_CONTENT_MAX, STEP_TITLE_MAX, STEPS_MAX, Step, TITLE_MAX,
};
use kernel::audit::AuditEvent;
use kernel::facts::{self, Fact};
use kernel::{AppError, AppResult, CatalogId, Ctx, FieldErrors, NodeId, ResourceId, Tx, on_tx};
use resources::catalog::{model::NodeKind, tree};

/// A plan's sections and steps as a form or the API gives them.
#[derive(Debug, Clone, Default)]
pub struct Draft {
    pub title: String,
    pub objectives: String,
    pub key_points: String,
    pub preparation: String,
    pub board: String,
    pub homework: String,
    pub reflection: String,
    pub steps: Vec<StepDraft>,
}

/// A step as typed: minutes as text, the resources to place into it, the bank items to show
/// on its slide.
#[derive(Debug, Clone, Default)]
pub struct StepDraft {
    pub title: String,
    pub minutes: String,
    pub content: String,
    pub resources: Vec<ResourceId>,
    pub items: Vec<crate::items::bank::ItemId>,
}

impl StepDraft {
    fn is_blank(&self) -> bool {
        self.title.trim().is_empty()
            && self.minutes.trim().is_empty()
            && self.content.trim().is_empty()
            && self.resources.is_empty()
            && self.items.is_empty()
    }
}

impl Draft {
    /// A draft holding `c` (to edit it, or to start from it).
    pub fn of(c: &Content) -> Self {
        Self {
            title: c.title.clone(),
            objectives: c.objectives.clone(),
            key_points: c.key_points.clone(),
            preparation: c.preparation.clone(),
            board: c.board.clone(),
            homework: c.homework.clone(),
            reflection: c.reflection.clone(),
            steps: c
                .steps
                .iter()
                .map(|s| StepDraft {
                    title: s.title.clone(),
                    minutes: s.minutes.to_string(),
                    content: s.content.clone(),
                    resources: s.links.iter().map(|l| l.resource_id).collect(),
                    items: s.items.clone(),
                })
                .collect(),
        }
    }

    pub fn section(&self, field: &str) -> &str {
        match field {
            "objectives" => &self.objectives,
            "key_points" => &self.key_points,
            "preparation" => &self.preparation,
            "board" => &self.board,
            "homework" => &self.homework,
            "reflection" => &self.reflection,
            _ => "",
        }
    }

    pub fn section_mut(&mut self, field: &str) -> Option<&mut String> {
        Some(match field {
            "objectives" => &mut self.objectives,
            "key_points" => &mut self.key_points,
            "preparation" => &mut self.preparation,
            "board" => &mut self.board,
            "homework" => &mut self.homework,
            "reflection" => &mut self.reflection,
            _ => return None,
        })
    }
}

/// Where a new plan goes: the class, the subject taught there and the chapter.
#[derive(Debug, Clone)]
pub struct Place {
    pub class_id: NodeId,
    pub subject: String,
    pub catalog_id: CatalogId,
}

/// Checks a draft into the content to store, the resources' versions looked up (each must be
/// one the actor sees). Errors name the field: `title`, `objectives`, `steps.3.minutes`, ….
async fn check(cx: &Ctx<'_>, d: &Draft) -> AppResult<(Content, Vec<Vec<(ResourceId, i64)>>)> {
    let mut errors = FieldErrors::new();
    let title = d.title.trim();
    if title.is_empty() || title.chars().count() > TITLE_MAX {
        errors.add("title", "error.teaching.plan_title");
    }
    for field in SECTIONS {
        if d.section(field).chars().count() > SECTION_MAX {
            errors.add(field, "error.teaching.section_too_long");
        }
    }
    let steps: Vec<&super::write::StepDraft> = d.steps.iter().filter(|s| !s.is_blank()).collect();
    if steps.len() > STEPS_MAX {
        errors.add("steps", "error.teaching.too_many_steps");
    }
    let viewer = resources::access::Viewer::of(cx.db(), cx.actor).await?;
    let mut out_steps = Vec::new();
    let mut links = Vec::new();
    for (i, s) in steps.iter().enumerate() {
        let n = i + 1;
        let t = s.title.trim();
        if t.is_empty() || t.chars().count() > STEP_TITLE_MAX {
            errors.add(&format!("steps.{n}.title"), "error.teaching.step_title");
        }
        let minutes = match s.minutes.trim() {
            "" => Some(0),
            m => m
                .parse::<i64>()
                .ok()
                .filter(|m| (0..=MINUTES_MAX).contains(m)),
        };
        if minutes.is_none() {
            errors.add(&format!("steps.{n}.minutes"), "error.teaching.step_minutes");
        }
        if s.content.chars().count() > STEP_CONTENT_MAX {
            errors.add(&format!("steps.{n}.content"), "error.teaching.step_content");
        }
        let mut ids: Vec<ResourceId> = Vec::new();
        for r in &s.resources {
            if !ids.contains(r) {
                ids.push(*r);
            }
        }
        if ids.len() > LINKS_MAX {
            errors.add(
                &format!("steps.{n}.resources"),
                "error.teaching.too_many_links",
            );
        }
        let mut step_links = Vec::new();
        for id in ids {
            match resources::library::resource::find(cx.db(), id).await? {
                Some(r)
                    if r.deleted_at.is_none()
                        && resources::access::may_view(cx.db(), cx.actor, &viewer, &r).await? =>
                {
                    step_links.push((id, r.version));
                }
                _ => errors.add(
                    &format!("steps.{n}.resources"),
                    "error.teaching.link_unknown",
                ),
            }
        }
        let mut items: Vec<crate::items::bank::ItemId> = Vec::new();
        for i in &s.items {
            if !items.contains(i) {
                items.push(*i);
            }
        }
        if items.len() > ITEMS_MAX {
            errors.add(&format!("steps.{n}.items"), "error.teaching.too_many_items");
        }
        for i in &items {
            match crate::items::bank::get(cx, *i).await {
                Ok(_) => {}
                Err(AppError::NotFound(_)) => {
                    errors.add(
                        &format!("steps.{n}.items"),
                        "error.teaching.plan_item_unknown",
                    );
                    break;
                }
                Err(e) => return Err(e),
            }
        }
        out_steps.push(Step {
            title: t.to_owned(),
            minutes: minutes.unwrap_or(0),
            content: s.content.trim().to_owned(),
            links: Vec::new(),
            items,
        });
        links.push(step_links);
    }
    errors.into_result()?;
    Ok((
        Content {
            title: title.to_owned(),
            objectives: d.objectives.trim().to_owned(),
            key_points: d.key_points.trim().to_owned(),
            preparation: d.preparation.trim().to_owned(),
            board: d.board.trim().to_owned(),
            homework: d.homework.trim().to_owned(),
            reflection: d.reflection.trim().to_owned(),
            steps: out_steps,
        },
        links,
    ))
}

/// Checks that the actor teaches `subject` in the class and that the chapter is a unit or
/// section of that subject's catalogue the actor sees.
pub async fn check_place(cx: &Ctx<'_>, place: &Place) -> AppResult<NodeId> {
    let mut errors = FieldErrors::new();
    if !resources::catalog::progress::teaches(cx, place.class_id, &place.subject) {
        errors.add("class", "error.teaching.not_your_class");
    }
    let node = tree::find(cx.db(), place.catalog_id).await?;
    let fits = match &node {
        Some(n) => {
            n.active
                && matches!(n.kind(), NodeKind::Unit | NodeKind::Section)
                && n.subject.as_deref() == Some(place.subject.as_str())
                && tree::is_visible_to(cx.db(), cx.actor, n).await?
        }
        None => false,
    };
    if !fits {
        errors.add("catalog_id", "error.teaching.chapter");
    }
    errors.into_result()?;
    let school: Option<(Option<NodeId>,)> = kernel::on_db!(cx.db(), p => sqlx::query_as(
        "SELECT school_id FROM org_nodes WHERE id = $1",
    ).bind(place.class_id).fetch_optional(p).await)?;
    school
        .and_then(|s| s.0)
        .ok_or(AppError::field("class", "error.teaching.not_your_class"))
}

async fn write_version(
    tx: &mut Tx,
    id: PlanId,
    version: i64,
    c: &Content,
    links: &[Vec<(ResourceId, i64)>],
    cx: &Ctx<'_>,
) -> AppResult<()> {
    on_tx!(tx, t => sqlx::query(
        "INSERT INTO lesson_plan_versions (plan_id, version, title, objectives, key_points, preparation,
                                           board, homework, reflection, edited_by, edited_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    ).bind(id).bind(version).bind(&c.title).bind(&c.objectives).bind(&c.key_points)
     .bind(&c.preparation).bind(&c.board).bind(&c.homework).bind(&c.reflection)
     .bind(cx.actor.person_id).bind(cx.now).execute(&mut *t).await.map(|r| r.rows_affected()))?;
    for (i, s) in c.steps.iter().enumerate() {
        let pos = i as i64 + 1;
        on_tx!(tx, t => sqlx::query(
            "INSERT INTO lesson_plan_steps (plan_id, version, position, title, minutes, content)
             VALUES ($1, $2, $3, $4, $5, $6)",
        ).bind(id).bind(version).bind(pos).bind(&s.title).bind(s.minutes).bind(&s.content)
         .execute(&mut *t).await.map(|r| r.rows_affected()))?;
        for (seq, item) in s.items.iter().enumerate() {
            on_tx!(tx, t => sqlx::query(
                "INSERT INTO lesson_plan_items (plan_id, version, position, seq, item_id) VALUES ($1, $2, $3, $4, $5)",
            ).bind(id).bind(version).bind(pos).bind(seq as i64).bind(*item)
             .execute(&mut *t).await.map(|r| r.rows_affected()))?;
        }
        for (rid, rv) in links.get(i).into_iter().flatten() {
            on_tx!(tx, t => sqlx::query(
                "INSERT INTO lesson_plan_links (plan_id, version, position, resource_id, resource_version)
                 VALUES ($1, $2, $3, $4, $5)",
            ).bind(id).bind(version).bind(pos).bind(*rid).bind(*rv)
             .execute(&mut *t).await.map(|r| r.rows_affected()))?;
        }
    }
    Ok(())
}

/// Starts a plan for a class and chapter the actor teaches (version 1), optionally from another
/// plan (`based_on`: the plan and version it copies).
pub async fn create(
    cx: &Ctx<'_>,
    place: &Place,
    draft: &Draft,
    based_on: Option<(PlanId, i64)>,
) -> AppResult<PlanId> {
    let mut errors = FieldErrors::new();
    let keep = |e: AppError, errors: &mut FieldErrors| match e {
        AppError::Invalid(f) => {
            errors.0.extend(f.0);
            Ok(())
        }
        e => Err(e),
    };
    let school = match check_place(cx, place).await {
        Ok(s) => Some(s),
        Err(e) => keep(e, &mut errors).map(|()| None)?,
    };
    let checked = match check(cx, draft).await {
        Ok(c) => Some(c),
        Err(e) => keep(e, &mut errors).map(|()| None)?,
    };
    errors.into_result()?;
    let (Some(school), Some((content, links))) = (school, checked) else {
        return Err(AppError::internal("a checked plan"));
    };
    let id = PlanId::new();
    let mut tx = cx.begin().await?;
    on_tx!(&mut tx, t => sqlx::query(
        "INSERT INTO lesson_plans (id, school_id, author_id, class_id, subject, catalog_id, title, version,
                                   based_on, based_on_version, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, $9, $10, $10)",
    ).bind(id).bind(school).bind(cx.actor.person_id).bind(place.class_id).bind(&place.subject)
     .bind(place.catalog_id).bind(&content.title).bind(based_on.map(|b| b.0))
     .bind(based_on.map(|b| b.1)).bind(cx.now).execute(&mut *t).await.map(|r| r.rows_affected()))?;
    write_version(&mut tx, id, 1, &content, &links, cx).await?;
    cx.audit(
        &mut tx,
        AuditEvent::new("lesson_plan.create")
            .object("lesson_plan", id)
            .node(place.class_id)
            .detail(
                serde_json::json!({ "title": content.title, "based_on": based_on.map(|b| b.0) }),
            ),
    )
    .await?;
    facts::record(
        &mut tx,
        cx.now,
        Fact::once(
            "lesson_prep.written",
            place.class_id,
            Some(cx.actor.person_id),
            id.0,
            format!("lesson_prep.written:{id}"),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Saves the author's changes as a new version; `expected` is the version they started from
/// (409 `teaching.plan_changed` if another save came first). Nothing changed: no new version.
/// The new version's number.
pub async fn save(cx: &Ctx<'_>, id: PlanId, expected: i64, draft: &Draft) -> AppResult<i64> {
    let plan = super::get_own(cx, id).await?;
    let (content, links) = check(cx, draft).await?;
    let current = super::content(cx, &plan, None).await?;
    let mut same = strip(&current) == content;
    if same {
        let old: Vec<Vec<ResourceId>> = current
            .steps
            .iter()
            .map(|s| s.links.iter().map(|l| l.resource_id).collect())
            .collect();
        let new: Vec<Vec<ResourceId>> = links
            .iter()
            .map(|l| {
                let mut v: Vec<ResourceId> = l.iter().map(|x| x.0).collect();
                v.sort_by_key(|r| r.0);
                v
            })
            .collect();
        let old: Vec<Vec<ResourceId>> = old
            .into_iter()
            .map(|mut v| {
                v.sort_by_key(|r| r.0);
                v
            })
            .collect();
        same = old == new;
    }
    if plan.version != expected {
        return Err(changed());
    }
    if same {
        return Ok(plan.version);
    }
    let next = plan.version + 1;
    let mut tx = cx.begin().await?;
    // The version check again, inside the write: two saves from version n, one wins.
    let n = on_tx!(&mut tx, t => sqlx::query(
        "UPDATE lesson_plans SET version = $2, title = $3, updated_at = $4 WHERE id = $1 AND version = $5",
    ).bind(id).bind(next).bind(&content.title).bind(cx.now).bind(expected)
     .execute(&mut *t).await.map(|r| r.rows_affected()))?;
    if n != 1 {
        return Err(changed());
    }
    write_version(&mut tx, id, next, &content, &links, cx).await?;
    cx.audit(
        &mut tx,
        AuditEvent::new("lesson_plan.save")
            .object("lesson_plan", id)
            .node(plan.class_id)
            .detail(serde_json::json!({ "version": next })),
    )
    .await?;
    tx.commit().await?;
    Ok(next)
}

fn changed() -> AppError {
    let mut f = FieldErrors::new();
    f.add("version", "error.teaching.plan_changed");
    AppError::Conflict("teaching.plan_changed", f)
}

/// The content without its links' display fields (to compare with a checked draft).
fn strip(c: &Content) -> Content {
    Content {
        steps: c
            .steps
            .iter()
            .map(|s| Step {
                links: Vec::new(),
                ..s.clone()
            })
            .collect(),
        ..c.clone()
    }
}

/// Deletes the author's plan (kept in the database, gone from every list).
pub async fn delete(cx: &Ctx<'_>, id: PlanId) -> AppResult<()> {
    let plan = super::get_own(cx, id).await?;
    let mut tx = cx.begin().await?;
    let n = on_tx!(&mut tx, t => sqlx::query(
        "UPDATE lesson_plans SET deleted_at = $2 WHERE id = $1 AND deleted_at IS NULL",
    ).bind(id).bind(cx.now).execute(&mut *t).await.map(|r| r.rows_affected()))?;
    if n == 0 {
        return Err(AppError::NotFound(super::NOT_FOUND));
    }
    cx.audit(
        &mut tx,
        AuditEvent::new("lesson_plan.delete")
            .object("lesson_plan", id)
            .node(plan.class_id)
            .detail(serde_json::json!({ "title": plan.title })),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The plan's place (for a copy into another class).
pub fn place_of(p: &Plan) -> Place {
    Place {
        class_id: p.class_id,
        subject: p.subject.clone(),
        catalog_id: p.catalog_id,
    }
}

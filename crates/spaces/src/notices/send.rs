//! Sending a notice: the form checked field by field, every target within the sender's
//! reach (a target beyond it is refused by name), the notice and its targets stored in one
//! transaction with its audit record; the runner works out the recipients.

use super::{Audience, Target};
use crate::scope;
use kernel::audit::AuditEvent;
use kernel::{AppError, AppResult, Ctx, FieldErrors, NodeId, NoticeId, on_tx};
use serde::Deserialize;

pub const TITLE_MAX: usize = 100;
pub const BODY_MAX: usize = 5_000;
pub const PROMPT_MAX: usize = 100;

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct NewNotice {
    /// `notice` or `homework`.
    pub kind: String,
    pub title: String,
    pub body: String,
    #[serde(default)]
    pub needs_confirm: bool,
    /// A short question recipients answer (`回执`), if any.
    #[serde(default)]
    pub reply_prompt: Option<String>,
    pub targets: Vec<Target>,
}

/// The nodes of `targets` the actor may not address, by label.
pub async fn out_of_reach(cx: &Ctx<'_>, targets: &[Target]) -> AppResult<Vec<String>> {
    let mut refused = Vec::new();
    for t in targets {
        if !scope::may_address(cx, t.node_id, t.audience == Audience::Staff).await? {
            let name = scope::label(cx.db(), t.node_id)
                .await?
                .unwrap_or_else(|| t.node_id.to_string());
            if !refused.contains(&name) {
                refused.push(name);
            }
        }
    }
    Ok(refused)
}

fn check(n: &NewNotice) -> FieldErrors {
    let mut f = FieldErrors::new();
    let title = n.title.trim();
    if title.is_empty() {
        f.add("title", "notices.error.title_required");
    } else if title.chars().count() > TITLE_MAX {
        f.add("title", "notices.error.title_too_long");
    }
    if n.body.trim().is_empty() {
        f.add("body", "notices.error.body_required");
    } else if n.body.chars().count() > BODY_MAX {
        f.add("body", "notices.error.body_too_long");
    }
    if !matches!(n.kind.as_str(), "notice" | "homework") {
        f.add("kind", "notices.error.kind");
    }
    if n.reply_prompt
        .as_deref()
        .is_some_and(|p| p.trim().chars().count() > PROMPT_MAX)
    {
        f.add("reply_prompt", "notices.error.prompt_too_long");
    }
    if n.targets.is_empty() {
        f.add("targets", "notices.error.targets_required");
    } else if n.targets.len() > 200 {
        f.add("targets", "notices.error.too_many_targets");
    }
    f
}

/// The node a notice is sent from: the deepest node above every target (its administrators
/// see the read list with the sender).
async fn common_node(cx: &Ctx<'_>, targets: &[Target]) -> AppResult<NodeId> {
    let mut common: Option<Vec<NodeId>> = None;
    for t in targets {
        let up = kernel::tree::ancestors_or_self(cx.db(), t.node_id).await?;
        common = Some(match common {
            None => up,
            Some(c) => c.into_iter().filter(|n| up.contains(n)).collect(),
        });
    }
    common
        .and_then(|c| c.last().copied())
        .ok_or(AppError::NotFound("directory.node_not_found"))
}

/// Sends a notice: stored now, recipients worked out by the runner within seconds.
pub async fn send(cx: &Ctx<'_>, n: NewNotice) -> AppResult<NoticeId> {
    send_with(cx, n, Vec::new()).await
}

/// [`send`] with attachments, checked with the rest of the form.
pub async fn send_with(
    cx: &Ctx<'_>,
    mut n: NewNotice,
    files: Vec<crate::attachments::NewFile>,
) -> AppResult<NoticeId> {
    let mut f = check(&n);
    let files = crate::attachments::check(files, &mut f);
    f.into_result()?;
    n.targets.dedup();
    for t in &n.targets {
        if directory::nodes::find(cx.db(), t.node_id).await?.is_none() {
            return Err(AppError::field("targets", "notices.error.unknown_target"));
        }
    }
    let refused = out_of_reach(cx, &n.targets).await?;
    if !refused.is_empty() {
        let mut f = FieldErrors::new();
        f.add("targets", "notices.error.out_of_reach");
        // The names themselves, for the form and the API client to show.
        f.add("targets.refused", &refused.join("、"));
        return Err(AppError::Invalid(f));
    }
    let node = common_node(cx, &n.targets).await?;
    let id = NoticeId::new();
    let prompt = n
        .reply_prompt
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty());
    let files = crate::attachments::upload(cx, files).await?;
    let mut tx = cx.begin().await?;
    on_tx!(&mut tx, c => sqlx::query(
        "INSERT INTO notices (id, sender_id, node_id, kind, title, body, needs_confirm, reply_prompt, state, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'queued', $9)",
    ).bind(id).bind(cx.actor.person_id).bind(node).bind(&n.kind).bind(n.title.trim())
     .bind(n.body.trim()).bind(n.needs_confirm).bind(prompt).bind(cx.now)
     .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    crate::attachments::store(cx, &mut tx, crate::attachments::Owner::Notice(id), files).await?;
    for t in &n.targets {
        on_tx!(&mut tx, c => sqlx::query(
            "INSERT INTO notice_targets (notice_id, node_id, audience) VALUES ($1, $2, $3)
             ON CONFLICT (notice_id, node_id, audience) DO NOTHING",
        ).bind(id).bind(t.node_id).bind(t.audience.as_str())
         .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    }
    cx.audit(
        &mut tx,
        AuditEvent::new("notice.send")
            .object("notice", id)
            .node(node)
            .detail(serde_json::json!({ "targets": n.targets.len(), "kind": n.kind })),
    )
    .await?;
    tx.commit().await?;
    cx.state.cache::<super::deliver::Wake>().0.notify_one();
    Ok(id)
}

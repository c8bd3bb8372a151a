//! Items shared school → district → city through the library's review, as lesson plans are.
//!
//! Sharing writes the item as a text document (stem, options, answer, explanation), makes it
//! (or a new version of it) an `exercise` resource on the item's chapter, and sends it to the
//! school's review; from there it goes the library's way. Whoever the resource reaches (its
//! audience, and its reviewers while it waits) uses the item itself: it is listed in their
//! bank's shared items, set in their work, and drawn on for their students' practice. Only the
//! version shared is: an edit takes the item out of sharing until it is shared, and reviewed,
//! again.

use super::bank::{self, Item, ItemId};
use crate::lesson_prep::share::{LibraryFile, file_stem, submit, to_library};
use kernel::audit::AuditEvent;
use kernel::{AppError, AppResult, Ctx, FieldErrors, Locale, on_db, on_tx};
use resources::model::{ResourceRow, Scope};

/// The item as a document a reviewer reads.
pub fn document(item: &Item) -> String {
    let l = Locale::default();
    let t = |k: &str| kernel::i18n::t(l, k).to_owned();
    let d = super::pages::draft_of(item);
    let mut out = format!(
        "{}（{}）\n\n{}\n",
        t(&format!("items.kind.{}", item.kind)),
        kernel::i18n::tf(l, "items.points_n", &[("n", &item.points_text())]),
        item.stem
    );
    if !d.choices.is_empty() {
        out.push('\n');
        for (i, c) in d.choices.lines().enumerate() {
            if matches!(item.kind.as_str(), "single" | "multiple") {
                out.push_str(&format!("{}. ", char::from(b'A' + i as u8)));
            }
            out.push_str(c);
            out.push('\n');
        }
    }
    if !d.answer.is_empty() {
        out.push_str(&format!("\n{}：{}\n", t("items.share_answer"), d.answer));
    }
    if !d.rubric.is_empty() {
        out.push_str(&format!("\n{}：\n{}\n", t("items.field_rubric"), d.rubric));
    }
    if !item.explanation.is_empty() {
        out.push_str(&format!(
            "\n{}：\n{}\n",
            t("items.field_explanation"),
            item.explanation
        ));
    }
    out
}

/// Shares the author's item (as it is now) to the library and sends it to the school's
/// review; an item shared before becomes a new version of the same resource. The resource.
pub async fn share(cx: &Ctx<'_>, id: ItemId) -> AppResult<ResourceRow> {
    let item = bank::get(cx, id).await?;
    if item.author_id != cx.actor.person_id {
        return Err(AppError::NotFound(bank::NOT_FOUND));
    }
    let Some(chapter) = item.catalog_id else {
        let mut f = FieldErrors::new();
        f.add("catalog_id", "error.teaching.item_share_chapter");
        return Err(AppError::Invalid(f));
    };
    let shared = || AppError::Conflict("teaching.item_shared", FieldErrors::new());
    if item.shared_version == Some(item.version) {
        // Shared at this version already: only its review can be missing (a failure after the
        // write), and is asked again.
        if let Some(rid) = item.resource_id
            && let Some(r) = resources::library::resource::find(cx.db(), rid).await?
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
        "UPDATE items SET shared_version = $2
         WHERE id = $1 AND version = $2 AND (shared_version IS NULL OR shared_version <> $2)",
    ).bind(id).bind(item.version).execute(p).await.map(|r| r.rows_affected()))?;
    if claimed == 0 {
        return Err(shared());
    }
    let title: String = item.stem.chars().take(40).collect();
    let written = to_library(
        cx,
        chapter,
        item.resource_id,
        LibraryFile {
            name: format!("{}.txt", file_stem(title.trim())),
            bytes: document(&item).into_bytes(),
            kind: "exercise",
            title: title.trim().to_owned(),
            description: kernel::i18n::t(Locale::default(), &format!("items.kind.{}", item.kind))
                .to_owned(),
        },
    )
    .await;
    let r = match written {
        Ok(r) => r,
        Err(e) => {
            // The claim is given back, so sharing again tries again.
            let _ = on_db!(cx.db(), p => sqlx::query(
                "UPDATE items SET shared_version = $3 WHERE id = $1 AND shared_version = $2",
            ).bind(id).bind(item.version).bind(item.shared_version).execute(p).await.map(|r| r.rows_affected()));
            return Err(e);
        }
    };
    let mut tx = cx.begin().await?;
    on_tx!(&mut tx, t => sqlx::query("UPDATE items SET resource_id = $2 WHERE id = $1")
        .bind(id).bind(r.id).execute(&mut *t).await.map(|r| r.rows_affected()))?;
    cx.audit(
        &mut tx,
        AuditEvent::new("item.share")
            .object("item", id)
            .node(item.school_id)
            .detail(serde_json::json!({ "version": item.version, "resource": r.id })),
    )
    .await?;
    tx.commit().await?;
    if r.scope() == Scope::Private && r.pending().is_none() {
        return submit(cx, &r).await;
    }
    Ok(r)
}

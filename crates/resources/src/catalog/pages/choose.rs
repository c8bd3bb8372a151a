//! Setting and clearing a textbook choice from the catalogue page.

use super::{opt_id, parse_id};
use crate::catalog::{choices, tree};
use axum::response::Response;
use kernel::{AppError, AppResult, CatalogId, NodeId};
use serde::Deserialize;
use standards::kinds::Stage;
use web::{CsrfForm, Page, redirect};

#[derive(Debug, Deserialize)]
pub struct ChoiceForm {
    #[serde(default)]
    at: String,
    /// The edition to teach (its stage and subject are the edition's).
    #[serde(default)]
    edition_id: String,
    /// To clear a choice: its stage and subject.
    #[serde(default)]
    stage: String,
    #[serde(default)]
    subject: String,
}

pub async fn set(page: Page, CsrfForm(form): CsrfForm<ChoiceForm>) -> AppResult<Response> {
    let cx = page.cx();
    let at: NodeId = parse_id(&form.at)?;
    let edition: Option<CatalogId> = opt_id(Some(&form.edition_id))?;
    let ok = match edition {
        Some(e) => {
            let ed = tree::get(cx.db(), e).await?;
            let stage = Stage::parse(&ed.stage)
                .ok_or_else(|| AppError::field("edition_id", "error.catalog.edition_invalid"))?;
            let subject = ed.subject.clone().unwrap_or_default();
            choices::set(&cx, at, stage, &subject, Some(e)).await?;
            "choice_saved"
        }
        None => {
            let stage = Stage::parse(&form.stage)
                .ok_or_else(|| AppError::field("stage", "error.catalog.unknown_stage"))?;
            choices::set(&cx, at, stage, form.subject.trim(), None).await?;
            "choice_cleared"
        }
    };
    Ok(redirect(&format!(
        "/library/catalog?at={at}&ok={ok}#choices"
    )))
}

//! The demo catalogue: `data/catalog_demo.csv` (语文, 数学 and 英语 across primary, junior and
//! senior grades in several editions) imported into the demo city (杭州市) through the same
//! import as any administrator's file, and the demo's textbook choices: the city teaches 统编版
//! Chinese, 人教版 maths and 人教PEP版 (primary) / 人教版 (junior) English; 西湖区 teaches
//! 北师大版 maths in its junior schools instead.

use super::model::NodeKind;
use super::{choices, import};
use kernel::{Actor, AppError, AppResult, AppState, Ctx, NodeId, RequestMeta, on_db};

/// The demo catalogue file.
pub const CSV: &str = include_str!("../../data/catalog_demo.csv");

/// The textbook choices of the demo: (region name, stage, subject, edition name).
const CHOICES: &[(&str, &str, &str, &str)] = &[
    ("杭州市", "primary", "13", "统编版"),
    ("杭州市", "junior", "13", "统编版"),
    ("杭州市", "senior", "13", "统编版"),
    ("杭州市", "primary", "14", "人教版"),
    ("杭州市", "junior", "14", "人教版"),
    ("杭州市", "senior", "14", "人教A版"),
    ("杭州市", "primary", "41", "人教PEP版"),
    ("杭州市", "junior", "41", "人教版"),
    ("西湖区", "junior", "14", "北师大版"),
];

async fn region_named(state: &AppState, kind: &str, name: &str) -> AppResult<Option<NodeId>> {
    let row: Option<(NodeId,)> = on_db!(&state.db, p => sqlx::query_as(
        "SELECT id FROM org_nodes WHERE kind = $1 AND name = $2 ORDER BY created_at LIMIT 1",
    ).bind(kind).bind(name).fetch_optional(p).await)?;
    Ok(row.map(|r| r.0))
}

/// Loads the demo catalogue into 杭州市 and sets the demo's textbook choices; does nothing if
/// there is no such city or it has a catalogue already.
pub async fn load(state: &AppState) -> AppResult<()> {
    let Some(city) = region_named(state, "city", "杭州市").await? else {
        return Ok(());
    };
    let (n,): (i64,) = on_db!(&state.db, p => sqlx::query_as(
        "SELECT COUNT(*) FROM catalog_nodes WHERE region_id = $1",
    ).bind(city).fetch_one(p).await)?;
    if n > 0 {
        return Ok(());
    }
    let actor = Actor::system();
    let meta = RequestMeta::cli();
    let cx = Ctx::new(state, &actor, &meta);
    let dir = state.config.data_dir.join("imports");
    tokio::fs::create_dir_all(&dir)
        .await
        .map_err(AppError::internal)?;
    let file = dir.join(format!("catalog-demo-{}.csv", uuid::Uuid::now_v7()));
    tokio::fs::write(&file, CSV)
        .await
        .map_err(AppError::internal)?;
    let imported = import::run(&cx, city, "catalog_demo.csv", &file).await;
    let _ = tokio::fs::remove_file(&file).await;
    match imported {
        Ok(_) => {}
        Err(import::ImportError::App(e)) => return Err(e),
        Err(import::ImportError::Rejected(r)) => {
            return Err(AppError::Internal(format!(
                "the demo catalogue was refused: {:?} {:?}",
                r.file_error,
                r.problems.first().map(|p| &p.message)
            )));
        }
    }
    for (region, stage, subject, edition) in CHOICES {
        let kind = if *region == "杭州市" {
            "city"
        } else {
            "district"
        };
        let Some(node) = region_named(state, kind, region).await? else {
            continue;
        };
        let found: Option<(kernel::CatalogId,)> = on_db!(&state.db, p => sqlx::query_as(
            "SELECT id FROM catalog_nodes WHERE region_id = $1 AND kind = $2 AND stage = $3
             AND subject = $4 AND name = $5",
        ).bind(city).bind(NodeKind::Edition.as_str()).bind(stage).bind(subject).bind(edition)
        .fetch_optional(p).await)?;
        if let Some((edition,)) = found {
            let stage = standards::kinds::Stage::parse(stage)
                .ok_or_else(|| AppError::internal("demo stage"))?;
            choices::set(&cx, node, stage, subject, Some(edition)).await?;
        }
    }
    Ok(())
}

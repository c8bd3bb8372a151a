//! Importing a region's catalogue from a spreadsheet (CSV in UTF-8 or GBK, XLSX, XLS): one row
//! per unit or section, naming its stage, subject, edition, volume and unit (and section).
//!
//! The whole file is checked first; if any row has a problem nothing is written, and every
//! problem is reported with its file, row, column and field. A good file is written in one
//! transaction with its audit record. Nodes are found by their natural key (region + path):
//! re-importing a file changes nothing; a node already there keeps its place unless the row
//! gives a 顺序, and new nodes come after their existing siblings in the order of the file.

pub mod rows;

use crate::catalog::edit::{self, child_of, require_maintainer};
use crate::catalog::model::{CatalogNode, NodeKind, PATH_SEP, stage_name};
use kernel::audit::AuditEvent;
use kernel::{AppError, AppResult, CatalogId, Ctx, NodeId, Tx, on_tx};
use rows::{CatalogRow, Rules};
use serde::Serialize;
use sheets::check::{self, FileError};
use sheets::report;
use std::collections::HashMap;
use std::path::Path;

/// Rows a catalogue file may have.
pub const MAX_ROWS: usize = 50_000;
/// Problems reported (all are counted).
pub const KEEP_PROBLEMS: usize = 500;

/// What a written import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Imported {
    pub file_name: String,
    /// Data rows read.
    pub rows: u64,
    /// Nodes created, changed (position, grade or term, reactivated) and left as they were.
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
}

/// One problem of a refused file, in words and by place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ImportProblem {
    pub file_name: String,
    /// The row as the spreadsheet shows it.
    pub row: u32,
    /// The column letter (A for the first), if the problem is in one cell.
    pub column: Option<String>,
    /// The column's header in the file (the field).
    pub field: Option<String>,
    pub value: String,
    /// The message's key, `error.catalog.*`.
    pub code: String,
    /// The problem in the reader's language, with its place.
    pub message: String,
}

/// Why nothing was written.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Rejected {
    pub file_name: String,
    /// The file as a whole could not be used (unreadable, no header, columns missing): the
    /// message in the reader's language.
    pub file_error: Option<String>,
    pub problem_count: u64,
    /// The first [`KEEP_PROBLEMS`] problems.
    pub problems: Vec<ImportProblem>,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("the file was refused: {} problems", .0.problem_count)]
    Rejected(Rejected),
    #[error(transparent)]
    App(#[from] AppError),
}

impl From<sqlx::Error> for ImportError {
    fn from(e: sqlx::Error) -> Self {
        Self::App(e.into())
    }
}

/// Reads and checks a file without the database.
fn read(path: &Path) -> Result<check::Collected<CatalogRow>, FileError> {
    check::collect_with::<Rules>(path, MAX_ROWS, KEEP_PROBLEMS, "error.catalog.too_many_rows")
}

/// Imports `path` (uploaded as `file_name`) into `region`'s catalogue: all or nothing.
pub async fn run(
    cx: &Ctx<'_>,
    region: NodeId,
    file_name: &str,
    path: &Path,
) -> Result<Imported, ImportError> {
    require_maintainer(cx, region).await?;
    let locale = cx.actor.locale;
    let owned = path.to_owned();
    let read = tokio::task::spawn_blocking(move || read(&owned))
        .await
        .map_err(AppError::internal)?;
    let (header, rows, problems, count) = match read {
        Ok(r) => r,
        Err(e) => {
            return Err(ImportError::Rejected(Rejected {
                file_name: file_name.to_owned(),
                file_error: Some(report::file_message(&e, locale)),
                problem_count: 1,
                problems: Vec::new(),
            }));
        }
    };
    if count > 0 {
        let problems = problems
            .iter()
            .map(|p| ImportProblem {
                file_name: file_name.to_owned(),
                row: p.row,
                column: p.column.map(check::column_letter),
                field: p.column.and_then(|c| header.headers.get(c).cloned()),
                value: p.value.clone(),
                code: p.key.to_owned(),
                message: format!(
                    "{}：{}",
                    file_name,
                    report::describe(&header.headers, p, locale)
                ),
            })
            .collect();
        return Err(ImportError::Rejected(Rejected {
            file_name: file_name.to_owned(),
            file_error: None,
            problem_count: count,
            problems,
        }));
    }
    let mut tx = cx.begin().await?;
    let mut w = Writer::load(&mut tx, region, cx.now).await?;
    for row in &rows {
        w.row(&mut tx, row).await?;
    }
    let done = Imported {
        file_name: file_name.to_owned(),
        rows: rows.len() as u64,
        created: w.created,
        updated: w.updated.len() as u64,
        unchanged: w.touched.len().saturating_sub(w.updated.len()) as u64,
    };
    cx.audit(
        &mut tx,
        AuditEvent::new("catalog.import")
            .object("node", region)
            .node(region)
            .detail(serde_json::json!({
                "file": file_name, "rows": done.rows, "created": done.created,
                "updated": done.updated, "unchanged": done.unchanged,
            })),
    )
    .await?;
    tx.commit().await?;
    Ok(done)
}

/// Writes checked rows into a region's catalogue inside one transaction.
struct Writer {
    region: NodeId,
    now: chrono::DateTime<chrono::Utc>,
    by_path: HashMap<String, CatalogNode>,
    /// (stage, course code) → the subject node's name already in the catalogue.
    subject_names: HashMap<(String, String), String>,
    /// parent → the last position used among its children.
    last: HashMap<Option<CatalogId>, i64>,
    created: u64,
    /// Existing nodes the file named, and those it changed (nodes this import created are in
    /// neither).
    touched: std::collections::HashSet<CatalogId>,
    fresh: std::collections::HashSet<CatalogId>,
    updated: std::collections::HashSet<CatalogId>,
}

impl Writer {
    async fn load(
        tx: &mut Tx,
        region: NodeId,
        now: chrono::DateTime<chrono::Utc>,
    ) -> AppResult<Self> {
        let all: Vec<CatalogNode> = on_tx!(tx, c => sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {} FROM catalog_nodes WHERE region_id = $1",
            crate::catalog::model::COLUMNS
        ))).bind(region).fetch_all(&mut *c).await)?;
        let mut last: HashMap<Option<CatalogId>, i64> = HashMap::new();
        let mut subject_names = HashMap::new();
        for n in &all {
            let e = last.entry(n.parent_id).or_insert(0);
            *e = (*e).max(n.position);
            if n.kind() == NodeKind::Subject
                && let Some(code) = &n.subject
            {
                subject_names
                    .entry((n.stage.clone(), code.clone()))
                    .or_insert(n.name.clone());
            }
        }
        Ok(Self {
            region,
            now,
            by_path: all.into_iter().map(|n| (n.path.clone(), n)).collect(),
            subject_names,
            last,
            created: 0,
            touched: Default::default(),
            fresh: Default::default(),
            updated: Default::default(),
        })
    }

    async fn row(&mut self, tx: &mut Tx, r: &CatalogRow) -> AppResult<()> {
        let subject_name = self
            .subject_names
            .entry((r.stage.as_str().to_owned(), r.subject.clone()))
            .or_insert(r.subject_name.clone())
            .clone();
        let mut levels: Vec<(NodeKind, String, Option<String>)> = vec![
            (
                NodeKind::Stage,
                stage_name(r.stage).to_owned(),
                Some(r.stage.as_str().to_owned()),
            ),
            (NodeKind::Subject, subject_name, Some(r.subject.clone())),
            (NodeKind::Edition, r.edition.clone(), None),
            (NodeKind::Volume, r.volume.clone(), None),
            (NodeKind::Unit, r.unit.clone(), None),
        ];
        if let Some(s) = &r.section {
            levels.push((NodeKind::Section, s.clone(), None));
        }
        let deepest = levels.len() - 1;
        let mut parent: Option<CatalogNode> = None;
        for (i, (kind, name, code)) in levels.into_iter().enumerate() {
            let path = match &parent {
                Some(p) => format!("{}{PATH_SEP}{name}", p.path),
                None => name.clone(),
            };
            let order = if i == deepest { r.order } else { None };
            let node = match self.by_path.get(&path).cloned() {
                Some(n) if self.fresh.contains(&n.id) => n,
                Some(mut n) => {
                    self.touched.insert(n.id);
                    let mut changed = false;
                    if !n.active {
                        n.active = true;
                        changed = true;
                    }
                    if let Some(o) = order
                        && n.position != o
                    {
                        n.position = o;
                        changed = true;
                    }
                    if kind == NodeKind::Volume
                        && (n.grade_code != r.grade_code || n.term != r.term)
                    {
                        n.grade_code = r.grade_code.clone();
                        n.term = r.term;
                        changed = true;
                    }
                    if changed {
                        n.updated_at = self.now;
                        self.update(tx, &n).await?;
                        self.updated.insert(n.id);
                        self.by_path.insert(path, n.clone());
                    }
                    n
                }
                None => {
                    let parent_id = parent.as_ref().map(|p| p.id);
                    let last = self.last.entry(parent_id).or_insert(0);
                    let position = match order {
                        Some(o) => o,
                        None => *last + 1,
                    };
                    *last = (*last).max(position);
                    let n = child_of(
                        parent.as_ref(),
                        self.region,
                        kind,
                        name,
                        code,
                        r.stage,
                        r.grade_code.clone(),
                        r.term,
                        position,
                        self.now,
                    );
                    edit::insert(tx, &n).await?;
                    self.created += 1;
                    self.fresh.insert(n.id);
                    self.by_path.insert(path, n.clone());
                    n
                }
            };
            parent = Some(node);
        }
        Ok(())
    }

    /// Writes a changed node; the grade and term of a volume go down to its units and sections.
    async fn update(&self, tx: &mut Tx, n: &CatalogNode) -> AppResult<()> {
        on_tx!(tx, c => sqlx::query(
            "UPDATE catalog_nodes SET active = $2, position = $3, grade_code = $4, term = $5, updated_at = $6 WHERE id = $1",
        ).bind(n.id).bind(n.active).bind(n.position).bind(&n.grade_code).bind(n.term).bind(n.updated_at)
        .execute(&mut *c).await.map(|r| r.rows_affected()))?;
        if n.kind() == NodeKind::Volume {
            on_tx!(tx, c => sqlx::query(
                "UPDATE catalog_nodes SET grade_code = $2, term = $3 WHERE volume_id = $1 AND id <> $1",
            ).bind(n.id).bind(&n.grade_code).bind(n.term)
            .execute(&mut *c).await.map(|r| r.rows_affected()))?;
        }
        Ok(())
    }
}

/// The empty template (XLSX) with the file's column headers.
pub fn template() -> AppResult<directory::export::File> {
    let table = directory::export::Table {
        stem: "教材目录导入模板".into(),
        columns: rows::TEMPLATE.iter().map(|h| (*h, *h)).collect(),
        rows: vec![
            [
                "初中",
                "数学",
                "人教版",
                "八年级下册",
                "第十七章 勾股定理",
                "17.1 勾股定理",
                "",
                "",
                "",
            ]
            .map(String::from)
            .to_vec(),
        ],
    };
    directory::export::encode(&table, directory::export::Format::Xlsx, false)
}

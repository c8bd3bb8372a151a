//! Importing a region's knowledge points from a spreadsheet (CSV in UTF-8 or GBK, XLSX, XLS):
//! one row per point, naming its stage, subject and the points from the top level down
//! (一级知识点 … 四级知识点). Parents a row names are created too.
//!
//! The whole file is checked first; if any row has a problem nothing is written, and every
//! problem is reported with its file, row, column and field. A good file is written in one
//! transaction with its audit record. Points are found by their natural key (region, stage,
//! subject, path): importing the same file again changes nothing, and new points come after
//! their existing siblings in the file's order.

use super::{MAX_DEPTH, Point, PointId, SEP, clean_name};
use kernel::audit::AuditEvent;
use kernel::{AppError, AppResult, Ctx, NodeId, on_tx};
use resources::catalog::edit::require_maintainer;
use resources::catalog::model::{parse_stage, parse_subject};
use serde::Serialize;
use sheets::Value;
use sheets::check::{self, ColumnKind, FileError, Layout, Problem, RowRules, key, lookup};
use sheets::report;
use std::collections::HashMap;
use std::path::Path;

pub const MAX_ROWS: usize = 20_000;
pub const KEEP_PROBLEMS: usize = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    Stage,
    Subject,
    Level(usize),
}

const FIELDS: &[(Field, &[&str])] = &[
    (Field::Stage, &["学段", "学段名称", "学部", "stage"]),
    (
        Field::Subject,
        &["学科", "学科名称", "科目", "课程", "subject"],
    ),
    (
        Field::Level(0),
        &["一级知识点", "一级", "知识点", "知识点一级", "level1"],
    ),
    (
        Field::Level(1),
        &["二级知识点", "二级", "知识点二级", "level2"],
    ),
    (
        Field::Level(2),
        &["三级知识点", "三级", "知识点三级", "level3"],
    ),
    (
        Field::Level(3),
        &["四级知识点", "四级", "知识点四级", "level4"],
    ),
];

impl ColumnKind for Field {
    fn from_headers(top: &str, below: &str) -> Option<Self> {
        lookup(FIELDS, &key(below)).or_else(|| lookup(FIELDS, &key(top)))
    }
}

/// The template's columns, in order.
pub const TEMPLATE: [&str; 6] = [
    "学段",
    "学科",
    "一级知识点",
    "二级知识点",
    "三级知识点",
    "四级知识点",
];

/// One row, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PointRow {
    pub row: u32,
    pub stage: String,
    pub subject: String,
    /// The names from the top level down.
    pub names: Vec<String>,
}

pub struct Rules {
    layout: Layout<Field>,
    /// (stage, subject, path) → the row that named it.
    seen: HashMap<(String, String, String), u32>,
}

impl Rules {
    fn cell(&self, cells: &[Value], f: Field) -> (Option<usize>, String) {
        let pos = self.layout.position(f);
        let text = pos
            .and_then(|p| cells.get(p))
            .map(|v| resources::catalog::model::clean(&v.text()))
            .unwrap_or_default();
        (pos, text)
    }
}

impl RowRules for Rules {
    type Field = Field;
    type Row = PointRow;

    fn refuse(layout: &Layout<Field>) -> Option<FileError> {
        let missing: Vec<&'static str> = [
            (Field::Stage, "学段"),
            (Field::Subject, "学科"),
            (Field::Level(0), "一级知识点"),
        ]
        .iter()
        .filter(|(f, _)| layout.position(*f).is_none())
        .map(|(_, h)| *h)
        .collect();
        (!missing.is_empty()).then_some(FileError::MissingHeaders {
            key: "error.teaching.point_columns",
            headers: missing,
        })
    }

    fn no_header() -> FileError {
        FileError::NoHeaderOf("error.teaching.point_no_header")
    }

    fn new(layout: Layout<Field>) -> Self {
        Self {
            layout,
            seen: HashMap::new(),
        }
    }

    fn layout(&self) -> &Layout<Field> {
        &self.layout
    }

    fn check(&mut self, row: u32, cells: &[Value]) -> Result<PointRow, Vec<Problem>> {
        let mut ps = Vec::new();
        let (stage_at, stage_text) = self.cell(cells, Field::Stage);
        let (subject_at, subject_text) = self.cell(cells, Field::Subject);
        let stage = if stage_text.is_empty() {
            ps.push(Problem::new(row, stage_at, "", "error.catalog.required"));
            None
        } else {
            let s = parse_stage(&stage_text);
            if s.is_none() {
                ps.push(Problem::new(
                    row,
                    stage_at,
                    &stage_text,
                    "error.catalog.unknown_stage",
                ));
            }
            s
        };
        let subject = if subject_text.is_empty() {
            ps.push(Problem::new(row, subject_at, "", "error.catalog.required"));
            None
        } else {
            stage.and_then(|st| {
                let s = parse_subject(&subject_text, st);
                if s.is_none() {
                    ps.push(Problem::new(
                        row,
                        subject_at,
                        &subject_text,
                        "error.catalog.unknown_subject",
                    ));
                }
                s
            })
        };
        let mut names = Vec::new();
        let mut gap: Option<usize> = None;
        for level in 0..MAX_DEPTH {
            let (at, text) = self.cell(cells, Field::Level(level));
            if text.is_empty() {
                if level == 0 {
                    ps.push(Problem::new(row, at, "", "error.catalog.required"));
                }
                gap.get_or_insert(level);
                continue;
            }
            if gap.is_some() {
                ps.push(Problem::new(row, at, &text, "error.teaching.point_gap"));
                continue;
            }
            match clean_name(&text) {
                Ok(n) => names.push(n),
                Err(k) => ps.push(Problem::new(row, at, &text, k)),
            }
        }
        if !ps.is_empty() {
            return Err(ps);
        }
        let (Some(stage), Some((subject, _))) = (stage, subject) else {
            return Err(ps);
        };
        let path = names.join(SEP);
        let key = (stage.as_str().to_owned(), subject.clone(), path);
        if let Some(first) = self.seen.get(&key) {
            let at = self.layout.position(Field::Level(names.len() - 1));
            let mut p = Problem::new(
                row,
                at,
                names.last().map_or("", String::as_str),
                "error.teaching.point_duplicate",
            );
            p.other_row = Some(*first);
            return Err(vec![p]);
        }
        self.seen.insert(key, row);
        Ok(PointRow {
            row,
            stage: stage.as_str().to_owned(),
            subject,
            names,
        })
    }
}

/// What a written import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Imported {
    pub file_name: String,
    pub rows: u64,
    pub created: u64,
    pub unchanged: u64,
}

/// Why nothing of a spreadsheet was written (the knowledge points', the items'): the file as a
/// whole, or its problems in words with their place.
#[derive(Debug, Clone, Serialize)]
pub struct Rejected {
    pub file_name: String,
    pub file_error: Option<String>,
    pub problem_count: u64,
    pub problems: Vec<String>,
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

fn read(path: &Path) -> Result<check::Collected<PointRow>, FileError> {
    check::collect_with::<Rules>(
        path,
        MAX_ROWS,
        KEEP_PROBLEMS,
        "error.teaching.point_too_many_rows",
    )
}

/// Imports `path` (uploaded as `file_name`) into `region`'s knowledge points: all or nothing.
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
            let message = report::file_message(&e, locale);
            return Err(ImportError::Rejected(Rejected {
                file_name: file_name.to_owned(),
                file_error: Some(format!("{file_name}：{message}")),
                problem_count: 1,
                problems: Vec::new(),
            }));
        }
    };
    if count > 0 {
        return Err(ImportError::Rejected(Rejected {
            file_name: file_name.to_owned(),
            file_error: None,
            problem_count: count,
            problems: problems
                .iter()
                .map(|p| {
                    format!(
                        "{file_name}：{}",
                        report::describe(&header.headers, p, locale)
                    )
                })
                .collect(),
        }));
    }
    let mut tx = cx.begin().await?;
    let existing: Vec<(PointId, String, String, String, Option<PointId>, i64)> = on_tx!(&mut tx, t => sqlx::query_as(
        "SELECT id, stage, subject, path, parent_id, position FROM knowledge_points WHERE region_id = $1",
    ).bind(region).fetch_all(&mut *t).await)?;
    let mut by_key: HashMap<(String, String, String), PointId> = HashMap::new();
    let mut last: HashMap<(String, String, Option<PointId>), i64> = HashMap::new();
    for (id, stage, subject, path, parent, position) in existing {
        let e = last
            .entry((stage.clone(), subject.clone(), parent))
            .or_insert(0);
        *e = (*e).max(position);
        by_key.insert((stage, subject, path), id);
    }
    let before: std::collections::HashSet<(String, String, String)> =
        by_key.keys().cloned().collect();
    let (mut created, mut unchanged) = (0u64, 0u64);
    for r in &rows {
        let mut parent: Option<PointId> = None;
        for depth in 1..=r.names.len() {
            let path = r.names[..depth].join(SEP);
            let key = (r.stage.clone(), r.subject.clone(), path.clone());
            if let Some(id) = by_key.get(&key) {
                if depth == r.names.len() && before.contains(&key) {
                    unchanged += 1;
                }
                parent = Some(*id);
                continue;
            }
            let position = last
                .entry((r.stage.clone(), r.subject.clone(), parent))
                .and_modify(|p| *p += 1)
                .or_insert(1);
            let p = Point {
                id: PointId::new(),
                region_id: region,
                stage: r.stage.clone(),
                subject: r.subject.clone(),
                parent_id: parent,
                name: r.names[depth - 1].clone(),
                path,
                depth: depth as i64,
                position: *position,
                active: true,
                created_at: cx.now,
                updated_at: cx.now,
            };
            super::insert(&mut tx, &p).await?;
            created += 1;
            by_key.insert(key, p.id);
            parent = Some(p.id);
        }
    }
    let done = Imported {
        file_name: file_name.to_owned(),
        rows: rows.len() as u64,
        created,
        unchanged,
    };
    cx.audit(
        &mut tx,
        AuditEvent::new("knowledge.import")
            .object("node", region)
            .node(region)
            .detail(
                serde_json::json!({ "file": file_name, "rows": done.rows, "created": created }),
            ),
    )
    .await?;
    tx.commit().await?;
    Ok(done)
}

/// The empty template with an example row, as XLSX.
pub fn template() -> AppResult<directory::export::File> {
    let table = directory::export::Table {
        stem: "知识点导入模板".into(),
        columns: TEMPLATE.iter().map(|h| (*h, *h)).collect(),
        rows: vec![
            ["小学", "语文", "识字与写字", "汉字笔画", "基本笔画", ""]
                .map(String::from)
                .to_vec(),
        ],
    };
    directory::export::encode(&table, directory::export::Format::Xlsx, false)
}

/// The demo's knowledge points (小学语文 and 数学) in the demo city, through the same import
/// as any administrator's file; nothing if the city has points or there is no such city.
pub async fn demo(state: &kernel::AppState) -> AppResult<()> {
    let city: Option<(NodeId,)> = kernel::on_db!(&state.db, p => sqlx::query_as(
        "SELECT id FROM org_nodes WHERE kind = 'city' AND name = '杭州市' ORDER BY created_at LIMIT 1",
    ).fetch_optional(p).await)?;
    let Some((city,)) = city else { return Ok(()) };
    if !super::subjects(&state.db, &[city]).await?.is_empty() {
        return Ok(());
    }
    let actor = kernel::Actor::system();
    let meta = kernel::RequestMeta::cli();
    let cx = Ctx::new(state, &actor, &meta);
    let dir = state.config.data_dir.join("imports");
    tokio::fs::create_dir_all(&dir)
        .await
        .map_err(AppError::internal)?;
    let file = dir.join(format!("knowledge-demo-{}.csv", uuid::Uuid::now_v7()));
    tokio::fs::write(&file, DEMO_CSV)
        .await
        .map_err(AppError::internal)?;
    let done = run(&cx, city, "knowledge_demo.csv", &file).await;
    let _ = tokio::fs::remove_file(&file).await;
    match done {
        Ok(_) => Ok(()),
        Err(ImportError::App(e)) => Err(e),
        Err(ImportError::Rejected(r)) => Err(AppError::internal(format!(
            "the demo knowledge points were refused: {:?} {:?}",
            r.file_error, r.problems
        ))),
    }
}

/// The demo's file.
pub const DEMO_CSV: &str = include_str!("../../data/knowledge_demo.csv");

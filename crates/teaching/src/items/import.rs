//! Importing items from the spreadsheet teachers fill (XLSX, XLS or CSV): one item per row with
//! its 学段, 学科, 题型, 题干, options (one 选项 cell with a line per option, or 选项A … 选项F),
//! 答案, 解析, 分值, 难度, 来源, 知识点 (paths separated by `；`) and, for the items a teacher
//! marks, 评分标准 (one criterion per line, as in the editor). Each row is checked as the
//! editor checks an item, and its knowledge points are looked up; if any row has a problem
//! nothing is written, and every problem is named with its file, row, column and field.

use super::bank::{self, Place};
use super::form::{self, Draft};
pub use crate::knowledge::import::{ImportError, Rejected};
use crate::knowledge::{self, PointId};
use kernel::{AppError, AppResult, Ctx};
use serde::Serialize;
use sheets::Value;
use sheets::check::{self, ColumnKind, FileError, Layout, Problem, RowRules, key, lookup};
use sheets::report;
use std::collections::HashMap;
use std::path::Path;

pub const MAX_ROWS: usize = 2_000;
pub const KEEP_PROBLEMS: usize = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    Stage,
    Subject,
    Kind,
    Stem,
    Choices,
    Choice(usize),
    Answer,
    Explanation,
    Points,
    Difficulty,
    Source,
    Knowledge,
    Rubric,
}

const FIELDS: &[(Field, &[&str])] = &[
    (Field::Stage, &["学段", "stage"]),
    (Field::Subject, &["学科", "科目", "subject"]),
    (Field::Kind, &["题型", "题目类型", "类型", "type"]),
    (Field::Stem, &["题干", "题目", "试题内容", "stem"]),
    (Field::Choices, &["选项", "options"]),
    (Field::Choice(0), &["选项a", "a"]),
    (Field::Choice(1), &["选项b", "b"]),
    (Field::Choice(2), &["选项c", "c"]),
    (Field::Choice(3), &["选项d", "d"]),
    (Field::Choice(4), &["选项e", "e"]),
    (Field::Choice(5), &["选项f", "f"]),
    (Field::Answer, &["答案", "正确答案", "参考答案", "answer"]),
    (Field::Explanation, &["解析", "答案解析", "explanation"]),
    (Field::Points, &["分值", "分数", "points"]),
    (Field::Difficulty, &["难度", "difficulty"]),
    (Field::Source, &["来源", "出处", "source"]),
    (Field::Knowledge, &["知识点", "knowledge"]),
    (Field::Rubric, &["评分标准", "评分细则", "rubric"]),
];

impl ColumnKind for Field {
    fn from_headers(top: &str, below: &str) -> Option<Self> {
        lookup(FIELDS, &key(below)).or_else(|| lookup(FIELDS, &key(top)))
    }
}

/// The template's columns, in order.
pub const TEMPLATE: [&str; 16] = [
    "学段",
    "学科",
    "题型",
    "题干",
    "选项A",
    "选项B",
    "选项C",
    "选项D",
    "答案",
    "解析",
    "分值",
    "难度",
    "来源",
    "知识点",
    "选项",
    "评分标准",
];

/// The types as teachers write them.
const KIND_NAMES: &[(&str, &str)] = &[
    ("单选题", "single"),
    ("单选", "single"),
    ("单项选择题", "single"),
    ("多选题", "multiple"),
    ("多选", "multiple"),
    ("多项选择题", "multiple"),
    ("判断题", "true_false"),
    ("判断", "true_false"),
    ("填空题", "blanks"),
    ("填空", "blanks"),
    ("注音题", "pinyin"),
    ("注音", "pinyin"),
    ("看汉字写拼音", "pinyin"),
    ("连线题", "matching"),
    ("连线", "matching"),
    ("排序题", "ordering"),
    ("排序", "ordering"),
    ("简答题", "short_answer"),
    ("简答", "short_answer"),
    ("作文", "essay"),
    ("写作", "essay"),
    ("听写", "dictation"),
    ("书写", "writing"),
];

/// One row, checked without the database.
#[derive(Debug, Clone)]
pub struct ItemRow {
    pub row: u32,
    pub stage: String,
    pub subject: String,
    pub draft: Draft,
    /// Knowledge point paths, with the column they came from.
    pub points: Vec<String>,
    pub points_at: Option<usize>,
}

pub struct Rules {
    layout: Layout<Field>,
}

impl Rules {
    fn cell(&self, cells: &[Value], f: Field) -> (Option<usize>, String) {
        let pos = self.layout.position(f);
        let text = pos
            .and_then(|p| cells.get(p))
            .map(|v| v.text().trim().to_owned())
            .unwrap_or_default();
        (pos, text)
    }
}

/// The editor's field a problem of `form::check` is about, as a column.
fn column_of(field: &str) -> Field {
    match field {
        "stem" => Field::Stem,
        "choices" => Field::Choices,
        "points" => Field::Points,
        "difficulty" => Field::Difficulty,
        "source" => Field::Source,
        "explanation" => Field::Explanation,
        "kind" => Field::Kind,
        "rubric" => Field::Rubric,
        _ => Field::Answer,
    }
}

impl RowRules for Rules {
    type Field = Field;
    type Row = ItemRow;

    fn refuse(layout: &Layout<Field>) -> Option<FileError> {
        let missing: Vec<&'static str> = [
            (Field::Stage, "学段"),
            (Field::Subject, "学科"),
            (Field::Kind, "题型"),
            (Field::Stem, "题干"),
        ]
        .iter()
        .filter(|(f, _)| layout.position(*f).is_none())
        .map(|(_, h)| *h)
        .collect();
        (!missing.is_empty()).then_some(FileError::MissingHeaders {
            key: "error.teaching.item_columns",
            headers: missing,
        })
    }

    fn no_header() -> FileError {
        FileError::NoHeaderOf("error.teaching.item_no_header")
    }

    fn new(layout: Layout<Field>) -> Self {
        Self { layout }
    }

    fn layout(&self) -> &Layout<Field> {
        &self.layout
    }

    fn check(&mut self, row: u32, cells: &[Value]) -> Result<ItemRow, Vec<Problem>> {
        let mut ps = Vec::new();
        let (stage_at, stage_text) = self.cell(cells, Field::Stage);
        let (subject_at, subject_text) = self.cell(cells, Field::Subject);
        let stage = resources::catalog::model::parse_stage(&stage_text);
        if stage.is_none() {
            ps.push(Problem::new(
                row,
                stage_at,
                &stage_text,
                "error.catalog.unknown_stage",
            ));
        }
        let subject =
            stage.and_then(|s| resources::catalog::model::parse_subject(&subject_text, s));
        if stage.is_some() && subject.is_none() {
            ps.push(Problem::new(
                row,
                subject_at,
                &subject_text,
                "error.catalog.unknown_subject",
            ));
        }
        let (kind_at, kind_text) = self.cell(cells, Field::Kind);
        let kind = KIND_NAMES
            .iter()
            .find(|(n, _)| *n == kind_text)
            .map(|(_, k)| *k)
            .or_else(|| form::KINDS.iter().copied().find(|k| *k == kind_text));
        if kind.is_none() {
            ps.push(Problem::new(
                row,
                kind_at,
                &kind_text,
                "error.teaching.item_kind",
            ));
        }
        let (_, mut choices) = self.cell(cells, Field::Choices);
        let lettered: Vec<String> = (0..6)
            .map(|i| self.cell(cells, Field::Choice(i)).1)
            .filter(|c| !c.is_empty())
            .collect();
        if !lettered.is_empty() {
            choices = lettered.join("\n");
        }
        let points = self.cell(cells, Field::Points).1;
        let difficulty = self.cell(cells, Field::Difficulty).1;
        let draft = Draft {
            kind: kind.unwrap_or_default().to_owned(),
            stem: self.cell(cells, Field::Stem).1,
            choices,
            answer: self.cell(cells, Field::Answer).1,
            explanation: self.cell(cells, Field::Explanation).1,
            points: if points.is_empty() {
                "2".into()
            } else {
                points
            },
            difficulty: if difficulty.is_empty() {
                "3".into()
            } else {
                difficulty
            },
            source: self.cell(cells, Field::Source).1,
            // Criteria one per line in the cell, or separated by `；`.
            rubric: self.cell(cells, Field::Rubric).1.replace('；', "\n"),
            ..Default::default()
        };
        if kind.is_some()
            && let Err(e) = form::check(&draft)
        {
            for (field, k) in e.0 {
                let f = column_of(&field);
                let at = self.layout.position(f).or_else(|| {
                    (f == Field::Choices)
                        .then(|| self.layout.position(Field::Choice(0)))
                        .flatten()
                });
                let value = match f {
                    Field::Stem => draft.stem.clone(),
                    Field::Choices => draft.choices.clone(),
                    Field::Points => draft.points.clone(),
                    Field::Difficulty => draft.difficulty.clone(),
                    Field::Source => draft.source.clone(),
                    Field::Rubric => draft.rubric.clone(),
                    Field::Explanation => String::new(),
                    _ => draft.answer.clone(),
                };
                let key: &'static str = form::error_key(&k);
                ps.push(Problem::new(row, at, &value, key));
            }
        }
        let (points_at, knowledge) = self.cell(cells, Field::Knowledge);
        if !ps.is_empty() {
            return Err(ps);
        }
        let (Some(stage), Some((subject, _))) = (stage, subject) else {
            return Err(ps);
        };
        Ok(ItemRow {
            row,
            stage: stage.as_str().to_owned(),
            subject,
            draft,
            points: knowledge
                .split(['；', ';', '\n'])
                .map(|p| {
                    p.split(['/', '／'])
                        .map(str::trim)
                        .collect::<Vec<_>>()
                        .join(knowledge::SEP)
                })
                .filter(|p| !p.is_empty())
                .collect(),
            points_at,
        })
    }
}

/// What a written import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Imported {
    pub file_name: String,
    pub items: u64,
}

fn read(path: &Path) -> Result<check::Collected<ItemRow>, FileError> {
    check::collect_with::<Rules>(
        path,
        MAX_ROWS,
        KEEP_PROBLEMS,
        "error.teaching.item_too_many_rows",
    )
}

/// Imports `path` (uploaded as `file_name`) into the actor's school's bank: all or nothing.
pub async fn run(cx: &Ctx<'_>, file_name: &str, path: &Path) -> Result<Imported, ImportError> {
    if bank::school_of(cx).await?.is_none() {
        return Err(AppError::Forbidden.into());
    }
    let locale = cx.actor.locale;
    let owned = path.to_owned();
    let read = tokio::task::spawn_blocking(move || read(&owned))
        .await
        .map_err(AppError::internal)?;
    let (header, rows, mut problems, mut count) = match read {
        Ok(r) => r,
        Err(e) => {
            return Err(ImportError::Rejected(Rejected {
                file_name: file_name.to_owned(),
                file_error: Some(format!("{file_name}：{}", report::file_message(&e, locale))),
                problem_count: 1,
                problems: Vec::new(),
            }));
        }
    };
    // The knowledge points by path, in the regions the teacher uses.
    let regions = resources::catalog::tree::regions_for(cx.db(), cx.actor).await?;
    let mut by_path: HashMap<(String, String, String), PointId> = HashMap::new();
    let mut loaded: Vec<(String, String)> = Vec::new();
    let mut places = Vec::new();
    for r in &rows {
        let mut ids = Vec::new();
        for path in &r.points {
            let k = (r.stage.clone(), r.subject.clone(), path.clone());
            let subject = (r.stage.clone(), r.subject.clone());
            if !loaded.contains(&subject) {
                loaded.push(subject);
                for region in &regions {
                    let tree =
                        knowledge::tree(cx.db(), *region, &r.stage, &r.subject, false).await?;
                    for p in tree {
                        by_path.insert((r.stage.clone(), r.subject.clone(), p.path.clone()), p.id);
                    }
                }
            }
            match by_path.get(&k) {
                Some(id) => ids.push(*id),
                None => {
                    count += 1;
                    if problems.len() < KEEP_PROBLEMS {
                        problems.push(Problem::new(
                            r.row,
                            r.points_at,
                            path,
                            "error.teaching.item_point_unknown",
                        ));
                    }
                }
            }
        }
        places.push(Place {
            stage: r.stage.clone(),
            subject: r.subject.clone(),
            catalog_id: None,
            points: ids,
        });
    }
    if count > 0 {
        problems.sort_by_key(|p| (p.row, p.column));
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
    let n = bank::create_all(cx, rows.iter().map(|r| &r.draft).zip(&places), file_name).await?;
    Ok(Imported {
        file_name: file_name.to_owned(),
        items: n,
    })
}

/// Imports a QTI 2.1 or 3.0 package (`path`, uploaded as `file_name`) into the actor's
/// school's bank, every item in `stage` and `subject`: all or nothing. Every item is checked
/// as the editor checks it, and each problem is named with its file, item and field.
pub async fn run_qti(
    cx: &Ctx<'_>,
    file_name: &str,
    path: &Path,
    stage: &str,
    subject: &str,
) -> Result<Imported, ImportError> {
    use super::qti;
    if bank::school_of(cx).await?.is_none() {
        return Err(AppError::Forbidden.into());
    }
    let locale = cx.actor.locale;
    let t = |k: &str| kernel::i18n::t(locale, k).to_owned();
    let refuse = |message: String| {
        ImportError::Rejected(Rejected {
            file_name: file_name.to_owned(),
            file_error: Some(format!("{file_name}：{message}")),
            problem_count: 1,
            problems: Vec::new(),
        })
    };
    let owned = path.to_owned();
    let read = tokio::task::spawn_blocking(move || {
        if std::fs::metadata(&owned).map_or(0, |m| m.len()) > qti::MAX_UNPACKED {
            return Err(qti::Refused("error.teaching.qti_too_big"));
        }
        std::fs::read(&owned)
            .map_err(|_| qti::Refused("error.teaching.qti_package"))
            .and_then(|b| qti::read_package(&b))
    })
    .await
    .map_err(AppError::internal)?;
    let (items, mut problems) = read.map_err(|qti::Refused(key)| refuse(t(key)))?;
    if items.is_empty() && problems.is_empty() {
        return Err(refuse(t("error.teaching.qti_empty")));
    }
    for r in &items {
        if let Err(fields) = form::check(&r.draft) {
            for (field, key) in fields.0 {
                problems.push(qti::Problem {
                    file: r.file.clone(),
                    item: r.item.clone(),
                    field,
                    key,
                });
            }
        }
    }
    if !problems.is_empty() {
        let count = problems.len() as u64;
        return Err(ImportError::Rejected(Rejected {
            file_name: file_name.to_owned(),
            file_error: None,
            problem_count: count,
            problems: problems
                .iter()
                .take(KEEP_PROBLEMS)
                .map(|p| {
                    kernel::i18n::tf(
                        locale,
                        "items.qti_problem",
                        &[
                            ("file", &p.file),
                            ("item", &p.item),
                            ("field", &t(&format!("items.qti_field.{}", p.field))),
                            ("message", &t(&p.key)),
                        ],
                    )
                })
                .collect(),
        }));
    }
    let place = Place {
        stage: stage.to_owned(),
        subject: subject.to_owned(),
        catalog_id: None,
        points: Vec::new(),
    };
    let drafts: Vec<Draft> = items
        .into_iter()
        .map(|r| Draft {
            source: if r.draft.source.is_empty() {
                file_name.chars().take(100).collect()
            } else {
                r.draft.source
            },
            ..r.draft
        })
        .collect();
    let n = bank::create_all(cx, drafts.iter().map(|d| (d, &place)), file_name).await?;
    Ok(Imported {
        file_name: file_name.to_owned(),
        items: n,
    })
}

/// The template with an example row of each common type, as XLSX.
pub fn template() -> AppResult<directory::export::File> {
    let row = |v: [&str; 16]| v.map(String::from).to_vec();
    let table = directory::export::Table {
        stem: "试题导入模板".into(),
        columns: TEMPLATE.iter().map(|h| (*h, *h)).collect(),
        rows: vec![
            row([
                "小学",
                "语文",
                "单选题",
                "“天”字的声调是第几声？",
                "第一声",
                "第二声",
                "第三声",
                "第四声",
                "A",
                "tiān，第一声。",
                "2",
                "1",
                "原创",
                "识字与写字/汉语拼音/声调",
                "",
                "",
            ]),
            row([
                "小学",
                "数学",
                "填空题",
                "3 + 5 = ____",
                "",
                "",
                "",
                "",
                "=8",
                "",
                "2",
                "1",
                "原创",
                "",
                "",
                "",
            ]),
            row([
                "小学",
                "语文",
                "判断题",
                "“人”字有两画。",
                "",
                "",
                "",
                "",
                "对",
                "",
                "1",
                "1",
                "",
                "",
                "",
                "",
            ]),
            row([
                "小学",
                "语文",
                "简答题",
                "用“天、地、人”说一句话。",
                "",
                "",
                "",
                "",
                "",
                "句子通顺，用上三个字即可。",
                "4",
                "2",
                "原创",
                "",
                "",
                "用字：全部用上=2，用上两个=1\n句子：通顺=2，基本通顺=1",
            ]),
        ],
    };
    directory::export::encode(&table, directory::export::Format::Xlsx, false)
}

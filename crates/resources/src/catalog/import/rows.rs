//! A catalogue file's columns, as administrators head them (学段, 学科, 教材版本, 册次, 单元/章,
//! 课节, 顺序, 年级, 学期 and their variants, with the decorations the directory's header
//! matcher removes), and the checks of one row, through the directory's file machinery
//! (`sheets::check::Layout`, `sheets::check::RowRules`).

use crate::catalog::edit::clean_name;
use crate::catalog::model::{
    grade_code_in_stage, grade_in_stage, parse_stage, parse_subject, parse_term, parse_volume,
    stage_name,
};
use sheets::Value;
use sheets::check::{ColumnKind, FileError, Layout, Problem, RowRules, key, lookup};
use standards::kinds::Stage;
use std::collections::HashMap;

/// A column of the catalogue file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    Stage,
    Subject,
    Edition,
    Volume,
    Unit,
    Section,
    Order,
    Grade,
    Term,
}

use Field as F;

const FIELDS: &[(Field, &[&str])] = &[
    (F::Stage, &["学段", "学段名称", "学部", "stage"]),
    (
        F::Subject,
        &["学科", "学科名称", "科目", "课程", "学科代码", "subject"],
    ),
    (
        F::Edition,
        &["教材版本", "版本", "教材", "教材名称", "出版社", "edition"],
    ),
    (
        F::Volume,
        &[
            "册次",
            "册别",
            "分册",
            "册",
            "年级册次",
            "教材册次",
            "volume",
        ],
    ),
    (
        F::Unit,
        &[
            "单元/章",
            "单元",
            "章",
            "章节",
            "单元名称",
            "章名称",
            "单元/章节",
            "unit",
            "chapter",
        ],
    ),
    (
        F::Section,
        &[
            "课节", "课", "节", "课时", "课文", "小节", "课题", "课名", "section",
        ],
    ),
    (F::Order, &["顺序", "序号", "排序", "次序", "order"]),
    (F::Grade, &["年级", "grade"]),
    (F::Term, &["学期", "term"]),
];

impl ColumnKind for Field {
    fn from_headers(top: &str, below: &str) -> Option<Self> {
        lookup(FIELDS, &key(below)).or_else(|| lookup(FIELDS, &key(top)))
    }
}

/// The columns a catalogue file cannot do without, with the template's headers.
pub const REQUIRED: [(Field, &str); 5] = [
    (F::Stage, "学段"),
    (F::Subject, "学科"),
    (F::Edition, "教材版本"),
    (F::Volume, "册次"),
    (F::Unit, "单元/章"),
];

/// The template's columns, in order.
pub const TEMPLATE: [&str; 9] = [
    "学段",
    "学科",
    "教材版本",
    "册次",
    "单元/章",
    "课节",
    "顺序",
    "年级",
    "学期",
];

/// One row, checked: what it names from the stage down.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogRow {
    pub row: u32,
    pub stage: Stage,
    /// JY/T 1001 course code, and the subject's name in the catalogue.
    pub subject: String,
    pub subject_name: String,
    pub edition: String,
    pub volume: String,
    /// The volume's JY/T grade code within the stage, and its term (none for 全一册).
    pub grade_code: Option<String>,
    pub term: Option<i64>,
    pub unit: String,
    pub section: Option<String>,
    /// The position of the row's last node (the section, else the unit) among its siblings.
    pub order: Option<i64>,
}

impl CatalogRow {
    /// The names from the stage down to the row's last node.
    pub fn names(&self) -> Vec<&str> {
        let mut v = vec![
            stage_name(self.stage),
            self.subject_name.as_str(),
            self.edition.as_str(),
            self.volume.as_str(),
            self.unit.as_str(),
        ];
        if let Some(s) = &self.section {
            v.push(s);
        }
        v
    }
}

/// Checks rows, remembering earlier ones (duplicates, a volume's grade, a subject's name).
pub struct Rules {
    layout: Layout<Field>,
    /// path → the row that named it.
    seen: HashMap<String, u32>,
    /// volume path → (grade code, term, row).
    volumes: HashMap<String, (Option<String>, Option<i64>, u32)>,
    /// (stage, course code) → the first name written for it.
    subjects: HashMap<(Stage, String), String>,
}

impl Rules {
    fn cell(&self, cells: &[Value], f: Field) -> (Option<usize>, String) {
        let pos = self.layout.position(f);
        let text = pos
            .and_then(|p| cells.get(p))
            .map(|v| crate::catalog::model::clean(&v.text()))
            .unwrap_or_default();
        (pos, text)
    }
}

impl RowRules for Rules {
    type Field = Field;
    type Row = CatalogRow;

    fn refuse(layout: &Layout<Field>) -> Option<FileError> {
        let missing: Vec<&'static str> = REQUIRED
            .iter()
            .filter(|(f, _)| layout.position(*f).is_none())
            .map(|(_, h)| *h)
            .collect();
        (!missing.is_empty()).then_some(FileError::MissingHeaders {
            key: "error.catalog.missing_columns",
            headers: missing,
        })
    }

    fn no_header() -> FileError {
        FileError::NoHeaderOf("error.catalog.no_header")
    }

    fn new(layout: Layout<Field>) -> Self {
        Self {
            layout,
            seen: HashMap::new(),
            volumes: HashMap::new(),
            subjects: HashMap::new(),
        }
    }

    fn layout(&self) -> &Layout<Field> {
        &self.layout
    }

    fn check(&mut self, row: u32, cells: &[Value]) -> Result<CatalogRow, Vec<Problem>> {
        let mut ps = Vec::new();
        let required = |f: Field, ps: &mut Vec<Problem>| {
            let (pos, text) = self.cell(cells, f);
            if text.is_empty() {
                ps.push(Problem::new(row, pos, "", "error.catalog.required"));
            } else if let Err(k) = clean_name(&text)
                && !matches!(f, F::Stage | F::Subject)
            {
                ps.push(Problem::new(row, pos, &text, k));
            }
            (pos, text)
        };
        let (stage_at, stage_text) = required(F::Stage, &mut ps);
        let (subject_at, subject_text) = required(F::Subject, &mut ps);
        let (_, edition) = required(F::Edition, &mut ps);
        let (volume_at, volume) = required(F::Volume, &mut ps);
        let (_, unit) = required(F::Unit, &mut ps);
        let (section_at, section) = self.cell(cells, F::Section);
        if !section.is_empty()
            && let Err(k) = clean_name(&section)
        {
            ps.push(Problem::new(row, section_at, &section, k));
        }
        let (order_at, order_text) = self.cell(cells, F::Order);
        let order = if order_text.is_empty() {
            None
        } else {
            match order_text.parse::<i64>() {
                Ok(n) if (1..=100_000).contains(&n) => Some(n),
                _ => {
                    ps.push(Problem::new(
                        row,
                        order_at,
                        &order_text,
                        "error.catalog.order_invalid",
                    ));
                    None
                }
            }
        };

        let stage = if stage_text.is_empty() {
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
        let subject = match stage {
            Some(st) if !subject_text.is_empty() => {
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
            }
            _ => None,
        };

        // The volume's grade and term: from its name, or the 年级 and 学期 columns (which must
        // agree with the name when both say it).
        let (mut grade_code, mut term) = (None, None);
        if let Some(st) = stage
            && !volume.is_empty()
        {
            let parsed = parse_volume(&volume);
            let (grade_at, grade_text) = self.cell(cells, F::Grade);
            let (term_at, term_text) = self.cell(cells, F::Term);
            let grade = if grade_text.is_empty() {
                parsed.map(|p| (p.0, volume_at, volume.clone()))
            } else {
                match grade_in_stage(st, &grade_text) {
                    Some(g) if parsed.is_some_and(|p| p.0 != g) => {
                        ps.push(Problem::new(
                            row,
                            grade_at,
                            &grade_text,
                            "error.catalog.volume_mismatch",
                        ));
                        None
                    }
                    Some(g) => Some((g, grade_at, grade_text.clone())),
                    None => {
                        ps.push(Problem::new(
                            row,
                            grade_at,
                            &grade_text,
                            "error.catalog.grade_unreadable",
                        ));
                        None
                    }
                }
            };
            term = if term_text.is_empty() {
                parsed.and_then(|p| p.1)
            } else {
                match parse_term(&term_text) {
                    Some(t) if parsed.is_some_and(|p| p.1.is_some_and(|pt| pt != t)) => {
                        ps.push(Problem::new(
                            row,
                            term_at,
                            &term_text,
                            "error.catalog.volume_mismatch",
                        ));
                        None
                    }
                    Some(t) => Some(t),
                    None => {
                        ps.push(Problem::new(
                            row,
                            term_at,
                            &term_text,
                            "error.catalog.term_invalid",
                        ));
                        None
                    }
                }
            };
            match grade {
                Some((g, at, text)) => match grade_code_in_stage(st, g) {
                    Some(c) => grade_code = Some(c.to_owned()),
                    None => ps.push(Problem::new(row, at, &text, "error.catalog.grade_stage")),
                },
                None if parsed.is_none()
                    && grade_text.is_empty()
                    && matches!(st, Stage::Primary | Stage::Junior) =>
                {
                    ps.push(Problem::new(
                        row,
                        volume_at,
                        &volume,
                        "error.catalog.volume_unreadable",
                    ));
                }
                None => {}
            }
        }
        if !ps.is_empty() {
            return Err(ps);
        }
        let (Some(stage), Some((subject, shown))) = (stage, subject) else {
            return Err(ps);
        };
        let subject_name = self
            .subjects
            .entry((stage, subject.clone()))
            .or_insert(shown)
            .clone();
        let out = CatalogRow {
            row,
            stage,
            subject,
            subject_name,
            edition,
            volume,
            grade_code,
            term,
            unit,
            section: Some(section).filter(|s| !s.is_empty()),
            order,
        };
        let names = out.names();
        let volume_path = names[..4].join(" / ");
        match self.volumes.get(&volume_path) {
            Some((g, t, _)) if (g, t) != (&out.grade_code, &out.term) => {
                return Err(vec![Problem::new(
                    row,
                    volume_at,
                    &out.volume,
                    "error.catalog.volume_conflict",
                )]);
            }
            Some(_) => {}
            None => {
                self.volumes
                    .insert(volume_path, (out.grade_code.clone(), out.term, row));
            }
        }
        let path = names.join(" / ");
        if let Some(other) = self.seen.get(&path) {
            let at = if out.section.is_some() {
                section_at
            } else {
                self.layout.position(F::Unit)
            };
            let mut p = Problem::new(
                row,
                at,
                names.last().copied().unwrap_or(""),
                "error.catalog.duplicate_row",
            );
            p.other_row = Some(*other);
            return Err(vec![p]);
        }
        self.seen.insert(path, row);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn rules(headers: &[&str]) -> Rules {
        let h: Vec<String> = headers.iter().map(|s| (*s).to_owned()).collect();
        Rules::new(Layout::read(None, &h))
    }
    fn cells(v: &[&str]) -> Vec<Value> {
        v.iter().map(|s| Value::Text((*s).to_owned())).collect()
    }

    #[test]
    fn headers_as_written_and_the_template_is_understood() {
        let h: Vec<String> = TEMPLATE.iter().map(|s| (*s).to_owned()).collect();
        let l: Layout<Field> = Layout::read(None, &h);
        assert!(l.unknown.is_empty() && l.repeated.is_empty(), "{l:?}");
        assert!(Rules::refuse(&l).is_none());
        let h: Vec<String> = ["学段★", "学科（必填）", "版本", "册别", "单元", "课"]
            .map(String::from)
            .to_vec();
        let l: Layout<Field> = Layout::read(None, &h);
        assert_eq!(l.position(F::Section), Some(5));
        assert!(Rules::refuse(&l).is_none());
        let l: Layout<Field> = Layout::read(None, &["学段".into(), "学科".into(), "册次".into()]);
        match Rules::refuse(&l) {
            Some(FileError::MissingHeaders { headers, .. }) => {
                assert_eq!(headers, ["教材版本", "单元/章"]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn rows_checked_with_their_columns() {
        let mut r = rules(&["学段", "学科", "教材版本", "册次", "单元/章", "课节"]);
        let ok = r
            .check(
                2,
                &cells(&[
                    "初中",
                    "数学",
                    "人教版",
                    "八年级下册",
                    "第十七章 勾股定理",
                    "17.1 勾股定理",
                ]),
            )
            .unwrap();
        assert_eq!((ok.grade_code.as_deref(), ok.term), (Some("2"), Some(2)));
        assert_eq!(ok.subject, "14");
        let dup = r
            .check(
                3,
                &cells(&[
                    "初中",
                    "14",
                    "人教版",
                    "八年级下册",
                    "第十七章 勾股定理",
                    "17.1 勾股定理",
                ]),
            )
            .unwrap_err();
        assert_eq!(
            (dup[0].key, dup[0].other_row, dup[0].column),
            ("error.catalog.duplicate_row", Some(2), Some(5))
        );
        let bad = r
            .check(
                4,
                &cells(&["小学", "炼金术", "人教版", "七年级上册", "", ""]),
            )
            .unwrap_err();
        let keys: Vec<(Option<usize>, &str)> = bad.iter().map(|p| (p.column, p.key)).collect();
        assert!(
            keys.contains(&(Some(1), "error.catalog.unknown_subject")),
            "{keys:?}"
        );
        assert!(
            keys.contains(&(Some(4), "error.catalog.required")),
            "{keys:?}"
        );
        assert!(
            keys.contains(&(Some(3), "error.catalog.grade_stage")),
            "{keys:?}"
        );
        let bad = r
            .check(5, &cells(&["小学", "语文", "统编版", "第一册", "识字", ""]))
            .unwrap_err();
        assert_eq!(bad[0].key, "error.catalog.volume_unreadable");
    }

    #[test]
    fn grade_and_term_columns() {
        let mut r = rules(&[
            "学段",
            "学科",
            "教材版本",
            "册次",
            "单元/章",
            "年级",
            "学期",
        ]);
        let ok = r
            .check(
                2,
                &cells(&[
                    "高中",
                    "数学",
                    "人教A版",
                    "必修第一册",
                    "第一章 集合",
                    "高一",
                    "上",
                ]),
            )
            .unwrap();
        assert_eq!((ok.grade_code.as_deref(), ok.term), (Some("1"), Some(1)));
        let bad = r
            .check(
                3,
                &cells(&[
                    "初中",
                    "数学",
                    "人教版",
                    "七年级上册",
                    "第一章",
                    "八年级",
                    "",
                ]),
            )
            .unwrap_err();
        assert_eq!(
            (bad[0].key, bad[0].column),
            ("error.catalog.volume_mismatch", Some(5))
        );
    }
}

//! Reading the class a row names ("三年级(2)班", "初一3班", "高二（10）班", or "2班" beside a
//! grade column "三年级") and finding or creating its grade and class nodes in the school (for
//! every kind of import that names classes: students, staff's head-teacher classes, teaching
//! assignments).

use crate::model::{Node, NodeKind, Stage};
use crate::{nodes, typed};
use kernel::{AppResult, NodeId, Tx, on_tx};
use std::collections::HashMap;

/// A class as a row names it: the stage, the year within the stage (1 = first) and the number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClassName {
    pub stage: Stage,
    pub year: u8,
    pub number: u16,
}

impl ClassName {
    /// The grade's name as the platform writes it (三年级, 七年级, 高一, 小班).
    pub fn grade_name(&self) -> String {
        grade_name(self.stage, self.year)
    }
    /// The class's name as the platform writes it: "(2)班".
    pub fn class_name(&self) -> String {
        format!("({})班", self.number)
    }
}

pub use standards::grades::grade_name;

/// A Chinese or Arabic number from 1 to 99 at the start of `s`, and what follows it.
fn number(s: &str) -> Option<(u16, &str)> {
    let digits: String = s.chars().take_while(char::is_ascii_digit).collect();
    if !digits.is_empty() {
        return Some((digits.parse().ok()?, &s[digits.len()..]));
    }
    let value = |c: char| "一二三四五六七八九".find(c).map(|i| (i / 3 + 1) as u16);
    let mut chars = s.char_indices().peekable();
    let mut n = 0u16;
    let mut end = 0;
    while let Some(&(i, c)) = chars.peek() {
        if c == '十' {
            n = if n == 0 { 10 } else { n * 10 };
        } else if let Some(v) = value(c) {
            n = if n >= 10 && n.is_multiple_of(10) {
                n + v
            } else {
                n * 10 + v
            };
        } else {
            break;
        }
        end = i + c.len_utf8();
        chars.next();
    }
    (n > 0).then(|| (n, &s[end..]))
}

/// The grade at the start of `s` as (stage, year), and what follows it. A grade number alone
/// (三年级, 7年级) is placed in the stage that has it among the school's `stages`.
fn grade<'a>(s: &'a str, stages: &[Stage]) -> Option<(Stage, u8, &'a str)> {
    for (prefix, stage) in [("初", Stage::Junior), ("高", Stage::Senior)] {
        if let Some(rest) = s.strip_prefix(prefix)
            && let Some((n, rest)) = number(rest)
            && (1..=3).contains(&n)
        {
            let rest = rest.strip_prefix("年级").unwrap_or(rest);
            return Some((stage, n as u8, rest));
        }
    }
    for (i, name) in ["小班", "中班", "大班"].iter().enumerate() {
        if let Some(rest) = s.strip_prefix(name) {
            return Some((Stage::Preschool, i as u8 + 1, rest));
        }
    }
    let (n, rest) = number(s)?;
    let rest = rest.strip_prefix("年级")?;
    let absolute = u8::try_from(n).ok().filter(|n| (1..=12).contains(n))?;
    // 1–6 primary, 7–9 junior (or years 7–9 of a nine-year special school), 10–12 senior.
    let candidates: &[(Stage, u8)] = match absolute {
        1..=6 => &[
            (Stage::Primary, 0),
            (Stage::Special, 0),
            (Stage::Vocational, 0),
        ],
        7..=9 => &[(Stage::Junior, 6), (Stage::Special, 0)],
        _ => &[(Stage::Senior, 9)],
    };
    let (stage, offset) = candidates
        .iter()
        .find(|(st, _)| stages.contains(st))
        .or(candidates.first())?;
    Some((*stage, absolute - offset, rest))
}

/// The class number in what remains: "(2)班", "2班", "二班", "(2)", "2".
fn class_number(s: &str) -> Option<u16> {
    let s = s.trim().trim_start_matches(['(', '（']);
    let (n, rest) = number(s)?;
    let rest = rest.trim_start_matches([')', '）']);
    (rest.is_empty() || rest == "班")
        .then_some(n)
        .filter(|n| *n > 0)
}

/// Reads a class from the class column and, when the class column has no grade, the grade
/// column. `stages` are the school's.
pub fn parse(class: &str, grade_column: Option<&str>, stages: &[Stage]) -> Option<ClassName> {
    let class = typed::text(class).replace(' ', "");
    if let Some((stage, year, rest)) = grade(&class, stages) {
        return Some(ClassName {
            stage,
            year,
            number: class_number(rest)?,
        });
    }
    let g = typed::text(grade_column?).replace(' ', "");
    let (stage, year, rest) = grade(&g, stages)?;
    if !rest.is_empty() {
        return None;
    }
    Some(ClassName {
        stage,
        year,
        number: class_number(&class)?,
    })
}

/// A new grade node of `school`: year `year` of `stage`, named as the platform names grades.
pub fn new_grade(
    school: &Node,
    stage: Stage,
    year: u8,
    now: chrono::DateTime<chrono::Utc>,
) -> Node {
    Node {
        id: NodeId::new(),
        kind: NodeKind::Grade.as_str().into(),
        parent_id: Some(school.id),
        name: grade_name(stage, year),
        code: None,
        school_type: None,
        stages: Some(stage.as_str().into()),
        grade_code: Some(year.to_string()),
        entry_year: None,
        school_id: Some(school.id),
        active: true,
        created_at: now,
        updated_at: now,
    }
}

/// The school year a date falls in: 2025 for 2025-09-01 to 2026-07-31 (August counts as the new
/// year, when classes are set up).
pub fn school_year(today: chrono::NaiveDate) -> i64 {
    use chrono::Datelike;
    let y = i64::from(today.year());
    if today.month() >= 8 { y } else { y - 1 }
}

/// The grades and classes of one school, by what rows call them.
#[derive(Debug, Default)]
pub struct SchoolClasses {
    pub grades: HashMap<(Stage, u8), Node>,
    pub classes: HashMap<ClassName, Node>,
}

impl SchoolClasses {
    /// The school's active grades and classes, read in the caller's transaction.
    pub async fn load(tx: &mut Tx, school: NodeId, stages: &[Stage]) -> AppResult<Self> {
        let nodes: Vec<Node> = on_tx!(tx, c => sqlx::query_as(
            "SELECT * FROM org_nodes WHERE school_id = $1 AND active = TRUE AND kind IN ('grade', 'class')",
        ).bind(school).fetch_all(c).await)?;
        Ok(Self::from_nodes(nodes, stages))
    }

    /// The class node a row names, created (with its grade) if the school has none yet; and
    /// whether it was created. `school_year` places a new class's cohort (its entry year).
    pub async fn class_id(
        &mut self,
        tx: &mut Tx,
        school: &Node,
        c: ClassName,
        school_year: i64,
        now: chrono::DateTime<chrono::Utc>,
    ) -> AppResult<(NodeId, bool)> {
        if let Some(n) = self.classes.get(&c) {
            return Ok((n.id, false));
        }
        let grade = match self.grades.get(&(c.stage, c.year)) {
            Some(g) => g.clone(),
            None => {
                let g = new_grade(school, c.stage, c.year, now);
                nodes::insert(tx, &g).await?;
                self.grades.insert((c.stage, c.year), g.clone());
                g
            }
        };
        let class = Node {
            id: NodeId::new(),
            kind: NodeKind::Class.as_str().into(),
            parent_id: Some(grade.id),
            name: c.class_name(),
            code: None,
            school_type: None,
            stages: Some(c.stage.as_str().into()),
            grade_code: Some(c.year.to_string()),
            entry_year: Some(school_year - i64::from(c.year) + 1),
            school_id: Some(school.id),
            active: true,
            created_at: now,
            updated_at: now,
        };
        nodes::insert(tx, &class).await?;
        let id = class.id;
        self.classes.insert(c, class);
        Ok((id, true))
    }

    /// Builds the map from the school's active grade and class nodes.
    pub fn from_nodes(nodes: Vec<Node>, stages: &[Stage]) -> Self {
        let mut me = Self::default();
        let mut grade_of: HashMap<NodeId, (Stage, u8)> = HashMap::new();
        for n in nodes.iter().filter(|n| n.kind() == Some(NodeKind::Grade)) {
            let stage = n.stage_list().first().copied();
            let year = n.grade_code.as_deref().and_then(|c| c.parse::<u8>().ok());
            if let (Some(stage), Some(year)) = (stage, year) {
                grade_of.insert(n.id, (stage, year));
                me.grades.insert((stage, year), n.clone());
            }
        }
        for n in nodes
            .into_iter()
            .filter(|n| n.kind() == Some(NodeKind::Class))
        {
            let Some((stage, year)) = n.parent_id.and_then(|p| grade_of.get(&p).copied()) else {
                continue;
            };
            let number = class_number(&typed::text(&n.name).replace(' ', ""))
                .or_else(|| parse(&n.name, None, stages).map(|c| c.number));
            if let Some(number) = number {
                me.classes.insert(
                    ClassName {
                        stage,
                        year,
                        number,
                    },
                    n,
                );
            }
        }
        me
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const NINE: [Stage; 2] = [Stage::Primary, Stage::Junior];

    fn c(stage: Stage, year: u8, number: u16) -> Option<ClassName> {
        Some(ClassName {
            stage,
            year,
            number,
        })
    }

    #[test]
    fn class_names_as_schools_write_them() {
        let p = |s| parse(s, None, &NINE);
        assert_eq!(p("三年级(2)班"), c(Stage::Primary, 3, 2));
        assert_eq!(p("三年级（2）班"), c(Stage::Primary, 3, 2));
        assert_eq!(p("3年级2班"), c(Stage::Primary, 3, 2));
        assert_eq!(p("３年级 ２班"), c(Stage::Primary, 3, 2));
        assert_eq!(p("七年级十二班"), c(Stage::Junior, 1, 12));
        assert_eq!(p("初二(3)班"), c(Stage::Junior, 2, 3));
        assert_eq!(p("初二年级3班"), c(Stage::Junior, 2, 3));
        assert_eq!(
            parse("高一（10）班", None, &[Stage::Senior]),
            c(Stage::Senior, 1, 10)
        );
        assert_eq!(
            parse("十一年级2班", None, &[Stage::Senior]),
            c(Stage::Senior, 2, 2)
        );
        assert_eq!(
            parse("大班(1)", None, &[Stage::Preschool]),
            c(Stage::Preschool, 3, 1)
        );
        // The grade in its own column.
        assert_eq!(
            parse("(2)班", Some("三年级"), &NINE),
            c(Stage::Primary, 3, 2)
        );
        assert_eq!(parse("2", Some("初一"), &NINE), c(Stage::Junior, 1, 2));
        assert_eq!(
            parse("二十一班", Some("五年级"), &NINE),
            c(Stage::Primary, 5, 21)
        );
        // Unreadable.
        assert_eq!(p("三年级"), None);
        assert_eq!(p("(2)班"), None);
        assert_eq!(p("火箭班"), None);
        assert_eq!(p("十三年级1班"), None);
        assert_eq!(p("三年级0班"), None);
        assert_eq!(parse("(2)班", Some("三年级2班"), &NINE), None);
    }

    #[test]
    fn school_years_turn_in_august() {
        let d = |m, day| chrono::NaiveDate::from_ymd_opt(2026, m, day).unwrap();
        assert_eq!(school_year(d(7, 31)), 2025);
        assert_eq!(school_year(d(8, 1)), 2026);
        assert_eq!(school_year(d(1, 10)), 2025);
    }

    #[test]
    fn grade_names_round_trip() {
        for (stage, years) in [(Stage::Primary, 6), (Stage::Junior, 3), (Stage::Senior, 3)] {
            for y in 1..=years {
                let name = format!("{}(4)班", grade_name(stage, y));
                assert_eq!(parse(&name, None, &[stage]), c(stage, y, 4), "{name}");
            }
        }
    }
}

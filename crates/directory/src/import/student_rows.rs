//! Checking the rows of a student file: each row becomes a [`StudentRow`] with codes in place of
//! the names people typed, or a list of [`Problem`]s that each name the row, the column, the
//! value and the rule it broke. Rows are also checked against each other: the same registry
//! number or ID number twice in one file is reported on the later row with the earlier row's
//! number. Checking against the database (and writing) is the import's next step.
//! [`Cells`] (one row's cells read by field) serves the other kinds of file too (staff,
//! teaching assignments: `super::staff_rows`).

use super::student_columns::{Column, GuardianField as G, Layout, StudentField as S};
use crate::codes::Table;
use crate::validate;
use chrono::NaiveDate;
use sheets::Value;
use sheets::check::{Cells, Problem, Seen};
use std::collections::HashMap;

/// A guardian or family member from a student's row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuardianRow {
    pub name: String,
    /// GB/T 4761 code.
    pub relation: String,
    pub phone: Option<String>,
    pub is_guardian: bool,
    pub work_unit: Option<String>,
    pub id_number: Option<String>,
}

/// A student's row, checked: codes stored, names left to the code tables.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StudentRow {
    pub row: u32,
    pub registry_no: String,
    pub name: String,
    pub gender: String,
    pub birth_date: Option<NaiveDate>,
    pub id_type: Option<String>,
    pub id_number: Option<String>,
    pub ethnicity: Option<String>,
    pub nationality: Option<String>,
    pub class: String,
    pub grade: Option<String>,
    pub school_no: Option<String>,
    pub entry: Option<NaiveDate>,
    pub study_mode: Option<String>,
    pub phone: Option<String>,
    pub address: Option<String>,
    /// Other coded fields by table (港澳台侨外, 政治面貌, 健康, 户口性质, 留守, 随班就读, 残疾, …).
    pub coded: Vec<(Table, String)>,
    pub only_child: Option<bool>,
    pub migrant_child: Option<bool>,
    pub guardians: Vec<GuardianRow>,
}

/// Checks rows one after another, remembering what earlier rows held.
pub struct Checker {
    layout: Layout,
    registry: Seen,
    ids: Seen,
}

impl StudentRow {
    /// The code this row gives for one of the other coded fields.
    pub fn code(&self, table: Table) -> Option<&str> {
        self.coded
            .iter()
            .find(|(t, _)| *t == table)
            .map(|(_, c)| c.as_str())
    }
}

impl Checker {
    pub fn new(layout: Layout) -> Self {
        Self {
            layout,
            registry: HashMap::new(),
            ids: HashMap::new(),
        }
    }

    /// The columns this checker reads.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    pub fn into_layout(self) -> Layout {
        self.layout
    }

    /// Checks one row: the student, or every problem it has.
    pub fn check(&mut self, row: u32, cells: &[Value]) -> Result<StudentRow, Vec<Problem>> {
        let mut c = Cells::new(&self.layout, cells, row);
        let st = |f| Column::Student(f);
        let mut out = StudentRow {
            row,
            ..Default::default()
        };
        if let Some((i, v)) = c.required(st(S::RegistryNo)) {
            let n = validate::normalize_code(&v).to_uppercase();
            match validate::registry_no(&n) {
                Ok(()) => out.registry_no = n,
                Err(k) => c.problem(Some(i), &v, k),
            }
        }
        if let Some((i, v)) = c.required(st(S::Name)) {
            match validate::name(&v, 50) {
                Ok(()) => out.name = v,
                Err(k) => c.problem(Some(i), &v, k),
            }
        }
        out.gender = c
            .required_coded(st(S::Gender), Table::Gender)
            .unwrap_or_default();
        out.birth_date = c.date(st(S::BirthDate), false);
        if out.birth_date.is_none() && c.at(st(S::BirthDate)).is_none() {
            c.problem(self.layout.position(st(S::BirthDate)), "", "error.required");
        }
        out.id_type = c.coded(st(S::IdType), Table::IdType);
        out.id_number = c.id_number(
            st(S::IdNumber),
            &mut out.id_type,
            out.birth_date,
            &out.gender,
        );
        out.ethnicity = c.coded(st(S::Ethnicity), Table::Ethnicity);
        out.nationality = c.coded(st(S::Nationality), Table::Country);
        if let Some((_, v)) = c.required(st(S::Class)) {
            out.class = v;
        }
        out.grade = c.text(st(S::Grade)).map(|(_, v)| v);
        out.school_no = c.text(st(S::SchoolNo)).map(|(_, v)| v);
        out.entry = c.date(st(S::EntryYearMonth), true);
        out.study_mode = c.coded(st(S::StudyMode), Table::StudyMode);
        out.phone = c
            .text(st(S::Phone))
            .map(|(_, v)| validate::normalize_code(&v));
        out.address = c.text(st(S::Address)).map(|(_, v)| v);
        for (f, t) in [
            (S::Gatqw, Table::Gatqw),
            (S::Political, Table::Political),
            (S::Health, Table::Health),
            (S::HukouNature, Table::RegistryHukou),
            (S::EnrollmentMode, Table::RegistryEnrollmentMode),
            (S::LeftBehind, Table::LeftBehind),
            (S::Inclusion, Table::Inclusion),
            (S::Disability, Table::Disability),
        ] {
            if let Some(code) = c.coded(st(f), t) {
                out.coded.push((t, code));
            }
        }
        out.only_child = c.flag(st(S::OnlyChild));
        out.migrant_child = c.flag(st(S::MigrantChild));
        for n in 1..=3u8 {
            let g = |f| Column::Guardian(n, f);
            let any = [G::Name, G::Relation, G::Phone, G::WorkUnit, G::IdNumber]
                .iter()
                .any(|f| c.text(g(*f)).is_some());
            if !any {
                continue;
            }
            let name = c.required(g(G::Name)).map(|(_, v)| v);
            let relation = c.required_coded(g(G::Relation), Table::FamilyRelation);
            let phone = c.mobile(g(G::Phone));
            let is_guardian = c.flag(g(G::IsGuardian)).unwrap_or(true);
            if let (Some(name), Some(relation)) = (name, relation) {
                out.guardians.push(GuardianRow {
                    name,
                    relation,
                    phone,
                    is_guardian,
                    work_unit: c.text(g(G::WorkUnit)).map(|(_, v)| v),
                    id_number: c
                        .text(g(G::IdNumber))
                        .map(|(_, v)| validate::normalize_code(&v).to_uppercase()),
                });
            }
        }
        // The same student twice in one file.
        c.duplicate(&mut self.registry, &out.registry_no, st(S::RegistryNo));
        if let Some(id) = &out.id_number {
            c.duplicate(&mut self.ids, id, st(S::IdNumber));
        }
        if c.problems.is_empty() {
            Ok(out)
        } else {
            Err(c.problems)
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::typed;
    use proptest::prelude::*;

    const HEADERS: [&str; 11] = [
        "全国学籍号",
        "姓名",
        "性别",
        "出生日期",
        "身份证件号",
        "民族",
        "班级",
        "入学年月",
        "监护人1姓名",
        "监护人1关系",
        "监护人1联系电话",
    ];

    fn layout() -> Layout {
        let h: Vec<String> = HEADERS.iter().map(|s| (*s).to_owned()).collect();
        Layout::read(None, &h)
    }

    fn row(v: &[&str]) -> Vec<Value> {
        v.iter()
            .map(|s| {
                if s.is_empty() {
                    Value::Empty
                } else {
                    Value::Text((*s).to_owned())
                }
            })
            .collect()
    }

    fn good(seq: u32, male: bool, birth: NaiveDate) -> Vec<String> {
        let id = crate::demo::id_number("330102", birth, seq, male);
        vec![
            format!("G{id}"),
            "张三".into(),
            if male { "男" } else { "女" }.into(),
            birth.format("%Y/%-m/%-d").to_string(),
            id,
            "汉".into(),
            "一年级（1）班".into(),
            "2016.09".into(),
            "张父".into(),
            "爸爸".into(),
            "138 0013 8000".into(),
        ]
    }

    #[test]
    fn a_good_row_becomes_codes() {
        let l = layout();
        let mut ch = Checker::new(l);
        let birth = NaiveDate::from_ymd_opt(2010, 3, 7).unwrap();
        let cells = good(12, true, birth);
        let refs: Vec<&str> = cells.iter().map(String::as_str).collect();
        let s = ch.check(2, &row(&refs)).expect("a good row");
        assert_eq!(s.gender, "1");
        assert_eq!(s.ethnicity.as_deref(), Some("01"));
        assert_eq!(s.birth_date, Some(birth));
        assert_eq!(s.entry, NaiveDate::from_ymd_opt(2016, 9, 1));
        assert_eq!(s.id_type.as_deref(), Some("1"));
        assert_eq!(s.guardians[0].relation, "51");
        assert_eq!(s.guardians[0].phone.as_deref(), Some("13800138000"));
        // Dates as Excel keeps them: a date cell (a serial) or 20130901 typed as a number.
        let mut cells = row(&refs);
        cells[0] = Value::Text(format!("L{:018}", 7));
        cells[4] = Value::Empty;
        cells[3] = Value::Number(20100307.0);
        assert_eq!(ch.check(3, &cells).unwrap().birth_date, Some(birth));
        cells[0] = Value::Text(format!("L{:018}", 8));
        cells[3] = Value::Date(typed::to_excel_serial(birth) as f64);
        assert_eq!(ch.check(4, &cells).unwrap().birth_date, Some(birth));
        // The same student again is reported with the first row's number.
        let again = ch.check(9, &row(&refs)).unwrap_err();
        assert!(again.iter().any(|p| p.key == "error.duplicate_in_file"
            && p.other_row == Some(2)
            && p.column == Some(0)));
    }

    #[test]
    fn every_problem_names_its_column_value_and_rule() {
        let l = layout();
        let mut ch = Checker::new(l);
        let birth = NaiveDate::from_ymd_opt(2010, 3, 7).unwrap();
        let mut cells = good(12, true, birth);
        cells[2] = "女".into(); // disagrees with the ID number
        cells[3] = "2010-02-30".into(); // no such day
        cells[5] = "火星".into(); // unknown ethnicity
        cells[6] = String::new(); // class missing
        cells[9] = "邻居".into(); // unknown relation
        cells[10] = "12345".into(); // not a mobile number
        let refs: Vec<&str> = cells.iter().map(String::as_str).collect();
        let problems = ch.check(5, &row(&refs)).unwrap_err();
        let got: Vec<(Option<usize>, &str)> = problems.iter().map(|p| (p.column, p.key)).collect();
        for want in [
            (Some(3), "error.date_no_such_day"),
            (Some(4), "error.id_number_gender_mismatch"),
            (Some(5), "error.code_unknown"),
            (Some(6), "error.required"),
            (Some(9), "error.code_unknown"),
            (Some(10), "error.phone_format"),
        ] {
            assert!(got.contains(&want), "{want:?} in {got:?}");
        }
        assert!(problems.iter().all(|p| p.row == 5));
        assert!(problems.iter().any(|p| p.value == "火星"));
    }

    proptest! {
        /// Any well-formed student (any birth date, sequence, gender) passes, and its ID
        /// number's facts are kept.
        #[test]
        fn well_formed_rows_pass(days in 0i64..6000, seq in 0u32..499, male in any::<bool>()) {
            let l = layout();
            let mut ch = Checker::new(l);
            let birth = NaiveDate::from_ymd_opt(2005, 1, 1).unwrap() + chrono::Duration::days(days);
            let cells = good(seq, male, birth);
            let refs: Vec<&str> = cells.iter().map(String::as_str).collect();
            let s = ch.check(2, &row(&refs));
            prop_assert!(s.is_ok(), "{:?}", s);
            let s = s.unwrap();
            prop_assert_eq!(s.birth_date, Some(birth));
            prop_assert_eq!(s.gender.as_str(), if male { "1" } else { "2" });
        }
    }
}

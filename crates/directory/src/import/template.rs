//! The downloadable templates: the student template with the registry form's column names in
//! Chinese (the header matcher reads them, and the JY/T short names too), the staff and the
//! teaching-assignment templates, each with a sheet that says how to fill it.

use super::Kind;
use kernel::Locale;
use kernel::i18n::t;

/// The template's columns: the required ones first, then the registry form's order.
pub const COLUMNS: [&str; 27] = [
    "学籍号",
    "姓名",
    "性别",
    "出生日期",
    "年级",
    "班级",
    "身份证件类型",
    "身份证件号",
    "民族",
    "国籍/地区",
    "港澳台侨外",
    "健康状况",
    "政治面貌",
    "班内学号",
    "入学年月",
    "入学方式",
    "就读方式",
    "户口性质",
    "现住址",
    "是否独生子女",
    "是否留守儿童",
    "是否进城务工人员随迁子女",
    "监护人1姓名",
    "监护人1关系",
    "监护人1联系电话",
    "监护人2姓名",
    "监护人2关系",
];

/// The staff template's columns (教职工信息): the required ones first.
pub const STAFF_COLUMNS: [&str; 17] = [
    "工号",
    "姓名",
    "性别",
    "出生日期",
    "身份证件类型",
    "身份证件号",
    "民族",
    "政治面貌",
    "手机号码",
    "编制类别",
    "专业技术职务",
    "最高学历",
    "岗位/职务",
    "教师资格证号",
    "参加工作年月",
    "在岗状态",
    "班主任班级",
];

/// The teaching-assignment template's columns (任课安排).
pub const ASSIGNMENT_COLUMNS: [&str; 7] = [
    "工号",
    "姓名",
    "年级",
    "班级",
    "学科",
    "周课时",
    "是否班主任",
];

/// The template as XLSX bytes; the instructions in the reader's language.
pub fn students(locale: Locale) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    workbook(
        "学生",
        &COLUMNS,
        &[
            "import.template_note_required",
            "import.template_note_dates",
            "import.template_note_codes",
            "import.template_note_class",
            "import.template_note_guardians",
            "import.template_note_reimport",
        ],
        locale,
    )
}

/// The template of a kind of file.
pub fn of_kind(kind: Kind, locale: Locale) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    match kind {
        Kind::Students => students(locale),
        Kind::Staff => workbook(
            "教职工",
            &STAFF_COLUMNS,
            &[
                "staff_import.note_staff_required",
                "import.template_note_dates",
                "staff_import.note_staff_codes",
                "staff_import.note_staff_posts",
                "staff_import.note_staff_accounts",
                "staff_import.note_staff_reimport",
            ],
            locale,
        ),
        Kind::Assignments => workbook(
            "任课安排",
            &ASSIGNMENT_COLUMNS,
            &[
                "staff_import.note_assignments_rows",
                "staff_import.note_assignments_subjects",
                "import.template_note_class",
                "staff_import.note_assignments_replace",
            ],
            locale,
        ),
    }
}

fn workbook(
    sheet: &str,
    columns: &[&str],
    notes_keys: &[&str],
    locale: Locale,
) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    use rust_xlsxwriter::{Format, Workbook};
    let mut wb = Workbook::new();
    let bold = Format::new().set_bold();
    let text = Format::new().set_num_format("@");
    let ws = wb.add_worksheet();
    ws.set_name(sheet)?;
    for (i, h) in columns.iter().enumerate() {
        let c = i as u16;
        ws.write_string_with_format(0, c, *h, &bold)?;
        // Identifiers and dates as text, so Excel keeps leading zeros and the 18th digit.
        ws.set_column_format(c, &text)?;
        ws.set_column_width(c, 14)?;
    }
    ws.set_freeze_panes(1, 0)?;
    let notes = wb.add_worksheet();
    notes.set_name(t(locale, "import.template_notes_sheet"))?;
    notes.set_column_width(0, 100)?;
    for (i, key) in notes_keys.iter().enumerate() {
        notes.write_string(i as u32, 0, t(locale, key))?;
    }
    wb.save_to_buffer()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use crate::headers::{Column, Layout};

    #[test]
    fn every_template_column_is_understood() {
        let h: Vec<String> = super::COLUMNS.iter().map(|s| (*s).to_owned()).collect();
        let layout = Layout::read(None, &h);
        assert!(layout.unknown.is_empty(), "{:?}", layout.unknown);
        assert!(layout.columns.iter().all(Option::is_some));
        assert!(matches!(layout.columns[24], Some(Column::Guardian(1, _))));
        let bytes = super::students(kernel::Locale::ZhCn).unwrap();
        let p = std::env::temp_dir().join(format!("jy-template-{}.xlsx", std::process::id()));
        std::fs::write(&p, bytes).unwrap();
        let (_, rows) = sheets::read_all(&p).unwrap();
        assert_eq!(rows[0].cells.len(), super::COLUMNS.len());
    }

    #[test]
    fn every_staff_and_assignment_template_column_is_understood() {
        use crate::staffcheck::{AssignmentField, StaffField};
        let h: Vec<String> = super::STAFF_COLUMNS
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        let l: Layout<StaffField> = Layout::read(None, &h);
        assert!(l.unknown.is_empty() && l.repeated.is_empty(), "{l:?}");
        let h: Vec<String> = super::ASSIGNMENT_COLUMNS
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        let l: Layout<AssignmentField> = Layout::read(None, &h);
        assert!(l.unknown.is_empty() && l.repeated.is_empty(), "{l:?}");
        for kind in super::Kind::ALL {
            let bytes = super::of_kind(kind, kernel::Locale::ZhCn).unwrap();
            let p = std::env::temp_dir().join(format!(
                "jy-template-{}-{}.xlsx",
                kind.as_str(),
                std::process::id()
            ));
            std::fs::write(&p, bytes).unwrap();
            let (_, rows) = sheets::read_all(&p).unwrap();
            assert!(rows[0].cells.len() >= 7, "{}", kind.as_str());
        }
    }
}

//! The downloadable templates: the student template with the registry form's column names in
//! Chinese (the header matcher reads them, and the JY/T short names too), the staff and the
//! teaching-assignment templates, each with a sheet that says how to fill it.

use super::Kind;
use crate::codes::{self, Table};
use kernel::Locale;
use kernel::i18n::t;

/// The coded columns of every template and their tables: each gets a drop-down list of the
/// table's names (typing a code or a short form is still allowed: the list only warns).
const CODED: &[(&str, Table)] = &[
    ("性别", Table::Gender),
    ("身份证件类型", Table::IdType),
    ("民族", Table::Ethnicity),
    ("国籍/地区", Table::Country),
    ("港澳台侨外", Table::Gatqw),
    ("健康状况", Table::Health),
    ("政治面貌", Table::Political),
    ("入学方式", Table::RegistryEnrollmentMode),
    ("就读方式", Table::StudyMode),
    ("户口性质", Table::RegistryHukou),
    ("是否独生子女", Table::YesNo),
    ("是否留守儿童", Table::LeftBehind),
    ("是否进城务工人员随迁子女", Table::YesNo),
    ("监护人1关系", Table::FamilyRelation),
    ("监护人2关系", Table::FamilyRelation),
    ("编制类别", Table::StaffingCategory),
    ("专业技术职务", Table::ProfessionalTitle),
    ("最高学历", Table::EducationLevel),
    ("在岗状态", Table::StaffStatus),
    ("学科", Table::Course),
    ("是否班主任", Table::YesNo),
];

/// An example row under the header on the notes sheet (not on the data sheet, where it would be
/// imported): the values as a school types them.
fn example(column: &str) -> &'static str {
    match column {
        "学籍号" => "G330102201601010011",
        "姓名" => "张小明",
        "性别" => "男",
        "出生日期" => "2016-01-01",
        "年级" => "三年级",
        "班级" => "三年级(1)班",
        "身份证件类型" => "居民身份证",
        "身份证件号" => "330102201601010011",
        "民族" => "汉族",
        "国籍/地区" => "中国",
        "健康状况" => "健康",
        "政治面貌" => "少先队员",
        "入学年月" => "2022-09",
        "就读方式" => "走读",
        "是否独生子女" => "是",
        "是否留守儿童" => "否",
        "是否进城务工人员随迁子女" => "否",
        "监护人1姓名" => "张大伟",
        "监护人1关系" => "父亲",
        "监护人1联系电话" => "13800138000",
        "工号" => "T001",
        "手机号码" => "13900139000",
        "编制类别" => "行政编制",
        "专业技术职务" => "一级教师",
        "最高学历" => "大学本科",
        "岗位/职务" => "教师",
        "参加工作年月" => "2010-08",
        "在岗状态" => "在岗",
        "学科" => "语文",
        "周课时" => "8",
        "是否班主任" => "是",
        _ => "",
    }
}

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
    use rust_xlsxwriter::{
        DataValidation, DataValidationErrorStyle, Format, Formula, Workbook, Worksheet,
    };
    const LAST_ROW: u32 = 20_000;
    let codes_sheet = t(locale, "import.template_codes_sheet");
    let bold = Format::new().set_bold();
    let text = Format::new().set_num_format("@");
    let coded: Vec<(usize, &str, Table)> = columns
        .iter()
        .enumerate()
        .filter_map(|(i, c)| CODED.iter().find(|(h, _)| h == c).map(|(h, t)| (i, *h, *t)))
        .collect();
    let mut ws = Worksheet::new();
    ws.set_name(sheet)?;
    for (i, h) in columns.iter().enumerate() {
        let c = i as u16;
        ws.write_string_with_format(0, c, *h, &bold)?;
        // Identifiers and dates as text, so Excel keeps leading zeros and the 18th digit.
        ws.set_column_format(c, &text)?;
        ws.set_column_width(c, 14)?;
    }
    ws.set_freeze_panes(1, 0)?;
    // The code tables, one column per coded column, and a drop-down list on each coded column
    // that reads from there. A value off the list only warns: codes and short forms are valid.
    let mut code_ws = Worksheet::new();
    code_ws.set_name(codes_sheet)?;
    for (n, (i, header, table)) in coded.iter().enumerate() {
        let c = n as u16;
        code_ws.write_string_with_format(0, c, *header, &bold)?;
        code_ws.set_column_width(c, 16)?;
        let names: Vec<&str> = if *table == Table::YesNo {
            vec!["是", "否"]
        } else {
            codes::all(*table).iter().map(|c| c.name.as_str()).collect()
        };
        for (r, name) in names.iter().enumerate() {
            code_ws.write_string(r as u32 + 1, c, *name)?;
        }
        let column = sheets::check::column_letter(n);
        let list = DataValidation::new()
            .allow_list_formula(Formula::new(format!(
                "='{codes_sheet}'!${column}$2:${column}${}",
                names.len() + 1
            )))
            .set_error_style(DataValidationErrorStyle::Warning);
        ws.add_data_validation(1, *i as u16, LAST_ROW, *i as u16, &list)?;
    }
    let mut notes = Worksheet::new();
    notes.set_name(t(locale, "import.template_notes_sheet"))?;
    notes.set_column_width(0, 100)?;
    for (i, key) in notes_keys.iter().enumerate() {
        notes.write_string(i as u32, 0, t(locale, key))?;
    }
    // The example: the header and one row as a school fills it.
    let at = notes_keys.len() as u32 + 1;
    notes.write_string_with_format(at, 0, t(locale, "import.template_example"), &bold)?;
    for (i, h) in columns.iter().enumerate() {
        notes.write_string_with_format(at + 1, i as u16, *h, &bold)?;
        notes.write_string(at + 2, i as u16, example(h))?;
    }
    let mut wb = Workbook::new();
    wb.push_worksheet(ws);
    wb.push_worksheet(notes);
    if !coded.is_empty() {
        wb.push_worksheet(code_ws);
    }
    wb.save_to_buffer()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::super::student_columns::Column;
    use sheets::check::Layout;

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
        assert_eq!(rows.len(), 1, "the data sheet holds only the header");
        // Drop-down lists on the coded columns, reading from the code tables' sheet, and an
        // example row on the notes sheet.
        let mut zip = zip::ZipArchive::new(std::fs::File::open(&p).unwrap()).unwrap();
        let mut sheet = String::new();
        std::io::Read::read_to_string(
            &mut zip.by_name("xl/worksheets/sheet1.xml").unwrap(),
            &mut sheet,
        )
        .unwrap();
        assert!(sheet.contains("<dataValidation type=\"list\""), "{sheet}");
        assert!(
            sheet.contains("代码表"),
            "the lists read from the code tables' sheet"
        );
        let mut notes = String::new();
        std::io::Read::read_to_string(
            &mut zip.by_name("xl/sharedStrings.xml").unwrap(),
            &mut notes,
        )
        .unwrap();
        for v in ["张小明", "汉族", "非留守儿童", "少先队员"] {
            assert!(notes.contains(v), "{v} in the example or the code tables");
        }
    }

    #[test]
    fn every_staff_and_assignment_template_column_is_understood() {
        use super::super::staff_rows::{AssignmentField, StaffField};
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

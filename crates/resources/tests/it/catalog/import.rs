//! The catalogue import: errors by row and column, all or nothing, idempotent re-import, GBK
//! CSV, XLSX and the template.

use super::{by_path, count, csv_file, node_named, table_file};
use crate::helpers::Lib;
use kernel::{AppError, on_db};
use resources::catalog;
use resources::catalog::import::{self, ImportError};

const HEADER: &str = "学段,学科,教材版本,册次,单元/章,课节,顺序\n";

#[tokio::test]
async fn a_bad_file_names_every_problem_by_row_and_column_and_writes_nothing() {
    let lib = Lib::start().await;
    let district = node_named(&lib, "district", "上城区").await;
    let da = lib.actor("district_admin").await;
    let cx = lib.cx(&da);
    let text = format!(
        "{HEADER}初中,数学,浙教版,七年级上册,第1章 有理数,1.1 从自然数到有理数,\n\
         初中,炼金术,浙教版,七年级上册,第1章 有理数,1.2 数轴,\n\
         小学,数学,浙教版,七年级上册,第1章,,\n\
         初中,数学,浙教版,七年级上册,第1章 有理数,1.1 从自然数到有理数,\n\
         初中,数学,,七年级上册,第2章,,\n\
         初中,数学,浙教版,七年级上册,第2章,,第一\n"
    );
    let path = csv_file(&text);
    let Err(ImportError::Rejected(r)) = import::run(&cx, district, "浙教版目录.csv", &path).await
    else {
        panic!("accepted");
    };
    let got: Vec<(u32, Option<&str>, &str)> = r
        .problems
        .iter()
        .map(|p| (p.row, p.column.as_deref(), p.code.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (3, Some("B"), "error.catalog.unknown_subject"),
            (4, Some("D"), "error.catalog.grade_stage"),
            (5, Some("F"), "error.catalog.duplicate_row"),
            (6, Some("C"), "error.catalog.required"),
            (7, Some("G"), "error.catalog.order_invalid"),
        ]
    );
    let p = &r.problems[1];
    assert_eq!(
        (p.field.as_deref(), p.value.as_str()),
        (Some("册次"), "七年级上册")
    );
    assert!(
        p.message.contains("浙教版目录.csv") && p.message.contains("第 4 行"),
        "{}",
        p.message
    );
    assert!(
        r.problems[2].message.contains('2'),
        "names the earlier row: {}",
        r.problems[2].message
    );
    assert_eq!(count(&lib, district).await, 0, "nothing written");
    // Columns missing: the file is refused as a whole.
    let path = csv_file("学段,学科,册次,备注\n初中,数学,七年级上册,x\n");
    let Err(ImportError::Rejected(r)) = import::run(&cx, district, "x.csv", &path).await else {
        panic!("accepted");
    };
    let msg = r.file_error.unwrap();
    assert!(msg.contains("教材版本") && msg.contains("单元/章"), "{msg}");
    // Only the region's administrators import.
    let t = lib.actor("teacher").await;
    assert!(matches!(
        import::run(&lib.cx(&t), district, "x.csv", &path).await,
        Err(ImportError::App(AppError::Forbidden))
    ));
}

#[tokio::test]
async fn a_good_file_imports_once_and_again_changes_nothing() {
    let lib = Lib::start().await;
    let db = &lib.state.db;
    let district = node_named(&lib, "district", "上城区").await;
    let da = lib.actor("district_admin").await;
    let cx = lib.cx(&da);
    // GBK, headers as people write them, a subject by its code.
    let path = table_file(
        &["学段★", "学科", "版本", "册别", "单元", "课", "序号"],
        &[
            &[
                "初中",
                "14",
                "浙教版",
                "七年级上册",
                "第1章 有理数",
                "1.1 从自然数到有理数",
                "",
            ],
            &[
                "初中",
                "14",
                "浙教版",
                "七年级上册",
                "第1章 有理数",
                "1.2 数轴",
                "",
            ],
            &[
                "初中",
                "数学",
                "浙教版",
                "七年级上册",
                "第2章 有理数的运算",
                "",
                "",
            ],
            &[
                "初中",
                "数学",
                "浙教版",
                "七年级下册",
                "第1章 平行线",
                "",
                "",
            ],
        ],
        directory::export::Format::CsvGbk,
    );
    let done = import::run(&cx, district, "浙教版.csv", &path)
        .await
        .unwrap();
    assert_eq!(
        (done.rows, done.created, done.updated, done.unchanged),
        (4, 10, 0, 0)
    );
    let before = count(&lib, district).await;
    assert_eq!(before, 10);
    let subject = by_path(&lib, district, "初中 / 数学").await;
    assert_eq!(subject.subject.as_deref(), Some("14"));
    let v = by_path(&lib, district, "初中 / 数学 / 浙教版 / 七年级上册").await;
    let units: Vec<String> = catalog::units(db, v.id)
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.name)
        .collect();
    assert_eq!(units, ["第1章 有理数", "第2章 有理数的运算"]);
    let again = import::run(&cx, district, "浙教版.csv", &path)
        .await
        .unwrap();
    assert_eq!((again.created, again.updated, again.unchanged), (0, 0, 10));
    assert_eq!(count(&lib, district).await, before);
    // A later file (under a title row) adds after what is there, and 顺序 moves nodes.
    let more = csv_file(&format!(
        "上城区 浙教版数学目录（补充）\n{HEADER}初中,数学,浙教版,七年级上册,第3章 实数,,\n\
         初中,数学,浙教版,七年级上册,第2章 有理数的运算,,1\n初中,数学,浙教版,七年级上册,第1章 有理数,,2\n"
    ));
    let done = import::run(&cx, district, "more.csv", &more).await.unwrap();
    assert_eq!((done.created, done.updated), (1, 2));
    let units: Vec<String> = catalog::units(db, v.id)
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.name)
        .collect();
    assert_eq!(units, ["第2章 有理数的运算", "第1章 有理数", "第3章 实数"]);
    // XLSX works the same way.
    let xp = table_file(
        &["学段", "学科", "教材版本", "册次", "单元/章", "课节"],
        &[&[
            "初中",
            "数学",
            "浙教版",
            "八年级上册",
            "第1章 三角形的初步知识",
            "1.1 认识三角形",
        ]],
        directory::export::Format::Xlsx,
    );
    let done = import::run(&cx, district, "x.xlsx", &xp).await.unwrap();
    assert_eq!(done.created, 3);
    // The audit log has every import.
    let (n,): (i64,) = on_db!(db, p => sqlx::query_as(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'catalog.import' AND node_id = $1",
    ).bind(district).fetch_one(p).await)
    .unwrap();
    assert_eq!(n, 4);
    // The template's example row is a good row.
    let tpl = import::template().unwrap();
    let tp = std::env::temp_dir().join(format!("jy-catalog-{}.xlsx", uuid::Uuid::now_v7()));
    std::fs::write(&tp, tpl.bytes).unwrap();
    assert_eq!(
        import::run(&cx, district, "t.xlsx", &tp)
            .await
            .unwrap()
            .rows,
        1
    );
}

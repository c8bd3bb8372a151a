//! The catalogue: the demo catalogue, the tree's rules and who may change it; the import
//! (`import`) and textbook choices with class progress (`choices`) in their own files.

mod choices;
mod import;

use crate::helpers::Lib;
use directory::model::Stage;
use kernel::{AppError, CatalogId, NodeId, on_db};
use resources::catalog::edit::{self, NewCatalogNode, Removed};
use resources::catalog::{self, NodeKind, choices as textbook, tree};

pub async fn node_named(lib: &Lib, kind: &str, name: &str) -> NodeId {
    let (id,): (NodeId,) = on_db!(&lib.state.db, p => sqlx::query_as(
        "SELECT id FROM org_nodes WHERE kind = $1 AND name = $2",
    ).bind(kind).bind(name).fetch_one(p).await)
    .unwrap();
    id
}

pub async fn by_path(lib: &Lib, region: NodeId, path: &str) -> catalog::CatalogNode {
    let (id,): (CatalogId,) = on_db!(&lib.state.db, p => sqlx::query_as(
        "SELECT id FROM catalog_nodes WHERE region_id = $1 AND path = $2",
    ).bind(region).bind(path).fetch_one(p).await)
    .unwrap_or_else(|e| panic!("{path}: {e}"));
    catalog::get(&lib.state.db, id).await.unwrap()
}

pub async fn count(lib: &Lib, region: NodeId) -> i64 {
    let (n,): (i64,) = on_db!(&lib.state.db, p => sqlx::query_as(
        "SELECT COUNT(*) FROM catalog_nodes WHERE region_id = $1",
    ).bind(region).fetch_one(p).await)
    .unwrap();
    n
}

/// A UTF-8 CSV file in the temporary folder.
pub fn csv_file(text: &str) -> std::path::PathBuf {
    let p = std::env::temp_dir().join(format!("jy-catalog-{}.csv", uuid::Uuid::now_v7()));
    std::fs::write(&p, text).unwrap();
    p
}

/// A table as a file: XLSX or GBK CSV (through the directory's export encoder).
pub fn table_file(
    headers: &[&'static str],
    rows: &[&[&str]],
    format: directory::export::Format,
) -> std::path::PathBuf {
    let table = directory::export::Table {
        stem: "x".into(),
        columns: headers.iter().map(|h| (*h, *h)).collect(),
        rows: rows
            .iter()
            .map(|r| r.iter().map(|c| (*c).to_owned()).collect())
            .collect(),
    };
    let f = directory::export::encode(&table, format, false).unwrap();
    let ext = if format == directory::export::Format::Xlsx {
        "xlsx"
    } else {
        "csv"
    };
    let p = std::env::temp_dir().join(format!("jy-catalog-{}.{ext}", uuid::Uuid::now_v7()));
    std::fs::write(&p, f.bytes).unwrap();
    p
}

pub const MATHS_PATH: &str = "初中 / 数学 / 人教版 / 八年级下册";
#[tokio::test]
async fn the_demo_catalogue_is_real_looking_and_ordered() {
    let lib = Lib::start().await;
    let db = &lib.state.db;
    let city = node_named(&lib, "city", "杭州市").await;
    assert!(count(&lib, city).await > 500, "several hundred nodes");
    let volume = by_path(&lib, city, MATHS_PATH).await;
    assert_eq!(volume.kind(), NodeKind::Volume);
    assert_eq!(
        (volume.grade_code.as_deref(), volume.term),
        (Some("2"), Some(2))
    );
    assert_eq!(volume.volume_id, Some(volume.id));
    let units: Vec<String> = catalog::units(db, volume.id)
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.name)
        .collect();
    assert_eq!(
        units,
        [
            "第十六章 二次根式",
            "第十七章 勾股定理",
            "第十八章 平行四边形",
            "第十九章 一次函数",
            "第二十章 数据的分析"
        ]
    );
    let outline = catalog::outline(db, volume.id).await.unwrap();
    let sections: Vec<&str> = outline[1]
        .sections
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(sections, ["17.1 勾股定理", "17.2 勾股定理的逆定理"]);
    let s = &outline[1].sections[0];
    assert_eq!(
        s.path,
        format!("{MATHS_PATH} / 第十七章 勾股定理 / 17.1 勾股定理")
    );
    assert_eq!(
        (s.stage.as_str(), s.subject.as_deref()),
        ("junior", Some("14"))
    );
    assert_eq!(
        (s.volume_id, s.grade_code.as_deref(), s.term),
        (Some(volume.id), Some("2"), Some(2))
    );
    assert_eq!(s.edition_id, volume.edition_id);
    let b = catalog::with_breadcrumb(db, s.id).await.unwrap();
    let names: Vec<&str> = b.breadcrumb.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(
        names,
        ["初中", "数学", "人教版", "八年级下册", "第十七章 勾股定理"]
    );
    // Senior volumes take their grade and term from the file's columns.
    let senior = by_path(&lib, city, "高中 / 数学 / 人教A版 / 必修第一册").await;
    assert_eq!(
        (senior.grade_code.as_deref(), senior.term),
        (Some("1"), Some(1))
    );
    // English: PEP and the junior editions.
    let pep = by_path(&lib, city, "小学 / 英语 / 人教PEP版 / 三年级上册").await;
    assert_eq!(
        catalog::units(db, pep.id).await.unwrap()[0].name,
        "Unit 1 Hello!"
    );
    let junior_english = catalog::editions(db, &[city], Stage::Junior, "41")
        .await
        .unwrap();
    assert_eq!(junior_english.len(), 2);
    // A teacher uses the city's catalogue (their district has none).
    let teacher = lib.actor("teacher").await;
    let cats = catalog::catalogues_for(db, &teacher).await.unwrap();
    assert_eq!(cats.len(), 1);
    assert_eq!(cats[0].region_id, city);
    let stages: Vec<&str> = cats[0].stages.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(stages, ["小学", "初中", "高中"]);
    assert!(
        tree::regions_for(db, &teacher)
            .await
            .unwrap()
            .contains(&node_named(&lib, "district", "上城区").await)
    );
}

#[tokio::test]
async fn only_the_regions_administrators_maintain_its_catalogue() {
    let lib = Lib::start().await;
    let city = node_named(&lib, "city", "杭州市").await;
    let district = node_named(&lib, "district", "上城区").await;
    let school = node_named(&lib, "school", "上城区实验小学").await;
    let volume = by_path(&lib, city, MATHS_PATH).await;
    let new_unit = |parent| NewCatalogNode {
        parent_id: Some(parent),
        name: "第二十一章 综合与实践".into(),
        ..Default::default()
    };
    for who in ["teacher", "school_admin", "district_admin"] {
        let a = lib.actor(who).await;
        let cx = lib.cx(&a);
        assert!(
            matches!(
                edit::create(&cx, new_unit(volume.id)).await,
                Err(AppError::Forbidden)
            ),
            "{who}"
        );
        assert!(
            matches!(
                edit::rename(&cx, volume.id, "八年级下").await,
                Err(AppError::Forbidden)
            ),
            "{who}"
        );
        assert!(
            matches!(edit::remove(&cx, volume.id).await, Err(AppError::Forbidden)),
            "{who}"
        );
        assert!(
            matches!(
                edit::reorder(&cx, volume.id, 1).await,
                Err(AppError::Forbidden)
            ),
            "{who}"
        );
    }
    // A school's administrator has no catalogue of their own.
    let sa = lib.actor("school_admin").await;
    let stage = NewCatalogNode {
        region_id: Some(school),
        name: "小学".into(),
        ..Default::default()
    };
    assert!(matches!(
        edit::create(&lib.cx(&sa), stage).await,
        Err(AppError::Invalid(_))
    ));
    // A district administrator keeps the district's own catalogue.
    let da = lib.actor("district_admin").await;
    let cx = lib.cx(&da);
    let stage = edit::create(
        &cx,
        NewCatalogNode {
            region_id: Some(district),
            name: "小学".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        (stage.kind(), stage.stage.as_str(), stage.code.as_deref()),
        (NodeKind::Stage, "primary", Some("primary"))
    );
    let xihu = lib.actor("xihu_admin").await;
    assert!(matches!(
        edit::create(
            &lib.cx(&xihu),
            NewCatalogNode {
                parent_id: Some(stage.id),
                name: "数学".into(),
                ..Default::default()
            }
        )
        .await,
        Err(AppError::Forbidden)
    ));
    // The city's administrator maintains the city's and (being above it) the district's.
    let ca = lib.actor("city_admin").await;
    let unit = edit::create(&lib.cx(&ca), new_unit(volume.id))
        .await
        .unwrap();
    assert_eq!(unit.position, 6);
    let subject = edit::create(
        &lib.cx(&ca),
        NewCatalogNode {
            parent_id: Some(stage.id),
            name: "科学".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(subject.subject.as_deref(), Some("15"));
    // Both catalogues are the district teacher's.
    let teacher = lib.actor("teacher").await;
    assert_eq!(
        catalog::catalogues_for(&lib.state.db, &teacher)
            .await
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test]
async fn the_tree_keeps_its_shape_paths_and_order() {
    let lib = Lib::start().await;
    let db = &lib.state.db;
    let city = node_named(&lib, "city", "杭州市").await;
    let ca = lib.actor("city_admin").await;
    let cx = lib.cx(&ca);
    let maths = by_path(&lib, city, "初中 / 数学").await;
    let edition = edit::create(
        &cx,
        NewCatalogNode {
            parent_id: Some(maths.id),
            name: "浙教版".into(),
            code: Some("zj".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        (edition.kind(), edition.edition_id),
        (NodeKind::Edition, Some(edition.id))
    );
    // A volume's grade must be one of the stage's.
    let wrong = NewCatalogNode {
        parent_id: Some(edition.id),
        name: "三年级上册".into(),
        ..Default::default()
    };
    match edit::create(&cx, wrong).await {
        Err(AppError::Invalid(f)) => assert_eq!(f.get("grade"), Some("error.catalog.grade_stage")),
        other => panic!("{other:?}"),
    }
    let v = edit::create(
        &cx,
        NewCatalogNode {
            parent_id: Some(edition.id),
            name: "七年级上册".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        (v.grade_code.as_deref(), v.term, v.path.as_str()),
        (Some("1"), Some(1), "初中 / 数学 / 浙教版 / 七年级上册")
    );
    let u1 = edit::create(
        &cx,
        NewCatalogNode {
            parent_id: Some(v.id),
            name: "第1章 有理数".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let u2 = edit::create(
        &cx,
        NewCatalogNode {
            parent_id: Some(v.id),
            name: "第2章 有理数的运算".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let s = edit::create(
        &cx,
        NewCatalogNode {
            parent_id: Some(u2.id),
            name: "2.1 有理数的加法".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        (s.kind(), s.volume_id, s.grade_code.as_deref()),
        (NodeKind::Section, Some(v.id), Some("1"))
    );
    let below = NewCatalogNode {
        parent_id: Some(s.id),
        name: "x".into(),
        ..Default::default()
    };
    assert!(matches!(
        edit::create(&cx, below).await,
        Err(AppError::Invalid(_))
    ));
    let same = NewCatalogNode {
        parent_id: Some(v.id),
        name: "第1章 有理数".into(),
        ..Default::default()
    };
    assert!(matches!(
        edit::create(&cx, same).await,
        Err(AppError::Conflict("catalog.name_taken", _))
    ));
    let slash = NewCatalogNode {
        parent_id: Some(v.id),
        name: "甲 / 乙".into(),
        ..Default::default()
    };
    assert!(matches!(
        edit::create(&cx, slash).await,
        Err(AppError::Invalid(_))
    ));
    // Renaming carries the paths below; a volume's grade follows its name.
    let v = edit::rename(&cx, v.id, "七年级下册").await.unwrap();
    assert_eq!(v.term, Some(2));
    let s = catalog::get(db, s.id).await.unwrap();
    assert_eq!(
        s.path,
        "初中 / 数学 / 浙教版 / 七年级下册 / 第2章 有理数的运算 / 2.1 有理数的加法"
    );
    assert_eq!(s.term, Some(2));
    assert!(matches!(
        edit::rename(&cx, u2.id, "第1章 有理数").await,
        Err(AppError::Conflict(..))
    ));
    // Reordering renumbers the siblings.
    let order = edit::reorder(&cx, u2.id, 1).await.unwrap();
    assert_eq!(
        order.iter().map(|n| n.id).collect::<Vec<_>>(),
        [u2.id, u1.id]
    );
    assert_eq!(catalog::units(db, v.id).await.unwrap()[0].id, u2.id);
    // Unused nodes are deleted; used ones deactivated, with what is below them.
    assert_eq!(edit::remove(&cx, u1.id).await.unwrap(), Removed::Deleted);
    assert!(catalog::find(db, u1.id).await.unwrap().is_none());
    let school = node_named(&lib, "school", "上城区第一中学").await;
    textbook::set(&cx, school, Stage::Junior, "14", Some(edition.id))
        .await
        .unwrap();
    assert_eq!(
        edit::remove(&cx, edition.id).await.unwrap(),
        Removed::Deactivated
    );
    assert!(!catalog::get(db, s.id).await.unwrap().active);
    assert!(catalog::children(db, v.id, false).await.unwrap().is_empty());
    assert_eq!(catalog::children(db, v.id, true).await.unwrap().len(), 1);
    // A deactivated edition is no school's edition any more: the city's choice applies again.
    let pep = by_path(&lib, city, "初中 / 数学 / 人教版").await;
    assert_eq!(
        catalog::edition_for(db, school, Stage::Junior, "14")
            .await
            .unwrap(),
        Some(pep.id)
    );
    let below = NewCatalogNode {
        parent_id: Some(v.id),
        name: "第3章".into(),
        ..Default::default()
    };
    assert!(matches!(
        edit::create(&cx, below).await,
        Err(AppError::Invalid(_))
    ));
    assert!(matches!(
        edit::reactivate(&cx, s.id).await,
        Err(AppError::Conflict("catalog.parent_inactive", _))
    ));
    edit::reactivate(&cx, edition.id).await.unwrap();
    assert!(catalog::get(db, s.id).await.unwrap().active);
    assert_eq!(
        catalog::edition_for(db, school, Stage::Junior, "14")
            .await
            .unwrap(),
        Some(edition.id)
    );
    // Every change is audited.
    let (n,): (i64,) = on_db!(db, p => sqlx::query_as(
        "SELECT COUNT(*) FROM audit_log WHERE action LIKE 'catalog.%' AND actor_id = $1",
    ).bind(ca.person_id).fetch_one(p).await)
    .unwrap();
    assert!(n >= 10, "{n}");
}

//! Knowledge points: a spreadsheet imported all or nothing with every problem named by file,
//! row and column; importing again adds nothing; points added by hand; who may maintain them.

use crate::helpers::{Teach, fields};
use kernel::{AppError, NodeId};
use teaching::knowledge::import::{self, ImportError};
use teaching::knowledge::{self, NewPoint};

async fn city(t: &Teach) -> NodeId {
    let (id,): (NodeId,) = kernel::on_db!(&t.state.db, p => sqlx::query_as(
        "SELECT id FROM org_nodes WHERE kind = 'city' AND name = '杭州市'",
    ).fetch_one(p).await)
    .unwrap();
    id
}

fn file(name: &str, text: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("jy-kp-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

const GOOD: &str = "学段,学科,一级知识点,二级知识点,三级知识点\n\
    初中,数学,数与式,有理数,有理数的加法\n\
    初中,数学,数与式,有理数,有理数的减法\n\
    初中,数学,数与式,整式,\n\
    初中,数学,方程与不等式,一元一次方程,\n";

#[tokio::test]
async fn a_good_file_is_imported_once_and_read_as_a_tree() {
    let t = Teach::start().await;
    let admin = t.actor("city_admin").await;
    let cx = t.cx(&admin);
    let city = city(&t).await;
    let path = file("知识点.csv", GOOD);
    let done = import::run(&cx, city, "知识点.csv", &path).await.unwrap();
    assert_eq!((done.rows, done.created, done.unchanged), (4, 7, 0));
    let again = import::run(&cx, city, "知识点.csv", &path).await.unwrap();
    assert_eq!(
        (again.created, again.unchanged),
        (0, 4),
        "importing again adds nothing"
    );
    let tree = knowledge::tree(&t.state.db, city, "junior", "14", false)
        .await
        .unwrap();
    let names: Vec<(&str, i64)> = tree.iter().map(|p| (p.name.as_str(), p.depth)).collect();
    assert_eq!(
        names,
        [
            ("数与式", 1),
            ("有理数", 2),
            ("有理数的加法", 3),
            ("有理数的减法", 3),
            ("整式", 2),
            ("方程与不等式", 1),
            ("一元一次方程", 2),
        ]
    );
    assert_eq!(tree[2].path, "数与式 / 有理数 / 有理数的加法");
    // A teacher of the city reads it.
    let teacher = t.actor("teacher").await;
    let regions = resources::catalog::tree::regions_for(&t.state.db, &teacher)
        .await
        .unwrap();
    let subjects = knowledge::subjects(&t.state.db, &regions).await.unwrap();
    assert!(subjects.iter().any(|s| s.subject == "14" && s.points == 7));
    assert_eq!(testkit_audit(&t, "knowledge.import").await, 2);
    // A parent named after its child in the same file was made by this import: not unchanged.
    let path = file(
        "几何.csv",
        "学段,学科,一级知识点,二级知识点\n初中,数学,图形,三角形\n初中,数学,图形,\n",
    );
    let done = import::run(&cx, city, "几何.csv", &path).await.unwrap();
    assert_eq!((done.created, done.unchanged), (2, 0));
}

async fn testkit_audit(t: &Teach, action: &str) -> i64 {
    let (n,): (i64,) = kernel::on_db!(&t.state.db, p => sqlx::query_as(
        "SELECT COUNT(*) FROM audit_log WHERE action = $1",
    ).bind(action).fetch_one(p).await)
    .unwrap();
    n
}

#[tokio::test]
async fn a_bad_file_names_every_problem_and_writes_nothing() {
    let t = Teach::start().await;
    let admin = t.actor("city_admin").await;
    let cx = t.cx(&admin);
    let city = city(&t).await;
    let bad = "学段,学科,一级知识点,二级知识点,三级知识点\n\
        大学,数学,数与式,,\n\
        初中,数学,数与式,,有理数的加法\n\
        初中,数学,方程,一元一次方程,\n\
        初中,数学,方程,一元一次方程,\n\
        初中,魔法,咒语,,\n\
        初中,数学,,,\n";
    let path = file("坏文件.csv", bad);
    let Err(ImportError::Rejected(r)) = import::run(&cx, city, "坏文件.csv", &path).await else {
        panic!("refused");
    };
    assert_eq!(r.problem_count, 5, "{:?}", r.problems);
    let all = r.problems.join("\n");
    for want in [
        "坏文件.csv：第 2 行 A 列（学段）“大学”",
        "第 3 行 E 列（三级知识点）“有理数的加法”",
        "第 5 行 D 列（二级知识点）“一元一次方程”",
        "第 6 行 B 列（学科）“魔法”",
        "第 7 行 C 列（一级知识点）",
    ] {
        assert!(all.contains(want), "{want} in\n{all}");
    }
    assert!(
        all.contains("与第 4 行"),
        "a duplicate names the earlier row:\n{all}"
    );
    let (n,): (i64,) = kernel::on_db!(&t.state.db, p => sqlx::query_as(
        "SELECT COUNT(*) FROM knowledge_points",
    ).fetch_one(p).await)
    .unwrap();
    assert_eq!(n, 0, "nothing from a refused file");

    let path = file("缺列.csv", "学段,学科,备注\n初中,数学,x\n");
    let Err(ImportError::Rejected(r)) = import::run(&cx, city, "缺列.csv", &path).await else {
        panic!("refused");
    };
    let e = r.file_error.unwrap();
    assert!(
        e.starts_with("缺列.csv：") && e.contains("一级知识点"),
        "{e}"
    );
}

#[tokio::test]
async fn the_template_imports_as_it_is() {
    let t = Teach::start().await;
    let admin = t.actor("city_admin").await;
    let city = city(&t).await;
    let template = import::template().unwrap();
    assert!(template.name.ends_with(".xlsx"));
    let dir = std::env::temp_dir().join(format!("jy-kp-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("模板.xlsx");
    std::fs::write(&path, &template.bytes).unwrap();
    let done = import::run(&t.cx(&admin), city, "模板.xlsx", &path)
        .await
        .unwrap();
    assert_eq!((done.rows, done.created), (1, 3));
}

#[tokio::test]
async fn only_the_regions_administrators_keep_the_points() {
    let t = Teach::start().await;
    let city = city(&t).await;
    let path = file("知识点.csv", GOOD);
    for who in ["teacher", "school_admin", "district_admin"] {
        let a = t.actor(who).await;
        let e = import::run(&t.cx(&a), city, "知识点.csv", &path)
            .await
            .unwrap_err();
        assert!(
            matches!(e, ImportError::App(AppError::Forbidden)),
            "{who}: {e:?}"
        );
        let e = knowledge::add(
            &t.cx(&a),
            &NewPoint {
                region_id: city.to_string(),
                stage: "初中".into(),
                subject: "数学".into(),
                parent_id: String::new(),
                name: "数与式".into(),
            },
        )
        .await
        .unwrap_err();
        assert!(matches!(e, AppError::Forbidden), "{who}: {e:?}");
    }
    let admin = t.actor("city_admin").await;
    let cx = t.cx(&admin);
    let top = knowledge::add(
        &cx,
        &NewPoint {
            region_id: city.to_string(),
            stage: "初中".into(),
            subject: "数学".into(),
            parent_id: String::new(),
            name: " 数与式 ".into(),
        },
    )
    .await
    .unwrap();
    assert_eq!(
        (top.name.as_str(), top.depth, top.subject.as_str()),
        ("数与式", 1, "14")
    );
    let child = NewPoint {
        region_id: city.to_string(),
        stage: "junior".into(),
        subject: "14".into(),
        parent_id: top.id.to_string(),
        name: "有理数".into(),
    };
    let kid = knowledge::add(&cx, &child).await.unwrap();
    assert_eq!(kid.path, "数与式 / 有理数");
    let e = knowledge::add(&cx, &child).await.unwrap_err();
    assert!(
        matches!(e, AppError::Conflict("teaching.point_exists", _)),
        "{e:?}"
    );
    let mut wrong = child.clone();
    wrong.subject = "语文".into();
    wrong.name = "a/b".into();
    let f = fields(knowledge::add(&cx, &wrong).await.unwrap_err());
    let names: Vec<&str> = f.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["name", "parent_id"]);
}

//! Importing staff (教职工信息) and teaching assignments (任课安排), end to end: an XLSX and a
//! GBK CSV of staff with bad rows (every problem by row, column and rule), commit, re-import
//! without change, an assignment file that creates a missing class and gives teachers classes
//! they then see, a changed file replacing a teacher's assignments, another school's
//! administrator refused, and the statistics counting the imported teachers.

use crate::helpers::{TestApp, extract_csrf};
use crate::imports::settled;
use chrono::NaiveDate;
use directory::import::{Mode, Target, assignments, staff, staff_sample};
use kernel::{AppState, ImportId, NodeId, on_db};
use reqwest::StatusCode;
use std::path::{Path, PathBuf};

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("jy-staff-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

async fn school(state: &AppState, code: &str) -> NodeId {
    let (id,): (NodeId,) = on_db!(&state.db, p => sqlx::query_as("SELECT id FROM org_nodes WHERE kind = 'school' AND code = $1")
        .bind(code).fetch_one(p).await).unwrap();
    id
}

async fn count(state: &AppState, sql: &'static str, school: NodeId) -> i64 {
    let (n,): (i64,) =
        on_db!(&state.db, p => sqlx::query_as(sql).bind(school).fetch_one(p).await).unwrap();
    n
}

const STAFF_CHANGES: &str =
    "SELECT COUNT(*) FROM base_changes WHERE node_id = $1 AND entity = 'staff'";
const CLASS_ROLES: &str =
    "SELECT COUNT(*) FROM role_assignments r JOIN org_nodes n ON n.id = r.node_id
     WHERE n.school_id = $1 AND n.kind = 'class' AND r.role IN ('teacher', 'head_teacher')";

/// A resident ID number of 西湖区 (the demo's people are 上城区's).
fn id(y: i32, m: u32, d: u32, seq: u32, male: bool) -> String {
    directory::demo::id_number(
        "330106",
        NaiveDate::from_ymd_opt(y, m, d).unwrap(),
        seq,
        male,
    )
}

fn row(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

/// Uploads a file of `kind` as the signed-in client; returns the job the redirect names.
async fn upload(
    app: &TestApp,
    c: &reqwest::Client,
    school: NodeId,
    kind: &str,
    path: &Path,
) -> ImportId {
    let page = c
        .get(app.url(&format!("/admin/org/{school}/imports")))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let page = page.text().await.unwrap();
    assert!(page.contains(&format!("value=\"{kind}\"")), "{page}");
    let csrf = extract_csrf(&page);
    let bytes = std::fs::read(path).unwrap();
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let form = reqwest::multipart::Form::new()
        .text("csrf", csrf)
        .text("kind", kind.to_owned())
        .part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name(name),
        );
    let r = c
        .post(app.url(&format!("/admin/org/{school}/imports")))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let to = r.headers()["location"].to_str().unwrap().to_owned();
    to.rsplit('/').next().unwrap().parse().unwrap()
}

async fn commit(app: &TestApp, c: &reqwest::Client, id: ImportId, partial: bool) -> StatusCode {
    let page = c
        .get(app.url(&format!("/admin/imports/{id}")))
        .send()
        .await
        .unwrap();
    let csrf = extract_csrf(&page.text().await.unwrap());
    let mut form = vec![("csrf", csrf)];
    if partial {
        form.push(("partial", "1".into()));
    }
    c.post(app.url(&format!("/admin/imports/{id}/commit")))
        .form(&form)
        .send()
        .await
        .unwrap()
        .status()
}

/// Uploads, waits for the check, commits (partial) and waits for the commit.
async fn import(
    app: &TestApp,
    c: &reqwest::Client,
    school: NodeId,
    kind: &str,
    path: &Path,
) -> directory::import::Counts {
    let id = upload(app, c, school, kind, path).await;
    let j = settled(&app.state, id).await;
    assert_eq!(j.status, "checked", "{:?}", j.error);
    assert_eq!(commit(app, c, id, true).await, StatusCode::SEE_OTHER);
    let j = settled(&app.state, id).await;
    assert_eq!(j.status, "done", "{:?}", j.error);
    j.counts().unwrap()
}

type Found = (u32, Option<usize>, &'static str, Option<u32>);

/// Every problem of a file, checked against the database as the job checks it: row, column
/// (0 for A), rule and the other row of a duplicate.
async fn problems(state: &AppState, school: NodeId, kind: &str, path: &Path) -> Vec<Found> {
    let node = directory::nodes::find(&state.db, school)
        .await
        .unwrap()
        .unwrap();
    let target = Target::new(node, ImportId::new(), state);
    let progress = |_: u64| {};
    let o = match kind {
        "staff" => staff::run(&state.db, &target, path, Mode::Check, &progress).await,
        _ => assignments::run(&state.db, &target, path, Mode::Check, &progress).await,
    }
    .unwrap();
    assert_eq!(o.problem_count as usize, o.problems.len());
    let mut got: Vec<Found> = o
        .problems
        .iter()
        .map(|p| (p.row, p.column, p.key, p.other_row))
        .collect();
    got.sort();
    got
}

async fn teachers_in_stats(app: &TestApp, token: &str, school: NodeId) -> i64 {
    let r = TestApp::client()
        .get(app.url(&format!("/api/v1/nodes/{school}/stats")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let v: serde_json::Value = r.json().await.unwrap();
    v["teachers"].as_i64().unwrap()
}

fn staff_file() -> Vec<Vec<String>> {
    let (a, b, c, d, e, f, g) = (
        id(1985, 4, 9, 1, true),
        id(1988, 1, 20, 2, false),
        id(1980, 6, 1, 3, true),
        id(1990, 2, 2, 4, true),
        id(1986, 3, 3, 5, true),
        id(1987, 7, 7, 6, true),
        id(1992, 5, 5, 7, false),
    );
    vec![
        row(&[
            "工号",
            "姓名",
            "性别",
            "出生日期",
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
        ]),
        row(&[
            "T901",
            "王一",
            "男",
            "1985-04-09",
            &a,
            "汉族",
            "中共党员",
            "13900009001",
            "专任教师",
            "中学一级教师",
            "本科",
            "班主任、教研组长",
            "20083300000001",
            "2008.09",
            "在职",
        ]),
        row(&[
            "T902",
            "李二",
            "女",
            "1988-01-20",
            &b,
            "汉",
            "群众",
            "13900009002",
            "专任教师",
            "二级教师（小学）",
            "硕士",
            "",
            "20123300000002",
            "2012-09",
            "在职",
        ]),
        row(&[
            "T903",
            "张三",
            "男",
            "1980-06-01",
            &c,
            "回族",
            "群众",
            "13900009003",
            "行政人员",
            "",
            "本科",
            "校长",
            "",
            "2002.09",
            "在职",
        ]),
        // Row 5: a man's ID number for a woman, and a short phone number.
        row(&[
            "T904",
            "赵四",
            "女",
            "1990-02-02",
            &d,
            "汉族",
            "群众",
            "1390000",
            "专任教师",
            "",
            "本科",
            "",
            "",
            "2014.09",
            "在职",
        ]),
        // Row 6: a staffing category that is not in the table.
        row(&[
            "T905",
            "钱五",
            "男",
            "1986-03-03",
            &e,
            "汉族",
            "群众",
            "13900009005",
            "临时工",
            "",
            "本科",
            "",
            "",
            "2010.09",
            "在职",
        ]),
        // Row 7: row 2's staff number again.
        row(&[
            "T901",
            "孙六",
            "男",
            "1987-07-07",
            &f,
            "汉族",
            "群众",
            "13900009007",
            "专任教师",
            "",
            "本科",
            "",
            "",
            "2011.09",
            "在职",
        ]),
        row(&[
            "T906",
            "周七",
            "女",
            "1992-05-05",
            &g,
            "汉族",
            "共青团员",
            "13900009006",
            "代课教师",
            "",
            "大专",
            "",
            "",
            "2015.09",
            "返聘",
        ]),
    ]
}

#[tokio::test]
async fn a_staff_xlsx_is_checked_committed_and_imported_again_without_change() {
    let app = TestApp::start().await;
    let school = school(&app.state, "2133010001").await;
    let c = app.login("school_admin").await;
    let token = app.token("school_admin").await;
    let teachers_before = teachers_in_stats(&app, &token, school).await;
    let file = temp("教职工信息.xlsx");
    staff_sample::write_xlsx(&file, &staff_file()).unwrap();

    // The template for staff has the columns the file uses.
    let r = c
        .get(app.url("/admin/imports/template.xlsx?kind=staff"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let t = temp("template.xlsx");
    std::fs::write(&t, r.bytes().await.unwrap()).unwrap();
    let (_, rows) = sheets::read_all(&t).unwrap();
    assert_eq!(rows[0].cells[0].text(), "工号");
    assert!(rows[0].cells.iter().any(|v| v.text() == "编制类别"));

    assert_eq!(
        problems(&app.state, school, "staff", &file).await,
        [
            (5, Some(4), "error.id_number_gender_mismatch", None),
            (5, Some(7), "error.phone_format", None),
            (6, Some(8), "error.code_unknown", None),
            (7, Some(0), "error.duplicate_in_file", Some(2)),
        ]
    );
    let id = upload(&app, &c, school, "staff", &file).await;
    let j = settled(&app.state, id).await;
    assert_eq!(
        (
            j.kind.as_str(),
            j.status.as_str(),
            j.total_rows,
            j.good_rows,
            j.problem_count
        ),
        ("staff", "checked", 7, 4, 4),
        "{:?}",
        j.error
    );
    let report: Vec<String> = j.report().lines.into_iter().map(|l| l.message).collect();
    // The refused value comes with the values that are accepted.
    assert!(
        report.iter().any(|l| l.starts_with(
            "第 6 行 I 列（编制类别）“临时工”：不是代码表中的值（可填代码或名称）。可填："
        ) && l.contains("专任教师")),
        "{report:?}"
    );
    // The error copy names the problems in a last column.
    let r = c
        .get(app.url(&format!("/admin/imports/{id}/errors.xlsx")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let copy = temp("errors.xlsx");
    std::fs::write(&copy, r.bytes().await.unwrap()).unwrap();
    let (_, rows) = sheets::read_all(&copy).unwrap();
    assert_eq!(rows[0].cells[15].text(), "错误说明");
    assert!(
        rows[6].cells[15].text().contains("（与第 2 行相同）"),
        "{:?}",
        rows[6].cells
    );
    // All or nothing: nothing while the file has problems (the report says so); then only
    // the good rows.
    assert_eq!(commit(&app, &c, id, false).await, StatusCode::SEE_OTHER);
    assert_eq!(settled(&app.state, id).await.status, "checked");
    assert_eq!(commit(&app, &c, id, true).await, StatusCode::SEE_OTHER);
    let j = settled(&app.state, id).await;
    assert_eq!(j.status, "done", "{:?}", j.error);
    let counts = j.counts().unwrap();
    assert_eq!(
        (
            counts.created,
            counts.updated,
            counts.unchanged,
            counts.skipped,
            counts.accounts_created
        ),
        (4, 0, 0, 3, 4)
    );
    let page = c
        .get(app.url(&format!("/admin/imports/{id}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("新增教职工"), "{page}");

    // What was stored: codes, the posts, the employment start, the political status.
    type StaffRecord = (
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<NaiveDate>,
        Option<String>,
        Option<String>,
        Option<NaiveDate>,
    );
    let rec: StaffRecord = on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT s.staffing_category, s.title, s.education, s.positions, s.employment_start, s.status,
                p.political_status, p.birth_date
         FROM staff s JOIN persons p ON p.id = s.person_id WHERE p.org_id = $1 AND p.staff_no = 'T901'")
        .bind(school).fetch_one(p).await).unwrap();
    assert_eq!(
        rec,
        (
            Some("1".into()),
            Some("053".into()),
            Some("21".into()),
            Some("head_teacher,subject_head".into()),
            NaiveDate::from_ymd_opt(2008, 9, 1),
            Some("11".into()),
            Some("01".into()),
            NaiveDate::from_ymd_opt(1985, 4, 9),
        )
    );
    // An account named by the staff number, without a password yet; the teacher role.
    let (hash,): (String,) = on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT password_hash FROM accounts WHERE username = 't906'").fetch_one(p).await)
    .unwrap();
    assert_eq!(hash, identity::password::UNISSUED);
    assert!(app.login_with("t906", "").await.is_err());
    assert_eq!(
        count(
            &app.state,
            "SELECT COUNT(*) FROM role_assignments r JOIN persons p ON p.id = r.person_id
             WHERE r.node_id = $1 AND r.role = 'teacher' AND p.staff_no IN ('T901', 'T902', 'T903', 'T906')",
            school
        )
        .await,
        4
    );
    assert_eq!(count(&app.state, STAFF_CHANGES, school).await, 4);
    // The statistics count them.
    assert_eq!(
        teachers_in_stats(&app, &token, school).await,
        teachers_before + 4
    );

    // The same file again: nothing changes.
    let counts = import(&app, &c, school, "staff", &file).await;
    assert_eq!(
        (
            counts.created,
            counts.updated,
            counts.unchanged,
            counts.accounts_created
        ),
        (0, 0, 4, 0)
    );
    assert_eq!(count(&app.state, STAFF_CHANGES, school).await, 4);
    // A changed row updates the person.
    let mut changed = staff_file();
    changed[2][9] = "高级教师（小学）".into();
    let file2 = temp("教职工信息-2.xlsx");
    staff_sample::write_xlsx(&file2, &changed).unwrap();
    let counts = import(&app, &c, school, "staff", &file2).await;
    assert_eq!(
        (counts.created, counts.updated, counts.unchanged),
        (0, 1, 3)
    );
    let (title,): (Option<String>,) = on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT s.title FROM staff s JOIN persons p ON p.id = s.person_id WHERE p.org_id = $1 AND p.staff_no = 'T902'")
        .bind(school).fetch_one(p).await).unwrap();
    assert_eq!(title.as_deref(), Some("413"));

    // Another school's administrator sees neither the import nor the page, and cannot upload.
    let other = app.login("school2_admin").await;
    for path in [
        format!("/admin/imports/{id}"),
        format!("/admin/org/{school}/imports"),
    ] {
        let r = other.get(app.url(&path)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
    }
    let csrf = app.csrf(&other).await;
    let form = reqwest::multipart::Form::new()
        .text("csrf", csrf)
        .text("kind", "staff")
        .part(
            "file",
            reqwest::multipart::Part::bytes(std::fs::read(&file).unwrap()).file_name("x.xlsx"),
        );
    let r = other
        .post(app.url(&format!("/admin/org/{school}/imports")))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        count(
            &app.state,
            "SELECT COUNT(*) FROM import_jobs WHERE school_id = $1",
            school
        )
        .await,
        3
    );
    app.stop().await;
}

async fn class_id(state: &AppState, school: NodeId, grade: &str, class: &str) -> Option<NodeId> {
    on_db!(&state.db, p => sqlx::query_as::<_, (NodeId,)>(
        "SELECT c.id FROM org_nodes c JOIN org_nodes g ON g.id = c.parent_id
         WHERE c.school_id = $1 AND c.kind = 'class' AND g.name = $2 AND c.name = $3")
        .bind(school).bind(grade).bind(class).fetch_optional(p).await)
    .unwrap()
    .map(|r| r.0)
}

async fn head_teachers(state: &AppState, class: NodeId) -> Vec<String> {
    let rows: Vec<(Option<String>, String)> = on_db!(&state.db, p => sqlx::query_as(
        "SELECT p.staff_no, p.name FROM role_assignments r JOIN persons p ON p.id = r.person_id
         WHERE r.node_id = $1 AND r.role = 'head_teacher' ORDER BY p.name")
        .bind(class).fetch_all(p).await)
    .unwrap();
    rows.into_iter()
        .map(|(no, name)| no.unwrap_or(name))
        .collect()
}

/// A teacher's assignments at the school: (grade, class, subject, weekly periods), sorted.
async fn teaching(
    state: &AppState,
    staff_no: &str,
) -> Vec<(String, String, Option<String>, Option<i64>)> {
    let mut rows: Vec<(String, String, Option<String>, Option<i64>)> = on_db!(&state.db, p => sqlx::query_as(
        "SELECT g.name, c.name, r.subject, r.weekly_periods FROM role_assignments r
         JOIN persons p ON p.id = r.person_id JOIN org_nodes c ON c.id = r.node_id AND c.kind = 'class'
         JOIN org_nodes g ON g.id = c.parent_id
         WHERE p.staff_no = $1 AND r.role = 'teacher'")
        .bind(staff_no).fetch_all(p).await)
    .unwrap();
    rows.sort();
    rows
}

async fn roster(app: &TestApp, token: &str, class: NodeId) -> (StatusCode, serde_json::Value) {
    let r = TestApp::client()
        .get(app.url(&format!("/api/v1/classes/{class}/roster")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or_default())
}

#[tokio::test]
async fn a_gbk_staff_csv_then_teaching_assignments_that_create_a_class() {
    let app = TestApp::start().await;
    let school = school(&app.state, "2133010001").await;
    let c = app.login("school_admin").await;

    // A GBK CSV with a title row and JY/T short names among the headers.
    let staff_csv = temp("教职工.csv");
    staff_sample::write_csv(
        &staff_csv,
        &[
            row(&["2025学年 教职工名单"]),
            row(&[
                "GH",
                "XM",
                "XBM",
                "SFZJH",
                "编制类别",
                "职称",
                "岗位/职务",
                "班主任班级",
            ]),
            row(&[
                "T801",
                "陈老师",
                "女",
                &id(1984, 2, 3, 11, false),
                "专任教师",
                "高级教师（小学）",
                "班主任",
                "一年级(2)班",
            ]),
            row(&[
                "T802",
                "林老师",
                "男",
                &id(1989, 8, 9, 12, true),
                "专任教师",
                "",
                "",
                "",
            ]),
            row(&[
                "T803",
                "黄老师",
                "男",
                &id(1979, 10, 11, 13, true),
                "专任教师",
                "",
                "教研组长",
                "",
            ]),
            // Row 6: a staff number with a sign in it, a post nobody has.
            row(&[
                "T8#4",
                "吴老师",
                "男",
                &id(1991, 1, 1, 14, true),
                "专任教师",
                "",
                "宇航员",
                "",
            ]),
        ],
        true,
    )
    .unwrap();
    assert_eq!(
        problems(&app.state, school, "staff", &staff_csv).await,
        [
            (6, Some(0), "error.staff_no_format", None),
            (6, Some(6), "error.staff_import.post_unknown", None),
        ]
    );
    let id = upload(&app, &c, school, "staff", &staff_csv).await;
    let j = settled(&app.state, id).await;
    assert_eq!(j.report().format, "Csv(\"GB18030\")");
    assert_eq!(j.report().header_row, 2);
    assert_eq!((j.total_rows, j.good_rows, j.problem_count), (4, 3, 2));
    assert_eq!(commit(&app, &c, id, true).await, StatusCode::SEE_OTHER);
    let j = settled(&app.state, id).await;
    assert_eq!(j.status, "done", "{:?}", j.error);
    // 班主任班级: T801 heads 一年级(2)班 now, in place of the demo's head teacher.
    let one_two = class_id(&app.state, school, "一年级", "(2)班")
        .await
        .unwrap();
    assert_eq!(head_teachers(&app.state, one_two).await, ["T801"]);

    // Teaching assignments: 三年级(3)班 does not exist yet.
    let one_one = class_id(&app.state, school, "一年级", "(1)班")
        .await
        .unwrap();
    assert!(
        class_id(&app.state, school, "三年级", "(3)班")
            .await
            .is_none()
    );
    let t802 = app.token("t802").await;
    assert_eq!(roster(&app, &t802, one_one).await.0, StatusCode::NOT_FOUND);
    let file = temp("任课安排.xlsx");
    let header = row(&["工号", "姓名", "班级", "学科", "周课时", "是否班主任"]);
    let rows = vec![
        header.clone(),
        row(&["T802", "林老师", "三年级(3)班", "英语", "4", "否"]),
        row(&[
            "T802",
            "林老师",
            "一年级(1)班、一年级(2)班",
            "数学",
            "5",
            "否",
        ]),
        row(&["T803", "黄老师", "一年级(1)班", "语文", "6", "是"]),
        // Row 5: nobody at the school has this staff number.
        row(&["T899", "", "一年级(1)班", "语文", "2", "否"]),
        // Row 6: row 3's teacher, class and subject again.
        row(&["T802", "林老师", "一年级(1)班", "数学", "5", "否"]),
        // Row 7: the name is not T801's.
        row(&["T801", "王五", "一年级(2)班", "音乐", "2", "否"]),
        // Row 8: 一年级(1)班 already has a head teacher in this file (row 4).
        row(&["T801", "陈老师", "一年级(1)班", "美术", "1", "是"]),
    ];
    staff_sample::write_xlsx(&file, &rows).unwrap();
    assert_eq!(
        problems(&app.state, school, "assignments", &file).await,
        [
            (5, Some(0), "error.staff_import.staff_unknown", None),
            (6, Some(2), "error.duplicate_in_file", Some(3)),
            (7, Some(1), "error.staff_import.name_mismatch", None),
            (8, Some(2), "error.staff_import.head_teacher_twice", Some(4)),
        ]
    );
    let roles_before = count(&app.state, CLASS_ROLES, school).await;
    let counts = import(&app, &c, school, "assignments", &file).await;
    assert_eq!(
        (
            counts.created,
            counts.updated,
            counts.unchanged,
            counts.skipped,
            counts.classes_created,
            counts.assignments
        ),
        (2, 0, 0, 4, 1, 5)
    );
    let three_three = class_id(&app.state, school, "三年级", "(3)班")
        .await
        .expect("the missing class was created");
    assert_eq!(
        teaching(&app.state, "T802").await,
        [
            ("一年级".into(), "(1)班".into(), Some("14".into()), Some(5)),
            ("一年级".into(), "(2)班".into(), Some("14".into()), Some(5)),
            ("三年级".into(), "(3)班".into(), Some("41".into()), Some(4)),
        ]
    );
    // T803 heads 一年级(1)班 in place of the demo's head teacher.
    assert_eq!(head_teachers(&app.state, one_one).await, ["T803"]);
    // The teacher sees the classes: the roster names them with their subject.
    let (status, r) = roster(&app, &t802, three_three).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        r["teachers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["name"] == "林老师" && t["subject"] == "41"),
        "{r}"
    );
    assert_eq!(roster(&app, &t802, one_one).await.0, StatusCode::OK);

    // The same file again changes nothing.
    let roles = count(&app.state, CLASS_ROLES, school).await;
    assert_eq!(
        roles,
        roles_before + 5 - 1,
        "the demo's head teacher of 一年级(1)班 lost the role"
    );
    let changes = count(&app.state, STAFF_CHANGES, school).await;
    let counts = import(&app, &c, school, "assignments", &file).await;
    assert_eq!(
        (
            counts.created,
            counts.updated,
            counts.unchanged,
            counts.classes_created,
            counts.assignments
        ),
        (0, 0, 2, 0, 0)
    );
    assert_eq!(count(&app.state, CLASS_ROLES, school).await, roles);
    assert_eq!(count(&app.state, STAFF_CHANGES, school).await, changes);

    // A changed file replaces that teacher's assignments, and leaves the others alone.
    let file2 = temp("任课安排-2.xlsx");
    staff_sample::write_xlsx(
        &file2,
        &[
            header,
            row(&["T802", "林老师", "三年级(3)班", "数学", "5", "否"]),
        ],
    )
    .unwrap();
    let counts = import(&app, &c, school, "assignments", &file2).await;
    assert_eq!((counts.created, counts.updated), (0, 1));
    assert_eq!(
        teaching(&app.state, "T802").await,
        [("三年级".into(), "(3)班".into(), Some("14".into()), Some(5))]
    );
    assert_eq!(roster(&app, &t802, one_one).await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        teaching(&app.state, "T803").await,
        [("一年级".into(), "(1)班".into(), Some("13".into()), Some(6))]
    );
    assert_eq!(count(&app.state, STAFF_CHANGES, school).await, changes + 1);
    app.stop().await;
}

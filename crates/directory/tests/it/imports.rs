//! Importing students from spreadsheets, end to end: upload over HTTP, the background check,
//! the report and error copy, commit (all or nothing, or partial), re-import, a registry number
//! at another school, the XLSX of a registry export. (A commit killed in the middle is the
//! binary's test: `crates/jiaoyun/tests/it/cli.rs`.)

use crate::helpers::{TestApp, extract_csrf};
use directory::import::jobs::{self, Job};
use directory::import::sample;
use kernel::{Actor, AppState, Ctx, ImportId, NodeId, RequestMeta, on_db};
use reqwest::StatusCode;
use std::path::{Path, PathBuf};

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("jy-imports-{}", uuid::Uuid::now_v7()));
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

const STUDENTS: &str = "SELECT COUNT(*) FROM students WHERE school_id = $1";

async fn job(state: &AppState, id: ImportId) -> Job {
    on_db!(&state.db, p => sqlx::query_as("SELECT * FROM import_jobs WHERE id = $1").bind(id).fetch_one(p).await)
        .unwrap()
}

/// Waits for the server's runner to finish the job's current step.
pub async fn settled(state: &AppState, id: ImportId) -> Job {
    for _ in 0..600 {
        let j = job(state, id).await;
        if !j.is_running() {
            return j;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("import {id} still running after a minute");
}

/// Uploads a file as the signed-in client; returns the job the redirect names.
async fn upload(app: &TestApp, c: &reqwest::Client, school: NodeId, path: &Path) -> ImportId {
    let page = c
        .get(app.url(&format!("/admin/org/{school}/imports")))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let csrf = extract_csrf(&page.text().await.unwrap());
    let bytes = std::fs::read(path).unwrap();
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let form = reqwest::multipart::Form::new().text("csrf", csrf).part(
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

#[tokio::test]
async fn a_gbk_csv_is_checked_committed_and_imported_again_without_change() {
    let app = TestApp::start().await;
    let school = school(&app.state, "2133010001").await;
    let c = app.login("school_admin").await;
    let file = temp("三年级名单.csv");
    sample::write_csv(&file, 0..120, true, None).unwrap();

    let id = upload(&app, &c, school, &file).await;
    let j = settled(&app.state, id).await;
    assert_eq!(
        (
            j.status.as_str(),
            j.total_rows,
            j.good_rows,
            j.problem_count
        ),
        ("checked", 120, 120, 0)
    );
    assert_eq!(j.report().format, "Csv(\"GB18030\")");
    assert_eq!(
        count(&app.state, STUDENTS, school).await,
        0,
        "checking writes nothing"
    );
    assert_eq!(commit(&app, &c, id, false).await, StatusCode::SEE_OTHER);
    let j = settled(&app.state, id).await;
    assert_eq!(j.status, "done", "{:?}", j.error);
    let counts = j.counts().unwrap();
    assert_eq!(
        (counts.created, counts.updated, counts.unchanged),
        (120, 0, 0)
    );
    // Students 0..120: 60 have two guardians, 60 one.
    assert_eq!(counts.family_created, 180);
    assert_eq!(counts.accounts_created, 120 + 180);
    assert_eq!(count(&app.state, STUDENTS, school).await, 120);
    let page = c
        .get(app.url(&format!("/admin/imports/{id}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("新增学生") && page.contains(">120<"),
        "{page}"
    );

    // Classes came from the names: 一年级(1)班, (2)班, (3)班 (45 to a class).
    let classes = count(
        &app.state,
        "SELECT COUNT(DISTINCT r.node_id) FROM role_assignments r JOIN students s ON s.person_id = r.person_id
         WHERE r.role = 'student' AND s.school_id = $1",
        school,
    )
    .await;
    assert_eq!(classes, 3);
    assert_eq!(
        count(
            &app.state,
            "SELECT COUNT(*) FROM class_history WHERE school_id = $1 AND ended_on IS NULL
             AND person_id IN (SELECT person_id FROM students)",
            school
        )
        .await,
        120
    );
    // New accounts wait for their initial passwords: no password logs in.
    let s = sample::student(7);
    assert!(
        app.login_with(&s.registry_no.to_lowercase(), "")
            .await
            .is_err()
    );
    let (hash,): (String,) = on_db!(&app.state.db, p => sqlx::query_as("SELECT a.password_hash FROM accounts a JOIN persons p ON p.id = a.person_id WHERE p.registry_no = $1")
        .bind(&s.registry_no).fetch_one(p).await).unwrap();
    assert_eq!(hash, identity::password::UNISSUED);
    // Guardians are linked with their relation and may see their child.
    let (relation, is_guardian): (String, bool) = on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT f.relation, f.is_guardian FROM family_members f JOIN persons s ON s.id = f.student_id
         JOIN persons g ON g.id = f.person_id WHERE s.registry_no = $1 AND g.phone = $2")
        .bind(&s.registry_no).bind(&s.guardians[0].2).fetch_one(p).await).unwrap();
    assert_eq!((relation.as_str(), is_guardian), ("52", true));

    // The same file again: nothing changes.
    let again = upload(&app, &c, school, &file).await;
    settled(&app.state, again).await;
    assert_eq!(commit(&app, &c, again, false).await, StatusCode::SEE_OTHER);
    let j = settled(&app.state, again).await;
    let counts = j.counts().unwrap();
    assert_eq!(
        (counts.created, counts.updated, counts.unchanged),
        (0, 0, 120)
    );
    assert_eq!((counts.family_created, counts.accounts_created), (0, 0));
    assert_eq!(count(&app.state, STUDENTS, school).await, 120);

    // Another school's administrator cannot see the import, nor upload into this school.
    let other = app.login("school2_admin").await;
    let r = other
        .get(app.url(&format!("/admin/imports/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = other
        .get(app.url(&format!("/admin/org/{school}/imports")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    // The audit log has the upload and both commits.
    assert_eq!(crate::helpers::audit_count(&app, "import.commit").await, 2);
    assert_eq!(crate::helpers::audit_count(&app, "import.upload").await, 2);
    app.stop().await;
}

#[tokio::test]
async fn one_bad_row_in_a_thousand_blocks_the_commit_until_partial_is_chosen() {
    let app = TestApp::start().await;
    let school = school(&app.state, "2133010001").await;
    let c = app.login("school_admin").await;
    let file = temp("roster.xlsx");
    // An XLSX as registry exports look: merged two-line header, Excel dates; rows 500 and
    // 1500 (file rows 503 and 1503) have a day that does not exist.
    sample::write_xlsx(&file, 0..2000, Some(1000)).unwrap();
    let id = upload(&app, &c, school, &file).await;
    let j = settled(&app.state, id).await;
    assert_eq!(
        (j.total_rows, j.good_rows, j.problem_count),
        (2000, 1998, 2),
        "{:?}",
        j.error
    );
    let report = j.report();
    assert_eq!(report.header_row, 2);
    let lines: Vec<(u32, &str)> = report
        .lines
        .iter()
        .map(|l| (l.row, l.message.as_str()))
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0].0, 503);
    assert!(
        lines[0]
            .1
            .starts_with("第 503 行 D 列（出生日期）“2013-02-30”：日期不存在"),
        "{lines:?}"
    );
    assert_eq!(lines[1].0, 1503);
    // The error copy names the problem on its row, in the last column.
    let r = c
        .get(app.url(&format!("/admin/imports/{id}/errors.xlsx")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let copy = temp("errors.xlsx");
    std::fs::write(&copy, r.bytes().await.unwrap()).unwrap();
    let (_, rows) = sheets::read_all(&copy).unwrap();
    assert_eq!(rows.len(), 2002);
    assert!(
        rows[502].cells[14].text().contains("日期不存在"),
        "{:?}",
        rows[502].cells
    );
    assert!(rows[503].cells.get(14).is_none_or(|v| v.is_empty()));

    // All or nothing: 确认导入 without the partial import does nothing, and says why on the
    // report, offering the partial import.
    assert_eq!(commit(&app, &c, id, false).await, StatusCode::SEE_OTHER);
    assert_eq!(count(&app.state, STUDENTS, school).await, 0);
    let page = c
        .get(app.url(&format!("/admin/imports/{id}?need_partial=1")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("id=\"need-partial\"")
            && page.contains("没有导入：文件中有 2 行存在问题")
            && page.contains("name=\"partial\""),
        "{page}"
    );
    // The API refuses it outright.
    let job = directory::import::jobs::commit(
        &kernel::Ctx::new(
            &app.state,
            &kernel::Actor::system(),
            &kernel::RequestMeta::default(),
        ),
        id,
        false,
    )
    .await;
    assert!(
        matches!(
            job,
            Err(kernel::AppError::Conflict(
                "directory.import_has_problems",
                _
            ))
        ),
        "{job:?}"
    );
    assert_eq!(commit(&app, &c, id, true).await, StatusCode::SEE_OTHER);
    let j = settled(&app.state, id).await;
    let counts = j.counts().unwrap();
    assert_eq!((counts.created, counts.skipped), (1998, 2));
    assert_eq!(count(&app.state, STUDENTS, school).await, 1998);
    // Birth dates came from the Excel dates.
    let s = sample::student(3);
    let (birth,): (chrono::NaiveDate,) = on_db!(&app.state.db, p => sqlx::query_as("SELECT birth_date FROM persons WHERE registry_no = $1")
        .bind(&s.registry_no).fetch_one(p).await).unwrap();
    assert_eq!(birth, s.birth);

    // The same students at another school are reported with the school that has them.
    let admin = app.login("xihu_admin").await;
    let other = self::school(&app.state, "2133010003").await;
    let small = temp("transfer.csv");
    sample::write_csv(&small, 0..5, false, None).unwrap();
    let id = upload(&app, &admin, other, &small).await;
    let j = settled(&app.state, id).await;
    assert_eq!(j.problem_count, 5);
    assert!(
        j.report().lines[0].message.contains("上城区实验小学"),
        "{:?}",
        j.report().lines
    );
    // Nothing is committed without the partial import: the report says why.
    assert_eq!(commit(&app, &admin, id, false).await, StatusCode::SEE_OTHER);
    assert_eq!(settled(&app.state, id).await.status, "checked");
    app.stop().await;
}

#[tokio::test]
async fn a_changed_row_updates_the_student_and_keeps_the_class_history() {
    let app = TestApp::start().await;
    let school = school(&app.state, "2133010001").await;
    let actor = Actor::system();
    let meta = RequestMeta::cli();
    let cx = Ctx::new(&app.state, &actor, &meta);
    let run = |text: String| {
        let cx = &cx;
        async move {
            let p = temp("changes.csv");
            std::fs::write(&p, text).unwrap();
            let j = jobs::create(cx, school, "changes.csv", &p, kernel::Locale::ZhCn)
                .await
                .unwrap();
            settled(cx.state, j.id).await;
            jobs::commit(cx, j.id, false).await.unwrap();
            settled(cx.state, j.id).await.counts().unwrap()
        }
    };
    let s = sample::student(11);
    let row = |class: &str, phone: &str| {
        format!(
            "学籍号,姓名,性别,出生日期,身份证号,班级,监护人1姓名,监护人1关系,监护人1联系电话\n{},{},男,{},{},{class},王芳,妈妈,{phone}\n",
            s.registry_no, s.name, s.birth, s.id_number
        )
    };
    let first = run(row("三年级(1)班", "13900001111")).await;
    assert_eq!((first.created, first.classes_created), (1, 1));
    let moved = run(row("三年级(2)班", "13900002222")).await;
    assert_eq!(
        (moved.created, moved.updated, moved.family_created),
        (0, 1, 0)
    );
    let history: Vec<(String, Option<chrono::NaiveDate>, String)> = on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT h.class_name, h.ended_on, h.reason FROM class_history h JOIN persons p ON p.id = h.person_id
         WHERE p.registry_no = $1 ORDER BY h.reason DESC")
        .bind(&s.registry_no).fetch_all(p).await).unwrap();
    assert_eq!(history.len(), 2, "{history:?}");
    assert_eq!(
        (
            history[0].0.as_str(),
            history[0].1.is_some(),
            history[0].2.as_str()
        ),
        ("(1)班", true, "import")
    );
    assert_eq!(
        (
            history[1].0.as_str(),
            history[1].1.is_none(),
            history[1].2.as_str()
        ),
        ("(2)班", true, "class_change")
    );
    // The mother is the same person with her new number; still one family member.
    let guardians: Vec<(String, Option<String>)> = on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT g.name, g.phone FROM family_members f JOIN persons g ON g.id = f.person_id JOIN persons s ON s.id = f.student_id
         WHERE s.registry_no = $1")
        .bind(&s.registry_no).fetch_all(p).await).unwrap();
    assert_eq!(guardians.len(), 1);
    assert_eq!(guardians[0].0, "王芳");
    app.stop().await;
}

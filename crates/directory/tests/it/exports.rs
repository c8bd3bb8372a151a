//! Exports of every list (staff, people search, roster with guardians, classes, audit log) in
//! XLSX and GBK CSV, read back with the `sheets` crate; the one masking rule and its audit
//! records; refusals exactly as for the pages; the OneRoster 1.2 bundle unpacked and checked
//! (files, headers, referential integrity, no ID number anywhere); guardians' reach.

use crate::helpers::{TestApp, audit_count, import_sample, node_by_code as node};
use directory::import::sample;
use kernel::{Actor, Ctx, NodeId, PersonId, RequestMeta, on_db};
use reqwest::{Client, StatusCode};
use std::collections::{HashMap, HashSet};
use std::io::Read;

/// Masked exports of `list` in the audit log (`export.<list>`).
async fn exported(app: &TestApp, list: &str) -> i64 {
    audit_count(app, &format!("export.{list}")).await
}

async fn class_of(app: &TestApp, registry_no: &str) -> NodeId {
    let (class,): (NodeId,) = on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT r.node_id FROM role_assignments r JOIN persons p ON p.id = r.person_id WHERE p.registry_no = $1 AND r.role = 'student'")
        .bind(registry_no).fetch_one(p).await).unwrap();
    class
}

async fn get(c: &Client, app: &TestApp, path: &str) -> (StatusCode, Vec<u8>) {
    let r = c.get(app.url(path)).send().await.unwrap();
    (r.status(), r.bytes().await.unwrap().to_vec())
}

/// A downloaded spreadsheet read back by `sheets` (which tells XLSX, UTF-8 and GBK apart).
fn rows(bytes: &[u8]) -> Vec<Vec<String>> {
    let p = std::env::temp_dir().join(format!("jy-export-{}", uuid::Uuid::now_v7()));
    std::fs::write(&p, bytes).unwrap();
    let (_, rows) = sheets::read_all(&p).unwrap();
    rows.iter()
        .map(|r| r.cells.iter().map(|c| c.text()).collect())
        .collect()
}

fn gbk(bytes: &[u8]) -> String {
    let (text, _, bad) = encoding_rs::GB18030.decode(bytes);
    assert!(!bad, "GBK CSV decodes");
    assert!(
        std::str::from_utf8(bytes).is_err(),
        "Chinese text in GBK is not UTF-8"
    );
    text.into_owned()
}

fn col(rows: &[Vec<String>], name: &str) -> usize {
    rows[0]
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("{name} in {:?}", rows[0]))
}

#[tokio::test]
async fn every_list_exports_masked_unless_an_administrator_asks_and_is_audited() {
    let app = TestApp::start().await;
    let school = node(&app, "2133010001").await;
    import_sample(&app, school, 0..20, false).await;
    let s0 = sample::student(0);
    let class = class_of(&app, &s0.registry_no).await;
    let admin = app.login("school_admin").await;
    let teacher = app.login("teacher").await;

    // The roster with guardians: in full for the administrator who asks, as XLSX.
    let (st, b) = get(
        &admin,
        &app,
        &format!("/export/roster/{class}?format=xlsx&unmasked=1"),
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    let r = rows(&b);
    assert_eq!(r[0][..5], ["序号", "姓名", "性别", "出生日期", "学籍号"]);
    let (name, reg, g1, p1) = (
        col(&r, "姓名"),
        col(&r, "学籍号"),
        col(&r, "监护人1姓名"),
        col(&r, "监护人1联系电话"),
    );
    let mine = r
        .iter()
        .find(|x| x[name] == s0.name)
        .expect("the student's row");
    assert_eq!(mine[reg], s0.registry_no);
    assert_eq!(mine[g1], s0.guardians[0].0);
    assert_eq!(mine[p1], s0.guardians[0].2);
    assert_eq!(mine[col(&r, "监护人1关系")], s0.guardians[0].1);
    // 20 imported and the demo's 8 in the class.
    assert_eq!(r.len() - 1, 28);
    // The class's head teacher: GBK CSV, masked, JY/T headers.
    let (st, b) = get(
        &teacher,
        &app,
        &format!("/export/roster/{class}?format=gbk&headers=jyt"),
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    let text = gbk(&b);
    assert!(text.starts_with("XH,XM,XBM,CSRQ,XJH,JHR1XM"), "{text}");
    let r = rows(&b);
    let mine = r.iter().find(|x| x[1] == s0.name).unwrap();
    assert_eq!(mine[4], kernel::privacy::mask_id_number(&s0.registry_no));
    assert_eq!(mine[7], kernel::privacy::mask_phone(&s0.guardians[0].2));
    assert!(!text.contains(&s0.id_number) && !text.contains(&s0.guardians[0].2));
    // Not in full for a teacher, and not another class's.
    let (st, _) = get(
        &teacher,
        &app,
        &format!("/export/roster/{class}?format=csv&unmasked=1"),
    )
    .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (other_class,): (NodeId,) = on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT id FROM org_nodes WHERE kind = 'class' AND school_id = $1 AND id <> $2 LIMIT 1")
        .bind(school).bind(class).fetch_one(p).await)
    .unwrap();
    let (st, _) = get(
        &teacher,
        &app,
        &format!("/export/roster/{other_class}?format=xlsx"),
    )
    .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    for who in ["guardian", "student", "school2_admin"] {
        let c = app.login(who).await;
        let (st, _) = get(&c, &app, &format!("/export/roster/{class}?format=xlsx")).await;
        assert_eq!(st, StatusCode::NOT_FOUND, "{who}");
    }

    // Staff of the school: the demo teacher with full ID number only when asked.
    let (tid, tname, tphone): (String, String, String) = on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT p.id_number, p.name, p.phone FROM persons p JOIN accounts a ON a.person_id = p.id WHERE a.username = 'teacher'")
        .fetch_one(p).await).unwrap();
    let (st, b) = get(
        &admin,
        &app,
        &format!("/export/staff/{school}?format=xlsx&unmasked=1"),
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    let r = rows(&b);
    let t = r.iter().find(|x| x[1] == tname).expect("the teacher");
    assert_eq!(t[col(&r, "身份证件号")], tid);
    assert_eq!(t[col(&r, "联系电话")], tphone);
    assert!(t[col(&r, "班主任")].contains("一年级(1)班"), "{t:?}");
    assert!(t[col(&r, "任教班级与学科")].contains("语文"), "{t:?}");
    let (st, b) = get(&admin, &app, &format!("/export/staff/{school}?format=gbk")).await;
    assert_eq!(st, StatusCode::OK);
    let text = gbk(&b);
    assert!(text.starts_with("工号,姓名"));
    assert!(!text.contains(&tid) && text.contains(&kernel::privacy::mask_id_number(&tid)));
    assert!(!text.contains(&tphone) && text.contains(&kernel::privacy::mask_phone(&tphone)));
    let (st, _) = get(
        &teacher,
        &app,
        &format!("/export/staff/{school}?format=xlsx"),
    )
    .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    // A class's staff list is its teachers: the head teacher and the maths teacher.
    let (st, b) = get(&admin, &app, &format!("/export/staff/{class}?format=xlsx")).await;
    assert_eq!(st, StatusCode::OK);
    let r = rows(&b);
    assert_eq!(r.len() - 1, 2, "{r:?}");
    assert!(r.iter().any(|x| x[1] == tname));
    let other = app.login("school2_admin").await;
    let (st, _) = get(&other, &app, &format!("/export/staff/{school}?format=xlsx")).await;
    assert_eq!(st, StatusCode::NOT_FOUND);

    // The people search with its filters: the same rows as the page.
    let (st, b) = get(
        &admin,
        &app,
        &format!("/export/people?node={school}&role=teacher&format=gbk"),
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    let r = rows(&b);
    let (teachers,): (i64,) = on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT COUNT(DISTINCT p.id) FROM persons p JOIN role_assignments r ON r.person_id = p.id
         WHERE r.role = 'teacher' AND p.org_id = $1 AND p.active = TRUE").bind(school).fetch_one(p).await).unwrap();
    assert_eq!(r.len() as i64 - 1, teachers);
    let t = r.iter().find(|x| x[0] == tname).unwrap();
    assert_eq!(t[col(&r, "联系电话")], kernel::privacy::mask_phone(&tphone));
    let (st, b) = get(
        &admin,
        &app,
        &format!(
            "/export/people?node={school}&q={}&format=xlsx&unmasked=1",
            s0.name
        ),
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    let r = rows(&b);
    assert!(
        r.iter()
            .any(|x| x[0] == s0.name && x[col(&r, "学籍号")] == s0.registry_no),
        "{r:?}"
    );
    let (st, _) = get(
        &teacher,
        &app,
        &format!("/export/people?node={school}&format=xlsx"),
    )
    .await;
    assert_eq!(st, StatusCode::FORBIDDEN);

    // The classes of the school.
    let (st, b) = get(
        &admin,
        &app,
        &format!("/export/classes/{school}?format=xlsx"),
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    let r = rows(&b);
    let (classes,): (i64,) = on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT COUNT(*) FROM org_nodes WHERE kind = 'class' AND school_id = $1 AND active = TRUE").bind(school).fetch_one(p).await).unwrap();
    assert_eq!(r.len() as i64 - 1, classes);
    let first = r
        .iter()
        .find(|x| x[2] == "一年级" && x[3] == "(1)班")
        .unwrap();
    assert_eq!(first[5], tname);
    assert_eq!(first[6], "28");
    let (st, b) = get(
        &admin,
        &app,
        &format!("/export/classes/{school}?format=gbk"),
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    assert!(gbk(&b).starts_with("学校,学校标识码,年级,班级"));
    let (st, _) = get(
        &other,
        &app,
        &format!("/export/classes/{school}?format=xlsx"),
    )
    .await;
    assert_eq!(st, StatusCode::NOT_FOUND);

    // The pages carry the chooser.
    let page = admin
        .get(app.url(&format!("/admin/org/{school}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(&format!("action=\"/export/staff/{school}\""))
            && page.contains("/export/oneroster/")
    );
    let page = teacher
        .get(app.url(&format!("/classes/{class}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains(&format!("action=\"/export/roster/{class}\"")));
    assert!(
        !page.contains("name=\"unmasked\""),
        "no full-data box for a teacher"
    );

    // Every export is audited; the unmasked ones as exports of personal data.
    assert_eq!(audit_count(&app, "export.personal_data").await, 3);
    assert_eq!(exported(&app, "roster").await, 1);
    assert_eq!(exported(&app, "staff").await, 2);
    assert_eq!(exported(&app, "people").await, 1);
    assert_eq!(exported(&app, "classes").await, 2);
    let (lists,): (i64,) = on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'export.personal_data' AND detail LIKE '%\"unmasked\":true%'")
        .fetch_one(p).await).unwrap();
    assert_eq!(lists, 3);

    // The audit log itself, through the same machinery: XLSX and GBK, for its readers only.
    let city = app.login("city_admin").await;
    let (st, b) = get(&city, &app, "/export/audit?action=export.&format=xlsx").await;
    assert_eq!(st, StatusCode::OK);
    let r = rows(&b);
    assert_eq!(r[0][6], "action");
    assert_eq!(
        r.iter().filter(|x| x[6] == "export.personal_data").count(),
        3
    );
    let (st, b) = get(&city, &app, "/export/audit?action=export.&format=gbk").await;
    assert_eq!(st, StatusCode::OK);
    assert!(
        encoding_rs::GB18030
            .decode(&b)
            .0
            .starts_with("id,at,actor_id")
    );
    let (st, _) = get(&teacher, &app, "/export/audit?format=xlsx").await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    assert_eq!(exported(&app, "audit").await, 2);
    app.stop().await;
}

const HEADERS: [(&str, &str); 9] = [
    ("manifest.csv", "propertyName,value"),
    (
        "orgs.csv",
        "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId",
    ),
    (
        "academicSessions.csv",
        "sourcedId,status,dateLastModified,title,type,startDate,endDate,parentSourcedId,schoolYear",
    ),
    (
        "courses.csv",
        "sourcedId,status,dateLastModified,schoolYearSourcedId,title,courseCode,grades,orgSourcedId,subjects,subjectCodes",
    ),
    (
        "classes.csv",
        "sourcedId,status,dateLastModified,title,grades,courseSourcedId,classCode,classType,location,schoolSourcedId,termSourcedIds,subjects,subjectCodes,periods",
    ),
    (
        "users.csv",
        "sourcedId,status,dateLastModified,enabledUser,username,userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password,userMasterIdentifier,resourceSourcedIds,preferredGivenName,preferredMiddleName,preferredFamilyName,primaryOrgSourcedId,pronouns",
    ),
    (
        "roles.csv",
        "sourcedId,status,dateLastModified,userSourcedId,roleType,role,beginDate,endDate,orgSourcedId,userProfileSourcedId",
    ),
    (
        "enrollments.csv",
        "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary,beginDate,endDate",
    ),
    (
        "demographics.csv",
        "sourcedId,status,dateLastModified,birthDate,sex,americanIndianOrAlaskaNative,asian,blackOrAfricanAmerican,nativeHawaiianOrOtherPacificIslander,white,demographicRaceTwoOrMoreRaces,hispanicOrLatinoEthnicity,countryOfBirthCode,stateOfBirthAbbreviation,cityOfBirth,publicSchoolResidenceStatus",
    ),
];

/// The bundle's files by name, each as (header line, rows as column → value).
type Files = HashMap<String, (String, Vec<HashMap<String, String>>)>;

fn unzip(bytes: &[u8]) -> (Files, String) {
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let mut files = Files::new();
    let mut all = String::new();
    for i in 0..z.len() {
        let mut f = z.by_index(i).unwrap();
        let name = f.name().unwrap().into_owned();
        assert!(!name.contains('/'), "{name} at the archive's root");
        let mut text = String::new();
        f.read_to_string(&mut text).unwrap();
        assert!(!text.starts_with('\u{FEFF}'), "{name} has no BOM");
        all.push_str(&text);
        let header = text.lines().next().unwrap_or("").to_owned();
        let mut rd = csv::Reader::from_reader(text.as_bytes());
        let cols: Vec<String> = rd.headers().unwrap().iter().map(str::to_owned).collect();
        let rows = rd
            .records()
            .map(|r| {
                let r = r.unwrap();
                assert_eq!(r.len(), cols.len(), "{name}: every row has every column");
                cols.iter()
                    .cloned()
                    .zip(r.iter().map(str::to_owned))
                    .collect()
            })
            .collect();
        files.insert(name, (header, rows));
    }
    (files, all)
}

fn ids(files: &Files, file: &str) -> HashSet<String> {
    files[file]
        .1
        .iter()
        .map(|r| r["sourcedId"].clone())
        .collect()
}

#[tokio::test]
async fn the_oneroster_bundle_follows_the_binding_holds_together_and_never_holds_an_id_number() {
    let app = TestApp::start().await;
    let school = node(&app, "2133010001").await;
    import_sample(&app, school, 0..30, false).await;
    let s0 = sample::student(0);
    let admin = app.login("school_admin").await;
    let (st, b) = get(&admin, &app, &format!("/export/oneroster/{school}")).await;
    assert_eq!(st, StatusCode::OK);
    let (files, all) = unzip(&b);
    for (file, header) in HEADERS {
        assert_eq!(
            files.get(file).map(|f| f.0.as_str()),
            Some(header),
            "{file}"
        );
    }
    assert_eq!(files.len(), HEADERS.len(), "{:?}", files.keys());
    // The manifest names 1.2 and every file present as bulk, the rest absent.
    let manifest: HashMap<String, String> = files["manifest.csv"]
        .1
        .iter()
        .map(|r| (r["propertyName"].clone(), r["value"].clone()))
        .collect();
    assert_eq!(manifest[&format!("{}.version", "oneroster")], "1.2");
    assert_eq!(manifest[&format!("{}.version", "manifest")], "1.0");
    for (file, _) in &HEADERS[1..] {
        let key = format!("file.{}", file.trim_end_matches(".csv"));
        assert_eq!(
            manifest.get(&key).map(String::as_str),
            Some("bulk"),
            "{key}"
        );
    }
    assert_eq!(manifest["file.results"], "absent");

    // Referential integrity.
    let orgs = ids(&files, "orgs.csv");
    let users = ids(&files, "users.csv");
    let classes = ids(&files, "classes.csv");
    let courses = ids(&files, "courses.csv");
    let sessions = ids(&files, "academicSessions.csv");
    assert!(orgs.contains(&school.to_string()));
    for o in &files["orgs.csv"].1 {
        assert!(["state", "local", "district", "school"].contains(&o["type"].as_str()));
        assert!(o["parentSourcedId"].is_empty() || orgs.contains(&o["parentSourcedId"]));
        assert_eq!(o["status"], "active");
    }
    for c in &files["classes.csv"].1 {
        assert!(orgs.contains(&c["schoolSourcedId"]), "{c:?}");
        assert!(courses.contains(&c["courseSourcedId"]), "{c:?}");
        assert!(["homeroom", "scheduled"].contains(&c["classType"].as_str()));
        for t in c["termSourcedIds"].split(',') {
            assert!(sessions.contains(t), "{t}");
        }
    }
    for c in &files["courses.csv"].1 {
        assert!(orgs.contains(&c["orgSourcedId"]));
        assert!(sessions.contains(&c["schoolYearSourcedId"]));
    }
    for s in &files["academicSessions.csv"].1 {
        assert!(s["parentSourcedId"].is_empty() || sessions.contains(&s["parentSourcedId"]));
        assert!(["schoolYear", "term"].contains(&s["type"].as_str()));
    }
    let enrollments = &files["enrollments.csv"].1;
    assert!(!enrollments.is_empty());
    for e in enrollments {
        assert!(classes.contains(&e["classSourcedId"]), "{e:?}");
        assert!(users.contains(&e["userSourcedId"]), "{e:?}");
        assert!(orgs.contains(&e["schoolSourcedId"]), "{e:?}");
        assert!(["student", "teacher", "administrator", "proctor"].contains(&e["role"].as_str()));
    }
    let roles = &files["roles.csv"].1;
    for r in roles {
        assert!(
            users.contains(&r["userSourcedId"]) && orgs.contains(&r["orgSourcedId"]),
            "{r:?}"
        );
        assert!(
            [
                "student",
                "teacher",
                "guardian",
                "siteAdministrator",
                "districtAdministrator"
            ]
            .contains(&r["role"].as_str()),
            "{r:?}"
        );
    }
    for u in &files["users.csv"].1 {
        assert!(
            roles
                .iter()
                .any(|r| r["userSourcedId"] == u["sourcedId"] && r["roleType"] == "primary"),
            "{u:?}"
        );
        for a in u["agentSourcedIds"].split(',').filter(|a| !a.is_empty()) {
            assert!(users.contains(a), "agent {a}");
        }
        assert!(orgs.contains(&u["primaryOrgSourcedId"]), "{u:?}");
        assert!(
            u["phone"].is_empty() && u["sms"].is_empty() && u["email"].is_empty(),
            "{u:?}"
        );
    }
    assert_eq!(ids(&files, "demographics.csv"), users);

    // The imported student: enrolled in the homeroom and its subjects, a guardian as agent,
    // demographics from the record.
    let (sid,): (PersonId,) =
        on_db!(&app.state.db, p => sqlx::query_as("SELECT id FROM persons WHERE registry_no = $1")
        .bind(&s0.registry_no).fetch_one(p).await)
        .unwrap();
    let class = class_of(&app, &s0.registry_no).await;
    let u = files["users.csv"]
        .1
        .iter()
        .find(|u| u["sourcedId"] == sid.to_string())
        .unwrap();
    assert_eq!(format!("{}{}", u["familyName"], u["givenName"]), s0.name);
    assert_eq!(u["grades"], "01");
    assert_ne!(
        u["username"],
        s0.registry_no.to_lowercase(),
        "a login name with the ID number stays home"
    );
    let agent = u["agentSourcedIds"].split(',').next().unwrap().to_owned();
    let g = files["users.csv"]
        .1
        .iter()
        .find(|x| x["sourcedId"] == agent)
        .unwrap();
    assert_eq!(
        format!("{}{}", g["familyName"], g["givenName"]),
        s0.guardians[0].0
    );
    assert!(
        roles
            .iter()
            .any(|r| r["userSourcedId"] == agent && r["role"] == "guardian")
    );
    let mine: Vec<_> = enrollments
        .iter()
        .filter(|e| e["userSourcedId"] == sid.to_string())
        .collect();
    assert!(
        mine.iter()
            .any(|e| e["classSourcedId"] == class.to_string() && e["role"] == "student")
    );
    assert!(mine.len() >= 3, "homeroom, Chinese and maths: {mine:?}");
    let d = files["demographics.csv"]
        .1
        .iter()
        .find(|d| d["sourcedId"] == sid.to_string())
        .unwrap();
    assert_eq!(d["birthDate"], s0.birth.to_string());
    assert_eq!(d["sex"], if s0.male { "male" } else { "female" });
    let teacher_id = app.person_id("teacher").await.to_string();
    assert!(enrollments.iter().any(|e| e["userSourcedId"] == teacher_id
        && e["classSourcedId"] == class.to_string()
        && e["role"] == "teacher"
        && e["primary"] == "true"));

    // No ID number, registry number (which embeds it) or phone anywhere.
    let secrets: Vec<(Option<String>, Option<String>, Option<String>)> =
        on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT id_number, registry_no, phone FROM persons").fetch_all(p).await)
        .unwrap();
    let mut checked = 0;
    for (idn, reg, phone) in secrets {
        for s in [idn, reg, phone].into_iter().flatten() {
            assert!(
                !all.to_lowercase().contains(&s.to_lowercase()),
                "{s} in the bundle"
            );
            checked += 1;
        }
    }
    assert!(checked > 100);

    // In full: phones, still no ID numbers; audited as an export of personal data.
    let (st, b) = get(
        &admin,
        &app,
        &format!("/export/oneroster/{school}?unmasked=1"),
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    let (files, all) = unzip(&b);
    assert!(
        files["users.csv"]
            .1
            .iter()
            .any(|u| u["phone"] == s0.guardians[0].2)
    );
    assert!(!all.contains(&s0.id_number));
    assert_eq!(exported(&app, "oneroster").await, 1);
    assert_eq!(audit_count(&app, "export.personal_data").await, 1);

    // The city's bundle holds the district and school orgs under it.
    let city_admin = app.login("city_admin").await;
    let (city,): (NodeId,) =
        on_db!(&app.state.db, p => sqlx::query_as("SELECT id FROM org_nodes WHERE kind = 'city'")
        .fetch_one(p).await)
        .unwrap();
    let (st, b) = get(&city_admin, &app, &format!("/export/oneroster/{city}")).await;
    assert_eq!(st, StatusCode::OK);
    let (files, _) = unzip(&b);
    let types: HashSet<String> = files["orgs.csv"]
        .1
        .iter()
        .map(|o| o["type"].clone())
        .collect();
    assert!(
        types.contains("local") && types.contains("district") && types.contains("school"),
        "{types:?}"
    );
    let top: Vec<_> = files["orgs.csv"]
        .1
        .iter()
        .filter(|o| o["parentSourcedId"].is_empty())
        .collect();
    assert_eq!(top.len(), 1);
    assert_eq!(top[0]["sourcedId"], city.to_string());

    // Administrators of the node only.
    for who in ["teacher", "guardian", "student", "school2_admin"] {
        let c = app.login(who).await;
        let (st, _) = get(&c, &app, &format!("/export/oneroster/{school}")).await;
        assert!(
            matches!(st, StatusCode::NOT_FOUND | StatusCode::FORBIDDEN),
            "{who}: {st}"
        );
    }
    let (st, _) = get(&admin, &app, &format!("/export/oneroster/{class}")).await;
    assert_eq!(
        st,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a bundle is of a region or school"
    );

    assert_eq!(exported(&app, "oneroster").await, 2);
    app.stop().await;
}

#[tokio::test]
async fn guardians_see_their_own_children_only() {
    let app = TestApp::start().await;
    let guardian = app.login("guardian").await;
    let child = app.person_id("student").await;
    let (class,): (NodeId,) = on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT node_id FROM role_assignments WHERE person_id = $1 AND role = 'student'").bind(child).fetch_one(p).await).unwrap();
    let (classmate,): (PersonId,) = on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT person_id FROM role_assignments WHERE node_id = $1 AND role = 'student' AND person_id <> $2 LIMIT 1")
        .bind(class).bind(child).fetch_one(p).await).unwrap();
    let school = node(&app, "2133010001").await;
    // Their own child, in full when asked (audited).
    let (st, page) = get(&guardian, &app, &format!("/people/{child}?reveal=true")).await;
    assert_eq!(st, StatusCode::OK);
    let page = String::from_utf8(page).unwrap();
    let (idn,): (String,) =
        on_db!(&app.state.db, p => sqlx::query_as("SELECT id_number FROM persons WHERE id = $1")
        .bind(child).fetch_one(p).await)
        .unwrap();
    assert!(page.contains(&idn));
    assert_eq!(audit_count(&app, "person.view_personal_data").await, 1);
    // Nobody else's child, roster or list.
    for path in [
        format!("/people/{classmate}"),
        format!("/classes/{class}"),
        format!("/export/roster/{class}?format=xlsx"),
        format!("/export/students/{class}?format=xlsx"),
        format!("/export/students/{school}?format=csv"),
    ] {
        let (st, _) = get(&guardian, &app, &path).await;
        assert_eq!(st, StatusCode::NOT_FOUND, "{path}");
    }
    for path in [
        format!("/export/people?node={school}&format=xlsx"),
        format!("/export/staff/{school}?format=xlsx"),
        format!("/export/classes/{school}?format=xlsx"),
        format!("/export/oneroster/{school}"),
        "/export/audit?format=csv".to_owned(),
    ] {
        let (st, _) = get(&guardian, &app, &path).await;
        assert!(
            matches!(st, StatusCode::NOT_FOUND | StatusCode::FORBIDDEN),
            "{path}: {st}"
        );
    }
    // Lists mask for everyone: the roster page shows registry numbers masked even to an
    // administrator, who sees them in full only through an audited view or export.
    let admin = app.login("school_admin").await;
    let (_, page) = get(&admin, &app, &format!("/classes/{class}")).await;
    let page = String::from_utf8(page).unwrap();
    assert!(
        !page.contains(&idn) && page.contains(&kernel::privacy::mask_id_number(&format!("G{idn}")))
    );
    assert_eq!(
        audit_count(&app, "export.students").await,
        0,
        "refused exports leave no record"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_schools_registry_changes_export_like_its_page() {
    let app = TestApp::start().await;
    let school = node(&app, "2133010001").await;
    let student = app.person_id("student").await;
    let (registry_no,): (String,) =
        on_db!(&app.state.db, p => sqlx::query_as("SELECT registry_no FROM persons WHERE id = $1")
        .bind(student).fetch_one(p).await)
        .unwrap();
    let actor = Actor::system();
    let meta = RequestMeta::cli();
    let cx = Ctx::new(&app.state, &actor, &meta);
    directory::registry::record(
        &cx,
        student,
        directory::registry::NewChange {
            kind: "11".into(),
            reason: Some("10".into()),
            note: Some("病休".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let admin = app.login("school_admin").await;
    let (st, b) = get(
        &admin,
        &app,
        &format!("/export/registry/{school}?format=xlsx&unmasked=1"),
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    let r = rows(&b);
    assert_eq!(r[0][..3], ["生效日期", "姓名", "学籍号"]);
    assert_eq!(r.len(), 2);
    assert_eq!(r[1][2], registry_no);
    assert_eq!(r[1][4], "疾病");
    assert_eq!(r[1][7], "病休");
    let (st, b) = get(
        &admin,
        &app,
        &format!("/export/registry/{school}?format=gbk&headers=jyt"),
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    let text = gbk(&b);
    assert!(text.starts_with("YDRQ,XM,XJH"), "{text}");
    assert!(
        !text.contains(&registry_no)
            && text.contains(&kernel::privacy::mask_id_number(&registry_no))
    );
    for who in ["teacher", "guardian", "school2_admin"] {
        let c = app.login(who).await;
        let (st, _) = get(&c, &app, &format!("/export/registry/{school}?format=xlsx")).await;
        assert!(
            matches!(st, StatusCode::NOT_FOUND | StatusCode::FORBIDDEN),
            "{who}: {st}"
        );
    }
    assert_eq!(exported(&app, "registry_changes").await, 1);
    assert_eq!(audit_count(&app, "export.personal_data").await, 1);
    app.stop().await;
}

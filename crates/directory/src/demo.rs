//! The demo region: one city (杭州市) with two districts, schools of several types and stages,
//! grades, classes, teachers with subjects, students, guardians, and administrators at every
//! level. Loaded once, into an empty database, in one transaction.

use crate::model::{Node, NodeKind, Person, SchoolType, Stage};
use crate::{nodes, people};
use kernel::audit::{AuditEvent, Who};
use kernel::{AppResult, AppState, NodeId, PersonId, RequestMeta, Role, RoleId, Tx, on_db, on_tx};

/// Every demo account's password.
pub const DEMO_PASSWORD: &str = "Jiaoyun@2025";

/// The demo accounts a newcomer logs in with: (username, what they are).
pub const DEMO_ACCOUNTS: &[(&str, &str)] = &[
    ("city_admin", "杭州市教育局管理员 / city administrator"),
    (
        "district_admin",
        "上城区教育局管理员 / district administrator",
    ),
    (
        "school_admin",
        "上城区实验小学管理员 / school administrator",
    ),
    (
        "teacher",
        "一年级(1)班班主任、语文教师 / head teacher, Chinese",
    ),
    ("student", "一年级(1)班学生 / student"),
    ("guardian", "该学生的家长 / the student's guardian"),
];

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "林", "罗", "高",
];
const GIVEN: &[&str] = &[
    "子涵", "欣怡", "梓萱", "浩然", "宇轩", "一诺", "思远", "雨桐", "俊杰", "可馨", "博文", "佳琪",
    "明轩", "诗涵", "天佑", "若曦", "嘉怡", "晨阳", "梦瑶", "泽宇",
];

/// A deterministic Chinese name for the n-th person.
pub fn name(n: usize) -> String {
    format!(
        "{}{}",
        SURNAMES[n % SURNAMES.len()],
        GIVEN[(n / SURNAMES.len() + n) % GIVEN.len()]
    )
}

pub use standards::validate::resident_id as id_number;

pub async fn is_empty(db: &kernel::Db) -> AppResult<bool> {
    let (n,): (i64,) =
        on_db!(db, p => sqlx::query_as("SELECT COUNT(*) FROM org_nodes").fetch_one(p).await)?;
    Ok(n == 0)
}

struct Loader {
    tx: Tx,
    now: chrono::DateTime<chrono::Utc>,
    hash: String,
    people: usize,
}

impl Loader {
    #[allow(clippy::too_many_arguments)]
    async fn node(
        &mut self,
        parent: Option<&Node>,
        kind: NodeKind,
        name: &str,
        code: Option<&str>,
        school_type: Option<SchoolType>,
        stage: Option<Stage>,
        grade: Option<u8>,
        entry: Option<i64>,
    ) -> AppResult<Node> {
        let school_id = match (kind, parent) {
            (NodeKind::Grade, Some(p)) => Some(p.id),
            (NodeKind::Class, Some(p)) => p.school_id,
            _ => None,
        };
        let stages = match (school_type, stage) {
            (Some(t), _) => Some(
                t.stages()
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            (None, Some(s)) => Some(s.as_str().to_owned()),
            _ => None,
        };
        let n = Node {
            id: NodeId::new(),
            kind: kind.as_str().into(),
            parent_id: parent.map(|p| p.id),
            name: name.into(),
            code: code.map(str::to_owned),
            school_type: school_type.map(|t| t.as_str().into()),
            stages,
            grade_code: grade.map(|g| g.to_string()),
            entry_year: entry,
            school_id,
            active: true,
            created_at: self.now,
            updated_at: self.now,
        };
        nodes::insert(&mut self.tx, &n).await?;
        Ok(n)
    }

    async fn person(
        &mut self,
        org: NodeId,
        username: Option<&str>,
        staff_no: Option<String>,
        registry_no: Option<String>,
        male: bool,
        phone: bool,
    ) -> AppResult<Person> {
        self.people += 1;
        let n = self.people;
        let birth = chrono::NaiveDate::from_ymd_opt(
            if registry_no.is_some() { 2016 } else { 1985 },
            1 + (n % 12) as u32,
            1 + (n % 28) as u32,
        )
        .unwrap_or_default();
        let idn = id_number("330102", birth, n as u32, male);
        let p = Person {
            id: PersonId::new(),
            org_id: org,
            name: name(n),
            gender: if male { "1".into() } else { "2".into() },
            registry_no: registry_no.map(|_| format!("G{idn}")),
            id_number: Some(idn),
            phone: phone.then(|| format!("139{:08}", 10_000_000 + n)),
            email: None,
            staff_no,
            active: true,
            created_at: self.now,
            updated_at: self.now,
        };
        people::insert(&mut self.tx, &p).await?;
        on_tx!(&mut self.tx, c => sqlx::query("UPDATE persons SET birth_date = $2 WHERE id = $1")
            .bind(p.id).bind(birth).execute(&mut *c).await.map(|r| r.rows_affected()))?;
        let username = username.map(str::to_owned).unwrap_or_else(|| {
            p.staff_no
                .clone()
                .or(p.registry_no.clone())
                .unwrap_or_else(|| format!("p{n}"))
                .to_lowercase()
        });
        identity::accounts::create(&mut self.tx, p.id, &username, &self.hash, false, self.now)
            .await?;
        Ok(p)
    }

    async fn role(
        &mut self,
        person: PersonId,
        role: Role,
        node: NodeId,
        subject: Option<&str>,
        student: Option<PersonId>,
        relation: Option<&str>,
    ) -> AppResult<()> {
        on_tx!(&mut self.tx, c => sqlx::query(
            "INSERT INTO role_assignments (id, person_id, role, node_id, subject, student_id, relation, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        ).bind(RoleId::new()).bind(person).bind(role.as_str()).bind(node).bind(subject).bind(student).bind(relation).bind(self.now)
        .execute(c).await.map(|r| r.rows_affected()))?;
        Ok(())
    }
}

use crate::import::classes::grade_name;

/// Loads the demo region if the database is empty; returns whether it did.
pub async fn load(state: &AppState) -> AppResult<bool> {
    if !is_empty(&state.db).await? {
        return Ok(false);
    }
    let hash = identity::password::hash(state, DEMO_PASSWORD.into()).await?;
    let now = state.clock.now();
    let school_year = {
        use chrono::Datelike;
        let d = state.config.time_zone.date(now);
        if d.month() >= 9 {
            i64::from(d.year())
        } else {
            i64::from(d.year()) - 1
        }
    };
    let mut l = Loader {
        tx: state.db.begin().await?,
        now,
        hash,
        people: 0,
    };
    let province = l
        .node(
            None,
            NodeKind::Province,
            "浙江省",
            Some("330000"),
            None,
            None,
            None,
            None,
        )
        .await?;
    let city = l
        .node(
            Some(&province),
            NodeKind::City,
            "杭州市",
            Some("330100"),
            None,
            None,
            None,
            None,
        )
        .await?;
    let shangcheng = l
        .node(
            Some(&city),
            NodeKind::District,
            "上城区",
            Some("330102"),
            None,
            None,
            None,
            None,
        )
        .await?;
    let xihu = l
        .node(
            Some(&city),
            NodeKind::District,
            "西湖区",
            Some("330106"),
            None,
            None,
            None,
            None,
        )
        .await?;
    let schools = [
        (
            &shangcheng,
            "上城区实验小学",
            "2133010001",
            SchoolType::Primary,
        ),
        (
            &shangcheng,
            "上城区第一中学",
            "3133010002",
            SchoolType::Complete,
        ),
        (
            &xihu,
            "西湖区九年一贯制学校",
            "2133010003",
            SchoolType::NineYear,
        ),
        (
            &xihu,
            "西湖区实验幼儿园",
            "1133010004",
            SchoolType::Kindergarten,
        ),
        (
            &city,
            "杭州市职业技术学校",
            "3633010005",
            SchoolType::Vocational,
        ),
    ];

    let ca = l
        .person(
            city.id,
            Some("city_admin"),
            Some("JYJ001".into()),
            None,
            true,
            true,
        )
        .await?;
    l.role(ca.id, Role::Admin, city.id, None, None, None)
        .await?;
    let da = l
        .person(
            shangcheng.id,
            Some("district_admin"),
            Some("SCJ001".into()),
            None,
            false,
            true,
        )
        .await?;
    l.role(da.id, Role::Admin, shangcheng.id, None, None, None)
        .await?;
    let dx = l
        .person(
            xihu.id,
            Some("xihu_admin"),
            Some("XHJ001".into()),
            None,
            true,
            true,
        )
        .await?;
    l.role(dx.id, Role::Admin, xihu.id, None, None, None)
        .await?;

    let mut first_class = true;
    for (si, (district, name, code, school_type)) in schools.iter().enumerate() {
        let school = l
            .node(
                Some(district),
                NodeKind::School,
                name,
                Some(code),
                Some(*school_type),
                None,
                None,
                None,
            )
            .await?;
        let admin_username = if si == 0 {
            "school_admin".to_owned()
        } else {
            format!("school{}_admin", si + 1)
        };
        let sa = l
            .person(
                school.id,
                Some(&admin_username),
                Some(format!("S{si}A01")),
                None,
                si % 2 == 0,
                true,
            )
            .await?;
        l.role(sa.id, Role::Admin, school.id, None, None, None)
            .await?;
        let mut staff = 1;
        for stage in school_type.stages() {
            for year in [1u8, 2] {
                let grade = l
                    .node(
                        Some(&school),
                        NodeKind::Grade,
                        &grade_name(*stage, year),
                        None,
                        None,
                        Some(*stage),
                        Some(year),
                        None,
                    )
                    .await?;
                for class_no in 1..=2 {
                    let class = l
                        .node(
                            Some(&grade),
                            NodeKind::Class,
                            &format!("({class_no})班"),
                            None,
                            None,
                            None,
                            None,
                            Some(school_year - i64::from(year) + 1),
                        )
                        .await?;
                    // Head teacher teaching Chinese, and a maths teacher.
                    staff += 1;
                    let head_username = if first_class { Some("teacher") } else { None };
                    let head = l
                        .person(
                            school.id,
                            head_username,
                            Some(format!("S{si}T{staff:03}")),
                            None,
                            staff % 3 == 0,
                            true,
                        )
                        .await?;
                    l.role(head.id, Role::HeadTeacher, class.id, None, None, None)
                        .await?;
                    l.role(head.id, Role::Teacher, class.id, Some("13"), None, None)
                        .await?;
                    staff += 1;
                    let maths = l
                        .person(
                            school.id,
                            None,
                            Some(format!("S{si}T{staff:03}")),
                            None,
                            staff % 2 == 0,
                            true,
                        )
                        .await?;
                    l.role(maths.id, Role::Teacher, class.id, Some("14"), None, None)
                        .await?;
                    for k in 0..8 {
                        let student_username = if first_class && k == 0 {
                            Some("student")
                        } else {
                            None
                        };
                        let s = l
                            .person(
                                school.id,
                                student_username,
                                None,
                                Some(String::new()),
                                k % 2 == 0,
                                false,
                            )
                            .await?;
                        l.role(s.id, Role::Student, class.id, None, None, None)
                            .await?;
                        let guardian_username = if first_class && k == 0 {
                            Some("guardian")
                        } else {
                            None
                        };
                        let g = l
                            .person(school.id, guardian_username, None, None, k % 3 == 0, true)
                            .await?;
                        l.role(
                            g.id,
                            Role::Guardian,
                            school.id,
                            None,
                            Some(s.id),
                            Some(if k % 3 == 0 { "51" } else { "52" }),
                        )
                        .await?;
                        // The record a school's import would leave: the guardian as family,
                        // the class since the school year began.
                        let relation = if k % 3 == 0 { "51" } else { "52" };
                        let started = chrono::NaiveDate::from_ymd_opt(school_year as i32, 9, 1)
                            .unwrap_or_default();
                        on_tx!(&mut l.tx, c => sqlx::query(
                            "INSERT INTO family_members (student_id, person_id, relation, is_guardian, position)
                             VALUES ($1, $2, $3, TRUE, 1)",
                        ).bind(s.id).bind(g.id).bind(relation).execute(&mut *c).await.map(|r| r.rows_affected()))?;
                        on_tx!(&mut l.tx, c => sqlx::query(
                            "INSERT INTO class_history (id, person_id, class_id, school_id, school_year, grade_name, class_name, started_on, reason)
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'import')",
                        ).bind(uuid::Uuid::now_v7()).bind(s.id).bind(class.id).bind(school.id).bind(school_year)
                         .bind(&grade.name).bind(&class.name).bind(started)
                         .execute(&mut *c).await.map(|r| r.rows_affected()))?;
                    }
                    first_class = false;
                }
            }
        }
    }
    // The current school year's terms, set by the city.
    for (term, start, end) in [
        (
            1i64,
            (school_year as i32, 9, 1),
            (school_year as i32 + 1, 1, 31),
        ),
        (
            2,
            (school_year as i32 + 1, 2, 15),
            (school_year as i32 + 1, 7, 10),
        ),
    ] {
        let d = |(y, m, day): (i32, u32, u32)| {
            chrono::NaiveDate::from_ymd_opt(y, m, day).unwrap_or_default()
        };
        on_tx!(&mut l.tx, c => sqlx::query("INSERT INTO terms (id, region_id, school_year, term, starts_on, ends_on, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(kernel::TermId::new()).bind(city.id).bind(school_year).bind(term).bind(d(start)).bind(d(end)).bind(now)
            .execute(c).await.map(|r| r.rows_affected()))?;
    }
    // The demo city uses the MLPS profile but lets its administrators in without a second factor,
    // so every role can be tried at once; the built-in default asks administrators for one. Its
    // teachers, pupils and parents may stay signed in on their own devices for two weeks.
    let demo_policy = identity::policy::Policy {
        mfa_admins: false,
        remember_days: 14,
        ..identity::policy::Policy::preset(identity::policy::Profile::Mlps, &state.config)
    };
    identity::policy::save(&mut l.tx, city.id, &demo_policy, None, now).await?;
    let people_loaded = l.people;
    kernel::audit::record(
        &mut l.tx,
        now,
        Who {
            id: None,
            name: Some("system"),
        },
        &RequestMeta::cli(),
        AuditEvent::new("demo.load")
            .node(province.id)
            .detail(serde_json::json!({ "people": people_loaded })),
    )
    .await?;
    l.tx.commit().await?;
    Ok(true)
}

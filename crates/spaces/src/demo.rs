//! The demo's home-school life, loaded after the demo region: the head teacher's notices to
//! the class's guardians (one asking for confirmation and a reply), the maths teacher's
//! homework notice, the school's notice to its staff, a conversation between the head teacher
//! and the demo guardian, the guardian's leave request waiting for the head teacher, and
//! yesterday's attendance; the first school's spaces opened with posts in them (the other
//! schools' not, so the opening rates have something to show). Every demo role finds something
//! on the first screen.

use crate::notices::{Audience, NewNotice, Target};
use kernel::{Actor, AppResult, AppState, Ctx, RequestMeta, actor::Via, on_db};

async fn actor(state: &AppState, username: &str) -> AppResult<Option<Actor>> {
    match identity::accounts::find_by_username(&state.db, username).await? {
        Some(a) => Actor::load(&state.db, a.person_id, Via::Session).await,
        None => Ok(None),
    }
}

/// Loads the demo once (does nothing if there are notices already, or no demo region).
pub async fn load(state: &AppState) -> AppResult<()> {
    let (n,): (i64,) =
        on_db!(&state.db, p => sqlx::query_as("SELECT COUNT(*) FROM notices").fetch_one(p).await)?;
    if n > 0 {
        return Ok(());
    }
    let (Some(teacher), Some(guardian), Some(school_admin), Some(district_admin)) = (
        actor(state, "teacher").await?,
        actor(state, "guardian").await?,
        actor(state, "school_admin").await?,
        actor(state, "district_admin").await?,
    ) else {
        return Ok(());
    };
    let meta = RequestMeta::cli();
    let Some(class) = teacher
        .grants_of(kernel::Role::HeadTeacher)
        .map(|g| g.node_id)
        .next()
    else {
        return Ok(());
    };
    let school = school_admin.admin_nodes()[0];
    let district = district_admin.admin_nodes()[0];
    let t = Ctx::new(state, &teacher, &meta);
    let to = |node, audience| Target {
        node_id: node,
        audience,
    };
    crate::notices::send(
        &t,
        NewNotice {
            kind: "notice".into(),
            title: "关于举行秋季亲子运动会的通知".into(),
            body: "各位家长：\n本周五下午两点在学校操场举行秋季亲子运动会，请为孩子穿好运动服和运动鞋。\n欢迎家长参加亲子项目，请在回执中填写参加人数。".into(),
            needs_confirm: true,
            reply_prompt: Some("参加亲子项目的家长人数".into()),
            targets: vec![to(class, Audience::Guardians)],
        },
    )
    .await?;
    crate::notices::send(
        &t,
        NewNotice {
            kind: "homework".into(),
            title: "今日语文作业".into(),
            body: "1. 朗读课文《秋天》三遍，家长签字。\n2. 完成练习册第12页。\n预计用时20分钟。"
                .into(),
            needs_confirm: false,
            reply_prompt: None,
            targets: vec![
                to(class, Audience::Guardians),
                to(class, Audience::Students),
            ],
        },
    )
    .await?;
    let sa = Ctx::new(state, &school_admin, &meta);
    crate::notices::send(
        &sa,
        NewNotice {
            kind: "notice".into(),
            title: "关于提交本学期教学计划的通知".into(),
            body: "请各位老师于本周内在平台上提交本学期教学计划。".into(),
            needs_confirm: true,
            reply_prompt: None,
            targets: vec![to(school, Audience::Staff)],
        },
    )
    .await?;
    let da = Ctx::new(state, &district_admin, &meta);
    crate::notices::send(
        &da,
        NewNotice {
            kind: "notice".into(),
            title: "关于做好冬季校园传染病防控工作的通知".into(),
            body: "各校要落实晨午检制度，做好因病缺课追踪登记，发现聚集性病例及时报告。".into(),
            needs_confirm: true,
            reply_prompt: None,
            targets: vec![to(district, Audience::Staff)],
        },
    )
    .await?;
    crate::notices::deliver::deliver_queued(state).await?;

    // A conversation: the guardian asked, the head teacher answered.
    let g = Ctx::new(state, &guardian, &meta);
    let conv = crate::messages::start(&g, &[teacher.person_id], None).await?;
    crate::messages::post(
        &g,
        conv,
        "王老师您好，孩子这几天有点咳嗽，在学校请多留意，谢谢！",
        None,
    )
    .await?;
    crate::messages::post(
        &t,
        conv,
        "好的，我会留意孩子的情况，如有发烧会及时联系您。",
        None,
    )
    .await?;

    // The guardian's leave request for tomorrow, waiting for the head teacher.
    if let Some(child) = crate::scope::children(&g).await?.into_iter().next() {
        let tomorrow = g.today() + chrono::Duration::days(1);
        crate::leave::request(
            &g,
            crate::leave::NewLeave {
                student_id: child.student_id,
                starts_on: tomorrow,
                starts_half: "am".into(),
                ends_on: tomorrow,
                ends_half: "am".into(),
                reason: "illness".into(),
                symptoms: vec!["cough".into(), "fever".into()],
                note: "去医院复查".into(),
            },
        )
        .await?;
    }
    // The city's word list: one word refused, one held for review.
    if let Some(city_admin) = actor(state, "city_admin").await? {
        let ca = Ctx::new(state, &city_admin, &meta);
        let city = city_admin.admin_nodes()[0];
        crate::safety::add_words(&ca, city, "赌博", "block").await?;
        crate::safety::add_words(&ca, city, "约架，网贷", "hold").await?;
    }
    spaces(state, &t, &g, &sa, class).await?;
    activities(state, &t, &district_admin, class, district).await?;
    // The district's excellent-space selection, taking nominations: the head teacher's space
    // is nominated by the school.
    let d = Ctx::new(state, &district_admin, &meta);
    let year = directory::import::classes::school_year(d.today());
    let award = crate::awards::create(
        &d,
        &crate::awards::NewAward {
            node_id: district.to_string(),
            title: "上城区优秀网络学习空间评选".into(),
            school_year: year.to_string(),
            weights: crate::awards::DEFAULT_WEIGHTS
                .iter()
                .map(i64::to_string)
                .collect(),
            prizes: "10".into(),
            judges: "school_admin".into(),
        },
    )
    .await?;
    if let Some(ts) =
        crate::space::of_person(&state.db, teacher.person_id, crate::space::Kind::Teacher).await?
    {
        crate::awards::nominate(
            &sa,
            award,
            &ts.id.to_string(),
            "坚持写教学反思，栏目内容完整。",
        )
        .await?;
    }
    // Yesterday's attendance, one pupil late.
    let students = crate::scope::students(&state.db, class).await?;
    if let Some((late, _)) = students.get(3) {
        let yesterday = t.today() - chrono::Duration::days(1);
        crate::attendance::take(&t, class, yesterday, &[(*late, "late".to_owned())]).await?;
    }
    Ok(())
}

/// Two themed activities: the district's safety activity, where the demo student has posted a
/// work, and the demo class's parent–child reading activity, waiting for the guardian's.
async fn activities(
    state: &AppState,
    teacher: &Ctx<'_>,
    district_admin: &kernel::Actor,
    class: kernel::NodeId,
    district: kernel::NodeId,
) -> AppResult<()> {
    use crate::activities::{self, NewActivity, NewWork};
    let meta = RequestMeta::cli();
    let d = Ctx::new(state, district_admin, &meta);
    let today = teacher.today();
    let safety = activities::create(
        &d,
        &NewActivity {
            node_id: district.to_string(),
            title: "交通安全小卫士手抄报征集".into(),
            theme: "safety".into(),
            description: "围绕“上学路上的交通安全”制作一份手抄报，写清楚一条你最想提醒同学的安全知识。\n评选办法：内容 50 分，创意 30 分，书写 20 分。".into(),
            starts_on: (today - chrono::Duration::days(7)).to_string(),
            ends_on: (today + chrono::Duration::days(21)).to_string(),
            participants: "students".into(),
        },
    )
    .await?;
    if let Some(student) = actor(state, "student").await? {
        let s = Ctx::new(state, &student, &meta);
        activities::submit(
            &s,
            safety,
            &NewWork {
                title: "过马路要走斑马线".into(),
                body: "红灯停，绿灯行，黄灯亮了等一等。\n过马路前先左右看，不在马路上追跑打闹。"
                    .into(),
                ..Default::default()
            },
        )
        .await?;
    }
    activities::create(
        teacher,
        &NewActivity {
            node_id: class.to_string(),
            title: "亲子共读一本书".into(),
            theme: "family".into(),
            description:
                "和孩子一起读一本喜欢的书，写几句读后感，也可以把朗读视频上传到资源库后附上地址。"
                    .into(),
            starts_on: today.to_string(),
            ends_on: (today + chrono::Duration::days(30)).to_string(),
            participants: "families".into(),
        },
    )
    .await?;
    Ok(())
}

/// The demo school's spaces, opened by its administrator, with a few posts and a comment.
async fn spaces(
    state: &AppState,
    teacher: &Ctx<'_>,
    guardian: &Ctx<'_>,
    admin: &Ctx<'_>,
    class: kernel::NodeId,
) -> AppResult<()> {
    use crate::space::{self, Kind, posts};
    let school = admin.actor.admin_nodes()[0];
    space::open::open_all(admin, school, &[Kind::Teacher, Kind::Student]).await?;
    let post = |title: &str, body: &str| posts::NewPost {
        title: title.into(),
        body: body.into(),
        visibility: None,
        category: None,
        occurred_on: None,
    };
    let column = |s: &space::Space, key: &'static str| {
        let s = s.clone();
        async move {
            let cols: Vec<space::Column> = on_db!(&state.db, p => sqlx::query_as(
                "SELECT id, space_id, key, title, content, visibility, position FROM space_columns WHERE space_id = $1 AND key = $2",
            ).bind(s.id).bind(key).fetch_all(p).await)?;
            AppResult::Ok(cols.into_iter().next())
        }
    };
    if let Some(ts) = space::of_person(&state.db, teacher.actor.person_id, Kind::Teacher).await? {
        if let Some(c) = column(&ts, "reflections").await? {
            posts::create(teacher, &ts, &c, post("《秋天》教学反思", "本课通过图片和朗读引导学生感受秋天的美。\n不足：小组朗读时间偏短，下次留出更多时间让学生互评。")).await?;
        }
        if let Some(c) = column(&ts, "archive").await? {
            let mut entry = post(
                "信息技术应用能力提升工程 2.0 校本研修",
                "完成校本研修 30 学时。",
            );
            entry.category = Some("training".into());
            entry.occurred_on = Some(teacher.today() - chrono::Duration::days(30));
            posts::create(teacher, &ts, &c, entry).await?;
        }
    }
    if let Some(cs) = space::of_node(&state.db, class).await? {
        if let Some(c) = column(&cs, "community").await? {
            let id = posts::create(
                teacher,
                &cs,
                &c,
                post(
                    "秋游照片分享",
                    "今天的秋游孩子们玩得很开心，大家可以在评论里分享孩子的感受。",
                ),
            )
            .await?;
            posts::comment(guardian, id, "孩子回家说特别开心，谢谢老师！").await?;
        }
        if let Some(c) = column(&cs, "duty_roster").await? {
            posts::create(
                teacher,
                &cs,
                &c,
                post(
                    "本周值日安排",
                    "周一：第一组\n周二：第二组\n周三：第三组\n周四：第四组\n周五：全班大扫除",
                ),
            )
            .await?;
        }
    }
    Ok(())
}

//! The module's pages over HTTP with the home-school demo: the guardian's first screen has the
//! class notice to confirm; confirming, replying, asking leave and writing to the teacher go
//! through the forms; the head teacher's read list and leave list follow; every page renders
//! for every role that has it, and not for those who have not; the inbox API.

use crate::helpers::TestApp;
use kernel::on_db;
use reqwest::{Client, StatusCode};

async fn page(app: &TestApp, c: &Client, path: &str) -> (StatusCode, String) {
    let r = c.get(app.url(path)).send().await.unwrap();
    let s = r.status();
    (s, r.text().await.unwrap())
}

/// Waits until the notice at `path` (`/notices/{id}`) is delivered: delivers what is queued,
/// then waits for a delivery the runner may have claimed first.
async fn sent(app: &TestApp, path: &str) {
    let id: kernel::NoticeId = path.rsplit('/').next().unwrap().parse().unwrap();
    for _ in 0..200 {
        spaces::notices::deliver::deliver_queued(&app.state)
            .await
            .unwrap();
        let (state,): (String,) = on_db!(&app.state.db, p => sqlx::query_as(
            "SELECT state FROM notices WHERE id = $1",
        ).bind(id).fetch_one(p).await)
        .unwrap();
        if state == "sent" {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("notice {id} was not delivered in 10 s");
}

async fn post(
    app: &TestApp,
    c: &Client,
    path: &str,
    form: &[(&str, &str)],
) -> (StatusCode, String) {
    let csrf = app.csrf(c).await;
    let mut fields: Vec<(&str, &str)> = form.to_vec();
    fields.push(("csrf", csrf.as_str()));
    let r = c.post(app.url(path)).form(&fields).send().await.unwrap();
    let status = r.status();
    let location = r
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = r.text().await.unwrap();
    (
        status,
        if status == StatusCode::SEE_OTHER {
            location
        } else {
            body
        },
    )
}

async fn notice_id(app: &TestApp, title: &str) -> String {
    let (id,): (kernel::NoticeId,) = on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT id FROM notices WHERE title = $1",
    ).bind(title).fetch_one(p).await)
    .unwrap();
    id.to_string()
}

const SPORTS_DAY: &str = "关于举行秋季亲子运动会的通知";

#[tokio::test]
async fn the_guardian_confirms_the_class_notice_and_the_head_teacher_sees_it() {
    let app = TestApp::start().await;
    let g = app.login("guardian").await;
    let (s, home) = page(&app, &g, "/").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        home.contains("today-panel"),
        "the home-school panel is on the first screen"
    );
    assert!(home.contains(SPORTS_DAY));
    assert!(home.contains("待确认"));
    assert!(
        home.contains("/leave/new"),
        "the guardian can ask leave from the first screen"
    );
    let id = notice_id(&app, SPORTS_DAY).await;
    let (s, text) = page(&app, &g, &format!("/notices/{id}")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        text.contains("参加亲子项目的家长人数"),
        "the reply question is asked"
    );
    assert!(
        !text.contains("read-list"),
        "a guardian never sees the read list"
    );
    let (s, to) = post(&app, &g, &format!("/notices/{id}/confirm"), &[]).await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{to}");
    let (s, to) = post(&app, &g, &format!("/notices/{id}/reply"), &[("reply", "2")]).await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{to}");
    let (_, text) = page(&app, &g, &format!("/notices/{id}")).await;
    assert!(text.contains("您已确认"));

    let t = app.login("teacher").await;
    let (_, text) = page(&app, &t, &format!("/notices/{id}")).await;
    assert!(text.contains("read-list"));
    assert!(
        text.contains("已读 1 / 8"),
        "the read list counts the guardian"
    );
    assert!(text.contains("一键提醒未读的 7 人"));
    let (s, to) = post(&app, &t, &format!("/notices/{id}/remind"), &[]).await;
    assert_eq!(
        (s, to.contains("done=notice_reminded")),
        (StatusCode::SEE_OTHER, true)
    );
    // The student of the class is not a recipient of a guardians' notice.
    let st = app.login("student").await;
    let (s, _) = page(&app, &st, &format!("/notices/{id}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn leave_goes_through_the_forms_and_a_message_sent_twice_is_kept_once() {
    let app = TestApp::start().await;
    let g = app.login("guardian").await;
    let (s, form) = page(&app, &g, "/leave/new").await;
    assert_eq!(s, StatusCode::OK);
    let child = form
        .split("name=\"student_id\"")
        .nth(1)
        .and_then(|r| r.split("value=\"").nth(1))
        .and_then(|r| r.split('"').next())
        .unwrap()
        .to_owned();
    let day = (chrono::Utc::now() + chrono::Duration::days(5))
        .date_naive()
        .to_string();
    // Illness without a symptom: the form comes back with the field's message and the input.
    let (s, text) = post(
        &app,
        &g,
        "/leave/new",
        &[
            ("student_id", &child),
            ("starts_on", &day),
            ("starts_half", "am"),
            ("ends_on", &day),
            ("ends_half", "pm"),
            ("reason", "illness"),
            ("note", "复查"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(text.contains("病假请勾选至少一个症状"));
    assert!(text.contains("复查"), "the input is kept");
    let (s, to) = post(
        &app,
        &g,
        "/leave/new",
        &[
            ("student_id", &child),
            ("starts_on", &day),
            ("starts_half", "am"),
            ("ends_on", &day),
            ("ends_half", "pm"),
            ("reason", "illness"),
            ("symptom", "fever"),
            ("note", "复查"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{to}");
    let leave = to
        .trim_start_matches("/leave/")
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    let t = app.login("teacher").await;
    let (_, list) = page(&app, &t, "/leave").await;
    assert!(list.contains(&leave));
    let (s, _) = post(
        &app,
        &t,
        &format!("/leave/{leave}/decide"),
        &[("decision", "approve")],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, text) = page(&app, &g, &format!("/leave/{leave}")).await;
    assert!(text.contains("已批准"));

    // The demo conversation: the guardian writes twice with one client key (an offline retry).
    let (conv,): (kernel::ConversationId,) = on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT id FROM conversations LIMIT 1",
    ).fetch_one(p).await)
    .unwrap();
    for _ in 0..2 {
        let (s, _) = post(
            &app,
            &g,
            &format!("/messages/{conv}"),
            &[("body", "谢谢老师"), ("client_key", "offline-1")],
        )
        .await;
        assert_eq!(s, StatusCode::SEE_OTHER);
    }
    let (n,): (i64,) = on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT COUNT(*) FROM messages WHERE body = '谢谢老师'",
    ).fetch_one(p).await)
    .unwrap();
    assert_eq!(n, 1);
}

#[tokio::test]
async fn every_page_renders_for_its_roles_and_the_api_gives_the_inbox() {
    let app = TestApp::start().await;
    let class = {
        let (id,): (kernel::NodeId,) = on_db!(&app.state.db, p => sqlx::query_as(
            "SELECT r.node_id FROM role_assignments r JOIN accounts a ON a.person_id = r.person_id
             WHERE a.username = 'teacher' AND r.role = 'head_teacher'",
        ).fetch_one(p).await)
        .unwrap();
        id
    };
    let school = testkit::node_by_code(&app, "2133010001").await;
    let pages: &[(&str, &[&str])] = &[
        (
            "guardian",
            &[
                "/",
                "/notices",
                "/leave",
                "/leave/new",
                "/messages",
                "/messages/new",
                "/notifications",
            ],
        ),
        (
            "student",
            &["/notices", "/messages", "/messages/new", "/notifications"],
        ),
        (
            "teacher",
            &[
                "/",
                "/notices",
                "/notices/new",
                "/leave",
                "/attendance",
                "/messages",
                "/messages/new",
            ],
        ),
        (
            "school_admin",
            &["/notices/new", "/attendance", "/messages/reported"],
        ),
    ];
    for (user, paths) in pages {
        let c = app.login(user).await;
        for path in *paths {
            let (s, _) = page(&app, &c, path).await;
            assert_eq!(s, StatusCode::OK, "{user} {path}");
        }
    }
    let t = app.login("teacher").await;
    let (s, sheet) = page(&app, &t, &format!("/attendance/{class}")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(sheet.contains("attendance-form"));
    let admin = app.login("school_admin").await;
    let (s, _) = page(&app, &admin, &format!("/attendance/stats/{school}")).await;
    assert_eq!(s, StatusCode::OK);
    let (s, bind) = page(&app, &t, &format!("/bind/class/{class}")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(bind.contains("<svg"), "the class's QR code");
    let (s, rates) = page(&app, &admin, &format!("/spaces/rates/{school}")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        rates.contains("100%"),
        "the demo school's teachers are all open"
    );
    // Not for those who have not.
    let g = app.login("guardian").await;
    for path in [
        "/notices/new".to_owned(),
        format!("/attendance/{class}"),
        format!("/attendance/stats/{school}"),
        "/messages/reported".to_owned(),
    ] {
        let (s, _) = page(&app, &g, &path).await;
        assert!(
            s == StatusCode::FORBIDDEN || s == StatusCode::NOT_FOUND,
            "guardian {path}: {s}"
        );
    }
    // The inbox API for the mobile app.
    let token = app.token("guardian").await;
    let r = Client::new()
        .get(app.url("/api/v1/notices"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["unread"], 2, "the class notice and the homework");
    assert_eq!(v["received"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn a_teacher_writes_in_their_space_and_a_guardian_comments_in_the_class_community() {
    let app = TestApp::start().await;
    let t = app.login("teacher").await;
    let (_, mine) = page(&app, &t, "/spaces").await;
    // The first link to a space itself (the page also links activities and selections).
    let space = mine
        .split("href=\"/spaces/")
        .skip(1)
        .filter_map(|r| r.split('"').next())
        .find(|id| id.parse::<uuid::Uuid>().is_ok())
        .unwrap()
        .to_owned();
    let (s, home) = page(&app, &t, &format!("/spaces/{space}")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(home.contains("《秋天》教学反思"), "the demo reflection");
    assert!(home.contains("教师发展档案"));
    let (column,): (kernel::ColumnId,) = on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT c.id FROM space_columns c JOIN spaces s ON s.id = c.space_id JOIN accounts a ON a.person_id = s.person_id
         WHERE a.username = 'teacher' AND c.key = 'reflections'",
    ).fetch_one(p).await)
    .unwrap();
    let path = format!("/spaces/{space}/columns/{column}");
    let (s, text) = post(
        &app,
        &t,
        &path,
        &[("title", ""), ("body", "x"), ("visibility", "school")],
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        text.contains("请填写标题"),
        "the form comes back with the message"
    );
    let (s, to) = post(
        &app,
        &t,
        &path,
        &[
            ("title", "口语交际课后记"),
            ("body", "学生很投入。"),
            ("visibility", "school"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{to}");
    let (_, list) = page(&app, &t, &path).await;
    assert!(list.contains("口语交际课后记"));

    // The guardian comments on the class community's post.
    let (post_id,): (kernel::PostId,) = on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT id FROM space_posts WHERE title = '秋游照片分享'",
    ).fetch_one(p).await)
    .unwrap();
    let g = app.login("guardian").await;
    let (s, _) = post(
        &app,
        &g,
        &format!("/spaces/posts/{post_id}/comments"),
        &[("body", "照片拍得真好")],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, text) = page(&app, &g, &format!("/spaces/posts/{post_id}")).await;
    assert!(text.contains("照片拍得真好"));
    // The guardian opens their own space from the spaces page.
    let (_, mine) = page(&app, &g, "/spaces").await;
    assert!(mine.contains("open-mine"));
    let (s, _) = post(&app, &g, "/spaces/open", &[]).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, mine) = page(&app, &g, "/spaces").await;
    assert!(!mine.contains("open-mine"));
}

#[tokio::test]
async fn a_guardian_sets_quiet_hours_an_account_and_what_goes_where() {
    let app = TestApp::start_with(|c| {
        c.notify.wecom = Some(kernel::config::WeComConfig {
            corp_id: "wwcorp".into(),
            secret: kernel::secret::Secret::new("s"),
            agent_id: 1,
            api: "http://127.0.0.1:9".into(),
        });
        c.notify.web_push = Some(kernel::config::WebPushConfig {
            public_key: "BPushPublicKey".into(),
            private_key: kernel::secret::Secret::new("p"),
            subject: "mailto:ops@jy.example.cn".into(),
        });
    })
    .await;
    let g = app.login("guardian").await;
    let (s, text) = page(&app, &g, "/notifications/settings").await;
    assert_eq!(s, StatusCode::OK);
    assert!(text.contains("企业微信"));
    // This browser subscribes itself with the platform's key; nobody types a subscription.
    assert!(text.contains(r#"id="push-subscribe" data-key="BPushPublicKey""#));
    assert!(!text.contains(r#"<option value="web_push">"#));
    let (s, text) = post(
        &app,
        &g,
        "/notifications/settings/quiet",
        &[("starts", "21:00"), ("ends", "21:00")],
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(text.contains("开始和结束不能相同"));
    let (s, _) = post(
        &app,
        &g,
        "/notifications/settings/quiet",
        &[("starts", "21:00"), ("ends", "07:00")],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (s, text) = post(
        &app,
        &g,
        "/notifications/settings/address",
        &[("channel", "wecom"), ("address", "zhang san")],
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(text.contains("账号格式不正确"));
    let (s, text) = post(
        &app,
        &g,
        "/notifications/settings/address",
        &[("channel", "dingtalk"), ("address", "zhangsan")],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "DingTalk is not connected here");
    assert!(text.contains("请选择已接入的渠道"));
    let (s, _) = post(
        &app,
        &g,
        "/notifications/settings/address",
        &[("channel", "wecom"), ("address", "ZhangSan")],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let subscription = r#"{"endpoint":"https://fcm.googleapis.com/fcm/send/dpH5lCsTSSM","keys":{"p256dh":"BCVxsr7N_eNgVRqvHtD0zTZsEc6","auth":"BTBZMqHH6r4Tts7J_aSIgg"}}"#;
    let (s, _) = post(
        &app,
        &g,
        "/notifications/settings/address",
        &[("channel", "web_push"), ("address", subscription)],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, text) = page(&app, &g, "/notifications/settings").await;
    assert!(
        text.contains("浏览器推送: <span translate=\"no\">fcm.googleapis.com</span>"),
        "shown by its push service"
    );
    // Messages stay on WeCom, notices and the rest go off.
    let (s, _) = post(
        &app,
        &g,
        "/notifications/settings/preferences",
        &[("on", "message:wecom")],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let person = app.person_id("guardian").await;
    let settings = kernel::outbox::settings(&app.state.db, person)
        .await
        .unwrap();
    assert_eq!(
        settings.addresses,
        [
            ("web_push".to_owned(), subscription.to_owned()),
            ("wecom".to_owned(), "ZhangSan".to_owned())
        ]
    );
    let mut off: Vec<String> = settings
        .off
        .iter()
        .filter(|(_, c)| c == "wecom")
        .map(|(k, _)| k.clone())
        .collect();
    off.sort();
    assert_eq!(
        off,
        ["activity", "attendance", "comment", "leave", "notice"]
    );
    assert_eq!(
        settings.quiet,
        Some(("21:00".to_owned(), "07:00".to_owned()))
    );
}

#[tokio::test]
async fn a_guardian_posts_a_work_to_the_class_activity_and_the_head_teacher_judges_it() {
    let app = TestApp::start().await;
    let g = app.login("guardian").await;
    // The first screen points at the class's reading activity, waiting for the family's work.
    let (_, home) = page(&app, &g, "/").await;
    assert!(home.contains(r#"id="activities-to-do""#), "{home}");
    assert!(home.contains("亲子共读一本书"));
    let (id,): (uuid::Uuid,) = on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT id FROM theme_activities WHERE title = '亲子共读一本书'",
    ).fetch_one(p).await)
    .unwrap();
    let path = format!("/spaces/activities/{id}");
    let (s, text) = page(&app, &g, &path).await;
    assert_eq!(s, StatusCode::OK);
    assert!(text.contains(r#"id="submit""#));
    // An empty title is named on the form; then the work goes in.
    let (s, text) = post(
        &app,
        &g,
        &format!("{path}/works"),
        &[("title", ""), ("body", "我们读了《小王子》。")],
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(text.contains("请填写名称"), "{text}");
    let (s, to) = post(
        &app,
        &g,
        &format!("{path}/works"),
        &[
            ("title", "《小王子》读后感"),
            ("body", "我们读了《小王子》。"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(to.contains("done=work_posted"));
    let (_, home) = page(&app, &g, "/").await;
    assert!(!home.contains("亲子共读一本书"), "nothing left to post");
    // The head teacher features it and gives it a prize; the guardian cannot.
    let (wid,): (uuid::Uuid,) = on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT id FROM theme_activity_works WHERE activity_id = $1",
    ).bind(id).fetch_one(p).await)
    .unwrap();
    let judge = format!("/spaces/activities/works/{wid}/judge");
    let form = [
        ("activity", id.to_string()),
        ("featured", "1".into()),
        ("award", "second".into()),
        ("score", "88".into()),
    ];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (s, _) = post(&app, &g, &judge, &form).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let t = app.login("teacher").await;
    let (s, _) = post(&app, &t, &judge, &form).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, text) = page(&app, &t, &path).await;
    assert!(text.contains("二等奖") && text.contains(r#"id="publish""#));
    // Another school's administrator cannot open it.
    let other = app.login("school2_admin").await;
    let (s, _) = page(&app, &other, &path).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_teacher_adds_a_photo_to_a_class_post_and_it_is_served_without_its_gps() {
    let app = TestApp::start().await;
    let t = app.login("teacher").await;
    let (post,): (uuid::Uuid,) = on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT id FROM space_posts WHERE title = '秋游照片分享'",
    ).fetch_one(p).await)
    .unwrap();
    let path = format!("/spaces/posts/{post}");
    let (_, text) = page(&app, &t, &path).await;
    assert!(text.contains(r#"id="add-photos""#));
    let csrf = app.csrf(&t).await;
    let jpeg = include_bytes!("../fixtures/gps.jpg").to_vec();
    let form = reqwest::multipart::Form::new()
        .text("csrf", csrf.clone())
        .part(
            "photo",
            reqwest::multipart::Part::bytes(jpeg)
                .file_name("IMG_0001.jpg")
                .mime_str("image/jpeg")
                .unwrap(),
        );
    let r = t
        .post(app.url(&format!("{path}/photos")))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    // Not a photo: named on the form.
    let form = reqwest::multipart::Form::new().text("csrf", csrf).part(
        "photo",
        reqwest::multipart::Part::bytes(b"%PDF-1.7".to_vec()).file_name("a.pdf"),
    );
    let r = t
        .post(app.url(&format!("{path}/photos")))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("只能上传 JPG 或 PNG 照片"));
    let (_, text) = page(&app, &t, &path).await;
    let src = text
        .split("src=\"/spaces/photos/")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap()
        .to_owned();
    // The guardian of the class sees it; another school's administrator cannot fetch it.
    let g = app.login("guardian").await;
    let r = g
        .get(app.url(&format!("/spaces/photos/{src}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "image/jpeg");
    let body = r.bytes().await.unwrap();
    assert!(
        !body.windows(4).any(|w| w == b"Exif"),
        "stored without its EXIF"
    );
    let other = app.login("school2_admin").await;
    let r = other
        .get(app.url(&format!("/spaces/photos/{src}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_notice_and_a_message_carry_attachments_that_only_their_readers_download() {
    let app = TestApp::start().await;
    let (class,): (kernel::NodeId,) = on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT r.node_id FROM role_assignments r JOIN accounts a ON a.person_id = r.person_id
         WHERE a.username = 'teacher' AND r.role = 'head_teacher'",
    ).fetch_one(p).await)
    .unwrap();
    let t = app.login("teacher").await;
    let form = |csrf: String, file: (&str, Vec<u8>)| {
        reqwest::multipart::Form::new()
            .text("csrf", csrf)
            .text("kind", "notice")
            .text("title", "期末考试安排")
            .text("body", "请家长查看附件中的考试时间表。")
            .text("target", format!("{class}:guardians"))
            .part(
                "attachments",
                reqwest::multipart::Part::bytes(file.1).file_name(file.0.to_owned()),
            )
            .part(
                "attachments",
                reqwest::multipart::Part::bytes(include_bytes!("../fixtures/gps.jpg").to_vec())
                    .file_name("考场.jpg"),
            )
    };
    // A program is refused and named; nothing is sent.
    let csrf = app.csrf(&t).await;
    let r = t
        .post(app.url("/notices/new"))
        .multipart(form(csrf.clone(), ("setup.exe", b"MZ\x90\x00".to_vec())))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let text = r.text().await.unwrap();
    assert!(
        text.contains("只能上传 PDF") && text.contains("setup.exe"),
        "{text}"
    );
    let (none,): (i64,) = on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT COUNT(*) FROM notices WHERE title = '期末考试安排'",
    ).fetch_one(p).await)
    .unwrap();
    assert_eq!(none, 0);
    let pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n".to_vec();
    let r = t
        .post(app.url("/notices/new"))
        .multipart(form(csrf, ("考试时间表.pdf", pdf.clone())))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let notice = r.headers()["location"]
        .to_str()
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    // Delivered (by this call or by the runner, which may hold it mid-delivery), the
    // guardian sees both and downloads them; the photo without its GPS.
    sent(&app, &notice).await;
    let g = app.login("guardian").await;
    let (_, text) = page(&app, &g, &notice).await;
    assert!(text.contains("考试时间表.pdf") && text.contains("考场.jpg"));
    let links: Vec<String> = text
        .split("href=\"/attachments/")
        .skip(1)
        .filter_map(|r| r.split('"').next())
        .map(str::to_owned)
        .collect();
    assert_eq!(links.len(), 2);
    let r = g
        .get(app.url(&format!("/attachments/{}", links[0])))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("attachment")
    );
    assert_eq!(r.bytes().await.unwrap().to_vec(), pdf);
    let r = g
        .get(app.url(&format!("/attachments/{}", links[1])))
        .send()
        .await
        .unwrap();
    let photo = r.bytes().await.unwrap();
    assert!(photo.starts_with(&[0xFF, 0xD8]) && !photo.windows(4).any(|w| w == b"Exif"));
    // Another school's administrator cannot.
    let other = app.login("school2_admin").await;
    let r = other
        .get(app.url(&format!("/attachments/{}", links[0])))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    // A message of a file alone, from the guardian to the head teacher.
    let (conversation,): (uuid::Uuid,) = on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT c.id FROM conversations c JOIN conversation_members m ON m.conversation_id = c.id
         JOIN accounts a ON a.person_id = m.person_id WHERE a.username = 'guardian' LIMIT 1",
    ).fetch_one(p).await)
    .unwrap();
    let form = reqwest::multipart::Form::new()
        .text("csrf", app.csrf(&g).await)
        .text("body", "")
        .part(
            "attachments",
            reqwest::multipart::Part::bytes(b"fever 38.5".to_vec()).file_name("体温记录.txt"),
        );
    let r = g
        .post(app.url(&format!("/messages/{conversation}")))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, text) = page(&app, &t, &format!("/messages/{conversation}")).await;
    assert!(text.contains("体温记录.txt"), "the head teacher sees it");
}

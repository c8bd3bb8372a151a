//! A class notice reaches each guardian once on each channel they are reached on; expired
//! tokens are fetched again; a rate-limit error and quiet hours make a row wait, never lose it;
//! a dead channel holds up no other; an interrupted send is sent again and counted; a person
//! who turned a kind off on a channel gets nothing there.

use channels::fake::{self as fakes, Fake};
use kernel::config::{DingTalkConfig, WeComConfig};
use kernel::testing::{TestDb, test_db};
use kernel::{Actor, AppState, Clock, Ctx, PersonId, RequestMeta, actor::Via, on_db};
use spaces::notices::{Audience, NewNotice, Target};

struct World {
    state: AppState,
    wecom: Fake,
    dingtalk: Fake,
    adapters: channels::Adapters,
    guardians: Vec<PersonId>,
    _db: TestDb,
}

/// The demo region at 10:00 in Beijing, WeCom and DingTalk pointing at fakes (or WeCom at a
/// closed port), and the demo class's eight guardians on WeCom, the first four on DingTalk too.
async fn world(dead_wecom: bool) -> World {
    let db = test_db(&[&spaces::SCHEMA]).await.unwrap();
    let (wecom, dingtalk) = (Fake::default(), Fake::default());
    let wecom_url = if dead_wecom {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let a = l.local_addr().unwrap();
        drop(l);
        format!("http://{a}")
    } else {
        fakes::serve(fakes::wecom(wecom.clone())).await
    };
    let dingtalk_url = fakes::serve(fakes::dingtalk(dingtalk.clone())).await;
    let mut config = testkit::config(&db.url);
    config.public_url = Some("https://jy.example.cn".into());
    config.notify.wecom = Some(WeComConfig {
        corp_id: "wwcorp".into(),
        secret: kernel::secret::Secret::new("wecom-secret"),
        agent_id: 1000002,
        api: wecom_url,
    });
    config.notify.dingtalk = Some(DingTalkConfig {
        app_key: "dingkey".into(),
        app_secret: kernel::secret::Secret::new("ding-secret"),
        agent_id: 2000003,
        api: dingtalk_url,
    });
    config.notify.rate_per_second = 1000;
    let ten = chrono::DateTime::parse_from_rfc3339("2026-11-20T10:00:00+08:00")
        .unwrap()
        .to_utc();
    let state = AppState::new(db.db.clone(), config, Clock::fixed(ten));
    assert!(directory::demo::load(&state).await.unwrap());
    let teacher = actor(&state, "teacher").await;
    let class = teacher
        .grants_of(kernel::Role::HeadTeacher)
        .next()
        .unwrap()
        .node_id;
    let mut guardians = Vec::new();
    for (s, _) in spaces::scope::students(&state.db, class).await.unwrap() {
        guardians.extend(spaces::scope::guardians(&state.db, s).await.unwrap());
    }
    assert_eq!(guardians.len(), 8);
    let meta = RequestMeta::cli();
    for (i, g) in guardians.iter().enumerate() {
        let a = Actor::load(&state.db, *g, Via::Session)
            .await
            .unwrap()
            .unwrap();
        let cx = Ctx::new(&state, &a, &meta);
        kernel::outbox::add_address(&cx, kernel::outbox::Channel::Wecom, &format!("g{i}"))
            .await
            .unwrap();
        if i < 4 {
            kernel::outbox::add_address(&cx, kernel::outbox::Channel::Dingtalk, &format!("d{i}"))
                .await
                .unwrap();
        }
    }
    let adapters =
        channels::Adapters::from_config(&state.config).expect("the channels are configured");
    World {
        state,
        wecom,
        dingtalk,
        adapters,
        guardians,
        _db: db,
    }
}

pub(crate) async fn actor(state: &AppState, username: &str) -> Actor {
    let (id,): (PersonId,) = on_db!(&state.db, p => sqlx::query_as(
        "SELECT person_id FROM accounts WHERE username = $1",
    ).bind(username).fetch_one(p).await)
    .unwrap();
    Actor::load(&state.db, id, Via::Session)
        .await
        .unwrap()
        .unwrap()
}

pub(crate) async fn send_notice(state: &AppState, title: &str) -> kernel::NoticeId {
    let teacher = actor(state, "teacher").await;
    let class = teacher
        .grants_of(kernel::Role::HeadTeacher)
        .next()
        .unwrap()
        .node_id;
    let meta = RequestMeta::cli();
    let id = spaces::notices::send(
        &Ctx::new(state, &teacher, &meta),
        NewNotice {
            kind: "notice".into(),
            title: title.into(),
            body: "本周五下午举行运动会。".into(),
            needs_confirm: false,
            reply_prompt: None,
            targets: vec![Target {
                node_id: class,
                audience: Audience::Guardians,
            }],
        },
    )
    .await
    .unwrap();
    spaces::notices::deliver::deliver_queued(state)
        .await
        .unwrap();
    id
}

pub(crate) async fn states(state: &AppState, key: &str) -> Vec<(String, String, i64)> {
    kernel::outbox::status(&state.db, key)
        .await
        .unwrap()
        .into_iter()
        .map(|s| (s.channel, s.state, s.count))
        .collect()
}

#[tokio::test]
async fn a_class_notice_reaches_each_guardian_once_per_channel_through_expiring_tokens() {
    let w = world(false).await;
    w.wecom.with(|f| f.token_uses = 3);
    let id = send_notice(&w.state, "运动会通知").await;
    let key = format!("notice:{id}");
    assert_eq!(
        states(&w.state, &key).await,
        [
            ("dingtalk".into(), "pending".into(), 4),
            ("wecom".into(), "pending".into(), 8)
        ],
        "enqueued with the notice's recipients, in the same transaction"
    );
    channels::deliver_due(&w.state, &w.adapters).await.unwrap();
    assert_eq!(
        states(&w.state, &key).await,
        [
            ("dingtalk".into(), "sent".into(), 4),
            ("wecom".into(), "sent".into(), 8)
        ]
    );
    let mut users: Vec<String> = w.wecom.delivered().into_iter().map(|d| d.0).collect();
    users.sort();
    assert_eq!(
        users,
        (0..8).map(|i| format!("g{i}")).collect::<Vec<_>>(),
        "each once"
    );
    assert!(w.wecom.delivered().iter().all(|d| d.1 == "运动会通知"));
    assert_eq!(w.dingtalk.delivered().len(), 4);
    assert!(
        w.wecom.with(|f| f.tokens_issued) >= 3,
        "expired tokens were fetched again"
    );
    // Nothing is sent twice, however often the runner passes.
    assert_eq!(
        channels::deliver_due(&w.state, &w.adapters).await.unwrap(),
        0
    );
    assert_eq!(w.wecom.delivered().len(), 8);
    let (ids,): (i64,) = on_db!(&w.state.db, p => sqlx::query_as(
        "SELECT COUNT(*) FROM outbox WHERE provider_id LIKE 'msg-%'",
    ).fetch_one(p).await)
    .unwrap();
    assert_eq!(ids, 8, "the provider's message ids are kept");
}

#[tokio::test]
async fn rate_limits_and_quiet_hours_make_rows_wait_and_a_dead_channel_holds_up_no_other() {
    let w = world(true).await;
    w.dingtalk.with(|f| f.rate_limited = 1);
    // One guardian is quiet from 09:00 to 11:00.
    let quiet = Actor::load(&w.state.db, w.guardians[1], Via::Session)
        .await
        .unwrap()
        .unwrap();
    let meta = RequestMeta::cli();
    kernel::outbox::set_quiet_hours(&Ctx::new(&w.state, &quiet, &meta), "09:00", "11:00")
        .await
        .unwrap();
    let id = send_notice(&w.state, "家长会通知").await;
    let key = format!("notice:{id}");
    channels::deliver_due(&w.state, &w.adapters).await.unwrap();
    // DingTalk went on while WeCom was unreachable; one DingTalk send was refused as over the
    // limit and one waits for the quiet hours.
    assert_eq!(w.dingtalk.delivered().len(), 2);
    let rows: Vec<(String, String, Option<String>, i64)> = on_db!(&w.state.db, p => sqlx::query_as(
        "SELECT channel, state, last_error, attempts FROM outbox WHERE dedup_key = $1 ORDER BY channel",
    ).bind(&key).fetch_all(p).await)
    .unwrap();
    let waiting: Vec<_> = rows
        .iter()
        .filter(|r| r.0 == "dingtalk" && r.1 == "pending")
        .collect();
    assert_eq!(waiting.len(), 2);
    assert!(
        waiting
            .iter()
            .any(|r| r.2.as_deref() == Some("quiet hours") && r.3 == 0),
        "{rows:?}"
    );
    assert!(
        waiting
            .iter()
            .any(|r| r.2.as_deref().is_some_and(|e| e.contains("90006"))),
        "{rows:?}"
    );
    assert!(
        rows.iter()
            .filter(|r| r.0 == "wecom")
            .all(|r| r.1 == "pending"
                && r.2
                    .as_deref()
                    .is_some_and(|e| e.starts_with("network") || e == "quiet hours")),
        "WeCom rows wait to be tried again: {rows:?}"
    );
    assert!(
        rows.iter()
            .all(|r| !r.2.as_deref().unwrap_or_default().contains("secret")),
        "the application's secret is never in an error: {rows:?}"
    );
    // Nothing is due until the waits are over; then everything goes, once.
    assert_eq!(
        channels::deliver_due(&w.state, &w.adapters).await.unwrap(),
        0
    );
    w.state.clock.advance(chrono::Duration::minutes(61));
    channels::deliver_due(&w.state, &w.adapters).await.unwrap();
    assert_eq!(w.dingtalk.delivered().len(), 4);
    // WeCom gives up after the configured attempts, one doubling wait at a time.
    for _ in 0..10 {
        w.state.clock.advance(chrono::Duration::hours(1));
        channels::deliver_due(&w.state, &w.adapters).await.unwrap();
    }
    assert_eq!(
        states(&w.state, &key).await,
        [
            ("dingtalk".into(), "sent".into(), 4),
            ("wecom".into(), "failed".into(), 8)
        ]
    );
}

#[tokio::test]
async fn an_interrupted_send_is_sent_again_and_counted_and_opt_outs_are_kept() {
    let w = world(false).await;
    // A guardian turns notices off on DingTalk.
    let g0 = Actor::load(&w.state.db, w.guardians[0], Via::Session)
        .await
        .unwrap()
        .unwrap();
    let meta = RequestMeta::cli();
    kernel::outbox::set_preference(
        &Ctx::new(&w.state, &g0, &meta),
        "notice",
        kernel::outbox::Channel::Dingtalk,
        false,
    )
    .await
    .unwrap();
    let id = send_notice(&w.state, "秋游通知").await;
    let key = format!("notice:{id}");
    assert_eq!(
        states(&w.state, &key).await[0],
        ("dingtalk".into(), "pending".into(), 3)
    );
    // A node took a row and died before recording the outcome.
    let now = w.state.clock.now();
    on_db!(&w.state.db, p => sqlx::query(
        "UPDATE outbox SET state = 'sending', attempts = 1, lease_until = $2 WHERE dedup_key = $1 AND channel = 'wecom' AND person_id = $3",
    ).bind(&key).bind(now - chrono::Duration::seconds(1)).bind(w.guardians[0]).execute(p).await.map(|_| ()))
    .unwrap();
    channels::deliver_due(&w.state, &w.adapters).await.unwrap();
    let (uncertain, state): (i64, String) = on_db!(&w.state.db, p => sqlx::query_as(
        "SELECT uncertain, state FROM outbox WHERE dedup_key = $1 AND channel = 'wecom' AND person_id = $2",
    ).bind(&key).bind(w.guardians[0]).fetch_one(p).await)
    .unwrap();
    assert_eq!((uncertain, state.as_str()), (1, "sent"));
    assert_eq!(w.wecom.delivered().len(), 8);
    assert_eq!(
        w.dingtalk.delivered().len(),
        3,
        "not to the guardian who turned it off"
    );
}

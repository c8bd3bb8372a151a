//! SMS (Alibaba Cloud and Tencent Cloud, each request's signature checked by the fake), e-mail
//! (a real SMTP conversation with login) and Web Push (VAPID checked, the payload decrypted as
//! the browser would): each guardian of the demo class gets a notice once per channel, a
//! provider's rate limit or temporary refusal makes a row wait, a final refusal fails it, and
//! a subscription the browser dropped is removed.

use crate::delivery::{send_notice, states};
use base64::Engine;
use channels::fake::{self as fakes, Fake};
use kernel::config::{EmailConfig, SmsConfig, SmsProvider, SmtpTls, WebPushConfig};
use kernel::outbox::Channel;
use kernel::testing::{TestDb, test_db};
use kernel::{Actor, AppState, Clock, Ctx, PersonId, RequestMeta, actor::Via, on_db};

struct Setup {
    state: AppState,
    adapters: channels::Adapters,
    guardians: Vec<PersonId>,
    _db: TestDb,
}

/// The demo region at 10:00 in Beijing with the channels `configure` sets, and the demo
/// class's eight guardians.
async fn setup(configure: impl FnOnce(&mut kernel::Config)) -> Setup {
    let db = test_db(&[&spaces::SCHEMA]).await.unwrap();
    let mut config = testkit::config(&db.url);
    config.public_url = Some("https://jy.example.cn".into());
    config.notify.rate_per_second = 1000;
    configure(&mut config);
    let ten = chrono::DateTime::parse_from_rfc3339("2026-11-20T10:00:00+08:00")
        .unwrap()
        .to_utc();
    let state = AppState::new(db.db.clone(), config, Clock::fixed(ten));
    assert!(directory::demo::load(&state).await.unwrap());
    let teacher = crate::delivery::actor(&state, "teacher").await;
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
    let adapters = channels::Adapters::from_config(&state.config).unwrap();
    Setup {
        state,
        adapters,
        guardians,
        _db: db,
    }
}

async fn add(s: &Setup, person: PersonId, channel: Channel, address: &str) {
    let a = Actor::load(&s.state.db, person, Via::Session)
        .await
        .unwrap()
        .unwrap();
    let meta = RequestMeta::cli();
    kernel::outbox::add_address(&Ctx::new(&s.state, &a, &meta), channel, address)
        .await
        .unwrap();
}

async fn errors(s: &Setup, key: &str) -> Vec<(String, Option<String>)> {
    on_db!(&s.state.db, p => sqlx::query_as(
        "SELECT state, last_error FROM outbox WHERE dedup_key = $1 ORDER BY state",
    ).bind(key).fetch_all(p).await)
    .unwrap()
}

fn sms(provider: SmsProvider, api: String, secret: &str) -> SmsConfig {
    SmsConfig {
        provider,
        access_key_id: fakes::SMS_KEY.0.into(),
        access_key_secret: kernel::secret::Secret::new(secret),
        sign_name: "教云平台".into(),
        template: "SMS_462080123".into(),
        app_id: Some("1400787878".into()),
        region: None,
        api: Some(api),
    }
}

#[tokio::test]
async fn sms_goes_through_both_providers_signed_once_per_guardian_and_waits_out_rate_limits() {
    for (provider, router) in [
        (
            SmsProvider::Aliyun,
            fakes::aliyun_sms as fn(Fake) -> axum::Router,
        ),
        (SmsProvider::Tencent, fakes::tencent_sms),
    ] {
        let fake = Fake::default();
        let api = fakes::serve(router(fake.clone())).await;
        let s = setup(|c| c.notify.sms = Some(sms(provider, api, fakes::SMS_KEY.1))).await;
        for (i, g) in s.guardians.iter().enumerate() {
            add(&s, *g, Channel::Sms, &format!("1380013800{i}")).await;
        }
        fake.with(|f| f.rate_limited = 1);
        let id = send_notice(
            &s.state,
            "期末家长会将于周五下午两点在各班教室召开请准时参加",
        )
        .await;
        let key = format!("notice:{id}");
        channels::deliver_due(&s.state, &s.adapters).await.unwrap();
        assert_eq!(fake.delivered().len(), 7, "{provider:?}");
        let rows = errors(&s, &key).await;
        assert!(
            rows.iter().any(|r| r.0 == "pending"
                && r.1
                    .as_deref()
                    .is_some_and(|e| e.to_lowercase().contains("limit"))),
            "{provider:?}: the rate-limited one waits: {rows:?}"
        );
        // Nothing is due before the wait (a rate limit waits at least a minute).
        assert_eq!(
            channels::deliver_due(&s.state, &s.adapters).await.unwrap(),
            0
        );
        s.state.clock.advance(chrono::Duration::minutes(2));
        channels::deliver_due(&s.state, &s.adapters).await.unwrap();
        let mut phones: Vec<String> = fake.delivered().into_iter().map(|d| d.0).collect();
        phones.sort();
        assert_eq!(
            phones,
            (0..8).map(|i| format!("1380013800{i}")).collect::<Vec<_>>(),
            "{provider:?}: each number once"
        );
        // The template variable is the title, cut to what providers accept.
        assert!(
            fake.delivered()
                .iter()
                .all(|d| d.1.starts_with("期末家长会")
                    && d.1.chars().count() == 20
                    && d.1.ends_with('…'))
        );
        assert_eq!(
            states(&s.state, &key).await,
            [("sms".into(), "sent".into(), 8)]
        );
        let (ids,): (i64,) = on_db!(&s.state.db, p => sqlx::query_as(
            "SELECT COUNT(DISTINCT provider_id) FROM outbox WHERE dedup_key = $1",
        ).bind(&key).fetch_one(p).await)
        .unwrap();
        assert_eq!(ids, 8, "{provider:?}: the provider's ids are kept");
    }
}

#[tokio::test]
async fn a_wrong_sms_secret_fails_at_once_without_revealing_it() {
    let fake = Fake::default();
    let api = fakes::serve(fakes::aliyun_sms(fake.clone())).await;
    let s = setup(|c| c.notify.sms = Some(sms(SmsProvider::Aliyun, api, "not-the-secret"))).await;
    add(&s, s.guardians[0], Channel::Sms, "13800138000").await;
    let id = send_notice(&s.state, "运动会通知").await;
    channels::deliver_due(&s.state, &s.adapters).await.unwrap();
    let rows = errors(&s, &format!("notice:{id}")).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(
        rows[0].0, "failed",
        "a refused signature is not tried again"
    );
    let e = rows[0].1.clone().unwrap();
    assert!(
        e.contains("SignatureDoesNotMatch") && !e.contains("not-the-secret"),
        "{e}"
    );
    assert_eq!(fake.delivered().len(), 0);
}

#[tokio::test]
async fn email_goes_over_smtp_with_login_and_a_temporary_refusal_is_tried_again() {
    let fake = Fake::default();
    let port = fakes::smtp(fake.clone()).await;
    let s = setup(|c| {
        c.notify.email = Some(EmailConfig {
            host: "127.0.0.1".into(),
            port: Some(port),
            tls: SmtpTls::None,
            username: Some(fakes::SMTP_LOGIN.0.into()),
            password: Some(kernel::secret::Secret::new(fakes::SMTP_LOGIN.1)),
            from: "教云 <noreply@jy.example.cn>".into(),
        })
    })
    .await;
    for (i, g) in s.guardians.iter().enumerate() {
        let address = if i == 7 {
            "nobody@unknown.example.cn".to_owned()
        } else {
            format!("parent{i}@home.example.cn")
        };
        add(&s, *g, Channel::Email, &address).await;
    }
    fake.with(|f| f.temporary_failures = 1);
    let id = send_notice(&s.state, "运动会通知").await;
    let key = format!("notice:{id}");
    channels::deliver_due(&s.state, &s.adapters).await.unwrap();
    assert_eq!(fake.delivered().len(), 6);
    let rows = errors(&s, &key).await;
    assert!(
        rows.iter()
            .any(|r| r.0 == "failed" && r.1.as_deref().is_some_and(|e| e.contains("550"))),
        "an unknown mailbox is final: {rows:?}"
    );
    assert!(
        rows.iter()
            .any(|r| r.0 == "pending" && r.1.as_deref().is_some_and(|e| e.contains("451"))),
        "a temporary refusal waits: {rows:?}"
    );
    s.state.clock.advance(chrono::Duration::minutes(5));
    channels::deliver_due(&s.state, &s.adapters).await.unwrap();
    let mail = fake.delivered();
    assert_eq!(mail.len(), 7);
    let mut to: Vec<&str> = mail.iter().map(|m| m.0.as_str()).collect();
    to.sort();
    to.dedup();
    assert_eq!(to.len(), 7, "each address once");
    let (_, raw) = &mail[0];
    let message_id = format!("Message-ID: <notice.{}.", id.to_string().replace('-', "."));
    assert!(raw.contains(&message_id), "{raw}");
    assert!(raw.contains("<noreply@jy.example.cn>"), "{raw}");
    // The text and the link, in the base64 body.
    let body: String = raw.split("\n\n").nth(1).unwrap().lines().collect();
    let text = String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(body.trim())
            .unwrap(),
    )
    .unwrap();
    assert!(text.contains("本周五下午举行运动会。"), "{text}");
    assert!(
        text.contains(&format!("https://jy.example.cn/notices/{id}")),
        "{text}"
    );
    assert_eq!(
        states(&s.state, &key).await,
        [
            ("email".into(), "failed".into(), 1),
            ("email".into(), "sent".into(), 7)
        ]
    );
}

#[tokio::test]
async fn web_push_reaches_every_device_encrypted_and_a_dropped_subscription_is_removed() {
    let fake = Fake::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = fakes::web_push(fake.clone(), base.clone());
    tokio::spawn(async move { axum::serve(listener, router).await });
    let (public, private) = channels::web_push::generate_keys().unwrap();
    fake.with(|f| f.vapid_public = public.clone());
    let s = setup(|c| {
        c.notify.web_push = Some(WebPushConfig {
            public_key: public,
            private_key: kernel::secret::Secret::new(private),
            subject: "mailto:ops@jy.example.cn".into(),
        })
    })
    .await;
    // The first guardian on a phone and a computer, and an old browser that dropped its
    // subscription; the second guardian's only browser dropped it; the third is on one device.
    let (phone, computer) = (fake.subscribe(&base), fake.subscribe(&base));
    let (old, dropped) = (fake.subscribe(&base), fake.subscribe(&base));
    let third = fake.subscribe(&base);
    add(&s, s.guardians[0], Channel::WebPush, &phone).await;
    add(&s, s.guardians[0], Channel::WebPush, &computer).await;
    add(&s, s.guardians[0], Channel::WebPush, &old).await;
    add(&s, s.guardians[1], Channel::WebPush, &dropped).await;
    add(&s, s.guardians[2], Channel::WebPush, &third).await;
    let endpoint = |sub: &str| {
        serde_json::from_str::<serde_json::Value>(sub).unwrap()["endpoint"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    fake.with(|f| f.gone.extend([endpoint(&old), endpoint(&dropped)]));
    let id = send_notice(&s.state, "运动会通知").await;
    let key = format!("notice:{id}");
    channels::deliver_due(&s.state, &s.adapters).await.unwrap();
    let pushed = fake.delivered();
    let mut endpoints: Vec<String> = pushed.iter().map(|p| p.0.clone()).collect();
    endpoints.sort();
    let mut expected = vec![endpoint(&phone), endpoint(&computer), endpoint(&third)];
    expected.sort();
    assert_eq!(endpoints, expected, "every live device once");
    for (_, payload) in &pushed {
        let p: serde_json::Value = serde_json::from_str(payload).unwrap();
        assert_eq!(p["title"], "运动会通知");
        assert_eq!(p["link"], format!("https://jy.example.cn/notices/{id}"));
    }
    let topics = fake.with(|f| f.headers.clone());
    assert!(
        topics
            .iter()
            .all(|(topic, ttl)| topic.len() <= 32 && !topic.is_empty() && ttl == "86400")
    );
    assert_eq!(
        states(&s.state, &key).await,
        [
            ("web_push".into(), "failed".into(), 1),
            ("web_push".into(), "sent".into(), 2)
        ]
    );
    let mut left = Vec::new();
    for g in &s.guardians[..3] {
        let (n,): (i64,) = on_db!(&s.state.db, p => sqlx::query_as(
            "SELECT COUNT(*) FROM channel_addresses WHERE channel = 'web_push' AND person_id = $1",
        ).bind(g).fetch_one(p).await)
        .unwrap();
        left.push(n);
    }
    assert_eq!(
        left,
        [2, 0, 1],
        "the dropped subscriptions are removed, the live ones kept"
    );
}

#[tokio::test]
async fn a_push_service_refuses_a_token_signed_with_another_key() {
    let fake = Fake::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = fakes::web_push(fake.clone(), base.clone());
    tokio::spawn(async move { axum::serve(listener, router).await });
    let (public, private) = channels::web_push::generate_keys().unwrap();
    // The browser subscribed with another server key.
    fake.with(|f| f.vapid_public = channels::web_push::generate_keys().unwrap().0);
    let s = setup(|c| {
        c.notify.web_push = Some(WebPushConfig {
            public_key: public,
            private_key: kernel::secret::Secret::new(private),
            subject: "mailto:ops@jy.example.cn".into(),
        })
    })
    .await;
    add(&s, s.guardians[0], Channel::WebPush, &fake.subscribe(&base)).await;
    let id = send_notice(&s.state, "运动会通知").await;
    channels::deliver_due(&s.state, &s.adapters).await.unwrap();
    assert_eq!(fake.delivered().len(), 0);
    let rows = errors(&s, &format!("notice:{id}")).await;
    assert_eq!(rows[0].0, "failed");
    assert!(
        rows[0].1.as_deref().is_some_and(|e| e.contains("403")),
        "{rows:?}"
    );
}

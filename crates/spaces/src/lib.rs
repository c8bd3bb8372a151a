//! Learning spaces and home-school communication (网络学习空间, 家校互通): notices with read
//! receipts, guardians' leave requests and a class's daily attendance, messages between
//! teachers, guardians and students (with attachments and a school's retention), and the
//! learning spaces of every region, school, class, teacher, student and guardian, with themed
//! activities, the excellent-space selection, photos and guardians' consent. Pages under
//! `/notices`, `/leave`, `/attendance`, `/messages`, `/spaces`; every countable action is
//! recorded in the kernel's fact record.

pub mod activities;
pub mod attachments;
pub mod attendance;
pub mod awards;
pub mod binding;
pub mod demo;
pub mod home;
pub mod leave;
pub mod messages;
pub mod notices;
pub mod notifications;
pub mod photos;
pub mod routine;
pub mod safety;
pub mod scope;
pub mod space;

use axum::Router;
use kernel::AppState;

/// The module's strings, registered with the kernel's i18n when its routes are built.
pub static CATALOGUES: kernel::i18n::Catalogues = kernel::i18n::Catalogues {
    module: "spaces",
    zh_cn: include_str!("../locales/zh-CN.toml"),
    en: include_str!("../locales/en.toml"),
};

/// A text sent outside the platform (WeCom, DingTalk …), in the platform's default language:
/// one notification goes to many people at once, whatever language each reads the pages in.
pub fn outside_text(key: &str, args: &[(&str, &str)]) -> String {
    // The runner may enqueue before the routes are built (a notice queued before a restart).
    kernel::i18n::register(&CATALOGUES);
    kernel::i18n::tf(kernel::Locale::default(), key, args)
}

/// Tells a person in the platform (the bell: the catalogue's `key` filled with `args`) and on
/// every channel outside it they are reached on and have not turned `kind` off for, with the
/// same text in the platform's language, once per person and `dedup`.
#[allow(clippy::too_many_arguments)]
pub async fn tell(
    state: &AppState,
    tx: &mut kernel::Tx,
    person: kernel::PersonId,
    kind: &str,
    key: &str,
    object: uuid::Uuid,
    link: &str,
    args: serde_json::Value,
    dedup: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> kernel::AppResult<()> {
    let pairs: Vec<(String, String)> = args
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| {
            (
                k.clone(),
                v.as_str().map_or_else(|| v.to_string(), str::to_owned),
            )
        })
        .collect();
    let refs: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let text = outside_text(key, &refs);
    kernel::notify::send(tx, person, key, Some(object), Some(link), args, now).await?;
    kernel::outbox::enqueue(
        state,
        tx,
        now,
        kernel::outbox::To::One(person),
        &kernel::outbox::Message {
            kind,
            dedup_key: dedup,
            title: &text,
            body: &text,
            link: Some(link),
        },
    )
    .await?;
    Ok(())
}

/// The forms that take files (notices and messages with attachments, photos): served under
/// their own body limit, [`attachments::UPLOAD_LIMIT`].
pub fn upload_routes() -> Router<AppState> {
    use axum::routing::post;
    Router::new()
        .route("/notices/new", post(notices::pages::create))
        .route("/messages/{id}", post(messages::pages::post))
        .route("/spaces/posts/{id}/photos", post(photos::upload))
}

/// The module's pages and API.
pub fn routes() -> Router<AppState> {
    kernel::i18n::register(&CATALOGUES);
    notices::routes()
        .merge(activities::pages::routes())
        .merge(awards::pages::routes())
        .merge(photos::routes())
        .merge(attachments::routes())
        .merge(leave::routes())
        .merge(attendance::routes())
        .merge(messages::routes())
        .merge(notifications::routes())
        .merge(space::routes())
        .merge(safety::routes())
        .merge(binding::routes())
        .merge(routine::routes())
}

/// The module's part of the OpenAPI document.
pub fn api_doc() -> utoipa::openapi::OpenApi {
    use utoipa::OpenApi;
    notices::api::NoticesApiDoc::openapi()
}

/// Background work on every node: notices' recipients expanded from their targets.
pub async fn runner(state: AppState) {
    notices::deliver::runner(state).await;
}

/// The home page's panel: what is waiting for this person (notices, leave, messages).
pub fn home_panel<'a>(
    state: &'a AppState,
    session: &'a web::Session,
) -> web::panels::PanelFuture<'a> {
    Box::pin(home::panel(state, session))
}

/// The kinds of facts this module records in the kernel's fact record (the dashboards'
/// indicators count them).
pub const FACT_KINDS: &[&str] = &[
    "notice.sent",
    "notice.read",
    "notice.confirmed",
    "notice.replied",
    "leave.requested",
    "leave.approved",
    "leave.declined",
    "attendance.taken",
    "attendance.absence",
    "attendance.illness_alert.class",
    "attendance.illness_alert.school",
    "message.sent",
    "message.answered",
    "space.opened",
    "space.post",
    "space.column_filled",
    "space.comment",
    "space.visit",
    "activity.created",
    "activity.work",
    "space.nominated",
];

/// How the audit log names this module's objects.
pub const AUDIT_NAMES: &[kernel::audit::names::ObjectName] = &[
    kernel::audit::names::ObjectName {
        kind: "notice",
        sql: "SELECT title FROM notices WHERE id = $1",
    },
    kernel::audit::names::ObjectName {
        kind: "space",
        sql: "SELECT title FROM spaces WHERE id = $1",
    },
    kernel::audit::names::ObjectName {
        kind: "conversation",
        sql: "SELECT COALESCE(title, '') FROM conversations WHERE id = $1",
    },
    kernel::audit::names::ObjectName {
        kind: "theme_activity",
        sql: "SELECT title FROM theme_activities WHERE id = $1",
    },
    kernel::audit::names::ObjectName {
        kind: "theme_activity_work",
        sql: "SELECT title FROM theme_activity_works WHERE id = $1",
    },
    kernel::audit::names::ObjectName {
        kind: "space_award",
        sql: "SELECT title FROM space_awards WHERE id = $1",
    },
];

/// The module's tables: notices and receipts, leave requests, attendance, conversations.
pub static SCHEMA: kernel::Schema = kernel::schema!("spaces", [&resources::SCHEMA]);

#[cfg(test)]
mod schema_tests {
    #[test]
    fn migration_folders_match() {
        kernel::testing::assert_folders_match(&super::SCHEMA);
    }

    #[test]
    fn catalogues_match() {
        kernel::testing::assert_catalogues_match(&super::CATALOGUES);
    }

    #[tokio::test]
    #[ignore = "needs PostgreSQL: run with TEST_DATABASE_URL set and --include-ignored (.ci/run does)"]
    async fn schema_is_the_same_on_both_databases() {
        assert!(kernel::testing::assert_schema_parity(&super::SCHEMA).await > 5);
    }
}

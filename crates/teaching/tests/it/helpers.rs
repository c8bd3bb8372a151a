//! `Teach`: a migrated database with the demo region and library (and the teaching demo when
//! asked), actors by username, a context at a chosen time. `TestApp`: the module's routes with
//! the account pages and the library's, on a random port (see the `testkit` crate).

#![allow(dead_code)]

use kernel::testing::{TestDb, test_db};
use kernel::{Actor, AppState, Clock, Ctx, NodeId, PersonId, RequestMeta, actor::Via, on_db};

pub struct Teach {
    pub state: AppState,
    pub meta: RequestMeta,
    _db: TestDb,
}

async fn region_and_library(state: &AppState) {
    assert!(directory::demo::load(state).await.expect("demo region"));
    resources::demo::load(state).await.expect("demo library");
}

impl Teach {
    /// The demo region and library, without the teaching demo.
    pub async fn start() -> Teach {
        Self::start_with(Clock::System).await
    }

    /// The same on a clock that stands still until advanced (`state.clock.advance`).
    pub async fn start_fixed() -> Teach {
        Self::start_with(Clock::fixed(chrono::Utc::now())).await
    }

    async fn start_with(clock: Clock) -> Teach {
        let db = test_db(&[&teaching::SCHEMA]).await.expect("test database");
        let config = testkit::config(&db.url);
        let state = AppState::new(db.db.clone(), config, clock);
        region_and_library(&state).await;
        kernel::i18n::register(&teaching::CATALOGUES);
        Teach {
            state,
            meta: RequestMeta::cli(),
            _db: db,
        }
    }

    pub async fn person(&self, username: &str) -> PersonId {
        let (id,): (PersonId,) = on_db!(&self.state.db, p => sqlx::query_as(
            "SELECT person_id FROM accounts WHERE username = $1",
        ).bind(username).fetch_one(p).await)
        .unwrap_or_else(|e| panic!("no account {username}: {e}"));
        id
    }

    pub async fn actor(&self, username: &str) -> Actor {
        let id = self.person(username).await;
        self.actor_of(id).await
    }

    pub async fn actor_of(&self, id: PersonId) -> Actor {
        Actor::load(&self.state.db, id, Via::Session)
            .await
            .unwrap()
            .unwrap()
    }

    pub fn cx<'a>(&'a self, actor: &'a Actor) -> Ctx<'a> {
        Ctx::new(&self.state, actor, &self.meta)
    }

    pub async fn count(&self, sql: &'static str) -> i64 {
        let (n,): (i64,) =
            on_db!(&self.state.db, p => sqlx::query_as(sql).fetch_one(p).await).unwrap();
        n
    }

    pub async fn facts(&self, kind: &str) -> i64 {
        let (n,): (i64,) = on_db!(&self.state.db, p => sqlx::query_as(
            "SELECT COUNT(*) FROM facts WHERE kind = $1",
        ).bind(kind).fetch_one(p).await)
        .unwrap();
        n
    }

    /// The demo teacher's class (they head it and teach Chinese there).
    pub async fn teacher_class(&self) -> NodeId {
        let t = self.actor("teacher").await;
        t.grants_of(kernel::Role::HeadTeacher)
            .next()
            .unwrap()
            .node_id
    }

    /// Another Chinese teacher of the same grade, with their class.
    pub async fn colleague(&self) -> (Actor, NodeId) {
        let class = self.teacher_class().await;
        let (p, c): (PersonId, NodeId) = on_db!(&self.state.db, p => sqlx::query_as(
            "SELECT r.person_id, r.node_id FROM role_assignments r JOIN org_nodes c ON c.id = r.node_id
             WHERE r.role = 'teacher' AND r.subject = '13' AND r.node_id <> $1
               AND c.parent_id = (SELECT parent_id FROM org_nodes WHERE id = $1)
             ORDER BY c.name LIMIT 1",
        ).bind(class).fetch_one(p).await)
        .unwrap();
        (self.actor_of(p).await, c)
    }
}

/// The field errors of a validation error, as (field, key).
pub fn fields(e: kernel::AppError) -> Vec<(String, String)> {
    match e {
        kernel::AppError::Invalid(f) => f.0,
        other => panic!("expected a validation error, got {other:?}"),
    }
}

const SETUP: testkit::Setup = testkit::Setup {
    schemas: &[&teaching::SCHEMA],
    demo: |state| {
        Box::pin(async move {
            region_and_library(&state).await;
            teaching::demo::load(&state).await.expect("teaching demo");
        })
    },
    serve: |listener, state, shutdown| {
        let runners: Vec<testkit::Boxed<()>> = Vec::new();
        Box::pin(testkit::serve(
            listener,
            state,
            shutdown,
            teaching::routes().merge(resources::routes()),
            web::upload::upload_limit(teaching::upload_routes(), 10 * 1024 * 1024),
            runners,
        ))
    },
};

testkit::app!(SETUP);

/// A page as a signed-in client gets it: its status and body.
pub async fn page(app: &TestApp, c: &reqwest::Client, path: &str) -> (reqwest::StatusCode, String) {
    let r = c.get(app.url(path)).send().await.unwrap();
    let s = r.status();
    (s, r.text().await.unwrap())
}

/// A form posted with the session's CSRF token: its status, and the redirect's target or the
/// body.
pub async fn post(
    app: &TestApp,
    c: &reqwest::Client,
    path: &str,
    form: &[(&str, &str)],
) -> (reqwest::StatusCode, String) {
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
        if status == reqwest::StatusCode::SEE_OTHER {
            location
        } else {
            body
        },
    )
}

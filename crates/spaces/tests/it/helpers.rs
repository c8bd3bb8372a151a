//! `Home`: a migrated database with the demo region (and the home-school demo unless asked
//! not to), actors by username, a context at a chosen time. `TestApp`: the module's routes with
//! the account pages and its runner, on a random port (see the `testkit` crate).

#![allow(dead_code)]

use kernel::testing::{TestDb, test_db};
use kernel::{Actor, AppState, Clock, Ctx, PersonId, RequestMeta, actor::Via, on_db};

pub struct Home {
    pub state: AppState,
    pub meta: RequestMeta,
    _db: TestDb,
}

impl Home {
    /// The demo region without the home-school demo: each test writes what it reads.
    pub async fn start() -> Home {
        Self::start_with(|_| {}).await
    }

    /// The demo region with the configuration changed by `configure`.
    pub async fn start_with(configure: impl FnOnce(&mut kernel::Config)) -> Home {
        let db = test_db(&[&spaces::SCHEMA]).await.expect("test database");
        let mut config = testkit::config(&db.url);
        configure(&mut config);
        let state = AppState::new(db.db.clone(), config, Clock::System);
        assert!(directory::demo::load(&state).await.expect("demo region"));
        kernel::i18n::register(&spaces::CATALOGUES);
        Home {
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

    /// The head teacher's class (the demo teacher heads one).
    pub async fn teacher_class(&self) -> kernel::NodeId {
        let t = self.actor("teacher").await;
        t.grants_of(kernel::Role::HeadTeacher)
            .next()
            .unwrap()
            .node_id
    }

    /// The kinds of the person's notifications, newest first.
    pub async fn notifications(&self, person: PersonId) -> Vec<String> {
        let rows: Vec<(String,)> = on_db!(&self.state.db, p => sqlx::query_as(
            "SELECT kind FROM notifications WHERE person_id = $1 ORDER BY created_at DESC",
        ).bind(person).fetch_all(p).await)
        .unwrap();
        rows.into_iter().map(|r| r.0).collect()
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
    schemas: &[&spaces::SCHEMA],
    demo: |state| {
        Box::pin(async move {
            assert!(directory::demo::load(&state).await.expect("demo region"));
            spaces::demo::load(&state).await.expect("home-school demo");
        })
    },
    serve: |listener, state, shutdown| {
        state
            .cache::<web::panels::HomePanels>()
            .register(spaces::home_panel);
        let runners: Vec<testkit::Boxed<()>> = vec![Box::pin(spaces::runner(state.clone()))];
        Box::pin(testkit::serve(
            listener,
            state,
            shutdown,
            spaces::routes().merge(directory::routes()),
            web::upload::upload_limit(spaces::upload_routes(), spaces::attachments::UPLOAD_LIMIT),
            runners,
        ))
    },
};

testkit::app!(SETUP);

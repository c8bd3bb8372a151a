//! `Lib`: a migrated database with the demo region and library, and actors by username, for
//! the service functions. `TestApp`: the library's routes (with the account pages) served on
//! a random port over the same, with the library's runner (see the `testkit` crate).

#![allow(dead_code)]

use kernel::testing::{TestDb, test_db};
use kernel::{Actor, AppState, Clock, Config, Ctx, RequestMeta, actor::Via};

pub struct Lib {
    pub state: AppState,
    pub meta: RequestMeta,
    _db: TestDb,
}

impl Lib {
    /// The demo region and library in a fresh database, files and index in a fresh folder.
    pub async fn start() -> Lib {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> Lib {
        let db = test_db(&[&resources::SCHEMA]).await.expect("test database");
        let mut config = testkit::config(&db.url);
        adjust(&mut config);
        let state = AppState::new(db.db.clone(), config, Clock::System);
        assert!(directory::demo::load(&state).await.expect("demo region"));
        resources::demo::load(&state).await.expect("demo library");
        Lib {
            state,
            meta: RequestMeta::cli(),
            _db: db,
        }
    }

    /// The actor of a demo account.
    pub async fn actor(&self, username: &str) -> Actor {
        let (id,): (kernel::PersonId,) = kernel::on_db!(&self.state.db, p => sqlx::query_as(
            "SELECT person_id FROM accounts WHERE username = $1",
        ).bind(username).fetch_one(p).await)
        .unwrap_or_else(|e| panic!("no account {username}: {e}"));
        Actor::load(&self.state.db, id, Via::Session)
            .await
            .unwrap()
            .unwrap()
    }

    /// A context for `actor` now.
    pub fn cx<'a>(&'a self, actor: &'a Actor) -> Ctx<'a> {
        Ctx::new(&self.state, actor, &self.meta)
    }
}

const SETUP: testkit::Setup = testkit::Setup {
    schemas: &[&resources::SCHEMA],
    demo: |state| {
        Box::pin(async move {
            assert!(directory::demo::load(&state).await.expect("demo region"));
            resources::demo::load(&state).await.expect("demo library");
        })
    },
    serve: |listener, state, shutdown| {
        let uploads = web::upload::upload_limit(
            resources::upload_routes(),
            usize::try_from(state.config.files.max_file_bytes).unwrap_or(usize::MAX),
        );
        let runners: Vec<testkit::Boxed<()>> = vec![Box::pin(resources::runner(state.clone()))];
        Box::pin(testkit::serve(
            listener,
            state,
            shutdown,
            resources::routes(),
            uploads,
            runners,
        ))
    },
};

testkit::app!(SETUP);

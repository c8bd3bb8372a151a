//! `TestApp`: the sso crate's routes (with the account pages, and the directory's, where
//! administrators end sessions and reset second factors) on a random port over a migrated
//! database with the demo region, with the single-logout runner (see the `testkit` crate).

pub use testkit::{DEMO_PASSWORD, Receiver, audit_count, demo_city, extract_csrf, portal_logout};

const SETUP: testkit::Setup = testkit::Setup {
    schemas: &[&directory::SCHEMA],
    demo: |state| {
        Box::pin(async move {
            assert!(
                directory::demo::load(&state).await.expect("demo load"),
                "demo region loaded into an empty database"
            );
        })
    },
    serve: |listener, state, shutdown| {
        let runners: Vec<testkit::Boxed<()>> = vec![Box::pin(sso::runner(state.clone()))];
        Box::pin(testkit::serve(
            listener,
            state,
            shutdown,
            sso::routes().merge(directory::routes()),
            axum::Router::new(),
            runners,
        ))
    },
};

testkit::app!(SETUP);

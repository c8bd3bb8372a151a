//! `TestApp`: the whole platform (`jiaoyun::server`, every module's routes, middleware and
//! runners) on a random port over a migrated database with the demo region and library, and
//! clients that log in through the login form like a person would (see the `testkit` crate).

pub use testkit::{
    DEMO_PASSWORD, audit_count, demo_city, extract_csrf, node_by_code, portal_logout,
};

const SETUP: testkit::Setup = testkit::Setup {
    schemas: jiaoyun::SCHEMAS,
    demo: |state| {
        Box::pin(async move {
            assert!(
                jiaoyun::load_demo(&state).await.expect("demo load"),
                "demo region loaded into an empty database"
            );
        })
    },
    serve: |listener, state, shutdown| {
        Box::pin(jiaoyun::server::serve_on(listener, state, shutdown))
    },
};

testkit::app!(SETUP);

//! `TestApp`: the directory's routes (and the account pages to log in through) on a random
//! port over a migrated database with the demo region, with the import and exchange runners
//! (see the `testkit` crate).

pub use testkit::{DEMO_PASSWORD, audit_count, demo_city, extract_csrf, node_by_code};

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
        let uploads =
            web::upload::upload_limit(directory::upload_routes(), state.config.max_upload_bytes)
                .merge(web::upload::upload_limit(
                    directory::exchange::push_routes(),
                    state.config.exchange.max_push_bytes,
                ));
        let runners: Vec<testkit::Boxed<()>> = vec![
            Box::pin(directory::import::jobs::runner(state.clone())),
            Box::pin(directory::exchange::push::runner(state.clone())),
        ];
        Box::pin(testkit::serve(
            listener,
            state,
            shutdown,
            directory::routes(),
            uploads,
            runners,
        ))
    },
};

testkit::app!(SETUP);

#[test]
fn the_demo_password_is_the_one_testkit_logs_in_with() {
    assert_eq!(DEMO_PASSWORD, directory::demo::DEMO_PASSWORD);
}

/// Imports the sample generator's students `range` (with their guardians) into a school
/// through the job, as the command line does: the server's runner checks, then the commit.
pub async fn import_sample(
    app: &TestApp,
    school: kernel::NodeId,
    range: std::ops::Range<u64>,
    partial: bool,
) {
    use directory::import::{jobs, sample};
    let actor = kernel::Actor::system();
    let meta = kernel::RequestMeta::cli();
    let cx = kernel::Ctx::new(&app.state, &actor, &meta);
    let p = std::env::temp_dir().join(format!("jy-sample-{}.csv", uuid::Uuid::now_v7()));
    sample::write_csv(&p, range, false, None).unwrap();
    let j = jobs::create(&cx, school, "students.csv", &p, kernel::Locale::ZhCn)
        .await
        .unwrap();
    crate::imports::settled(&app.state, j.id).await;
    jobs::commit(&cx, j.id, partial).await.unwrap();
    assert_eq!(
        crate::imports::settled(&app.state, j.id).await.status,
        "done"
    );
}

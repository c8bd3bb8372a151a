//! Identity: accounts, passwords (Argon2id), login sessions and API tokens. Issue #3 builds the
//! OIDC provider, CAS server, MFA and federation on top of these.

pub mod accounts;
pub mod epoch;
pub mod federation;
pub mod login;
pub mod mfa;
pub mod passkey;
pub mod password;
pub mod policy;
pub mod sessions;
pub mod strength;
pub mod throttle;
pub mod tokens;

pub use login::{LoginError, LoginOutcome, login};
pub use sessions::SessionInfo;

/// The identity centre's tables: login policies and their records, second factors, passkeys,
/// connected applications, grants and tokens, upstream identity providers.
pub static SCHEMA: kernel::Schema = kernel::schema!("identity", [&kernel::schema::SCHEMA]);

#[cfg(test)]
mod schema_tests {
    #[test]
    fn migration_folders_match() {
        kernel::testing::assert_folders_match(&super::SCHEMA);
    }

    #[tokio::test]
    #[ignore = "needs PostgreSQL: run with TEST_DATABASE_URL set and --include-ignored (.ci/run does)"]
    async fn schema_is_the_same_on_both_databases() {
        assert!(kernel::testing::assert_schema_parity(&super::SCHEMA).await > 20);
    }
}

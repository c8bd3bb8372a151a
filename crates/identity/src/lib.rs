//! Identity: accounts, passwords (Argon2id), login sessions and API tokens. Issue #3 builds the
//! OIDC provider, CAS server, MFA and federation on top of these.

pub mod accounts;
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

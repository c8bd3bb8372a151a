//! The OpenID Connect provider.

pub mod authorize;
pub mod client_auth;
pub mod consent;
pub mod discovery;
pub mod error;
mod grants;
pub mod logout;
pub mod revoke;
pub mod token;
pub mod userinfo;

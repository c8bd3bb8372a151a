//! Data flows upward (数据汇聚): a school or district running its own Jiaoyun is linked to an
//! upper-level Jiaoyun and pushes its base-data changes there, so the upper level holds the
//! lower levels' data without anyone filling in a report.
//!
//! - **Pairing.** An administrator of the upper instance opens a link for one of their nodes
//!   (a school or district) and gets a one-time code; an administrator of the lower instance
//!   enters the upper's address and the code for the same school or district (matched by its
//!   national code). The lower makes an Ed25519 key pair for the link and the upper keeps the
//!   public half: every push is signed with it.
//! - **Push.** The lower reads its change log (`base_changes`) after the link's position, turns
//!   the changed entities into their current records ([`snapshot`]) and sends them in batches.
//!   The upper applies a batch in one transaction ([`apply`]) and answers with its new
//!   position: a batch sent twice changes nothing, and a failed push is retried with backoff
//!   from where the upper stands, however long it was away.
//! - **Conflicts** (the same registry number at two schools) are not applied; both sides keep
//!   and show them until a later push of the record goes through.
//! - **Change feed.** `GET /api/v1/changes` gives the same log to any other consumer, with a
//!   cursor ([`feed`]).

pub mod api;
pub mod apply;
pub mod feed;
pub mod links;
pub mod pages;
pub mod push;
pub mod sign;
pub mod snapshot;

use kernel::{LinkId, NodeId, PersonId};
use serde::{Deserialize, Serialize};

pub use links::Link;

/// One push: the records of the changes after `after` up to and including `upto`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Batch {
    pub link_id: LinkId,
    pub after: i64,
    pub upto: i64,
    pub snapshot: snapshot::Snapshot,
}

/// The upper's answer to a push.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PushReply {
    /// Where the upper now stands in the lower's change log.
    pub seq: i64,
    /// Records applied.
    pub applied: u64,
    /// Records not applied because they clash with what the upper holds.
    pub conflicts: Vec<ConflictRec>,
    /// People whose earlier conflicts this push resolved.
    pub resolved: Vec<PersonId>,
    /// The batch started past the upper's position (the upper lost data, say, and was restored
    /// from a backup): nothing was applied; resend from `seq`.
    pub gap: bool,
}

/// A record the upper would not take.
#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct ConflictRec {
    /// `registry_no`: the registry number belongs to a student of another school;
    /// `staff_no`: the staff number is taken in the school; `node`: the school is outside
    /// the link; `person`: the person belongs elsewhere in the upper's tree.
    pub kind: String,
    pub value: String,
    pub person_id: PersonId,
    pub person_name: String,
    pub school_code: Option<String>,
    pub school_name: Option<String>,
    pub holder_school_code: Option<String>,
    pub holder_school_name: Option<String>,
}

/// What the lower sends to pair with a code.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PairRequest {
    pub code: String,
    /// The lower's Ed25519 public key, base64.
    pub public_key: String,
    /// The lower's node: its kind and national code, and its name.
    pub kind: String,
    pub node_code: String,
    pub name: String,
}

/// What the upper answers.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PairReply {
    pub link_id: LinkId,
    pub node_id: NodeId,
    pub node_name: String,
}

pub fn routes() -> axum::Router<kernel::AppState> {
    pages::routes().merge(api::routes())
}

/// The push endpoint, served under its own body limit (`exchange.max_push_bytes`).
pub fn push_routes() -> axum::Router<kernel::AppState> {
    api::push_routes()
}

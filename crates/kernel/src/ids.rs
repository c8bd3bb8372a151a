//! UUIDv7 identifiers, one newtype per entity so ids of different kinds cannot be mixed up.

/// An entity id: parses from text and names the error for an unknown one.
pub trait Id: std::str::FromStr + Send {
    fn not_found() -> &'static str;
}

/// Declares entity ids (a module declares its own: `kernel::id_type!(ActivityId =>
/// "spaces.activity_not_found")`); the caller needs `serde`, `sqlx`, `utoipa` and `uuid`.
#[macro_export]
macro_rules! id_type {
    ($($(#[$doc:meta])* $name:ident => $not_found:literal),* $(,)?) => {$(
        $(#[$doc])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
            serde::Serialize, serde::Deserialize, sqlx::Type, utoipa::ToSchema,
        )]
        #[sqlx(transparent)]
        #[serde(transparent)]
        #[schema(value_type = String, format = Uuid)]
        pub struct $name(pub uuid::Uuid);

        impl $name {
            /// A new time-ordered id.
            #[allow(clippy::new_without_default)]
            pub fn new() -> Self {
                Self(uuid::Uuid::now_v7())
            }
        }

        impl $crate::ids::Id for $name {
            /// The error code when an id of this kind is unknown, foreign or malformed.
            fn not_found() -> &'static str {
                $not_found
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.trim().parse().map(Self)
            }
        }
    )*};
}

id_type!(
    /// A node of the organisation tree: a region, school, grade or class.
    NodeId => "directory.node_not_found",
    /// A person (who has at most one account).
    PersonId => "directory.person_not_found",
    /// One role assignment of a person, scoped to a node.
    RoleId => "directory.role_not_found",
    /// A login session.
    SessionId => "identity.session_not_found",
    /// An API token.
    TokenId => "identity.token_not_found",
    /// An audit log entry.
    AuditId => "not_found",
    /// A term of a school year.
    TermId => "directory.term_not_found",
    /// A connected application (an OIDC client or a CAS service).
    ApplicationId => "sso.application_not_found",
    /// What one authorization gave an application: a family of refresh and access tokens.
    GrantId => "sso.grant_not_found",
    /// An upstream identity provider people may log in through.
    ProviderId => "identity.provider_not_found",
    /// A spreadsheet import of base data.
    ImportId => "directory.import_not_found",
    /// A school's request to take in a student from another school (a transfer).
    TransferId => "registry.transfer_not_found",
    /// A link between this instance and an upper- or lower-level instance.
    LinkId => "exchange.link_not_found",
    /// A teaching resource of the shared library.
    ResourceId => "resources.resource_not_found",
    /// A node of the textbook catalogue (stage, subject, edition, volume, unit, section).
    CatalogId => "catalog.node_not_found",
    /// A resumable file upload.
    UploadId => "files.upload_not_found",
    /// An excellent-resource selection list.
    ListId => "resources.list_not_found",
    /// A comment on a resource.
    CommentId => "resources.comment_not_found",
    /// A notification to a person.
    NotificationId => "not_found",
    /// A learning space (a region's, school's, class's, teacher's, student's or guardian's).
    SpaceId => "spaces.space_not_found",
    /// A column (栏目) of a space.
    ColumnId => "spaces.column_not_found",
    /// A post in a space's column.
    PostId => "spaces.post_not_found",
    /// A comment on a space's post.
    PostCommentId => "spaces.comment_not_found",
    /// A notice to groups of people (通知), with read receipts.
    NoticeId => "spaces.notice_not_found",
    /// A conversation between people (会话).
    ConversationId => "spaces.conversation_not_found",
    /// A message in a conversation.
    MessageId => "spaces.message_not_found",
    /// A guardian's request for leave for their child (请假).
    LeaveId => "spaces.leave_not_found",
);

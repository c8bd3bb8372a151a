//! Logins through an upstream identity provider (a city's identity alliance, the national
//! smart-education hub): which person a provider's account is, linking on first use by a
//! configured attribute, and the verified login that follows. The protocols themselves (OpenID
//! Connect, OAuth2) live in the `sso` crate; this module decides who logs in.
//!
//! A provider's subjects are namespaced by provider: the link is (provider, subject) → person.
//! On first use the person is found by the configured attribute (ID number, staff number or
//! registry number) among the active persons of the provider's node subtree; exactly one must
//! match. Later logins follow the link even if the attribute changes on either side.

use crate::login::{Verified, audit_failure, org_of};
use crate::{accounts, policy};
use kernel::audit::{self, AuditEvent, Who};
use kernel::{AppResult, AppState, Db, NodeId, PersonId, ProviderId, RequestMeta, on_db, on_tx};

/// The person attribute a provider's accounts are linked by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkAttribute {
    IdNumber,
    StaffNo,
    RegistryNo,
}

impl LinkAttribute {
    pub const ALL: [Self; 3] = [Self::IdNumber, Self::StaffNo, Self::RegistryNo];

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::IdNumber => "id_number",
            Self::StaffNo => "staff_no",
            Self::RegistryNo => "registry_no",
        }
    }
    /// The value as stored: trimmed; ID numbers with an upper-case check character.
    pub fn normalize(self, v: &str) -> String {
        let v = v.trim();
        match self {
            Self::IdNumber => v.to_uppercase(),
            _ => v.to_owned(),
        }
    }
}

/// What a provider said about the person who came back from it.
pub struct Assertion<'a> {
    pub provider: ProviderId,
    pub provider_name: &'a str,
    /// The provider's node: only its subtree may log in through it.
    pub node: NodeId,
    pub subject: &'a str,
    pub attribute: LinkAttribute,
    /// The attribute's value in the provider's user info, if it sent one.
    pub value: Option<&'a str>,
}

/// Why a provider's account could not log in here. Each is audited with its reason.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// No active person of the subtree has the attribute's value (or none was sent).
    NoMatch,
    /// More than one does: an administrator must resolve it.
    Ambiguous,
    /// The matching person is already linked to another account at this provider.
    AlreadyLinked,
    /// The linked person has no account, is deactivated, or has left the provider's subtree.
    Unavailable,
}

impl Refusal {
    pub fn reason(&self) -> &'static str {
        match self {
            Self::NoMatch => "upstream_no_match",
            Self::Ambiguous => "upstream_ambiguous",
            Self::AlreadyLinked => "upstream_already_linked",
            Self::Unavailable => "upstream_unavailable",
        }
    }
}

/// The active providers, for the login page's buttons: (id, name).
pub async fn login_choices(db: &Db) -> AppResult<Vec<(ProviderId, String)>> {
    Ok(on_db!(db, p => sqlx::query_as(
        "SELECT id, name FROM upstream_providers WHERE active = TRUE ORDER BY name",
    ).fetch_all(p).await)?)
}

async fn linked(db: &Db, provider: ProviderId, subject: &str) -> AppResult<Option<PersonId>> {
    let row: Option<(PersonId,)> = on_db!(db, p => sqlx::query_as(
        "SELECT person_id FROM federated_identities WHERE provider_id = $1 AND subject = $2",
    ).bind(provider).bind(subject).fetch_optional(p).await)?;
    Ok(row.map(|r| r.0))
}

/// The active persons of `node`'s subtree whose attribute has this value (at most two: one is
/// a match, two are ambiguous).
async fn matching(
    db: &Db,
    node: NodeId,
    attribute: LinkAttribute,
    value: &str,
) -> AppResult<Vec<PersonId>> {
    macro_rules! by {
        ($col:literal) => {
            concat!(
                "SELECT p.id FROM persons p JOIN org_closure c ON c.descendant_id = p.org_id
                 WHERE c.ancestor_id = $1 AND p.",
                $col,
                " = $2 AND p.active = TRUE LIMIT 2"
            )
        };
    }
    let sql = match attribute {
        LinkAttribute::IdNumber => by!("id_number"),
        LinkAttribute::StaffNo => by!("staff_no"),
        LinkAttribute::RegistryNo => by!("registry_no"),
    };
    let rows: Vec<(PersonId,)> =
        on_db!(db, p => sqlx::query_as(sql).bind(node).bind(value).fetch_all(p).await)?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

/// The verified login of the person a provider vouched for, linking them on first use. Every
/// refusal and every new link is audited.
pub async fn verify(
    state: &AppState,
    a: &Assertion<'_>,
    meta: &RequestMeta,
) -> AppResult<Result<Verified, Refusal>> {
    let db = &state.db;
    let now = state.clock.now();
    let person = match linked(db, a.provider, a.subject).await? {
        Some(p) => Ok(p),
        None => match a.value.map(|v| a.attribute.normalize(v)) {
            Some(v) if !v.is_empty() => match matching(db, a.node, a.attribute, &v).await?[..] {
                [p] => Ok(p),
                [] => Err(Refusal::NoMatch),
                _ => Err(Refusal::Ambiguous),
            },
            _ => Err(Refusal::NoMatch),
        },
    };
    // Everything read before the write turn is taken (SQLite's BEGIN IMMEDIATE).
    let found = match person {
        Err(r) => Err(((None, Some(a.node)), r)),
        Ok(p) => {
            let org = org_of(state, p).await?;
            match accounts::find_by_person(db, p).await? {
                Some(acc)
                    if acc.person_active && kernel::tree::is_within(db, org, a.node).await? =>
                {
                    Ok((p, org, acc, policy::effective(state, org).await?))
                }
                _ => Err(((Some(p), Some(org)), Refusal::Unavailable)),
            }
        }
    };
    let network = policy::school_network(state, meta.ip.as_deref()).await?;
    let mut tx = db.begin().await?;
    let refuse = async |tx: &mut kernel::Tx,
                        ids: (Option<PersonId>, Option<NodeId>),
                        r: Refusal|
           -> AppResult<Result<Verified, Refusal>> {
        let name = format!("{}@{}", a.subject, a.provider_name);
        audit_failure(tx, ids, &name, meta, now, r.reason()).await?;
        Ok(Err(r))
    };
    let (person, org, account, policy) = match found {
        Ok(x) => x,
        Err((ids, r)) => {
            let out = refuse(&mut tx, ids, r).await?;
            tx.commit().await?;
            return Ok(out);
        }
    };
    let fresh = on_tx!(&mut tx, c => sqlx::query(
        "UPDATE federated_identities SET last_login_at = $3 WHERE provider_id = $1 AND subject = $2",
    ).bind(a.provider).bind(a.subject).bind(now).execute(c).await.map(|r| r.rows_affected()))?
        == 0;
    if fresh {
        let taken: Option<(String,)> = on_tx!(&mut tx, c => sqlx::query_as(
            "SELECT subject FROM federated_identities WHERE provider_id = $1 AND person_id = $2",
        ).bind(a.provider).bind(person).fetch_optional(c).await)?;
        if taken.is_some() {
            let out = refuse(&mut tx, (Some(person), Some(org)), Refusal::AlreadyLinked).await?;
            tx.commit().await?;
            return Ok(out);
        }
        on_tx!(&mut tx, c => sqlx::query(
            "INSERT INTO federated_identities (provider_id, subject, person_id, linked_at, last_login_at)
             VALUES ($1, $2, $3, $4, $4)",
        ).bind(a.provider).bind(a.subject).bind(person).bind(now)
        .execute(c).await.map(|r| r.rows_affected()))?;
        let ev = AuditEvent::new("auth.federation_link")
            .object("person", person)
            .node(org)
            .detail(serde_json::json!({
                "provider": a.provider.to_string(), "provider_name": a.provider_name,
                "subject": a.subject, "attribute": a.attribute.as_str(),
            }));
        let who = Who {
            id: Some(person),
            name: Some(&account.username),
        };
        audit::record(&mut tx, now, who, meta, ev).await?;
    }
    tx.commit().await?;
    Ok(Ok(Verified {
        policy,
        network,
        account,
        expired: false,
        upstream: Some(a.provider_name.to_owned()),
        remember: false,
        clear_failures: true,
    }))
}

/// A person's links, for their profile and the administrators: (provider name, subject, linked).
pub async fn links_of(
    db: &Db,
    person: PersonId,
) -> AppResult<Vec<(String, String, chrono::DateTime<chrono::Utc>)>> {
    Ok(on_db!(db, p => sqlx::query_as(
        "SELECT u.name, f.subject, f.linked_at FROM federated_identities f
         JOIN upstream_providers u ON u.id = f.provider_id WHERE f.person_id = $1 ORDER BY f.linked_at",
    ).bind(person).fetch_all(p).await)?)
}

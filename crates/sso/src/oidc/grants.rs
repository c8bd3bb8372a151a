//! The token endpoint's writes, grouped (`kernel::batch`): spending the code or refresh token,
//! the new grant, the new refresh token and the audit record of each grant, for every request
//! that arrived while the previous group committed. A request is answered after its group
//! commits; single use is still decided by the database, in the order the requests arrived.

use super::token::Issue;
use crate::apps::Application;
use chrono::{DateTime, Duration, Utc};
use kernel::audit::{self, AuditEvent, Who};
use kernel::batch::{Batch, BoxFuture};
use kernel::on_tx;
use kernel::secret::token_hash;
use kernel::{AppResult, AppState, ApplicationId, GrantId, PersonId, RequestMeta, SessionId, Tx};
use serde_json::json;
use std::collections::HashSet;

/// What the grant spends: nothing is written if it was already spent.
pub(super) enum Spend {
    /// An authorization code (its hash), and the grant its exchange creates.
    Code { hash: String, grant: GrantId },
    /// A refresh token (its hash), rotated.
    Refresh { hash: String },
}

/// A grant row to create (code exchange, password grant).
pub(super) struct NewGrant {
    pub application: ApplicationId,
    pub session: Option<SessionId>,
    pub nonce: Option<String>,
}

pub(super) struct Write {
    spend: Option<Spend>,
    grant: Option<NewGrant>,
    grant_id: GrantId,
    person: PersonId,
    scope: String,
    auth_time: DateTime<Utc>,
    /// The new refresh token's hash and expiry.
    refresh: Option<(String, DateTime<Utc>)>,
    now: DateTime<Utc>,
    meta: RequestMeta,
    event: AuditEvent,
}

impl Write {
    /// The writes every grant makes: its refresh token, if any, and its audit record.
    pub fn new(
        state: &AppState,
        meta: &RequestMeta,
        app: &Application,
        g: &Issue,
        refresh: Option<String>,
        how: &str,
    ) -> Self {
        let now = state.clock.now();
        let expires = now + Duration::days(i64::from(state.config.sso.refresh_token_days));
        Self {
            spend: None,
            grant: None,
            grant_id: g.grant,
            person: g.person,
            scope: g.scope.clone(),
            auth_time: g.auth_time,
            refresh: refresh.map(|r| (token_hash(&r), expires)),
            now,
            meta: meta.clone(),
            event: AuditEvent::new("sso.token_issued")
                .object("application", app.id)
                .node(app.node_id)
                .detail(json!({ "client_id": app.client_id, "grant_type": how, "grant": g.grant.to_string(), "scope": g.scope })),
        }
    }

    /// Written only if `s` was not spent yet.
    pub fn spending(mut self, s: Spend) -> Self {
        self.spend = Some(s);
        self
    }

    pub fn creating(mut self, g: NewGrant) -> Self {
        self.grant = Some(g);
        self
    }
}

pub(super) struct Grants;

impl Batch for Grants {
    type Item = Write;
    /// Whether the grant was written (false: what it spends was already spent).
    type Output = bool;

    /// A few statements for the whole group: one update spends the codes, one the refresh
    /// tokens (each says which it spent: of two requests spending the same one, the first
    /// wins), then one insert each for the grants, the refresh tokens and the audit records.
    fn write<'a>(
        _: &'a AppState,
        tx: &'a mut Tx,
        items: &'a [Write],
    ) -> BoxFuture<'a, AppResult<Vec<bool>>> {
        Box::pin(async move {
            let mut codes = spend_codes(tx, items).await?;
            let mut refreshes = spend_refresh_tokens(tx, items).await?;
            let won: Vec<bool> = items
                .iter()
                .map(|w| match &w.spend {
                    Some(Spend::Code { hash, .. }) => codes.remove(hash),
                    Some(Spend::Refresh { hash }) => refreshes.remove(hash),
                    None => true,
                })
                .collect();
            let written: Vec<&Write> = items
                .iter()
                .zip(&won)
                .filter(|(_, w)| **w)
                .map(|(i, _)| i)
                .collect();
            insert_grants(tx, &written).await?;
            insert_refresh_tokens(tx, &written).await?;
            let entries: Vec<audit::Entry<'_>> = written
                .iter()
                .map(|w| audit::Entry {
                    at: w.now,
                    who: Who {
                        id: Some(w.person),
                        name: None,
                    },
                    meta: &w.meta,
                    event: &w.event,
                })
                .collect();
            audit::record_all(tx, &entries).await?;
            Ok(won)
        })
    }
}

/// Marks the group's codes used, each with the grant its exchange creates; returns those it
/// marked (a code already used, or unknown, is not among them).
async fn spend_codes(tx: &mut Tx, items: &[Write]) -> AppResult<HashSet<String>> {
    let codes: Vec<(&String, GrantId, DateTime<Utc>)> = items
        .iter()
        .filter_map(|w| match &w.spend {
            Some(Spend::Code { hash, grant }) => Some((hash, *grant, w.now)),
            _ => None,
        })
        .collect();
    if codes.is_empty() {
        return Ok(HashSet::new());
    }
    let spent: Vec<(String,)> = on_tx!(&mut *tx, c => {
        let mut qb = sqlx::QueryBuilder::new("UPDATE oauth_codes SET used_at = CASE code_hash");
        for (hash, _, now) in &codes {
            qb.push(" WHEN ").push_bind(*hash).push(" THEN ").push_bind(*now);
        }
        qb.push(" END, grant_id = CASE code_hash");
        for (hash, grant, _) in &codes {
            qb.push(" WHEN ").push_bind(*hash).push(" THEN ").push_bind(*grant);
        }
        qb.push(" END WHERE used_at IS NULL AND code_hash IN (");
        let mut list = qb.separated(", ");
        for (hash, _, _) in &codes {
            list.push_bind(*hash);
        }
        qb.push(") RETURNING code_hash");
        qb.build_query_as().fetch_all(&mut *c).await
    })?;
    Ok(spent.into_iter().map(|(h,)| h).collect())
}

/// Marks the group's refresh tokens used (rotated); returns those it marked.
async fn spend_refresh_tokens(tx: &mut Tx, items: &[Write]) -> AppResult<HashSet<String>> {
    let tokens: Vec<(&String, DateTime<Utc>)> = items
        .iter()
        .filter_map(|w| match &w.spend {
            Some(Spend::Refresh { hash }) => Some((hash, w.now)),
            _ => None,
        })
        .collect();
    if tokens.is_empty() {
        return Ok(HashSet::new());
    }
    let spent: Vec<(String,)> = on_tx!(&mut *tx, c => {
        let mut qb =
            sqlx::QueryBuilder::new("UPDATE oauth_refresh_tokens SET used_at = CASE token_hash");
        for (hash, now) in &tokens {
            qb.push(" WHEN ").push_bind(*hash).push(" THEN ").push_bind(*now);
        }
        // Not if its grant was revoked since the request read it.
        qb.push(
            " END WHERE used_at IS NULL AND NOT EXISTS (SELECT 1 FROM oauth_grants g
               WHERE g.id = oauth_refresh_tokens.grant_id AND g.revoked_at IS NOT NULL)
             AND token_hash IN (",
        );
        let mut list = qb.separated(", ");
        for (hash, _) in &tokens {
            list.push_bind(*hash);
        }
        qb.push(") RETURNING token_hash");
        qb.build_query_as().fetch_all(&mut *c).await
    })?;
    Ok(spent.into_iter().map(|(h,)| h).collect())
}

async fn insert_grants(tx: &mut Tx, written: &[&Write]) -> AppResult<()> {
    let grants: Vec<(&Write, &NewGrant)> = written
        .iter()
        .filter_map(|w| w.grant.as_ref().map(|g| (*w, g)))
        .collect();
    if grants.is_empty() {
        return Ok(());
    }
    on_tx!(&mut *tx, c => {
        let mut qb = sqlx::QueryBuilder::new(
            "INSERT INTO oauth_grants (id, application_id, person_id, session_id, scope, nonce, auth_time, created_at) ",
        );
        qb.push_values(&grants, |mut b, (w, g)| {
            b.push_bind(w.grant_id)
                .push_bind(g.application)
                .push_bind(w.person)
                .push_bind(g.session)
                .push_bind(&w.scope)
                .push_bind(&g.nonce)
                .push_bind(w.auth_time)
                .push_bind(w.now);
        });
        qb.build().execute(&mut *c).await.map(|_| ())
    })?;
    Ok(())
}

async fn insert_refresh_tokens(tx: &mut Tx, written: &[&Write]) -> AppResult<()> {
    let tokens: Vec<(&Write, &(String, DateTime<Utc>))> = written
        .iter()
        .filter_map(|w| w.refresh.as_ref().map(|r| (*w, r)))
        .collect();
    if tokens.is_empty() {
        return Ok(());
    }
    on_tx!(&mut *tx, c => {
        let mut qb = sqlx::QueryBuilder::new(
            "INSERT INTO oauth_refresh_tokens (token_hash, grant_id, created_at, expires_at) ",
        );
        qb.push_values(&tokens, |mut b, (w, (hash, expires))| {
            b.push_bind(hash)
                .push_bind(w.grant_id)
                .push_bind(w.now)
                .push_bind(*expires);
        });
        qb.build().execute(&mut *c).await.map(|_| ())
    })?;
    Ok(())
}

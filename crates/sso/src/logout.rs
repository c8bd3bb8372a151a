//! Single logout. When a portal session ends, however it ends (logout, RP-initiated logout, idle
//! or absolute timeout, password change, deactivation, an administrator ending it), every
//! application that session signed in to is told: OIDC grants from it are revoked and their
//! applications receive a back-channel logout token; CAS services receive a SAML
//! `logoutRequest` naming their service ticket.
//!
//! A sweep finds sessions that ended recently and still have live grants or tickets; claiming a
//! grant or ticket is a conditional update, so with several nodes each is told once.

use crate::apps;
use crate::tokens;
use chrono::Duration;
use kernel::audit::{self, AuditEvent, Who};
use kernel::{
    AppResult, AppState, ApplicationId, GrantId, PersonId, RequestMeta, SessionId, on_db,
};
use serde_json::{Map, Value, json};

/// How often the server sweeps.
pub const SWEEP_SECONDS: u64 = 2;

#[derive(sqlx::FromRow)]
struct EndedGrant {
    id: GrantId,
    application_id: ApplicationId,
    person_id: PersonId,
    session_id: SessionId,
}

#[derive(sqlx::FromRow)]
struct EndedTicket {
    ticket: String,
    application_id: ApplicationId,
    person_id: PersonId,
    service: String,
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(5))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_default()
}

/// Tells applications about sessions that ended in the last day. Returns how many grants and
/// tickets were ended.
pub async fn propagate(state: &AppState) -> AppResult<u64> {
    let now = state.clock.now();
    let since = now - Duration::days(1);
    let grants: Vec<EndedGrant> = on_db!(&state.db, p => sqlx::query_as(
        "SELECT g.id, g.application_id, g.person_id, g.session_id FROM sessions s
         JOIN oauth_grants g ON g.session_id = s.id
         WHERE s.ended_at >= $1 AND g.revoked_at IS NULL",
    ).bind(since).fetch_all(p).await)?;
    let tickets: Vec<EndedTicket> = on_db!(&state.db, p => sqlx::query_as(
        "SELECT t.ticket, t.application_id, t.person_id, t.service FROM sessions s
         JOIN cas_tickets t ON t.session_id = s.id
         WHERE s.ended_at >= $1 AND t.validated_at IS NOT NULL AND t.logged_out_at IS NULL",
    ).bind(since).fetch_all(p).await)?;
    let mut n = 0;
    let client = http();
    let mut told: Vec<(ApplicationId, SessionId)> = Vec::new();
    for g in grants {
        let claimed = on_db!(&state.db, p => sqlx::query(
            "UPDATE oauth_grants SET revoked_at = $2, revoke_reason = 'session_ended' WHERE id = $1 AND revoked_at IS NULL",
        ).bind(g.id).bind(now).execute(p).await.map(|r| r.rows_affected()))?;
        if claimed == 0 {
            continue;
        }
        n += 1;
        // One logout token per application and session, however many grants.
        if told.contains(&(g.application_id, g.session_id)) {
            continue;
        }
        told.push((g.application_id, g.session_id));
        let Some(app) = apps::get(&state.db, g.application_id).await? else {
            continue;
        };
        let Some(uri) = app.backchannel_logout_uri.clone() else {
            continue;
        };
        let client_id = app.client_id.clone().unwrap_or_default();
        let mut c = Map::new();
        c.insert("sub".into(), g.person_id.to_string().into());
        c.insert("sid".into(), g.session_id.to_string().into());
        c.insert("jti".into(), kernel::secret::random_token()[..22].into());
        c.insert(
            "events".into(),
            json!({"http://schemas.openid.net/event/backchannel-logout": {}}),
        );
        let token = tokens::logout_token(state, &app.id_token_alg, &client_id, c).await?;
        let outcome = client
            .post(&uri)
            .form(&[("logout_token", token)])
            .send()
            .await
            .map(|r| r.status().as_u16());
        audit_notice(state, &app, g.person_id, "oidc_backchannel", outcome).await?;
    }
    for t in tickets {
        let claimed = on_db!(&state.db, p => sqlx::query(
            "UPDATE cas_tickets SET logged_out_at = $2 WHERE ticket = $1 AND logged_out_at IS NULL",
        ).bind(&t.ticket).bind(now).execute(p).await.map(|r| r.rows_affected()))?;
        if claimed == 0 {
            continue;
        }
        n += 1;
        let Some(app) = apps::get(&state.db, t.application_id).await? else {
            continue;
        };
        if !app.single_logout {
            continue;
        }
        let body = crate::cas::logout_request(&t.ticket, now);
        let outcome = client
            .post(&t.service)
            .form(&[("logoutRequest", body)])
            .send()
            .await
            .map(|r| r.status().as_u16());
        audit_notice(state, &app, t.person_id, "cas_single_logout", outcome).await?;
    }
    Ok(n)
}

async fn audit_notice(
    state: &AppState,
    app: &apps::Application,
    person: PersonId,
    kind: &str,
    outcome: Result<u16, reqwest::Error>,
) -> AppResult<()> {
    let (ok, detail): (bool, Value) = match outcome {
        Ok(status) => (
            (200..300).contains(&status),
            json!({ "kind": kind, "status": status }),
        ),
        Err(e) => (false, json!({ "kind": kind, "error": e.to_string() })),
    };
    let mut ev = AuditEvent::new("sso.logout_notified")
        .object("application", app.id)
        .node(app.node_id)
        .detail(detail);
    if !ok {
        ev = ev.outcome(kernel::Outcome::Failure);
    }
    audit::record_alone(
        &state.db,
        state.clock.now(),
        Who {
            id: Some(person),
            name: None,
        },
        &RequestMeta::cli(),
        ev,
    )
    .await
}

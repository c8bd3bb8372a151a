//! The CAS server (protocol 3.0, with the 1.0 and 2.0 endpoints): `/cas/login` issues service
//! tickets to registered services, the validate endpoints redeem them once within
//! `sso.code_seconds`, `/cas/logout` ends the portal session (single logout follows, see
//! [`crate::logout`]). Errors use the protocol's codes, never an HTTP 500 for bad input.

use crate::apps;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Duration, Utc};
use kernel::audit::{self, AuditEvent, Outcome, Who};
use kernel::{AppError, AppResult, AppState, PersonId, RequestMeta, on_db};
use serde::Deserialize;
use serde_json::{Value, json};
use web::auth::url_encode;
use web::{MaybeSession, Meta};

#[derive(Debug, Deserialize, Default)]
pub struct LoginQuery {
    service: Option<String>,
    renew: Option<String>,
    gateway: Option<String>,
    /// Set by this endpoint when it sends the person to log in for `renew`.
    jy_login_after: Option<i64>,
}

fn flag(v: &Option<String>) -> bool {
    v.as_deref().is_some_and(|s| !s.is_empty() && s != "false")
}

fn with_param(url: &str, k: &str, v: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{k}={}", url_encode(v))
}

pub async fn login(
    State(state): State<AppState>,
    MaybeSession(session): MaybeSession,
    Meta(meta): Meta,
    Query(q): Query<LoginQuery>,
) -> AppResult<Response> {
    let Some(service) = q.service.clone().filter(|s| !s.is_empty()) else {
        // No service: this is just the portal's login.
        return Ok(Redirect::to(if session.is_some() { "/" } else { "/login" }).into_response());
    };
    let app = apps::cas_service_for(&state.db, &service)
        .await?
        .ok_or(AppError::BadRequest("sso.unknown_service"))?;
    let renew = flag(&q.renew);
    // The login mark this endpoint set counts only for a short while, so a crafted old mark
    // cannot pass an old session off as a new login.
    let now = state.clock.now().timestamp();
    let fresh = |auth_time: DateTime<Utc>| {
        q.jy_login_after.is_some_and(|t| {
            auth_time.timestamp() >= t
                && now - t <= crate::oidc::authorize::LOGIN_ROUND_TRIP_SECONDS
        })
    };
    let usable = session
        .as_ref()
        .filter(|s| !s.actor.must_change_password && (!renew || fresh(s.auth_time)));
    let Some(s) = usable else {
        // Gateway: never ask for credentials; go back without a ticket.
        if flag(&q.gateway) && !renew {
            return Ok(web::redirect(&service));
        }
        let mut next = format!("/cas/login?service={}", url_encode(&service));
        if renew {
            next.push_str(&format!(
                "&renew=true&jy_login_after={}",
                state.clock.now().timestamp()
            ));
        }
        return Ok(Redirect::to(&format!("/login?next={}", url_encode(&next))).into_response());
    };
    if !apps::may_use(&state.db, &app, &s.actor).await? {
        return Err(AppError::Forbidden);
    }
    let now = state.clock.now();
    let ticket = format!("ST-{}", kernel::secret::random_token());
    let primary = renew || fresh(s.auth_time);
    let mut tx = state.db.begin().await?;
    kernel::on_tx!(&mut tx, c => sqlx::query(
        "INSERT INTO cas_tickets (ticket, application_id, person_id, session_id, service, primary_auth, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    ).bind(&ticket).bind(app.id).bind(s.actor.person_id).bind(s.session_id).bind(&service).bind(primary)
    .bind(now).bind(now + Duration::seconds(i64::from(state.config.sso.code_seconds)))
    .execute(c).await.map(|r| r.rows_affected()))?;
    audit::record(
        &mut tx,
        now,
        Who::from(&s.actor),
        &meta,
        AuditEvent::new("sso.cas_ticket_issued")
            .object("application", app.id)
            .node(app.node_id)
            .detail(json!({ "service": service })),
    )
    .await?;
    tx.commit().await?;
    Ok(web::redirect(&with_param(&service, "ticket", &ticket)))
}

#[derive(Debug, Deserialize, Default)]
pub struct LogoutQuery {
    service: Option<String>,
    url: Option<String>,
}

pub async fn logout(
    State(state): State<AppState>,
    MaybeSession(session): MaybeSession,
    Meta(meta): Meta,
    Query(q): Query<LogoutQuery>,
) -> AppResult<Response> {
    if let Some(s) = &session {
        identity::login::logout(&state, &s.actor, s.session_id, &meta).await?;
        crate::logout::propagate(&state).await?;
    }
    // Only to a registered service: no open redirect.
    let target = match q.service.or(q.url).filter(|s| !s.is_empty()) {
        Some(t) if apps::cas_service_for(&state.db, &t).await?.is_some() => t,
        _ => "/login".to_owned(),
    };
    let jar = axum_extra::extract::CookieJar::new()
        .remove(axum_extra::extract::cookie::Cookie::build(web::auth::SESSION_COOKIE).path("/"));
    Ok((jar, web::redirect(&target)).into_response())
}

#[derive(Debug, Deserialize, Default)]
pub struct ValidateQuery {
    service: Option<String>,
    ticket: Option<String>,
    renew: Option<String>,
    format: Option<String>,
}

/// A redeemed ticket: who.
struct Redeemed {
    person: PersonId,
    /// The service may receive identifiers carrying the ID number.
    numbers: bool,
}

#[derive(sqlx::FromRow)]
struct TicketRow {
    application_id: kernel::ApplicationId,
    person_id: PersonId,
    service: String,
    primary_auth: bool,
    expires_at: DateTime<Utc>,
    validated_at: Option<DateTime<Utc>>,
}

/// Redeems a ticket once. Errors are (code, description) as CAS names them.
async fn redeem(
    state: &AppState,
    meta: &RequestMeta,
    q: &ValidateQuery,
) -> AppResult<Result<Redeemed, (&'static str, String)>> {
    let (Some(service), Some(ticket)) = (
        q.service.as_deref().filter(|s| !s.is_empty()),
        q.ticket.as_deref().filter(|s| !s.is_empty()),
    ) else {
        return Ok(Err((
            "INVALID_REQUEST",
            "service and ticket are required".into(),
        )));
    };
    if !ticket.starts_with("ST-") {
        return Ok(Err((
            "INVALID_TICKET_SPEC",
            format!("ticket {ticket} is not a service ticket"),
        )));
    }
    let now = state.clock.now();
    let row: Option<TicketRow> = on_db!(&state.db, p => sqlx::query_as(
        "SELECT application_id, person_id, service, primary_auth, expires_at, validated_at FROM cas_tickets WHERE ticket = $1",
    ).bind(ticket).fetch_optional(p).await)?;
    let unknown = || Err(("INVALID_TICKET", format!("ticket {ticket} not recognized")));
    let Some(row) = row else { return Ok(unknown()) };
    // Single use: whatever the outcome, the ticket is spent now.
    let won = on_db!(&state.db, p => sqlx::query(
        "UPDATE cas_tickets SET validated_at = $2 WHERE ticket = $1 AND validated_at IS NULL",
    ).bind(ticket).bind(now).execute(p).await.map(|r| r.rows_affected()))?;
    if won == 0 || row.validated_at.is_some() || row.expires_at <= now {
        return Ok(unknown());
    }
    if row.service != service {
        return Ok(Err((
            "INVALID_SERVICE",
            format!("ticket {ticket} does not belong to service {service}"),
        )));
    }
    if flag(&q.renew) && !row.primary_auth {
        return Ok(Err((
            "INVALID_TICKET_SPEC",
            "renew was requested but the ticket came from an existing session".into(),
        )));
    }
    let Some(app) = apps::get(&state.db, row.application_id).await? else {
        return Ok(unknown());
    };
    audit::record_alone(
        &state.db,
        now,
        Who {
            id: Some(row.person_id),
            name: None,
        },
        meta,
        AuditEvent::new("sso.cas_ticket_validated")
            .object("application", app.id)
            .node(app.node_id),
    )
    .await?;
    let numbers = apps::releases_numbers(state, &app).await?;
    Ok(Ok(Redeemed {
        person: row.person_id,
        numbers,
    }))
}

async fn audit_failure(state: &AppState, meta: &RequestMeta, code: &str) -> AppResult<()> {
    audit::record_alone(
        &state.db,
        state.clock.now(),
        Who {
            id: None,
            name: None,
        },
        meta,
        AuditEvent::new("sso.cas_validation_failed")
            .outcome(Outcome::Failure)
            .detail(json!({ "code": code })),
    )
    .await
}

/// CAS 1.0: `yes\nusername\n` or `no\n\n`.
pub async fn validate(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Query(q): Query<ValidateQuery>,
) -> AppResult<Response> {
    let body = match redeem(&state, &meta, &q).await? {
        Ok(r) => format!(
            "yes\n{}\n",
            crate::claims::cas_user(&state.db, r.person, r.numbers).await?
        ),
        Err((code, _)) => {
            audit_failure(&state, &meta, code).await?;
            "no\n\n".to_owned()
        }
    };
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response())
}

/// CAS 2.0 `/serviceValidate` (attributes included, as most clients accept) and CAS 3.0
/// `/p3/serviceValidate`, in XML or (`format=JSON`) JSON. Proxy granting is not offered.
pub async fn service_validate(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Query(q): Query<ValidateQuery>,
) -> AppResult<Response> {
    let json_format = q
        .format
        .as_deref()
        .is_some_and(|f| f.eq_ignore_ascii_case("json"));
    let result = match redeem(&state, &meta, &q).await? {
        Ok(r) => {
            let user = crate::claims::cas_user(&state.db, r.person, r.numbers).await?;
            let attrs = attributes(&state, r.person, r.numbers).await?;
            Ok((user, attrs))
        }
        Err((code, desc)) => {
            audit_failure(&state, &meta, code).await?;
            Err((code, desc))
        }
    };
    let mut res = if json_format {
        let body = match result {
            Ok((user, attrs)) => {
                json!({"serviceResponse": {"authenticationSuccess": {"user": user, "attributes": attrs}}})
            }
            Err((code, desc)) => {
                json!({"serviceResponse": {"authenticationFailure": {"code": code, "description": desc}}})
            }
        };
        axum::Json(body).into_response()
    } else {
        let body = match result {
            Ok((user, attrs)) => success_xml(&user, &attrs),
            Err((code, desc)) => format!(
                "<cas:serviceResponse xmlns:cas=\"http://www.yale.edu/tp/cas\">\n  <cas:authenticationFailure code=\"{code}\">{}</cas:authenticationFailure>\n</cas:serviceResponse>\n",
                xml_escape(&desc)
            ),
        };
        (
            [(header::CONTENT_TYPE, "application/xml; charset=utf-8")],
            body,
        )
            .into_response()
    };
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

/// The person's attributes for a CAS service: the `profile` and `edu` claims, flattened.
async fn attributes(state: &AppState, person: PersonId, numbers: bool) -> AppResult<Value> {
    let c = crate::claims::for_person(&state.db, person, "profile edu", numbers)
        .await?
        .unwrap_or_default();
    let edu = c.get("edu").cloned().unwrap_or(Value::Null);
    let roles: Vec<Value> = edu["roles"]
        .as_array()
        .map(|rs| rs.iter().map(|r| r["role"].clone()).collect())
        .unwrap_or_default();
    let classes: Vec<Value> = edu["classes"]
        .as_array()
        .map(|cs| cs.iter().map(|c| c["name"].clone()).collect())
        .unwrap_or_default();
    Ok(json!({
        "personId": person.to_string(),
        "name": c.get("name"),
        "gender": c.get("gender"),
        "roles": roles,
        "schoolCode": edu["school_code"],
        "classes": classes,
        "staffNo": edu["staff_no"],
        "registryNo": edu["registry_no"],
    }))
}

fn success_xml(user: &str, attrs: &Value) -> String {
    let mut a = String::new();
    if let Some(map) = attrs.as_object() {
        for (k, v) in map {
            let values: Vec<String> = match v {
                Value::Array(items) => items.iter().filter_map(scalar).collect(),
                other => scalar(other).into_iter().collect(),
            };
            for val in values {
                a.push_str(&format!("      <cas:{k}>{}</cas:{k}>\n", xml_escape(&val)));
            }
        }
    }
    format!(
        "<cas:serviceResponse xmlns:cas=\"http://www.yale.edu/tp/cas\">\n  <cas:authenticationSuccess>\n    <cas:user>{}</cas:user>\n    <cas:attributes>\n{a}    </cas:attributes>\n  </cas:authenticationSuccess>\n</cas:serviceResponse>\n",
        xml_escape(user)
    )
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

pub fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

/// The SAML `LogoutRequest` CAS single logout posts to a service.
pub fn logout_request(ticket: &str, now: DateTime<Utc>) -> String {
    format!(
        "<samlp:LogoutRequest xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"LR-{}\" Version=\"2.0\" IssueInstant=\"{}\"><saml:NameID>@NOT_USED@</saml:NameID><samlp:SessionIndex>{}</samlp:SessionIndex></samlp:LogoutRequest>",
        &kernel::secret::random_token()[..16],
        now.format("%Y-%m-%dT%H:%M:%SZ"),
        xml_escape(ticket)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn success_xml_escapes_and_repeats_multi_valued_attributes() {
        let xml = success_xml(
            "t<1>",
            &json!({"roles": ["teacher", "head_teacher"], "name": "王&李"}),
        );
        assert!(xml.contains("<cas:user>t&lt;1&gt;</cas:user>"));
        assert!(xml.contains("<cas:roles>teacher</cas:roles>"));
        assert!(xml.contains("<cas:roles>head_teacher</cas:roles>"));
        assert!(xml.contains("<cas:name>王&amp;李</cas:name>"));
    }
}

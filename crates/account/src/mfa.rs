//! The person's second factor: set up an authenticator app (TOTP), see and renew recovery
//! codes, turn it off. Administrators whose policy asks for it are sent here until they have one.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use identity::login::MfaError;
use identity::mfa;
use kernel::audit::{self, AuditEvent, Who};
use kernel::{AppResult, AppState, RequestMeta};
use serde::Deserialize;
use web::CsrfForm;
use web::auth::Session;
use web::ctx::{PageCtx, render};
use web::meta::Meta;

#[derive(Template)]
#[template(path = "mfa.html")]
struct MfaPage {
    ctx: PageCtx,
    /// Confirmed and in use.
    enabled: bool,
    /// Set-up in progress: the secret, its QR code and URL.
    setup: Option<Setup>,
    recovery_left: i64,
    /// Shown once, right after they were made.
    new_codes: Vec<String>,
    required: bool,
    error: Option<String>,
    /// The person's passkeys; `None` where WebAuthn cannot work at this address.
    passkeys: Option<Vec<identity::passkey::PasskeyInfo>>,
}

struct Setup {
    secret: String,
    qr_svg: String,
}

#[derive(Deserialize)]
pub struct Notice {
    done: Option<String>,
}

async fn page(
    state: &AppState,
    session: &Session,
    notice: Option<&str>,
    new_codes: Vec<String>,
    error: Option<&str>,
) -> AppResult<MfaPage> {
    let ctx = PageCtx::for_session(session).with_notice(notice);
    let person = session.actor.person_id;
    let totp = mfa::totp_of(&state.db, person).await?;
    let enabled = totp.as_ref().is_some_and(|t| t.confirmed_at.is_some());
    let setup = match totp {
        Some(t) if t.confirmed_at.is_none() => {
            let account = identity::accounts::find_by_person(&state.db, person)
                .await?
                .map(|a| a.username)
                .unwrap_or_default();
            let url = mfa::otpauth_url(&t.secret, ctx.t("app.name"), &account);
            Some(Setup {
                qr_svg: mfa::qr_svg(&url)?,
                secret: t.secret,
            })
        }
        _ => None,
    };
    Ok(MfaPage {
        enabled,
        setup,
        recovery_left: mfa::recovery_codes_left(&state.db, person).await?,
        new_codes,
        required: session.mfa_pending,
        error: error.map(|k| ctx.t(k).to_owned()),
        passkeys: match identity::passkey::relying_party(state) {
            Some(_) => Some(identity::passkey::list(&state.db, person).await?),
            None => None,
        },
        ctx,
    })
}

pub async fn show(
    State(state): State<AppState>,
    session: Session,
    Query(n): Query<Notice>,
) -> AppResult<Response> {
    let p = page(&state, &session, n.done.as_deref(), Vec::new(), None).await?;
    Ok(render(&p))
}

#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
}

async fn audited(
    state: &AppState,
    session: &Session,
    meta: &RequestMeta,
    action: &'static str,
    tx: &mut kernel::Tx,
) -> AppResult<()> {
    audit::record(
        tx,
        state.clock.now(),
        Who::from(&session.actor),
        meta,
        AuditEvent::new(action)
            .object("person", session.actor.person_id)
            .node(session.actor.org_id),
    )
    .await
}

/// Starts setting up an authenticator app.
pub async fn begin(
    State(state): State<AppState>,
    session: Session,
    CsrfForm(_): CsrfForm<CodeForm>,
) -> AppResult<Response> {
    let mut tx = state.db.begin().await?;
    mfa::begin_totp(&mut tx, session.actor.person_id, state.clock.now()).await?;
    tx.commit().await?;
    Ok(Redirect::to("/profile/mfa").into_response())
}

/// Confirms the set-up with a first code, shows the recovery codes once, and counts this
/// session as two-factor from now on.
pub async fn confirm(
    State(state): State<AppState>,
    session: Session,
    Meta(meta): Meta,
    CsrfForm(form): CsrfForm<CodeForm>,
) -> AppResult<Response> {
    let Some(t) = mfa::totp_of(&state.db, session.actor.person_id).await? else {
        return Ok(Redirect::to("/profile/mfa").into_response());
    };
    if t.confirmed_at.is_some() {
        return Ok(Redirect::to("/profile/mfa").into_response());
    }
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let Some(codes) = mfa::confirm_totp(&mut tx, &t, &form.code, now).await? else {
        drop(tx);
        let p = page(&state, &session, None, Vec::new(), Some("mfa.wrong_code")).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&p)).into_response());
    };
    let amr = identity::sessions::with_method(&session.amr, "otp", true);
    identity::sessions::set_amr(&mut tx, session.session_id, &amr).await?;
    audited(&state, &session, &meta, "auth.mfa_enrolled", &mut tx).await?;
    tx.commit().await?;
    let mut session = session;
    session.mfa_pending = false;
    let p = page(&state, &session, Some("mfa_enabled"), codes, None).await?;
    Ok(render(&p))
}

/// Checks a current code (or a recovery code) before a change to the second factor: the open
/// transaction to make the change in, or the page to answer with.
async fn proved(
    state: &AppState,
    session: &Session,
    meta: &RequestMeta,
    code: &str,
) -> AppResult<Result<kernel::Tx, Response>> {
    let refuse = |key: String| async move {
        let p = page(state, session, None, Vec::new(), None).await?;
        let p = MfaPage {
            error: Some(key),
            ..p
        };
        Ok::<_, kernel::AppError>(Err(
            (StatusCode::UNPROCESSABLE_ENTITY, render(&p)).into_response()
        ))
    };
    let ctx = PageCtx::for_session(session);
    match identity::login::reprove_second_factor(state, session.actor.person_id, code, meta).await {
        Ok(Some(tx)) => Ok(Ok(tx)),
        Ok(None) | Err(MfaError::Wrong { .. } | MfaError::Expired) => {
            refuse(ctx.t("mfa.wrong_code").to_owned()).await
        }
        Err(MfaError::Throttled(until)) => {
            refuse(crate::login::wait_message(&ctx, until, state.clock.now())).await
        }
        Err(MfaError::Other(e)) => Err(e),
    }
}

/// New recovery codes (the old ones stop working).
pub async fn renew_codes(
    State(state): State<AppState>,
    session: Session,
    Meta(meta): Meta,
    CsrfForm(form): CsrfForm<CodeForm>,
) -> AppResult<Response> {
    let mut tx = match proved(&state, &session, &meta, &form.code).await? {
        Ok(tx) => tx,
        Err(page) => return Ok(page),
    };
    let codes =
        mfa::new_recovery_codes(&mut tx, session.actor.person_id, state.clock.now()).await?;
    audited(
        &state,
        &session,
        &meta,
        "auth.recovery_codes_renewed",
        &mut tx,
    )
    .await?;
    tx.commit().await?;
    let p = page(
        &state,
        &session,
        Some("recovery_codes_renewed"),
        codes,
        None,
    )
    .await?;
    Ok(render(&p))
}

/// Turns the second factor off (an administrator will be asked to set it up again).
pub async fn remove(
    State(state): State<AppState>,
    session: Session,
    Meta(meta): Meta,
    CsrfForm(form): CsrfForm<CodeForm>,
) -> AppResult<Response> {
    let mut tx = match proved(&state, &session, &meta, &form.code).await? {
        Ok(tx) => tx,
        Err(page) => return Ok(page),
    };
    mfa::remove(&mut tx, session.actor.person_id).await?;
    let amr = identity::sessions::with_method(&session.amr, "otp", false);
    identity::sessions::set_amr(&mut tx, session.session_id, &amr).await?;
    audited(&state, &session, &meta, "auth.mfa_removed", &mut tx).await?;
    tx.commit().await?;
    Ok(Redirect::to("/profile/mfa?done=mfa_removed").into_response())
}

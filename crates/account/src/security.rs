//! A region's login policy (docs/login-security.md): its administrators choose the MLPS or the
//! modern profile, tune it within the profile's bounds, and list the school networks whose
//! classrooms share one address.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use identity::policy::{self, Policy, Profile};
use kernel::audit::{self, AuditEvent, Who};
use kernel::{AppError, AppResult, AppState, FieldErrors, NodeId};
use serde::Deserialize;
use web::CsrfForm;
use web::auth::Session;
use web::ctx::{PageCtx, render};
use web::meta::Meta;

#[derive(Template)]
#[template(path = "security.html")]
struct SecurityPage {
    ctx: PageCtx,
    regions: Vec<(NodeId, String)>,
    node_id: NodeId,
    /// The region has its own policy (else it inherits one, or the built-in default).
    own: bool,
    /// A school administrator sees the policy their region chose.
    readonly: bool,
    form: PolicyForm,
    errors: FieldErrors,
}

#[derive(Deserialize, Default, Clone)]
pub struct PolicyForm {
    node_id: String,
    profile: String,
    min_length: String,
    #[serde(default)]
    expiry_days: String,
    #[serde(default)]
    history: String,
    idle_minutes: String,
    absolute_hours: String,
    #[serde(default)]
    mfa_admins: Option<String>,
    #[serde(default)]
    trusted_networks: String,
    #[serde(default)]
    allow_http_redirects: Option<String>,
    #[serde(default)]
    release_registry_no: Option<String>,
    /// Empty or absent: not offered.
    #[serde(default)]
    remember_days: String,
}

impl PolicyForm {
    fn of(node: NodeId, p: &Policy) -> Self {
        Self {
            node_id: node.to_string(),
            profile: p.profile.as_str().to_owned(),
            min_length: p.min_length.to_string(),
            expiry_days: p.expiry_days.map(|d| d.to_string()).unwrap_or_default(),
            history: p.history.to_string(),
            idle_minutes: p.idle_minutes.to_string(),
            absolute_hours: p.absolute_hours.to_string(),
            mfa_admins: p.mfa_admins.then(|| "on".to_owned()),
            trusted_networks: p
                .trusted_networks
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n"),
            allow_http_redirects: p.allow_http_redirects.then(|| "on".to_owned()),
            release_registry_no: p.release_registry_no.then(|| "on".to_owned()),
            remember_days: p.remember_days.to_string(),
        }
    }

    /// The policy the form describes, or which fields are wrong.
    fn parse(&self) -> Result<Policy, FieldErrors> {
        let mut errors = FieldErrors::new();
        let mut num = |field: &str, v: &str| -> Option<u32> {
            let v = v.trim();
            match v.parse::<u32>() {
                Ok(n) => Some(n),
                Err(_) => {
                    errors.add(field, "policy.error.number");
                    None
                }
            }
        };
        let min_length = num("min_length", &self.min_length);
        let idle = num("idle_minutes", &self.idle_minutes);
        let absolute = num("absolute_hours", &self.absolute_hours);
        let remember = if self.remember_days.trim().is_empty() {
            Some(0)
        } else {
            num("remember_days", &self.remember_days)
        };
        let history = if self.history.trim().is_empty() {
            Some(0)
        } else {
            num("history", &self.history)
        };
        let expiry = if self.expiry_days.trim().is_empty() {
            None
        } else {
            num("expiry_days", &self.expiry_days)
        };
        let profile = Profile::parse(&self.profile);
        if profile.is_none() {
            errors.add("profile", "policy.error.profile");
        }
        let mut networks = Vec::new();
        let mut bad_network = false;
        for line in self.trusted_networks.lines() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            // A bare address is a network of one.
            let parsed = line
                .parse::<ipnet::IpNet>()
                .or_else(|_| line.parse::<std::net::IpAddr>().map(ipnet::IpNet::from));
            match parsed {
                Ok(n) => networks.push(n.trunc()),
                Err(_) => bad_network = true,
            }
        }
        let (
            Some(profile),
            Some(min_length),
            Some(idle),
            Some(absolute),
            Some(history),
            Some(remember),
        ) = (profile, min_length, idle, absolute, history, remember)
        else {
            if bad_network {
                errors.add("trusted_networks", "policy.error.network");
            }
            return Err(errors);
        };
        let p = Policy {
            profile,
            min_length,
            expiry_days: expiry,
            history,
            idle_minutes: idle,
            absolute_hours: absolute,
            mfa_admins: self.mfa_admins.is_some(),
            trusted_networks: networks,
            allow_http_redirects: self.allow_http_redirects.is_some(),
            release_registry_no: self.release_registry_no.is_some(),
            remember_days: remember,
        };
        let mut errors = p.validate();
        if bad_network {
            errors.add("trusted_networks", "policy.error.network");
        }
        if errors.is_empty() {
            Ok(p)
        } else {
            Err(errors)
        }
    }
}

async fn regions(state: &AppState, session: &Session) -> AppResult<Vec<(NodeId, String)>> {
    policy::regions_among(&state.db, &session.actor.admin_nodes()).await
}

/// The region asked for, if the actor administers it.
fn chosen(regions: &[(NodeId, String)], asked: Option<&str>) -> AppResult<NodeId> {
    match asked.filter(|s| !s.is_empty()) {
        Some(s) => {
            let id: NodeId = s.parse().map_err(|_| AppError::Forbidden)?;
            regions
                .iter()
                .find(|(n, _)| *n == id)
                .map(|(n, _)| *n)
                .ok_or(AppError::Forbidden)
        }
        None => regions.first().map(|(n, _)| *n).ok_or(AppError::Forbidden),
    }
}

#[derive(Deserialize)]
pub struct NodeQuery {
    node: Option<String>,
    done: Option<String>,
}

pub async fn show(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<NodeQuery>,
) -> AppResult<Response> {
    let regions = regions(&state, &session).await?;
    if regions.is_empty() {
        if !session.actor.has_role(kernel::Role::Admin) {
            return Err(AppError::Forbidden);
        }
        let p = policy::effective(&state, session.actor.org_id).await?;
        return Ok(render(&SecurityPage {
            ctx: PageCtx::for_session(&session),
            own: false,
            readonly: true,
            form: PolicyForm::of(session.actor.org_id, &p),
            regions,
            node_id: session.actor.org_id,
            errors: FieldErrors::new(),
        }));
    }
    let node = chosen(&regions, q.node.as_deref())?;
    let own = policy::own(&state.db, node).await?;
    let effective = match &own {
        Some(p) => p.clone(),
        None => (*policy::effective(&state, node).await?).clone(),
    };
    Ok(render(&SecurityPage {
        ctx: PageCtx::for_session(&session).with_notice(q.done.as_deref()),
        own: own.is_some(),
        readonly: false,
        form: PolicyForm::of(node, &effective),
        regions,
        node_id: node,
        errors: FieldErrors::new(),
    }))
}

pub async fn save(
    State(state): State<AppState>,
    session: Session,
    Meta(meta): Meta,
    CsrfForm(form): CsrfForm<PolicyForm>,
) -> AppResult<Response> {
    let regions = regions(&state, &session).await?;
    let node = chosen(&regions, Some(&form.node_id))?;
    let p = match form.parse() {
        Ok(p) => p,
        Err(errors) => {
            let page = SecurityPage {
                ctx: PageCtx::for_session(&session),
                own: policy::own(&state.db, node).await?.is_some(),
                readonly: false,
                regions,
                node_id: node,
                form,
                errors,
            };
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response());
        }
    };
    let before = policy::own(&state.db, node).await?;
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    policy::save(&mut tx, node, &p, Some(session.actor.person_id), now).await?;
    let describe = |p: &Policy| {
        serde_json::json!({
            "profile": p.profile.as_str(), "min_length": p.min_length, "expiry_days": p.expiry_days,
            "history": p.history, "idle_minutes": p.idle_minutes, "absolute_hours": p.absolute_hours,
            "mfa_admins": p.mfa_admins, "allow_http_redirects": p.allow_http_redirects,
            "release_registry_no": p.release_registry_no,
            "trusted_networks": p.trusted_networks.iter().map(ToString::to_string).collect::<Vec<_>>(),
        })
    };
    audit::record(
        &mut tx,
        now,
        Who::from(&session.actor),
        &meta,
        AuditEvent::new("auth.policy_changed")
            .object("node", node)
            .node(node)
            .detail(serde_json::json!({
                "before": before.as_ref().map(describe),
                "after": describe(&p),
            })),
    )
    .await?;
    tx.commit().await?;
    policy::forget_cached(&state);
    Ok(Redirect::to(&format!("/admin/security?node={node}&done=policy_saved")).into_response())
}

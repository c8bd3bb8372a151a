//! The person's notifications (the bell): every module's notifications to one person, newest
//! first; opening the page marks them read. The outbox's other channels (Web Push, e-mail, SMS,
//! WeCom, DingTalk) deliver the same notifications outside the platform.

use askama::Template;
use axum::extract::Query;
use axum::response::Response;
use kernel::notify::{self, Notification};
use kernel::outbox::{self, Channel, Settings};
use kernel::{AppError, AppResult, FieldErrors, Locale};
use serde::Deserialize;
use web::{CsrfForm, Page, PageCtx, redirect, render};

/// A notification's text in a language: its kind is the message's key, its arguments fill it.
pub fn text(locale: Locale, n: &Notification) -> String {
    let pairs = n.arg_pairs();
    let args: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    kernel::i18n::tf(locale, &n.kind, &args)
}

#[derive(Template)]
#[template(path = "notifications.html")]
struct ListPage {
    ctx: PageCtx,
    items: Vec<Notification>,
}

impl ListPage {
    fn text(&self, n: &Notification) -> String {
        text(self.ctx.locale, n)
    }
}

pub async fn list(page: Page) -> AppResult<Response> {
    let cx = page.cx();
    let items = notify::latest(cx.db(), cx.actor.person_id, 100).await?;
    notify::mark_all_read(cx.db(), cx.actor.person_id, cx.now).await?;
    Ok(render(&ListPage {
        ctx: page.ctx(),
        items,
    }))
}

/// The kinds of notification a person can turn off per channel.
pub const KINDS: &[&str] = &[
    "notice",
    "message",
    "leave",
    "attendance",
    "comment",
    "activity",
];

#[derive(Template)]
#[template(path = "notification_settings.html")]
struct SettingsPage {
    ctx: PageCtx,
    channels: Vec<Channel>,
    settings: Settings,
    kinds: &'static [&'static str],
    /// Web Push is on: the platform's public key, for this browser's subscription.
    push_key: Option<String>,
    errors: FieldErrors,
}

impl SettingsPage {
    /// The channels an address is typed for (a browser subscribes itself).
    fn typed(&self) -> Vec<Channel> {
        self.channels
            .iter()
            .copied()
            .filter(|c| *c != Channel::WebPush)
            .collect()
    }
    /// An address as shown: a browser's subscription by its push service's host.
    fn shown(&self, channel: &str, address: &str) -> String {
        if channel != Channel::WebPush.as_str() {
            return address.to_owned();
        }
        serde_json::from_str::<serde_json::Value>(address)
            .ok()
            .and_then(|v| v["endpoint"].as_str().and_then(|e| url::Url::parse(e).ok()))
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_default()
    }
    fn on(&self, kind: &str, channel: &Channel) -> bool {
        !self
            .settings
            .off
            .iter()
            .any(|(k, c)| k == kind && c == channel.as_str())
    }
    fn quiet_starts(&self) -> &str {
        self.settings
            .quiet
            .as_ref()
            .map(|q| q.0.as_str())
            .unwrap_or("")
    }
    fn quiet_ends(&self) -> &str {
        self.settings
            .quiet
            .as_ref()
            .map(|q| q.1.as_str())
            .unwrap_or("")
    }
}

async fn settings_page(
    page: &Page,
    errors: FieldErrors,
    done: Option<&str>,
) -> AppResult<Response> {
    let cx = page.cx();
    Ok(render(&SettingsPage {
        ctx: page.ctx().with_notice(done),
        channels: cx.state.config.notify.channels(),
        settings: outbox::settings(cx.db(), cx.actor.person_id).await?,
        kinds: KINDS,
        push_key: cx
            .state
            .config
            .notify
            .web_push
            .as_ref()
            .map(|w| w.public_key.clone()),
        errors,
    }))
}

#[derive(Deserialize)]
pub struct Done {
    done: Option<String>,
}

pub async fn settings(page: Page, Query(q): Query<Done>) -> AppResult<Response> {
    settings_page(&page, FieldErrors::new(), q.done.as_deref()).await
}

#[derive(Deserialize)]
pub struct AddressForm {
    channel: String,
    address: String,
}

fn configured(page: &Page, channel: &str) -> AppResult<Channel> {
    Channel::parse(channel)
        .filter(|c| page.state.config.notify.channels().contains(c))
        .ok_or_else(|| AppError::field("channel", "outbox.error.channel"))
}

pub async fn add_address(page: Page, CsrfForm(f): CsrfForm<AddressForm>) -> AppResult<Response> {
    let result = match configured(&page, &f.channel) {
        Ok(channel) => outbox::add_address(&page.cx(), channel, &f.address).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => Ok(redirect("/notifications/settings?done=settings_saved")),
        Err(AppError::Invalid(errors)) => settings_page(&page, errors, None).await,
        Err(e) => Err(e),
    }
}

pub async fn remove_address(page: Page, CsrfForm(f): CsrfForm<AddressForm>) -> AppResult<Response> {
    let channel = Channel::parse(&f.channel)
        .ok_or_else(|| AppError::field("channel", "outbox.error.channel"))?;
    outbox::remove_address(&page.cx(), channel, &f.address).await?;
    Ok(redirect("/notifications/settings?done=settings_saved"))
}

/// The kinds and channels left on (checked boxes, `kind:channel`); every other configured pair
/// is turned off.
pub async fn save_preferences(
    page: Page,
    CsrfForm(fields): CsrfForm<Vec<(String, String)>>,
) -> AppResult<Response> {
    let cx = page.cx();
    let on: Vec<&str> = fields
        .iter()
        .filter(|(k, _)| k == "on")
        .map(|(_, v)| v.as_str())
        .collect();
    for channel in cx.state.config.notify.channels() {
        for kind in KINDS {
            let pair = format!("{kind}:{}", channel.as_str());
            outbox::set_preference(&cx, kind, channel, on.contains(&pair.as_str())).await?;
        }
    }
    Ok(redirect("/notifications/settings?done=settings_saved"))
}

#[derive(Deserialize)]
pub struct QuietForm {
    #[serde(default)]
    starts: String,
    #[serde(default)]
    ends: String,
}

pub async fn save_quiet(page: Page, CsrfForm(f): CsrfForm<QuietForm>) -> AppResult<Response> {
    match outbox::set_quiet_hours(&page.cx(), &f.starts, &f.ends).await {
        Ok(()) => Ok(redirect("/notifications/settings?done=settings_saved")),
        Err(AppError::Invalid(errors)) => settings_page(&page, errors, None).await,
        Err(e) => Err(e),
    }
}

pub fn routes() -> axum::Router<kernel::AppState> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/notifications", get(list))
        .route("/notifications/settings", get(settings))
        .route("/notifications/settings/address", post(add_address))
        .route(
            "/notifications/settings/address/remove",
            post(remove_address),
        )
        .route(
            "/notifications/settings/preferences",
            post(save_preferences),
        )
        .route("/notifications/settings/quiet", post(save_quiet))
}

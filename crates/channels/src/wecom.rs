//! WeCom (企业微信) application messages: `GET /cgi-bin/gettoken?corpid=&corpsecret=` for the
//! access token, `POST /cgi-bin/message/send?access_token=` with a `textcard` to one user id,
//! with WeCom's duplicate check on (the same content to the same person within half an hour is
//! not delivered twice), so a send repeated after a crash is not seen twice. Shapes and error
//! codes: docs/notifications.md.

use crate::token::Token;
use crate::{Outgoing, SendError};
use kernel::config::WeComConfig;
use serde::Deserialize;

pub struct WeCom {
    config: WeComConfig,
    http: reqwest::Client,
    token: Token,
}

#[derive(Deserialize)]
struct Reply {
    errcode: i64,
    #[serde(default)]
    errmsg: String,
    #[serde(default)]
    access_token: String,
    #[serde(default)]
    expires_in: u64,
    #[serde(default)]
    msgid: String,
    #[serde(default)]
    invaliduser: String,
}

/// The access token is missing, invalid or expired: fetch another and send again.
const TOKEN_GONE: [i64; 3] = [40014, 42001, 41001];
/// Too many calls (per minute, per hour, or at once): wait and send again.
const RATE_LIMITED: [i64; 3] = [45009, 45033, 45011];
/// The system is busy: send again.
const BUSY: i64 = -1;

impl WeCom {
    pub fn new(config: WeComConfig, http: reqwest::Client) -> Self {
        Self {
            config,
            http,
            token: Token::default(),
        }
    }

    async fn fetch_token(&self) -> Result<(String, u64), SendError> {
        let url = format!("{}/cgi-bin/gettoken", self.config.api.trim_end_matches('/'));
        let r: Reply = self
            .http
            .get(url)
            .query(&[
                ("corpid", self.config.corp_id.as_str()),
                ("corpsecret", self.config.secret.expose()),
            ])
            .send()
            .await
            .map_err(SendError::network)?
            .json()
            .await
            .map_err(SendError::network)?;
        if r.errcode != 0 || r.access_token.is_empty() {
            return Err(SendError::from_code(
                "wecom token",
                r.errcode,
                &r.errmsg,
                &RATE_LIMITED,
                BUSY,
            ));
        }
        Ok((r.access_token, r.expires_in.max(60)))
    }

    pub async fn send(&self, m: &Outgoing<'_>, user: &str) -> Result<String, SendError> {
        for _ in 0..2 {
            let token = self.token.get(|| self.fetch_token()).await?;
            let url = format!(
                "{}/cgi-bin/message/send",
                self.config.api.trim_end_matches('/')
            );
            let body = serde_json::json!({
                "touser": user,
                "msgtype": "textcard",
                "agentid": self.config.agent_id,
                "textcard": {
                    "title": m.title,
                    "description": m.body,
                    "url": m.url,
                    "btntxt": "详情",
                },
                "enable_duplicate_check": 1,
                "duplicate_check_interval": 1_800,
            });
            let r: Reply = self
                .http
                .post(url)
                .query(&[("access_token", token.as_str())])
                .json(&body)
                .send()
                .await
                .map_err(SendError::network)?
                .json()
                .await
                .map_err(SendError::network)?;
            if TOKEN_GONE.contains(&r.errcode) {
                self.token.forget().await;
                continue;
            }
            if r.errcode != 0 {
                return Err(SendError::from_code(
                    "wecom send",
                    r.errcode,
                    &r.errmsg,
                    &RATE_LIMITED,
                    BUSY,
                ));
            }
            if r.invaliduser.split('|').any(|u| u == user) {
                return Err(SendError::permanent(format!("wecom: unknown user {user}")));
            }
            return Ok(r.msgid);
        }
        Err(SendError::retry(
            "wecom: the access token was refused twice".into(),
        ))
    }
}

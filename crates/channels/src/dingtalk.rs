//! DingTalk (钉钉) work notices: `GET /gettoken?appkey=&appsecret=` for the access token,
//! `POST /topapi/message/corpconversation/asyncsend_v2?access_token=` with an `action_card`
//! to one user id. DingTalk does not deliver the same content to the same person twice in a
//! day, so a send repeated after a crash is not seen twice. Shapes and error codes:
//! docs/notifications.md.

use crate::token::Token;
use crate::{Outgoing, SendError};
use kernel::config::DingTalkConfig;
use serde::Deserialize;

pub struct DingTalk {
    config: DingTalkConfig,
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
    task_id: Option<i64>,
}

/// The access token is invalid or expired: fetch another and send again.
const TOKEN_GONE: [i64; 3] = [40014, 42001, 88];
/// Too many calls: wait and send again.
const RATE_LIMITED: [i64; 3] = [90005, 90006, 90018];
const BUSY: i64 = -1;

impl DingTalk {
    pub fn new(config: DingTalkConfig, http: reqwest::Client) -> Self {
        Self {
            config,
            http,
            token: Token::default(),
        }
    }

    async fn fetch_token(&self) -> Result<(String, u64), SendError> {
        let url = format!("{}/gettoken", self.config.api.trim_end_matches('/'));
        let r: Reply = self
            .http
            .get(url)
            .query(&[
                ("appkey", self.config.app_key.as_str()),
                ("appsecret", self.config.app_secret.expose()),
            ])
            .send()
            .await
            .map_err(SendError::network)?
            .json()
            .await
            .map_err(SendError::network)?;
        if r.errcode != 0 || r.access_token.is_empty() {
            return Err(SendError::from_code(
                "dingtalk token",
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
                "{}/topapi/message/corpconversation/asyncsend_v2",
                self.config.api.trim_end_matches('/')
            );
            let body = serde_json::json!({
                "agent_id": self.config.agent_id,
                "userid_list": user,
                "msg": {
                    "msgtype": "action_card",
                    "action_card": {
                        "title": m.title,
                        "markdown": format!("### {}\n{}", m.title, m.body),
                        "single_title": "查看详情",
                        "single_url": m.url,
                    }
                }
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
                    "dingtalk send",
                    r.errcode,
                    &r.errmsg,
                    &RATE_LIMITED,
                    BUSY,
                ));
            }
            return Ok(r.task_id.map(|t| t.to_string()).unwrap_or_default());
        }
        Err(SendError::retry(
            "dingtalk: the access token was refused twice".into(),
        ))
    }
}

//! WeCom (企业微信) application messages: `GET /cgi-bin/gettoken?corpid=&corpsecret=` for the
//! access token, `POST /cgi-bin/message/send?access_token=` with a `textcard` to one user id,
//! with WeCom's duplicate check on (the same content to the same person within half an hour is
//! not delivered twice), so a send repeated after a crash is not seen twice. Shapes and error
//! codes: docs/notifications.md.

use crate::api::{Api, Codes};
use crate::token::Token;
use crate::{Outgoing, SendError};
use kernel::config::WeComConfig;

pub struct WeCom {
    api: Api,
    agent_id: i64,
}

impl WeCom {
    pub fn new(config: WeComConfig, http: reqwest::Client) -> Self {
        Self {
            agent_id: config.agent_id,
            api: Api {
                name: "wecom",
                http,
                base: config.api.trim_end_matches('/').to_owned(),
                token_path: "/cgi-bin/gettoken",
                token_query: vec![
                    ("corpid", config.corp_id.clone()),
                    ("corpsecret", config.secret.expose().to_owned()),
                ],
                codes: Codes {
                    // invalid, expired, missing
                    token_gone: &[40014, 42001, 41001],
                    // call frequency, concurrency
                    rate_limited: &[45009, 45033, 45011],
                    busy: -1,
                },
                token: Token::default(),
            },
        }
    }

    pub async fn send(&self, m: &Outgoing<'_>, user: &str) -> Result<String, SendError> {
        let body = serde_json::json!({
            "touser": user,
            "msgtype": "textcard",
            "agentid": self.agent_id,
            "textcard": {
                "title": m.title,
                "description": m.body,
                "url": m.url,
                "btntxt": "详情",
            },
            "enable_duplicate_check": 1,
            "duplicate_check_interval": 1_800,
        });
        let r = self.api.post("/cgi-bin/message/send", &body).await?;
        let invalid = r
            .rest
            .get("invaliduser")
            .and_then(|v| v.as_str())
            .unwrap_or_default();
        if invalid.split('|').any(|u| u.eq_ignore_ascii_case(user)) {
            return Err(SendError::permanent(format!("wecom: unknown user {user}")));
        }
        Ok(r.rest
            .get("msgid")
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_owned())
    }
}

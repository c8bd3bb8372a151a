//! DingTalk (钉钉) work notices: `GET /gettoken?appkey=&appsecret=` for the access token,
//! `POST /topapi/message/corpconversation/asyncsend_v2?access_token=` with an `action_card`
//! to one user id. DingTalk does not deliver the same content to the same person twice in a
//! day, so a send repeated after a crash is not seen twice. Shapes and error codes:
//! docs/notifications.md.

use crate::api::{Api, Codes};
use crate::token::Token;
use crate::{Outgoing, SendError};
use kernel::config::DingTalkConfig;

pub struct DingTalk {
    api: Api,
    agent_id: i64,
}

impl DingTalk {
    pub fn new(config: DingTalkConfig, http: reqwest::Client) -> Self {
        Self {
            agent_id: config.agent_id,
            api: Api {
                name: "dingtalk",
                http,
                base: config.api.trim_end_matches('/').to_owned(),
                token_path: "/gettoken",
                token_query: vec![
                    ("appkey", config.app_key.clone()),
                    ("appsecret", config.app_secret.expose().to_owned()),
                ],
                codes: Codes {
                    // invalid, expired, authentication
                    token_gone: &[40014, 42001, 88],
                    // calls per minute
                    rate_limited: &[90005, 90006, 90018],
                    busy: -1,
                },
                token: Token::default(),
            },
        }
    }

    pub async fn send(&self, m: &Outgoing<'_>, user: &str) -> Result<String, SendError> {
        let body = serde_json::json!({
            "agent_id": self.agent_id,
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
        let r = self
            .api
            .post("/topapi/message/corpconversation/asyncsend_v2", &body)
            .await?;
        Ok(r.rest
            .get("task_id")
            .map(|v| v.to_string())
            .unwrap_or_default())
    }
}

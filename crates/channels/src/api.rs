//! What WeCom's and DingTalk's APIs share: every reply is JSON with `errcode` (0 for success)
//! and `errmsg`; an access token comes from a GET that carries the application's secret and
//! lasts two hours; a call refused for its token is made once more with a fresh one.

use crate::SendError;
use crate::token::Token;
use serde::Deserialize;

/// A reply: the common fields, and the rest for the caller.
#[derive(Deserialize)]
pub struct Reply {
    pub errcode: i64,
    #[serde(default)]
    pub errmsg: String,
    #[serde(flatten)]
    pub rest: serde_json::Map<String, serde_json::Value>,
}

/// A provider's error codes.
pub struct Codes {
    /// The token is missing, invalid or expired: fetch another and call again.
    pub token_gone: &'static [i64],
    /// Too many calls: wait and call again.
    pub rate_limited: &'static [i64],
    /// Busy: call again.
    pub busy: i64,
}

pub struct Api {
    pub name: &'static str,
    pub http: reqwest::Client,
    /// The API's address, without a trailing slash.
    pub base: String,
    /// The token request's path and query (the query holds the secret: it is never logged).
    pub token_path: &'static str,
    pub token_query: Vec<(&'static str, String)>,
    pub codes: Codes,
    pub token: Token,
}

impl Api {
    fn error(&self, what: &str, r: &Reply) -> SendError {
        SendError::from_code(
            &format!("{} {what}", self.name),
            r.errcode,
            &r.errmsg,
            self.codes.rate_limited,
            self.codes.busy,
        )
    }

    async fn fetch_token(&self) -> Result<(String, u64), SendError> {
        let r: Reply = self
            .http
            .get(format!("{}{}", self.base, self.token_path))
            .query(&self.token_query)
            .send()
            .await
            .map_err(SendError::network)?
            .json()
            .await
            .map_err(SendError::network)?;
        let token = r
            .rest
            .get("access_token")
            .and_then(|t| t.as_str())
            .unwrap_or_default();
        if r.errcode != 0 || token.is_empty() {
            return Err(self.error("token", &r));
        }
        let seconds = r
            .rest
            .get("expires_in")
            .and_then(|t| t.as_u64())
            .unwrap_or(7200);
        Ok((token.to_owned(), seconds.max(60)))
    }

    /// POSTs `body` to `path` with the access token; a successful reply, or why not.
    pub async fn post(&self, path: &str, body: &serde_json::Value) -> Result<Reply, SendError> {
        for _ in 0..2 {
            let token = self.token.get(|| self.fetch_token()).await?;
            let r: Reply = self
                .http
                .post(format!("{}{path}", self.base))
                .query(&[("access_token", token.as_str())])
                .json(body)
                .send()
                .await
                .map_err(SendError::network)?
                .json()
                .await
                .map_err(SendError::network)?;
            if self.codes.token_gone.contains(&r.errcode) {
                self.token.forget().await;
                continue;
            }
            if r.errcode != 0 {
                return Err(self.error("send", &r));
            }
            return Ok(r);
        }
        Err(SendError::retry(format!(
            "{}: the access token was refused twice",
            self.name
        )))
    }
}

//! Fake WeCom and DingTalk servers for the tests and the benchmark: the real paths, query
//! parameters, JSON bodies and error codes (docs/notifications.md). Each hands out tokens that
//! expire after `token_uses` sends, can answer the next sends with a rate-limit error, and
//! records what it delivered. A request that is not shaped as the provider wants is refused
//! with the provider's "invalid parameter" code.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::extract::{Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

#[derive(Default)]
pub struct Inner {
    pub tokens_issued: usize,
    /// The token currently valid.
    pub token: String,
    /// Sends a token is good for before it "expires" (0: forever).
    pub token_uses: usize,
    pub uses: usize,
    /// The next this many sends are refused as over the rate limit.
    pub rate_limited: usize,
    /// (user, title) of every message delivered.
    pub delivered: Vec<(String, String)>,
    pub refused: usize,
}

#[derive(Clone, Default)]
pub struct Fake(pub Arc<Mutex<Inner>>);

impl Fake {
    pub fn delivered(&self) -> Vec<(String, String)> {
        self.0.lock().unwrap().delivered.clone()
    }
    pub fn with<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> R {
        f(&mut self.0.lock().unwrap())
    }
}

/// Checks the token and the rate limit; `Err` is the error body to answer with.
fn admit(fake: &Fake, token: Option<&String>, expired: i64, limited: i64) -> Result<(), Value> {
    let mut f = fake.0.lock().unwrap();
    if token != Some(&f.token) || (f.token_uses > 0 && f.uses >= f.token_uses) {
        f.refused += 1;
        return Err(json!({ "errcode": expired, "errmsg": "access_token expired" }));
    }
    if f.rate_limited > 0 {
        f.rate_limited -= 1;
        f.refused += 1;
        return Err(json!({ "errcode": limited, "errmsg": "api freq out of limit" }));
    }
    f.uses += 1;
    Ok(())
}

fn issue(fake: &Fake) -> String {
    let mut f = fake.0.lock().unwrap();
    f.tokens_issued += 1;
    f.uses = 0;
    f.token = format!("token-{}", f.tokens_issued);
    f.token.clone()
}

/// WeCom: `/cgi-bin/gettoken` and `/cgi-bin/message/send`.
pub fn wecom(fake: Fake) -> Router {
    Router::new()
        .route(
            "/cgi-bin/gettoken",
            get(|State(f): State<Fake>, Query(q): Query<HashMap<String, String>>| async move {
                if q.get("corpid").map(String::as_str) != Some("wwcorp") || q.get("corpsecret").map(String::as_str) != Some("wecom-secret") {
                    return Json(json!({ "errcode": 40001, "errmsg": "invalid credential" }));
                }
                Json(json!({ "errcode": 0, "errmsg": "ok", "access_token": issue(&f), "expires_in": 7200 }))
            }),
        )
        .route(
            "/cgi-bin/message/send",
            post(|State(f): State<Fake>, Query(q): Query<HashMap<String, String>>, Json(body): Json<Value>| async move {
                if let Err(e) = admit(&f, q.get("access_token"), 42001, 45009) {
                    return Json(e);
                }
                let shaped = body["msgtype"] == "textcard"
                    && body["agentid"].is_i64()
                    && body["enable_duplicate_check"] == 1
                    && body["textcard"]["url"].as_str().is_some_and(|u| u.starts_with("http"))
                    && body["textcard"]["description"].is_string();
                if !shaped {
                    return Json(json!({ "errcode": 40058, "errmsg": "invalid parameter" }));
                }
                let user = body["touser"].as_str().unwrap_or_default().to_owned();
                let title = body["textcard"]["title"].as_str().unwrap_or_default().to_owned();
                let mut g = f.0.lock().unwrap();
                g.delivered.push((user, title));
                let id = g.delivered.len();
                Json(json!({ "errcode": 0, "errmsg": "ok", "invaliduser": "", "msgid": format!("msg-{id}") }))
            }),
        )
        .with_state(fake)
}

/// DingTalk: `/gettoken` and `/topapi/message/corpconversation/asyncsend_v2`.
pub fn dingtalk(fake: Fake) -> Router {
    Router::new()
        .route(
            "/gettoken",
            get(|State(f): State<Fake>, Query(q): Query<HashMap<String, String>>| async move {
                if q.get("appkey").map(String::as_str) != Some("dingkey") || q.get("appsecret").map(String::as_str) != Some("ding-secret") {
                    return Json(json!({ "errcode": 40089, "errmsg": "invalid appkey or appsecret" }));
                }
                Json(json!({ "errcode": 0, "errmsg": "ok", "access_token": issue(&f), "expires_in": 7200 }))
            }),
        )
        .route(
            "/topapi/message/corpconversation/asyncsend_v2",
            post(|State(f): State<Fake>, Query(q): Query<HashMap<String, String>>, Json(body): Json<Value>| async move {
                if let Err(e) = admit(&f, q.get("access_token"), 40014, 90006) {
                    return Json(e);
                }
                if !(body["agent_id"].is_i64() && body["msg"]["msgtype"] == "action_card" && body["userid_list"].is_string()) {
                    return Json(json!({ "errcode": 40035, "errmsg": "invalid parameter" }));
                }
                let user = body["userid_list"].as_str().unwrap_or_default().to_owned();
                let title = body["msg"]["action_card"]["title"].as_str().unwrap_or_default().to_owned();
                let mut g = f.0.lock().unwrap();
                g.delivered.push((user, title));
                let id = 256_271_667_526_i64 + g.delivered.len() as i64;
                Json(json!({ "errcode": 0, "errmsg": "ok", "task_id": id, "request_id": "4jzllmte0wau" }))
            }),
        )
        .with_state(fake)
}

/// Serves a router on a random local port; its base address.
pub async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("http://{addr}")
}

//! Fake providers for the tests and the benchmark, speaking the real request and reply shapes
//! (docs/notifications.md): WeCom and DingTalk (tokens that expire after `token_uses` sends),
//! Alibaba Cloud and Tencent Cloud SMS (each request's signature checked), an SMTP server, and
//! a Web Push service that checks the VAPID token and decrypts the payload as the browser
//! would. Each can answer the next sends with its rate-limit error and records what it
//! delivered; a request not shaped as the provider wants is refused with the provider's code.

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
    /// (user, title) of every message delivered (SMS: the number and the template variable;
    /// e-mail: the recipient and the whole message; Web Push: the subscription's endpoint
    /// and the decrypted payload).
    pub delivered: Vec<(String, String)>,
    pub refused: usize,
    /// SMTP: the next this many messages are refused with a temporary error (451).
    pub temporary_failures: usize,
    /// Web Push: each subscription's private key and auth secret (the browser's), the
    /// endpoints the browser dropped (410), the VAPID public key expected, and the `Topic`
    /// and `TTL` headers of each push.
    pub subscriptions: HashMap<String, (p256::SecretKey, Vec<u8>)>,
    pub gone: Vec<String>,
    pub vapid_public: String,
    pub headers: Vec<(String, String)>,
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

/// The access key the SMS fakes accept.
pub const SMS_KEY: (&str, &str) = ("LTAI5tSmsKey", "sms-secret");

/// Alibaba Cloud SMS: `POST /` with the form-encoded RPC parameters, signature v1 checked.
pub fn aliyun_sms(fake: Fake) -> Router {
    Router::new()
        .route(
            "/",
            post(|State(f): State<Fake>, body: String| async move {
                let params: Vec<(String, String)> = url::form_urlencoded::parse(body.as_bytes()).into_owned().collect();
                let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()).unwrap_or_default();
                let mut unsigned: Vec<(&str, &str)> = params.iter().filter(|(k, _)| k != "Signature").map(|(k, v)| (k.as_str(), v.as_str())).collect();
                let expected = crate::sms::aliyun_signature("POST", &mut unsigned, SMS_KEY.1);
                let bad = |code: &str| (axum::http::StatusCode::BAD_REQUEST, Json(json!({ "Code": code, "Message": code, "RequestId": "F655A8D5-B967-440B-8683-DAD6FF8DE990" })));
                if get("AccessKeyId") != SMS_KEY.0 {
                    return bad("InvalidAccessKeyId.NotFound");
                }
                if get("Signature") != expected || get("SignatureMethod") != "HMAC-SHA1" || get("SignatureNonce").is_empty() {
                    f.with(|i| i.refused += 1);
                    return bad("SignatureDoesNotMatch");
                }
                let title: Value = serde_json::from_str(&get("TemplateParam")).unwrap_or(Value::Null);
                if get("Action") != "SendSms" || get("Version") != "2017-05-25" || get("SignName").is_empty() || get("TemplateCode").is_empty() || !title["title"].is_string() {
                    return bad("MissingParameter");
                }
                let mut g = f.0.lock().unwrap();
                if g.rate_limited > 0 {
                    g.rate_limited -= 1;
                    g.refused += 1;
                    return (axum::http::StatusCode::OK, Json(json!({ "Code": "isv.BUSINESS_LIMIT_CONTROL", "Message": "触发分钟级流控Permits:1", "RequestId": "A1" })));
                }
                g.delivered.push((get("PhoneNumbers"), title["title"].as_str().unwrap_or_default().to_owned()));
                let id = format!("9006197469364984^{}", g.delivered.len());
                (axum::http::StatusCode::OK, Json(json!({ "Code": "OK", "Message": "OK", "BizId": id, "RequestId": "F655A8D5" })))
            }),
        )
        .with_state(fake)
}

/// Tencent Cloud SMS: `POST /` with the JSON body and the `X-TC-*` headers, TC3 checked.
pub fn tencent_sms(fake: Fake) -> Router {
    Router::new()
        .route(
            "/",
            post(|State(f): State<Fake>, headers: axum::http::HeaderMap, body: String| async move {
                let h = |k: &str| headers.get(k).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
                let error = |code: &str| Json(json!({ "Response": { "Error": { "Code": code, "Message": code }, "RequestId": "6ef60bec" } }));
                let timestamp: i64 = h("x-tc-timestamp").parse().unwrap_or(0);
                let expected = crate::sms::tc3_authorization(SMS_KEY.0, SMS_KEY.1, "sms", &h("host"), &body, timestamp);
                if h("authorization") != expected || h("content-type") != "application/json; charset=utf-8" {
                    f.with(|i| i.refused += 1);
                    return error("AuthFailure.SignatureFailure");
                }
                let b: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
                if h("x-tc-action") != "SendSms" || h("x-tc-version") != "2021-01-11" || h("x-tc-region").is_empty()
                    || b["SmsSdkAppId"].as_str().is_none_or(|s| s.is_empty()) || !b["TemplateParamSet"][0].is_string() {
                    return error("MissingParameter");
                }
                let phone = b["PhoneNumberSet"][0].as_str().unwrap_or_default().trim_start_matches("+86").to_owned();
                let mut g = f.0.lock().unwrap();
                if g.rate_limited > 0 {
                    g.rate_limited -= 1;
                    g.refused += 1;
                    return Json(json!({ "Response": { "SendStatusSet": [{ "SerialNo": "", "PhoneNumber": format!("+86{phone}"), "Fee": 0, "SessionContext": b["SessionContext"], "Code": "LimitExceeded.PhoneNumberThirtySecondLimit", "Message": "the number of SMS messages sent from a single mobile number within 30 seconds exceeds the upper limit", "IsoCode": "CN" }], "RequestId": "a0aabda6" } }));
                }
                g.delivered.push((phone.clone(), b["TemplateParamSet"][0].as_str().unwrap_or_default().to_owned()));
                let serial = format!("2645:{}", g.delivered.len());
                Json(json!({ "Response": { "SendStatusSet": [{ "SerialNo": serial, "PhoneNumber": format!("+86{phone}"), "Fee": 1, "SessionContext": b["SessionContext"], "Code": "Ok", "Message": "send success", "IsoCode": "CN" }], "RequestId": "a0aabda6" } }))
            }),
        )
        .with_state(fake)
}

/// The credentials the SMTP fake accepts (AUTH PLAIN or LOGIN).
pub const SMTP_LOGIN: (&str, &str) = ("notify@jy.example.cn", "smtp-secret");

/// An SMTP server on a random local port (no TLS): EHLO, AUTH PLAIN/LOGIN, MAIL, RCPT, DATA,
/// RSET, NOOP, QUIT. Records each accepted message with its recipient; answers 451 to the
/// next `temporary_failures` messages and 550 to a recipient at `unknown.example.cn`.
pub async fn smtp(fake: Fake) -> u16 {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let fake = fake.clone();
            tokio::spawn(async move {
                let (r, mut w) = socket.into_split();
                let mut lines = BufReader::new(r).lines();
                let _ = w.write_all(b"220 fake.smtp ESMTP\r\n").await;
                let (mut rcpt, mut authed, mut login) = (String::new(), false, 0);
                while let Ok(Some(line)) = lines.next_line().await {
                    let upper = line.to_ascii_uppercase();
                    let plain = |b64: &str| {
                        let raw = base64::Engine::decode(
                            &base64::engine::general_purpose::STANDARD,
                            b64.trim(),
                        )
                        .unwrap_or_default();
                        raw == format!("\0{}\0{}", SMTP_LOGIN.0, SMTP_LOGIN.1).into_bytes()
                    };
                    let reply: String = if login == 1 {
                        login = 2;
                        "334 UGFzc3dvcmQ6".into()
                    } else if login == 2 {
                        login = 0;
                        authed = true;
                        "235 2.7.0 Authentication successful".into()
                    } else if upper.starts_with("EHLO") || upper.starts_with("HELO") {
                        "250-fake.smtp\r\n250-AUTH PLAIN LOGIN\r\n250-8BITMIME\r\n250 SMTPUTF8"
                            .into()
                    } else if upper.starts_with("AUTH PLAIN") {
                        authed = plain(&line[10..]);
                        if authed {
                            "235 2.7.0 Authentication successful".into()
                        } else {
                            "535 5.7.8 Authentication credentials invalid".into()
                        }
                    } else if upper.starts_with("AUTH LOGIN") {
                        login = 1;
                        "334 VXNlcm5hbWU6".into()
                    } else if upper.starts_with("MAIL FROM") {
                        if authed {
                            "250 2.1.0 Ok".into()
                        } else {
                            "530 5.7.0 Authentication required".into()
                        }
                    } else if upper.starts_with("RCPT TO") {
                        rcpt = line[8..]
                            .trim()
                            .trim_start_matches('<')
                            .trim_end_matches('>')
                            .to_owned();
                        if rcpt.ends_with("@unknown.example.cn") {
                            "550 5.1.1 User unknown".into()
                        } else {
                            "250 2.1.5 Ok".into()
                        }
                    } else if upper == "DATA" {
                        let _ = w
                            .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                            .await;
                        let mut data = String::new();
                        while let Ok(Some(l)) = lines.next_line().await {
                            if l == "." {
                                break;
                            }
                            data.push_str(l.strip_prefix('.').unwrap_or(&l));
                            data.push('\n');
                        }
                        let mut g = fake.0.lock().unwrap();
                        if g.temporary_failures > 0 {
                            g.temporary_failures -= 1;
                            g.refused += 1;
                            "451 4.3.0 Try again later".into()
                        } else {
                            g.delivered.push((rcpt.clone(), data));
                            format!("250 2.0.0 Ok: queued as Q{}", g.delivered.len())
                        }
                    } else if upper == "QUIT" {
                        let _ = w.write_all(b"221 2.0.0 Bye\r\n").await;
                        break;
                    } else {
                        "250 2.0.0 Ok".into()
                    };
                    if w.write_all(format!("{reply}\r\n").as_bytes())
                        .await
                        .is_err()
                    {
                        break;
                    }
                }
            });
        }
    });
    port
}

impl Fake {
    /// A browser's subscription to the Web Push fake at `base`: its JSON, as
    /// `PushSubscription.toJSON()` gives it.
    pub fn subscribe(&self, base: &str) -> String {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let (_, private) = crate::web_push::generate_keys().unwrap();
        let secret = p256::SecretKey::from_slice(&crate::web_push::b64(&private).unwrap()).unwrap();
        let auth: Vec<u8> = (0..16u8)
            .map(|i| {
                i.wrapping_mul(37)
                    .wrapping_add(self.0.lock().unwrap().subscriptions.len() as u8)
            })
            .collect();
        let mut g = self.0.lock().unwrap();
        let endpoint = format!("{base}/push/{}", g.subscriptions.len() + 1);
        let json = json!({
            "endpoint": endpoint,
            "expirationTime": null,
            "keys": { "p256dh": b64.encode(secret.public_key().to_sec1_bytes()), "auth": b64.encode(&auth) },
        });
        g.subscriptions.insert(endpoint, (secret, auth));
        json.to_string()
    }
}

/// A Web Push service: `POST /push/{id}` checked as a browser's push service does (the VAPID
/// token's signature, audience, expiry and key; `aes128gcm`, `TTL`), then decrypted with the
/// subscription's private key. 201 with a `Location`; 410 for a dropped subscription; 429
/// while `rate_limited`.
pub fn web_push(fake: Fake, base: String) -> Router {
    Router::new()
        .route(
            "/push/{id}",
            post(
                |State((f, base)): State<(Fake, String)>,
                 axum::extract::Path(id): axum::extract::Path<String>,
                 headers: axum::http::HeaderMap,
                 body: axum::body::Bytes| async move {
                    use axum::http::StatusCode;
                    use axum::response::IntoResponse;
                    let endpoint = format!("{base}/push/{id}");
                    let h = |k: &str| {
                        headers
                            .get(k)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or_default()
                            .to_owned()
                    };
                    let mut g = f.0.lock().unwrap();
                    if g.gone.contains(&endpoint) {
                        return StatusCode::GONE.into_response();
                    }
                    // Authorization: vapid t=<JWT>, k=<public key>
                    let auth = h("authorization");
                    let part = |name: &str| {
                        auth.trim_start_matches("vapid ")
                            .split(',')
                            .map(str::trim)
                            .find_map(|p| p.strip_prefix(name))
                            .unwrap_or_default()
                            .to_owned()
                    };
                    let (token, key) = (part("t="), part("k="));
                    let ok_vapid = key == g.vapid_public && {
                        let pieces: Vec<&str> = token.split('.').collect();
                        pieces.len() == 3 && {
                            let public = crate::web_push::b64(&key).unwrap_or_default();
                            let signature = crate::web_push::b64(pieces[2]).unwrap_or_default();
                            let verified = ring::signature::UnparsedPublicKey::new(
                                &ring::signature::ECDSA_P256_SHA256_FIXED,
                                public,
                            )
                            .verify(
                                format!("{}.{}", pieces[0], pieces[1]).as_bytes(),
                                &signature,
                            )
                            .is_ok();
                            let claims: Value = serde_json::from_slice(
                                &crate::web_push::b64(pieces[1]).unwrap_or_default(),
                            )
                            .unwrap_or(Value::Null);
                            let now = chrono::Utc::now().timestamp();
                            verified
                                && claims["aud"] == base.as_str()
                                && claims["exp"]
                                    .as_i64()
                                    .is_some_and(|e| e > now && e <= now + 86_400)
                                && claims["sub"].as_str().is_some_and(|s| {
                                    s.starts_with("mailto:") || s.starts_with("https:")
                                })
                        }
                    };
                    if !ok_vapid {
                        g.refused += 1;
                        return StatusCode::FORBIDDEN.into_response();
                    }
                    if h("content-encoding") != "aes128gcm" || h("ttl").parse::<u32>().is_err() {
                        return StatusCode::BAD_REQUEST.into_response();
                    }
                    if g.rate_limited > 0 {
                        g.rate_limited -= 1;
                        g.refused += 1;
                        return StatusCode::TOO_MANY_REQUESTS.into_response();
                    }
                    let Some((secret, auth)) = g.subscriptions.get(&endpoint) else {
                        return StatusCode::NOT_FOUND.into_response();
                    };
                    let Ok(plain) = crate::web_push::decrypt(&body, secret, auth) else {
                        return StatusCode::BAD_REQUEST.into_response();
                    };
                    g.delivered
                        .push((endpoint, String::from_utf8_lossy(&plain).into_owned()));
                    g.headers.push((h("topic"), h("ttl")));
                    let n = g.delivered.len();
                    (
                        StatusCode::CREATED,
                        [("location", format!("{base}/message/{n}"))],
                    )
                        .into_response()
                },
            ),
        )
        .with_state((fake, base))
}

/// Serves a router on a random local port; its base address.
pub async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("http://{addr}")
}

//! Text messages through the two common Chinese SMS providers, each with its own signed
//! request: Alibaba Cloud `SendSms` (RPC style, signature v1: HMAC-SHA1 over the sorted,
//! RFC 3986-encoded parameters) and Tencent Cloud `SendSms` (API 3.0, TC3-HMAC-SHA256 over the
//! canonical request). An SMS must use a template the provider approved; the notification's
//! title is its one variable. Neither provider drops a repeat: a send interrupted by a crash
//! is counted as uncertain (docs/notifications.md).

use crate::{Outgoing, SendError};
use base64::Engine;
use kernel::config::{SmsConfig, SmsProvider};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use ring::{digest, hmac};
use serde_json::Value;

/// RFC 3986 unreserved characters stay as they are; everything else is percent-encoded.
const RFC3986: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

pub fn rfc3986(s: &str) -> String {
    utf8_percent_encode(s, RFC3986).to_string()
}

/// A template variable: providers cap each (Alibaba Cloud at 35 characters for most
/// templates), so the title is cut with an ellipsis.
fn variable(title: &str) -> String {
    const MAX: usize = 20;
    if title.chars().count() <= MAX {
        title.to_owned()
    } else {
        let mut t: String = title.chars().take(MAX - 1).collect();
        t.push('…');
        t
    }
}

pub struct Sms {
    config: SmsConfig,
    http: reqwest::Client,
    api: String,
}

impl Sms {
    pub fn new(config: SmsConfig, http: reqwest::Client) -> Self {
        let api = config
            .api
            .clone()
            .unwrap_or_else(|| match config.provider {
                SmsProvider::Aliyun => "https://dysmsapi.aliyuncs.com".into(),
                SmsProvider::Tencent => "https://sms.tencentcloudapi.com".into(),
            })
            .trim_end_matches('/')
            .to_owned();
        Self { config, http, api }
    }

    pub async fn send(&self, m: &Outgoing<'_>, phone: &str) -> Result<String, SendError> {
        let now = chrono::Utc::now();
        match self.config.provider {
            SmsProvider::Aliyun => self.aliyun(m, phone, now).await,
            SmsProvider::Tencent => self.tencent(m, phone, now).await,
        }
    }

    async fn aliyun(
        &self,
        m: &Outgoing<'_>,
        phone: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<String, SendError> {
        let c = &self.config;
        let params = serde_json::json!({ "title": variable(m.title) }).to_string();
        let timestamp = now.format("%Y-%m-%dT%H:%M:%SZ").to_string();
        let nonce = uuid::Uuid::now_v7().to_string();
        let mut query: Vec<(&str, &str)> = vec![
            ("AccessKeyId", &c.access_key_id),
            ("Action", "SendSms"),
            ("Format", "JSON"),
            ("OutId", m.key),
            ("PhoneNumbers", phone),
            ("RegionId", "cn-hangzhou"),
            ("SignName", &c.sign_name),
            ("SignatureMethod", "HMAC-SHA1"),
            ("SignatureNonce", &nonce),
            ("SignatureVersion", "1.0"),
            ("TemplateCode", &c.template),
            ("TemplateParam", &params),
            ("Timestamp", &timestamp),
            ("Version", "2017-05-25"),
        ];
        let signature = aliyun_signature("POST", &mut query, c.access_key_secret.expose());
        let body = query
            .iter()
            .map(|(k, v)| format!("{}={}", rfc3986(k), rfc3986(v)))
            .chain([format!("Signature={}", rfc3986(&signature))])
            .collect::<Vec<_>>()
            .join("&");
        let reply: Value = self
            .http
            .post(format!("{}/", self.api))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .map_err(SendError::network)?
            .json()
            .await
            .map_err(SendError::network)?;
        let code = reply["Code"].as_str().unwrap_or_default();
        if code == "OK" {
            return Ok(reply["BizId"].as_str().unwrap_or_default().to_owned());
        }
        let message = format!(
            "sms (aliyun): {code} {}",
            reply["Message"].as_str().unwrap_or_default()
        );
        Err(match code {
            // Per-number and per-account flow control, the API's throttling.
            "isv.BUSINESS_LIMIT_CONTROL"
            | "isv.DAY_LIMIT_CONTROL"
            | "Throttling.User"
            | "Throttling" => SendError::rate_limited(message),
            "isp.SYSTEM_ERROR" | "isp.RAM_PERMISSION_DENY" | "ServiceUnavailable" => {
                SendError::retry(message)
            }
            _ => SendError::permanent(message),
        })
    }

    async fn tencent(
        &self,
        m: &Outgoing<'_>,
        phone: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<String, SendError> {
        let c = &self.config;
        let body = serde_json::json!({
            "PhoneNumberSet": [format!("+86{phone}")],
            "SmsSdkAppId": c.app_id.clone().unwrap_or_default(),
            "SignName": c.sign_name,
            "TemplateId": c.template,
            "TemplateParamSet": [variable(m.title)],
            "SessionContext": m.key,
        })
        .to_string();
        let host = self.api.split("://").nth(1).unwrap_or(&self.api).to_owned();
        let authorization = tc3_authorization(
            &c.access_key_id,
            c.access_key_secret.expose(),
            "sms",
            &host,
            &body,
            now.timestamp(),
        );
        let reply: Value = self
            .http
            .post(format!("{}/", self.api))
            .header("Authorization", authorization)
            .header("Content-Type", "application/json; charset=utf-8")
            .header("Host", &host)
            .header("X-TC-Action", "SendSms")
            .header("X-TC-Version", "2021-01-11")
            .header("X-TC-Timestamp", now.timestamp().to_string())
            .header("X-TC-Region", c.region.as_deref().unwrap_or("ap-guangzhou"))
            .body(body)
            .send()
            .await
            .map_err(SendError::network)?
            .json()
            .await
            .map_err(SendError::network)?;
        let r = &reply["Response"];
        if let Some(code) = r["Error"]["Code"].as_str() {
            let message = format!(
                "sms (tencent): {code} {}",
                r["Error"]["Message"].as_str().unwrap_or_default()
            );
            return Err(if code.starts_with("RequestLimitExceeded") {
                SendError::rate_limited(message)
            } else if code.starts_with("InternalError") || code == "ResourceUnavailable" {
                SendError::retry(message)
            } else {
                SendError::permanent(message)
            });
        }
        let status = &r["SendStatusSet"][0];
        let code = status["Code"].as_str().unwrap_or_default();
        if code == "Ok" {
            return Ok(status["SerialNo"].as_str().unwrap_or_default().to_owned());
        }
        let message = format!(
            "sms (tencent): {code} {}",
            status["Message"].as_str().unwrap_or_default()
        );
        Err(if code.starts_with("LimitExceeded") {
            SendError::rate_limited(message)
        } else if code.starts_with("InternalError") {
            SendError::retry(message)
        } else {
            SendError::permanent(message)
        })
    }
}

/// Alibaba Cloud's signature v1: the parameters sorted by name and RFC 3986-encoded,
/// `METHOD&%2F&<encoded query>` signed with HMAC-SHA1 under `secret&`, base64. Sorts `query`.
pub fn aliyun_signature(method: &str, query: &mut [(&str, &str)], secret: &str) -> String {
    query.sort_by(|a, b| a.0.cmp(b.0));
    let canonical = query
        .iter()
        .map(|(k, v)| format!("{}={}", rfc3986(k), rfc3986(v)))
        .collect::<Vec<_>>()
        .join("&");
    let to_sign = format!("{method}&{}&{}", rfc3986("/"), rfc3986(&canonical));
    let key = hmac::Key::new(
        hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
        format!("{secret}&").as_bytes(),
    );
    base64::engine::general_purpose::STANDARD.encode(hmac::sign(&key, to_sign.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn hmac256(key: &[u8], data: &str) -> Vec<u8> {
    hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), data.as_bytes())
        .as_ref()
        .to_vec()
}

/// Tencent Cloud's TC3-HMAC-SHA256 `Authorization` header for a JSON POST to `/` of `host`
/// (the API of `service`), signing the content type and host headers.
pub fn tc3_authorization(
    secret_id: &str,
    secret_key: &str,
    service: &str,
    host: &str,
    body: &str,
    timestamp: i64,
) -> String {
    let date = chrono::DateTime::from_timestamp(timestamp, 0)
        .unwrap_or_default()
        .format("%Y-%m-%d")
        .to_string();
    let canonical = format!(
        "POST\n/\n\ncontent-type:application/json; charset=utf-8\nhost:{host}\n\ncontent-type;host\n{}",
        hex(digest::digest(&digest::SHA256, body.as_bytes()).as_ref())
    );
    let scope = format!("{date}/{service}/tc3_request");
    let to_sign = format!(
        "TC3-HMAC-SHA256\n{timestamp}\n{scope}\n{}",
        hex(digest::digest(&digest::SHA256, canonical.as_bytes()).as_ref())
    );
    let k_date = hmac256(format!("TC3{secret_key}").as_bytes(), &date);
    let k_service = hmac256(&k_date, service);
    let k_signing = hmac256(&k_service, "tc3_request");
    let signature = hex(&hmac256(&k_signing, &to_sign));
    format!(
        "TC3-HMAC-SHA256 Credential={secret_id}/{scope}, SignedHeaders=content-type;host, Signature={signature}"
    )
}

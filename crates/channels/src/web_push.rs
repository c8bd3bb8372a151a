//! Web Push: a message to each browser a person subscribed on, through the browser's push
//! service (RFC 8030), its payload encrypted for that browser alone (RFC 8291, `aes128gcm`)
//! and the request signed with the platform's VAPID key (RFC 8292), so no push service needs an
//! account. A subscription the push service no longer knows (404, 410) is removed. The
//! service replaces a waiting message with the same `Topic`, so a send repeated after a crash
//! is not shown twice while the browser is offline.

use crate::{Outgoing, SendError};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use kernel::config::WebPushConfig;
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use ring::{aead, digest, hkdf};
use serde_json::Value;

/// The record size written in the header: one record holds the whole payload (at most 4 KiB).
const RECORD_SIZE: u32 = 4096;
/// How long the push service keeps a message for a browser that is offline.
const TTL_SECONDS: u32 = 86_400;

/// base64url, with or without padding (browsers give it without).
pub fn b64(s: &str) -> Result<Vec<u8>, String> {
    B64.decode(s.trim().trim_end_matches('='))
        .map_err(|e| format!("not base64url: {e}"))
}

/// A new VAPID key pair, (public, private), base64url: the public key as an uncompressed
/// P-256 point (what browsers take as `applicationServerKey`), the private key as its scalar.
pub fn generate_keys() -> Result<(String, String), String> {
    let secret = random_secret()?;
    let public = secret.public_key().to_sec1_bytes();
    Ok((B64.encode(&public), B64.encode(secret.to_bytes())))
}

fn random_secret() -> Result<p256::SecretKey, String> {
    let rng = SystemRandom::new();
    // A random 32-byte string is a valid scalar but with negligible probability.
    for _ in 0..8 {
        let mut bytes = [0u8; 32];
        rng.fill(&mut bytes)
            .map_err(|_| "no randomness".to_owned())?;
        if let Ok(k) = p256::SecretKey::from_slice(&bytes) {
            return Ok(k);
        }
    }
    Err("no valid key drawn".into())
}

struct Len(usize);

impl hkdf::KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

/// HKDF-SHA-256: `len` bytes expanded with `info` from the key extracted from `ikm` with `salt`.
fn hkdf(salt: &[u8], ikm: &[u8], info: &[&[u8]], len: usize) -> Result<Vec<u8>, String> {
    let mut out = vec![0u8; len];
    hkdf::Salt::new(hkdf::HKDF_SHA256, salt)
        .extract(ikm)
        .expand(info, Len(len))
        .and_then(|okm| okm.fill(&mut out))
        .map_err(|_| "hkdf".to_owned())?;
    Ok(out)
}

/// The content key and nonce (RFC 8291 section 3.4, RFC 8188 section 2.2).
fn keys(
    ecdh: &[u8],
    auth: &[u8],
    ua_public: &[u8],
    as_public: &[u8],
    salt: &[u8],
) -> Result<(Vec<u8>, Vec<u8>), String> {
    let ikm = hkdf(auth, ecdh, &[b"WebPush: info\0", ua_public, as_public], 32)?;
    let cek = hkdf(salt, &ikm, &[b"Content-Encoding: aes128gcm\0"], 16)?;
    let nonce = hkdf(salt, &ikm, &[b"Content-Encoding: nonce\0"], 12)?;
    Ok((cek, nonce))
}

fn aead_key(cek: &[u8], nonce: &[u8]) -> Result<(aead::LessSafeKey, aead::Nonce), String> {
    let key = aead::UnboundKey::new(&aead::AES_128_GCM, cek).map_err(|_| "key".to_owned())?;
    let nonce = aead::Nonce::try_assume_unique_for_key(nonce).map_err(|_| "nonce".to_owned())?;
    Ok((aead::LessSafeKey::new(key), nonce))
}

/// Encrypts `plain` for the browser whose key is `ua_public` and secret `auth`, with the
/// sender's one-time key `as_secret` and `salt` (RFC 8291): the `aes128gcm` body.
pub fn encrypt(
    plain: &[u8],
    ua_public: &[u8],
    auth: &[u8],
    as_secret: &p256::SecretKey,
    salt: &[u8; 16],
) -> Result<Vec<u8>, String> {
    if plain.len() + 17 > RECORD_SIZE as usize - 86 {
        return Err("payload too large".into());
    }
    let ua = p256::PublicKey::from_sec1_bytes(ua_public).map_err(|_| "bad p256dh key")?;
    let as_public = as_secret.public_key().to_sec1_bytes();
    let shared = as_secret.diffie_hellman(&ua);
    let (cek, nonce) = keys(
        shared.raw_secret_bytes().as_slice(),
        auth,
        ua_public,
        &as_public,
        salt,
    )?;
    let (key, nonce) = aead_key(&cek, &nonce)?;
    // One record, the last: the content, then the delimiter 0x02 (no padding).
    let mut record = plain.to_vec();
    record.push(2);
    key.seal_in_place_append_tag(nonce, aead::Aad::empty(), &mut record)
        .map_err(|_| "seal".to_owned())?;
    let mut out = Vec::with_capacity(86 + record.len());
    out.extend_from_slice(salt);
    out.extend_from_slice(&RECORD_SIZE.to_be_bytes());
    out.push(as_public.len() as u8);
    out.extend_from_slice(&as_public);
    out.extend_from_slice(&record);
    Ok(out)
}

/// The browser's side of [`encrypt`]: the content of an `aes128gcm` body, for the local push
/// service the tests run (it plays the browser) and the RFC's test vector.
pub fn decrypt(body: &[u8], ua_secret: &p256::SecretKey, auth: &[u8]) -> Result<Vec<u8>, String> {
    if body.len() < 21 {
        return Err("too short".into());
    }
    let salt = &body[..16];
    let id_len = body[20] as usize;
    let as_public = body.get(21..21 + id_len).ok_or("truncated header")?;
    let mut record = body[21 + id_len..].to_vec();
    let sender = p256::PublicKey::from_sec1_bytes(as_public).map_err(|_| "bad key id")?;
    let ua_public = ua_secret.public_key().to_sec1_bytes();
    let shared = ua_secret.diffie_hellman(&sender);
    let (cek, nonce) = keys(
        shared.raw_secret_bytes().as_slice(),
        auth,
        &ua_public,
        as_public,
        salt,
    )?;
    let (key, nonce) = aead_key(&cek, &nonce)?;
    let plain = key
        .open_in_place(nonce, aead::Aad::empty(), &mut record)
        .map_err(|_| "cannot decrypt".to_owned())?;
    // Strip the padding and the last record's delimiter.
    let end = plain.iter().rposition(|&b| b != 0).ok_or("no delimiter")?;
    if plain[end] != 2 {
        return Err("not the last record".into());
    }
    Ok(plain[..end].to_vec())
}

/// The address's origin (`scheme://host[:port]`), the VAPID token's audience.
fn origin(endpoint: &str) -> Option<String> {
    let u = url::Url::parse(endpoint).ok()?;
    Some(u.origin().ascii_serialization())
}

pub struct WebPush {
    http: reqwest::Client,
    key: EcdsaKeyPair,
    public_key: String,
    subject: String,
    rng: SystemRandom,
}

impl WebPush {
    pub fn new(config: WebPushConfig, http: reqwest::Client) -> Result<Self, String> {
        let public = b64(&config.public_key)?;
        let private = b64(config.private_key.expose())?;
        let rng = SystemRandom::new();
        let key = EcdsaKeyPair::from_private_key_and_public_key(
            &ECDSA_P256_SHA256_FIXED_SIGNING,
            &private,
            &public,
            &rng,
        )
        .map_err(|_| "notify.web_push: the public and private keys are not a P-256 pair")?;
        Ok(Self {
            http,
            key,
            public_key: B64.encode(&public),
            subject: config.subject,
            rng,
        })
    }

    /// The VAPID token for a push service (RFC 8292): ES256 over the audience, an expiry
    /// twelve hours ahead and the operator's contact.
    fn vapid(&self, audience: &str) -> Result<String, SendError> {
        let header = B64.encode(br#"{"typ":"JWT","alg":"ES256"}"#);
        let exp = chrono::Utc::now().timestamp() + 12 * 3600;
        let claims = B64.encode(
            serde_json::json!({ "aud": audience, "exp": exp, "sub": self.subject }).to_string(),
        );
        let input = format!("{header}.{claims}");
        let sig = self
            .key
            .sign(&self.rng, input.as_bytes())
            .map_err(|_| SendError::permanent("web push: cannot sign".into()))?;
        Ok(format!("{input}.{}", B64.encode(sig.as_ref())))
    }

    /// Sends to one subscription (the JSON a browser's `PushManager.subscribe` gives).
    pub async fn send(&self, m: &Outgoing<'_>, subscription: &str) -> Result<String, SendError> {
        let bad = |what: &str| SendError::gone(format!("web push: the subscription {what}"));
        let sub: Value = serde_json::from_str(subscription).map_err(|_| bad("is not JSON"))?;
        let endpoint = sub["endpoint"]
            .as_str()
            .ok_or_else(|| bad("has no endpoint"))?;
        let ua_public = sub["keys"]["p256dh"]
            .as_str()
            .and_then(|k| b64(k).ok())
            .ok_or_else(|| bad("has no p256dh key"))?;
        let auth = sub["keys"]["auth"]
            .as_str()
            .and_then(|k| b64(k).ok())
            .ok_or_else(|| bad("has no auth secret"))?;
        let audience = origin(endpoint).ok_or_else(|| bad("has a bad endpoint"))?;
        let payload = serde_json::json!({ "title": m.title, "body": m.body, "link": m.url });
        let mut salt = [0u8; 16];
        self.rng
            .fill(&mut salt)
            .map_err(|_| SendError::retry("web push: no randomness".into()))?;
        let one_time = random_secret().map_err(SendError::retry)?;
        let body = encrypt(
            payload.to_string().as_bytes(),
            &ua_public,
            &auth,
            &one_time,
            &salt,
        )
        .map_err(|e| bad(&e))?;
        // A waiting message with the same topic is replaced (≤ 32 base64url characters).
        let topic = B64.encode(&digest::digest(&digest::SHA256, m.key.as_bytes()).as_ref()[..24]);
        let r = self
            .http
            .post(endpoint)
            .header(
                "Authorization",
                format!("vapid t={}, k={}", self.vapid(&audience)?, self.public_key),
            )
            .header("Content-Encoding", "aes128gcm")
            .header("Content-Type", "application/octet-stream")
            .header("TTL", TTL_SECONDS.to_string())
            .header("Urgency", "normal")
            .header("Topic", topic)
            .body(body)
            .send()
            .await
            .map_err(SendError::network)?;
        let status = r.status().as_u16();
        let location = r
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let message = format!("web push: {status} from {audience}");
        match status {
            200..=202 => Ok(location),
            404 | 410 => Err(SendError::gone(message)),
            429 => Err(SendError::rate_limited(message)),
            500..=599 => Err(SendError::retry(message)),
            _ => Err(SendError::permanent(message)),
        }
    }
}

//! Push signatures: Ed25519 (ring) over the link, the time and the body's SHA-256, with a key
//! pair per link made by the lower instance at pairing.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use kernel::{AppError, AppResult, LinkId};
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use sha2::{Digest, Sha256};

pub const LINK_HEADER: &str = "x-jiaoyun-link";
pub const TIME_HEADER: &str = "x-jiaoyun-timestamp";
pub const SIGNATURE_HEADER: &str = "x-jiaoyun-signature";

/// A signed request older or newer than this (seconds) is refused.
pub const MAX_SKEW_SECONDS: i64 = 300;

/// A new key pair: (PKCS#8 private key, public key), both base64.
pub fn generate() -> AppResult<(String, String)> {
    let rng = ring::rand::SystemRandom::new();
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng)
        .map_err(|_| AppError::Internal("key generation failed".into()))?;
    let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref())
        .map_err(|_| AppError::Internal("key generation failed".into()))?;
    Ok((
        B64.encode(pkcs8.as_ref()),
        B64.encode(pair.public_key().as_ref()),
    ))
}

fn message(link: LinkId, time: i64, body: &[u8]) -> Vec<u8> {
    let digest = Sha256::digest(body);
    let mut hex = String::with_capacity(64);
    for b in digest {
        hex.push_str(&format!("{b:02x}"));
    }
    format!("jiaoyun-exchange-v1\n{link}\n{time}\n{hex}").into_bytes()
}

/// The signature header's value for `body` sent on `link` at `time` (Unix seconds).
pub fn sign(private_key: &str, link: LinkId, time: i64, body: &[u8]) -> AppResult<String> {
    let der = B64
        .decode(private_key)
        .map_err(|_| AppError::Internal("unreadable link key".into()))?;
    let pair = Ed25519KeyPair::from_pkcs8(&der)
        .map_err(|_| AppError::Internal("unreadable link key".into()))?;
    Ok(B64.encode(pair.sign(&message(link, time, body)).as_ref()))
}

/// Whether `signature` is the link's signature of `body` at `time`, and `time` is near `now`.
pub fn verify(
    public_key: &str,
    link: LinkId,
    time: i64,
    now: i64,
    body: &[u8],
    signature: &str,
) -> bool {
    if (now - time).abs() > MAX_SKEW_SECONDS {
        return false;
    }
    let (Ok(key), Ok(sig)) = (B64.decode(public_key), B64.decode(signature.trim())) else {
        return false;
    };
    UnparsedPublicKey::new(&ED25519, key)
        .verify(&message(link, time, body), &sig)
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_holds_for_its_link_time_and_body_only() {
        let (private, public) = generate().unwrap();
        let link = LinkId::new();
        let sig = sign(&private, link, 1_000, b"body").unwrap();
        assert!(verify(&public, link, 1_000, 1_010, b"body", &sig));
        assert!(!verify(&public, link, 1_000, 1_010, b"bodY", &sig));
        assert!(!verify(&public, LinkId::new(), 1_000, 1_010, b"body", &sig));
        assert!(!verify(&public, link, 1_001, 1_010, b"body", &sig));
        // Too old, and another key.
        assert!(!verify(
            &public,
            link,
            1_000,
            1_000 + MAX_SKEW_SECONDS + 1,
            b"body",
            &sig
        ));
        let (_, other) = generate().unwrap();
        assert!(!verify(&other, link, 1_000, 1_010, b"body", &sig));
    }
}

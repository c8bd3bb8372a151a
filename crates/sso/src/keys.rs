//! Signing keys for ID tokens and access tokens, kept in the database so every node signs with
//! the same keys and publishes the same JWKS.
//!
//! Rotation without downtime: a new key is written with `active_from` in the future
//! (`sso.key_publish_hours`), so it is in every relying party's cached JWKS before the first
//! token it signs; the old key is retired at that moment and stays published until the last
//! token it signed has expired. Each node reloads the keys every minute, and at once when it
//! meets a key id it does not know.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD as B64URL};
use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use kernel::{AppError, AppResult, AppState, Db, on_db};
use serde_json::{Value, json};
use std::sync::{Arc, RwLock};

/// The algorithms the provider signs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alg {
    Es256,
    Rs256,
}

impl Alg {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "ES256" => Some(Self::Es256),
            "RS256" => Some(Self::Rs256),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Es256 => "ES256",
            Self::Rs256 => "RS256",
        }
    }
    pub fn jwt(self) -> Algorithm {
        match self {
            Self::Es256 => Algorithm::ES256,
            Self::Rs256 => Algorithm::RS256,
        }
    }
}

/// One key, ready to sign and verify.
pub struct Key {
    pub kid: String,
    pub alg: Alg,
    pub encoding: EncodingKey,
    pub decoding: DecodingKey,
    pub jwk: Value,
    pub active_from: DateTime<Utc>,
    pub retired_at: Option<DateTime<Utc>>,
}

#[derive(Default)]
struct Loaded {
    keys: Vec<Arc<Key>>,
    at: Option<DateTime<Utc>>,
}

/// The keys of one database, cached in the [`AppState`].
#[derive(Default)]
pub struct KeyRing {
    loaded: RwLock<Loaded>,
}

const RELOAD_SECONDS: i64 = 60;

#[derive(sqlx::FromRow)]
struct KeyRow {
    kid: String,
    alg: String,
    private_der: String,
    public_jwk: String,
    active_from: DateTime<Utc>,
    retired_at: Option<DateTime<Utc>>,
}

fn ring(state: &AppState) -> Arc<KeyRing> {
    state.cache::<KeyRing>()
}

/// Keys still published at `now`, newest first.
async fn load(db: &Db, now: DateTime<Utc>) -> AppResult<Vec<Arc<Key>>> {
    let rows: Vec<KeyRow> = on_db!(db, p => sqlx::query_as(
        "SELECT kid, alg, private_der, public_jwk, active_from, retired_at FROM signing_keys
         WHERE expires_at IS NULL OR expires_at > $1 ORDER BY active_from DESC, kid DESC",
    ).bind(now).fetch_all(p).await)?;
    rows.into_iter().map(|r| parse(r).map(Arc::new)).collect()
}

fn parse(r: KeyRow) -> AppResult<Key> {
    let alg = Alg::parse(&r.alg)
        .ok_or_else(|| AppError::Internal(format!("signing key {}: unknown alg", r.kid)))?;
    let der = STANDARD
        .decode(&r.private_der)
        .map_err(|e| AppError::Internal(format!("signing key {}: {e}", r.kid)))?;
    let jwk: Value = serde_json::from_str(&r.public_jwk).map_err(AppError::internal)?;
    let field = |name: &str| jwk[name].as_str().unwrap_or_default().to_owned();
    let (encoding, decoding) = match alg {
        Alg::Es256 => (
            EncodingKey::from_ec_der(&der),
            DecodingKey::from_ec_components(&field("x"), &field("y"))
                .map_err(AppError::internal)?,
        ),
        Alg::Rs256 => (
            EncodingKey::from_rsa_der(&der),
            DecodingKey::from_rsa_components(&field("n"), &field("e"))
                .map_err(AppError::internal)?,
        ),
    };
    Ok(Key {
        kid: r.kid,
        alg,
        encoding,
        decoding,
        jwk,
        active_from: r.active_from,
        retired_at: r.retired_at,
    })
}

/// A fresh key pair: (private DER as jsonwebtoken reads it, public JWK).
fn generate(alg: Alg, kid: &str) -> AppResult<(Vec<u8>, Value)> {
    match alg {
        Alg::Es256 => {
            use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
            let rng = ring::rand::SystemRandom::new();
            let alg = &ECDSA_P256_SHA256_FIXED_SIGNING;
            let failed = |_| AppError::Internal("P-256 key generation failed".into());
            let doc = EcdsaKeyPair::generate_pkcs8(alg, &rng).map_err(failed)?;
            let pair = EcdsaKeyPair::from_pkcs8(alg, doc.as_ref(), &rng)
                .map_err(|_| AppError::Internal("P-256 key unreadable".into()))?;
            // Uncompressed point: 0x04, x (32 bytes), y (32 bytes).
            let point = pair.public_key().as_ref();
            let (x, y) = (&point[1..33], &point[33..65]);
            Ok((
                doc.as_ref().to_vec(),
                json!({"kty": "EC", "crv": "P-256", "x": B64URL.encode(x), "y": B64URL.encode(y),
                       "kid": kid, "use": "sig", "alg": "ES256"}),
            ))
        }
        Alg::Rs256 => {
            use rsa::pkcs1::EncodeRsaPrivateKey;
            use rsa::traits::PublicKeyParts;
            let sk = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048)
                .map_err(AppError::internal)?;
            let der = sk.to_pkcs1_der().map_err(AppError::internal)?;
            Ok((
                der.as_bytes().to_vec(),
                json!({"kty": "RSA", "n": B64URL.encode(sk.n().to_bytes_be()),
                       "e": B64URL.encode(sk.e().to_bytes_be()), "kid": kid, "use": "sig", "alg": "RS256"}),
            ))
        }
    }
}

/// Writes a new key that signs from `active_from` on, and retires the keys it replaces at that
/// moment; they stay published until `keep` after it.
async fn insert(
    db: &Db,
    alg: Alg,
    now: DateTime<Utc>,
    active_from: DateTime<Utc>,
    keep: Duration,
) -> AppResult<String> {
    let kid = format!(
        "{}-{}",
        alg.as_str().to_lowercase(),
        &kernel::secret::random_token()[..12]
    );
    let (der, jwk) = tokio::task::spawn_blocking({
        let kid = kid.clone();
        move || generate(alg, &kid)
    })
    .await
    .map_err(AppError::internal)??;
    let mut tx = db.begin().await?;
    kernel::on_tx!(&mut tx, c => sqlx::query(
        "UPDATE signing_keys SET retired_at = $2, expires_at = $3
         WHERE alg = $1 AND retired_at IS NULL AND active_from <= $2",
    ).bind(alg.as_str()).bind(active_from).bind(active_from + keep)
    .execute(c).await.map(|r| r.rows_affected()))?;
    kernel::on_tx!(&mut tx, c => sqlx::query(
        "INSERT INTO signing_keys (kid, alg, private_der, public_jwk, created_at, active_from)
         VALUES ($1, $2, $3, $4, $5, $6)",
    ).bind(&kid).bind(alg.as_str()).bind(STANDARD.encode(&der)).bind(jwk.to_string())
    .bind(now).bind(active_from).execute(c).await.map(|r| r.rows_affected()))?;
    tx.commit().await?;
    Ok(kid)
}

/// How long a retired key stays published: the longest life of a token it signed, and a margin.
fn keep_after_retirement(state: &AppState) -> Duration {
    let sso = &state.config.sso;
    Duration::minutes(i64::from(
        sso.id_token_minutes.max(sso.access_token_minutes),
    )) + Duration::hours(1)
}

impl KeyRing {
    async fn keys(&self, state: &AppState, force: bool) -> AppResult<Vec<Arc<Key>>> {
        let now = state.clock.now();
        {
            let l = self.loaded.read().unwrap_or_else(|e| e.into_inner());
            let fresh =
                l.at.is_some_and(|t| now - t < Duration::seconds(RELOAD_SECONDS));
            // A forced reload (an unknown kid) happens at most once a second.
            let recent = l.at.is_some_and(|t| now - t < Duration::seconds(1));
            if (fresh && !force) || (force && recent) {
                return Ok(l.keys.clone());
            }
        }
        let keys = load(&state.db, now).await?;
        let mut l = self.loaded.write().unwrap_or_else(|e| e.into_inner());
        *l = Loaded {
            keys: keys.clone(),
            at: Some(now),
        };
        Ok(keys)
    }
}

/// The key that signs now with `alg`, created when there is none (the first token, or the
/// first client asking for RS256).
pub async fn signing_key(state: &AppState, alg: Alg) -> AppResult<Arc<Key>> {
    let now = state.clock.now();
    let pick = |keys: &[Arc<Key>]| {
        keys.iter()
            .find(|k| k.alg == alg && k.active_from <= now && k.retired_at.is_none_or(|r| r > now))
            .cloned()
    };
    let r = ring(state);
    if let Some(k) = pick(&r.keys(state, false).await?) {
        return Ok(k);
    }
    if let Some(k) = pick(&r.keys(state, true).await?) {
        return Ok(k);
    }
    insert(&state.db, alg, now, now, keep_after_retirement(state)).await?;
    *r.loaded.write().unwrap_or_else(|e| e.into_inner()) = Loaded::default();
    pick(&r.keys(state, true).await?)
        .ok_or_else(|| AppError::Internal("no signing key after creating one".into()))
}

/// The published key with this id, for verifying.
pub async fn verifying_key(state: &AppState, kid: &str) -> AppResult<Option<Arc<Key>>> {
    let r = ring(state);
    let find = |keys: Vec<Arc<Key>>| keys.into_iter().find(|k| k.kid == kid);
    if let Some(k) = find(r.keys(state, false).await?) {
        return Ok(Some(k));
    }
    Ok(find(r.keys(state, true).await?))
}

/// The JWKS document: every published key.
pub async fn jwks(state: &AppState) -> AppResult<Value> {
    let keys = ring(state).keys(state, false).await?;
    Ok(json!({ "keys": keys.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>() }))
}

/// Starts a rotation for every algorithm in use: a new key, published now, signing after
/// `sso.key_publish_hours`. Returns the new key ids.
pub async fn rotate(state: &AppState) -> AppResult<Vec<String>> {
    let now = state.clock.now();
    let algs: Vec<(String,)> = on_db!(&state.db, p => sqlx::query_as(
        "SELECT DISTINCT alg FROM signing_keys WHERE retired_at IS NULL",
    ).fetch_all(p).await)?;
    let mut algs: Vec<Alg> = algs.iter().filter_map(|(a,)| Alg::parse(a)).collect();
    if algs.is_empty() {
        algs.push(Alg::Es256);
    }
    let ahead = Duration::hours(i64::from(state.config.sso.key_publish_hours));
    let mut kids = Vec::new();
    for alg in algs {
        kids.push(
            insert(
                &state.db,
                alg,
                now,
                now + ahead,
                keep_after_retirement(state),
            )
            .await?,
        );
    }
    *ring(state)
        .loaded
        .write()
        .unwrap_or_else(|e| e.into_inner()) = Loaded::default();
    Ok(kids)
}

/// The maintenance job: rotates when the signing key is older than `sso.key_rotation_days` and
/// no successor is waiting, and deletes keys that left the JWKS. Returns the keys created.
pub async fn maintain(state: &AppState) -> AppResult<u64> {
    let now = state.clock.now();
    on_db!(&state.db, p => sqlx::query("DELETE FROM signing_keys WHERE expires_at IS NOT NULL AND expires_at <= $1")
        .bind(now).execute(p).await.map(|r| r.rows_affected()))?;
    let cutoff = now - Duration::days(i64::from(state.config.sso.key_rotation_days));
    let (due,): (i64,) = on_db!(&state.db, p => sqlx::query_as(
        "SELECT COUNT(*) FROM signing_keys k WHERE k.retired_at IS NULL AND k.active_from <= $1
         AND NOT EXISTS (SELECT 1 FROM signing_keys n WHERE n.alg = k.alg AND n.active_from > k.active_from)",
    ).bind(cutoff).fetch_one(p).await)?;
    if due == 0 {
        return Ok(0);
    }
    Ok(rotate(state).await?.len() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both algorithms: a generated key signs, and its published JWK verifies the signature.
    #[test]
    fn generated_keys_sign_and_their_jwk_verifies() {
        for alg in [Alg::Es256, Alg::Rs256] {
            let (der, jwk) = generate(alg, "k1").unwrap();
            let key = parse(KeyRow {
                kid: "k1".into(),
                alg: alg.as_str().into(),
                private_der: STANDARD.encode(&der),
                public_jwk: jwk.to_string(),
                active_from: Utc::now(),
                retired_at: None,
            })
            .unwrap();
            let claims = json!({"sub": "x", "exp": Utc::now().timestamp() + 60});
            let token = jsonwebtoken::encode(
                &jsonwebtoken::Header::new(alg.jwt()),
                &claims,
                &key.encoding,
            )
            .unwrap_or_else(|e| panic!("{alg:?} signs: {e}"));
            let v = jsonwebtoken::Validation::new(alg.jwt());
            let back = jsonwebtoken::decode::<Value>(&token, &key.decoding, &v)
                .unwrap_or_else(|e| panic!("{alg:?} verifies: {e}"));
            assert_eq!(back.claims["sub"], "x");
            // Another key of the same kind does not verify it.
            let (_, other) = generate(alg, "k2").unwrap();
            let other = match alg {
                Alg::Es256 => DecodingKey::from_ec_components(
                    other["x"].as_str().unwrap(),
                    other["y"].as_str().unwrap(),
                ),
                Alg::Rs256 => DecodingKey::from_rsa_components(
                    other["n"].as_str().unwrap(),
                    other["e"].as_str().unwrap(),
                ),
            }
            .unwrap();
            assert!(jsonwebtoken::decode::<Value>(&token, &other, &v).is_err());
        }
    }
}

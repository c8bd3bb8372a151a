//! Anchors: the heads of every chain at a moment, signed with an Ed25519 key that lives in a
//! file on the server (`audit.anchor_key_file`), never in the database, so whoever can write
//! to the database cannot rewrite a chain and re-sign it. The maintenance job anchors once a
//! day; the retention job anchors before it archives. Verification needs only the public key.

use super::chain::{self, time};
use crate::error::{AppError, AppResult};
use crate::{Db, on_db, on_tx};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, SubsecRound, Utc};
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use std::path::Path;

/// The signing key, from its PKCS#8 file, made (readable by the server's user alone) when the
/// file does not exist yet.
pub struct AnchorKey {
    pair: Ed25519KeyPair,
}

impl AnchorKey {
    /// The key of an existing file.
    pub fn load(path: &Path) -> AppResult<Self> {
        let bytes = std::fs::read(path).map_err(|e| {
            AppError::internal(format!(
                "cannot read the audit anchor key {}: {e}",
                path.display()
            ))
        })?;
        Self::from_pkcs8(path, &bytes)
    }

    pub fn load_or_create(path: &Path) -> AppResult<Self> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let rng = ring::rand::SystemRandom::new();
                let doc = Ed25519KeyPair::generate_pkcs8(&rng)
                    .map_err(|_| AppError::internal("cannot generate the anchor key"))?;
                write_private(path, doc.as_ref())?;
                doc.as_ref().to_vec()
            }
            Err(e) => {
                return Err(AppError::internal(format!(
                    "cannot read the audit anchor key {}: {e}",
                    path.display()
                )));
            }
        };
        Self::from_pkcs8(path, &bytes)
    }

    fn from_pkcs8(path: &Path, bytes: &[u8]) -> AppResult<Self> {
        let pair = Ed25519KeyPair::from_pkcs8(bytes).map_err(|_| {
            AppError::internal(format!("{} is not an Ed25519 PKCS#8 key", path.display()))
        })?;
        Ok(Self { pair })
    }

    pub fn public(&self) -> Vec<u8> {
        self.pair.public_key().as_ref().to_vec()
    }

    /// A signature, base64.
    pub fn sign(&self, payload: &[u8]) -> String {
        STANDARD.encode(self.pair.sign(payload).as_ref())
    }

    /// The public key as configured for verifying nodes (`audit.anchor_public_key`).
    pub fn public_base64(&self) -> String {
        STANDARD.encode(self.public())
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> AppResult<()> {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(AppError::internal)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options.open(path).map_err(|e| {
        AppError::internal(format!(
            "cannot create the anchor key {}: {e}",
            path.display()
        ))
    })?;
    f.write_all(bytes).map_err(AppError::internal)
}

/// A key's short id: the first 16 hex digits of the SHA-256 of its public key.
pub fn key_id(public: &[u8]) -> String {
    use sha2::Digest;
    chain::hex(&sha2::Sha256::digest(public))[..16].to_owned()
}

/// One chain's head as an anchor records it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Head {
    pub writer: String,
    pub seq: i64,
    pub hash: String,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Anchor {
    pub id: crate::AuditId,
    pub day: String,
    pub at: DateTime<Utc>,
    pub heads: String,
    pub key_id: String,
    pub signature: String,
}

impl Anchor {
    /// What was signed.
    pub fn payload(&self) -> String {
        format!("{}\n{}\n{}", self.day, time(self.at), self.heads)
    }

    pub fn heads(&self) -> AppResult<Vec<Head>> {
        serde_json::from_str(&self.heads).map_err(AppError::internal)
    }

    /// Does the signature hold for this public key?
    pub fn signed_by(&self, public: &[u8]) -> bool {
        let Ok(sig) = STANDARD.decode(&self.signature) else {
            return false;
        };
        UnparsedPublicKey::new(&ED25519, public)
            .verify(self.payload().as_bytes(), &sig)
            .is_ok()
    }
}

pub const ANCHOR_COLUMNS: &str = "id, day, at, heads, key_id, signature";

/// Every chain's last link now.
pub async fn heads(db: &Db) -> AppResult<Vec<Head>> {
    let rows: Vec<(String, i64, String)> = on_db!(db, p => sqlx::query_as(
        "SELECT c.writer, c.seq, c.hash FROM audit_chain c
         JOIN (SELECT writer, MAX(seq) AS seq FROM audit_chain GROUP BY writer) m
           ON m.writer = c.writer AND m.seq = c.seq
         ORDER BY c.writer",
    ).fetch_all(p).await)?;
    Ok(rows
        .into_iter()
        .map(|(writer, seq, hash)| Head { writer, seq, hash })
        .collect())
}

/// Signs the heads of every chain under `day` (one anchor per day name: a second call for the
/// same day changes nothing and returns the first). Returns the anchor.
pub async fn anchor(db: &Db, key: &AnchorKey, day: &str, now: DateTime<Utc>) -> AppResult<Anchor> {
    let heads = serde_json::to_string(&heads(db).await?).map_err(AppError::internal)?;
    let mut a = Anchor {
        id: crate::AuditId::new(),
        day: day.to_owned(),
        at: now.trunc_subsecs(6),
        heads,
        key_id: key_id(&key.public()),
        signature: String::new(),
    };
    a.signature = key.sign(a.payload().as_bytes());
    let mut tx = db.begin().await?;
    on_tx!(&mut tx, c => sqlx::query(
        "INSERT INTO audit_anchors (id, day, at, heads, key_id, signature) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (day) DO NOTHING",
    ).bind(a.id).bind(&a.day).bind(a.at).bind(&a.heads).bind(&a.key_id).bind(&a.signature)
    .execute(c).await.map(|r| r.rows_affected()))?;
    tx.commit().await?;
    let sql = format!("SELECT {ANCHOR_COLUMNS} FROM audit_anchors WHERE day = $1");
    Ok(on_db!(db, p => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(day).fetch_one(p).await)?)
}

/// The public key to verify with: configured (base64), else the one of the key file.
pub fn public_key(config: &crate::Config) -> AppResult<Vec<u8>> {
    if let Some(b64) = &config.audit.anchor_public_key {
        return STANDARD
            .decode(b64.trim())
            .map_err(|_| AppError::internal("audit.anchor_public_key is not base64"));
    }
    Ok(AnchorKey::load(&config.anchor_key_file())?.public())
}

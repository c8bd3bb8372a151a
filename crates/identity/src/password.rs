//! Argon2id password hashing with parameters from the config, stored as PHC strings, run on
//! the blocking pool behind a semaphore sized to the cores.

use argon2::password_hash::{Output, ParamsString, PasswordHash, Salt, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use kernel::config::PasswordConfig;
use kernel::{AppError, AppResult, AppState};
use std::cell::RefCell;

fn params(cfg: &PasswordConfig) -> AppResult<Params> {
    Params::new(cfg.memory_kib, cfg.iterations, cfg.parallelism, None)
        .map_err(|e| AppError::Internal(format!("invalid Argon2 parameters: {e}")))
}

thread_local! {
    /// Argon2's working memory (`memory_kib`), kept by each hashing thread and reused: a new
    /// 19 MiB allocation per hash leaves the allocator holding many of them after a burst of
    /// logins, while one buffer per thread bounds it to the hashing threads (one per core).
    /// It grows to the largest parameters met (an old hash's) and stays there.
    static MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// The hash of `password` with `salt`, computed in this thread's working memory.
fn compute(argon: &Argon2<'_>, p: &Params, password: &[u8], salt: Salt<'_>) -> AppResult<Output> {
    let fail = |e: argon2::password_hash::Error| AppError::Internal(format!("hashing failed: {e}"));
    let mut salt_buf = [0u8; 64];
    let salt = salt.decode_b64(&mut salt_buf).map_err(fail)?;
    let blocks = p.block_count();
    MEMORY.with(|m| {
        let mut m = m.borrow_mut();
        if m.len() < blocks {
            m.resize(blocks, Block::default());
        }
        Output::init_with(
            p.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN),
            |out| {
                Ok(argon.hash_password_into_with_memory(password, salt, out, &mut m[..blocks])?)
            },
        )
        .map_err(fail)
    })
}

/// Hashes synchronously (for the CLI and tests; servers use [`hash`]).
pub fn hash_blocking(cfg: &PasswordConfig, password: &str) -> AppResult<String> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    let p = params(cfg)?;
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, p.clone());
    let hash = compute(&argon, &p, password.as_bytes(), salt.as_salt())?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&p)
            .map_err(|e| AppError::Internal(format!("hashing failed: {e}")))?,
        salt: Some(salt.as_salt()),
        hash: Some(hash),
    };
    Ok(phc.to_string())
}

/// The result of checking a password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    pub ok: bool,
    /// The stored hash uses other parameters than the config: rehash now that we know the password.
    pub needs_rehash: bool,
}

/// The hash of an account whose initial password has not been issued yet (created by an
/// import): no password matches it.
pub const UNISSUED: &str = "!unissued";

pub fn verify_blocking(cfg: &PasswordConfig, password: &str, phc: &str) -> AppResult<Verified> {
    if phc == UNISSUED {
        return Ok(Verified {
            ok: false,
            needs_rehash: false,
        });
    }
    let unreadable = |e: String| AppError::Internal(format!("stored hash unreadable: {e}"));
    let parsed = PasswordHash::new(phc).map_err(|e| unreadable(e.to_string()))?;
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return Err(unreadable("no salt or hash".into()));
    };
    let algorithm = Algorithm::try_from(parsed.algorithm).map_err(|e| unreadable(e.to_string()))?;
    let version = parsed
        .version
        .map(Version::try_from)
        .transpose()
        .map_err(|e| unreadable(e.to_string()))?
        .unwrap_or_default();
    let p = Params::try_from(&parsed).map_err(|e| unreadable(e.to_string()))?;
    let argon = Argon2::new(algorithm, version, p.clone());
    // `Output`'s comparison takes the same time wherever the outputs differ.
    let ok = compute(&argon, &p, password.as_bytes(), salt)? == expected;
    let needs_rehash = ok && {
        let current = Params::try_from(&parsed).ok();
        parsed.algorithm.as_str() != "argon2id"
            || current.is_none_or(|p| {
                p.m_cost() != cfg.memory_kib
                    || p.t_cost() != cfg.iterations
                    || p.p_cost() != cfg.parallelism
            })
    };
    Ok(Verified { ok, needs_rehash })
}

pub async fn hash(state: &AppState, password: String) -> AppResult<String> {
    let _permit = state
        .hash_permits
        .acquire()
        .await
        .map_err(AppError::internal)?;
    let cfg = state.config.password.clone();
    on_hash_thread(move || hash_blocking(&cfg, &password)).await?
}

pub async fn verify(state: &AppState, password: String, phc: String) -> AppResult<Verified> {
    let _permit = state
        .hash_permits
        .acquire()
        .await
        .map_err(AppError::internal)?;
    let cfg = state.config.password.clone();
    on_hash_thread(move || verify_blocking(&cfg, &password, &phc)).await?
}

type Job = Box<dyn FnOnce() + Send>;

/// Hashing runs on a few long-lived threads, one per core, not on the runtime's blocking pool:
/// each Argon2id call allocates `memory_kib`, and the allocator keeps that much per thread that
/// ever hashed, so hundreds of pool threads would keep hundreds of times 19 MiB.
fn hash_threads() -> &'static std::sync::mpsc::SyncSender<Job> {
    use std::sync::{Arc, Mutex, OnceLock};
    static SENDER: OnceLock<std::sync::mpsc::SyncSender<Job>> = OnceLock::new();
    SENDER.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Job>(256);
        let rx = Arc::new(Mutex::new(rx));
        let n = std::thread::available_parallelism().map_or(2, |n| n.get());
        for i in 0..n {
            let rx = Arc::clone(&rx);
            let _ = std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || {
                    loop {
                        let job = match rx.lock() {
                            Ok(r) => r.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    }
                });
        }
        tx
    })
}

async fn on_hash_thread<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> AppResult<T> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let job: Job = Box::new(move || {
        let _ = tx.send(f());
    });
    // The permits keep the queue to a few jobs per server; a full queue means a storm.
    hash_threads().try_send(job).map_err(|e| match e {
        std::sync::mpsc::TrySendError::Full(_) => AppError::TooManyRequests,
        std::sync::mpsc::TrySendError::Disconnected(_) => AppError::internal("no hashing threads"),
    })?;
    rx.await.map_err(AppError::internal)
}

/// A valid hash of a random password with the configured parameters, checked against when the
/// account does not exist so the answer takes as long as for a real account.
pub fn dummy_hash(cfg: &PasswordConfig) -> AppResult<String> {
    hash_blocking(cfg, &kernel::secret::random_token())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn weak() -> PasswordConfig {
        PasswordConfig {
            memory_kib: 1024,
            iterations: 1,
            parallelism: 1,
        }
    }

    /// The hashes are the library's own PHC strings both ways: stored hashes made before the
    /// working memory was reused still verify, and the library verifies ours.
    #[test]
    fn hashes_match_the_library_both_ways() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let argon = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            params(&weak()).unwrap(),
        );
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        let theirs = argon
            .hash_password(b"Secret123", &salt)
            .unwrap()
            .to_string();
        assert!(verify_blocking(&weak(), "Secret123", &theirs).unwrap().ok);
        assert!(!verify_blocking(&weak(), "Secret124", &theirs).unwrap().ok);
        let ours = hash_blocking(&weak(), "Secret123").unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(
            Argon2::default()
                .verify_password(b"Secret123", &parsed)
                .is_ok()
        );
        assert!(
            Argon2::default()
                .verify_password(b"Secret124", &parsed)
                .is_err()
        );
        // An argon2i hash (another algorithm) verifies and asks to be rehashed.
        let old = Argon2::new(Algorithm::Argon2i, Version::V0x13, params(&weak()).unwrap())
            .hash_password(b"Secret123", &salt)
            .unwrap()
            .to_string();
        let v = verify_blocking(&weak(), "Secret123", &old).unwrap();
        assert!(v.ok && v.needs_rehash);
    }

    #[test]
    fn hashes_verify_and_ask_for_rehash_when_parameters_change() {
        let h = hash_blocking(&weak(), "Secret123").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert_eq!(
            verify_blocking(&weak(), "Secret123", &h).unwrap(),
            Verified {
                ok: true,
                needs_rehash: false
            }
        );
        assert!(!verify_blocking(&weak(), "secret123", &h).unwrap().ok);
        let stronger = PasswordConfig {
            memory_kib: 2048,
            ..weak()
        };
        assert!(
            verify_blocking(&stronger, "Secret123", &h)
                .unwrap()
                .needs_rehash
        );
    }
}

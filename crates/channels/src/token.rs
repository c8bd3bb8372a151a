//! An access token a provider hands out for a while (WeCom's and DingTalk's last two hours):
//! fetched once, shared by every send of this node, fetched again a few minutes before it
//! expires or as soon as the provider says it is no longer valid.

use std::time::{Duration, Instant};
use tokio::sync::Mutex;

#[derive(Default)]
pub struct Token(Mutex<Option<(String, Instant)>>);

impl Token {
    /// The cached token, or `fetch`'s (token, lifetime in seconds).
    pub async fn get<F, Fut>(&self, fetch: F) -> Result<String, crate::SendError>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<(String, u64), crate::SendError>>,
    {
        let mut slot = self.0.lock().await;
        if let Some((t, until)) = slot.as_ref()
            && Instant::now() < *until
        {
            return Ok(t.clone());
        }
        let (token, seconds) = fetch().await?;
        // Renew five minutes early (at most halfway through a short lifetime).
        let margin = 300.min(seconds / 2);
        *slot = Some((
            token.clone(),
            Instant::now() + Duration::from_secs(seconds - margin),
        ));
        Ok(token)
    }

    /// Forgets the token (the provider said it expired or is invalid).
    pub async fn forget(&self) {
        *self.0.lock().await = None;
    }
}

//! The demo library: a real-looking catalogue for Chinese, maths and English across several
//! grades, and resources at every level of sharing, loaded with the demo region.

use kernel::{AppResult, AppState};

/// Loads the demo library once (after the demo region); does nothing if a catalogue exists.
pub async fn load(state: &AppState) -> AppResult<()> {
    crate::catalog::demo::load(state).await?;
    crate::library::demo::load(state).await?;
    let _ = state;
    Ok(())
}

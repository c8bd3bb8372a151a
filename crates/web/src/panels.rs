//! Panels that modules add to the home page (the library's recommendations, later notices and
//! spaces). A module registers a function once, when the router is built; the home page asks
//! each for its HTML (rendered by the module's own template in the viewer's language), in the
//! order they were registered, and shows those that have something to say.

use crate::auth::Session;
use kernel::{AppResult, AppState};
use std::future::Future;
use std::pin::Pin;
use std::sync::RwLock;

pub type PanelFuture<'a> = Pin<Box<dyn Future<Output = AppResult<Option<String>>> + Send + 'a>>;

/// A home-page panel: HTML for this viewer, or `None` to show nothing.
pub type PanelFn = for<'a> fn(&'a AppState, &'a Session) -> PanelFuture<'a>;

/// The home page's panels, one registry per state (`state.cache::<HomePanels>()`).
#[derive(Default)]
pub struct HomePanels(RwLock<Vec<PanelFn>>);

impl HomePanels {
    /// Adds a panel (once: registering the same function again does nothing).
    pub fn register(&self, panel: PanelFn) {
        let mut all = self.0.write().unwrap_or_else(|e| e.into_inner());
        if !all.iter().any(|p| std::ptr::fn_addr_eq(*p, panel)) {
            all.push(panel);
        }
    }

    pub fn all(&self) -> Vec<PanelFn> {
        self.0.read().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// The HTML of every registered panel that has something for this viewer.
pub async fn render_all(state: &AppState, session: &Session) -> AppResult<Vec<String>> {
    let mut out = Vec::new();
    for panel in state.cache::<HomePanels>().all() {
        if let Some(html) = panel(state, session).await? {
            out.push(html);
        }
    }
    Ok(out)
}

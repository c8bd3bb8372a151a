//! The textbook catalogue: stage → subject → edition → volume → unit → section, its import
//! from CSV/XLSX, the demo catalogue, schools' textbook choices and classes' progress.

use axum::Router;
use kernel::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
}

/// The routes that take a catalogue spreadsheet.
pub fn upload_routes() -> Router<AppState> {
    Router::new()
}

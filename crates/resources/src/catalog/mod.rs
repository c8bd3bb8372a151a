//! The textbook catalogue: stage → subject → edition → volume → unit → section, its import
//! from CSV/XLSX, the demo catalogue, schools' textbook choices and classes' progress.
//!
//! What the rest of the library calls:
//! - reading ([`tree`]): [`get`], [`children`], [`with_breadcrumb`], [`regions_for`] and
//!   [`catalogues_for`] (the catalogues a person uses: their city's and district's),
//!   [`editions`], [`volumes`] (of an edition) and [`volumes_for`] (of a stage, subject and
//!   edition name), [`units`], [`outline`] (units with their sections),
//!   [`subtree_ids`];
//! - [`edition_for`] (the edition a school teaches a subject from) and
//!   [`progress::of_class`] (where a class is, and what it reaches next).
//!
//! Maintenance ([`edit`], [`import`]) is for administrators of the catalogue's region.

pub mod api;
pub mod choices;
pub mod demo;
pub mod edit;
pub mod import;
pub mod model;
pub mod pages;
pub mod progress;
pub mod tree;

pub use choices::edition_for;
pub use model::{CatalogNode, NodeKind};
pub use tree::{
    Catalogue, UnitOutline, WithBreadcrumb, catalogues_for, children, editions, find, get, outline,
    regions_for, subtree_ids, units, volumes, with_breadcrumb,
};

use axum::Router;
use kernel::AppState;

/// The catalogue's pages and API.
pub fn routes() -> Router<AppState> {
    pages::routes().merge(api::routes())
}

/// The routes that take a catalogue spreadsheet (the page's import, the API's).
pub fn upload_routes() -> Router<AppState> {
    pages::upload_routes().merge(api::upload_routes())
}

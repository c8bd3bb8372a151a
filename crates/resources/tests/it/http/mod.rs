//! The library over HTTP: its pages and API on a `TestApp`, as a browser or an API client
//! uses them.

mod catalog;
mod files;
mod flow;
mod library;
mod search;

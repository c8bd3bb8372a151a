//! The question bank (题库): a school's items on chapters and knowledge points, written by type
//! in the editor, shown with their mathematics as MathML, and marked by rule where the type
//! allows.

pub mod bank;
pub mod chem;
pub mod form;
pub mod import;
pub mod math;
pub mod normalise;
pub mod pages;
pub mod qti;
pub mod score;
pub mod share;

//! Items of the question bank (题库): their types, keys and scoring.

pub mod normalise;
pub mod score;

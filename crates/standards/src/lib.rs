//! The national standards the base data follows, as typed values: the code tables (GB/T 2261,
//! GB/T 3304, GB/T 4761, JY/T 1001 and the student registry's), the administrative divisions
//! (GB/T 2260), identifier formats and their validators (GB 11643 ID numbers, school codes,
//! registry numbers), values as schools type them, subjects, grades, node kinds and stages.
//! A leaf crate: it depends on no other crate of the workspace, so every module may use it.

pub mod codes;
pub mod divisions;
pub mod grades;
pub mod kinds;
pub mod subjects;
pub mod typed;
pub mod validate;

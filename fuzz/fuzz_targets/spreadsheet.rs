//! cargo fuzz target: the spreadsheet readers (CSV in UTF-8 and GBK, XLSX, XLS) and the student
//! file check on any bytes; see crates/jiaoyun/src/fuzzing.rs and docs/security.md (Fuzzing).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    jiaoyun::fuzzing::spreadsheet(data);
});

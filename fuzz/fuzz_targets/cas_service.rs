//! cargo fuzz target: the CAS service matcher on `prefix\nservice`; a match must hold together
//! (same host, no dot segment, no userinfo). See crates/jiaoyun/src/fuzzing.rs.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    assert!(jiaoyun::fuzzing::cas_service(data), "{:?}", String::from_utf8_lossy(data));
});

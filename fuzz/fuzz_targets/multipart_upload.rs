//! cargo fuzz target: the resource form's multipart upload path (`POST /library/new`) with any
//! body; never a server error. See crates/jiaoyun/src/fuzzing.rs.
#![no_main]

use jiaoyun::fuzzing::{Harness, Target};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

static HARNESS: OnceLock<Harness> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let h = HARNESS.get_or_init(|| Harness::new().expect("fuzz harness"));
    let status = h.run(Target::MultipartUpload, data);
    assert!(!status.is_server_error(), "{status}");
});

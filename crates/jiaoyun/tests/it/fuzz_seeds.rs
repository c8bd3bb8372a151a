//! The fuzz targets' seed corpus (tests/fuzz_seeds/) and byte-level mutations of it, through
//! the same harness cargo fuzz drives (src/fuzzing.rs): no input may produce a server error.

use jiaoyun::fuzzing::{Harness, Target};
use reqwest::StatusCode;

fn seeds(dir: &str) -> Vec<Vec<u8>> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz_seeds")
        .join(dir);
    let mut out: Vec<Vec<u8>> = std::fs::read_dir(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect();
    assert!(out.len() >= 4, "seeds in {dir}");
    out.sort();
    out
}

/// Deterministic mutations: flip, drop, duplicate and splice bytes (a small stand-in for the
/// fuzzer, so every test run covers more than the seeds).
fn mutations(seed: &[u8], n: usize) -> Vec<Vec<u8>> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15 ^ seed.len() as u64;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    (0..n)
        .map(|_| {
            let mut v = seed.to_vec();
            for _ in 0..(next() % 4 + 1) {
                if v.is_empty() {
                    v.push(next() as u8);
                    continue;
                }
                let i = (next() as usize) % v.len();
                match next() % 4 {
                    0 => v[i] = next() as u8,
                    1 => {
                        v.remove(i);
                    }
                    2 => {
                        let b = v[i];
                        v.insert(i, b);
                    }
                    _ => v
                        .splice(i..i, b"&code_challenge=%".iter().copied())
                        .for_each(drop),
                }
            }
            v
        })
        .collect()
}

fn exercise(target: Target, dir: &str) {
    let h = Harness::new().expect("harness");
    let mut statuses = std::collections::BTreeSet::new();
    for seed in seeds(dir) {
        for input in std::iter::once(seed.clone()).chain(mutations(&seed, 60)) {
            let status = h.run(target, &input);
            assert!(
                !status.is_server_error(),
                "{status} for {dir} input {:?}",
                String::from_utf8_lossy(&input)
            );
            statuses.insert(status.as_u16());
        }
    }
    // The inputs reach the handlers' own answers, not just one generic refusal.
    assert!(statuses.len() >= 2, "{dir}: {statuses:?}");
}

#[test]
fn authorize_query_seeds_and_mutations_never_fail_the_server() {
    exercise(Target::AuthorizeQuery, "authorize_query");
}

#[test]
fn token_form_seeds_and_mutations_never_fail_the_server() {
    exercise(Target::TokenForm, "token_form");
}

#[test]
fn cas_request_seeds_and_mutations_never_fail_the_server() {
    exercise(Target::Cas, "cas_request");
}

#[test]
fn the_harness_reaches_the_handlers_answers() {
    let h = Harness::new().expect("harness");
    // A well-formed request of the registered client gets past every check to a code.
    let ok = b"response_type=code&client_id=CLIENT_ID&redirect_uri=http://127.0.0.1:9/callback&scope=openid";
    assert_eq!(h.run(Target::AuthorizeQuery, ok), StatusCode::SEE_OTHER);
    let unknown = b"response_type=code&client_id=nobody&redirect_uri=http://127.0.0.1:9/callback&scope=openid";
    assert_eq!(
        h.run(Target::AuthorizeQuery, unknown),
        StatusCode::BAD_REQUEST
    );
    // The client authenticates; an unknown code is invalid_grant (400), not unauthorized.
    assert_eq!(
        h.run(
            Target::TokenForm,
            b"\x01grant_type=authorization_code&code=x&redirect_uri=http://127.0.0.1:9/callback"
        ),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        h.run(Target::TokenForm, b"\x01grant_type=client_credentials"),
        StatusCode::OK
    );
}

#[test]
fn multipart_upload_seeds_and_mutations_never_fail_the_server() {
    exercise(Target::MultipartUpload, "multipart_upload");
}

#[test]
fn spreadsheet_seeds_and_mutations_never_panic_the_readers() {
    let mut rows = 0;
    for seed in seeds("spreadsheet") {
        for input in std::iter::once(seed.clone()).chain(mutations(&seed, 40)) {
            rows += jiaoyun::fuzzing::spreadsheet(&input);
        }
    }
    // The seeds are read, not refused whole: UTF-8, GBK, XLSX rows come out.
    assert!(rows >= 12, "{rows} rows read");
}

#[test]
fn cas_service_seeds_and_mutations_keep_the_matcher_sound() {
    let mut matched = 0;
    for seed in seeds("cas_service") {
        for input in std::iter::once(seed.clone()).chain(mutations(&seed, 200)) {
            assert!(
                jiaoyun::fuzzing::cas_service(&input),
                "{:?}",
                String::from_utf8_lossy(&input)
            );
            let text = String::from_utf8_lossy(&input);
            let (p, s) = text.split_once('\n').unwrap_or((&text, ""));
            matched += usize::from(sso::service_url::matches(p, s));
        }
    }
    assert!(matched >= 1, "the good seed matches");
}

//! A fourth real relying party: `openid-client` (Node.js, v6, OpenID-certified), run as
//! `tests/js/openid-client/script.mjs`. The script discovers the provider, builds the
//! authorization URL (PKCE S256, state, nonce) and prints it; this test follows it with a
//! logged-in browser's cookies and hands the callback URL back on stdin; the script completes the
//! code grant (validating the callback and the ID token), reads UserInfo, refreshes, and prints
//! a JSON summary asserted here.

use crate::helpers::TestApp;
use crate::oidc_client::{REDIRECT, register};
use reqwest::StatusCode;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

fn script_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/js/openid-client")
}

/// Kills the script if the test ends early.
struct Node(Child);

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
#[ignore = "needs node and npm ci in crates/jiaoyun/tests/js/openid-client: run with --include-ignored (.ci/run installs it)"]
async fn openid_client_js_code_flow_with_pkce_userinfo_and_refresh() {
    let dir = script_dir();
    assert!(
        dir.join("node_modules/openid-client/package.json")
            .is_file(),
        "openid-client is not installed: run `npm ci` in {}",
        dir.display()
    );
    let app = TestApp::start().await;
    let (client_id, secret) = register(&app, |_| {}).await;
    let secret = secret.expect("a confidential client");
    let browser = app.login("teacher").await;

    let mut node = Node(
        Command::new("node")
            .arg("script.mjs")
            .args([app.base.as_str(), &client_id, &secret, REDIRECT])
            .current_dir(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("node runs (is Node.js installed?)"),
    );
    // The script's output, line by line, read on a thread: the server answering the script runs
    // on this test's runtime and must not be blocked.
    let (tx, mut lines) = tokio::sync::mpsc::unbounded_channel::<String>();
    let stdout = node.0.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut stderr = node.0.stderr.take().unwrap();
    let errors = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let mut next_line = async || {
        tokio::time::timeout(Duration::from_secs(60), lines.recv())
            .await
            .ok()
            .flatten()
    };

    let Some(url) = next_line().await else {
        let _ = node.0.kill();
        panic!(
            "no authorization URL from the script: {}",
            errors.join().unwrap_or_default()
        );
    };
    assert!(url.starts_with(&app.url("/oidc/authorize?")), "{url}");
    for p in [
        "code_challenge_method=S256",
        "state=",
        "nonce=",
        "scope=openid",
    ] {
        assert!(url.contains(p), "{p} in {url}");
    }
    let r = browser.get(&url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let callback = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(callback.starts_with(REDIRECT), "{callback}");
    let mut stdin = node.0.stdin.take().unwrap();
    writeln!(stdin, "{callback}").unwrap();
    drop(stdin);

    let Some(summary) = next_line().await else {
        let _ = node.0.kill();
        panic!("the script failed: {}", errors.join().unwrap_or_default());
    };
    let s: serde_json::Value = serde_json::from_str(&summary)
        .unwrap_or_else(|e| panic!("JSON from the script ({e}): {summary}"));
    for _ in 0..100 {
        if node.0.try_wait().unwrap().is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let status = node.0.try_wait().unwrap().expect("the script ends");
    assert!(
        status.success(),
        "{status}: {}",
        errors.join().unwrap_or_default()
    );

    let teacher = app.person_id("teacher").await;
    let (name,): (String,) =
        kernel::on_db!(&app.state.db, p => sqlx::query_as("SELECT name FROM persons WHERE id = $1")
        .bind(teacher).fetch_one(p).await)
        .unwrap();
    assert_eq!(s["sub"], teacher.to_string().as_str(), "{s}");
    assert_eq!(s["id_token"]["iss"], app.base.as_str());
    assert_eq!(s["id_token"]["aud"], client_id.as_str());
    assert!(
        s["id_token"]["nonce"]
            .as_str()
            .is_some_and(|n| !n.is_empty())
    );
    assert!(s["id_token"]["auth_time"].is_number());
    assert_eq!(s["userinfo"]["sub"], teacher.to_string().as_str());
    assert_eq!(s["userinfo"]["name"], name.as_str());
    assert_eq!(s["userinfo"]["preferred_username"], "teacher");
    let (access, refresh) = (
        s["access_token"].as_str().unwrap(),
        s["refresh_token"].as_str().unwrap(),
    );
    let new_access = s["refreshed"]["access_token"]
        .as_str()
        .expect("a new access token");
    let new_refresh = s["refreshed"]["refresh_token"]
        .as_str()
        .expect("a rotated refresh token");
    assert_ne!(new_access, access);
    assert_ne!(new_refresh, refresh);
    assert_eq!(s["refreshed"]["sub"], teacher.to_string().as_str());
    assert_eq!(
        crate::oidc_client::userinfo_status(&app, new_access).await,
        StatusCode::OK,
        "the refreshed access token works"
    );
    app.stop().await;
}

//! The files part of `jiaoyun bench resources`: the real server on a random port in a fresh
//! database with the demo region, a demo teacher logged in through the login form, then
//! - `files` uploads of 10 MB each through the resumable upload API (four at a time, each in
//!   `files.chunk_bytes` chunks, then completed: hashed, sniffed, stored): MB/s and files/s;
//! - a 256 MiB video streamed by 32 clients at once, each reading 1 MiB ranges at random
//!   places (`206` answers streamed from the store): aggregate MB/s and p50/p99 latency.

use crate::bench::{fresh_db, peak_rss_mib};
use kernel::{AppError, AppResult, AppState, Clock, Config};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};

const FILE_BYTES: usize = 10 * 1000 * 1000;
const VIDEO_BYTES: usize = 256 * 1024 * 1024;
const RANGE_BYTES: u64 = 1024 * 1024;
const READERS: usize = 32;
const READS_EACH: usize = 64;
const UPLOADERS: usize = 4;

fn err(e: impl std::fmt::Display) -> AppError {
    AppError::internal(e)
}

/// Bytes that do not repeat (so no two files are stored as one), behind an MP4 header.
fn content(len: usize, seed: u64) -> Vec<u8> {
    let mut out = b"\0\0\0\x20ftypisom\0\0\x02\0isomiso2avc1mp41".to_vec();
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

fn csrf_in(page: &str) -> Option<String> {
    let marker = "name=\"csrf\" value=\"";
    let start = page.find(marker)? + marker.len();
    page[start..].split('"').next().map(str::to_owned)
}

/// A client logged in through the login form, and its session's CSRF token.
async fn login(base: &str, user: &str) -> AppResult<(Client, String)> {
    let c = Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(64)
        .build()
        .map_err(err)?;
    let page = c
        .get(format!("{base}/login"))
        .send()
        .await
        .map_err(err)?
        .text()
        .await
        .map_err(err)?;
    let csrf = csrf_in(&page).ok_or_else(|| err("no CSRF field on the login page"))?;
    let r = c
        .post(format!("{base}/login"))
        .form(&[
            ("username", user),
            ("password", directory::demo::DEMO_PASSWORD),
            ("csrf", &csrf),
            ("next", "/"),
        ])
        .send()
        .await
        .map_err(err)?;
    if r.status() != StatusCode::SEE_OTHER {
        return Err(err(format!("login as {user} answered {}", r.status())));
    }
    let page = c
        .get(format!("{base}/profile"))
        .send()
        .await
        .map_err(err)?
        .text()
        .await
        .map_err(err)?;
    let csrf = csrf_in(&page).ok_or_else(|| err("no CSRF field on the profile page"))?;
    Ok((c, csrf))
}

async fn json_of(r: reqwest::Response, what: &str) -> AppResult<(StatusCode, Value)> {
    let s = r.status();
    let v: Value = r.json().await.map_err(err)?;
    if !s.is_success() {
        return Err(err(format!("{what}: {s} {v}")));
    }
    Ok((s, v))
}

/// One file through the resumable API; returns the upload's id.
async fn upload(c: &Client, base: &str, csrf: &str, name: &str, bytes: &[u8]) -> AppResult<String> {
    let r = c
        .post(format!("{base}/api/v1/uploads"))
        .header("x-csrf-token", csrf)
        .json(&json!({ "file_name": name, "size": bytes.len() }))
        .send()
        .await
        .map_err(err)?;
    let (_, up) = json_of(r, "create").await?;
    let id = up["id"].as_str().ok_or_else(|| err("no id"))?.to_owned();
    let chunk = up["chunk_size"]
        .as_u64()
        .ok_or_else(|| err("no chunk size"))? as usize;
    for (i, part) in bytes.chunks(chunk).enumerate() {
        let r = c
            .put(format!("{base}/api/v1/uploads/{id}/chunks/{i}"))
            .header("x-csrf-token", csrf)
            .body(part.to_vec())
            .send()
            .await
            .map_err(err)?;
        json_of(r, "chunk").await?;
    }
    let r = c
        .post(format!("{base}/api/v1/uploads/{id}/complete"))
        .header("x-csrf-token", csrf)
        .send()
        .await
        .map_err(err)?;
    let (mut status, mut v) = json_of(r, "complete").await?;
    while status == StatusCode::ACCEPTED || v["state"] == "assembling" {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let r = c
            .get(format!("{base}/api/v1/uploads/{id}"))
            .send()
            .await
            .map_err(err)?;
        (status, v) = json_of(r, "status").await?;
    }
    if v["state"] != "complete" {
        return Err(err(format!("upload ended {v}")));
    }
    Ok(id)
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)].as_secs_f64() * 1000.0
}

/// `jiaoyun bench resources`' file figures with `files` uploads of 10 MB.
pub async fn run(config: Config, files: usize) -> AppResult<()> {
    let dir = std::env::temp_dir().join(format!("jy-bench-files-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).map_err(err)?;
    let (fresh, mut cfg) = fresh_db("files", &config).await?;
    cfg.data_dir = dir.clone();
    cfg.files.dir = None;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(err)?;
    let addr = listener.local_addr().map_err(err)?;
    cfg.listen = addr.to_string();
    cfg.public_url = Some(format!("http://{addr}"));
    let state = AppState::new(fresh.db.clone(), cfg, Clock::System);
    directory::demo::load(&state).await?;
    resources::demo::load(&state).await?;
    let server = tokio::spawn(crate::server::serve_on(
        listener,
        state.clone(),
        std::future::pending(),
    ));
    let result = bench(&format!("http://{addr}"), files).await;
    server.abort();
    let _ = server.await;
    fresh.drop_db().await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

async fn bench(base: &str, files: usize) -> AppResult<()> {
    let (c, csrf) = login(base, "teacher").await?;

    // Uploads of 10 MB files, a few at a time.
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..UPLOADERS.min(files.max(1)) {
        let (c, csrf, base, next) = (c.clone(), csrf.clone(), base.to_owned(), next.clone());
        workers.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= files {
                    return Ok::<_, AppError>(());
                }
                let bytes = content(FILE_BYTES, i as u64 + 1);
                upload(&c, &base, &csrf, &format!("微课{i:04}.mp4"), &bytes).await?;
            }
        }));
    }
    for w in workers {
        w.await.map_err(err)??;
    }
    let secs = started.elapsed().as_secs_f64();
    let mb = (files * FILE_BYTES) as f64 / 1e6;
    println!(
        "  uploads: {files} files of 10 MB through the chunked API in {secs:.1} s: {:.1} MB/s, {:.2} files/s ({UPLOADERS} at a time)",
        mb / secs,
        files as f64 / secs
    );

    // One video-sized file, read in 1 MiB ranges by many clients at once.
    let video = content(VIDEO_BYTES, 0xF11E);
    let id = upload(&c, base, &csrf, "课堂实录.mp4", &video).await?;
    drop(video);
    let url = format!("{base}/api/v1/uploads/{id}/content");
    let started = Instant::now();
    let mut readers = Vec::new();
    for r in 0..READERS {
        let (c, url) = (c.clone(), url.clone());
        readers.push(tokio::spawn(async move {
            let mut x = (r as u64 + 1).wrapping_mul(0x2545_F491_4F6C_DD1D);
            let mut took = Vec::with_capacity(READS_EACH);
            for _ in 0..READS_EACH {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let start = x % (VIDEO_BYTES as u64 - RANGE_BYTES);
                let t = Instant::now();
                let res = c
                    .get(&url)
                    .header(
                        "range",
                        format!("bytes={start}-{}", start + RANGE_BYTES - 1),
                    )
                    .send()
                    .await
                    .map_err(err)?;
                if res.status() != StatusCode::PARTIAL_CONTENT {
                    return Err(err(format!("range read answered {}", res.status())));
                }
                let body = res.bytes().await.map_err(err)?;
                if body.len() as u64 != RANGE_BYTES {
                    return Err(err(format!("range read gave {} bytes", body.len())));
                }
                took.push(t.elapsed());
            }
            Ok::<_, AppError>(took)
        }));
    }
    let mut all = Vec::new();
    for r in readers {
        all.extend(r.await.map_err(err)??);
    }
    let secs = started.elapsed().as_secs_f64();
    all.sort();
    let total = all.len() as f64 * RANGE_BYTES as f64 / 1e6;
    println!(
        "  range streaming: {READERS} clients, {} reads of 1 MiB from a 256 MiB video in {secs:.1} s: {:.0} MB/s; latency p50 {:.1} ms, p99 {:.1} ms; peak RSS {:.0} MiB",
        all.len(),
        total / secs,
        percentile(&all, 0.50),
        percentile(&all, 0.99),
        peak_rss_mib()
    );
    Ok(())
}

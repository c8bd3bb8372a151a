//! The library in real headless Chromium: a teacher uploads a micro-lesson in chunks and
//! watches the progress bar, makes it a resource on the chapter they teach and shares it; the
//! school approves and recommends it, the district approves it; a teacher of another school
//! in the district finds it by search. Needs chromium and chromium-driver (.ci/run installs them).

use crate::browser::{Driver, click_to, log_in, log_out};
use crate::helpers::TestApp;
use fantoccini::{Client, Locator};

/// A small but real MP4 (an `ftyp` box, then padding in an `mdat` box) of `size` bytes.
fn mp4(size: usize) -> Vec<u8> {
    let mut v = vec![0, 0, 0, 0x18];
    v.extend_from_slice(b"ftypisom\0\0\x02\0isomiso2");
    let rest = size - v.len();
    v.extend_from_slice(&(rest as u32).to_be_bytes());
    v.extend_from_slice(b"mdat");
    v.resize(size, 0x55);
    v
}

async fn js(b: &Client, script: &str) -> serde_json::Value {
    b.execute(script, vec![]).await.unwrap()
}

async fn main_text(b: &Client) -> String {
    b.find(Locator::Css("main"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

#[tokio::test]
#[ignore = "needs chromium and chromedriver: run with --include-ignored (.ci/run does)"]
async fn a_micro_lesson_goes_from_upload_through_review_to_another_schools_search() {
    // Small chunks, so the upload takes many requests and the bar moves.
    let app = TestApp::start_with(|c| c.files.chunk_bytes = 64 * 1024).await;
    let driver = Driver::start().await;
    let b = driver.browser().await;
    let video = std::env::temp_dir().join(format!("勾股定理微课-{}.mp4", uuid::Uuid::now_v7()));
    std::fs::write(&video, mp4(1_500_000)).unwrap();

    log_in(&b, &app, "teacher").await;
    // Step by step to the volume that holds 勾股定理, then tick the chapter.
    let (volume,): (kernel::CatalogId,) = kernel::on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT volume_id FROM catalog_nodes WHERE name LIKE '%勾股定理%' AND volume_id IS NOT NULL LIMIT 1",
    ).fetch_one(p).await)
    .unwrap();
    b.goto(&app.url(&format!("/library/new?at={volume}")))
        .await
        .unwrap();
    b.find(Locator::Id("title"))
        .await
        .unwrap()
        .send_keys("《勾股定理》微课")
        .await
        .unwrap();
    b.find(Locator::Css("#kind option[value='micro_lesson']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let picked = js(&b, "const l = [...document.querySelectorAll('#chapters label')].find(l => l.textContent.includes('勾股定理')); if (l) { l.querySelector('input').checked = true; } return !!l;").await;
    assert_eq!(
        picked,
        serde_json::Value::Bool(true),
        "the catalogue offers 勾股定理"
    );
    // Watch the progress bar: record every value it takes.
    js(&b, "window.seen = []; const p = () => document.querySelector('progress[data-upload-progress]'); const t = setInterval(() => { const e = p(); if (e && !e.hidden) window.seen.push(Number(e.value)); }, 5);").await;
    b.find(Locator::Css("input[type=file][data-chunked-upload]"))
        .await
        .unwrap()
        .send_keys(video.to_str().unwrap())
        .await
        .unwrap();
    let mut upload_id = String::new();
    for _ in 0..300 {
        upload_id = js(
            &b,
            "return document.querySelector('input[name=upload_id]').value",
        )
        .await
        .as_str()
        .unwrap_or("")
        .to_owned();
        if !upload_id.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        !upload_id.is_empty(),
        "the upload finished and filled its id"
    );
    let seen: Vec<f64> = serde_json::from_value(js(&b, "return window.seen").await).unwrap();
    assert!(
        seen.iter().any(|v| *v > 0.0 && *v < 100.0),
        "the bar showed progress on the way: {seen:?}"
    );
    assert_eq!(
        js(
            &b,
            "return Number(document.querySelector('progress[data-upload-progress]').value)"
        )
        .await
        .as_f64(),
        Some(100.0)
    );
    click_to(&b, Locator::Css("#resource-form button[type=submit]")).await;
    let page = main_text(&b).await;
    assert!(page.contains("《勾股定理》微课"), "{page}");
    let url = b.current_url().await.unwrap();
    let id = url.path().trim_start_matches("/library/r/").to_owned();
    assert!(
        b.find(Locator::Css("video")).await.is_ok(),
        "the micro-lesson plays in the page"
    );
    click_to(
        &b,
        Locator::Css(&format!("form[action='/library/r/{id}/submit'] button")),
    )
    .await;
    log_out(&b).await;

    // The school approves with a score and recommends it to the district.
    log_in(&b, &app, "school_admin").await;
    b.goto(&app.url("/library/review")).await.unwrap();
    click_to(&b, Locator::LinkText("《勾股定理》微课")).await;
    b.find(Locator::Css("#score option[value='5']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.find(Locator::Id("approve-comment"))
        .await
        .unwrap()
        .send_keys("结构清楚")
        .await
        .unwrap();
    click_to(&b, Locator::Css("#approve-form button")).await;
    b.find(Locator::Id("recommend-comment"))
        .await
        .unwrap()
        .send_keys("推荐到区")
        .await
        .unwrap();
    click_to(&b, Locator::Css("#recommend-form button")).await;
    log_out(&b).await;

    log_in(&b, &app, "district_admin").await;
    b.goto(&app.url("/library/review")).await.unwrap();
    click_to(&b, Locator::LinkText("《勾股定理》微课")).await;
    click_to(&b, Locator::Css("#approve-form button")).await;
    log_out(&b).await;

    // A teacher of the district's other school finds it.
    let (other,): (String,) = kernel::on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT a.username FROM accounts a JOIN persons p ON p.id = a.person_id JOIN org_nodes s ON s.id = p.org_id
         WHERE s.code = '3133010002' AND EXISTS (SELECT 1 FROM role_assignments r WHERE r.person_id = p.id AND r.role = 'teacher')
         ORDER BY a.username LIMIT 1",
    ).fetch_one(p).await)
    .unwrap();
    log_in(&b, &app, &other).await;
    let mut found = false;
    for _ in 0..50 {
        b.goto(&app.url("/library/search?q=勾股定理"))
            .await
            .unwrap();
        if b.find(Locator::Css(&format!("main a[href='/library/r/{id}']")))
            .await
            .is_ok()
        {
            found = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(found, "found by search: {}", main_text(&b).await);
    let results = main_text(&b).await;
    assert!(results.contains("上城区实验小学"), "{results}");
    b.close().await.unwrap();
    let _ = std::fs::remove_file(&video);
    app.stop().await;
}

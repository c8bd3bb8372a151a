//! Files over HTTP: the resumable upload API with the session cookie (and its CSRF header) or a
//! bearer token, resuming after a missing chunk, the size limit, refusals naming the file,
//! range requests on the content (206, open-ended and suffix ranges, 416, 304), and that
//! nobody but the uploader can read or complete an upload.

use crate::helpers::TestApp;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

const CHUNK: usize = 64 * 1024;

async fn app() -> TestApp {
    TestApp::start_with(|c| {
        c.files.chunk_bytes = CHUNK as u64;
        c.files.max_file_bytes = 2 * 1024 * 1024;
    })
    .await
}

/// The bytes of a small MP4-like video.
fn video(len: usize) -> Vec<u8> {
    let mut v = b"\0\0\0\x20ftypisom\0\0\x02\0isomiso2avc1mp41".to_vec();
    v.extend((0..len as u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8));
    v.truncate(len);
    v
}

struct Caller {
    c: Client,
    csrf: String,
}

impl Caller {
    async fn new(app: &TestApp, user: &str) -> Caller {
        let c = app.login(user).await;
        let csrf = app.csrf(&c).await;
        Caller { c, csrf }
    }
    async fn send(&self, r: reqwest::RequestBuilder) -> (StatusCode, Value) {
        let res = r.header("x-csrf-token", &self.csrf).send().await.unwrap();
        let status = res.status();
        let body = res.text().await.unwrap();
        (status, serde_json::from_str(&body).unwrap_or(Value::Null))
    }
}

async fn create(app: &TestApp, who: &Caller, name: &str, size: usize) -> (StatusCode, Value) {
    who.send(
        who.c
            .post(app.url("/api/v1/uploads"))
            .json(&json!({ "file_name": name, "size": size })),
    )
    .await
}

async fn put(app: &TestApp, who: &Caller, id: &str, i: usize, bytes: &[u8]) -> (StatusCode, Value) {
    who.send(
        who.c
            .put(app.url(&format!("/api/v1/uploads/{id}/chunks/{i}")))
            .body(bytes.to_vec()),
    )
    .await
}

async fn complete(app: &TestApp, who: &Caller, id: &str) -> (StatusCode, Value) {
    who.send(
        who.c
            .post(app.url(&format!("/api/v1/uploads/{id}/complete"))),
    )
    .await
}

#[tokio::test]
async fn resource_files_chunked_upload_resumes_and_serves_ranges() {
    let app = app().await;
    let teacher = Caller::new(&app, "teacher").await;
    let bytes = video(300_000);
    let name = "微课：勾股定理.mp4";

    // A cookie-borne write without the CSRF header is refused.
    let res = teacher
        .c
        .post(app.url("/api/v1/uploads"))
        .json(&json!({ "file_name": name, "size": bytes.len() }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    let (s, up) = create(&app, &teacher, name, bytes.len()).await;
    assert_eq!(s, StatusCode::CREATED, "{up}");
    let id = up["id"].as_str().unwrap().to_owned();
    assert_eq!(
        (up["chunk_size"].as_u64(), up["chunks"].as_u64()),
        (Some(CHUNK as u64), Some(5))
    );
    assert_eq!(up["state"], "open");
    let chunks: Vec<&[u8]> = bytes.chunks(CHUNK).collect();
    // The connection "breaks" after three chunks, one of them lost.
    for i in [0, 1, 3] {
        let (s, ack) = put(&app, &teacher, &id, i, chunks[i]).await;
        assert_eq!(s, StatusCode::OK, "{ack}");
        assert_eq!(ack["size"].as_u64(), Some(chunks[i].len() as u64));
    }
    let (s, err) = complete(&app, &teacher, &id).await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert_eq!(err["error"]["code"], "files.chunks_missing");
    // Resuming: the status says what arrived; the rest is sent.
    let (s, st) = teacher
        .send(teacher.c.get(app.url(&format!("/api/v1/uploads/{id}"))))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(st["received"], json!([0, 1, 3]));
    let (s, e) = put(&app, &teacher, &id, 4, &chunks[4][..10]).await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("files.chunk_size"))
    );
    let (s, e) = put(&app, &teacher, &id, 9, chunks[4]).await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("files.chunk_index"))
    );
    for i in [2, 4, 2] {
        assert_eq!(
            put(&app, &teacher, &id, i, chunks[i]).await.0,
            StatusCode::OK
        );
    }

    // Someone else can neither see, continue, complete, read nor abort it.
    let admin = Caller::new(&app, "school_admin").await;
    let (s, _) = admin
        .send(admin.c.get(app.url(&format!("/api/v1/uploads/{id}"))))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(
        put(&app, &admin, &id, 2, chunks[2]).await.0,
        StatusCode::NOT_FOUND
    );
    let (s, e) = complete(&app, &admin, &id).await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("files.upload_not_found"))
    );
    assert_eq!(
        admin
            .send(admin.c.delete(app.url(&format!("/api/v1/uploads/{id}"))))
            .await
            .0,
        StatusCode::NOT_FOUND
    );

    let (s, done) = complete(&app, &teacher, &id).await;
    assert_eq!(s, StatusCode::OK, "{done}");
    assert_eq!(done["state"], "complete");
    let blob = &done["blob"];
    assert_eq!(
        (blob["mime"].as_str(), blob["category"].as_str()),
        (Some("video/mp4"), Some("video"))
    );
    assert_eq!(blob["size"].as_u64(), Some(bytes.len() as u64));
    let hash = blob["hash"].as_str().unwrap().to_owned();
    assert_eq!(hash.len(), 64);

    // The content, whole and in ranges.
    let url = app.url(&format!("/api/v1/uploads/{id}/content"));
    let len = bytes.len();
    let res = teacher.c.get(&url).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let h = res.headers().clone();
    assert_eq!(h["accept-ranges"], "bytes");
    assert_eq!(h["etag"], format!("\"{hash}\"").as_str());
    assert_eq!(h["content-type"], "video/mp4");
    assert_eq!(h["content-length"], len.to_string().as_str());
    assert_eq!(h["cache-control"], "private, max-age=3600");
    assert_eq!(h["x-content-type-options"], "nosniff");
    let cd = h["content-disposition"].to_str().unwrap();
    assert!(cd.starts_with("inline; filename=\""), "{cd}");
    assert!(cd.contains("filename*=UTF-8''%E5%BE%AE%E8%AF%BE"), "{cd}");
    assert_eq!(res.bytes().await.unwrap().as_ref(), bytes.as_slice());
    let range = |r: &'static str| teacher.c.get(&url).header("range", r);
    let res = range("bytes=0-99").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        res.headers()["content-range"],
        format!("bytes 0-99/{len}").as_str()
    );
    assert_eq!(res.headers()["content-length"], "100");
    assert_eq!(res.bytes().await.unwrap().as_ref(), &bytes[..100]);
    let res = range("bytes=200000-").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        res.headers()["content-range"],
        format!("bytes 200000-{}/{len}", len - 1).as_str()
    );
    assert_eq!(res.bytes().await.unwrap().as_ref(), &bytes[200_000..]);
    let res = range("bytes=-500").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        res.headers()["content-range"],
        format!("bytes {}-{}/{len}", len - 500, len - 1).as_str()
    );
    assert_eq!(res.bytes().await.unwrap().as_ref(), &bytes[len - 500..]);
    let res = range("bytes=65530-65545").send().await.unwrap();
    assert_eq!(
        res.bytes().await.unwrap().as_ref(),
        &bytes[65_530..65_546],
        "across a chunk border"
    );
    let res = range("bytes=300000-").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(
        res.headers()["content-range"],
        format!("bytes */{len}").as_str()
    );
    let res = teacher
        .c
        .get(&url)
        .header("if-none-match", format!("\"{hash}\""))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(res.headers()["etag"], format!("\"{hash}\"").as_str());
    assert!(res.bytes().await.unwrap().is_empty());
    let res = range("bytes=0-9")
        .header("if-range", "\"stale\"")
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "If-Range with another validator: the whole file"
    );
    assert_eq!(res.bytes().await.unwrap().len(), len);
    let res = range("bytes=0-9")
        .header("if-range", format!("\"{hash}\""))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::PARTIAL_CONTENT);
    // Nobody else reads it; chunks to a complete upload are refused.
    assert_eq!(
        admin.c.get(&url).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        put(&app, &teacher, &id, 0, chunks[0]).await.0,
        StatusCode::CONFLICT
    );
    app.stop().await;
}

#[tokio::test]
async fn resource_files_limits_refusals_and_tokens() {
    let app = app().await;
    let teacher = Caller::new(&app, "teacher").await;
    // Over the limit: refused before any byte, naming the file.
    let (s, e) = create(&app, &teacher, "大视频.mp4", 2 * 1024 * 1024 + 1).await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(e["error"]["code"], "files.too_large");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("大视频.mp4"),
        "{e}"
    );
    let (s, e) = create(&app, &teacher, "tool.exe", 10).await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (StatusCode::UNSUPPORTED_MEDIA_TYPE, Some("files.executable"))
    );
    let (s, e) = create(&app, &teacher, "page.svg", 10).await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Some("files.unsupported_type")
        )
    );
    // A program renamed .pptx is refused at its first chunk.
    let mut exe = vec![0u8; CHUNK];
    exe[..2].copy_from_slice(b"MZ");
    exe[0x3C..0x40].copy_from_slice(&0x80u32.to_le_bytes());
    exe[0x80..0x84].copy_from_slice(b"PE\0\0");
    let (_, up) = create(&app, &teacher, "课件.pptx", CHUNK * 2).await;
    let id = up["id"].as_str().unwrap().to_owned();
    let (s, e) = put(&app, &teacher, &id, 0, &exe).await;
    assert_eq!(s, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(e["error"]["code"], "files.executable");
    let msg = e["error"]["message"].as_str().unwrap();
    assert!(msg.contains("《课件.pptx》未被接受"), "{msg}");
    let (_, st) = teacher
        .send(teacher.c.get(app.url(&format!("/api/v1/uploads/{id}"))))
        .await;
    assert_eq!(
        (st["state"].as_str(), st["error"]["code"].as_str()),
        (Some("refused"), Some("files.executable"))
    );
    let (s, _) = complete(&app, &teacher, &id).await;
    assert_eq!(s, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let content = app.url(&format!("/api/v1/uploads/{id}/content"));
    assert_eq!(
        teacher.c.get(&content).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );

    // A bearer token needs no CSRF header; no credentials is 401.
    let token = app.token("teacher").await;
    let c = Client::new();
    let bytes = video(1000);
    let res = c
        .post(app.url("/api/v1/uploads"))
        .bearer_auth(&token)
        .json(&json!({ "file_name": "clip.mp4", "size": bytes.len() }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let id = res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = c
        .put(app.url(&format!("/api/v1/uploads/{id}/chunks/0")))
        .bearer_auth(&token)
        .body(bytes.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = c
        .post(app.url(&format!("/api/v1/uploads/{id}/complete")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = c
        .get(app.url(&format!("/api/v1/uploads/{id}/content")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.bytes().await.unwrap().as_ref(), bytes.as_slice());
    let res = c
        .post(app.url("/api/v1/uploads"))
        .bearer_auth(&token)
        .header("accept-language", "en")
        .json(&json!({ "file_name": "run.sh", "size": 10 }))
        .send()
        .await
        .unwrap();
    let e: Value = res.json().await.unwrap();
    let msg = e["error"]["message"].as_str().unwrap();
    assert!(msg.contains("“run.sh” was not accepted"), "{msg}");
    let res = c
        .post(app.url("/api/v1/uploads"))
        .json(&json!({ "file_name": "a.mp4", "size": 1 }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    // An abandoned upload can be aborted by its uploader.
    let (_, up) = create(&app, &teacher, "b.mp4", 10).await;
    let id = up["id"].as_str().unwrap();
    let (s, _) = teacher
        .send(teacher.c.delete(app.url(&format!("/api/v1/uploads/{id}"))))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, st) = teacher
        .send(teacher.c.get(app.url(&format!("/api/v1/uploads/{id}"))))
        .await;
    assert_eq!(st["state"], "aborted");
    // Students do not upload.
    let student = Caller::new(&app, "student").await;
    assert_eq!(
        create(&app, &student, "a.mp4", 10).await.0,
        StatusCode::FORBIDDEN
    );

    // The script, and the API's description.
    let res = Client::new()
        .get(app.url("/static/upload.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    assert!(res.text().await.unwrap().contains("data-chunked-upload"));
    let doc = <resources::files::api::FilesApiDoc as utoipa::OpenApi>::openapi();
    for path in [
        "/api/v1/uploads",
        "/api/v1/uploads/{id}",
        "/api/v1/uploads/{id}/chunks/{index}",
        "/api/v1/uploads/{id}/complete",
        "/api/v1/uploads/{id}/content",
    ] {
        assert!(doc.paths.paths.contains_key(path), "{path} documented");
    }
    app.stop().await;
}

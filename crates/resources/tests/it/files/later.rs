//! Files after they are stored: the clamd hook, text extraction in the background, the
//! cleanup of abandoned uploads, previews of Office documents.

use super::make::*;
use super::*;

/// A stand-in for clamd speaking its INSTREAM protocol: it answers FOUND for content holding
/// the EICAR test string. (The real clamd needs its signature database, which this machine
/// cannot download.) Returns its `tcp://` address, the sizes it scanned, and its task (abort
/// it to take clamd away).
async fn fake_clamd() -> (
    String,
    std::sync::Arc<std::sync::Mutex<Vec<usize>>>,
    tokio::task::JoinHandle<()>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = format!("tcp://{}", listener.local_addr().unwrap());
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    let task = tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = listener.accept().await else {
                return;
            };
            let log = log.clone();
            tokio::spawn(async move {
                let mut cmd = [0u8; 10];
                s.read_exact(&mut cmd).await.unwrap();
                assert_eq!(&cmd, b"zINSTREAM\0");
                let mut data = Vec::new();
                loop {
                    let mut len = [0u8; 4];
                    s.read_exact(&mut len).await.unwrap();
                    let len = u32::from_be_bytes(len) as usize;
                    if len == 0 {
                        break;
                    }
                    let mut piece = vec![0u8; len];
                    s.read_exact(&mut piece).await.unwrap();
                    data.extend_from_slice(&piece);
                }
                log.lock().unwrap().push(data.len());
                let infected = data.windows(eicar().len()).any(|w| w == eicar().as_slice());
                let reply: &[u8] = if infected {
                    b"stream: Win.Test.EICAR_HDB-1 FOUND\0"
                } else {
                    b"stream: OK\0"
                };
                s.write_all(reply).await.unwrap();
            });
        }
    });
    (addr, seen, task)
}

#[tokio::test]
async fn clamd_scans_every_upload_and_fails_closed() {
    let (addr, seen, _clamd) = fake_clamd().await;
    let lib = lib_with(|c| c.files.clamd = Some(addr)).await;
    let teacher = lib.actor("teacher").await;
    // (The demo library's own files were scanned as it loaded.)
    let scanned = seen.lock().unwrap().len();
    let (_, blob) = whole(&lib, &teacher, "clean.pdf", &chinese_pdf())
        .await
        .unwrap();
    assert_eq!(blob.scan, "clean");
    assert_eq!(&seen.lock().unwrap()[scanned..], &[chinese_pdf().len()]);
    let before = objects(&lib).await;
    let mut bad = b"Notes for the lesson.\n".to_vec();
    bad.extend(eicar());
    let e = upload::store_stream_explained(&lib.cx(&teacher), "notes.txt", pieces(&bad))
        .await
        .unwrap_err();
    match e {
        Failure::Refused(r) => {
            assert_eq!(r.code, "files.infected");
            assert_eq!(r.detail.as_deref(), Some("Win.Test.EICAR_HDB-1"));
            let msg = resources::files::refusal_message(kernel::Locale::ZhCn, "notes.txt", &r);
            assert!(
                msg.contains("notes.txt") && msg.contains("Win.Test.EICAR_HDB-1"),
                "{msg}"
            );
        }
        Failure::App(e) => panic!("{e}"),
    }
    let e = chunked(&lib, &teacher, "notes.txt", &bad)
        .await
        .unwrap_err();
    assert_eq!(refusal(e), "files.infected");
    assert_eq!(objects(&lib).await, before);
    assert_eq!(
        count(
            &lib,
            "SELECT COUNT(*) FROM blobs WHERE hash = $1",
            &sha(&bad)
        )
        .await,
        0
    );

    // clamd configured but gone (after the demo library loaded): refused, nothing kept.
    let (addr, _, clamd) = fake_clamd().await;
    let lib = lib_with(|c| c.files.clamd = Some(addr)).await;
    clamd.abort();
    let _ = clamd.await;
    let teacher = lib.actor("teacher").await;
    let before = objects(&lib).await;
    assert_eq!(
        code(
            &whole(&lib, &teacher, "a.pdf", &chinese_pdf())
                .await
                .unwrap_err()
        ),
        "files.scan_unavailable"
    );
    assert_eq!(objects(&lib).await, before);
}

#[tokio::test]
async fn text_of_large_files_is_extracted_in_the_background() {
    let lib = lib_with(|_| {}).await;
    let teacher = lib.actor("teacher").await;
    let (_, blob) = whole(&lib, &teacher, "讲义.pdf", &chinese_pdf())
        .await
        .unwrap();
    // As if it had been too large to read while uploading: no text yet, and a resource has it.
    let resource = kernel::ResourceId::new();
    let now = chrono::Utc::now();
    on_db!(&lib.state.db, p => sqlx::query("UPDATE blobs SET text = NULL WHERE hash = $1").bind(&blob.hash).execute(p).await.map(|r| r.rows_affected())).unwrap();
    on_db!(&lib.state.db, p => sqlx::query(
        "INSERT INTO resources (id, org_id, author_id, title, description, kind, tags, blob_hash, file_name, scope, version, created_at, updated_at)
         VALUES ($1, $2, $3, '勾股定理讲义', '', 'material', '', $4, '讲义.pdf', 'private', 1, $5, $5)",
    ).bind(resource).bind(teacher.org_id).bind(teacher.person_id).bind(&blob.hash).bind(now).execute(p).await.map(|r| r.rows_affected())).unwrap();
    let changes = |lib: &Lib| {
        let db = lib.state.db.clone();
        async move {
            let (n,): (i64,) = on_db!(&db, p => sqlx::query_as("SELECT COUNT(*) FROM resource_changes WHERE resource_id = $1")
                .bind(resource).fetch_one(p).await).unwrap();
            n
        }
    };
    let before = changes(&lib).await;
    assert!(extract::run_once(&lib.state).await.unwrap() >= 1);
    let (t,): (Option<String>,) =
        on_db!(&lib.state.db, p => sqlx::query_as("SELECT text FROM blobs WHERE hash = $1")
        .bind(&blob.hash).fetch_one(p).await)
        .unwrap();
    assert!(t.unwrap().contains("勾股定理"));
    assert_eq!(changes(&lib).await, before + 1, "the search index is told");
    assert_eq!(
        extract::run_once(&lib.state).await.unwrap(),
        0,
        "nothing left to read"
    );
}

#[test]
fn xml_text_runs() {
    let mut out = String::new();
    extract::xml_text(
        "<office:text><text:h>第一章</text:h><text:p>勾<text:span>股</text:span>定理<text:s/>&lt;证明&gt;</text:p></office:text>",
        &extract::ODF,
        &mut out,
    );
    assert_eq!(out, "第一章\n勾股定理 <证明>\n");
}

#[tokio::test]
async fn abandoned_uploads_are_cleaned_up() {
    let lib = lib_with(|c| c.files.upload_expiry_hours = 48).await;
    let teacher = lib.actor("teacher").await;
    let cx = lib.cx(&teacher);
    let mut video = b"\0\0\0\x20ftypisom\0\0\x02\0isomiso2avc1mp41".to_vec();
    video.resize(100_000, 3);
    let left = upload::create(
        &cx,
        NewUpload {
            file_name: "left.mp4".into(),
            size: 100_000,
        },
    )
    .await
    .unwrap();
    upload::put_chunk(&cx, left.id, 0, pieces(&video[..65_536]))
        .await
        .unwrap();
    // An object a crash left behind, of an upload that never got a row.
    let s = store::store(&lib.state).unwrap();
    let orphan = store::whole_key(UploadId::new());
    s.put(&orphan, Bytes::from_static(b"partial").into())
        .await
        .unwrap();
    let now = lib.state.clock.now();
    // Not yet: the upload was touched just now.
    let c = cleanup::run_once(&lib.state, now + chrono::Duration::hours(47))
        .await
        .unwrap();
    assert_eq!(c, cleanup::Cleaned::default());
    assert!(
        objects(&lib)
            .await
            .contains(&store::chunk_key(left.id, 0).to_string())
    );
    let c = cleanup::run_once(&lib.state, now + chrono::Duration::hours(49))
        .await
        .unwrap();
    assert_eq!(
        c,
        cleanup::Cleaned {
            uploads: 1,
            objects: 1
        }
    );
    assert_eq!(upload::status(&cx, left.id).await.unwrap().state, "aborted");
    assert!(
        !objects(&lib)
            .await
            .iter()
            .any(|o| o.starts_with("uploads/"))
    );
    assert_eq!(
        count_of(
            &lib,
            "SELECT COUNT(*) FROM upload_chunks WHERE upload_id = $1",
            left.id.0
        )
        .await,
        0
    );
    assert_eq!(
        count(
            &lib,
            "SELECT COUNT(*) FROM audit_log WHERE action = $1",
            EXPIRED
        )
        .await,
        1
    );
    assert_eq!(
        refusal(
            upload::put_chunk(&cx, left.id, 1, pieces(&video[65_536..]))
                .await
                .unwrap_err()
        ),
        "files.upload_closed"
    );
}

#[tokio::test]
async fn office_previews_without_libreoffice_are_unavailable() {
    let lib = lib_with(|c| c.files.libreoffice = Some("/nonexistent/soffice".into())).await;
    let teacher = lib.actor("teacher").await;
    let (_, blob) = whole(&lib, &teacher, "教案.docx", &docx("预览"))
        .await
        .unwrap();
    assert_eq!(blob.preview_state, "pending");
    let headers = axum::http::HeaderMap::new();
    assert!(matches!(
        serve::preview(&lib.state, &blob, &headers, "教案.docx")
            .await
            .unwrap(),
        serve::PreviewOutcome::Pending
    ));
    assert_eq!(
        preview::run_once(&lib.state, chrono::Utc::now())
            .await
            .unwrap(),
        0
    );
    let blob = resources::files::blob::find(&lib.state.db, &blob.hash)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(blob.preview_state, "unavailable");
    assert!(matches!(
        serve::preview(&lib.state, &blob, &headers, "教案.docx")
            .await
            .unwrap(),
        serve::PreviewOutcome::Unavailable
    ));
    // A PDF is its own preview, with ranges.
    let (_, pdf) = whole(&lib, &teacher, "讲义.pdf", &chinese_pdf())
        .await
        .unwrap();
    let mut h = axum::http::HeaderMap::new();
    h.insert(axum::http::header::RANGE, "bytes=0-7".parse().unwrap());
    let serve::PreviewOutcome::Ready(r) = serve::preview(&lib.state, &pdf, &h, "讲义.pdf")
        .await
        .unwrap()
    else {
        panic!("a PDF previews itself")
    };
    assert_eq!(r.status(), 206);
    assert_eq!(
        r.headers()["content-range"],
        format!("bytes 0-7/{}", chinese_pdf().len()).as_str()
    );
}

#[tokio::test]
async fn failing_conversions_are_given_up_after_a_few_attempts() {
    // `false` stands for a LibreOffice that fails on every file.
    let lib = lib_with(|c| c.files.libreoffice = Some("/bin/false".into())).await;
    let teacher = lib.actor("teacher").await;
    let (_, blob) = whole(&lib, &teacher, "坏.docx", &docx("x")).await.unwrap();
    let mut now = chrono::Utc::now();
    let state_of = |b: Option<Blob>| b.map(|b| b.preview_state).unwrap_or_default();
    // (Office files of the demo library, if any, wait in the same queue.)
    let mut rounds = 0;
    while state_of(
        resources::files::blob::find(&lib.state.db, &blob.hash)
            .await
            .unwrap(),
    ) == "pending"
    {
        assert_eq!(preview::run_once(&lib.state, now).await.unwrap(), 0);
        now += chrono::Duration::hours(1);
        rounds += 1;
        assert!(rounds <= 30, "still pending");
    }
    let (attempts,): (i64,) = on_db!(&lib.state.db, p => sqlx::query_as("SELECT preview_attempts FROM blobs WHERE hash = $1")
        .bind(&blob.hash).fetch_one(p).await).unwrap();
    assert_eq!(attempts, preview::MAX_ATTEMPTS);
    let blob = resources::files::blob::find(&lib.state.db, &blob.hash)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(blob.preview_state, "failed");
}

#[tokio::test]
#[ignore = "needs LibreOffice (CI installs it)"]
async fn libreoffice_converts_a_real_docx_and_a_doc_is_recognised() {
    let lib = lib_with(|_| {}).await;
    assert!(
        preview::soffice(&lib.state).is_some(),
        "soffice on the PATH"
    );
    let teacher = lib.actor("teacher").await;
    let (_, blob) = whole(&lib, &teacher, "勾股定理.docx", &docx("勾股定理教学设计"))
        .await
        .unwrap();
    assert_eq!(
        preview::run_once(&lib.state, chrono::Utc::now())
            .await
            .unwrap(),
        1
    );
    let blob = resources::files::blob::find(&lib.state.db, &blob.hash)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(blob.preview_state, "ready");
    let s = store::store(&lib.state).unwrap();
    let pdf = s
        .get(&store::preview_key(&blob.hash))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    let text = extract::from_bytes(
        "application/pdf",
        resources::files::sniff::Category::Pdf,
        &pdf,
    );
    assert!(text.contains("勾股定理"), "{text}");
    // A legacy .doc written by LibreOffice is a compound file with a WordDocument stream.
    let dir = std::env::temp_dir().join(format!("jy-doc-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("in.docx"), docx("旧格式教案")).unwrap();
    let profile = format!("-env:UserInstallation=file://{}", dir.join("p").display());
    let out = std::process::Command::new(preview::soffice(&lib.state).unwrap())
        .args(["--headless", &profile, "--convert-to", "doc", "--outdir"])
        .arg(&dir)
        .arg(dir.join("in.docx"))
        .env("HOME", &dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc = std::fs::read(dir.join("in.doc")).unwrap();
    let (_, blob) = whole(&lib, &teacher, "旧教案.doc", &doc).await.unwrap();
    assert_eq!(blob.mime, "application/msword");
    let e = whole(&lib, &teacher, "旧教案.xls", &doc).await.unwrap_err();
    assert_eq!(code(&e), "files.disguised");
    // Its preview gives it search text.
    assert_eq!(
        preview::run_once(&lib.state, chrono::Utc::now())
            .await
            .unwrap(),
        1
    );
    let (t,): (Option<String>,) =
        on_db!(&lib.state.db, p => sqlx::query_as("SELECT text FROM blobs WHERE hash = $1")
        .bind(&blob.hash).fetch_one(p).await)
        .unwrap();
    assert!(t.unwrap_or_default().contains("旧格式教案"));
    let _ = std::fs::remove_dir_all(&dir);
}

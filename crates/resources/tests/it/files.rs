//! Files: sniffing of disguised files, deduplication, the size limit, resumable uploads (and
//! their bad chunk sets); in `later`, the clamd hook, text extraction, previews and the cleanup.

use crate::helpers::Lib;
use bytes::Bytes;
use kernel::{Actor, AppError, UploadId, on_db};
use resources::files::upload::{self, Completion, NewUpload, UploadView};
use resources::files::{Failure, blob::Blob, cleanup, extract, preview, serve, store};
use std::time::Duration;

mod later;
mod make;

use make::*;

// ---- helpers ----

/// Audit actions (built so the i18n scan does not take them for catalogue keys).
const REFUSED: &str = concat!("upload", ".refused");
const EXPIRED: &str = concat!("upload", ".expire");

fn pieces(
    bytes: &[u8],
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> + Unpin + Send {
    let v: Vec<Result<Bytes, std::io::Error>> = bytes
        .chunks(7_919)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    futures_util::stream::iter(v)
}

async fn whole(
    lib: &Lib,
    actor: &Actor,
    name: &str,
    bytes: &[u8],
) -> Result<(UploadId, Blob), AppError> {
    upload::store_stream(&lib.cx(actor), name, pieces(bytes)).await
}

fn code(e: &AppError) -> &'static str {
    e.code()
}

fn refusal(f: Failure) -> &'static str {
    match f {
        Failure::Refused(r) => r.code,
        Failure::App(e) => e.code(),
    }
}

/// Every object in the store.
async fn objects(lib: &Lib) -> Vec<String> {
    use futures_util::StreamExt;
    let s = store::store(&lib.state).unwrap();
    let mut all: Vec<String> = s
        .list(None)
        .map(|m| m.unwrap().location.to_string())
        .collect()
        .await;
    all.sort();
    all
}

async fn count(lib: &Lib, sql: &str, arg: &str) -> i64 {
    let (n,): (i64,) =
        on_db!(&lib.state.db, p => sqlx::query_as(sqlx::AssertSqlSafe(sql.to_owned()))
        .bind(arg).fetch_one(p).await)
        .unwrap();
    n
}

async fn count_of(lib: &Lib, sql: &str, id: uuid::Uuid) -> i64 {
    let (n,): (i64,) =
        on_db!(&lib.state.db, p => sqlx::query_as(sqlx::AssertSqlSafe(sql.to_owned()))
        .bind(id).fetch_one(p).await)
        .unwrap();
    n
}

async fn blob_text(lib: &Lib, hash: String) -> String {
    let (t,): (Option<String>,) =
        on_db!(&lib.state.db, p => sqlx::query_as("SELECT text FROM blobs WHERE hash = $1")
        .bind(hash).fetch_one(p).await)
        .unwrap();
    t.unwrap_or_default()
}

fn sha(bytes: &[u8]) -> String {
    use sha2::Digest;
    format!("{:x}", sha2::Sha256::digest(bytes))
}

/// A library whose resumable uploads use 64 KiB chunks (and whatever else `adjust` sets).
async fn lib_with(adjust: impl FnOnce(&mut kernel::Config)) -> Lib {
    Lib::start_with(|c| {
        c.files.chunk_bytes = 64 * 1024;
        adjust(c);
    })
    .await
}

/// Uploads `bytes` in chunks, all in order.
async fn chunked(
    lib: &Lib,
    actor: &Actor,
    name: &str,
    bytes: &[u8],
) -> Result<UploadView, Failure> {
    let cx = lib.cx(actor);
    let v = upload::create(
        &cx,
        NewUpload {
            file_name: name.into(),
            size: bytes.len() as i64,
        },
    )
    .await?;
    for (i, c) in bytes.chunks(v.chunk_size as usize).enumerate() {
        upload::put_chunk(&cx, v.id, i as i64, pieces(c)).await?;
    }
    match upload::complete(&cx, v.id, Duration::from_secs(120)).await? {
        Completion::Done(v) => Ok(v),
        Completion::Assembling(_) => panic!("assembly of a small file took two minutes"),
    }
}
// ---- tests ----

#[tokio::test]
async fn disguised_and_dangerous_files_are_refused_and_leave_nothing() {
    let lib = lib_with(|_| {}).await;
    let teacher = lib.actor("teacher").await;
    let before = objects(&lib).await;
    let uploads_sql = "SELECT COUNT(*) FROM uploads WHERE person_id = $1";
    let uploads_before = count_of(&lib, uploads_sql, teacher.person_id.0).await;
    let refused_sql = "SELECT COUNT(*) FROM audit_log WHERE action = $1";
    let refused_before = count(&lib, refused_sql, REFUSED).await;
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("课件.pptx", elf(), "files.executable"),
        ("课件.pptx", pe(), "files.executable"),
        (
            "notes.txt",
            b"#!/bin/sh\nrm -rf /\n".to_vec(),
            "files.executable",
        ),
        ("setup.exe", b"hello".to_vec(), "files.executable"),
        (
            "教案.docx",
            zip_of(&[("readme.txt", b"not a document")]),
            "files.disguised",
        ),
        ("课件.pptx", docx("a Word file renamed"), "files.disguised"),
        (
            "试卷.pdf",
            b"just some text, not a PDF at all".to_vec(),
            "files.disguised",
        ),
        (
            "photo.jpg",
            b"\x89PNG\r\n\x1a\n0000000000000000".to_vec(),
            "files.disguised",
        ),
        (
            "installer.doc",
            cfb(&["\u{5}SummaryInformation", "MsiFile"]),
            "files.disguised",
        ),
        (
            "drawing.svg",
            b"<svg onload=alert(1)></svg>".to_vec(),
            "files.unsupported_type",
        ),
        (
            "page.html",
            b"<script>x</script>".to_vec(),
            "files.unsupported_type",
        ),
        ("noext", b"data".to_vec(), "files.unsupported_type"),
        (
            "bundle.zip",
            zip_of(&[("tool/run.exe", b"MZ")]),
            "files.executable_inside",
        ),
        // A PDF that is also a ZIP carrying a program (a polyglot).
        (
            "论文.pdf",
            [
                chinese_pdf(),
                zip_of(&[("readme.txt", b"hi"), ("setup.exe", b"MZ")]),
            ]
            .concat(),
            "files.executable_inside",
        ),
        (
            "课件.docx",
            {
                let d = docx("正文");
                let mut z = zip::ZipArchive::new(std::io::Cursor::new(d)).unwrap();
                let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
                for i in 0..z.len() {
                    out.raw_copy_file(z.by_index(i).unwrap()).unwrap();
                }
                out.start_file(
                    "word/media/run.bat",
                    zip::write::SimpleFileOptions::default(),
                )
                .unwrap();
                std::io::Write::write_all(&mut out, b"@echo off").unwrap();
                out.finish().unwrap().into_inner()
            },
            "files.executable_inside",
        ),
        ("empty.txt", Vec::new(), "files.empty"),
        ("cut.docx", docx("x")[..200].to_vec(), "files.corrupt"),
        ("cut.pdf", chinese_pdf()[..400].to_vec(), "files.corrupt"),
    ];
    for (name, bytes, want) in &cases {
        let err = whole(&lib, &teacher, name, bytes).await.unwrap_err();
        assert_eq!(code(&err), *want, "{name}");
        let hash = sha(bytes);
        assert_eq!(
            count(&lib, "SELECT COUNT(*) FROM blobs WHERE hash = $1", &hash).await,
            0,
            "{name}"
        );
    }
    assert_eq!(objects(&lib).await, before, "a refusal leaves no object");
    assert_eq!(
        count_of(&lib, uploads_sql, teacher.person_id.0).await,
        uploads_before
    );
    let refused = count(&lib, refused_sql, REFUSED).await;
    assert_eq!(refused - refused_before, cases.len() as i64);
    // The same checks on the resumable path: a renamed program is refused at its first chunk.
    let cx = lib.cx(&teacher);
    let exe = pe();
    let v = upload::create(
        &cx,
        NewUpload {
            file_name: "微课.mp4".into(),
            size: 200_000,
        },
    )
    .await
    .unwrap();
    let mut first = exe.clone();
    first.resize(64 * 1024, 0);
    let e = upload::put_chunk(&cx, v.id, 0, pieces(&first))
        .await
        .unwrap_err();
    assert_eq!(refusal(e), "files.executable");
    let s = upload::status(&cx, v.id).await.unwrap();
    assert_eq!(s.state, "refused");
    assert_eq!(s.error.unwrap().code, "files.executable");
    assert_eq!(
        refusal(
            upload::put_chunk(&cx, v.id, 1, pieces(&first))
                .await
                .unwrap_err()
        ),
        "files.executable"
    );
    assert_eq!(objects(&lib).await, before);
}

#[tokio::test]
async fn real_files_are_accepted_with_their_type() {
    let lib = lib_with(|_| {}).await;
    let teacher = lib.actor("teacher").await;
    let png = {
        let mut b = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
        b.resize(300, 7);
        b
    };
    let mut mp4 = b"\0\0\0\x20ftypisom\0\0\x02\0isomiso2avc1mp41".to_vec();
    mp4.resize(5000, 1);
    let gbk = encoding_rs::GBK
        .encode("勾股定理的证明：直角三角形两条直角边的平方和等于斜边的平方。")
        .0
        .into_owned();
    let cases: Vec<(&str, Vec<u8>, &str, &str, &str)> = vec![
        (
            "勾股定理.docx",
            docx("勾股定理教学设计"),
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "document",
            "pending",
        ),
        (
            "课件.pptx",
            pptx("第一张", "第十张"),
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            "slides",
            "pending",
        ),
        (
            "旧教案.doc",
            cfb(&[
                "\u{1}CompObj",
                "1Table",
                "Data",
                "ObjectPool",
                "WordDocument",
            ]),
            "application/msword",
            "document",
            "pending",
        ),
        ("讲义.pdf", chinese_pdf(), "application/pdf", "pdf", "none"),
        ("图.png", png, "image/png", "image", "none"),
        ("微课.mp4", mp4, "video/mp4", "video", "none"),
        (
            "说明.txt",
            gbk,
            "text/plain; charset=gb18030",
            "text",
            "none",
        ),
        (
            "资料包.zip",
            zip_of(&[("a/b.txt", b"hello")]),
            "application/zip",
            "archive",
            "none",
        ),
    ];
    for (name, bytes, mime, category, preview) in cases {
        let (id, blob) = whole(&lib, &teacher, name, &bytes)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(blob.hash, sha(&bytes));
        assert_eq!(
            (blob.mime.as_str(), blob.category.as_str()),
            (mime, category),
            "{name}"
        );
        assert_eq!(blob.preview_state, preview, "{name}");
        assert_eq!(blob.scan, "not_scanned");
        assert_eq!(blob.size, bytes.len() as i64);
        let found = resources::files::blob::of_upload(&lib.state.db, &teacher, id)
            .await
            .unwrap();
        assert_eq!(found.hash, blob.hash);
    }
    assert!(
        blob_text(&lib, sha(&docx("勾股定理教学设计")))
            .await
            .contains("勾股定理教学设计\na & b")
    );
    let slides = blob_text(&lib, sha(&pptx("第一张", "第十张"))).await;
    assert!(
        slides.find("第一张").unwrap() < slides.find("第十张").unwrap(),
        "{slides}"
    );
    assert!(
        blob_text(&lib, sha(&chinese_pdf()))
            .await
            .contains("勾股定理")
    );
    let gbk = encoding_rs::GBK
        .encode("勾股定理的证明：直角三角形两条直角边的平方和等于斜边的平方。")
        .0
        .into_owned();
    assert!(
        blob_text(&lib, sha(&gbk))
            .await
            .starts_with("勾股定理的证明")
    );
    // Someone else does not get the upload.
    let admin = lib.actor("school_admin").await;
    let (id, _) = whole(&lib, &teacher, "again.pdf", &chinese_pdf())
        .await
        .unwrap();
    let e = resources::files::blob::of_upload(&lib.state.db, &admin, id)
        .await
        .unwrap_err();
    assert_eq!(code(&e), "files.upload_not_found");
    // Students do not upload.
    let student = lib.actor("student").await;
    assert_eq!(
        code(
            &whole(&lib, &student, "a.pdf", &chinese_pdf())
                .await
                .unwrap_err()
        ),
        "forbidden"
    );
}

#[tokio::test]
async fn the_same_content_is_stored_once() {
    let lib = lib_with(|_| {}).await;
    let teacher = lib.actor("teacher").await;
    let admin = lib.actor("school_admin").await;
    let bytes = docx("同一份教案");
    let (a, first) = whole(&lib, &teacher, "教案.docx", &bytes).await.unwrap();
    let (b, second) = whole(&lib, &admin, "副本.docx", &bytes).await.unwrap();
    let third = chunked(&lib, &teacher, "第三份.docx", &bytes)
        .await
        .unwrap();
    assert_ne!(a, b);
    assert_eq!(first.hash, second.hash);
    assert_eq!(third.blob.as_ref().unwrap().hash, first.hash);
    assert_eq!(
        count(
            &lib,
            "SELECT COUNT(*) FROM blobs WHERE hash = $1",
            &first.hash
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &lib,
            "SELECT COUNT(*) FROM uploads WHERE blob_hash = $1",
            &first.hash
        )
        .await,
        3
    );
    let objs = objects(&lib).await;
    let stored: Vec<_> = objs.iter().filter(|o| o.ends_with(&first.hash)).collect();
    assert_eq!(stored, vec![&store::blob_key(&first.hash).to_string()]);
    assert!(!objs.iter().any(|o| o.starts_with("uploads/")), "{objs:?}");
}

#[tokio::test]
async fn the_size_limit_holds_on_both_paths() {
    let lib = lib_with(|c| c.files.max_file_bytes = 150_000).await;
    let teacher = lib.actor("teacher").await;
    let cx = lib.cx(&teacher);
    let mut big = chinese_pdf();
    big.resize(150_001, b' ');
    let before = objects(&lib).await;
    assert_eq!(
        code(&whole(&lib, &teacher, "big.pdf", &big).await.unwrap_err()),
        "files.too_large"
    );
    let e = upload::create(
        &cx,
        NewUpload {
            file_name: "big.mp4".into(),
            size: 150_001,
        },
    )
    .await
    .unwrap_err();
    assert_eq!(refusal(e), "files.too_large");
    let e = upload::create(
        &cx,
        NewUpload {
            file_name: "nothing.mp4".into(),
            size: 0,
        },
    )
    .await
    .unwrap_err();
    assert_eq!(refusal(e), "files.empty");
    assert_eq!(objects(&lib).await, before);
    assert_eq!(
        count(
            &lib,
            "SELECT COUNT(*) FROM blobs WHERE hash = $1",
            &sha(&big)
        )
        .await,
        0
    );
    // Exactly at the limit is fine.
    big.truncate(150_000);
    let mut pdf = big[..big.len() - 10].to_vec();
    pdf.extend_from_slice(b"\n%%EOF\n   ");
    assert_eq!(pdf.len(), 150_000);
    assert!(whole(&lib, &teacher, "ok.pdf", &pdf).await.is_ok());
}

#[tokio::test]
async fn chunks_arrive_in_any_order_and_bad_sets_are_refused() {
    let lib = lib_with(|_| {}).await;
    let teacher = lib.actor("teacher").await;
    let cx = lib.cx(&teacher);
    let mut video = b"\0\0\0\x20ftypisom\0\0\x02\0isomiso2avc1mp41".to_vec();
    video.extend((0..300_000u32).map(|i| (i * 7 % 251) as u8));
    let v = upload::create(
        &cx,
        NewUpload {
            file_name: "微课：勾股定理.mp4".into(),
            size: video.len() as i64,
        },
    )
    .await
    .unwrap();
    assert_eq!(
        (v.chunk_size, v.chunks, v.state.as_str()),
        (65_536, 5, "open")
    );
    let part = |i: usize| &video[i * 65_536..((i + 1) * 65_536).min(video.len())];
    // Out of range, too long, too short.
    assert_eq!(
        refusal(
            upload::put_chunk(&cx, v.id, 5, pieces(part(4)))
                .await
                .unwrap_err()
        ),
        "files.chunk_index"
    );
    assert_eq!(
        refusal(
            upload::put_chunk(&cx, v.id, 4, pieces(part(0)))
                .await
                .unwrap_err()
        ),
        "files.chunk_size"
    );
    assert_eq!(
        refusal(
            upload::put_chunk(&cx, v.id, 1, pieces(&part(1)[..100]))
                .await
                .unwrap_err()
        ),
        "files.chunk_size"
    );
    for i in [4, 2, 0, 3] {
        upload::put_chunk(&cx, v.id, i, pieces(part(i as usize)))
            .await
            .unwrap();
    }
    // A resent chunk replaces itself.
    upload::put_chunk(&cx, v.id, 2, pieces(part(2)))
        .await
        .unwrap();
    assert_eq!(
        upload::status(&cx, v.id).await.unwrap().received,
        vec![0, 2, 3, 4]
    );
    let e = upload::complete(&cx, v.id, Duration::from_secs(60))
        .await
        .unwrap_err();
    assert_eq!(refusal(e), "files.chunks_missing");
    // Another person can neither see nor complete it.
    let admin = lib.actor("school_admin").await;
    let other = lib.cx(&admin);
    assert_eq!(
        upload::status(&other, v.id).await.unwrap_err().code(),
        "files.upload_not_found"
    );
    assert_eq!(
        refusal(
            upload::complete(&other, v.id, Duration::from_secs(1))
                .await
                .unwrap_err()
        ),
        "files.upload_not_found"
    );
    assert_eq!(
        refusal(
            upload::put_chunk(&other, v.id, 1, pieces(part(1)))
                .await
                .unwrap_err()
        ),
        "files.upload_not_found"
    );
    upload::put_chunk(&cx, v.id, 1, pieces(part(1)))
        .await
        .unwrap();
    let done = match upload::complete(&cx, v.id, Duration::from_secs(60))
        .await
        .unwrap()
    {
        Completion::Done(d) => d,
        Completion::Assembling(_) => panic!("still assembling"),
    };
    assert_eq!(done.state, "complete");
    let blob = done.blob.unwrap();
    assert_eq!(
        (blob.hash.as_str(), blob.size, blob.mime.as_str()),
        (sha(&video).as_str(), video.len() as i64, "video/mp4")
    );
    assert!(
        !objects(&lib)
            .await
            .iter()
            .any(|o| o.starts_with("uploads/")),
        "chunks deleted"
    );
    assert_eq!(
        count_of(
            &lib,
            "SELECT COUNT(*) FROM upload_chunks WHERE upload_id = $1",
            v.id.0
        )
        .await,
        0
    );
    // Completing again answers the same; a chunk to a complete upload is refused.
    assert!(matches!(
        upload::complete(&cx, v.id, Duration::from_secs(1))
            .await
            .unwrap(),
        Completion::Done(_)
    ));
    assert_eq!(
        refusal(
            upload::put_chunk(&cx, v.id, 0, pieces(part(0)))
                .await
                .unwrap_err()
        ),
        "files.upload_closed"
    );
    // Chunks that add up to a disguised file: refused at completion, nothing kept.
    let fake = {
        let mut b = docx("not slides");
        b.resize(70_000, 0);
        b
    };
    let e = chunked(&lib, &teacher, "课件.pptx", &fake)
        .await
        .unwrap_err();
    assert_eq!(
        refusal(e),
        "files.corrupt",
        "padding after the ZIP hides its directory"
    );
    let e = chunked(&lib, &teacher, "课件.pptx", &docx("not slides"))
        .await
        .unwrap_err();
    assert_eq!(refusal(e), "files.disguised");
    assert!(
        !objects(&lib)
            .await
            .iter()
            .any(|o| o.starts_with("uploads/"))
    );
    // An aborted upload loses its chunks.
    let v = upload::create(
        &cx,
        NewUpload {
            file_name: "b.mp4".into(),
            size: video.len() as i64,
        },
    )
    .await
    .unwrap();
    upload::put_chunk(&cx, v.id, 0, pieces(part(0)))
        .await
        .unwrap();
    upload::abort(&cx, v.id).await.unwrap();
    assert_eq!(upload::status(&cx, v.id).await.unwrap().state, "aborted");
    assert!(
        !objects(&lib)
            .await
            .iter()
            .any(|o| o.starts_with("uploads/"))
    );
}

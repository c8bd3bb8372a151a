//! One pass over an incoming content: it is written to a working object in the store while
//! its SHA-256 is computed, its size counted against the limit, its head sniffed (refused as
//! soon as the head shows it is a program or not what its name says) and, when clamd is
//! configured, scanned. Nothing here is kept: [`super::commit`] moves the content under its
//! hash once it is accepted; every refusal aborts the working object.

use super::scan::{Scanner, Verdict};
use super::sniff::{self, HEAD_LEN, Sniffed};
use super::store::{self, Store};
use super::{Failure, Refusal};
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use kernel::AppState;
use object_store::WriteMultipart;
use object_store::path::Path;
use sha2::{Digest, Sha256};

/// Parts of a multipart write in flight at once (each up to 5 MiB).
const PARTS_IN_FLIGHT: usize = 4;

/// A content received whole and acceptable so far, in its working object.
#[derive(Debug, Clone)]
pub struct Received {
    pub hash: String,
    pub size: u64,
    pub sniffed: Sniffed,
    /// `clean` or `not_scanned`.
    pub scan: &'static str,
    /// The working object holding the content.
    pub key: Path,
}

pub struct Ingest {
    file_name: String,
    key: Path,
    limit: u64,
    hasher: Sha256,
    size: u64,
    head: Vec<u8>,
    sniffed: Option<Sniffed>,
    scanner: Option<Scanner>,
    writer: WriteMultipart,
}

impl Ingest {
    /// Starts receiving `file_name` into the working object `key`. Refuses at once a name
    /// the library does not take, and (failing closed) when clamd is configured but down.
    pub async fn begin(state: &AppState, file_name: &str, key: Path) -> Result<Self, Failure> {
        sniff::by_name(file_name)?;
        let scanner = Scanner::start(state.config.files.clamd.as_deref()).await?;
        let store = store::store(state)?;
        let upload = store.put_multipart(&key).await.map_err(store::err)?;
        Ok(Self {
            file_name: file_name.to_owned(),
            key,
            limit: state.config.files.max_file_bytes,
            hasher: Sha256::new(),
            size: 0,
            head: Vec::with_capacity(HEAD_LEN),
            sniffed: None,
            scanner,
            writer: WriteMultipart::new(upload),
        })
    }

    async fn feed(&mut self, data: Bytes) -> Result<(), Failure> {
        self.size += data.len() as u64;
        if self.size > self.limit {
            return Err(Refusal::new("files.too_large").into());
        }
        if self.sniffed.is_none() {
            let want = HEAD_LEN - self.head.len();
            self.head.extend_from_slice(&data[..data.len().min(want)]);
            if self.head.len() == HEAD_LEN {
                self.sniffed = Some(sniff::sniff(&self.file_name, &self.head, false)?);
            }
        }
        self.hasher.update(&data);
        if let Some(s) = &mut self.scanner {
            s.feed(&data).await?;
        }
        self.writer
            .wait_for_capacity(PARTS_IN_FLIGHT)
            .await
            .map_err(store::err)?;
        self.writer.put(data);
        Ok(())
    }

    /// The sniffing of a head shorter than [`HEAD_LEN`], and clamd's verdict.
    async fn check(&mut self) -> Result<(Sniffed, &'static str), Failure> {
        let sniffed = match self.sniffed.take() {
            Some(s) => s,
            None => sniff::sniff(&self.file_name, &self.head, true)?,
        };
        let scan = match self.scanner.take() {
            None => "not_scanned",
            Some(s) => match s.finish().await? {
                Verdict::Clean => "clean",
                Verdict::Infected(sig) => {
                    return Err(Refusal::with_detail("files.infected", sig).into());
                }
            },
        };
        Ok((sniffed, scan))
    }

    async fn finish(mut self) -> Result<Received, Failure> {
        let (sniffed, scan) = match self.check().await {
            Ok(c) => c,
            Err(e) => {
                let _ = self.writer.abort().await;
                return Err(e);
            }
        };
        self.writer.finish().await.map_err(store::err)?;
        Ok(Received {
            hash: format!("{:x}", self.hasher.finalize()),
            size: self.size,
            sniffed,
            scan,
            key: self.key,
        })
    }

    /// Receives the whole `stream`; on any refusal or error the working object is removed.
    pub async fn run<S, E>(mut self, store: &Store, mut stream: S) -> Result<Received, Failure>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: Into<Failure>,
    {
        let key = self.key.clone();
        let fed = async {
            while let Some(piece) = stream.next().await {
                self.feed(piece.map_err(Into::into)?).await?;
            }
            Ok::<_, Failure>(())
        }
        .await;
        let result = match fed {
            Ok(()) => self.finish().await,
            Err(e) => {
                let _ = self.writer.abort().await;
                Err(e)
            }
        };
        if result.is_err() {
            let _ = store::remove(store, &key).await;
        }
        result
    }
}

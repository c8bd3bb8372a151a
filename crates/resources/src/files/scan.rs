//! The optional virus scan: with `files.clamd` set (`tcp://host:port` or `unix:/path`), every
//! upload's content is streamed to clamd with its INSTREAM command (`zINSTREAM\0`, then
//! chunks each prefixed with their length as 4 bytes big-endian, then a zero length) while it
//! is stored. `stream: … FOUND` refuses the file (`files.infected`, with the signature's
//! name); a clamd that is configured but cannot be reached, or answers with an error (such as
//! its `StreamMaxLength` being smaller than the file), refuses it too
//! (`files.scan_unavailable`): the scan fails closed. Without `files.clamd` nothing is scanned
//! and blobs are marked `not_scanned`.

use super::{Failure, Refusal};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const WRITE_TIMEOUT: Duration = Duration::from_secs(60);
/// clamd scans the whole stream after its end; a large archive takes a while.
const REPLY_TIMEOUT: Duration = Duration::from_secs(300);
/// Pieces sent to clamd are at most this long.
const PIECE: usize = 256 * 1024;

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// An INSTREAM session with clamd.
pub struct Scanner {
    conn: Box<dyn Io>,
}

/// clamd's verdict on a content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Clean,
    Infected(String),
}

fn unavailable(why: impl std::fmt::Display) -> Failure {
    tracing::warn!(error = %why, "virus scan unavailable");
    Refusal::new("files.scan_unavailable").into()
}

/// Where clamd listens, from `files.clamd`.
enum Address {
    Tcp(String),
    Unix(String),
}

fn parse(addr: &str) -> Option<Address> {
    if let Some(rest) = addr.strip_prefix("tcp://") {
        return Some(Address::Tcp(rest.trim_end_matches('/').to_owned()));
    }
    if let Some(rest) = addr.strip_prefix("unix://") {
        return Some(Address::Unix(rest.to_owned()));
    }
    addr.strip_prefix("unix:")
        .map(|rest| Address::Unix(rest.to_owned()))
}

impl Scanner {
    /// Opens a session when clamd is configured (`None` when it is not).
    pub async fn start(clamd: Option<&str>) -> Result<Option<Self>, Failure> {
        let Some(addr) = clamd.filter(|a| !a.trim().is_empty()) else {
            return Ok(None);
        };
        let conn: Box<dyn Io> = match parse(addr.trim()) {
            Some(Address::Tcp(a)) => {
                let s = tokio::time::timeout(CONNECT_TIMEOUT, tokio::net::TcpStream::connect(&a))
                    .await
                    .map_err(|_| unavailable(format!("connecting to clamd at {a} timed out")))?
                    .map_err(|e| unavailable(format!("clamd at {a}: {e}")))?;
                Box::new(s)
            }
            #[cfg(unix)]
            Some(Address::Unix(p)) => {
                let s = tokio::time::timeout(CONNECT_TIMEOUT, tokio::net::UnixStream::connect(&p))
                    .await
                    .map_err(|_| unavailable(format!("connecting to clamd at {p} timed out")))?
                    .map_err(|e| unavailable(format!("clamd at {p}: {e}")))?;
                Box::new(s)
            }
            #[cfg(not(unix))]
            Some(Address::Unix(p)) => {
                return Err(unavailable(format!(
                    "unix sockets are not available here: {p}"
                )));
            }
            None => {
                return Err(unavailable(format!(
                    "files.clamd is not tcp://… or unix:…: {addr}"
                )));
            }
        };
        let mut s = Self { conn };
        s.write(b"zINSTREAM\0").await?;
        Ok(Some(s))
    }

    async fn write(&mut self, b: &[u8]) -> Result<(), Failure> {
        tokio::time::timeout(WRITE_TIMEOUT, self.conn.write_all(b))
            .await
            .map_err(|_| unavailable("writing to clamd timed out"))?
            .map_err(|e| unavailable(format!("writing to clamd: {e}")))
    }

    /// Sends the next bytes of the content.
    pub async fn feed(&mut self, data: &[u8]) -> Result<(), Failure> {
        for piece in data.chunks(PIECE) {
            let len = u32::try_from(piece.len()).unwrap_or(u32::MAX);
            self.write(&len.to_be_bytes()).await?;
            self.write(piece).await?;
        }
        Ok(())
    }

    /// Ends the content and waits for clamd's verdict.
    pub async fn finish(mut self) -> Result<Verdict, Failure> {
        self.write(&[0, 0, 0, 0]).await?;
        let _ = self.conn.flush().await;
        let mut reply = Vec::new();
        let read = async {
            let mut buf = [0u8; 512];
            loop {
                let n = self.conn.read(&mut buf).await?;
                if n == 0 {
                    break;
                }
                reply.extend_from_slice(&buf[..n]);
                if reply.contains(&0) || reply.len() > 4096 {
                    break;
                }
            }
            Ok::<_, std::io::Error>(())
        };
        tokio::time::timeout(REPLY_TIMEOUT, read)
            .await
            .map_err(|_| unavailable("clamd did not answer in time"))?
            .map_err(|e| unavailable(format!("reading clamd's answer: {e}")))?;
        verdict(&reply)
    }
}

/// Reads clamd's answer: `stream: OK`, `stream: <signature> FOUND`, or an error.
fn verdict(reply: &[u8]) -> Result<Verdict, Failure> {
    let text = String::from_utf8_lossy(reply);
    let text = text.trim_end_matches(['\0', '\n', '\r']).trim();
    let body = text.strip_prefix("stream:").unwrap_or(text).trim();
    if body == "OK" {
        return Ok(Verdict::Clean);
    }
    if let Some(sig) = body.strip_suffix("FOUND") {
        let sig = sig.trim();
        return Ok(Verdict::Infected(if sig.is_empty() {
            "unknown".to_owned()
        } else {
            sig.to_owned()
        }));
    }
    Err(unavailable(format!("clamd answered: {text}")))
}

/// Scans a whole content at once (for small contents and tests).
pub async fn scan_bytes(clamd: Option<&str>, data: &[u8]) -> Result<Option<Verdict>, Failure> {
    let Some(mut s) = Scanner::start(clamd).await? else {
        return Ok(None);
    };
    s.feed(data).await?;
    s.finish().await.map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers() {
        assert_eq!(verdict(b"stream: OK\0").ok(), Some(Verdict::Clean));
        assert_eq!(
            verdict(b"stream: Win.Test.EICAR_HDB-1 FOUND\0").ok(),
            Some(Verdict::Infected("Win.Test.EICAR_HDB-1".into()))
        );
        assert!(verdict(b"INSTREAM size limit exceeded. ERROR\0").is_err());
        assert!(
            matches!(parse("tcp://127.0.0.1:3310"), Some(Address::Tcp(a)) if a == "127.0.0.1:3310")
        );
        assert!(
            matches!(parse("unix:/run/clamav/clamd.ctl"), Some(Address::Unix(p)) if p == "/run/clamav/clamd.ctl")
        );
        assert!(parse("127.0.0.1:3310").is_none());
    }
}

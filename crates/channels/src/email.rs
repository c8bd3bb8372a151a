//! E-mail through an SMTP server (`lettre`): plain text, the notification's title as the
//! subject and its link below the text. The `Message-ID` is made from what is notified and the
//! address, so a send repeated after a crash carries the same id and mail clients that
//! thread by it show one message; SMTP itself has no idempotency, so such a repeat is counted
//! as uncertain. A server's 4xx reply is tried again later, a 5xx is final.

use crate::{Outgoing, SendError};
use kernel::config::{EmailConfig, SmtpTls};
use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Mailbox, Message};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use ring::digest;
use std::time::Duration;

pub struct Email {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Email {
    /// The transport for the configured server; `hello` is the name the platform greets the
    /// server with (its public host name).
    pub fn new(config: &EmailConfig, hello: &str) -> Result<Self, String> {
        let from: Mailbox = config
            .from
            .parse()
            .map_err(|e| format!("notify.email.from: {e}"))?;
        let builder = match config.tls {
            SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&config.host),
            SmtpTls::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&config.host),
            SmtpTls::None => Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(
                &config.host,
            )),
        }
        .map_err(|e| format!("notify.email.host: {e}"))?;
        let port = config.port.unwrap_or(match config.tls {
            SmtpTls::Tls => 465,
            SmtpTls::Starttls => 587,
            SmtpTls::None => 25,
        });
        let mut builder = builder
            .port(port)
            .timeout(Some(Duration::from_secs(15)))
            .hello_name(ClientId::Domain(hello.to_owned()));
        if let (Some(user), Some(password)) = (&config.username, &config.password) {
            builder =
                builder.credentials(Credentials::new(user.clone(), password.expose().to_owned()));
        }
        Ok(Self {
            transport: builder.build(),
            from,
        })
    }

    pub async fn send(&self, m: &Outgoing<'_>, to: &str) -> Result<String, SendError> {
        let to: Mailbox = to
            .parse()
            .map_err(|e| SendError::permanent(format!("email: the address {to}: {e}")))?;
        let domain = self.from.email.domain().to_owned();
        let hash = digest::digest(&digest::SHA256, to.email.to_string().as_bytes());
        let tag: String = hash.as_ref()[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let key: String = m
            .key
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '.' })
            .collect();
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(m.title)
            .message_id(Some(format!("<{key}.{tag}@{domain}>")))
            .header(ContentType::TEXT_PLAIN)
            .header(ContentTransferEncoding::Base64)
            .body(format!("{}\n\n{}\n", m.body, m.url))
            .map_err(|e| SendError::permanent(format!("email: {e}")))?;
        match self.transport.send(message).await {
            Ok(r) => Ok(r.message().collect::<Vec<_>>().join(" ")),
            Err(e) => {
                let text = format!("email: {e}");
                if e.is_permanent() {
                    Err(SendError::permanent(text))
                } else if e.is_transient() && text.contains("4.7.") {
                    // 4.7.x: the server's policy, usually too many messages: wait longer.
                    Err(SendError::rate_limited(text))
                } else {
                    Err(SendError::retry(text))
                }
            }
        }
    }
}

//! Where mail goes: an SMTP server (`SMTP_URL`) or `.eml` files in a directory.

use std::{path::PathBuf, time::Duration};

use lettre::{
    message::{Mailbox, MultiPart},
    AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
};

use super::OutgoingMail;

#[derive(Clone)]
pub enum MailTransport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Files {
        dir: PathBuf,
        transport: AsyncFileTransport<Tokio1Executor>,
    },
}

impl std::fmt::Debug for MailTransport {
    // The SMTP transport holds credentials: never print it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MailTransport::Smtp(_) => f.write_str("MailTransport::Smtp"),
            MailTransport::Files { dir, .. } => {
                write!(f, "MailTransport::Files({})", dir.display())
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("SMTP_URL is not usable: {0}")]
    BadUrl(String),
    #[error("cannot create the outbox directory {0}: {1}")]
    OutboxDir(String, std::io::Error),
}

/// How long one delivery may take before it counts as failed (and is retried later).
const SEND_TIMEOUT: Duration = Duration::from_secs(30);

impl MailTransport {
    /// SMTP per lettre's URL forms: `smtps://` (TLS), `smtp://...?tls=required` (STARTTLS),
    /// `smtp://` (plain, for local relays and tests). `?tls=starttls` is read as `required`.
    pub fn smtp(url: &str) -> Result<Self, TransportError> {
        let url = url.replace("tls=starttls", "tls=required");
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&url)
            // lettre's message can quote the URL, which may hold a password.
            .map_err(|_| {
                TransportError::BadUrl("use smtp://, smtp://...?tls=required or smtps://".into())
            })?
            .timeout(Some(SEND_TIMEOUT))
            .build();
        Ok(MailTransport::Smtp(transport))
    }

    /// `.eml` files in `dir`, created if missing.
    pub fn files(dir: PathBuf) -> Result<Self, TransportError> {
        std::fs::create_dir_all(&dir)
            .map_err(|e| TransportError::OutboxDir(dir.display().to_string(), e))?;
        Ok(MailTransport::Files {
            transport: AsyncFileTransport::new(&dir),
            dir,
        })
    }

    /// Sends one message; the error text is safe to store and log.
    pub async fn send(&self, from: &Mailbox, mail: &OutgoingMail) -> Result<(), String> {
        let to: Mailbox = mail
            .to
            .as_str()
            .parse()
            .map_err(|e| format!("bad recipient: {e}"))?;
        let message = Message::builder()
            .from(from.clone())
            .to(to)
            .subject(mail.subject.clone())
            .message_id(None)
            .multipart(MultiPart::alternative_plain_html(
                mail.text.clone(),
                mail.html.clone(),
            ))
            .map_err(|e| format!("cannot build message: {e}"))?;
        let sending = async {
            match self {
                MailTransport::Smtp(smtp) => smtp
                    .send(message)
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string()),
                MailTransport::Files { transport, .. } => transport
                    .send(message)
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string()),
            }
        };
        tokio::time::timeout(SEND_TIMEOUT, sending)
            .await
            .map_err(|_| "timed out".to_owned())?
    }
}

//! A small SMTP server for tests: accepts every message on a loopback port and keeps it,
//! so tests can read what pointmint sent and follow the links in it.

use std::{sync::Arc, time::Duration};

use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::{TcpListener, TcpStream},
    sync::{Mutex, Notify},
};

/// One received message: envelope recipients and the raw RFC 5322 text.
#[derive(Clone, Debug)]
pub struct ReceivedMail {
    pub recipients: Vec<String>,
    pub raw: String,
}

impl ReceivedMail {
    /// The message with quoted-printable soft line breaks and `=XX` escapes undone.
    pub fn decoded(&self) -> String {
        decode_quoted_printable(&self.raw)
    }

    pub fn subject(&self) -> String {
        self.raw
            .lines()
            .find_map(|l| l.strip_prefix("Subject: "))
            .unwrap_or_default()
            .to_owned()
    }

    /// The first link in the message that starts with `prefix` (e.g. `http://127.0.0.1:5/verify-email`).
    pub fn link(&self, prefix: &str) -> String {
        let text = self.decoded();
        let start = text
            .find(prefix)
            .unwrap_or_else(|| panic!("no link {prefix} in mail:\n{text}"));
        text[start..]
            .split(|c: char| c.is_whitespace() || c == '"' || c == '<')
            .next()
            .unwrap()
            .to_owned()
    }
}

fn decode_quoted_printable(raw: &str) -> String {
    let joined = raw.replace("=\r\n", "").replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' && i + 2 < bytes.len() {
            if let Ok(byte) = u8::from_str_radix(&joined[i + 1..i + 3], 16) {
                out.push(byte);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[derive(Clone, Default)]
pub struct Inbox {
    mails: Arc<Mutex<Vec<ReceivedMail>>>,
    arrived: Arc<Notify>,
}

impl Inbox {
    /// Waits up to `timeout` for a message to `to` whose subject contains `subject`.
    pub async fn wait_for(&self, to: &str, subject: &str, timeout: Duration) -> ReceivedMail {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.arrived.notified();
            if let Some(mail) = self.find(to, subject).await {
                return mail;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                let all = self
                    .mails
                    .lock()
                    .await
                    .iter()
                    .map(|m| format!("{:?} {}", m.recipients, m.subject()))
                    .collect::<Vec<_>>();
                panic!("no mail to {to} about {subject:?} within {timeout:?}; received: {all:?}");
            }
        }
    }

    pub async fn find(&self, to: &str, subject: &str) -> Option<ReceivedMail> {
        self.mails
            .lock()
            .await
            .iter()
            .rev()
            .find(|m| m.recipients.iter().any(|r| r == to) && m.subject().contains(subject))
            .cloned()
    }

    pub async fn count_to(&self, to: &str) -> usize {
        self.mails
            .lock()
            .await
            .iter()
            .filter(|m| m.recipients.iter().any(|r| r == to))
            .count()
    }
}

/// A running test SMTP server.
pub struct SmtpServer {
    pub port: u16,
    pub inbox: Inbox,
    task: tokio::task::JoinHandle<()>,
}

impl SmtpServer {
    /// Starts on a free loopback port.
    pub async fn start() -> Self {
        Self::start_on(TcpListener::bind("127.0.0.1:0").await.unwrap())
    }

    pub fn start_on(listener: TcpListener) -> Self {
        let port = listener.local_addr().unwrap().port();
        let inbox = Inbox::default();
        let accepting = inbox.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let inbox = accepting.clone();
                tokio::spawn(async move {
                    let _ = session(stream, inbox).await;
                });
            }
        });
        Self { port, inbox, task }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn session(stream: TcpStream, inbox: Inbox) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    write.write_all(b"220 test-smtp ready\r\n").await?;
    let mut recipients = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_ascii_uppercase();
        let reply: &[u8] = if command.starts_with("EHLO") || command.starts_with("HELO") {
            b"250 test-smtp\r\n"
        } else if command.starts_with("MAIL FROM") {
            recipients.clear();
            b"250 OK\r\n"
        } else if command.starts_with("RCPT TO") {
            let address = line.trim_end()[8..]
                .trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_owned();
            recipients.push(address);
            b"250 OK\r\n"
        } else if command == "DATA" {
            write.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await?;
            let mut raw = String::new();
            loop {
                line.clear();
                if lines.read_line(&mut line).await? == 0 {
                    return Ok(());
                }
                if line == ".\r\n" || line == ".\n" {
                    break;
                }
                // Dot-stuffing: a leading "." was doubled by the sender.
                raw.push_str(
                    line.strip_prefix('.')
                        .filter(|_| line.starts_with(".."))
                        .unwrap_or(&line),
                );
            }
            inbox.mails.lock().await.push(ReceivedMail {
                recipients: std::mem::take(&mut recipients),
                raw,
            });
            inbox.arrived.notify_waiters();
            b"250 OK queued\r\n"
        } else if command == "QUIT" {
            write.write_all(b"221 bye\r\n").await?;
            return Ok(());
        } else {
            // RSET, NOOP and anything else.
            b"250 OK\r\n"
        };
        write.write_all(reply).await?;
    }
}

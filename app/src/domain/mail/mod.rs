//! Outgoing mail: a durable outbox table, message templates, and the background delivery
//! that hands messages to SMTP or writes them as `.eml` files.
//!
//! Code that causes a mail calls [`enqueue`] inside the transaction of the change itself, so
//! the mail exists exactly when the change does; after committing it calls
//! [`MailQueue::wake`] so delivery starts at once instead of at the next poll.

pub mod delivery;
pub mod templates;
pub mod transport;

use std::sync::Arc;

/// The sender address type (re-exported so the server need not depend on lettre).
pub use lettre::message::Mailbox;

use sqlx::AnyConnection;
use tokio::sync::Notify;

use crate::{
    domain::{clock, email::Email},
    errors::AppError,
};

/// One message, with a plain-text and an HTML body.
#[derive(Clone, Debug)]
pub struct OutgoingMail {
    pub to: Email,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Wakes the delivery task; cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct MailQueue {
    notify: Arc<Notify>,
}

impl MailQueue {
    pub fn new() -> Self {
        Self::default()
    }

    /// Tells the delivery task that new mail is waiting.
    pub fn wake(&self) {
        self.notify.notify_one();
    }

    pub(crate) async fn woken(&self) {
        self.notify.notified().await
    }
}

/// Adds a message to the outbox as part of the caller's transaction.
#[tracing::instrument(skip_all, fields(subject = %mail.subject))]
pub async fn enqueue(conn: &mut AnyConnection, mail: &OutgoingMail) -> Result<(), AppError> {
    let now = clock::now();
    sqlx::query(
        "INSERT INTO mail_outbox (recipient, subject, text_body, html_body, next_attempt_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $5)",
    )
    .bind(mail.to.as_str())
    .bind(&mail.subject)
    .bind(&mail.text)
    .bind(&mail.html)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

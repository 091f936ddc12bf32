//! The delivery loop: takes due messages from the outbox, sends them, and reschedules
//! failures with exponential backoff. Several processes may run it against one database:
//! each message is claimed with a conditional update before it is sent.

use std::time::Duration;

use lettre::message::Mailbox;
use sqlx::Row;

use super::{transport::MailTransport, MailQueue, OutgoingMail};
use crate::domain::{clock, db::Database, email::Email};

/// How long a claimed message stays reserved for the process sending it.
const CLAIM_SECS: i64 = 120;
/// Longest pause between two attempts at one message.
const MAX_BACKOFF_SECS: i64 = 3600;
/// How often the outbox is checked when nobody wakes the task (retries become due).
const POLL: Duration = Duration::from_millis(500);
/// Messages read from the outbox at a time.
const BATCH: i64 = 20;

/// Delay before attempt `attempts + 1`: 1 s, 2 s, 4 s, ... up to an hour.
pub fn backoff_secs(attempts: i64) -> i64 {
    let exponent = (attempts - 1).clamp(0, 20) as u32;
    2_i64.pow(exponent).min(MAX_BACKOFF_SECS)
}

/// Runs until the task is aborted.
pub async fn run(db: Database, transport: MailTransport, from: Mailbox, queue: MailQueue) {
    tracing::info!(?transport, "mail delivery started");
    loop {
        if let Err(error) = deliver_backlog(&db, &transport, &from).await {
            tracing::warn!(%error, "reading the mail outbox failed; retrying");
        }
        tokio::select! {
            _ = queue.woken() => {}
            _ = tokio::time::sleep(POLL) => {}
        }
    }
}

/// Sends batch after batch while whole batches go out; returns how many were sent.
///
/// Why: one batch per wake-up (or per poll) left a backlog draining at 20 messages every
/// half second: a store that imported 500 customers waited 12 seconds for the last welcome
/// mail. A batch short of [`BATCH`] ends it: the outbox is empty for now, or a failure
/// (the SMTP server down) or another process got in the way, and the poll tries again.
pub async fn deliver_backlog(
    db: &Database,
    transport: &MailTransport,
    from: &Mailbox,
) -> Result<usize, sqlx::Error> {
    let mut sent = 0;
    loop {
        let batch = deliver_due(db, transport, from).await?;
        sent += batch;
        if batch < BATCH as usize {
            return Ok(sent);
        }
    }
}

/// Sends the messages that are due now, at most [`BATCH`]; returns how many were sent.
#[tracing::instrument(skip_all)]
pub async fn deliver_due(
    db: &Database,
    transport: &MailTransport,
    from: &Mailbox,
) -> Result<usize, sqlx::Error> {
    let now = clock::now();
    let due = sqlx::query(
        "SELECT id, recipient, subject, text_body, html_body, attempts, next_attempt_at FROM mail_outbox \
         WHERE sent_at IS NULL AND next_attempt_at <= $1 ORDER BY id LIMIT $2",
    )
    .bind(now)
    .bind(BATCH)
    .fetch_all(db.pool())
    .await?;
    let mut sent = 0;
    for row in due {
        let id: i64 = row.try_get("id")?;
        let seen_next: i64 = row.try_get("next_attempt_at")?;
        let attempts: i64 = row.try_get::<i64, _>("attempts")? + 1;
        let claimed = sqlx::query(
            "UPDATE mail_outbox SET next_attempt_at = $1, attempts = $2 \
             WHERE id = $3 AND sent_at IS NULL AND next_attempt_at = $4",
        )
        .bind(now + CLAIM_SECS)
        .bind(attempts)
        .bind(id)
        .bind(seen_next)
        .execute(db.pool())
        .await?;
        if claimed.rows_affected() != 1 {
            continue; // another process took it
        }
        let mail = OutgoingMail {
            to: Email::from_trusted(row.try_get("recipient")?),
            subject: row.try_get("subject")?,
            text: row.try_get("text_body")?,
            html: row.try_get("html_body")?,
        };
        match transport.send(from, &mail).await {
            Ok(()) => {
                sqlx::query("UPDATE mail_outbox SET sent_at = $1, last_error = NULL WHERE id = $2")
                    .bind(clock::now())
                    .bind(id)
                    .execute(db.pool())
                    .await?;
                tracing::info!(mail_id = id, attempts, "mail delivered");
                sent += 1;
            }
            Err(error) => {
                let retry_in = backoff_secs(attempts);
                tracing::warn!(mail_id = id, attempts, retry_in, %error, "mail delivery failed; will retry");
                sqlx::query(
                    "UPDATE mail_outbox SET next_attempt_at = $1, last_error = $2 WHERE id = $3",
                )
                .bind(clock::now() + retry_in)
                .bind(error.chars().take(500).collect::<String>())
                .bind(id)
                .execute(db.pool())
                .await?;
            }
        }
    }
    Ok(sent)
}

#[cfg(test)]
mod tests {
    use super::backoff_secs;

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        assert_eq!(backoff_secs(1), 1);
        assert_eq!(backoff_secs(2), 2);
        assert_eq!(backoff_secs(5), 16);
        assert_eq!(backoff_secs(40), 3600);
    }
}

//! Log-in throttling: failed attempts per e-mail address and per client address over a
//! sliding window, kept in the database so every server process sees the same counts.

use sqlx::Row;

use crate::{
    domain::{clock, db::Database, email::Email},
    errors::AppError,
};

/// Failures allowed per account inside the window.
pub const MAX_FAILURES_PER_EMAIL: i64 = 5;
/// Failures allowed per client address inside the window (several people may share one).
pub const MAX_FAILURES_PER_IP: i64 = 20;
pub const WINDOW_SECS: i64 = 15 * 60;

/// Refuses with [`AppError::RateLimited`] (minutes until the oldest counted failure leaves
/// the window) when either limit is reached.
#[tracing::instrument(skip(db))]
pub async fn check_login(db: &Database, email: &str, ip: &str) -> Result<(), AppError> {
    let since = clock::now() - WINDOW_SECS;
    for (column, value, limit) in [
        ("email", email, MAX_FAILURES_PER_EMAIL),
        ("ip", ip, MAX_FAILURES_PER_IP),
    ] {
        // `column` is one of two literals above, never input.
        let row = sqlx::query(&format!(
            "SELECT COUNT(*) AS n, MIN(attempted_at) AS oldest FROM login_failures WHERE {column} = $1 AND attempted_at > $2"
        ))
        .bind(value)
        .bind(since)
        .fetch_one(db.pool())
        .await?;
        let count: i64 = row.try_get("n")?;
        if count >= limit {
            let oldest: Option<i64> = row.try_get("oldest")?;
            let wait_secs = oldest.unwrap_or(since) + WINDOW_SECS - clock::now();
            let minutes = (wait_secs.max(1) + 59) / 60;
            return Err(AppError::RateLimited(minutes as u32));
        }
    }
    Ok(())
}

#[tracing::instrument(skip(db))]
pub async fn record_failure(db: &Database, email: &str, ip: &str) -> Result<(), AppError> {
    sqlx::query("INSERT INTO login_failures (email, ip, attempted_at) VALUES ($1, $2, $3)")
        .bind(email)
        .bind(ip)
        .bind(clock::now())
        .execute(db.pool())
        .await?;
    Ok(())
}

/// A successful log-in forgives the account's earlier failures (not the address's).
#[tracing::instrument(skip(db))]
pub async fn clear_for_email(db: &Database, email: &Email) -> Result<(), AppError> {
    sqlx::query("DELETE FROM login_failures WHERE email = $1")
        .bind(email.as_str())
        .execute(db.pool())
        .await?;
    Ok(())
}

/// Forgets failures older than the window.
pub async fn delete_old(db: &Database) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("DELETE FROM login_failures WHERE attempted_at <= $1")
        .bind(clock::now() - WINDOW_SECS)
        .execute(db.pool())
        .await?;
    Ok(done.rows_affected())
}

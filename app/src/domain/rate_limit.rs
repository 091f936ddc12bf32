//! Log-in throttling: failed attempts per e-mail address and per client address over a
//! sliding window, kept in the database so every server process sees the same counts.
//! Also the wallet's e-mail recipient lookups per customer, over the same window.

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
/// E-mail recipient lookups a wallet customer may make inside the window: plenty for
/// sending, too few to test a list of addresses for wallets.
pub const MAX_RECIPIENT_LOOKUPS: i64 = 30;

/// Minutes until `oldest` (a counted event) leaves the window, at least one.
fn minutes_left(oldest: Option<i64>, since: i64) -> u32 {
    let wait_secs = oldest.unwrap_or(since) + WINDOW_SECS - clock::now();
    ((wait_secs.max(1) + 59) / 60) as u32
}

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
            return Err(AppError::RateLimited(minutes_left(oldest, since)));
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

/// Counts one e-mail recipient lookup by wallet customer `customer_id`, or refuses with
/// [`AppError::RateLimited`] once [`MAX_RECIPIENT_LOOKUPS`] are inside the window. Known and
/// unknown addresses count alike (the refusal must not tell them apart).
#[tracing::instrument(skip(db))]
pub async fn count_recipient_lookup(db: &Database, customer_id: i64) -> Result<(), AppError> {
    let since = clock::now() - WINDOW_SECS;
    // Check and count in one write transaction, so parallel requests cannot all pass.
    let mut tx = db.begin_write().await?;
    let row = sqlx::query(
        "SELECT COUNT(*) AS n, MIN(looked_up_at) AS oldest FROM wallet_recipient_lookups \
         WHERE customer_id = $1 AND looked_up_at > $2",
    )
    .bind(customer_id)
    .bind(since)
    .fetch_one(&mut *tx)
    .await?;
    let count: i64 = row.try_get("n")?;
    if count >= MAX_RECIPIENT_LOOKUPS {
        let oldest: Option<i64> = row.try_get("oldest")?;
        tx.rollback().await?;
        return Err(AppError::RateLimited(minutes_left(oldest, since)));
    }
    sqlx::query("INSERT INTO wallet_recipient_lookups (customer_id, looked_up_at) VALUES ($1, $2)")
        .bind(customer_id)
        .bind(clock::now())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Forgets failures and lookups older than the window.
pub async fn delete_old(db: &Database) -> Result<u64, sqlx::Error> {
    let before = clock::now() - WINDOW_SECS;
    let failures = sqlx::query("DELETE FROM login_failures WHERE attempted_at <= $1")
        .bind(before)
        .execute(db.pool())
        .await?;
    let lookups = sqlx::query("DELETE FROM wallet_recipient_lookups WHERE looked_up_at <= $1")
        .bind(before)
        .execute(db.pool())
        .await?;
    Ok(failures.rows_affected() + lookups.rows_affected())
}

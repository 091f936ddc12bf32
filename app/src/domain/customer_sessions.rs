//! Customer sign-in to the wallet by e-mailed single-use link (customers have no password).
//!
//! Separate from operator accounts on purpose: the link lives in its own table, and the
//! signed-in customer sits under its own session key, so an operator's session never opens
//! a wallet and a customer's session never opens the dashboard.
//!
//! Like [`super::tokens`], the link carries 32 random bytes and the database keeps only
//! their SHA-256; a token is spent with `UPDATE ... WHERE used_at IS NULL`, so it works once.

use sha2::{Digest, Sha256};
use sqlx::{AnyConnection, Row};

use crate::{
    domain::{
        clock,
        context::ServerContext,
        db::Database,
        email::Email,
        mail::{self, templates},
    },
    errors::AppError,
};

/// The session key holding the signed-in customer's id (the operator's is another key).
pub const CUSTOMER_ID_KEY: &str = "wallet_customer_id";
/// How long a sign-in link stays valid.
pub const LINK_LIFETIME_SECS: i64 = 30 * 60;
/// How long the link in a welcome mail stays valid (the customer may read it days later).
pub const WELCOME_LIFETIME_SECS: i64 = 7 * 24 * 3600;
/// Link requests allowed per e-mail address and per client address inside the window.
pub const MAX_REQUESTS_PER_EMAIL: i64 = 5;
pub const MAX_REQUESTS_PER_IP: i64 = 30;
pub const WINDOW_SECS: i64 = 15 * 60;

/// A customer of the platform as the wallet sees them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WalletCustomer {
    pub id: i64,
    pub email: Email,
    pub key_id: i64,
    pub address: String,
}

fn digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Creates a sign-in link for a customer; returns the absolute URL to mail.
async fn issue_link(
    conn: &mut AnyConnection,
    ctx: &ServerContext,
    customer_id: i64,
    lifetime_secs: i64,
) -> Result<String, AppError> {
    let token = hex::encode(rand::random::<[u8; 32]>());
    let now = clock::now();
    sqlx::query(
        "INSERT INTO customer_tokens (token_hash, customer_id, expires_at, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(digest(&token))
    .bind(customer_id)
    .bind(now + lifetime_secs)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(ctx.link(&format!("/wallet/sign-in?token={token}")))
}

/// Refuses with [`AppError::RateLimited`] when this address or client asked too often.
/// Every request counts, known address or not, so the limit tells nothing about accounts.
async fn check_rate(conn: &mut AnyConnection, email: &str, ip: &str) -> Result<(), AppError> {
    let since = clock::now() - WINDOW_SECS;
    for (column, value, limit) in [
        ("email", email, MAX_REQUESTS_PER_EMAIL),
        ("ip", ip, MAX_REQUESTS_PER_IP),
    ] {
        // `column` is one of two literals above, never input.
        let row = sqlx::query(&format!(
            "SELECT COUNT(*) AS n, MIN(requested_at) AS oldest FROM wallet_link_requests WHERE {column} = $1 AND requested_at > $2"
        ))
        .bind(value)
        .bind(since)
        .fetch_one(&mut *conn)
        .await?;
        let count: i64 = row.try_get("n")?;
        if count >= limit {
            let oldest: Option<i64> = row.try_get("oldest")?;
            let wait_secs = oldest.unwrap_or(since) + WINDOW_SECS - clock::now();
            return Err(AppError::RateLimited(((wait_secs.max(1) + 59) / 60) as u32));
        }
    }
    Ok(())
}

/// Mails a sign-in link if a customer has this address. The answer is the same either way
/// (no enumeration); only the rate limit refuses, and it counts unknown addresses too.
#[tracing::instrument(skip(ctx, email))]
pub async fn request_link(ctx: &ServerContext, email: &Email, ip: &str) -> Result<(), AppError> {
    let mut tx = ctx.db.begin_write().await?;
    check_rate(&mut tx, email.as_str(), ip).await?;
    sqlx::query("INSERT INTO wallet_link_requests (email, ip, requested_at) VALUES ($1, $2, $3)")
        .bind(email.as_str())
        .bind(ip)
        .bind(clock::now())
        .execute(&mut *tx)
        .await?;
    let customer: Option<i64> = sqlx::query_scalar("SELECT id FROM customers WHERE email = $1")
        .bind(email.as_str())
        .fetch_optional(&mut *tx)
        .await?;
    if let Some(customer_id) = customer {
        let link = issue_link(&mut tx, ctx, customer_id, LINK_LIFETIME_SECS).await?;
        mail::enqueue(&mut tx, &templates::wallet_sign_in(email, &link)).await?;
    }
    tx.commit().await?;
    ctx.mail.wake();
    Ok(())
}

/// Queues the welcome mail of a customer a store has just created, inside the caller's
/// transaction (the mail exists exactly when the customer does).
pub async fn queue_welcome(
    conn: &mut AnyConnection,
    ctx: &ServerContext,
    customer_id: i64,
    email: &Email,
    store_name: &str,
) -> Result<(), AppError> {
    let link = issue_link(conn, ctx, customer_id, WELCOME_LIFETIME_SECS).await?;
    mail::enqueue(conn, &templates::wallet_welcome(email, store_name, &link)).await
}

/// Spends a sign-in token: the customer it was issued for, once, before it expires.
#[tracing::instrument(skip(ctx, token))]
pub async fn consume_link(ctx: &ServerContext, token: &str) -> Result<i64, AppError> {
    // Tokens are fixed-length hex; anything else cannot match and need not hit the database.
    if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(AppError::LinkInvalid);
    }
    let now = clock::now();
    let customer_id: Option<i64> = sqlx::query_scalar(
        "UPDATE customer_tokens SET used_at = $1 \
         WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1 RETURNING customer_id",
    )
    .bind(now)
    .bind(digest(&token.to_ascii_lowercase()))
    .fetch_optional(ctx.db.pool())
    .await?;
    customer_id.ok_or(AppError::LinkInvalid)
}

/// The customer with this id and their custodial address.
pub async fn find(ctx: &ServerContext, id: i64) -> Result<Option<WalletCustomer>, AppError> {
    let row = sqlx::query(
        "SELECT c.id, c.email, c.key_id, k.address FROM customers c JOIN custody_keys k ON k.id = c.key_id WHERE c.id = $1",
    )
    .bind(id)
    .fetch_optional(ctx.db.pool())
    .await?;
    row.map(|row| -> Result<WalletCustomer, AppError> {
        Ok(WalletCustomer {
            id: row.try_get(0)?,
            email: Email::from_trusted(row.try_get(1)?),
            key_id: row.try_get(2)?,
            address: row.try_get(3)?,
        })
    })
    .transpose()
}

/// Forgets link requests older than the window.
pub async fn delete_old_requests(db: &Database) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("DELETE FROM wallet_link_requests WHERE requested_at <= $1")
        .bind(clock::now() - WINDOW_SECS)
        .execute(db.pool())
        .await?;
    Ok(done.rows_affected())
}

//! Single-use tokens for e-mailed links (verify e-mail, reset password, accept invitation).
//!
//! The link carries 32 random bytes; the database keeps only their SHA-256, so reading the
//! table opens nothing. A token is spent by the same transaction that acts on it, with
//! `UPDATE ... WHERE used_at IS NULL`, so two concurrent uses cannot both succeed.

use sha2::{Digest, Sha256};
use sqlx::{AnyConnection, Row};

use crate::{domain::clock, errors::AppError};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenPurpose {
    VerifyEmail,
    ResetPassword,
    Invitation,
}

impl TokenPurpose {
    fn as_str(self) -> &'static str {
        match self {
            TokenPurpose::VerifyEmail => "verify_email",
            TokenPurpose::ResetPassword => "reset_password",
            TokenPurpose::Invitation => "invitation",
        }
    }

    /// How long a link of this kind stays valid.
    pub fn lifetime_secs(self) -> i64 {
        match self {
            TokenPurpose::VerifyEmail => 48 * 3600,
            TokenPurpose::ResetPassword => 3600,
            TokenPurpose::Invitation => 7 * 24 * 3600,
        }
    }
}

/// What a token was issued for.
#[derive(Clone, Copy, Debug, Default)]
pub struct TokenSubject {
    pub operator_id: Option<i64>,
    pub invitation_id: Option<i64>,
}

fn digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Creates a token and returns the secret to put into the link (64 hex characters).
#[tracing::instrument(skip(conn))]
pub async fn issue(
    conn: &mut AnyConnection,
    purpose: TokenPurpose,
    subject: TokenSubject,
) -> Result<String, AppError> {
    let token = hex::encode(rand::random::<[u8; 32]>());
    let now = clock::now();
    sqlx::query(
        "INSERT INTO account_tokens (token_hash, purpose, operator_id, invitation_id, expires_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(digest(&token))
    .bind(purpose.as_str())
    .bind(subject.operator_id)
    .bind(subject.invitation_id)
    .bind(now + purpose.lifetime_secs())
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(token)
}

/// Looks a token up without spending it (to show what a link is about before acting).
#[tracing::instrument(skip(conn, token))]
pub async fn peek(
    conn: &mut AnyConnection,
    purpose: TokenPurpose,
    token: &str,
) -> Result<TokenSubject, AppError> {
    let row = sqlx::query(
        "SELECT operator_id, invitation_id FROM account_tokens \
         WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3",
    )
    .bind(digest(token))
    .bind(purpose.as_str())
    .bind(clock::now())
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(AppError::LinkInvalid)?;
    subject_of(&row)
}

/// Spends a token: succeeds once, for an unexpired token of this purpose.
#[tracing::instrument(skip(conn, token))]
pub async fn consume(
    conn: &mut AnyConnection,
    purpose: TokenPurpose,
    token: &str,
) -> Result<TokenSubject, AppError> {
    // Tokens are fixed-length hex; anything else cannot match and need not hit the database.
    if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(AppError::LinkInvalid);
    }
    let now = clock::now();
    let row = sqlx::query(
        "UPDATE account_tokens SET used_at = $1 \
         WHERE token_hash = $2 AND purpose = $3 AND used_at IS NULL AND expires_at > $1 \
         RETURNING operator_id, invitation_id",
    )
    .bind(now)
    .bind(digest(token))
    .bind(purpose.as_str())
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(AppError::LinkInvalid)?;
    subject_of(&row)
}

fn subject_of(row: &sqlx::any::AnyRow) -> Result<TokenSubject, AppError> {
    Ok(TokenSubject {
        operator_id: row.try_get("operator_id")?,
        invitation_id: row.try_get("invitation_id")?,
    })
}

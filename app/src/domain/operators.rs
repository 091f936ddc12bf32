//! Operator accounts: sign-up, e-mail verification, log-in, password reset and change.

use sqlx::{any::AnyRow, AnyConnection, Row};

use crate::{
    domain::{
        clock,
        context::ServerContext,
        email::Email,
        mail::{self, templates},
        password::{self, Password},
        rate_limit, sessions,
        tokens::{self, TokenPurpose, TokenSubject},
    },
    errors::AppError,
};

#[derive(Clone, Debug)]
pub struct Operator {
    pub id: i64,
    pub email: Email,
    pub verified: bool,
}

struct OperatorWithHash {
    operator: Operator,
    password_hash: String,
}

fn operator_of(row: &AnyRow) -> Result<OperatorWithHash, sqlx::Error> {
    let verified_at: Option<i64> = row.try_get("verified_at")?;
    Ok(OperatorWithHash {
        operator: Operator {
            id: row.try_get("id")?,
            email: Email::from_trusted(row.try_get("email")?),
            verified: verified_at.is_some(),
        },
        password_hash: row.try_get("password_hash")?,
    })
}

async fn find_by_email(
    conn: &mut AnyConnection,
    email: &Email,
) -> Result<Option<OperatorWithHash>, sqlx::Error> {
    let row =
        sqlx::query("SELECT id, email, password_hash, verified_at FROM operators WHERE email = $1")
            .bind(email.as_str())
            .fetch_optional(conn)
            .await?;
    row.as_ref().map(operator_of).transpose()
}

#[tracing::instrument(skip(ctx))]
pub async fn find_by_id(ctx: &ServerContext, id: i64) -> Result<Option<Operator>, AppError> {
    let row =
        sqlx::query("SELECT id, email, password_hash, verified_at FROM operators WHERE id = $1")
            .bind(id)
            .fetch_optional(ctx.db.pool())
            .await?;
    Ok(row
        .as_ref()
        .map(operator_of)
        .transpose()?
        .map(|o| o.operator))
}

async fn queue_verification(
    conn: &mut AnyConnection,
    ctx: &ServerContext,
    operator: &Operator,
) -> Result<(), AppError> {
    let token = tokens::issue(
        conn,
        TokenPurpose::VerifyEmail,
        TokenSubject {
            operator_id: Some(operator.id),
            invitation_id: None,
        },
    )
    .await?;
    let link = ctx.link(&format!("/verify-email?token={token}"));
    mail::enqueue(conn, &templates::verify_email(&operator.email, &link)).await
}

/// Creates an unverified account and mails a verification link.
///
/// If the address already has an account, the answer is the same (so sign-up does not
/// reveal which addresses are registered) and the owner of the address gets a mail saying so.
#[tracing::instrument(skip(ctx, password))]
pub async fn sign_up(
    ctx: &ServerContext,
    email: &Email,
    password: &Password,
) -> Result<(), AppError> {
    let hash = password::hash(password).await?;
    let mut tx = ctx.db.begin_write().await?;
    let created = sqlx::query(
        "INSERT INTO operators (email, password_hash, created_at) VALUES ($1, $2, $3) ON CONFLICT (email) DO NOTHING RETURNING id",
    )
    .bind(email.as_str())
    .bind(&hash)
    .bind(clock::now())
    .fetch_optional(&mut *tx)
    .await?;
    match created {
        Some(row) => {
            let operator = Operator {
                id: row.try_get("id")?,
                email: email.clone(),
                verified: false,
            };
            queue_verification(&mut tx, ctx, &operator).await?;
        }
        None => {
            let existing = find_by_email(&mut tx, email)
                .await?
                .ok_or(AppError::Internal)?;
            if existing.operator.verified {
                let mail = templates::account_exists(
                    email,
                    &ctx.link("/login"),
                    &ctx.link("/forgot-password"),
                );
                mail::enqueue(&mut tx, &mail).await?;
            } else {
                queue_verification(&mut tx, ctx, &existing.operator).await?;
            }
        }
    }
    tx.commit().await?;
    ctx.mail.wake();
    Ok(())
}

/// Marks the account behind a verification link as verified.
#[tracing::instrument(skip(ctx, token))]
pub async fn verify_email(ctx: &ServerContext, token: &str) -> Result<(), AppError> {
    let mut tx = ctx.db.begin_write().await?;
    let subject = tokens::consume(&mut tx, TokenPurpose::VerifyEmail, token).await?;
    let operator_id = subject.operator_id.ok_or(AppError::LinkInvalid)?;
    sqlx::query("UPDATE operators SET verified_at = $1 WHERE id = $2 AND verified_at IS NULL")
        .bind(clock::now())
        .bind(operator_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Checks credentials under the log-in rate limits; returns the operator to sign in.
///
/// Unknown addresses cost the same argon2 work as known ones. An unverified account with
/// the right password gets a fresh verification mail and [`AppError::NotVerified`].
#[tracing::instrument(skip(ctx, email_input, password))]
pub async fn log_in(
    ctx: &ServerContext,
    email_input: &str,
    password: &Password,
    ip: &str,
) -> Result<Operator, AppError> {
    let throttle_key = email_input.trim().to_lowercase();
    rate_limit::check_login(&ctx.db, &throttle_key, ip).await?;
    let email = Email::parse(email_input);
    let found = match &email {
        Ok(email) => find_by_email(&mut *ctx.db.pool().acquire().await?, email).await?,
        Err(_) => None,
    };
    let (stored_hash, operator) = match found {
        Some(found) => (Some(found.password_hash), Some(found.operator)),
        None => (None, None),
    };
    let matches = password::verify(password, stored_hash).await?;
    let (true, Some(operator)) = (matches, operator) else {
        rate_limit::record_failure(&ctx.db, &throttle_key, ip).await?;
        return Err(AppError::WrongCredentials);
    };
    rate_limit::clear_for_email(&ctx.db, &operator.email).await?;
    if !operator.verified {
        let mut tx = ctx.db.begin_write().await?;
        queue_verification(&mut tx, ctx, &operator).await?;
        tx.commit().await?;
        ctx.mail.wake();
        return Err(AppError::NotVerified);
    }
    Ok(operator)
}

/// Mails a reset link if the address has an account; answers the same either way.
#[tracing::instrument(skip(ctx))]
pub async fn request_password_reset(ctx: &ServerContext, email: &Email) -> Result<(), AppError> {
    let mut tx = ctx.db.begin_write().await?;
    if let Some(found) = find_by_email(&mut tx, email).await? {
        let subject = TokenSubject {
            operator_id: Some(found.operator.id),
            invitation_id: None,
        };
        let token = tokens::issue(&mut tx, TokenPurpose::ResetPassword, subject).await?;
        let link = ctx.link(&format!("/reset-password?token={token}"));
        mail::enqueue(&mut tx, &templates::reset_password(email, &link)).await?;
    }
    tx.commit().await?;
    ctx.mail.wake();
    Ok(())
}

/// Sets a new password through a reset link and ends every session of the account.
/// The link proves the mailbox, so the address counts as verified afterwards.
#[tracing::instrument(skip(ctx, token, password))]
pub async fn reset_password(
    ctx: &ServerContext,
    token: &str,
    password: &Password,
) -> Result<(), AppError> {
    let hash = password::hash(password).await?;
    let mut tx = ctx.db.begin_write().await?;
    let subject = tokens::consume(&mut tx, TokenPurpose::ResetPassword, token).await?;
    let operator_id = subject.operator_id.ok_or(AppError::LinkInvalid)?;
    sqlx::query("UPDATE operators SET password_hash = $1, verified_at = COALESCE(verified_at, $2) WHERE id = $3")
        .bind(&hash)
        .bind(clock::now())
        .bind(operator_id)
        .execute(&mut *tx)
        .await?;
    sessions::end_operator_sessions(&mut tx, operator_id, None).await?;
    rate_limit_forgive(&mut tx, operator_id).await?;
    tx.commit().await?;
    Ok(())
}

/// A reset proves the mailbox: earlier failed log-ins of the account no longer count.
async fn rate_limit_forgive(conn: &mut AnyConnection, operator_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "DELETE FROM login_failures WHERE email = (SELECT email FROM operators WHERE id = $1)",
    )
    .bind(operator_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Changes the password after checking the current one; other sessions of the account end.
#[tracing::instrument(skip(ctx, current, new, keep_session))]
pub async fn change_password(
    ctx: &ServerContext,
    operator: &Operator,
    current: &Password,
    new: &Password,
    keep_session: Option<&tower_sessions::session::Id>,
) -> Result<(), AppError> {
    let mut conn = ctx.db.pool().acquire().await?;
    let stored = find_by_email(&mut conn, &operator.email)
        .await?
        .map(|o| o.password_hash);
    drop(conn);
    if !password::verify(current, stored).await? {
        return Err(AppError::WrongCurrentPassword);
    }
    let hash = password::hash(new).await?;
    let mut tx = ctx.db.begin_write().await?;
    sqlx::query("UPDATE operators SET password_hash = $1 WHERE id = $2")
        .bind(&hash)
        .bind(operator.id)
        .execute(&mut *tx)
        .await?;
    sessions::end_operator_sessions(&mut tx, operator.id, keep_session).await?;
    tx.commit().await?;
    Ok(())
}

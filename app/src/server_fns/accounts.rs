//! Sign-up, e-mail verification, log-in, log-out, password reset and change.

use leptos::prelude::*;

use crate::{errors::AppError, models::OperatorView};

#[cfg(feature = "ssr")]
use crate::{
    domain::{context::ServerContext, email::Email, operators, password::Password},
    server_fns::{auth, respond::finish},
    urls::{safe_next, with_query},
};

/// Creates an account and mails a verification link (the answer is the same for taken addresses).
#[server(prefix = "/fn", endpoint = "sign_up")]
pub async fn sign_up(
    email: String,
    password: String,
    password_repeat: String,
) -> Result<(), AppError> {
    let result = async {
        let ctx = ServerContext::get()?;
        let email = Email::parse(&email)?;
        let password = Password::parse(password)?;
        if password_repeat != *password_text(&password) {
            return Err(AppError::PasswordsDiffer);
        }
        operators::sign_up(&ctx, &email, &password).await
    }
    .await;
    finish(result, "/signup", |_| "/signup?done=1".to_owned())
}

#[cfg(feature = "ssr")]
fn password_text(password: &Password) -> &String {
    // Only for comparing the repeated field; the text never leaves this module.
    crate::domain::password::expose(password)
}

/// Confirms the e-mail address behind a verification link.
#[server(prefix = "/fn", endpoint = "verify_email")]
pub async fn verify_email(token: String) -> Result<(), AppError> {
    let result =
        async { operators::verify_email(&ServerContext::get()?, token.trim()).await }.await;
    finish(
        result,
        &with_query("/verify-email", "token", &token),
        |_| "/login?verified=1".to_owned(),
    )
}

/// Signs in; goes to `next` (a local path) or the dashboard.
#[server(prefix = "/fn", endpoint = "log_in")]
pub async fn log_in(email: String, password: String, next: Option<String>) -> Result<(), AppError> {
    let form_page = match &next {
        Some(next) => with_query("/login", "next", next),
        None => "/login".to_owned(),
    };
    let result = async {
        let ctx = ServerContext::get()?;
        let ip = auth::client_ip().await;
        let operator = operators::log_in(&ctx, &email, &Password::candidate(password), &ip).await?;
        auth::start_session(&operator).await
    }
    .await;
    finish(result, &form_page, |_| safe_next(next.as_deref()))
}

/// Ends the session on the server and clears it in the browser.
#[server(prefix = "/fn", endpoint = "log_out")]
pub async fn log_out() -> Result<(), AppError> {
    let result = auth::end_session().await;
    finish(result, "/", |_| "/?logged_out=1".to_owned())
}

/// Mails a password reset link if the address has an account (same answer either way).
#[server(prefix = "/fn", endpoint = "request_password_reset")]
pub async fn request_password_reset(email: String) -> Result<(), AppError> {
    let result = async {
        let ctx = ServerContext::get()?;
        operators::request_password_reset(&ctx, &Email::parse(&email)?).await
    }
    .await;
    finish(result, "/forgot-password", |_| {
        "/forgot-password?done=1".to_owned()
    })
}

/// Sets a new password through a reset link.
#[server(prefix = "/fn", endpoint = "reset_password")]
pub async fn reset_password(
    token: String,
    password: String,
    password_repeat: String,
) -> Result<(), AppError> {
    let result = async {
        let ctx = ServerContext::get()?;
        let password = Password::parse(password)?;
        if password_repeat != *password_text(&password) {
            return Err(AppError::PasswordsDiffer);
        }
        operators::reset_password(&ctx, token.trim(), &password).await
    }
    .await;
    finish(
        result,
        &with_query("/reset-password", "token", &token),
        |_| "/login?reset=1".to_owned(),
    )
}

/// Changes the signed-in operator's password; their other sessions end.
#[server(prefix = "/fn", endpoint = "change_password")]
pub async fn change_password(
    current_password: String,
    password: String,
    password_repeat: String,
) -> Result<(), AppError> {
    let result = async {
        let ctx = ServerContext::get()?;
        let operator = auth::require_operator(&ctx).await?;
        let new = Password::parse(password)?;
        if password_repeat != *password_text(&new) {
            return Err(AppError::PasswordsDiffer);
        }
        let session_id = auth::session().await?.id();
        operators::change_password(
            &ctx,
            &operator,
            &Password::candidate(current_password),
            &new,
            session_id.as_ref(),
        )
        .await
    }
    .await;
    finish(result, "/account", |_| "/account?done=1".to_owned())
}

/// The signed-in operator, if any.
#[server(prefix = "/fn", endpoint = "current_operator")]
pub async fn current_operator() -> Result<Option<OperatorView>, AppError> {
    let ctx = ServerContext::get()?;
    Ok(auth::signed_in(&ctx).await?.map(|o| OperatorView {
        id: o.id,
        email: o.email.to_string(),
    }))
}

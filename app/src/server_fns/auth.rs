//! Who is asking: the session of the current request and its operator.

use std::net::SocketAddr;

use axum::extract::ConnectInfo;
use tower_sessions::Session;

use crate::{
    domain::{
        context::ServerContext,
        operators::{self, Operator},
        sessions::OPERATOR_ID_KEY,
    },
    errors::AppError,
};

/// The session of the current request (the session layer puts it into the request).
pub async fn session() -> Result<Session, AppError> {
    leptos_axum::extract::<Session>().await.map_err(|error| {
        tracing::error!(%error, "no session in this request; is the session layer installed?");
        AppError::Internal
    })
}

pub(crate) fn session_error(error: tower_sessions::session::Error) -> AppError {
    tracing::error!(%error, "session store failed");
    AppError::Internal
}

/// The signed-in operator, if any. Read from the database on every call, so an account
/// that has been removed loses access at once.
pub async fn signed_in(ctx: &ServerContext) -> Result<Option<Operator>, AppError> {
    let session = session().await?;
    let Some(id) = session
        .get::<i64>(OPERATOR_ID_KEY)
        .await
        .map_err(session_error)?
    else {
        return Ok(None);
    };
    Ok(operators::find_by_id(ctx, id)
        .await?
        .filter(|operator| operator.verified))
}

/// The signed-in operator, or [`AppError::NotSignedIn`].
pub async fn require_operator(ctx: &ServerContext) -> Result<Operator, AppError> {
    signed_in(ctx).await?.ok_or(AppError::NotSignedIn)
}

/// Signs `operator` in on this session under a new session id (no fixation).
pub async fn start_session(operator: &Operator) -> Result<(), AppError> {
    let session = session().await?;
    session.cycle_id().await.map_err(session_error)?;
    session
        .insert(OPERATOR_ID_KEY, operator.id)
        .await
        .map_err(session_error)?;
    Ok(())
}

/// Ends the session here and in the store.
pub async fn end_session() -> Result<(), AppError> {
    session().await?.flush().await.map_err(session_error)
}

/// The client's address for rate limiting (the TCP peer; a trusted proxy header is not read).
pub async fn client_ip() -> String {
    leptos_axum::extract::<ConnectInfo<SocketAddr>>()
        .await
        .map_or_else(
            |_| "unknown".to_owned(),
            |ConnectInfo(addr)| addr.ip().to_string(),
        )
}

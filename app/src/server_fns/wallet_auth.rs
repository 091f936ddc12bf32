//! Who is asking for a wallet: the signed-in customer of the current session.
//!
//! The customer sits under its own session key ([`CUSTOMER_ID_KEY`]); nothing here reads
//! the operator's key, so an operator session never opens a wallet.

use tower_sessions::Session;

use crate::{
    domain::{
        context::ServerContext,
        customer_sessions::{self, WalletCustomer, CUSTOMER_ID_KEY},
    },
    errors::AppError,
    server_fns::auth,
};

fn session_error(error: tower_sessions::session::Error) -> AppError {
    tracing::error!(%error, "session store failed");
    AppError::Internal
}

/// The signed-in customer, if any (read from the database on every call).
pub async fn signed_in_customer(ctx: &ServerContext) -> Result<Option<WalletCustomer>, AppError> {
    let session: Session = auth::session().await?;
    let Some(id) = session
        .get::<i64>(CUSTOMER_ID_KEY)
        .await
        .map_err(session_error)?
    else {
        return Ok(None);
    };
    customer_sessions::find(ctx, id).await
}

/// The signed-in customer, or [`AppError::NotSignedIn`].
pub async fn require_customer(ctx: &ServerContext) -> Result<WalletCustomer, AppError> {
    signed_in_customer(ctx).await?.ok_or(AppError::NotSignedIn)
}

/// Signs the customer in under a new session id (no fixation).
pub async fn start_customer_session(customer_id: i64) -> Result<(), AppError> {
    let session = auth::session().await?;
    session.cycle_id().await.map_err(session_error)?;
    session
        .insert(CUSTOMER_ID_KEY, customer_id)
        .await
        .map_err(session_error)
}

/// Signs the customer out; an operator signed in on the same browser stays signed in.
pub async fn end_customer_session() -> Result<(), AppError> {
    let session = auth::session().await?;
    session
        .remove::<i64>(CUSTOMER_ID_KEY)
        .await
        .map_err(session_error)?;
    session.cycle_id().await.map_err(session_error)
}

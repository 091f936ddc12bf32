//! A secret shown exactly once (a new API key, a new webhook signing secret).
//!
//! A form posted without JavaScript is answered with a redirect, which cannot carry the
//! secret, and a URL would leak it. So the server function puts it in the session, sealed
//! under the master key (sessions are database rows), and the next load of the same
//! store's page takes it out and shows it; another store's page leaves it in place.

use serde::{Deserialize, Serialize};

use super::{auth, webhooks::webhook_context};
use crate::errors::AppError;

#[derive(Serialize, Deserialize)]
struct SecretFlash {
    store_id: i64,
    /// What the secret belongs to (the key's or the endpoint's id).
    id: i64,
    /// Sealed with `SecretSealer::seal_flash`.
    sealed: String,
}

/// Keeps `secret` of item `id` in the session entry `name` until [`take`] shows it.
pub async fn put(name: &str, store_id: i64, id: i64, secret: &str) -> Result<(), AppError> {
    let sealed = webhook_context()?.sealer.seal_flash(secret);
    auth::session()
        .await?
        .insert(
            name,
            SecretFlash {
                store_id,
                id,
                sealed,
            },
        )
        .await
        .map_err(auth::session_error)
}

/// The secret waiting in entry `name` for this store, with its item's id, removed from the
/// session so that it is shown once.
pub async fn take(name: &str, store_id: i64) -> Result<Option<(i64, String)>, AppError> {
    let session = auth::session().await?;
    let flash = session
        .get::<SecretFlash>(name)
        .await
        .map_err(auth::session_error)?;
    let Some(flash) = flash.filter(|flash| flash.store_id == store_id) else {
        return Ok(None);
    };
    session
        .remove_value(name)
        .await
        .map_err(auth::session_error)?;
    let secret = webhook_context()?
        .sealer
        .open_flash(&flash.sealed)
        .map_err(|_| {
            tracing::error!(entry = name, "a sealed secret flash does not open");
            AppError::Internal
        })?;
    Ok(Some((flash.id, secret)))
}

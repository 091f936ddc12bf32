//! A store's REST API keys in the dashboard: list, create (the key shown once), revoke.
//!
//! Only managers and owners see or manage keys: a key acts for the whole store (it can
//! award and redeem points and read every customer), which is more than staff may do in
//! the dashboard. Staff get "Your role in this store does not allow that" (403).
//!
//! The new key reaches the page through a one-time flash in the session: a form posted
//! without JavaScript is answered with a redirect, so the key cannot ride in the answer,
//! and it must not ride in a URL (history, logs). The page's first load takes it out of
//! the session; a reload shows only the prefix. In the session (a database row) the key is
//! sealed under the platform master key, and the page is sent with `Cache-Control: no-store`.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::{
    errors::AppError,
    models::{OperatorView, StoreSummary},
};

#[cfg(feature = "ssr")]
use crate::{
    domain::{
        api_keys::{self, ApiKeyError, ApiKeyInfo, KeyName, Scope, Scopes},
        context::ServerContext,
        membership::require_member,
        webhooks::payload::rfc3339,
    },
    models::Role,
    server_fns::{
        auth,
        respond::{answer, finish, no_store},
        secret_flash,
    },
};

/// One key as the list shows it (never the secret).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeyRow {
    pub id: i64,
    pub name: String,
    pub prefix: String,
    pub scopes: Vec<String>,
    pub created: String,
    pub last_used: Option<String>,
    pub revoked: Option<String>,
}

/// A key just created, shown once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FreshApiKey {
    pub id: i64,
    pub key: String,
}

/// Everything the API keys page shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeysView {
    pub me: OperatorView,
    pub store: StoreSummary,
    pub keys: Vec<ApiKeyRow>,
    /// Every scope a key can have, for the form's checkboxes.
    pub all_scopes: Vec<String>,
    pub fresh: Option<FreshApiKey>,
}

/// The session entry holding a key just created, until the page has shown it.
#[cfg(feature = "ssr")]
const FRESH_KEY: &str = "pointmint.fresh_api_key";

#[cfg(feature = "ssr")]
fn keys_page(store_id: i64) -> String {
    format!("/dashboard/stores/{store_id}/api-keys")
}

#[cfg(feature = "ssr")]
fn app_error(error: ApiKeyError) -> AppError {
    match error {
        ApiKeyError::InvalidName => AppError::InvalidKeyName,
        ApiKeyError::NoScopes | ApiKeyError::UnknownScope(_) => AppError::InvalidScopes,
        ApiKeyError::NotFound => AppError::NotFound,
        ApiKeyError::Database(_) => AppError::Internal,
    }
}

#[cfg(feature = "ssr")]
fn row(info: ApiKeyInfo) -> ApiKeyRow {
    ApiKeyRow {
        id: info.id,
        name: info.name,
        prefix: info.prefix,
        scopes: info.scopes.iter().map(|s| s.as_str().to_owned()).collect(),
        created: rfc3339(info.created_at),
        last_used: info.last_used_at.map(rfc3339),
        revoked: info.revoked_at.map(rfc3339),
    }
}

/// The store's keys, and the key just created if this is the first look at it.
#[server(prefix = "/fn", endpoint = "api_keys_overview")]
pub async fn api_keys_overview(store_id: i64) -> Result<ApiKeysView, AppError> {
    answer(
        async {
            let ctx = ServerContext::get()?;
            let operator = auth::require_operator(&ctx).await?;
            let store = require_member(&ctx.db, operator.id, store_id, Role::Manager).await?;
            // The page may show a key, and never from a cache.
            no_store();
            let fresh = secret_flash::take(FRESH_KEY, store.id)
                .await?
                .map(|(id, key)| FreshApiKey { id, key });
            let keys = api_keys::list(&ctx.db, store.id).await.map_err(app_error)?;
            Ok(ApiKeysView {
                me: OperatorView {
                    id: operator.id,
                    email: operator.email.to_string(),
                },
                store,
                keys: keys.into_iter().map(row).collect(),
                all_scopes: Scope::ALL.iter().map(|s| s.as_str().to_owned()).collect(),
                fresh,
            })
        }
        .await,
    )
}

/// Creates a key (managers and owners); the page shows it once.
#[server(prefix = "/fn", endpoint = "create_api_key")]
pub async fn create_api_key(
    store_id: i64,
    name: String,
    #[server(default)] scopes: Vec<String>,
) -> Result<i64, AppError> {
    let result = async {
        let ctx = ServerContext::get()?;
        let operator = auth::require_operator(&ctx).await?;
        let store = require_member(&ctx.db, operator.id, store_id, Role::Manager).await?;
        let name = KeyName::parse(&name).map_err(app_error)?;
        let scopes = Scopes::parse(&scopes.join(" ")).map_err(app_error)?;
        // The sealer is needed to show the key: check for it before creating one.
        super::webhooks::webhook_context()?;
        let (info, key) = api_keys::create(&ctx.db, store.id, &name, &scopes, Some(operator.id))
            .await
            .map_err(app_error)?;
        secret_flash::put(FRESH_KEY, store.id, info.id, key.reveal()).await?;
        Ok(info.id)
    }
    .await;
    finish(result, &keys_page(store_id), |_| {
        format!("{}?created=1", keys_page(store_id))
    })
}

/// Revokes a key of the store (managers and owners); requests with it answer 401 from then on.
#[server(prefix = "/fn", endpoint = "revoke_api_key")]
pub async fn revoke_api_key(store_id: i64, key_id: i64) -> Result<(), AppError> {
    let result = async {
        let ctx = ServerContext::get()?;
        let operator = auth::require_operator(&ctx).await?;
        let store = require_member(&ctx.db, operator.id, store_id, Role::Manager).await?;
        api_keys::revoke(&ctx.db, store.id, key_id)
            .await
            .map_err(app_error)
    }
    .await;
    finish(result, &keys_page(store_id), |_| {
        format!("{}?revoked=1", keys_page(store_id))
    })
}

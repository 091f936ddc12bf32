//! The `ApiKey` extractor: `Authorization: Bearer pm_live_...` -> the key's store and scopes.

use app::domain::api_keys::{self, Scope, Scopes};
use axum::{extract::FromRequestParts, http::request::Parts};

use super::{error::ApiError, ApiState};

/// An authenticated API key. Every query a handler makes is scoped by `store_id`.
#[derive(Clone, Debug)]
pub struct ApiKey {
    pub id: i64,
    pub store_id: i64,
    pub scopes: Scopes,
}

impl ApiKey {
    /// Refuses with 403 unless the key has `scope`.
    pub fn require_scope(&self, scope: Scope) -> Result<(), ApiError> {
        if self.scopes.contains(scope) {
            Ok(())
        } else {
            Err(ApiError::MissingScope(scope.as_str()))
        }
    }

    /// The ledger's `actor` for what this key does.
    pub fn actor(&self) -> String {
        format!("api_key:{}", self.id)
    }
}

impl<S> FromRequestParts<S> for ApiKey
where
    S: Send + Sync,
    ApiState: axum::extract::FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = <ApiState as axum::extract::FromRef<S>>::from_ref(state);
        let presented = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or(ApiError::Unauthorized)?;
        let info = api_keys::authenticate(&state.db, presented)
            .await?
            .ok_or(ApiError::Unauthorized)?;
        Ok(ApiKey {
            id: info.id,
            store_id: info.store_id,
            scopes: info.scopes,
        })
    }
}

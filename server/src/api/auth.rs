//! The `ApiKey` extractor: `Authorization: Bearer pm_live_...` -> the key's store and scopes.

use app::domain::{
    api_keys::{self, Scope, Scopes},
    ledger::{
        customers::{self, StoreCustomer},
        presumed::{Presumed, PresumedCustomer},
    },
};
use axum::{
    extract::{FromRef, FromRequestParts},
    http::request::Parts,
};

use super::{error::ApiError, lookups::Lookup, ApiState};

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

impl From<api_keys::ApiKeyInfo> for ApiKey {
    fn from(info: api_keys::ApiKeyInfo) -> Self {
        ApiKey {
            id: info.id,
            store_id: info.store_id,
            scopes: info.scopes,
        }
    }
}

impl<S> FromRequestParts<S> for ApiKey
where
    S: Send + Sync,
    ApiState: axum::extract::FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let bearer = Bearer::from_request_parts(parts, state).await?;
        bearer.key(&ApiState::from_ref(state)).await
    }
}

/// The key a request presents (`Authorization: Bearer ...`), not looked up yet: the write
/// endpoints look it up together with the customer their body names
/// ([`Bearer::key_and_customer`]).
pub struct Bearer(String);

impl<S: Send + Sync> FromRequestParts<S> for Bearer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(|v| Bearer(v.trim().to_owned()))
            .ok_or(ApiError::Unauthorized)
    }
}

impl Bearer {
    /// The key, or 401 for an unknown or revoked one.
    pub async fn key(&self, state: &ApiState) -> Result<ApiKey, ApiError> {
        api_keys::authenticate(&state.db, &self.0)
            .await?
            .map(ApiKey::from)
            .ok_or(ApiError::Unauthorized)
    }

    /// The key (401 for an unknown or revoked one) and the customer its store knows as
    /// `external_id`, if any: from what the process knows ([`Lookup::Cached`]), else in
    /// one query, which the process then remembers. A write that relies on them must
    /// re-check them ([`Self::presumed`]).
    pub async fn key_and_customer(
        &self,
        state: &ApiState,
        external_id: &str,
        lookup: Lookup,
    ) -> Result<(ApiKey, Option<StoreCustomer>), ApiError> {
        let hash = api_keys::key_hash(&self.0).ok_or(ApiError::Unauthorized)?;
        if lookup == Lookup::Cached {
            if let Some(hit) = state.lookups.key(&hash) {
                if let Some(info) = hit.due_use {
                    api_keys::record_use(&state.db, &info).await;
                }
                let key = ApiKey::from(hit.info);
                let customer = match state.lookups.customer(key.store_id, external_id) {
                    Some(known) => Some(known),
                    None => {
                        let found = customers::fetch(&state.db, key.store_id, external_id).await?;
                        if let Some(customer) = &found {
                            state.lookups.remember_customer(customer);
                        }
                        found
                    }
                };
                return Ok((key, customer));
            }
        }
        let Some((info, customer)) =
            api_keys::authenticate_with_customer(&state.db, &self.0, external_id).await?
        else {
            state.lookups.forget(Some(&hash), None);
            return Err(ApiError::Unauthorized);
        };
        state.lookups.remember_key(hash, &info);
        match &customer {
            Some(customer) => state.lookups.remember_customer(customer),
            None => state
                .lookups
                .forget(None, Some((info.store_id, external_id))),
        }
        Ok((ApiKey::from(info), customer))
    }

    /// What a write presumes of the key and the customer it looked up: the write checks
    /// them again in its transaction.
    pub fn presumed(key: &ApiKey, customer: Option<&StoreCustomer>) -> Presumed {
        Presumed {
            api_key_id: Some(key.id),
            customer: customer.map(|c| PresumedCustomer {
                store_id: c.store_id,
                external_id: c.external_id.clone(),
                key_id: c.key_id,
            }),
        }
    }
}

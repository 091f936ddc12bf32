//! `PUT /customers/{external_id}` and `GET /customers/{external_id}`.

use app::domain::{
    api_keys::Scope,
    email::Email,
    ledger::{customers, point_systems::PointSystem, Balance},
};
use axum::{
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::Response,
    Json,
};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    auth::ApiKey,
    body::RawJson,
    error::{ApiError, Problem},
    idempotent::{self, Written},
    views::CustomerView,
    ApiState,
};

pub fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new().routes(routes!(put_customer, get_customer))
}

/// A store's own customer id: 1 to 128 visible characters.
pub struct ExternalId(String);

impl ExternalId {
    pub fn parse(text: &str) -> Result<Self, ApiError> {
        let ok =
            !text.is_empty() && text.chars().count() <= 128 && !text.chars().any(char::is_control);
        if ok {
            Ok(Self(text.to_owned()))
        } else {
            Err(ApiError::field(
                "external_id",
                "must be 1 to 128 characters without control characters",
            ))
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[allow(dead_code)] // Documents the body; `RawJson::fields` reads it.
pub struct CustomerRequest {
    #[schema(example = "ada@example.com")]
    email: String,
    #[schema(example = "Ada Lovelace")]
    name: Option<String>,
}

async fn customer_view(
    state: &ApiState,
    store_id: i64,
    customer: customers::StoreCustomer,
) -> Result<CustomerView, ApiError> {
    let balance = match PointSystem::of_store(&state.db, store_id).await? {
        Some(ps) => Balance::fetch(&state.db, customer.key_id, ps.id).await?,
        None => Balance::default(),
    };
    Ok(CustomerView::new(customer, balance))
}

/// Creates or updates a customer; answers with the customer's address and balance.
#[utoipa::path(put, path = "/customers/{external_id}", tag = "customers", security(("api_key" = ["points:write"])),
    params(("external_id" = String, Path, description = "The store's own customer id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Replays the same answer for 24 h")),
    request_body = CustomerRequest,
    responses(
        (status = 200, description = "The customer", body = CustomerView),
        (status = 401, description = "Missing or revoked key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key lacks points:write", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    ))]
#[tracing::instrument(skip_all, fields(store = key.store_id))]
async fn put_customer(
    key: ApiKey,
    State(state): State<ApiState>,
    Path(external_id): Path<String>,
    headers: HeaderMap,
    body: RawJson,
) -> Result<Response, ApiError> {
    key.require_scope(Scope::PointsWrite)?;
    let external_id = ExternalId::parse(&external_id)?;
    let mut fields = body.fields()?;
    let email = fields.string("email", 3, 254);
    let name = fields.opt_string("name", 1, 200);
    let email = match email.as_deref().map(Email::parse) {
        Some(Ok(email)) => Some(email),
        Some(Err(_)) => {
            fields.reject("email", "must be an e-mail address like name@example.com");
            None
        }
        None => None,
    };
    fields.finish(&["email", "name"])?;
    let email = email.ok_or_else(|| ApiError::field("email", "is required"))?;
    let route = format!("PUT /customers/{}", external_id.0);
    idempotent::run(&state, &key, &headers, &route, &body.0, |_| async {
        let customer = customers::upsert_welcoming(
            &state.server,
            &state.vault,
            key.store_id,
            &external_id.0,
            &email,
            name.as_deref(),
        )
        .await?;
        // The id may point at another customer now (a new e-mail): the next award goes there.
        state.lookups.remember_customer(&customer);
        Written::new(
            StatusCode::OK,
            &customer_view(&state, key.store_id, customer).await?,
        )
    })
    .await
}

/// A customer with their balance.
#[utoipa::path(get, path = "/customers/{external_id}", tag = "customers", security(("api_key" = ["points:read"])),
    params(("external_id" = String, Path, description = "The store's own customer id")),
    responses(
        (status = 200, description = "The customer", body = CustomerView),
        (status = 401, description = "Missing or revoked key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key lacks points:read", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such customer in this store", body = Problem, content_type = "application/problem+json"),
    ))]
#[tracing::instrument(skip_all, fields(store = key.store_id))]
async fn get_customer(
    key: ApiKey,
    State(state): State<ApiState>,
    Path(external_id): Path<String>,
) -> Result<Json<CustomerView>, ApiError> {
    key.require_scope(Scope::PointsRead)?;
    let customer = customers::fetch(&state.db, key.store_id, &external_id)
        .await?
        .ok_or(ApiError::NotFound("customer"))?;
    Ok(Json(customer_view(&state, key.store_id, customer).await?))
}

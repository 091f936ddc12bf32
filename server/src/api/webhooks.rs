//! Webhook endpoints through the API: list, create (secret shown once), delete, delivery
//! log, redeliver, send a test event.

use app::domain::{
    api_keys::Scope,
    webhooks::{
        deliveries::{self, Delivery},
        endpoints::{self, NewEndpoint},
        Endpoint, EventFilter,
    },
};
use axum::{
    extract::{Path, Query, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    auth::ApiKey,
    body::RawJson,
    error::{ApiError, Problem},
    idempotent::{self, Written},
    ApiState,
};

pub fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(list_endpoints, create_endpoint))
        .routes(routes!(delete_endpoint))
        .routes(routes!(list_deliveries))
        .routes(routes!(redeliver))
        .routes(routes!(send_test))
}

#[derive(Serialize, ToSchema)]
pub struct EndpointView {
    pub id: i64,
    #[schema(example = "https://shop.example.com/hooks/points")]
    pub url: String,
    pub description: String,
    /// Event types delivered; empty means all.
    #[schema(example = json!(["operation.confirmed", "operation.failed"]))]
    pub event_types: Vec<String>,
    pub enabled: bool,
    /// Why the endpoint was disabled (e.g. it answered 410 Gone).
    pub disabled_reason: Option<String>,
    pub created_at: i64,
}

impl From<Endpoint> for EndpointView {
    fn from(e: Endpoint) -> Self {
        Self {
            id: e.id,
            enabled: e.enabled(),
            event_types: e.filter.types().into_iter().map(str::to_owned).collect(),
            url: e.url,
            description: e.description,
            disabled_reason: e.disabled_reason,
            created_at: e.created_at,
        }
    }
}

/// A new endpoint with its signing secret, which is shown only this once.
#[derive(Serialize, ToSchema)]
pub struct CreatedEndpoint {
    #[serde(flatten)]
    pub endpoint: EndpointView,
    /// `whsec_...`: verify `webhook-signature` with it (Standard Webhooks).
    #[schema(example = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD")]
    pub secret: String,
}

#[derive(Serialize, ToSchema)]
pub struct EndpointList {
    pub data: Vec<EndpointView>,
}

#[derive(Deserialize, ToSchema)]
#[allow(dead_code)] // Documents the body; `RawJson::fields` reads it.
pub struct EndpointRequest {
    /// http(s) URL; private and loopback addresses are refused unless the server allows them.
    #[schema(example = "https://shop.example.com/hooks/points")]
    url: String,
    /// Event types to deliver; omit or leave empty for all.
    #[schema(example = json!(["operation.confirmed"]))]
    event_types: Option<Vec<String>>,
    description: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct DeliveryView {
    pub id: i64,
    /// The `webhook-id` header, the same on every retry and redelivery.
    #[schema(example = "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk")]
    pub msg_id: String,
    #[schema(example = "operation.confirmed")]
    pub event_type: String,
    /// `pending`, `succeeded`, `failed` (will retry) or `dead` (gave up).
    #[schema(example = "succeeded")]
    pub status: String,
    pub attempts: i64,
    /// Next attempt, unix milliseconds (for `pending` and `failed`).
    pub next_attempt_at: Option<i64>,
    pub last_status_code: Option<i64>,
    /// The first 1 KiB of the receiver's last answer.
    pub last_response: Option<String>,
    pub last_error: Option<String>,
    pub created_at: i64,
}

impl From<Delivery> for DeliveryView {
    fn from(d: Delivery) -> Self {
        let open = matches!(
            d.status,
            deliveries::DeliveryStatus::Pending | deliveries::DeliveryStatus::Failed
        );
        Self {
            id: d.id,
            msg_id: d.msg_id,
            event_type: d.event_type,
            status: d.status.as_str().to_owned(),
            attempts: d.attempts,
            next_attempt_at: open.then_some(d.next_attempt_at),
            last_status_code: d.last_status_code,
            last_response: d.last_response,
            last_error: d.last_error,
            created_at: d.created_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct DeliveryPage {
    pub data: Vec<DeliveryView>,
    /// Pass as `cursor` for the next (older) page; absent on the last page.
    pub next_cursor: Option<String>,
}

fn endpoint_id(text: &str) -> Result<i64, ApiError> {
    text.parse()
        .map_err(|_| ApiError::NotFound("webhook endpoint"))
}

/// The store's webhook endpoints.
#[utoipa::path(get, path = "/webhooks", tag = "webhooks", security(("api_key" = ["webhooks:manage"])),
    responses(
        (status = 200, description = "Endpoints", body = EndpointList),
        (status = 401, description = "Missing or revoked key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key lacks webhooks:manage", body = Problem, content_type = "application/problem+json"),
    ))]
#[tracing::instrument(skip_all, fields(store = key.store_id))]
async fn list_endpoints(
    key: ApiKey,
    State(state): State<ApiState>,
) -> Result<Json<EndpointList>, ApiError> {
    key.require_scope(Scope::WebhooksManage)?;
    let data = endpoints::list(&state.db, key.store_id)
        .await?
        .into_iter()
        .map(Into::into)
        .collect();
    Ok(Json(EndpointList { data }))
}

/// Adds an endpoint. The answer holds its signing secret, shown only this once.
#[utoipa::path(post, path = "/webhooks", tag = "webhooks", security(("api_key" = ["webhooks:manage"])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Same key + same body = same answer for 24 h")),
    request_body = EndpointRequest,
    responses(
        (status = 201, description = "Created", body = CreatedEndpoint),
        (status = 401, description = "Missing or revoked key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key lacks webhooks:manage", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields (e.g. a private address)", body = Problem, content_type = "application/problem+json"),
    ))]
#[tracing::instrument(skip_all, fields(store = key.store_id))]
async fn create_endpoint(
    key: ApiKey,
    State(state): State<ApiState>,
    headers: HeaderMap,
    body: RawJson,
) -> Result<Response, ApiError> {
    key.require_scope(Scope::WebhooksManage)?;
    let mut fields = body.fields()?;
    let url = fields.string("url", 1, 2048);
    let types = fields.opt_strings("event_types").unwrap_or_default();
    let description = fields.opt_string("description", 0, 200).unwrap_or_default();
    let filter = match EventFilter::parse(&types.join(" ")) {
        Ok(filter) => filter,
        Err(error) => {
            fields.reject("event_types", error.to_string());
            EventFilter::default()
        }
    };
    fields.finish(&["url", "event_types", "description"])?;
    let Some(url) = url else {
        return Err(ApiError::Internal);
    };
    let new = NewEndpoint::parse(&url, &description, filter, state.webhooks.allow_private).await?;
    idempotent::run(
        &state,
        &key,
        &headers,
        "POST /webhooks",
        &body.0,
        |_| async {
            let (endpoint, secret) =
                endpoints::create(&state.db, &state.sealer, key.store_id, &new).await?;
            Written::new(
                StatusCode::CREATED,
                &CreatedEndpoint {
                    endpoint: endpoint.into(),
                    secret: secret.reveal(),
                },
            )
        },
    )
    .await
}

/// Deletes an endpoint; its undelivered messages are dropped.
#[utoipa::path(delete, path = "/webhooks/{id}", tag = "webhooks", security(("api_key" = ["webhooks:manage"])),
    params(("id" = i64, Path, description = "Endpoint id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Missing or revoked key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key lacks webhooks:manage", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such endpoint in this store", body = Problem, content_type = "application/problem+json"),
    ))]
#[tracing::instrument(skip_all, fields(store = key.store_id))]
async fn delete_endpoint(
    key: ApiKey,
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    key.require_scope(Scope::WebhooksManage)?;
    endpoints::delete(&state.db, key.store_id, endpoint_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // Documents the query; read by hand for problem+json errors.
pub struct DeliveryQuery {
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Page size, 1 to 100 (default 50).
    limit: Option<i64>,
}

/// The delivery log of an endpoint, newest first.
#[utoipa::path(get, path = "/webhooks/{id}/deliveries", tag = "webhooks", security(("api_key" = ["webhooks:manage"])),
    params(("id" = i64, Path, description = "Endpoint id"), DeliveryQuery),
    responses(
        (status = 200, description = "A page of deliveries", body = DeliveryPage),
        (status = 401, description = "Missing or revoked key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key lacks webhooks:manage", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such endpoint in this store", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid cursor or limit", body = Problem, content_type = "application/problem+json"),
    ))]
#[tracing::instrument(skip_all, fields(store = key.store_id))]
async fn list_deliveries(
    key: ApiKey,
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Query(query): Query<std::collections::HashMap<String, String>>,
) -> Result<Json<DeliveryPage>, ApiError> {
    key.require_scope(Scope::WebhooksManage)?;
    let id = endpoint_id(&id)?;
    let limit: i64 = match query.get("limit") {
        None => 50,
        Some(text) => text
            .parse()
            .ok()
            .filter(|l| (1..=100).contains(l))
            .ok_or_else(|| ApiError::field("limit", "must be an integer from 1 to 100"))?,
    };
    let before =
        match query.get("cursor") {
            None => None,
            Some(text) => Some(text.parse::<i64>().ok().filter(|c| *c > 0).ok_or_else(|| {
                ApiError::field("cursor", "is not a cursor from a previous page")
            })?),
        };
    let mut rows = deliveries::list(&state.db, key.store_id, id, before, limit + 1).await?;
    let next_cursor = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|d| d.id.to_string())
    } else {
        None
    };
    Ok(Json(DeliveryPage {
        data: rows.into_iter().map(Into::into).collect(),
        next_cursor,
    }))
}

/// Sends a logged message again (same `webhook-id` and body).
#[utoipa::path(post, path = "/webhooks/{id}/deliveries/{delivery}/redeliver", tag = "webhooks", security(("api_key" = ["webhooks:manage"])),
    params(("id" = i64, Path, description = "Endpoint id"), ("delivery" = i64, Path, description = "Delivery id")),
    responses(
        (status = 202, description = "Queued", body = DeliveryView),
        (status = 401, description = "Missing or revoked key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key lacks webhooks:manage", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such endpoint or delivery in this store", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The endpoint is disabled", body = Problem, content_type = "application/problem+json"),
    ))]
#[tracing::instrument(skip_all, fields(store = key.store_id))]
async fn redeliver(
    key: ApiKey,
    State(state): State<ApiState>,
    Path((id, delivery)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    key.require_scope(Scope::WebhooksManage)?;
    let delivery: i64 = delivery
        .parse()
        .map_err(|_| ApiError::NotFound("delivery"))?;
    let queued =
        deliveries::redeliver(&state.db, key.store_id, endpoint_id(&id)?, delivery).await?;
    Ok((StatusCode::ACCEPTED, Json(DeliveryView::from(queued))).into_response())
}

/// Queues a `webhook.test` event for the endpoint.
#[utoipa::path(post, path = "/webhooks/{id}/test", tag = "webhooks", security(("api_key" = ["webhooks:manage"])),
    params(("id" = i64, Path, description = "Endpoint id")),
    responses(
        (status = 202, description = "Queued", body = DeliveryView),
        (status = 401, description = "Missing or revoked key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key lacks webhooks:manage", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such endpoint in this store", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The endpoint is disabled", body = Problem, content_type = "application/problem+json"),
    ))]
#[tracing::instrument(skip_all, fields(store = key.store_id))]
async fn send_test(
    key: ApiKey,
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    key.require_scope(Scope::WebhooksManage)?;
    let queued = deliveries::send_test(&state.db, key.store_id, endpoint_id(&id)?).await?;
    Ok((StatusCode::ACCEPTED, Json(DeliveryView::from(queued))).into_response())
}

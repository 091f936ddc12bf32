//! A store's webhook endpoints in the dashboard: list, create (the `whsec_` secret shown
//! once), enable/disable, delete, and per endpoint its delivery log with redeliver and
//! "send test event".
//!
//! Like API keys, endpoints are for managers and owners (they send the store's events to
//! any URL); staff get "Your role in this store does not allow that" (403). Every id is
//! looked up within the caller's store, so another store's endpoint or delivery is "not
//! found" and nothing changes. The new secret reaches the page through a one-time session
//! flash, for the reasons given in `server_fns::api_keys`.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::{
    errors::AppError,
    models::{OperatorView, StoreSummary},
};

#[cfg(feature = "ssr")]
use crate::{
    domain::{
        context::ServerContext,
        membership::require_member,
        webhooks::{
            deliveries::{self, Delivery, DeliveryStatus},
            endpoints::{self, EndpointError, NewEndpoint},
            payload::rfc3339,
            target::TargetError,
            Endpoint, EventFilter, WebhookContext,
        },
    },
    models::Role,
    server_fns::{
        auth,
        respond::{answer, finish, no_store},
        secret_flash,
    },
};

/// Deliveries per page of the log.
pub const DELIVERIES_PER_PAGE: i64 = 20;

/// The event types an endpoint can subscribe to (DESIGN.md, "Webhooks").
pub const EVENT_TYPES: [&str; 5] = [
    "operation.broadcast",
    "operation.confirmed",
    "operation.failed",
    "point_system.confirmed",
    "webhook.test",
];

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointRow {
    pub id: i64,
    pub url: String,
    pub description: String,
    /// Empty: every event.
    pub event_types: Vec<String>,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    pub created: String,
}

/// A secret just created, shown once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FreshSecret {
    pub endpoint_id: i64,
    pub secret: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhooksView {
    pub me: OperatorView,
    pub store: StoreSummary,
    pub endpoints: Vec<EndpointRow>,
    pub fresh: Option<FreshSecret>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryRow {
    pub id: i64,
    pub event_type: String,
    pub msg_id: String,
    pub status: String,
    pub attempts: i64,
    pub response_code: Option<i64>,
    /// The start of the receiver's answer, or why there was none.
    pub excerpt: Option<String>,
    pub next_attempt: Option<String>,
    pub last_attempt: Option<String>,
    pub created: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointDetailView {
    pub me: OperatorView,
    pub store: StoreSummary,
    pub endpoint: EndpointRow,
    pub deliveries: Vec<DeliveryRow>,
    /// The cursor of the next (older) page, if there may be one.
    pub older: Option<i64>,
}

#[cfg(feature = "ssr")]
const FRESH_SECRET: &str = "pointmint.fresh_webhook_secret";

#[cfg(feature = "ssr")]
fn webhooks_page(store_id: i64) -> String {
    format!("/dashboard/stores/{store_id}/webhooks")
}

#[cfg(feature = "ssr")]
fn endpoint_page(store_id: i64, endpoint_id: i64) -> String {
    format!("/dashboard/stores/{store_id}/webhooks/{endpoint_id}")
}

#[cfg(feature = "ssr")]
fn app_error(error: EndpointError) -> AppError {
    match error {
        EndpointError::Target(TargetError::Malformed | TargetError::Credentials) => {
            AppError::InvalidWebhookUrl
        }
        EndpointError::Target(TargetError::Unresolvable(_)) => AppError::WebhookHostUnresolvable,
        EndpointError::Target(TargetError::PrivateAddress) => AppError::PrivateWebhookTarget,
        EndpointError::UnknownEventType(_) => AppError::InvalidEventTypes,
        EndpointError::DescriptionTooLong => AppError::WebhookDescriptionTooLong,
        EndpointError::NotFound => AppError::NotFound,
        EndpointError::Disabled => AppError::WebhookEndpointDisabled,
        EndpointError::Database(error) => AppError::from(error),
    }
}

#[cfg(feature = "ssr")]
fn me(operator: &crate::domain::operators::Operator) -> OperatorView {
    OperatorView {
        id: operator.id,
        email: operator.email.to_string(),
    }
}

#[cfg(feature = "ssr")]
fn endpoint_row(endpoint: Endpoint) -> EndpointRow {
    EndpointRow {
        id: endpoint.id,
        enabled: endpoint.enabled(),
        url: endpoint.url,
        description: endpoint.description,
        event_types: endpoint
            .filter
            .types()
            .into_iter()
            .map(str::to_owned)
            .collect(),
        disabled_reason: endpoint.disabled_reason,
        created: rfc3339(endpoint.created_at),
    }
}

#[cfg(feature = "ssr")]
fn delivery_row(delivery: Delivery) -> DeliveryRow {
    let open = matches!(
        delivery.status,
        DeliveryStatus::Pending | DeliveryStatus::Failed
    );
    DeliveryRow {
        id: delivery.id,
        event_type: delivery.event_type,
        msg_id: delivery.msg_id,
        status: delivery.status.as_str().to_owned(),
        attempts: delivery.attempts,
        response_code: delivery.last_status_code,
        excerpt: delivery.last_response.or(delivery.last_error),
        // Stored in milliseconds, shown to the second.
        next_attempt: open.then(|| rfc3339(delivery.next_attempt_at.div_euclid(1000))),
        last_attempt: delivery.last_attempt_at.map(rfc3339),
        created: rfc3339(delivery.created_at),
    }
}

#[cfg(feature = "ssr")]
pub(crate) fn webhook_context() -> Result<WebhookContext, AppError> {
    use_context::<WebhookContext>().ok_or_else(|| {
        tracing::error!("WebhookContext was not provided to this request");
        AppError::Internal
    })
}

/// The store's endpoints, and the secret just created if this is the first look at it.
#[server(prefix = "/fn", endpoint = "webhooks_overview")]
pub async fn webhooks_overview(store_id: i64) -> Result<WebhooksView, AppError> {
    answer(
        async {
            let ctx = ServerContext::get()?;
            let operator = auth::require_operator(&ctx).await?;
            let store = require_member(&ctx.db, operator.id, store_id, Role::Manager).await?;
            // The page may show a secret, and never from a cache.
            no_store();
            let fresh =
                secret_flash::take(FRESH_SECRET, store.id)
                    .await?
                    .map(|(endpoint_id, secret)| FreshSecret {
                        endpoint_id,
                        secret,
                    });
            let list = endpoints::list(&ctx.db, store.id)
                .await
                .map_err(app_error)?;
            Ok(WebhooksView {
                me: me(&operator),
                store,
                endpoints: list.into_iter().map(endpoint_row).collect(),
                fresh,
            })
        }
        .await,
    )
}

/// Creates an endpoint (managers and owners). The URL is checked, including where it
/// resolves to; a refused one is an error next to the URL field and creates nothing.
#[server(prefix = "/fn", endpoint = "create_webhook_endpoint")]
pub async fn create_webhook_endpoint(
    store_id: i64,
    url: String,
    #[server(default)] description: String,
    #[server(default)] event_types: Vec<String>,
) -> Result<i64, AppError> {
    let result = async {
        let ctx = ServerContext::get()?;
        let hooks = webhook_context()?;
        let operator = auth::require_operator(&ctx).await?;
        let store = require_member(&ctx.db, operator.id, store_id, Role::Manager).await?;
        let filter = EventFilter::parse(&event_types.join(" ")).map_err(app_error)?;
        let new = NewEndpoint::parse(&url, &description, filter, hooks.allow_private)
            .await
            .map_err(app_error)?;
        let (endpoint, secret) = endpoints::create(&ctx.db, &hooks.sealer, store.id, &new)
            .await
            .map_err(app_error)?;
        secret_flash::put(FRESH_SECRET, store.id, endpoint.id, &secret.reveal()).await?;
        Ok(endpoint.id)
    }
    .await;
    finish(result, &webhooks_page(store_id), |_| {
        format!("{}?created=1", webhooks_page(store_id))
    })
}

/// Enables or disables an endpoint; disabling gives up its undelivered messages.
#[server(prefix = "/fn", endpoint = "set_webhook_enabled")]
pub async fn set_webhook_enabled(
    store_id: i64,
    endpoint_id: i64,
    enabled: bool,
) -> Result<(), AppError> {
    let result = async {
        let ctx = ServerContext::get()?;
        let operator = auth::require_operator(&ctx).await?;
        let store = require_member(&ctx.db, operator.id, store_id, Role::Manager).await?;
        endpoints::set_enabled(&ctx.db, store.id, endpoint_id, enabled)
            .await
            .map_err(app_error)?;
        Ok(())
    }
    .await;
    let flag = if enabled { "enabled" } else { "disabled" };
    finish(result, &webhooks_page(store_id), |_| {
        format!("{}?{flag}=1", webhooks_page(store_id))
    })
}

/// Deletes an endpoint (its log stays in the database; nothing more is sent).
#[server(prefix = "/fn", endpoint = "delete_webhook_endpoint")]
pub async fn delete_webhook_endpoint(store_id: i64, endpoint_id: i64) -> Result<(), AppError> {
    let result = async {
        let ctx = ServerContext::get()?;
        let operator = auth::require_operator(&ctx).await?;
        let store = require_member(&ctx.db, operator.id, store_id, Role::Manager).await?;
        endpoints::delete(&ctx.db, store.id, endpoint_id)
            .await
            .map_err(app_error)
    }
    .await;
    finish(result, &webhooks_page(store_id), |_| {
        format!("{}?deleted=1", webhooks_page(store_id))
    })
}

/// One endpoint and a page of its delivery log, newest first (`before`: the cursor).
#[server(prefix = "/fn", endpoint = "webhook_endpoint_detail")]
pub async fn webhook_endpoint_detail(
    store_id: i64,
    endpoint_id: i64,
    before: Option<i64>,
) -> Result<EndpointDetailView, AppError> {
    answer(
        async {
            let ctx = ServerContext::get()?;
            let operator = auth::require_operator(&ctx).await?;
            let store = require_member(&ctx.db, operator.id, store_id, Role::Manager).await?;
            let endpoint = endpoints::fetch(&ctx.db, store.id, endpoint_id)
                .await
                .map_err(app_error)?;
            let list = deliveries::list(
                &ctx.db,
                store.id,
                endpoint.id,
                before,
                DELIVERIES_PER_PAGE + 1,
            )
            .await
            .map_err(app_error)?;
            // One row more than a page tells whether an older page exists.
            let has_more = list.len() as i64 > DELIVERIES_PER_PAGE;
            let rows: Vec<DeliveryRow> = list
                .into_iter()
                .take(DELIVERIES_PER_PAGE as usize)
                .map(delivery_row)
                .collect();
            let older = has_more.then(|| rows.last().map(|r| r.id)).flatten();
            Ok(EndpointDetailView {
                me: me(&operator),
                store,
                endpoint: endpoint_row(endpoint),
                deliveries: rows,
                older,
            })
        }
        .await,
    )
}

/// Queues a `webhook.test` message to the endpoint.
#[server(prefix = "/fn", endpoint = "send_webhook_test")]
pub async fn send_webhook_test(store_id: i64, endpoint_id: i64) -> Result<i64, AppError> {
    let result = async {
        let ctx = ServerContext::get()?;
        let operator = auth::require_operator(&ctx).await?;
        let store = require_member(&ctx.db, operator.id, store_id, Role::Manager).await?;
        let delivery = deliveries::send_test(&ctx.db, store.id, endpoint_id)
            .await
            .map_err(app_error)?;
        Ok(delivery.id)
    }
    .await;
    let page = endpoint_page(store_id, endpoint_id);
    finish(result, &page, |_| format!("{page}?test_sent=1"))
}

/// Sends a logged message again as a new delivery with the same `webhook-id` and body.
#[server(prefix = "/fn", endpoint = "redeliver_webhook")]
pub async fn redeliver_webhook(
    store_id: i64,
    endpoint_id: i64,
    delivery_id: i64,
) -> Result<i64, AppError> {
    let result = async {
        let ctx = ServerContext::get()?;
        let operator = auth::require_operator(&ctx).await?;
        let store = require_member(&ctx.db, operator.id, store_id, Role::Manager).await?;
        let delivery = deliveries::redeliver(&ctx.db, store.id, endpoint_id, delivery_id)
            .await
            .map_err(app_error)?;
        Ok(delivery.id)
    }
    .await;
    let page = endpoint_page(store_id, endpoint_id);
    finish(result, &page, |_| format!("{page}?redelivered=1"))
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;
    use crate::domain::events::EventType;

    #[test]
    fn the_form_offers_exactly_the_known_event_types() {
        for name in EVENT_TYPES {
            assert_eq!(EventType::parse(name).map(|t| t.as_str()), Some(name));
        }
    }
}

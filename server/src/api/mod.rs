//! The public REST API (v1) under `/api/v1`, its OpenAPI document and documentation page.
//!
//! One router per resource; every handler authenticates with [`auth::ApiKey`], checks the
//! scope it needs, and scopes every query by the key's store.

pub mod auth;
pub mod body;
mod chain;
mod customers;
pub mod docs;
pub mod error;
mod idempotent;
pub mod lookups;
mod operations;
pub mod point_system_refs;
mod store;
mod views;
mod webhooks;

use app::domain::{custody::KeyVault, db::Database, webhooks::SecretSealer};
use axum::{extract::DefaultBodyLimit, response::IntoResponse, routing::get, Router};
use utoipa::{
    openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
    Modify, OpenApi,
};
use utoipa_axum::router::OpenApiRouter;

use crate::config::WebhookSettings;

/// What API handlers need.
#[derive(Clone)]
pub struct ApiState {
    pub db: Database,
    /// Creates customers' custodial keys.
    pub vault: KeyVault,
    /// Seals webhook secrets.
    pub sealer: SecretSealer,
    pub chain: mvs::rpc::Client,
    pub webhooks: WebhookSettings,
    /// Public links and the mail queue, for the welcome mail of a new customer.
    pub server: app::domain::context::ServerContext,
    /// Group-commits the awards, redemptions and transfers of the API.
    pub ledger: app::domain::ledger::writer::LedgerWriter,
    /// Each store's point system id and treasury, read once.
    pub point_systems: point_system_refs::PointSystemRefs,
    /// API keys and customers the write endpoints looked up (re-checked by each write).
    pub lookups: std::sync::Arc<lookups::WriteLookups>,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "pointmint API",
        version = "1",
        description = "Award, redeem and transfer loyalty points (MST tokens on the MVS chain) from a shop's back end.\n\n\
            Authenticate with `Authorization: Bearer <store API key>`. Amounts are JSON integers in base units \
            (at most 2^53-1). Errors are `application/problem+json` with a stable `code`. Writes accept an \
            `Idempotency-Key` header: the same key with the same body gets the same answer for 24 hours; \
            with a different body, 422 `idempotency_key_reused`."
    ),
    servers((url = "/api/v1")),
    modifiers(&BearerAuth),
    tags(
        (name = "store", description = "The key's store"),
        (name = "customers", description = "Customers and balances"),
        (name = "operations", description = "Awards, redemptions, transfers"),
        (name = "webhooks", description = "Signed callbacks (Standard Webhooks)"),
        (name = "chain", description = "MVS chain services"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("pm_live_...")
                    .description(Some(
                        "A store API key; scopes: points:read, points:write, webhooks:manage",
                    ))
                    .build(),
            ),
        );
    }
}

fn api_router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(store::router())
        .merge(customers::router())
        .merge(operations::router())
        .merge(webhooks::router())
        .merge(chain::router())
}

/// The OpenAPI 3.1 document, generated from the handlers.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api_router().split_for_parts().1
}

/// `/api/v1/...`, `/api/v1/openapi.json` and `/api/docs`.
pub fn router<S: Clone + Send + Sync + 'static>(state: ApiState) -> Router<S> {
    let (routes, document) = api_router().split_for_parts();
    let json = document.to_json().expect("the OpenAPI document serializes");
    let page = docs::render(&document);
    let v1 = routes
        .route(
            "/openapi.json",
            get(move || async move { ([("content-type", "application/json")], json) }),
        )
        .fallback(|| async { error::ApiError::NotFound("route").into_response() })
        .layer(DefaultBodyLimit::max(body::MAX_BODY_BYTES))
        .with_state(state);
    Router::new().nest("/api/v1", v1).route(
        "/api/docs",
        get(move || async move { axum::response::Html(page) }),
    )
}

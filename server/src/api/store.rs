//! `GET /store`: the key's store and its point system.

use app::domain::{api_keys::Scope, ledger::point_systems::PointSystem};
use axum::{extract::State, Json};
use sqlx::Row;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{auth::ApiKey, error::ApiError, views::StoreView, ApiState};

pub fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new().routes(routes!(get_store))
}

/// The store this key belongs to, with its point system.
#[utoipa::path(get, path = "/store", tag = "store", security(("api_key" = ["points:read"])),
    responses(
        (status = 200, description = "The store", body = StoreView),
        (status = 401, description = "Missing or revoked key", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key lacks points:read", body = super::error::Problem, content_type = "application/problem+json"),
    ))]
#[tracing::instrument(skip_all, fields(store = key.store_id))]
async fn get_store(
    key: ApiKey,
    State(state): State<ApiState>,
) -> Result<Json<StoreView>, ApiError> {
    key.require_scope(Scope::PointsRead)?;
    let row = sqlx::query("SELECT id, name, slug FROM stores WHERE id = $1")
        .bind(key.store_id)
        .fetch_optional(state.db.pool())
        .await?
        .ok_or(ApiError::NotFound("store"))?;
    let point_system = PointSystem::of_store(&state.db, key.store_id).await?;
    Ok(Json(StoreView {
        id: row.try_get(0)?,
        name: row.try_get(1)?,
        slug: row.try_get(2)?,
        point_system: point_system.map(Into::into),
    }))
}

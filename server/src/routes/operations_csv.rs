//! `GET /dashboard/stores/{id}/operations.csv`: the dashboard's operations list as a CSV
//! download, for signed-in members of the store (same filters as the page).

use axum::{
    extract::{Path, Query, State},
    http::{header, StatusCode},
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use tower_sessions::Session;

use app::{
    domain::{membership::require_member, operators, sessions::OPERATOR_ID_KEY},
    errors::AppError,
    models::Role,
    server_fns::operations::{query_operations, to_csv, CSV_LIMIT},
};

use crate::startup::AppState;

#[derive(Debug, Default, Deserialize)]
pub struct Filters {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    state: String,
    /// Creation dates `YYYY-MM-DD` (UTC), both included.
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

pub async fn download(
    State(state): State<AppState>,
    session: Session,
    Path(store_id): Path<i64>,
    Query(filters): Query<Filters>,
) -> Response {
    match csv(&state, &session, store_id, &filters).await {
        Ok((name, body)) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{name}\""),
                ),
                (header::CACHE_CONTROL, "no-store".to_owned()),
            ],
            body,
        )
            .into_response(),
        Err(error) => {
            let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::BAD_REQUEST);
            (status, error.to_string()).into_response()
        }
    }
}

async fn csv(
    state: &AppState,
    session: &Session,
    store_id: i64,
    filters: &Filters,
) -> Result<(String, String), AppError> {
    let operator_id = session.get::<i64>(OPERATOR_ID_KEY).await.map_err(|error| {
        tracing::error!(%error, "session store failed");
        AppError::Internal
    })?;
    let operator = match operator_id {
        Some(id) => operators::find_by_id(&state.server, id)
            .await?
            .filter(|o| o.verified),
        None => None,
    }
    .ok_or(AppError::NotSignedIn)?;
    let store = require_member(&state.db, operator.id, store_id, Role::Staff).await?;
    let rows = query_operations(
        &state.db,
        store.id,
        &filters.kind,
        &filters.state,
        &filters.from,
        &filters.to,
        CSV_LIMIT,
    )
    .await?;
    Ok((format!("{}-operations.csv", store.slug), to_csv(&rows)))
}

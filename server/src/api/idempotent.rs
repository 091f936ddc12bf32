//! Runs an API write under its `Idempotency-Key` header, if any.

use app::domain::idempotency::{self, IdempotencyKey, Lookup, StoredResponse};
use axum::{
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use serde::Serialize;

use super::{auth::ApiKey, error::ApiError, ApiState};

pub const HEADER: &str = "idempotency-key";

/// The answer of a write: a status and a JSON body.
pub struct Written {
    pub status: StatusCode,
    pub body: String,
}

impl Written {
    pub fn new(status: StatusCode, body: &impl Serialize) -> Result<Self, ApiError> {
        Ok(Self {
            status,
            body: serde_json::to_string(body).map_err(ApiError::internal)?,
        })
    }
}

fn respond(status: StatusCode, body: String, replayed: bool) -> Response {
    let mut response = (status, [(header::CONTENT_TYPE, "application/json")], body).into_response();
    if replayed {
        response
            .headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    response
}

/// The key of a request, or a 422 when the header is present but unusable.
pub fn key_of(headers: &HeaderMap) -> Result<Option<IdempotencyKey>, ApiError> {
    let Some(value) = headers.get(HEADER) else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .and_then(IdempotencyKey::parse)
        .map(Some)
        .ok_or_else(|| {
            ApiError::field(
                "Idempotency-Key",
                "must be 1 to 255 visible ASCII characters",
            )
        })
}

/// Answers a replay from the record, refuses a reused key, or runs `work` and records its
/// successful answer. Failed attempts are not recorded: fixing the request and retrying
/// with the same key is allowed.
pub async fn run<F, Fut>(
    state: &ApiState,
    key: &ApiKey,
    headers: &HeaderMap,
    route: &str,
    body: &[u8],
    work: F,
) -> Result<Response, ApiError>
where
    F: FnOnce(Option<IdempotencyKey>) -> Fut,
    Fut: std::future::Future<Output = Result<Written, ApiError>>,
{
    let Some(idem) = key_of(headers)? else {
        let written = work(None).await?;
        return Ok(respond(written.status, written.body, false));
    };
    let hash = idempotency::request_hash("", route, body);
    match idempotency::lookup(&state.db, key.store_id, &idem, &hash).await? {
        Lookup::Replay(stored) => return Ok(replay(stored)),
        Lookup::Conflict => return Err(ApiError::IdempotencyKeyReused),
        Lookup::New => {}
    }
    let written = work(Some(idem.clone())).await?;
    if !written.status.is_success() {
        return Ok(respond(written.status, written.body, false));
    }
    let stored = StoredResponse {
        status: written.status.as_u16(),
        body: written.body,
    };
    match idempotency::remember(&state.db, key.store_id, &idem, &hash, &stored).await? {
        Lookup::New => Ok(respond(written.status, stored.body, false)),
        // A concurrent first attempt recorded its answer first: answer the same.
        Lookup::Replay(earlier) => Ok(replay(earlier)),
        Lookup::Conflict => Err(ApiError::IdempotencyKeyReused),
    }
}

fn replay(stored: StoredResponse) -> Response {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    respond(status, stored.body, true)
}

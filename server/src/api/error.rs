//! `ApiError`: every refusal of the REST API as `application/problem+json` (RFC 9457) with a
//! stable `code`. Internal failures are logged here and answered without detail.

use axum::{
    http::{header, StatusCode},
    response::{IntoResponse, Response},
};
use serde::Serialize;
use utoipa::ToSchema;

use app::domain::{api_keys::ApiKeyError, ledger::LedgerError, webhooks::endpoints::EndpointError};

/// One invalid field of a request body or query.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    /// The field, e.g. `amount`.
    #[schema(example = "amount")]
    pub field: String,
    #[schema(example = "must be a JSON integer (base units)")]
    pub message: String,
}

/// An error answer (`application/problem+json`).
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem.
    #[serde(rename = "type")]
    #[schema(example = "https://pointmint.dev/problems/insufficient_balance")]
    pub type_: String,
    #[schema(example = "Not enough points")]
    pub title: String,
    #[schema(example = 409)]
    pub status: u16,
    #[schema(example = "not enough points: 10 available, 25 requested")]
    pub detail: String,
    /// Stable machine-readable code.
    #[schema(example = "insufficient_balance")]
    pub code: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("a valid API key is required: send `Authorization: Bearer pm_live_...`")]
    Unauthorized,
    #[error("this API key lacks the {0} scope")]
    MissingScope(&'static str),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("the request has invalid fields")]
    Invalid(Vec<FieldError>),
    #[error("the body is not valid JSON: {0}")]
    MalformedJson(String),
    #[error("send the body as application/json")]
    UnsupportedMediaType,
    #[error("the body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    #[error("this Idempotency-Key was already used with a different request")]
    IdempotencyKeyReused,
    #[error("{detail}")]
    Conflict { code: &'static str, detail: String },
    /// The API key or a customer changed between its look-up and the write (the write
    /// endpoints retry once with fresh look-ups before answering this).
    #[error("the API key or the customer changed while the request ran; send it again")]
    Stale,
    #[error("the chain node refused: {0}")]
    ChainRejected(String),
    #[error("the chain node is unavailable; try again")]
    ChainUnavailable,
    #[error("something went wrong on our side; try again")]
    Internal,
}

impl ApiError {
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        ApiError::Invalid(vec![FieldError {
            field: field.to_owned(),
            message: message.into(),
        }])
    }

    /// Logs an unexpected failure and hides it from the client.
    pub fn internal(error: impl std::fmt::Display) -> Self {
        tracing::error!(%error, "API request failed");
        ApiError::Internal
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::MissingScope(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Invalid(_) | ApiError::IdempotencyKeyReused => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ApiError::MalformedJson(_) => StatusCode::BAD_REQUEST,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Conflict { .. } | ApiError::Stale => StatusCode::CONFLICT,
            ApiError::ChainRejected(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::ChainUnavailable => StatusCode::BAD_GATEWAY,
            ApiError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Unauthorized => "unauthorized",
            ApiError::MissingScope(_) => "insufficient_scope",
            ApiError::NotFound(_) => "not_found",
            ApiError::Invalid(_) => "invalid_request",
            ApiError::MalformedJson(_) => "malformed_json",
            ApiError::UnsupportedMediaType => "unsupported_media_type",
            ApiError::PayloadTooLarge(_) => "payload_too_large",
            ApiError::IdempotencyKeyReused => "idempotency_key_reused",
            ApiError::Conflict { code, .. } => code,
            ApiError::Stale => "concurrent_change",
            ApiError::ChainRejected(_) => "chain_rejected",
            ApiError::ChainUnavailable => "chain_unavailable",
            ApiError::Internal => "internal",
        }
    }

    pub fn problem(&self) -> Problem {
        let status = self.status();
        let code = self.code();
        Problem {
            type_: format!("https://pointmint.dev/problems/{code}"),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: self.to_string(),
            code: code.to_owned(),
            errors: match self {
                ApiError::Invalid(errors) => errors.clone(),
                _ => Vec::new(),
            },
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::to_string(&self.problem()).unwrap_or_default();
        let mut response = (
            self.status(),
            [(header::CONTENT_TYPE, "application/problem+json")],
            body,
        )
            .into_response();
        if matches!(self, ApiError::Unauthorized) {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}

impl From<LedgerError> for ApiError {
    fn from(error: LedgerError) -> Self {
        match error {
            LedgerError::InsufficientBalance { .. } | LedgerError::PointSystemNotReady => {
                ApiError::Conflict {
                    code: error.code(),
                    detail: error.to_string(),
                }
            }
            LedgerError::IdempotencyConflict => ApiError::IdempotencyKeyReused,
            LedgerError::Amount(e) => ApiError::field("amount", e.to_string()),
            LedgerError::ReasonRequired | LedgerError::ReasonTooLong => {
                ApiError::field("reason", error.to_string())
            }
            LedgerError::InvalidAddress(_) => ApiError::field("to_address", error.to_string()),
            LedgerError::InvalidAvatar(_) => ApiError::field("to_avatar", error.to_string()),
            LedgerError::NotFound(what) => ApiError::NotFound(what),
            LedgerError::Stale => ApiError::Stale,
            other => ApiError::internal(other),
        }
    }
}

impl From<EndpointError> for ApiError {
    fn from(error: EndpointError) -> Self {
        match error {
            EndpointError::Target(e) => ApiError::field("url", e.to_string()),
            EndpointError::UnknownEventType(_) => ApiError::field("event_types", error.to_string()),
            EndpointError::DescriptionTooLong => ApiError::field("description", error.to_string()),
            EndpointError::NotFound => ApiError::NotFound("webhook endpoint"),
            EndpointError::Disabled => ApiError::Conflict {
                code: "endpoint_disabled",
                detail: error.to_string(),
            },
            EndpointError::Database(e) => ApiError::internal(e),
        }
    }
}

impl From<ApiKeyError> for ApiError {
    fn from(error: ApiKeyError) -> Self {
        ApiError::internal(error)
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        ApiError::internal(error)
    }
}

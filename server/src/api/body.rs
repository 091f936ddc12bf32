//! Request bodies: read raw (so an Idempotency-Key can be compared byte for byte), then
//! parsed field by field into checked values, with every problem reported per field.

use app::domain::ledger::{amount::MAX_AMOUNT, Amount};
use axum::{
    body::Bytes,
    extract::{FromRequest, Request},
    http::header,
};
use serde_json::{Map, Value};

use super::error::{ApiError, FieldError};

/// Largest accepted body; bigger ones get 413 (the router's limit layer enforces it too).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// A JSON request body not yet interpreted.
#[derive(Clone)]
pub struct RawJson(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for RawJson {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.split(';')
                    .next()
                    .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
            });
        if !is_json {
            return Err(ApiError::UnsupportedMediaType);
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge(MAX_BODY_BYTES)
            } else {
                ApiError::MalformedJson(rejection.body_text())
            }
        })?;
        Ok(RawJson(bytes))
    }
}

impl RawJson {
    /// Parses the body as a JSON object and hands it to a field reader.
    pub fn fields(&self) -> Result<Fields, ApiError> {
        let value: Value =
            serde_json::from_slice(&self.0).map_err(|e| ApiError::MalformedJson(e.to_string()))?;
        match value {
            Value::Object(map) => Ok(Fields {
                map,
                errors: Vec::new(),
            }),
            _ => Err(ApiError::field("", "the body must be a JSON object")),
        }
    }
}

/// Reads fields of a JSON object, collecting every problem before answering.
pub struct Fields {
    map: Map<String, Value>,
    errors: Vec<FieldError>,
}

impl Fields {
    fn error(&mut self, field: &str, message: impl Into<String>) {
        self.errors.push(FieldError {
            field: field.to_owned(),
            message: message.into(),
        });
    }

    /// A required string of `min..=max` characters (trimmed).
    pub fn string(&mut self, field: &str, min: usize, max: usize) -> Option<String> {
        match self.map.get(field) {
            None | Some(Value::Null) => {
                self.error(field, "is required");
                None
            }
            Some(_) => self.opt_string(field, min, max),
        }
    }

    /// An optional string of `min..=max` characters (trimmed) when present.
    pub fn opt_string(&mut self, field: &str, min: usize, max: usize) -> Option<String> {
        match self.map.get(field) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => {
                let s = s.trim();
                let len = s.chars().count();
                if len < min || len > max {
                    self.error(field, format!("must be {min} to {max} characters long"));
                    None
                } else {
                    Some(s.to_owned())
                }
            }
            Some(_) => {
                self.error(field, "must be a string");
                None
            }
        }
    }

    /// An optional list of strings.
    pub fn opt_strings(&mut self, field: &str) -> Option<Vec<String>> {
        match self.map.get(field) {
            None | Some(Value::Null) => None,
            Some(Value::Array(items)) if items.iter().all(Value::is_string) => Some(
                items
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect(),
            ),
            Some(_) => {
                self.error(field, "must be a list of strings");
                None
            }
        }
    }

    /// A required amount: a JSON integer of base units, 1 ..= 2^53-1. Floats, strings and
    /// negative numbers are refused, so no client loses precision silently.
    pub fn amount(&mut self, field: &str) -> Option<Amount> {
        let message = match self.map.get(field) {
            None | Some(Value::Null) => "is required".to_owned(),
            Some(Value::Number(n)) => {
                if let Some(units) = n.as_u64() {
                    match Amount::new(units) {
                        Ok(amount) => return Some(amount),
                        Err(e) => e.to_string(),
                    }
                } else if n.as_i64().is_some() {
                    "the amount must be greater than zero".to_owned()
                } else if n.as_f64().is_some_and(|f| f > MAX_AMOUNT as f64) {
                    format!("the amount must be at most {MAX_AMOUNT}")
                } else {
                    "must be a whole number of base units, not a fraction".to_owned()
                }
            }
            Some(_) => "must be a JSON integer (base units), not a string or other type".to_owned(),
        };
        self.error(field, message);
        None
    }

    /// Reports a problem found while interpreting a field.
    pub fn reject(&mut self, field: &str, message: impl Into<String>) {
        self.error(field, message);
    }

    /// Refuses fields the endpoint does not know, then answers 422 if anything was wrong.
    pub fn finish(mut self, known: &[&str]) -> Result<(), ApiError> {
        let unknown: Vec<String> = self
            .map
            .keys()
            .filter(|k| !known.contains(&k.as_str()))
            .cloned()
            .collect();
        for field in unknown {
            self.error(&field, "unknown field");
        }
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Invalid(self.errors))
        }
    }
}

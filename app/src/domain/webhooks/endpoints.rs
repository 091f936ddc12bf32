//! A store's webhook endpoints: URL, event filter, sealed secret, enabled or not.

use sqlx::{any::AnyRow, Row};

use super::{
    target::{TargetError, WebhookUrl},
    SecretSealer, WebhookSecret,
};
use crate::domain::{clock, db::Database, events::EventType};

/// Which events an endpoint wants: some types, or all when empty.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventFilter(Vec<EventType>);

impl EventFilter {
    pub fn new(types: impl IntoIterator<Item = EventType>) -> Self {
        let mut list: Vec<EventType> = types.into_iter().collect();
        list.sort_by_key(|t| t.as_str());
        list.dedup();
        Self(list)
    }

    /// Parses space- or comma-separated event types; an unknown type is an error.
    pub fn parse(text: &str) -> Result<Self, EndpointError> {
        text.split([' ', ','])
            .filter(|s| !s.is_empty())
            .map(|s| {
                EventType::parse(s).ok_or_else(|| EndpointError::UnknownEventType(s.to_owned()))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Self::new)
    }

    pub fn matches(&self, event_type: &str) -> bool {
        self.0.is_empty() || self.0.iter().any(|t| t.as_str() == event_type)
    }

    pub fn types(&self) -> Vec<&'static str> {
        self.0.iter().map(|t| t.as_str()).collect()
    }

    fn to_column(&self) -> String {
        self.types().join(" ")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EndpointError {
    #[error(transparent)]
    Target(#[from] TargetError),
    #[error("unknown event type {0:?}")]
    UnknownEventType(String),
    #[error("the description is too long (at most 200 characters)")]
    DescriptionTooLong,
    #[error("webhook endpoint not found")]
    NotFound,
    #[error("the endpoint is disabled; enable it first")]
    Disabled,
    #[error("database error")]
    Database(#[from] sqlx::Error),
}

/// An endpoint as stored (the secret stays sealed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    pub id: i64,
    pub store_id: i64,
    pub url: String,
    pub description: String,
    pub filter: EventFilter,
    pub disabled_at: Option<i64>,
    pub disabled_reason: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Endpoint {
    pub fn enabled(&self) -> bool {
        self.disabled_at.is_none()
    }
}

pub(crate) const COLUMNS: &str =
    "id, store_id, url, description, event_types, disabled_at, disabled_reason, created_at, updated_at";

impl Endpoint {
    pub(crate) fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        let types: String = row.try_get("event_types")?;
        Ok(Self {
            id: row.try_get("id")?,
            store_id: row.try_get("store_id")?,
            url: row.try_get("url")?,
            description: row.try_get("description")?,
            filter: EventFilter::parse(&types)
                .map_err(|e| sqlx::Error::Decode(e.to_string().into()))?,
            disabled_at: row.try_get("disabled_at")?,
            disabled_reason: row.try_get("disabled_reason")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
        })
    }
}

/// What a new endpoint needs, checked.
#[derive(Clone, Debug)]
pub struct NewEndpoint {
    pub url: WebhookUrl,
    pub description: String,
    pub filter: EventFilter,
}

impl NewEndpoint {
    /// Checks the input, including where the URL resolves to.
    pub async fn parse(
        url: &str,
        description: &str,
        filter: EventFilter,
        allow_private: bool,
    ) -> Result<Self, EndpointError> {
        let description = description.trim();
        if description.chars().count() > 200 {
            return Err(EndpointError::DescriptionTooLong);
        }
        let url = WebhookUrl::parse(url)?;
        url.resolve(allow_private).await?;
        Ok(Self {
            url,
            description: description.to_owned(),
            filter,
        })
    }
}

/// Creates an endpoint with a fresh secret, returned once.
#[tracing::instrument(skip(db, sealer, new), fields(url = new.url.as_str()))]
pub async fn create(
    db: &Database,
    sealer: &SecretSealer,
    store_id: i64,
    new: &NewEndpoint,
) -> Result<(Endpoint, WebhookSecret), EndpointError> {
    let secret = WebhookSecret::generate();
    let now = clock::now();
    let row = sqlx::query(&format!(
        "INSERT INTO webhook_endpoints (store_id, url, description, event_types, sealed_secret, after_event_id, \
           created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, (SELECT COALESCE(MAX(id), 0) FROM events), $6, $6) RETURNING {COLUMNS}"
    ))
    .bind(store_id)
    .bind(new.url.as_str())
    .bind(&new.description)
    .bind(new.filter.to_column())
    .bind(sealer.seal(&secret))
    .bind(now)
    .fetch_one(db.pool())
    .await?;
    Ok((Endpoint::from_row(&row)?, secret))
}

/// The store's endpoints (deleted ones excluded), oldest first.
pub async fn list(db: &Database, store_id: i64) -> Result<Vec<Endpoint>, EndpointError> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM webhook_endpoints WHERE store_id = $1 AND deleted_at IS NULL ORDER BY id"
    ))
    .bind(store_id)
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .iter()
        .map(Endpoint::from_row)
        .collect::<Result<_, _>>()?)
}

/// One endpoint of the store; another store's endpoint is not found.
pub async fn fetch(db: &Database, store_id: i64, id: i64) -> Result<Endpoint, EndpointError> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM webhook_endpoints WHERE id = $1 AND store_id = $2 AND deleted_at IS NULL"
    ))
    .bind(id)
    .bind(store_id)
    .fetch_optional(db.pool())
    .await?
    .ok_or(EndpointError::NotFound)?;
    Ok(Endpoint::from_row(&row)?)
}

/// Enables or disables an endpoint (by hand). Disabling stops pending deliveries too.
#[tracing::instrument(skip(db))]
pub async fn set_enabled(
    db: &Database,
    store_id: i64,
    id: i64,
    enabled: bool,
) -> Result<Endpoint, EndpointError> {
    fetch(db, store_id, id).await?;
    if enabled {
        sqlx::query("UPDATE webhook_endpoints SET disabled_at = NULL, disabled_reason = NULL, updated_at = $1 WHERE id = $2")
            .bind(clock::now())
            .bind(id)
            .execute(db.pool())
            .await?;
    } else {
        disable(db, id, "disabled by an operator").await?;
    }
    fetch(db, store_id, id).await
}

/// Disables an endpoint and gives up its undelivered messages, in one transaction.
pub async fn disable(db: &Database, id: i64, reason: &str) -> Result<(), sqlx::Error> {
    let now = clock::now();
    let mut tx = db.begin_write().await?;
    sqlx::query(
        "UPDATE webhook_endpoints SET disabled_at = COALESCE(disabled_at, $1), disabled_reason = $2, updated_at = $1 WHERE id = $3",
    )
    .bind(now)
    .bind(reason)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "UPDATE webhook_deliveries SET status = 'dead', last_error = $1, updated_at = $2 \
         WHERE endpoint_id = $3 AND status IN ('pending', 'failed')",
    )
    .bind(format!("endpoint disabled: {reason}"))
    .bind(now)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

/// Deletes an endpoint (kept as a tombstone so its delivery log stays readable).
#[tracing::instrument(skip(db))]
pub async fn delete(db: &Database, store_id: i64, id: i64) -> Result<(), EndpointError> {
    fetch(db, store_id, id).await?;
    disable(db, id, "deleted").await?;
    sqlx::query("UPDATE webhook_endpoints SET deleted_at = $1 WHERE id = $2")
        .bind(clock::now())
        .bind(id)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// The sealed secret of an endpoint, for the sender.
pub async fn sealed_secret(db: &Database, id: i64) -> Result<Vec<u8>, sqlx::Error> {
    sqlx::query_scalar("SELECT sealed_secret FROM webhook_endpoints WHERE id = $1")
        .bind(id)
        .fetch_one(db.pool())
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_parse_strictly_and_empty_means_everything() {
        let filter = EventFilter::parse("operation.confirmed, operation.failed").unwrap();
        assert!(filter.matches("operation.confirmed"));
        assert!(!filter.matches("point_system.confirmed"));
        assert!(EventFilter::parse("").unwrap().matches("webhook.test"));
        assert!(matches!(
            EventFilter::parse("order.paid"),
            Err(EndpointError::UnknownEventType(_))
        ));
    }
}

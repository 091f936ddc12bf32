//! The delivery queue and log: one row per message to one endpoint, with its attempts.
//!
//! Senders claim due rows by pushing `next_attempt_at` a lease into the future inside a
//! write transaction (`FOR UPDATE SKIP LOCKED` on PostgreSQL, the single writer lock on
//! SQLite), so several processes never send one message at the same time, and a sender
//! that dies mid-attempt leaves the row to be tried again once the lease ends.

use sqlx::{any::AnyRow, AnyConnection, Row};

use super::{endpoints::EndpointError, payload};
use crate::domain::{clock, db::Database, events::EventType};

/// How much of a receiver's answer the log keeps.
pub const EXCERPT_BYTES: usize = 1024;

/// Where a delivery stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeliveryStatus {
    /// Not tried yet.
    Pending,
    /// The receiver answered 2xx.
    Succeeded,
    /// The last attempt failed; another is scheduled.
    Failed,
    /// Given up: retries exhausted, or the endpoint was disabled.
    Dead,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Succeeded => "succeeded",
            DeliveryStatus::Failed => "failed",
            DeliveryStatus::Dead => "dead",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            DeliveryStatus::Pending,
            DeliveryStatus::Succeeded,
            DeliveryStatus::Failed,
            DeliveryStatus::Dead,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    pub id: i64,
    pub endpoint_id: i64,
    pub store_id: i64,
    pub event_id: Option<i64>,
    pub msg_id: String,
    pub event_type: String,
    pub payload: String,
    pub status: DeliveryStatus,
    pub attempts: i64,
    /// Milliseconds since the epoch.
    pub next_attempt_at: i64,
    pub last_attempt_at: Option<i64>,
    pub last_status_code: Option<i64>,
    pub last_response: Option<String>,
    pub last_error: Option<String>,
    pub created_at: i64,
}

const COLUMNS: &str =
    "id, endpoint_id, store_id, event_id, msg_id, event_type, payload, status, attempts, \
     next_attempt_at, last_attempt_at, last_status_code, last_response, last_error, created_at";

impl Delivery {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        let status: String = row.try_get("status")?;
        Ok(Self {
            id: row.try_get("id")?,
            endpoint_id: row.try_get("endpoint_id")?,
            store_id: row.try_get("store_id")?,
            event_id: row.try_get("event_id")?,
            msg_id: row.try_get("msg_id")?,
            event_type: row.try_get("event_type")?,
            payload: row.try_get("payload")?,
            status: DeliveryStatus::parse(&status).ok_or_else(|| {
                sqlx::Error::Decode(format!("unknown delivery status {status:?}").into())
            })?,
            attempts: row.try_get("attempts")?,
            next_attempt_at: row.try_get("next_attempt_at")?,
            last_attempt_at: row.try_get("last_attempt_at")?,
            last_status_code: row.try_get("last_status_code")?,
            last_response: row.try_get("last_response")?,
            last_error: row.try_get("last_error")?,
            created_at: row.try_get("created_at")?,
        })
    }
}

/// Milliseconds since the epoch (retry times are kept this finely so tests run fast).
pub fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Queues a message for an endpoint inside the caller's transaction.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn enqueue_in(
    conn: &mut AnyConnection,
    endpoint_id: i64,
    store_id: i64,
    event_id: Option<i64>,
    msg_id: &str,
    event_type: &str,
    payload: &str,
) -> Result<Delivery, sqlx::Error> {
    let row = sqlx::query(&format!(
        "INSERT INTO webhook_deliveries (endpoint_id, store_id, event_id, msg_id, event_type, payload, status, \
           attempts, next_attempt_at, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 'pending', 0, $7, $8, $8) RETURNING {COLUMNS}"
    ))
    .bind(endpoint_id)
    .bind(store_id)
    .bind(event_id)
    .bind(msg_id)
    .bind(event_type)
    .bind(payload)
    .bind(now_millis())
    .bind(clock::now())
    .fetch_one(&mut *conn)
    .await?;
    Delivery::from_row(&row)
}

/// Queues a `webhook.test` message for one enabled endpoint of the store.
#[tracing::instrument(skip(db))]
pub async fn send_test(
    db: &Database,
    store_id: i64,
    endpoint_id: i64,
) -> Result<Delivery, EndpointError> {
    let endpoint = super::endpoints::fetch(db, store_id, endpoint_id).await?;
    if !endpoint.enabled() {
        return Err(EndpointError::Disabled);
    }
    let now = clock::now();
    let body = payload::body(
        EventType::WebhookTest.as_str(),
        now,
        &serde_json::json!({ "endpoint_id": endpoint.id, "message": "This is a test event from pointmint." }),
    );
    let mut conn = db.pool().acquire().await?;
    Ok(enqueue_in(
        &mut conn,
        endpoint.id,
        store_id,
        None,
        &payload::new_msg_id(),
        EventType::WebhookTest.as_str(),
        &body,
    )
    .await?)
}

/// Sends a logged message again, with the same `webhook-id` and body, as a new delivery.
#[tracing::instrument(skip(db))]
pub async fn redeliver(
    db: &Database,
    store_id: i64,
    endpoint_id: i64,
    delivery_id: i64,
) -> Result<Delivery, EndpointError> {
    let endpoint = super::endpoints::fetch(db, store_id, endpoint_id).await?;
    if !endpoint.enabled() {
        return Err(EndpointError::Disabled);
    }
    let original = fetch(db, store_id, endpoint_id, delivery_id).await?;
    let mut conn = db.pool().acquire().await?;
    Ok(enqueue_in(
        &mut conn,
        endpoint.id,
        store_id,
        original.event_id,
        &original.msg_id,
        &original.event_type,
        &original.payload,
    )
    .await?)
}

/// One delivery of one endpoint of the store.
pub async fn fetch(
    db: &Database,
    store_id: i64,
    endpoint_id: i64,
    id: i64,
) -> Result<Delivery, EndpointError> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM webhook_deliveries WHERE id = $1 AND endpoint_id = $2 AND store_id = $3"
    ))
    .bind(id)
    .bind(endpoint_id)
    .bind(store_id)
    .fetch_optional(db.pool())
    .await?
    .ok_or(EndpointError::NotFound)?;
    Ok(Delivery::from_row(&row)?)
}

/// The delivery log of an endpoint, newest first: at most `limit` rows with an id below
/// `before` (a cursor from the previous page).
pub async fn list(
    db: &Database,
    store_id: i64,
    endpoint_id: i64,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<Delivery>, EndpointError> {
    super::endpoints::fetch(db, store_id, endpoint_id).await?;
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM webhook_deliveries WHERE endpoint_id = $1 AND store_id = $2 AND id < $3 \
         ORDER BY id DESC LIMIT $4"
    ))
    .bind(endpoint_id)
    .bind(store_id)
    .bind(before.unwrap_or(i64::MAX))
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .iter()
        .map(Delivery::from_row)
        .collect::<Result<_, _>>()?)
}

/// A claimed delivery with where it goes.
#[derive(Clone, Debug)]
pub struct Claimed {
    pub delivery: Delivery,
    pub url: String,
}

/// Claims up to `limit` due deliveries of enabled endpoints for `lease_ms`.
#[tracing::instrument(skip(db))]
pub async fn claim_due(
    db: &Database,
    limit: i64,
    lease_ms: i64,
) -> Result<Vec<Claimed>, sqlx::Error> {
    let now = now_millis();
    // Looked up before any write transaction: most rounds find nothing due, and on SQLite
    // a write transaction is the one write lock that awards and the worker wait for.
    let due: Vec<(i64, String)> = sqlx::query_as(
        "SELECT d.id, e.url FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id \
         WHERE d.status IN ('pending', 'failed') AND d.next_attempt_at <= $1 AND e.disabled_at IS NULL \
         ORDER BY d.next_attempt_at LIMIT $2",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    if due.is_empty() {
        return Ok(Vec::new());
    }
    let mut tx = db.begin_write().await?;
    let mut claimed = Vec::with_capacity(due.len());
    for (id, url) in due {
        // Still due: another process may have claimed it since the look-up (on PostgreSQL
        // this waits for that process's claim to commit and then finds it no longer due).
        let row = sqlx::query(&format!(
            "UPDATE webhook_deliveries SET next_attempt_at = $1 \
             WHERE id = $2 AND status IN ('pending', 'failed') AND next_attempt_at <= $3 \
             RETURNING {COLUMNS}"
        ))
        .bind(now + lease_ms)
        .bind(id)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(row) = row {
            claimed.push(Claimed {
                delivery: Delivery::from_row(&row)?,
                url,
            });
        }
    }
    tx.commit().await?;
    Ok(claimed)
}

/// What one attempt came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attempt {
    pub status_code: Option<u16>,
    /// The first [`EXCERPT_BYTES`] of the answer's body.
    pub excerpt: Option<String>,
    /// Why there was no usable answer (connection refused, timeout, refused target).
    pub error: Option<String>,
}

/// What to do after an attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    Succeeded,
    RetryAt { millis: i64 },
    GiveUp,
}

/// Records an attempt of a claimed delivery.
#[tracing::instrument(skip(db, attempt))]
pub async fn record(
    db: &Database,
    delivery_id: i64,
    attempt: &Attempt,
    next: Next,
) -> Result<(), sqlx::Error> {
    let (status, next_at) = match next {
        Next::Succeeded => (DeliveryStatus::Succeeded, 0),
        Next::RetryAt { millis } => (DeliveryStatus::Failed, millis),
        Next::GiveUp => (DeliveryStatus::Dead, 0),
    };
    // Guarded by the open states: a delivery killed meanwhile (endpoint disabled) stays dead.
    sqlx::query(
        "UPDATE webhook_deliveries SET status = $1, attempts = attempts + 1, next_attempt_at = $2, \
           last_attempt_at = $3, last_status_code = $4, last_response = $5, last_error = $6, updated_at = $3 \
         WHERE id = $7 AND status IN ('pending', 'failed')",
    )
    .bind(status.as_str())
    .bind(next_at)
    .bind(clock::now())
    .bind(attempt.status_code.map(i64::from))
    .bind(&attempt.excerpt)
    .bind(&attempt.error)
    .bind(delivery_id)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Cuts a response body to the logged excerpt on a character boundary.
pub fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(EXCERPT_BYTES)]).into_owned();
    text.trim_end_matches('\u{FFFD}').to_owned()
}

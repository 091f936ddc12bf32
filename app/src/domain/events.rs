//! The event log: what happened to operations and point systems, per store.
//!
//! Events are written in the same transaction as the change they describe, so a consumer
//! (webhook fan-out, live pages) reading by increasing `id` never misses one and never sees
//! one for a change that was rolled back.

use serde::Serialize;
use sqlx::{AnyConnection, Row};

use crate::domain::{clock, db::Database};

/// Event types of the public webhook contract (DESIGN.md, "Webhooks").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventType {
    OperationBroadcast,
    OperationConfirmed,
    OperationFailed,
    PointSystemConfirmed,
    WebhookTest,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::OperationBroadcast => "operation.broadcast",
            EventType::OperationConfirmed => "operation.confirmed",
            EventType::OperationFailed => "operation.failed",
            EventType::PointSystemConfirmed => "point_system.confirmed",
            EventType::WebhookTest => "webhook.test",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            EventType::OperationBroadcast,
            EventType::OperationConfirmed,
            EventType::OperationFailed,
            EventType::PointSystemConfirmed,
            EventType::WebhookTest,
        ]
        .into_iter()
        .find(|t| t.as_str() == text)
    }
}

/// A stored event.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub id: i64,
    pub store_id: i64,
    pub event_type: String,
    pub data: serde_json::Value,
    pub created_at: i64,
}

/// Appends an event inside the caller's transaction.
pub async fn emit(
    conn: &mut AnyConnection,
    store_id: i64,
    event_type: EventType,
    data: &impl Serialize,
) -> Result<(), sqlx::Error> {
    let data = serde_json::to_string(data).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    sqlx::query(
        "INSERT INTO events (store_id, event_type, data, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(store_id)
    .bind(event_type.as_str())
    .bind(data)
    .bind(clock::now())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Events with an id above `after`, oldest first, at most `limit`.
pub async fn after(db: &Database, after: i64, limit: i64) -> Result<Vec<Event>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, store_id, event_type, data, created_at FROM events WHERE id > $1 ORDER BY id LIMIT $2",
    )
    .bind(after)
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|row| {
            let data: String = row.try_get(3)?;
            Ok(Event {
                id: row.try_get(0)?,
                store_id: row.try_get(1)?,
                event_type: row.try_get(2)?,
                data: serde_json::from_str(&data).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
                created_at: row.try_get(4)?,
            })
        })
        .collect()
}

//! From the event log to the delivery queue: every new event becomes one delivery per
//! enabled endpoint of its store whose filter matches.
//!
//! The cursor (`webhook_fanout.last_event_id`) moves in the same transaction that inserts
//! the deliveries, so an event is fanned out exactly once even with several processes.

use sqlx::Row;

use super::{deliveries, endpoints, payload};
use crate::domain::db::{Database, Dialect};

/// Fans out up to `batch` events; returns how many events were read.
#[tracing::instrument(skip(db))]
pub async fn run_once(db: &Database, batch: i64) -> Result<usize, sqlx::Error> {
    let lock = match db.dialect() {
        Dialect::Postgres => " FOR UPDATE",
        Dialect::Sqlite => "",
    };
    let mut tx = db.begin_write().await?;
    let cursor: i64 = sqlx::query_scalar(&format!(
        "SELECT last_event_id FROM webhook_fanout WHERE id = 1{lock}"
    ))
    .fetch_one(&mut *tx)
    .await?;
    let events = sqlx::query(
        "SELECT id, store_id, event_type, data, created_at FROM events WHERE id > $1 ORDER BY id LIMIT $2",
    )
    .bind(cursor)
    .bind(batch)
    .fetch_all(&mut *tx)
    .await?;
    let Some(last) = events.last() else {
        tx.rollback().await?;
        return Ok(0);
    };
    let last_id: i64 = last.try_get(0)?;
    for event in &events {
        let (event_id, store_id): (i64, i64) = (event.try_get(0)?, event.try_get(1)?);
        let (event_type, data): (String, String) = (event.try_get(2)?, event.try_get(3)?);
        let created_at: i64 = event.try_get(4)?;
        let data: serde_json::Value =
            serde_json::from_str(&data).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
        let body = payload::body(&event_type, created_at, &data);
        let rows = sqlx::query(&format!(
            "SELECT {} FROM webhook_endpoints WHERE store_id = $1 AND disabled_at IS NULL AND deleted_at IS NULL \
             AND after_event_id < $2",
            endpoints::COLUMNS
        ))
        .bind(store_id)
        .bind(event_id)
        .fetch_all(&mut *tx)
        .await?;
        for row in rows {
            let endpoint = endpoints::Endpoint::from_row(&row)?;
            if endpoint.filter.matches(&event_type) {
                let msg_id = payload::new_msg_id();
                deliveries::enqueue_in(
                    &mut tx,
                    endpoint.id,
                    store_id,
                    Some(event_id),
                    &msg_id,
                    &event_type,
                    &body,
                )
                .await?;
            }
        }
    }
    sqlx::query("UPDATE webhook_fanout SET last_event_id = $1 WHERE id = 1")
        .bind(last_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(events.len())
}

//! From the event log to the delivery queue: every new event becomes one delivery per
//! enabled endpoint of its store whose filter matches.
//!
//! The cursor (`webhook_fanout.last_event_id`) moves in the same transaction that inserts
//! the deliveries, so an event is fanned out exactly once even with several processes.

use std::collections::{hash_map::Entry, HashMap};

use sqlx::{AnyConnection, Row};

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
    // Endpoints once per store of the batch, not once per event: this runs inside a write
    // transaction, and a chain transaction's confirmation writes hundreds of events at once.
    let mut endpoints_of: HashMap<i64, Vec<(endpoints::Endpoint, i64)>> = HashMap::new();
    for event in &events {
        let store_id: i64 = event.try_get(1)?;
        if let Entry::Vacant(slot) = endpoints_of.entry(store_id) {
            slot.insert(enabled_endpoints(&mut tx, store_id).await?);
        }
    }
    for event in &events {
        let (event_id, store_id): (i64, i64) = (event.try_get(0)?, event.try_get(1)?);
        let event_type: String = event.try_get(2)?;
        // Collected before the awaits below: a lazy iterator held across them makes the
        // future not `Send`.
        let targets: Vec<i64> = endpoints_of[&store_id]
            .iter()
            // An endpoint receives the events written after it was made.
            .filter(|(endpoint, after)| *after < event_id && endpoint.filter.matches(&event_type))
            .map(|(endpoint, _)| endpoint.id)
            .collect();
        if targets.is_empty() {
            continue;
        }
        let (data, created_at): (String, i64) = (event.try_get(3)?, event.try_get(4)?);
        let data: serde_json::Value =
            serde_json::from_str(&data).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
        let body = payload::body(&event_type, created_at, &data);
        for endpoint_id in targets {
            let msg_id = payload::new_msg_id();
            deliveries::enqueue_in(
                &mut tx,
                endpoint_id,
                store_id,
                Some(event_id),
                &msg_id,
                &event_type,
                &body,
            )
            .await?;
        }
    }
    sqlx::query("UPDATE webhook_fanout SET last_event_id = $1 WHERE id = 1")
        .bind(last_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(events.len())
}

/// A store's enabled endpoints, each with the last event id before it was made.
async fn enabled_endpoints(
    conn: &mut AnyConnection,
    store_id: i64,
) -> Result<Vec<(endpoints::Endpoint, i64)>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT {}, after_event_id FROM webhook_endpoints \
         WHERE store_id = $1 AND disabled_at IS NULL AND deleted_at IS NULL",
        endpoints::COLUMNS
    ))
    .bind(store_id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| {
            Ok((
                endpoints::Endpoint::from_row(row)?,
                row.try_get("after_event_id")?,
            ))
        })
        .collect()
}

//! From the event log to the delivery queue: every new event becomes one delivery per
//! enabled endpoint of its store whose filter matches.
//!
//! The cursor (`webhook_fanout`) moves in the same transaction that inserts the
//! deliveries, and only from where the round found it, so an event is fanned out exactly
//! once even with several processes. The round reads the log and the endpoints before it
//! takes a write transaction: on SQLite that transaction is the one write lock, which
//! every award and the worker wait for, and while the worker settles there are hundreds
//! of new events a second to read, most of them for stores without endpoints.
//!
//! On PostgreSQL the log is read in the order events become final, (writing transaction,
//! id), and only below the oldest transaction still running: ids are handed out at insert
//! and two writers can commit them out of order, so an id cursor would skip an event
//! whose transaction commits after a later one's (see the migration
//! `20261208000001_events_commit_order`). On SQLite writers take turns: ids commit in order.
//! The oldest running transaction is the whole PostgreSQL server's, so a long writing
//! transaction in any of its databases holds webhooks back (never loses them) until it
//! ends.

use std::collections::{hash_map::Entry, HashMap};

use sqlx::{AnyConnection, Row};

use super::{deliveries, endpoints, payload};
use crate::domain::db::{Database, Dialect};

/// How far the fan-out has read: the last event fanned out and, on PostgreSQL, its
/// writing transaction (0 on SQLite).
#[derive(Clone, Copy, Debug)]
struct Cursor {
    xact_id: i64,
    event_id: i64,
}

// xid8 is not a type the Any driver reads or binds: it travels as text cast to BIGINT
// (transaction ids stay far below 2^63).
const PG_CURSOR: &str = "SELECT CAST(CAST(last_xact_id AS TEXT) AS BIGINT), last_event_id \
     FROM webhook_fanout WHERE id = 1";
const PG_EVENTS: &str = "SELECT id, store_id, event_type, data, created_at, \
       CAST(CAST(xact_id AS TEXT) AS BIGINT) \
     FROM events \
     WHERE (xact_id, id) > (CAST(CAST($1 AS TEXT) AS xid8), $2) \
       AND xact_id < pg_snapshot_xmin(pg_current_snapshot()) \
     ORDER BY xact_id, id LIMIT $3";
const PG_MOVE: &str = "UPDATE webhook_fanout \
     SET last_xact_id = CAST(CAST($1 AS TEXT) AS xid8), last_event_id = $2 \
     WHERE id = 1 AND last_xact_id = CAST(CAST($3 AS TEXT) AS xid8) AND last_event_id = $4";
const SQLITE_CURSOR: &str = "SELECT 0, last_event_id FROM webhook_fanout WHERE id = 1";
const SQLITE_EVENTS: &str = "SELECT id, store_id, event_type, data, created_at, 0 \
     FROM events WHERE id > $1 ORDER BY id LIMIT $2";
const SQLITE_MOVE: &str =
    "UPDATE webhook_fanout SET last_event_id = $1 WHERE id = 1 AND last_event_id = $2";

/// Fans out up to `batch` events; returns how many events were read (0 when another
/// process fanned them out first).
#[tracing::instrument(skip(db))]
pub async fn run_once(db: &Database, batch: i64) -> Result<usize, sqlx::Error> {
    let postgres = db.dialect() == Dialect::Postgres;
    let mut conn = db.pool().acquire().await?;
    let read_cursor = if postgres { PG_CURSOR } else { SQLITE_CURSOR };
    let (xact_id, event_id): (i64, i64) = sqlx::query_as(read_cursor).fetch_one(&mut *conn).await?;
    let cursor = Cursor { xact_id, event_id };
    let read_events = if postgres {
        sqlx::query(PG_EVENTS).bind(cursor.xact_id)
    } else {
        sqlx::query(SQLITE_EVENTS)
    };
    let events = read_events
        .bind(cursor.event_id)
        .bind(batch)
        .fetch_all(&mut *conn)
        .await?;
    let Some(last) = events.last() else {
        return Ok(0);
    };
    let reached = Cursor {
        xact_id: last.try_get(5)?,
        event_id: last.try_get(0)?,
    };
    // Endpoints once per store of the batch, not once per event: a chain transaction's
    // confirmation writes hundreds of events at once.
    let mut endpoints_of: HashMap<i64, Vec<(endpoints::Endpoint, i64)>> = HashMap::new();
    for event in &events {
        let store_id: i64 = event.try_get(1)?;
        if let Entry::Vacant(slot) = endpoints_of.entry(store_id) {
            slot.insert(enabled_endpoints(&mut conn, store_id).await?);
        }
    }
    // Per event that has endpoints to go to: what the write below enqueues for each.
    let mut fanned = Vec::new();
    for event in &events {
        let (event_id, store_id): (i64, i64) = (event.try_get(0)?, event.try_get(1)?);
        let event_type: String = event.try_get(2)?;
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
        fanned.push((event_id, store_id, event_type, body, targets));
    }
    drop(conn);

    let mut tx = db.begin_write().await?;
    let move_cursor = if postgres {
        sqlx::query(PG_MOVE)
            .bind(reached.xact_id)
            .bind(reached.event_id)
            .bind(cursor.xact_id)
            .bind(cursor.event_id)
    } else {
        sqlx::query(SQLITE_MOVE)
            .bind(reached.event_id)
            .bind(cursor.event_id)
    };
    if move_cursor.execute(&mut *tx).await?.rows_affected() == 0 {
        // Another process moved the cursor since the read: these events are its.
        tx.rollback().await?;
        return Ok(0);
    }
    for (event_id, store_id, event_type, body, targets) in fanned {
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

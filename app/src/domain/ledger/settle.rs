//! Moving operations to their final state and the balances with them.
//!
//! Each transition is guarded by the state it leaves (`UPDATE ... WHERE state IN (...)`),
//! so a confirmation seen twice, or by two workers, is applied once.

use std::collections::{BTreeSet, HashMap, HashSet};

use sqlx::AnyConnection;

use super::{balances, operation::COLUMNS, LedgerError, Operation, OperationState};
use crate::domain::{
    clock,
    db::{bound_sql::BoundSql, Database},
    events::EventType,
};

/// Records an event about `op` for its store: the operation plus the store's own ids of
/// the customers on either side, which is what a shop's back end matches on.
pub async fn emit_operation_event(
    conn: &mut AnyConnection,
    op: &Operation,
    event_type: EventType,
) -> Result<(), sqlx::Error> {
    emit_operation_events(conn, std::slice::from_ref(op), event_type).await
}

/// Events per multi-row INSERT: well under the bind-parameter limits (SQLite 32766,
/// PostgreSQL 65535) at four parameters a row.
const ROWS_PER_STATEMENT: usize = 2000;

/// [`emit_operation_event`] for many operations with a constant number of statements
/// (per [`ROWS_PER_STATEMENT`] operations): a chain transaction carries up to hundreds,
/// and a statement per operation held the write lock for as many round trips. Events are
/// written in operation id order, so their ids increase with the operations' as before.
pub async fn emit_operation_events(
    conn: &mut AnyConnection,
    ops: &[Operation],
    event_type: EventType,
) -> Result<(), sqlx::Error> {
    if ops.is_empty() {
        return Ok(());
    }
    let mut ops: Vec<&Operation> = ops.iter().collect();
    ops.sort_by_key(|op| op.id);
    let point_systems: BTreeSet<i64> = ops.iter().map(|op| op.point_system_id).collect();
    let stores: HashMap<i64, i64> = sqlx::query_as::<_, (i64, i64)>(&format!(
        "SELECT id, store_id FROM point_systems WHERE id IN ({})",
        id_list(point_systems.iter().copied())
    ))
    .persistent(false)
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .collect();
    let store_of = |op: &Operation| {
        stores
            .get(&op.point_system_id)
            .copied()
            .ok_or(sqlx::Error::RowNotFound)
    };
    let keys: BTreeSet<i64> = ops
        .iter()
        .flat_map(|op| [op.from_key_id, op.to_key_id])
        .flatten()
        .collect();
    let mut external_ids: HashMap<(i64, i64), String> = HashMap::new();
    if !keys.is_empty() {
        let store_ids: BTreeSet<i64> = stores.values().copied().collect();
        let rows: Vec<(i64, i64, String)> = sqlx::query_as(&format!(
            "SELECT sc.store_id, c.key_id, sc.external_id \
             FROM store_customers sc JOIN customers c ON c.id = sc.customer_id \
             WHERE sc.store_id IN ({}) AND c.key_id IN ({})",
            id_list(store_ids.iter().copied()),
            id_list(keys.iter().copied())
        ))
        .persistent(false)
        .fetch_all(&mut *conn)
        .await?;
        for (store_id, key_id, external_id) in rows {
            external_ids
                .entry((store_id, key_id))
                .or_insert(external_id);
        }
    }
    let now = clock::now();
    for chunk in ops.chunks(ROWS_PER_STATEMENT) {
        let mut sql = BoundSql::for_connection(conn);
        let mut values = Vec::with_capacity(chunk.len());
        for op in chunk {
            let store_id = store_of(op)?;
            let customer = |key_id: Option<i64>| {
                key_id.and_then(|key_id| external_ids.get(&(store_id, key_id)).map(String::as_str))
            };
            let data = serde_json::to_string(&OperationEventData {
                from_customer: customer(op.from_key_id),
                operation: op,
                to_customer: customer(op.to_key_id),
            })
            .map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
            values.push(format!(
                "({}, {}, {}, {})",
                sql.bind(store_id),
                sql.bind(event_type.as_str()),
                sql.bind(data),
                sql.bind(now)
            ));
        }
        sql.push(&format!(
            "INSERT INTO events (store_id, event_type, data, created_at) VALUES {}",
            values.join(", ")
        ));
        // The text changes with the number of rows: not worth a prepared-statement cache slot.
        sql.query().persistent(false).execute(&mut *conn).await?;
    }
    Ok(())
}

/// The `data` of an operation event: the operation plus the store's own ids of the
/// customers on either side. Serialized straight from the operation (building a
/// `serde_json::Value` first was a visible share of the settlement profile).
#[derive(serde::Serialize)]
struct OperationEventData<'a> {
    from_customer: Option<&'a str>,
    operation: &'a Operation,
    to_customer: Option<&'a str>,
}

/// Ids as SQL text for `IN (...)`: integers from the database, so nothing to escape, and
/// no bind parameter per id (no limit to chunk for).
fn id_list(ids: impl IntoIterator<Item = i64>) -> String {
    ids.into_iter()
        .map(|id| id.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

const OPEN_STATES: &str = "('queued', 'signed', 'broadcast')";

/// The chain confirmed the operation: points arrive and leave for good.
#[tracing::instrument(skip(db))]
pub async fn confirm(
    db: &Database,
    operation_id: i64,
    txid: &str,
    height: i64,
) -> Result<Operation, LedgerError> {
    db.write(async |tx| confirm_in(tx, operation_id, txid, height).await)
        .await
}

/// [`confirm`] inside the caller's transaction.
pub async fn confirm_in(
    tx: &mut AnyConnection,
    operation_id: i64,
    txid: &str,
    height: i64,
) -> Result<Operation, LedgerError> {
    let mut confirmed = confirm_many_in(tx, &[operation_id], txid, height).await?;
    Ok(confirmed.pop().expect("one operation confirmed"))
}

/// [`confirm_in`] for every operation of a chain transaction at once, with a constant
/// number of statements whatever their number (a batched transaction carries hundreds,
/// and a few statements per operation held the write lock, all of SQLite or the
/// treasury's balance row on PostgreSQL, for thousands of round trips). All or nothing:
/// an operation that is not open fails the call. Returns the operations in id order.
pub async fn confirm_many_in(
    tx: &mut AnyConnection,
    operation_ids: &[i64],
    txid: &str,
    height: i64,
) -> Result<Vec<Operation>, LedgerError> {
    let Some(&first) = operation_ids.iter().min() else {
        return Ok(Vec::new());
    };
    let ids = id_list(operation_ids.iter().copied());
    // Points already credited once (confirmed, then taken out by a reorganisation) are
    // spendable already: confirming again must not credit them twice.
    let credited_before: HashSet<i64> = sqlx::query_scalar::<_, i64>(&format!(
        "SELECT id FROM operations WHERE id IN ({ids}) AND credited_at IS NOT NULL"
    ))
    .persistent(false)
    .fetch_all(&mut *tx)
    .await?
    .into_iter()
    .collect();
    let rows = sqlx::query(&format!(
        "UPDATE operations SET state = $1, txid = $2, height = $3, error = NULL, updated_at = $4, \
           credited_at = COALESCE(credited_at, $4) \
         WHERE id IN ({ids}) AND state IN {OPEN_STATES} RETURNING {COLUMNS}"
    ))
    .persistent(false)
    .bind(OperationState::Confirmed.as_str())
    .bind(txid)
    .bind(height)
    .bind(clock::now())
    .fetch_all(&mut *tx)
    .await?;
    let mut ops = rows
        .iter()
        .map(Operation::from_row)
        .collect::<Result<Vec<_>, _>>()?;
    ops.sort_by_key(|op| op.id);
    let wanted: BTreeSet<i64> = operation_ids.iter().copied().collect();
    if ops.len() != wanted.len() {
        let done: HashSet<i64> = ops.iter().map(|op| op.id).collect();
        let missing = wanted
            .into_iter()
            .find(|id| !done.contains(id))
            .unwrap_or(first);
        return Err(LedgerError::InvalidTransition(
            missing,
            "current state",
            "confirmed",
        ));
    }
    // The events first: the balance rows below stay locked until the caller commits
    // (on PostgreSQL a treasury's row, which every award of the store must update), and
    // writing hundreds of events is the longest step here.
    emit_operation_events(tx, &ops, EventType::OperationConfirmed).await?;
    // Senders' rows change before recipients', as they did operation by operation and as
    // a submission locks them (PostgreSQL): the same lock order cannot deadlock.
    let mut senders = balances::Deltas::default();
    let mut recipients = balances::Deltas::default();
    for op in &ops {
        let amount = op.amount as i64;
        if let Some(from) = op.from_key_id {
            senders.add(from, op.point_system_id, 0, 0, -amount);
        }
        if let Some(to) = op.to_key_id {
            let pending = if op.from_key_id.is_some() { -amount } else { 0 };
            let available = if credited_before.contains(&op.id) {
                0
            } else {
                amount
            };
            recipients.add(to, op.point_system_id, available, pending, amount);
        }
    }
    senders.apply(tx).await?;
    recipients.apply(tx).await?;
    for op in &ops {
        if op.kind == super::OperationKind::SecondaryIssue && !credited_before.contains(&op.id) {
            super::secondary_issue::grow_supply(tx, op).await?;
        }
    }
    Ok(ops)
}

/// A reorganisation took the operation's transaction out of the chain: it is in flight
/// again. Confirmed points move back to pending on both sides. `available` stays as it is:
/// the recipient may already have spent the points in a transaction that was reorganised
/// with it and will confirm with it again.
pub async fn unconfirm_in(
    tx: &mut AnyConnection,
    operation_id: i64,
) -> Result<Operation, LedgerError> {
    let row = sqlx::query(&format!(
        "UPDATE operations SET state = $1, height = NULL, updated_at = $2 \
         WHERE id = $3 AND state = 'confirmed' RETURNING {COLUMNS}"
    ))
    .bind(OperationState::Broadcast.as_str())
    .bind(clock::now())
    .bind(operation_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else {
        return Err(LedgerError::InvalidTransition(
            operation_id,
            "current state",
            "broadcast",
        ));
    };
    let op = Operation::from_row(&row)?;
    let amount = op.amount as i64;
    if let Some(from) = op.from_key_id {
        balances::add(tx, from, op.point_system_id, 0, 0, amount).await?;
    }
    if let Some(to) = op.to_key_id {
        let pending = if op.from_key_id.is_some() { amount } else { 0 };
        balances::add(tx, to, op.point_system_id, 0, pending, -amount).await?;
    }
    Ok(op)
}

/// The operation cannot happen: reserved points return to the sender.
#[tracing::instrument(skip(db))]
pub async fn fail(
    db: &Database,
    operation_id: i64,
    reason: &str,
) -> Result<Operation, LedgerError> {
    db.write(async |tx| fail_in(tx, operation_id, reason).await)
        .await
}

/// [`fail`] inside the caller's transaction.
///
/// An operation credited once (it confirmed, a reorganisation took its transaction out
/// and the node then refused it) also takes its credit back: the recipient loses the
/// points it was given, as much of them as is still `available` (never more, so no
/// balance goes negative), and a secondary issue's supply shrinks again. What the
/// recipient already spent cannot be taken back: the error records the shortfall and it
/// is logged for an operator, as for a vanished deposit.
pub async fn fail_in(
    tx: &mut AnyConnection,
    operation_id: i64,
    reason: &str,
) -> Result<Operation, LedgerError> {
    let credited: Option<i64> =
        sqlx::query_scalar("SELECT credited_at FROM operations WHERE id = $1")
            .bind(operation_id)
            .fetch_optional(&mut *tx)
            .await?
            .flatten();
    // The credit no longer stands: `credited_at` goes, so the supply arithmetic of
    // point_systems (confirmed secondary issues) no longer counts it.
    let row = sqlx::query(&format!(
        "UPDATE operations SET state = $1, error = $2, updated_at = $3, credited_at = NULL \
         WHERE id = $4 AND state IN {OPEN_STATES} RETURNING {COLUMNS}"
    ))
    .bind(OperationState::Failed.as_str())
    .bind(reason)
    .bind(clock::now())
    .bind(operation_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else {
        return Err(LedgerError::InvalidTransition(
            operation_id,
            "current state",
            "failed",
        ));
    };
    let op = Operation::from_row(&row)?;
    let amount = op.amount as i64;
    if let Some(from) = op.from_key_id {
        balances::add(tx, from, op.point_system_id, amount, 0, 0).await?;
    }
    if credited.is_some() {
        let op = take_back_credit(tx, op, reason).await?;
        emit_operation_event(tx, &op, EventType::OperationFailed).await?;
        return Ok(op);
    }
    if let (Some(to), Some(_)) = (op.to_key_id, op.from_key_id) {
        balances::add(tx, to, op.point_system_id, 0, -amount, 0).await?;
    }
    emit_operation_event(tx, &op, EventType::OperationFailed).await?;
    Ok(op)
}

/// Undoes the credit of a failed operation that had confirmed once (see [`fail_in`]).
/// Its confirmed part already left with [`unconfirm_in`]; here the points leave
/// `pending_in` (transfers only, as in [`unconfirm_in`]) and `available`.
async fn take_back_credit(
    tx: &mut AnyConnection,
    op: Operation,
    reason: &str,
) -> Result<Operation, LedgerError> {
    let amount = op.amount as i64;
    if op.kind == super::OperationKind::SecondaryIssue {
        sqlx::query(
            "UPDATE point_systems SET max_supply = max_supply - $1 WHERE id = $2 AND max_supply >= $1",
        )
        .bind(amount)
        .bind(op.point_system_id)
        .execute(&mut *tx)
        .await?;
    }
    let Some(to) = op.to_key_id else {
        return Ok(op);
    };
    let available: i64 = sqlx::query_scalar(
        "SELECT COALESCE(MAX(available), 0) FROM balances WHERE key_id = $1 AND point_system_id = $2",
    )
    .bind(to)
    .bind(op.point_system_id)
    .fetch_one(&mut *tx)
    .await?;
    let taken = available.clamp(0, amount);
    let pending = if op.from_key_id.is_some() { -amount } else { 0 };
    if taken > 0 || pending != 0 {
        balances::add(tx, to, op.point_system_id, -taken, pending, 0).await?;
    }
    let spent = amount - taken;
    if spent == 0 {
        return Ok(op);
    }
    tracing::error!(
        operation = op.id,
        spent,
        "a failed operation's points had been credited and partly spent: the recipient's balance exceeds the chain"
    );
    let row = sqlx::query(&format!(
        "UPDATE operations SET error = $1 WHERE id = $2 RETURNING {COLUMNS}"
    ))
    .bind(format!(
        "{reason}; {spent} of its points had already been spent by the recipient and could not be taken back"
    ))
    .bind(op.id)
    .fetch_one(&mut *tx)
    .await?;
    Ok(Operation::from_row(&row)?)
}

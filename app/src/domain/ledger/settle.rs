//! Moving operations to their final state and the balances with them.
//!
//! Each transition is guarded by the state it leaves (`UPDATE ... WHERE state IN (...)`),
//! so a confirmation seen twice, or by two workers, is applied once.

use serde_json::json;
use sqlx::AnyConnection;

use super::{balances, operation::COLUMNS, LedgerError, Operation, OperationState};
use crate::domain::{
    clock,
    db::Database,
    events::{self, EventType},
};

/// Records an event about `op` for its store: the operation plus the store's own ids of
/// the customers on either side, which is what a shop's back end matches on.
pub async fn emit_operation_event(
    conn: &mut AnyConnection,
    op: &Operation,
    event_type: EventType,
) -> Result<(), sqlx::Error> {
    let store_id: i64 = sqlx::query_scalar("SELECT store_id FROM point_systems WHERE id = $1")
        .bind(op.point_system_id)
        .fetch_one(&mut *conn)
        .await?;
    let external_id = |key_id: Option<i64>| {
        sqlx::query_scalar::<_, String>(
            "SELECT sc.external_id FROM store_customers sc JOIN customers c ON c.id = sc.customer_id \
             WHERE sc.store_id = $1 AND c.key_id = $2",
        )
        .bind(store_id)
        .bind(key_id)
    };
    let from_customer = external_id(op.from_key_id)
        .fetch_optional(&mut *conn)
        .await?;
    let to_customer = external_id(op.to_key_id).fetch_optional(&mut *conn).await?;
    let data =
        json!({ "operation": op, "from_customer": from_customer, "to_customer": to_customer });
    events::emit(conn, store_id, event_type, &data).await
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

/// [`confirm`] inside the caller's transaction (the worker confirms a whole chain
/// transaction's operations at once).
pub async fn confirm_in(
    tx: &mut AnyConnection,
    operation_id: i64,
    txid: &str,
    height: i64,
) -> Result<Operation, LedgerError> {
    // Points already credited once (confirmed, then taken out by a reorganisation) are
    // spendable already: confirming again must not credit them twice.
    let credited_before: Option<i64> =
        sqlx::query_scalar("SELECT credited_at FROM operations WHERE id = $1")
            .bind(operation_id)
            .fetch_optional(&mut *tx)
            .await?
            .flatten();
    let row = sqlx::query(&format!(
        "UPDATE operations SET state = $1, txid = $2, height = $3, error = NULL, updated_at = $4, \
           credited_at = COALESCE(credited_at, $4) \
         WHERE id = $5 AND state IN {OPEN_STATES} RETURNING {COLUMNS}"
    ))
    .bind(OperationState::Confirmed.as_str())
    .bind(txid)
    .bind(height)
    .bind(clock::now())
    .bind(operation_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else {
        return Err(LedgerError::InvalidTransition(
            operation_id,
            "current state",
            "confirmed",
        ));
    };
    let op = Operation::from_row(&row)?;
    let amount = op.amount as i64;
    if let Some(from) = op.from_key_id {
        balances::add(tx, from, op.point_system_id, 0, 0, -amount).await?;
    }
    if let Some(to) = op.to_key_id {
        let pending = if op.from_key_id.is_some() { -amount } else { 0 };
        let available = if credited_before.is_some() { 0 } else { amount };
        balances::add(tx, to, op.point_system_id, available, pending, amount).await?;
    }
    if op.kind == super::OperationKind::SecondaryIssue && credited_before.is_none() {
        super::secondary_issue::grow_supply(tx, &op).await?;
    }
    emit_operation_event(tx, &op, EventType::OperationConfirmed).await?;
    Ok(op)
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

//! Secondary issue: more supply of a point system, into its treasury, where the policy the
//! point system was issued with allows it (MVS threshold byte: 0 never, 1..=100 the
//! treasury must hold that percentage of the current supply, 127 freely).
//!
//! The operation has no sender (`from_key_id` NULL) and credits the treasury when the
//! chain confirms it, like the issue itself; the worker builds the transaction, which
//! spends and re-outputs the issue certificate and, under a percentage threshold, the
//! treasury's points that prove the share. The point system's `max_supply` is the
//! current total supply: it grows when the secondary issue confirms.

use sha2::{Digest, Sha256};
use sqlx::{AnyConnection, Row};

use super::{
    amount::MAX_AMOUNT, operation::COLUMNS, submit::find_by_idempotency_key, Amount, LedgerError,
    Operation, OperationKind, OperationState,
};
use crate::domain::{clock, db::Database};

/// Threshold byte of a point system that may never issue more.
pub const NEVER: u8 = 0;
/// Threshold byte of a point system that may issue more freely.
pub const FREE: u8 = 127;

/// A request for more supply.
#[derive(Clone, Debug)]
pub struct NewSecondaryIssue {
    pub point_system_id: i64,
    pub amount: Amount,
    /// Who asked: `operator:ID`, `api_key:ID`.
    pub actor: String,
    pub reason: Option<String>,
    pub idempotency_key: Option<String>,
}

/// Points the treasury must hold to issue more under `threshold` when `supply` exists:
/// threshold% of the supply, rounded up (the chain's rule); none when issuing is free.
pub fn required_share(threshold: u8, supply: u64) -> u64 {
    if threshold == FREE {
        return 0;
    }
    (u128::from(supply) * u128::from(threshold)).div_ceil(100) as u64
}

fn fingerprint(request: &NewSecondaryIssue) -> String {
    let canonical = serde_json::json!([
        OperationKind::SecondaryIssue.as_str(),
        request.amount.units(),
        request.reason,
    ]);
    hex::encode(Sha256::digest(canonical.to_string()))
}

/// Records a secondary issue, queued for the worker, or refuses and changes nothing.
#[tracing::instrument(skip(db, request), fields(point_system = request.point_system_id, amount = request.amount.units()))]
pub async fn submit(db: &Database, request: NewSecondaryIssue) -> Result<Operation, LedgerError> {
    super::submit::check_reason_length(request.reason.as_deref())?;
    let fingerprint = fingerprint(&request);
    let outcome = db
        .write(
            async |tx| match find_idempotent(tx, &request, &fingerprint).await? {
                Some(op) => Ok(op),
                None => insert(tx, &request, &fingerprint).await,
            },
        )
        .await;
    match outcome {
        // Two requests with one key raced: answer with the winner's operation.
        Err(LedgerError::Database(sqlx::Error::Database(e)))
            if e.is_unique_violation() && request.idempotency_key.is_some() =>
        {
            let mut conn = db.pool().acquire().await?;
            find_idempotent(&mut conn, &request, &fingerprint)
                .await?
                .ok_or(LedgerError::IdempotencyConflict)
        }
        other => other,
    }
}

async fn find_idempotent(
    conn: &mut AnyConnection,
    request: &NewSecondaryIssue,
    fingerprint: &str,
) -> Result<Option<Operation>, LedgerError> {
    find_by_idempotency_key(
        conn,
        request.point_system_id,
        request.idempotency_key.as_deref(),
        fingerprint,
    )
    .await
}

async fn insert(
    conn: &mut AnyConnection,
    request: &NewSecondaryIssue,
    fingerprint: &str,
) -> Result<Operation, LedgerError> {
    let row = sqlx::query(
        "SELECT p.status, p.secondary_issue, p.max_supply, p.treasury_key_id, k.address \
         FROM point_systems p JOIN custody_keys k ON k.id = p.treasury_key_id WHERE p.id = $1",
    )
    .bind(request.point_system_id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(LedgerError::NotFound("point system"))?;
    let status: String = row.try_get(0)?;
    let threshold = row.try_get::<i64, _>(1)? as u8;
    let supply = row.try_get::<i64, _>(2)? as u64;
    let (treasury, address): (i64, String) = (row.try_get(3)?, row.try_get(4)?);
    if status != "confirmed" {
        return Err(LedgerError::PointSystemNotReady);
    }
    if threshold == NEVER {
        return Err(LedgerError::SecondaryIssueForbidden);
    }
    // Supply already on its way counts: the total must stay a JSON-safe amount (the
    // point_systems.max_supply CHECK is the last line behind this).
    let in_flight: i64 = sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM operations \
         WHERE point_system_id = $1 AND kind = 'secondary_issue' AND state IN ('queued', 'signed', 'broadcast')",
    )
    .bind(request.point_system_id)
    .fetch_one(&mut *conn)
    .await?;
    let total = supply
        .saturating_add(in_flight as u64)
        .saturating_add(request.amount.units());
    if total > MAX_AMOUNT {
        return Err(LedgerError::SupplyTooLarge {
            supply,
            max: MAX_AMOUNT,
        });
    }
    let available: i64 = sqlx::query_scalar(
        "SELECT COALESCE(MAX(available), 0) FROM balances WHERE key_id = $1 AND point_system_id = $2",
    )
    .bind(treasury)
    .bind(request.point_system_id)
    .fetch_one(&mut *conn)
    .await?;
    let required = required_share(threshold, supply);
    if (available as u64) < required {
        return Err(LedgerError::SecondaryIssueShareTooLow {
            held: available as u64,
            required,
        });
    }
    let now = clock::now();
    let row = sqlx::query(&format!(
        "INSERT INTO operations (point_system_id, kind, amount, to_key_id, to_address, actor, reason, \
           idempotency_key, request_fingerprint, state, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) RETURNING {COLUMNS}"
    ))
    .bind(request.point_system_id)
    .bind(OperationKind::SecondaryIssue.as_str())
    .bind(request.amount.as_i64())
    .bind(treasury)
    .bind(address)
    .bind(&request.actor)
    .bind(&request.reason)
    .bind(&request.idempotency_key)
    .bind(fingerprint)
    .bind(OperationState::Queued.as_str())
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    Ok(Operation::from_row(&row)?)
}

/// A secondary issue confirmed for the first time: the point system's supply grows.
/// Called by [`super::settle::confirm_in`] in the same database transaction.
pub(crate) async fn grow_supply(
    conn: &mut AnyConnection,
    op: &Operation,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE point_systems SET max_supply = max_supply + $1 WHERE id = $2")
        .bind(op.amount as i64)
        .bind(op.point_system_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::required_share;

    #[test]
    fn share_rounds_up_and_free_needs_none() {
        assert_eq!(required_share(51, 1_000), 510);
        assert_eq!(required_share(1, 1), 1, "rounded up");
        assert_eq!(required_share(100, 7), 7);
        assert_eq!(required_share(127, 1_000_000), 0);
        assert_eq!(
            required_share(60, u64::MAX),
            (u64::MAX as u128 * 60).div_ceil(100) as u64
        );
    }
}

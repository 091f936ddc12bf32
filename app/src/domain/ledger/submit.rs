//! Recording a new operation: the balance check, the reservation and the ledger entry in
//! one transaction.

use sha2::{Digest, Sha256};
use sqlx::AnyConnection;

use super::{balances, operation::COLUMNS, Amount, LedgerError, Operation, OperationKind};
use crate::domain::db::Database;

/// Where the points go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Destination {
    /// An address the platform holds (a customer or a treasury).
    Custodial { key_id: i64, address: String },
    /// Any other MVS address, optionally named by an avatar.
    External {
        address: String,
        avatar: Option<String>,
    },
}

impl Destination {
    /// The operation row's `to_key_id`, `to_address` and `to_avatar`.
    pub(super) fn columns(&self) -> (Option<i64>, &str, Option<&str>) {
        match self {
            Self::Custodial { key_id, address } => (Some(*key_id), address, None),
            Self::External { address, avatar } => (None, address, avatar.as_deref()),
        }
    }
}

/// A request to move points, before the ledger accepts it.
#[derive(Clone, Debug)]
pub struct NewOperation {
    pub point_system_id: i64,
    pub kind: OperationKind,
    pub amount: Amount,
    /// The custodial address the points leave (the treasury for awards).
    pub from_key_id: i64,
    pub to: Destination,
    /// Who asked: `operator:ID`, `api_key:ID`, `customer:ID`.
    pub actor: String,
    pub reason: Option<String>,
    pub idempotency_key: Option<String>,
}

/// The outcome of a submission.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Submitted {
    /// A new operation, queued for the chain.
    Created(Operation),
    /// The idempotency key was seen before with the same request: the earlier operation.
    Replayed(Operation),
}

impl Submitted {
    pub fn operation(&self) -> &Operation {
        match self {
            Submitted::Created(op) | Submitted::Replayed(op) => op,
        }
    }
}

impl NewOperation {
    /// What makes two requests "the same" for idempotency.
    pub(super) fn fingerprint(&self) -> String {
        let (to_key, to_address, to_avatar) = self.to.columns();
        let canonical = serde_json::json!([
            self.kind.as_str(),
            self.amount.units(),
            self.from_key_id,
            to_key,
            to_address,
            to_avatar,
            self.reason,
        ]);
        hex::encode(Sha256::digest(canonical.to_string()))
    }
}

/// Records an operation and reserves its points, or refuses and changes nothing.
#[tracing::instrument(skip(db, request), fields(point_system = request.point_system_id, kind = request.kind.as_str(), amount = request.amount.units()))]
pub async fn submit(db: &Database, request: NewOperation) -> Result<Submitted, LedgerError> {
    // The same steps as one submission of the group commit, alone in its own transaction.
    let mut tx = db.begin_write().await?;
    match submit_in_savepoint(&mut tx, &request).await? {
        Ok(submitted) => {
            tx.commit().await?;
            Ok(submitted)
        }
        Err(refused) => {
            tx.rollback().await?;
            Err(refused)
        }
    }
}

/// An outside destination must be an address the worker can pay: of the sender's network
/// (a bad one would stop every later transfer from the same sender), and a valid avatar name.
async fn check_external(
    conn: &mut AnyConnection,
    from_key_id: i64,
    address: &str,
    avatar: Option<&str>,
) -> Result<(), LedgerError> {
    let from: String = sqlx::query_scalar("SELECT address FROM custody_keys WHERE id = $1")
        .bind(from_key_id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(LedgerError::NotFound("sending address"))?;
    let network = mvs::Address::parse(&from)
        .ok()
        .and_then(|a| a.network())
        .ok_or(LedgerError::NotFound("sending address"))?;
    if mvs::Address::parse_for(address, network).is_err() {
        return Err(LedgerError::InvalidAddress(address.to_owned()));
    }
    if let Some(name) = avatar {
        mvs::symbol::AvatarName::parse(name)
            .map_err(|_| LedgerError::InvalidAvatar(name.to_owned()))?;
    }
    Ok(())
}

async fn find_idempotent(
    conn: &mut AnyConnection,
    request: &NewOperation,
    fingerprint: &str,
) -> Result<Option<Submitted>, LedgerError> {
    Ok(find_by_idempotency_key(
        conn,
        request.point_system_id,
        request.idempotency_key.as_deref(),
        fingerprint,
    )
    .await?
    .map(Submitted::Replayed))
}

/// The operation recorded earlier under `key` for this point system, if any; a conflict
/// when it was recorded for another request (a different `fingerprint`).
pub(super) async fn find_by_idempotency_key(
    conn: &mut AnyConnection,
    point_system_id: i64,
    key: Option<&str>,
    fingerprint: &str,
) -> Result<Option<Operation>, LedgerError> {
    let Some(key) = key else {
        return Ok(None);
    };
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS}, request_fingerprint FROM operations WHERE point_system_id = $1 AND idempotency_key = $2"
    ))
    .bind(point_system_id)
    .bind(key)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let stored: Option<String> = sqlx::Row::try_get(&row, "request_fingerprint")?;
    if stored.as_deref() != Some(fingerprint) {
        return Err(LedgerError::IdempotencyConflict);
    }
    Ok(Some(Operation::from_row(&row)?))
}

/// Takes the points when the point system is confirmed and the sender has them, in one
/// statement: every statement inside a write transaction holds the write lock (all of
/// SQLite, the treasury's row on PostgreSQL) for one more round trip, and the award path
/// is bound by that lock.
async fn debit_if_confirmed(
    conn: &mut AnyConnection,
    request: &NewOperation,
) -> Result<bool, LedgerError> {
    let debited = sqlx::query(
        "UPDATE balances SET available = available - $1 \
         WHERE key_id = $2 AND point_system_id = $3 AND available >= $1 \
           AND EXISTS (SELECT 1 FROM point_systems WHERE id = $3 AND status = 'confirmed')",
    )
    .bind(request.amount.as_i64())
    .bind(request.from_key_id)
    .bind(request.point_system_id)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(debited == 1)
}

async fn insert(
    conn: &mut AnyConnection,
    request: &NewOperation,
    fingerprint: &str,
) -> Result<Operation, LedgerError> {
    if let Destination::External { address, avatar } = &request.to {
        check_external(conn, request.from_key_id, address, avatar.as_deref()).await?;
    }
    if !debit_if_confirmed(conn, request).await? {
        // Refused: find out why (the rare path may take more statements).
        let status: Option<String> =
            sqlx::query_scalar("SELECT status FROM point_systems WHERE id = $1")
                .bind(request.point_system_id)
                .fetch_optional(&mut *conn)
                .await?;
        match status.as_deref() {
            None => return Err(LedgerError::NotFound("point system")),
            Some("confirmed") => {}
            Some(_) => return Err(LedgerError::PointSystemNotReady),
        }
        balances::debit_available(
            conn,
            request.from_key_id,
            request.point_system_id,
            request.amount,
        )
        .await?;
    }
    if let Destination::Custodial { key_id, .. } = &request.to {
        balances::add(
            conn,
            *key_id,
            request.point_system_id,
            0,
            request.amount.as_i64(),
            0,
        )
        .await?;
    }
    Ok(super::bulk::insert_one(conn, request, fingerprint).await?)
}

/// One submission inside a write transaction the caller owns (the group commit of
/// [`super::writer`], or [`submit`]'s own), in its own savepoint: a refusal rolls back only this submission.
///
/// The outer error means the transaction itself is unusable (a savepoint could not be
/// made, released or rolled back); the inner result is this submission's answer, valid
/// only once the caller's transaction has committed.
pub(crate) async fn submit_in_savepoint(
    tx: &mut AnyConnection,
    request: &NewOperation,
) -> Result<Result<Submitted, LedgerError>, sqlx::Error> {
    use sqlx::Connection;

    if let Err(refused) = check_reason(request) {
        return Ok(Err(refused));
    }
    let fingerprint = request.fingerprint();
    let mut savepoint = tx.begin().await?;
    let outcome = match find_idempotent(&mut savepoint, request, &fingerprint).await {
        Ok(Some(existing)) => Ok(existing),
        Ok(None) => insert(&mut savepoint, request, &fingerprint)
            .await
            .map(Submitted::Created),
        Err(error) => Err(error),
    };
    match outcome {
        Ok(submitted) => {
            savepoint.commit().await?;
            Ok(Ok(submitted))
        }
        // Two requests with one idempotency key raced (in this batch, or a concurrent
        // transaction committed first): the loser answers with the winner's operation.
        Err(LedgerError::Database(sqlx::Error::Database(e)))
            if e.is_unique_violation() && request.idempotency_key.is_some() =>
        {
            savepoint.rollback().await?;
            Ok(find_idempotent(tx, request, &fingerprint)
                .await
                .and_then(|found| found.ok_or(LedgerError::IdempotencyConflict)))
        }
        Err(error) => {
            savepoint.rollback().await?;
            Ok(Err(error))
        }
    }
}

pub(super) fn check_reason(request: &NewOperation) -> Result<(), LedgerError> {
    if request.kind == OperationKind::Adjust
        && request
            .reason
            .as_deref()
            .is_none_or(|r| r.trim().is_empty())
    {
        return Err(LedgerError::ReasonRequired);
    }
    check_reason_length(request.reason.as_deref())
}

/// Every operation's reason has one bound, whatever asked for it (API, dashboard, wallet).
pub(super) fn check_reason_length(reason: Option<&str>) -> Result<(), LedgerError> {
    match reason {
        Some(reason) if reason.chars().count() > super::error::MAX_REASON_CHARS => {
            Err(LedgerError::ReasonTooLong)
        }
        _ => Ok(()),
    }
}

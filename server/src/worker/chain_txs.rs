//! The write-ahead log of chain transactions and the state changes that follow them.
//!
//! States: `signed` (stored, not yet accepted by the node) -> `broadcast` (in the node's
//! pool or a block) -> `confirmed`, or `failed` when the node definitely refused it.

use std::collections::HashSet;

use app::domain::{
    clock,
    db::{bound_sql::BoundSql, Database, Dialect},
    events::EventType,
    ledger::{point_systems, settle, LedgerError, OperationState},
};
use mvs::{encoding::Encode, tx::Transaction};
use sqlx::{AnyConnection, Row};

use super::selection::outpoint_key;

/// Why a transaction was built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// Moves points (awards, redemptions, transfers, withdrawals), possibly batched.
    Transfer,
    /// Registers a point system's issuer avatar.
    Avatar,
    /// Issues a point system's MST.
    Issue,
    /// Splits the fee wallet into a pool of small outputs.
    FeeSplit,
    /// Issues more of a point system's MST into its treasury.
    SecondaryIssue,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::Transfer => "transfer",
            Purpose::Avatar => "avatar",
            Purpose::Issue => "issue",
            Purpose::FeeSplit => "fee_split",
            Purpose::SecondaryIssue => "secondary_issue",
        }
    }
}

/// A stored chain transaction.
#[derive(Clone, Debug)]
pub struct ChainTx {
    pub id: i64,
    pub txid: String,
    pub raw_hex: String,
    pub purpose: String,
    pub point_system_id: Option<i64>,
    pub attempts: i64,
    /// The block it was last seen in; `None` while in the pool (or not yet looked up).
    pub height: Option<i64>,
}

const COLUMNS: &str = "id, txid, raw_hex, purpose, point_system_id, attempts, height";

fn from_row(row: &sqlx::any::AnyRow) -> Result<ChainTx, sqlx::Error> {
    Ok(ChainTx {
        id: row.try_get(0)?,
        txid: row.try_get(1)?,
        raw_hex: row.try_get(2)?,
        purpose: row.try_get(3)?,
        point_system_id: row.try_get(4)?,
        attempts: row.try_get(5)?,
        height: row.try_get(6)?,
    })
}

/// How long a confirmed transaction's inputs stay reserved. Its inputs are spent on chain,
/// so the reservation no longer stops anyone; it stops a worker that asked the node for
/// unspent outputs BEFORE the spend and builds on that answer afterwards (it waited for
/// the write lock meanwhile): its transaction would collide on chain and fail its
/// operations, and now collides in [`record_signed`] instead.
const CONFIRMED_RESERVATION_KEPT_SECS: i64 = 600;

/// How old a node's list of unspent outputs may be when a transaction built on it is
/// stored: far below [`CONFIRMED_RESERVATION_KEPT_SECS`], so every output spent by a
/// transaction confirmed after the list was read is still reserved.
const LISTING_MAX_AGE: std::time::Duration = std::time::Duration::from_secs(60);

/// The outputs stored transactions spend, read just before the node is asked for unspent
/// outputs (read after it, a reservation released in between would be missed).
#[derive(Debug)]
pub struct Reservations {
    outpoints: HashSet<String>,
    read_at: std::time::Instant,
}

impl Reservations {
    pub async fn read(db: &Database) -> Result<Self, sqlx::Error> {
        let read_at = std::time::Instant::now();
        let rows: Vec<String> = sqlx::query_scalar("SELECT outpoint FROM reserved_outpoints")
            .fetch_all(db.pool())
            .await?;
        Ok(Self {
            outpoints: rows.into_iter().collect(),
            read_at,
        })
    }

    /// Whether a transaction built on the node's list read after these reservations may
    /// still be stored ([`record_signed`] asks).
    fn still_fresh(&self) -> bool {
        self.read_at.elapsed() < LISTING_MAX_AGE
    }
}

impl std::ops::Deref for Reservations {
    type Target = HashSet<String>;

    fn deref(&self) -> &HashSet<String> {
        &self.outpoints
    }
}

/// Stores a signed transaction built from the node's list read after `reserved`, and
/// reserves its inputs, inside the caller's transaction. `None` when it must not be stored,
/// and the caller's transaction must be dropped, not committed: the list is too old to build
/// on, or another worker reserved one of the inputs first (a collision fails the whole
/// database transaction). The next round builds again from a new list.
pub async fn record_signed(
    conn: &mut AnyConnection,
    tx: &Transaction,
    purpose: Purpose,
    point_system_id: Option<i64>,
    reserved: &Reservations,
) -> Result<Option<i64>, sqlx::Error> {
    if !reserved.still_fresh() {
        return Ok(None);
    }
    match insert_signed(conn, tx, purpose, point_system_id).await {
        Ok(id) => Ok(Some(id)),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(None),
        Err(e) => Err(e),
    }
}

async fn insert_signed(
    conn: &mut AnyConnection,
    tx: &Transaction,
    purpose: Purpose,
    point_system_id: Option<i64>,
) -> Result<i64, sqlx::Error> {
    let now = clock::now();
    let id: i64 = sqlx::query(
        "INSERT INTO chain_txs (txid, raw_hex, purpose, point_system_id, state, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, 'signed', $5, $5) RETURNING id",
    )
    .bind(tx.txid().to_string())
    .bind(tx.encode_hex())
    .bind(purpose.as_str())
    .bind(point_system_id)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?
    .get(0);
    // One statement for all inputs (a batch may spend many small outputs); a chunk of two
    // values a row stays far below the bind-parameter limits.
    for inputs in tx.inputs.chunks(1000) {
        let mut sql = BoundSql::for_connection(conn);
        let values = inputs
            .iter()
            .map(|input| {
                let outpoint = outpoint_key(
                    &input.previous_output.txid.to_string(),
                    input.previous_output.index,
                );
                format!("({}, {})", sql.bind(outpoint), sql.bind(id))
            })
            .collect::<Vec<_>>()
            .join(", ");
        sql.push(&format!(
            "INSERT INTO reserved_outpoints (outpoint, chain_tx_id) VALUES {values}"
        ));
        sql.query().persistent(false).execute(&mut *conn).await?;
    }
    Ok(id)
}

/// Stored transactions the node has not accepted yet and that are due for a (re)try,
/// oldest first: a transaction that spends another's output must follow it.
pub async fn due_for_broadcast(db: &Database) -> Result<Vec<ChainTx>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM chain_txs WHERE state = 'signed' AND next_attempt_at <= $1 ORDER BY id LIMIT 200"
    ))
    .bind(clock::now_millis())
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(from_row).collect()
}

/// Transactions the node accepted and that are not confirmed deeply enough yet.
pub async fn in_flight(db: &Database) -> Result<Vec<ChainTx>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM chain_txs WHERE state = 'broadcast' ORDER BY id LIMIT 1000"
    ))
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(from_row).collect()
}

/// The node accepted the transaction (or already had it).
pub async fn mark_broadcast(db: &Database, chain_tx: &ChainTx) -> Result<(), anyhow::Error> {
    let mut tx = db.begin_write().await?;
    let now = clock::now();
    let moved = sqlx::query("UPDATE chain_txs SET state = 'broadcast', last_error = NULL, updated_at = $1 WHERE id = $2 AND state = 'signed'")
        .bind(now)
        .bind(chain_tx.id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if moved == 0 {
        tx.rollback().await?;
        return Ok(());
    }
    // One statement for all of the transaction's operations (and a constant number for
    // their events): a statement per operation held the write lock for hundreds of round
    // trips while API writes waited.
    let ops = sqlx::query(&format!(
        "UPDATE operations SET state = $1, updated_at = $2 \
         WHERE chain_tx_id = $3 AND state = 'signed' RETURNING {}",
        app::domain::ledger::operation::COLUMNS
    ))
    .bind(OperationState::Broadcast.as_str())
    .bind(now)
    .bind(chain_tx.id)
    .fetch_all(&mut *tx)
    .await?
    .iter()
    .map(app::domain::ledger::Operation::from_row)
    .collect::<Result<Vec<_>, _>>()?;
    settle::emit_operation_events(&mut tx, &ops, EventType::OperationBroadcast).await?;
    if chain_tx.purpose == Purpose::Issue.as_str() {
        sqlx::query("UPDATE point_systems SET status = 'broadcast', issue_txid = $1 WHERE issue_chain_tx_id = $2 AND status = 'pending'")
            .bind(&chain_tx.txid)
            .bind(chain_tx.id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The outcome is unknown (timeout, node down): try again later, backing off.
pub async fn schedule_retry(
    db: &Database,
    chain_tx: &ChainTx,
    error: &str,
) -> Result<(), sqlx::Error> {
    let attempts = chain_tx.attempts + 1;
    // 1 s, 2 s, 4 s ... capped at one minute: the node is usually back soon.
    let delay_ms = 1000_i64.saturating_mul(1 << attempts.min(6)).min(60_000);
    sqlx::query("UPDATE chain_txs SET attempts = $1, next_attempt_at = $2, last_error = $3, updated_at = $4 WHERE id = $5")
        .bind(attempts)
        .bind(clock::now_millis() + delay_ms)
        .bind(error)
        .bind(clock::now())
        .bind(chain_tx.id)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// The node definitely refused the transaction: it fails, its inputs are free again, and
/// its operations fail with the node's reason (their reserved points return).
pub async fn mark_rejected(
    db: &Database,
    chain_tx: &ChainTx,
    reason: &str,
) -> Result<(), anyhow::Error> {
    let mut tx = db.begin_write().await?;
    let moved = sqlx::query("UPDATE chain_txs SET state = 'failed', last_error = $1, updated_at = $2 WHERE id = $3 AND state IN ('signed', 'broadcast')")
        .bind(reason)
        .bind(clock::now())
        .bind(chain_tx.id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if moved == 0 {
        tx.rollback().await?;
        return Ok(());
    }
    release_inputs(&mut tx, chain_tx.id).await?;
    let ids = open_operations(&mut tx, chain_tx.id).await?;
    let message = format!("rejected by the node: {reason}");
    for id in ids {
        settle::fail_in(&mut tx, id, &message).await?;
    }
    // Only a refused avatar registration or issue fails the point system itself.
    let issuing =
        chain_tx.purpose == Purpose::Avatar.as_str() || chain_tx.purpose == Purpose::Issue.as_str();
    if let (true, Some(point_system_id)) = (issuing, chain_tx.point_system_id) {
        sqlx::query("UPDATE point_systems SET status = 'failed', issue_error = $1 WHERE id = $2 AND status <> 'confirmed'")
            .bind(&message)
            .bind(point_system_id)
            .execute(&mut *tx)
            .await?;
        // An issue that had confirmed once (then reorganised out) credited its supply.
        if chain_tx.purpose == Purpose::Issue.as_str() {
            point_systems::take_back_failed_issue_in(&mut tx, point_system_id).await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

/// A transaction the node refused: its inputs are unspent and free again.
async fn release_inputs(conn: &mut AnyConnection, chain_tx_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM reserved_outpoints WHERE chain_tx_id = $1")
        .bind(chain_tx_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Drops the reservations of transactions confirmed long enough ago (see
/// [`CONFIRMED_RESERVATION_KEPT_SECS`]). Driven by the reservations (a few per transaction
/// in flight or just confirmed), not by `chain_txs`, which keeps every transaction ever sent.
async fn forget_old_confirmed_reservations(conn: &mut AnyConnection) -> Result<(), sqlx::Error> {
    sqlx::query(
        "DELETE FROM reserved_outpoints WHERE EXISTS (SELECT 1 FROM chain_txs t \
         WHERE t.id = reserved_outpoints.chain_tx_id AND t.state = 'confirmed' AND t.updated_at < $1)",
    )
    .bind(clock::now() - CONFIRMED_RESERVATION_KEPT_SECS)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A transaction reached a final state: its operations still in flight, for settling.
async fn open_operations(
    conn: &mut AnyConnection,
    chain_tx_id: i64,
) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT id FROM operations WHERE chain_tx_id = $1 AND state IN ('signed', 'broadcast')",
    )
    .bind(chain_tx_id)
    .fetch_all(&mut *conn)
    .await
}

/// The transaction is in a block at `height` (`None`: in the pool): record it so pages
/// can show n/N. Nothing is written when the stored height is already that: the worker
/// looks at every transaction in flight every round, and rewriting the same height of a
/// pooled transaction's operations (hundreds of rows each) every round held the write
/// lock for most of a settlement.
pub async fn record_height(
    db: &Database,
    chain_tx: &ChainTx,
    height: Option<i64>,
) -> Result<(), sqlx::Error> {
    if chain_tx.height == height {
        return Ok(());
    }
    let mut tx = db.begin_write().await?;
    sqlx::query("UPDATE chain_txs SET height = $1, updated_at = $2 WHERE id = $3")
        .bind(height)
        .bind(clock::now())
        .bind(chain_tx.id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("UPDATE operations SET height = $1 WHERE chain_tx_id = $2 AND state = 'broadcast'")
        .bind(height)
        .bind(chain_tx.id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}

/// Confirmed deeply enough: every operation in it settles, in one database transaction.
pub async fn mark_confirmed(
    db: &Database,
    chain_tx: &ChainTx,
    height: i64,
) -> Result<(), anyhow::Error> {
    let mut tx = db.begin_write().await?;
    let moved = sqlx::query("UPDATE chain_txs SET state = 'confirmed', height = $1, updated_at = $2 WHERE id = $3 AND state = 'broadcast'")
        .bind(height)
        .bind(clock::now())
        .bind(chain_tx.id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if moved == 0 {
        tx.rollback().await?;
        return Ok(());
    }
    forget_old_confirmed_reservations(&mut tx).await?;
    let ids = open_operations(&mut tx, chain_tx.id).await?;
    settle::confirm_many_in(&mut tx, &ids, &chain_tx.txid, height).await?;
    if chain_tx.purpose == Purpose::Issue.as_str() {
        if let Some(point_system_id) = chain_tx.point_system_id {
            match point_systems::mark_issue_confirmed_in(&mut tx, point_system_id, &chain_tx.txid)
                .await
            {
                // Already confirmed (an operator tool or a second worker got there first): nothing to add.
                Ok(()) | Err(LedgerError::InvalidTransition(..)) => {}
                Err(error) => return Err(error.into()),
            }
        }
    }
    tx.commit().await?;
    Ok(())
}

/// `FOR UPDATE SKIP LOCKED` where the database has row locks (PostgreSQL); on SQLite the
/// write transaction already excludes every other writer.
pub fn skip_locked(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Postgres => " FOR UPDATE SKIP LOCKED",
        Dialect::Sqlite => "",
    }
}

/// Confirmed transactions recent enough that a reorganisation could still undo them.
pub async fn recently_confirmed(
    db: &Database,
    since_height: i64,
) -> Result<Vec<(ChainTx, i64)>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM chain_txs WHERE state = 'confirmed' AND height >= $1 ORDER BY id DESC LIMIT 1000"
    ))
    .bind(since_height)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|row| {
            let chain_tx = from_row(row)?;
            // `height >= $1` selected only rows with a height.
            let height = chain_tx.height.unwrap_or_default();
            Ok((chain_tx, height))
        })
        .collect()
}

/// Transactions a reorganisation took out of the chain go back in flight, newest first
/// (a transaction's children unconfirm before it), all in one database transaction.
/// Their inputs are reserved again, because the node may list them as unspent until the
/// transaction is back in its pool.
pub async fn mark_reorganised(
    db: &Database,
    newest_first: &[ChainTx],
) -> Result<(), anyhow::Error> {
    let mut tx = db.begin_write().await?;
    for chain_tx in newest_first {
        let moved = sqlx::query(
            "UPDATE chain_txs SET state = 'broadcast', height = NULL, reorgs = reorgs + 1, updated_at = $1 \
             WHERE id = $2 AND state = 'confirmed'",
        )
        .bind(clock::now())
        .bind(chain_tx.id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if moved == 0 {
            continue;
        }
        let transaction = <Transaction as mvs::encoding::Decode>::decode_hex(&chain_tx.raw_hex)?;
        for input in &transaction.inputs {
            sqlx::query("INSERT INTO reserved_outpoints (outpoint, chain_tx_id) VALUES ($1, $2) ON CONFLICT (outpoint) DO NOTHING")
                .bind(outpoint_key(&input.previous_output.txid.to_string(), input.previous_output.index))
                .bind(chain_tx.id)
                .execute(&mut *tx)
                .await?;
        }
        let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM operations WHERE chain_tx_id = $1 AND state = 'confirmed' ORDER BY id DESC")
            .bind(chain_tx.id)
            .fetch_all(&mut *tx)
            .await?;
        for id in ids {
            settle::unconfirm_in(&mut tx, id).await?;
        }
        if chain_tx.purpose == Purpose::Issue.as_str() {
            if let Some(point_system_id) = chain_tx.point_system_id {
                point_systems::unconfirm_issue_in(&mut tx, point_system_id).await?;
            }
        }
    }
    tx.commit().await?;
    Ok(())
}

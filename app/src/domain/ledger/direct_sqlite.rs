//! The ledger writer's own SQLite connection, opened beside sqlx's pool, for the bulk
//! write of [`super::bulk`] without a thread hop.
//!
//! Why: sqlx runs every SQLite connection on a thread of its own and passes each
//! statement, and each of its results, across threads. An award's write was one such
//! script: the caller's task woke the connection's thread and was woken again by it,
//! plus a hand-over to the writer's task and back. On a loaded two-core machine a
//! wake-up costs tens of microseconds, as much as the write itself, and the award at one
//! client is a chain of them. Here the writing task runs SQLite itself, with statements
//! prepared once, so an award's write is SQLite's work and nothing else.
//!
//! The same checks and outcomes as [`super::bulk::write`]: every sender pays or nothing
//! is written, every presumption holds or nothing is written, and a failed `COMMIT` is an
//! unknown outcome, never a retry.

use std::path::Path;

use rusqlite::{params, Connection, OpenFlags, OptionalExtension};

use super::{
    bulk::{self, Bulk},
    operation::COLUMNS,
    presumed::Presumed,
    submit::NewOperation,
    Operation, OperationKind, OperationState,
};
use crate::domain::clock;

/// How long a statement waits for another process's write lock (as the pool's
/// connections do); writers of this process queue in [`Database::write_turn`] first.
///
/// [`Database::write_turn`]: crate::domain::db::Database::write_turn
const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// The connection. Not shared: the ledger writer owns it.
pub(super) struct DirectSqlite {
    conn: Connection,
}

impl std::fmt::Debug for DirectSqlite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DirectSqlite").finish_non_exhaustive()
    }
}

/// Why a direct write did not end in a known state.
#[derive(Debug, thiserror::Error)]
pub(super) enum Unknown {
    #[error("the ledger's direct SQLite write failed: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// Committed, but the rows read back do not match the batch.
    #[error("{0}")]
    Committed(sqlx::Error),
}

impl DirectSqlite {
    /// Opens the database file the pool uses, with the pool's settings. The migrations
    /// have run (the server migrates before it serves); WAL mode is kept in the file.
    pub(super) fn open(path: &Path) -> rusqlite::Result<Self> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        // As the pool's connections (`Database::connect_lazy`); the log's checkpoints are
        // left to the passive checkpoint the writer starts (see `writer_connection`).
        conn.execute_batch(
            "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA wal_autocheckpoint = 0;",
        )?;
        Ok(Self { conn })
    }

    /// Writes `batch` in one write transaction, as [`bulk::write`]. The caller holds the
    /// process's write turn. `Err`: the `COMMIT` failed, or the transaction's state is
    /// unknown; the connection must not be used again.
    pub(super) fn write(
        &mut self,
        batch: &[(&NewOperation, String)],
        presumed: &[&Presumed],
    ) -> Result<Bulk, Unknown> {
        self.conn.execute_batch("BEGIN IMMEDIATE")?;
        let written = match self.statements(batch, presumed) {
            Ok(Some(ops)) => ops,
            outcome => {
                if let Err(error) = outcome {
                    tracing::debug!(%error, "direct bulk write refused; writing item by item");
                }
                self.conn.execute_batch("ROLLBACK")?;
                return Ok(Bulk::NotWritten);
            }
        };
        self.conn.execute_batch("COMMIT")?;
        // Committed: a row that does not match its request is an error for every caller
        // from here on, never a retry.
        bulk::in_batch_order(written, batch)
            .map(Bulk::Written)
            .map_err(Unknown::Committed)
    }

    /// The statements between `BEGIN` and `COMMIT`: the operations, or `None` when an
    /// item would be refused (nothing is kept then).
    fn statements(
        &self,
        batch: &[(&NewOperation, String)],
        presumed: &[&Presumed],
    ) -> rusqlite::Result<Option<Vec<Operation>>> {
        let (debits, credits) = bulk::totals(batch);
        // The same conditions as a single submission's debit: enough points, and the
        // point system confirmed on chain.
        let mut debit = self.conn.prepare_cached(
            "UPDATE balances SET available = available - ?3 \
             WHERE key_id = ?1 AND point_system_id = ?2 AND available >= ?3 \
               AND EXISTS (SELECT 1 FROM point_systems p WHERE p.id = ?2 AND p.status = 'confirmed')",
        )?;
        for (&(key_id, point_system_id), &amount) in &debits {
            if debit.execute(params![key_id, point_system_id, amount])? != 1 {
                return Ok(None);
            }
        }
        if !self.presumptions_hold(presumed)? {
            return Ok(None);
        }
        let mut credit = self.conn.prepare_cached(
            "INSERT INTO balances (key_id, point_system_id, available, pending_in, confirmed) \
             VALUES (?1, ?2, 0, ?3, 0) \
             ON CONFLICT (key_id, point_system_id) DO UPDATE SET pending_in = balances.pending_in + excluded.pending_in",
        )?;
        for (&(key_id, point_system_id), &amount) in &credits {
            credit.execute(params![key_id, point_system_id, amount])?;
        }
        let mut insert = self.conn.prepare_cached(&format!(
            "INSERT INTO operations (point_system_id, kind, amount, from_key_id, to_key_id, to_address, \
               to_avatar, actor, reason, idempotency_key, request_fingerprint, state, created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?13) RETURNING {COLUMNS}"
        ))?;
        let now = clock::now();
        let mut ops = Vec::with_capacity(batch.len());
        for (request, fingerprint) in batch {
            let (to_key_id, to_address, to_avatar) = request.to.columns();
            let op = insert.query_row(
                params![
                    request.point_system_id,
                    request.kind.as_str(),
                    request.amount.as_i64(),
                    request.from_key_id,
                    to_key_id,
                    to_address,
                    to_avatar,
                    request.actor,
                    request.reason,
                    request.idempotency_key,
                    fingerprint,
                    OperationState::Queued.as_str(),
                    now,
                ],
                operation_from_row,
            )?;
            ops.push(op);
        }
        Ok(Some(ops))
    }

    /// Whether every presumption of the batch holds, as [`Presumed::condition`] asks.
    fn presumptions_hold(&self, presumed: &[&Presumed]) -> rusqlite::Result<bool> {
        let (keys, customers) = Presumed::distinct(presumed.iter().copied());
        let mut key = self
            .conn
            .prepare_cached("SELECT 1 FROM api_keys WHERE id = ?1 AND revoked_at IS NULL")?;
        for id in keys {
            if key.query_row([id], |_| Ok(())).optional()?.is_none() {
                return Ok(false);
            }
        }
        let mut customer = self.conn.prepare_cached(
            "SELECT 1 FROM store_customers sc JOIN customers c ON c.id = sc.customer_id \
             WHERE sc.store_id = ?1 AND sc.external_id = ?2 AND c.key_id = ?3",
        )?;
        for c in customers {
            if customer
                .query_row(params![c.store_id, c.external_id, c.key_id], |_| Ok(()))
                .optional()?
                .is_none()
            {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

/// An [`Operation`] from a row of [`COLUMNS`] (the rusqlite twin of
/// [`Operation::from_row`]).
fn operation_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Operation> {
    let unknown = |column: &str, value: &str| {
        rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Text,
            format!("unknown {column} {value:?} in operations").into(),
        )
    };
    let kind: String = row.get("kind")?;
    let state: String = row.get("state")?;
    Ok(Operation {
        id: row.get("id")?,
        point_system_id: row.get("point_system_id")?,
        kind: OperationKind::parse(&kind).ok_or_else(|| unknown("kind", &kind))?,
        amount: row.get::<_, i64>("amount")? as u64,
        from_key_id: row.get("from_key_id")?,
        to_key_id: row.get("to_key_id")?,
        to_address: row.get("to_address")?,
        to_avatar: row.get("to_avatar")?,
        actor: row.get("actor")?,
        reason: row.get("reason")?,
        idempotency_key: row.get("idempotency_key")?,
        state: OperationState::parse(&state).ok_or_else(|| unknown("state", &state))?,
        txid: row.get("txid")?,
        height: row.get("height")?,
        error: row.get("error")?,
        created_at: row.get("created_at")?,
        updated_at: row.get("updated_at")?,
    })
}

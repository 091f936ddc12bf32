//! Deposits: MST outputs that pay a customer's custodial address from outside the platform.
//!
//! Blocks are read once they are as deep as the shallowest depth any point system needs
//! (the platform's required confirmations, or a store's own when lower). A deposit whose
//! store asks for no more than that is credited as confirmed and spendable at once; one
//! whose store asks for more is recorded pending (`broadcast`, its points in `pending_in`
//! and all of them in `reorg_held`, to be released) and confirms, like a reorganised
//! deposit, once its block is as deep as the store asks. Each output is recorded under the
//! idempotency key `deposit:TXID:INDEX`, so reading a block twice credits nothing twice.
//!
//! Reorganisations: a credited deposit whose transaction leaves its block goes back to
//! `broadcast` (pending): its points leave `confirmed` for `pending_in`, and as much of
//! them as is still `available` is held back (`reorg_held`), never more, so no balance
//! goes negative. When the transaction is mined again and deep enough, the deposit
//! confirms again and the held points return. When the node no longer knows it at all
//! (the sender double-spent it), the deposit fails and its pending points go away; should
//! the transaction still be mined within a day (a node can briefly miss one after a
//! reorganisation), the failed deposit is credited again.
//! What the customer had already spent of it cannot be taken back by the ledger: if that
//! spend spent the deposit's own output it is refused by the node and fails (the ledger
//! then returns the points to `available`), so the customer keeps points the chain does
//! not show; the deposit's error records the shortfall and the worker logs it for an
//! operator, and reconciliation shows the address as a mismatch.

use app::domain::{
    clock,
    events::EventType,
    ledger::{balances, operation::COLUMNS, settle, Operation},
};
use mvs::rpc::{BlockRef, TxInfo};
use sqlx::{AnyConnection, Row};

use super::Worker;

const CURSOR: &str = "deposits";
/// Blocks read per round, so one round never runs long.
const BLOCKS_PER_ROUND: u64 = 50;

impl Worker {
    pub(super) async fn scan_deposits(&self, tip: u64) -> anyhow::Result<()> {
        let depths = self.deposit_depths().await?;
        let Some(deepest) = (tip + 1).checked_sub(depths.shallowest()) else {
            return Ok(());
        };
        let cursor: Option<i64> =
            sqlx::query_scalar("SELECT height FROM chain_scan WHERE name = $1")
                .bind(CURSOR)
                .fetch_optional(self.db.pool())
                .await?;
        // First start: nothing before the platform's own keys can pay them; begin at genesis
        // on a fresh development chain and at the current depth on a long-running node.
        let next = match cursor {
            Some(height) => height as u64 + 1,
            None if deepest < 1_000 => 0,
            None => deepest,
        };
        for height in next..=deepest.min(next + BLOCKS_PER_ROUND - 1) {
            let block = self.chain.get_block(BlockRef::Height(height)).await?;
            let mut tx = self.db.begin_write().await?;
            for transaction in &block.transactions {
                let depth = super::confirm::confirmations(tip, height);
                record_deposits(&mut tx, transaction, height as i64, depth, &depths).await?;
            }
            sqlx::query(
                "INSERT INTO chain_scan (name, height) VALUES ($1, $2) \
                 ON CONFLICT (name) DO UPDATE SET height = excluded.height",
            )
            .bind(CURSOR)
            .bind(height as i64)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
        }
        Ok(())
    }
}

/// The confirmations a deposit needs: its point system's store's own, else the platform's.
pub(super) struct DepositDepths {
    platform: u64,
    overrides: std::collections::HashMap<i64, u64>,
}

impl DepositDepths {
    fn of(&self, point_system_id: i64) -> u64 {
        self.overrides
            .get(&point_system_id)
            .copied()
            .unwrap_or(self.platform)
    }

    /// The depth at which blocks are read: no deposit can be credited earlier.
    fn shallowest(&self) -> u64 {
        self.overrides
            .values()
            .copied()
            .fold(self.platform, u64::min)
            .max(1)
    }
}

impl Worker {
    async fn deposit_depths(&self) -> Result<DepositDepths, sqlx::Error> {
        Ok(DepositDepths {
            platform: self.settings.required_confirmations,
            overrides: app::domain::store_settings::confirmation_overrides(&self.db).await?,
        })
    }
}

/// How far back credited deposits are watched for reorganisations (as for transfers).
const REORG_WINDOW: u64 = 100;
/// Deposits looked at per round (pending ones, and credited ones), so one round never
/// runs long.
const CHECKED_PER_ROUND: i64 = 500;
/// How long a deposit failed for a vanished transaction is still looked for: a node may
/// briefly not know a transaction after a reorganisation and mine it later.
const REVIVE_WINDOW_SECS: i64 = 24 * 3600;

impl Worker {
    /// Puts credited deposits whose transaction left its block back to pending, confirms
    /// pending ones again once they are deep enough, and drops those the node forgot.
    pub(super) async fn follow_deposit_reorganisations(
        &self,
        tip_block: &mvs::rpc::BlockSummary,
    ) -> anyhow::Result<()> {
        // Credited deposits (possibly many) can only leave their block when the tip
        // changes; the few pending or given-up ones are looked at every round.
        let (tip, tip_hash) = (tip_block.number, tip_block.hash.clone());
        let depths = self.deposit_depths().await?;
        let sweep = self
            .deposit_reorg_sweep
            .lock()
            .expect("not poisoned")
            .clone();
        let tip_moved = sweep.is_some()
            || self
                .last_deposit_tip
                .lock()
                .expect("not poisoned")
                .as_deref()
                != Some(tip_hash.as_str());
        // Pending ones first: they are the ones that still change.
        let mut rows = sqlx::query(
            "SELECT id, txid, height, state, point_system_id FROM operations WHERE kind = 'deposit' \
             AND (state = 'broadcast' OR (state = 'failed' AND reorg_held IS NOT NULL AND updated_at >= $1)) \
             ORDER BY CASE WHEN state = 'broadcast' THEN 0 ELSE 1 END, id DESC LIMIT $2",
        )
        .bind(clock::now() - REVIVE_WINDOW_SECS)
        .bind(CHECKED_PER_ROUND)
        .fetch_all(self.db.pool())
        .await?;
        // Credited ones newest first (the likeliest to be reorganised), a page per round;
        // a check that does not fit goes on below the oldest id checked next round.
        let (sweep_tip, below) = sweep.unwrap_or((tip_hash, i64::MAX));
        let credited = if tip_moved {
            sqlx::query(
                "SELECT id, txid, height, state, point_system_id FROM operations WHERE kind = 'deposit' \
                 AND state = 'confirmed' AND height >= $1 AND id < $2 ORDER BY id DESC LIMIT $3",
            )
            .bind(tip.saturating_sub(REORG_WINDOW) as i64)
            .bind(below)
            .bind(CHECKED_PER_ROUND)
            .fetch_all(self.db.pool())
            .await?
        } else {
            Vec::new()
        };
        let unfinished = match credited.last() {
            Some(oldest) if credited.len() as i64 == CHECKED_PER_ROUND => {
                Some((sweep_tip.clone(), oldest.try_get::<i64, _>(0)?))
            }
            _ => None,
        };
        rows.extend(credited);
        for row in rows {
            let (id, txid, height, state): (i64, String, Option<i64>, String) = (
                row.try_get(0)?,
                row.try_get(1)?,
                row.try_get(2)?,
                row.try_get(3)?,
            );
            let required = depths.of(row.try_get(4)?);
            let found = match self.chain.get_tx(&txid.parse()?).await {
                Ok(info) => Some(info.height),
                Err(e) if e.code() == Some(mvs::rpc::codes::TX_NOT_FOUND) => None,
                // Cannot tell now: look again next round.
                Err(_) => return Ok(()),
            };
            let depth = found.map_or(0, |h| super::confirm::confirmations(tip, h));
            match (state.as_str(), found) {
                ("confirmed", Some(h)) if Some(h as i64) == height => {}
                ("failed", Some(h)) if depth >= required => {
                    self.db
                        .write(async |tx| revive_deposit(tx, id, h as i64).await)
                        .await?;
                    tracing::warn!(%txid, height = h, "a deposit given up for gone was mined after all; credited again");
                }
                ("failed", _) => {}
                ("confirmed", _) => {
                    tracing::warn!(%txid, ?height, "a credited deposit left its block (reorganisation)");
                    self.db
                        .write(async |tx| unconfirm_deposit(tx, id).await)
                        .await?;
                }
                (_, Some(h)) if depth >= required => {
                    self.db
                        .write(async |tx| confirm_deposit_again(tx, id, h as i64).await)
                        .await?;
                    tracing::info!(%txid, height = h, "a reorganised deposit confirmed again");
                }
                (_, Some(_)) => {}
                (_, None) => {
                    tracing::warn!(%txid, "a reorganised deposit's transaction is gone; the deposit fails");
                    self.db.write(async |tx| drop_deposit(tx, id).await).await?;
                }
            }
        }
        // The marker moves only once every credited deposit was checked; it is the tip the
        // check started at, so a block mined meanwhile is looked at again.
        if unfinished.is_none() {
            *self.last_deposit_tip.lock().expect("not poisoned") = Some(sweep_tip);
        }
        *self.deposit_reorg_sweep.lock().expect("not poisoned") = unfinished;
        Ok(())
    }
}

async fn deposit(conn: &mut AnyConnection, id: i64) -> Result<(Operation, i64), sqlx::Error> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS}, reorg_held FROM operations WHERE id = $1"
    ))
    .bind(id)
    .fetch_one(&mut *conn)
    .await?;
    let held: Option<i64> = row.try_get("reorg_held")?;
    Ok((Operation::from_row(&row)?, held.unwrap_or(0)))
}

async fn balance_of(
    conn: &mut AnyConnection,
    key_id: i64,
    point_system_id: i64,
) -> Result<(i64, i64), sqlx::Error> {
    let row = sqlx::query(
        "SELECT available, confirmed FROM balances WHERE key_id = $1 AND point_system_id = $2",
    )
    .bind(key_id)
    .bind(point_system_id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(match row {
        Some(r) => (r.try_get(0)?, r.try_get(1)?),
        None => (0, 0),
    })
}

async fn unconfirm_deposit(conn: &mut AnyConnection, id: i64) -> anyhow::Result<()> {
    let (op, _) = deposit(conn, id).await?;
    let Some(key_id) = op.to_key_id else {
        return Ok(());
    };
    let amount = op.amount as i64;
    let (available, confirmed) = balance_of(conn, key_id, op.point_system_id).await?;
    let held = available.min(amount);
    let moved = sqlx::query(
        "UPDATE operations SET state = 'broadcast', height = NULL, reorg_held = $1, updated_at = $2 \
         WHERE id = $3 AND state = 'confirmed'",
    )
    .bind(held)
    .bind(clock::now())
    .bind(id)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if moved == 1 {
        balances::add(
            conn,
            key_id,
            op.point_system_id,
            -held,
            amount,
            -amount.min(confirmed),
        )
        .await?;
    }
    Ok(())
}

async fn confirm_deposit_again(
    conn: &mut AnyConnection,
    id: i64,
    height: i64,
) -> anyhow::Result<()> {
    let (op, held) = deposit(conn, id).await?;
    let Some(key_id) = op.to_key_id else {
        return Ok(());
    };
    let amount = op.amount as i64;
    let row = sqlx::query(&format!(
        "UPDATE operations SET state = 'confirmed', height = $1, reorg_held = NULL, updated_at = $2, \
           credited_at = COALESCE(credited_at, $2) \
         WHERE id = $3 AND state = 'broadcast' RETURNING {COLUMNS}"
    ))
    .bind(height)
    .bind(clock::now())
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(row) = row {
        balances::add(conn, key_id, op.point_system_id, held, -amount, amount).await?;
        let op = Operation::from_row(&row)?;
        settle::emit_operation_event(conn, &op, EventType::OperationConfirmed).await?;
    }
    Ok(())
}

/// A deposit failed as gone whose transaction is in a block after all: credited again
/// (the points held back return; those spent meanwhile were never taken).
async fn revive_deposit(conn: &mut AnyConnection, id: i64, height: i64) -> anyhow::Result<()> {
    let (op, held) = deposit(conn, id).await?;
    let Some(key_id) = op.to_key_id else {
        return Ok(());
    };
    let row = sqlx::query(&format!(
        "UPDATE operations SET state = 'confirmed', height = $1, error = NULL, reorg_held = NULL, updated_at = $2, \
           credited_at = COALESCE(credited_at, $2) \
         WHERE id = $3 AND state = 'failed' AND reorg_held IS NOT NULL RETURNING {COLUMNS}"
    ))
    .bind(height)
    .bind(clock::now())
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(row) = row {
        balances::add(conn, key_id, op.point_system_id, held, 0, op.amount as i64).await?;
        let op = Operation::from_row(&row)?;
        settle::emit_operation_event(conn, &op, EventType::OperationConfirmed).await?;
    }
    Ok(())
}

async fn drop_deposit(conn: &mut AnyConnection, id: i64) -> anyhow::Result<()> {
    let (op, held) = deposit(conn, id).await?;
    let Some(key_id) = op.to_key_id else {
        return Ok(());
    };
    let amount = op.amount as i64;
    let spent = amount - held;
    let reason = if spent > 0 {
        format!("the deposit's transaction left the chain; {spent} of its points had already been spent and could not be taken back")
    } else {
        "the deposit's transaction left the chain".to_owned()
    };
    let row = sqlx::query(&format!(
        "UPDATE operations SET state = 'failed', error = $1, updated_at = $2 \
         WHERE id = $3 AND state = 'broadcast' RETURNING {COLUMNS}"
    ))
    .bind(&reason)
    .bind(clock::now())
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(row) = row {
        balances::add(conn, key_id, op.point_system_id, 0, -amount, 0).await?;
        let op = Operation::from_row(&row)?;
        settle::emit_operation_event(conn, &op, EventType::OperationFailed).await?;
        if spent > 0 {
            tracing::error!(operation = id, spent, "a vanished deposit had already been spent: the customer's balance exceeds the chain");
        }
    }
    Ok(())
}

async fn record_deposits(
    conn: &mut AnyConnection,
    transaction: &TxInfo,
    height: i64,
    depth: u64,
    depths: &DepositDepths,
) -> anyhow::Result<()> {
    let ours: Option<i64> = sqlx::query_scalar("SELECT id FROM chain_txs WHERE txid = $1")
        .bind(&transaction.hash)
        .fetch_optional(&mut *conn)
        .await?;
    if ours.is_some() {
        return Ok(());
    }
    for (index, output) in transaction.outputs.iter().enumerate() {
        let attachment = &output["attachment"];
        // Asset transfers only (type 2, status 2); issues and ETP are not points arriving.
        if attachment["type"] != 2 || attachment["status"] != 2 {
            continue;
        }
        let (Some(address), Some(symbol), Some(quantity)) = (
            output["address"].as_str(),
            attachment["symbol"].as_str(),
            attachment["quantity"].as_u64(),
        ) else {
            continue;
        };
        let target = sqlx::query(
            "SELECT c.key_id, p.id FROM customers c JOIN custody_keys k ON k.id = c.key_id, point_systems p \
             WHERE k.address = $1 AND p.symbol = $2 AND p.status = 'confirmed'",
        )
        .bind(address)
        .bind(symbol)
        .fetch_optional(&mut *conn)
        .await?;
        let Some(target) = target else { continue };
        let (key_id, point_system_id): (i64, i64) = (target.try_get(0)?, target.try_get(1)?);
        let now = clock::now();
        // Deep enough for its store: confirmed and spendable at once. Not yet: pending,
        // every point held back until the block is as deep as the store asks (the
        // reorganisation follow-up confirms it then, or fails it if it vanishes).
        let deep_enough = depth >= depths.of(point_system_id);
        let amount = quantity as i64;
        let row = sqlx::query(&format!(
            "INSERT INTO operations (point_system_id, kind, amount, to_key_id, to_address, actor, idempotency_key, \
               state, txid, height, credited_at, reorg_held, created_at, updated_at) \
             VALUES ($1, 'deposit', $2, $3, $4, 'chain', $5, $6, $7, $8, $9, $10, $11, $11) \
             ON CONFLICT (point_system_id, idempotency_key) WHERE idempotency_key IS NOT NULL \
             DO NOTHING RETURNING {COLUMNS}"
        ))
        .bind(point_system_id)
        .bind(amount)
        .bind(key_id)
        .bind(address)
        .bind(format!("deposit:{}:{index}", transaction.hash))
        .bind(if deep_enough { "confirmed" } else { "broadcast" })
        .bind(&transaction.hash)
        .bind(height)
        .bind(deep_enough.then_some(now))
        .bind((!deep_enough).then_some(amount))
        .bind(now)
        .fetch_optional(&mut *conn)
        .await?;
        let Some(row) = row else { continue };
        let op = Operation::from_row(&row)?;
        if deep_enough {
            // Arrived from outside and already deep enough: spendable and confirmed at once.
            balances::add(conn, key_id, point_system_id, amount, 0, amount).await?;
            settle::emit_operation_event(conn, &op, EventType::OperationConfirmed).await?;
            tracing::info!(txid = %transaction.hash, %address, symbol, quantity, "deposit credited");
        } else {
            balances::add(conn, key_id, point_system_id, 0, amount, 0).await?;
            settle::emit_operation_event(conn, &op, EventType::OperationBroadcast).await?;
            tracing::info!(txid = %transaction.hash, %address, symbol, quantity, depth, "deposit seen; pending until the store's confirmations");
        }
    }
    Ok(())
}

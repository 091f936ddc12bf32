//! Deposits: MST outputs that pay a customer's custodial address from outside the platform.
//!
//! Blocks are read once they are as deep as the required confirmations, so a deposit is
//! credited as confirmed and spendable at once. Each output is recorded under the
//! idempotency key `deposit:TXID:INDEX`, so reading a block twice credits nothing twice.

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
        let Some(deepest) = (tip + 1).checked_sub(self.settings.required_confirmations) else {
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
                record_deposits(&mut tx, transaction, height as i64).await?;
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

async fn record_deposits(
    conn: &mut AnyConnection,
    transaction: &TxInfo,
    height: i64,
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
        let row = sqlx::query(&format!(
            "INSERT INTO operations (point_system_id, kind, amount, to_key_id, to_address, actor, idempotency_key, \
               state, txid, height, credited_at, created_at, updated_at) \
             VALUES ($1, 'deposit', $2, $3, $4, 'chain', $5, 'confirmed', $6, $7, $8, $8, $8) \
             ON CONFLICT (point_system_id, idempotency_key) DO NOTHING RETURNING {COLUMNS}"
        ))
        .bind(point_system_id)
        .bind(quantity as i64)
        .bind(key_id)
        .bind(address)
        .bind(format!("deposit:{}:{index}", transaction.hash))
        .bind(&transaction.hash)
        .bind(height)
        .bind(now)
        .fetch_optional(&mut *conn)
        .await?;
        let Some(row) = row else { continue };
        let op = Operation::from_row(&row)?;
        // Arrived from outside and already deep enough: spendable and confirmed at once.
        balances::add(
            conn,
            key_id,
            point_system_id,
            quantity as i64,
            0,
            quantity as i64,
        )
        .await?;
        settle::emit_operation_event(conn, &op, EventType::OperationConfirmed).await?;
        tracing::info!(txid = %transaction.hash, %address, symbol, quantity, "deposit credited");
    }
    Ok(())
}

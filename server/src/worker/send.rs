//! Turning queued operations into signed, stored chain transactions.
//!
//! Operations leaving the same custodial address for the same point system share one
//! transaction (one output each, up to a bound): a store's awards within a batch window
//! become one MST transfer from its treasury.

use anyhow::Context;
use app::domain::ledger::{operation::COLUMNS, Operation};
use mvs::{
    builder::{MstTransfer, Recipient, Spendable},
    consensus::MIN_TX_FEE,
    rpc::Utxo,
    Address,
};
use sqlx::Row;

use super::{
    chain_txs::{self, skip_locked, Purpose},
    selection::{select_asset, select_etp},
    Worker,
};

/// A source of queued operations: one point system, one sending address.
#[derive(Debug)]
struct Lane {
    point_system_id: i64,
    symbol: String,
    from_key_id: i64,
    from_address: String,
}

/// Bound on the transactions one lane sends in one round, so one store's backlog cannot
/// keep the worker from following the chain and serving the other stores.
const MAX_BATCHES_PER_LANE_AND_ROUND: usize = 8;

impl Worker {
    /// Signs and stores transactions for queued operations. True when a lane stopped at
    /// its bound with full transactions: operations are still queued behind them.
    pub(super) async fn send_queued(&self) -> anyhow::Result<bool> {
        let mut backlog = false;
        for lane in self.lanes().await? {
            // A backlog larger than one transaction leaves in several this round (not one
            // per round): each is broadcast before the next is built, so the next one can
            // spend its change.
            let mut full = 0;
            for _ in 0..MAX_BATCHES_PER_LANE_AND_ROUND {
                match self.send_lane(&lane).await {
                    Ok(0) => break,
                    Ok(operations) => {
                        if operations < self.settings.max_outputs_per_tx {
                            break;
                        }
                        full += 1;
                        self.broadcast_due().await?;
                    }
                    Err(error) => {
                        tracing::warn!(
                            ?lane,
                            error = format!("{error:#}"),
                            "building a transaction failed; will retry"
                        );
                        break;
                    }
                }
            }
            backlog |= full == MAX_BATCHES_PER_LANE_AND_ROUND;
        }
        Ok(backlog)
    }

    /// Lanes with queued operations that are due, the longest waiting first. A store with
    /// its own batch window waits until its oldest queued operation of the lane is that
    /// old, so the operations that arrive meanwhile share one transaction; a store without
    /// one follows the platform's window, which is the pause between rounds. The window is
    /// applied in SQL, before the limit, so lanes still waiting cannot fill the page and
    /// starve due ones. Creation times are whole seconds, so the wait is counted from the
    /// end of that second: never shorter than the window, at most a second longer.
    async fn lanes(&self) -> anyhow::Result<Vec<Lane>> {
        let rows = sqlx::query(
            "SELECT o.point_system_id, p.symbol, o.from_key_id, k.address \
             FROM operations o JOIN point_systems p ON p.id = o.point_system_id \
             JOIN stores s ON s.id = p.store_id \
             JOIN custody_keys k ON k.id = o.from_key_id \
             WHERE o.state = 'queued' AND p.status = 'confirmed' \
             GROUP BY o.point_system_id, p.symbol, o.from_key_id, k.address, s.batch_window_ms \
             HAVING COALESCE(s.batch_window_ms, 0) = 0 \
               OR (MIN(o.created_at) + 1) * 1000 + s.batch_window_ms <= $1 \
             ORDER BY MIN(o.id) LIMIT 100",
        )
        .bind(app::domain::clock::now_millis())
        .fetch_all(self.db.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Lane {
                    point_system_id: r.try_get(0)?,
                    symbol: r.try_get(1)?,
                    from_key_id: r.try_get(2)?,
                    from_address: r.try_get(3)?,
                })
            })
            .collect()
    }

    /// One batch for one lane; the number of operations it carries. `Ok(0)` when another
    /// worker took the operations or the inputs first (nothing changed; the next round tries
    /// again).
    async fn send_lane(&self, lane: &Lane) -> anyhow::Result<usize> {
        // Chain look-ups and key opening happen before the write transaction, so the
        // database is never locked while waiting on the node.
        let reserved = chain_txs::Reservations::read(&self.db).await?;
        let asset_utxos = self
            .chain
            .list_asset_utxos(&lane.from_address, &lane.symbol)
            .await?;
        let fee_utxos = self.chain.list_etp_utxos(&self.fee_wallet.address).await?;
        let from_key = self.vault.private_key(&self.db, lane.from_key_id).await?;
        let fee_key = self
            .vault
            .private_key(&self.db, self.fee_wallet.key_id)
            .await?;

        let mut tx = self.db.begin_write().await?;
        let claimed: Vec<Operation> = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM operations WHERE state = 'queued' AND point_system_id = $1 AND from_key_id = $2 \
             ORDER BY id LIMIT $3{}",
            skip_locked(self.db.dialect())
        ))
        .bind(lane.point_system_id)
        .bind(lane.from_key_id)
        .bind(self.settings.max_outputs_per_tx as i64)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(Operation::from_row)
        .collect::<Result<_, _>>()?;
        if claimed.is_empty() {
            return Ok(0);
        }
        let needed: u64 = claimed.iter().map(|op| op.amount).sum();
        let Some(asset_inputs) = select_asset(&asset_utxos, &reserved, needed) else {
            // The ledger reserved these points, so the chain will show them once the
            // transactions that bring them are visible; wait for the next round.
            tracing::info!(
                ?lane,
                needed,
                "sending address holds too few unreserved points yet"
            );
            return Ok(0);
        };
        let Some(fee_inputs) = select_etp(&fee_utxos, &reserved, MIN_TX_FEE) else {
            tracing::warn!(address = %self.fee_wallet.address, "the fee wallet cannot pay a transaction fee");
            return Ok(0);
        };
        let recipients = claimed
            .iter()
            .map(recipient)
            .collect::<anyhow::Result<Vec<_>>>()?;
        let transaction = MstTransfer {
            network: self.vault.network(),
            symbol: lane.symbol.clone(),
            asset_inputs: spendables(&asset_inputs, &from_key)?,
            recipients,
            asset_change: Address::parse(&lane.from_address)?,
            fee_inputs: spendables(&fee_inputs, &fee_key)?,
            fee_change: Address::parse(&self.fee_wallet.address)?,
            fee: MIN_TX_FEE,
        }
        .build()
        .context("building the transfer")?;

        let Some(chain_tx_id) = chain_txs::record_signed(
            &mut tx,
            &transaction,
            Purpose::Transfer,
            Some(lane.point_system_id),
            &reserved,
        )
        .await?
        else {
            // Another worker reserved one of these outputs first, or the list was too old:
            // leave the operations queued.
            return Ok(0);
        };
        let txid = transaction.txid().to_string();
        // One statement for the whole batch: a statement per operation held the write lock
        // (all of SQLite) for hundreds of round trips while API writes waited.
        let ids = claimed
            .iter()
            .map(|op| op.id.to_string())
            .collect::<Vec<_>>()
            .join(",");
        let signed = sqlx::query(&format!(
            "UPDATE operations SET state = 'signed', chain_tx_id = $1, txid = $2, updated_at = $3 \
             WHERE id IN ({ids}) AND state = 'queued'"
        ))
        .bind(chain_tx_id)
        .bind(&txid)
        .bind(app::domain::clock::now())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if signed != claimed.len() as u64 {
            // An operation left `queued` meanwhile (cancelled, or claimed by another worker
            // on a database without row locks): the transaction would pay an operation
            // that is no longer ours to send. Nothing is stored; the next round rebuilds.
            tx.rollback().await?;
            tracing::error!(
                ?lane,
                %txid,
                claimed = claimed.len(),
                signed,
                "a batch's operations changed while it was built; not sent"
            );
            return Ok(0);
        }
        tx.commit().await?;
        tracing::info!(%txid, operations = claimed.len(), points = needed, "transfer signed and stored");
        Ok(claimed.len())
    }
}

/// The output an operation asks for: an address, or an avatar bound to its address.
fn recipient(op: &Operation) -> anyhow::Result<Recipient> {
    let address = Address::parse(&op.to_address)
        .with_context(|| format!("operation {} has a bad address", op.id))?;
    Ok(match &op.to_avatar {
        Some(avatar) => Recipient::avatar(avatar.clone(), address, op.amount),
        None => Recipient::address(address, op.amount),
    })
}

/// Listed outputs as builder inputs signed by `key`.
pub(super) fn spendables(
    utxos: &[Utxo],
    key: &mvs::keys::PrivateKey,
) -> anyhow::Result<Vec<Spendable>> {
    utxos
        .iter()
        .map(|u| {
            Ok(Spendable {
                outpoint: u
                    .outpoint()
                    .context("the node listed a malformed outpoint")?,
                output: u
                    .to_output()
                    .context("the node listed an output this wallet cannot spend")?,
                key: key.clone(),
            })
        })
        .collect()
}

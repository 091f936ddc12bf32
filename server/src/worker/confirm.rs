//! Following broadcast transactions to the required depth (the store's own, else the
//! platform's), and noticing when one vanishes.

use mvs::rpc::codes;

use super::{
    broadcast::{classify, BroadcastOutcome},
    chain_txs, Worker,
};

/// Blocks on top of and including the one holding the transaction.
pub fn confirmations(tip: u64, height: u64) -> u64 {
    if height == 0 || height > tip {
        0
    } else {
        tip - height + 1
    }
}

/// How far back confirmed transactions are watched for reorganisations.
const REORG_WINDOW: u64 = 100;

impl Worker {
    /// Finds confirmed transactions that are no longer in the block they were confirmed in
    /// (a reorganisation) and puts them back in flight; the next rounds confirm them again
    /// or broadcast them again.
    pub(super) async fn follow_reorganisations(&self, tip: u64) -> anyhow::Result<()> {
        let tip_hash = self
            .chain
            .get_block(mvs::rpc::BlockRef::Height(tip))
            .await?
            .hash;
        if self.last_tip.lock().expect("not poisoned").as_deref() == Some(tip_hash.as_str()) {
            // Same tip as last round: nothing can have been reorganised.
            return Ok(());
        }
        let recent =
            chain_txs::recently_confirmed(&self.db, tip.saturating_sub(REORG_WINDOW) as i64)
                .await?;
        let mut undone = Vec::new();
        for (chain_tx, height) in recent {
            let txid: mvs::tx::Txid = chain_tx.txid.parse()?;
            let still_there = match self.chain.get_tx(&txid).await {
                Ok(info) => info.height as i64 == height,
                Err(e) if e.code() == Some(codes::TX_NOT_FOUND) => false,
                // Cannot tell now: look again next round rather than guess.
                Err(_) => return Ok(()),
            };
            if !still_there {
                tracing::warn!(txid = %chain_tx.txid, height, "a confirmed transaction left its block (reorganisation)");
                undone.push(chain_tx);
            }
        }
        if !undone.is_empty() {
            chain_txs::mark_reorganised(&self.db, &undone).await?;
        }
        *self.last_tip.lock().expect("not poisoned") = Some(tip_hash);
        Ok(())
    }

    /// Confirms what is deep enough; rebroadcasts what the node no longer knows.
    pub(super) async fn follow_confirmations(&self, tip: u64) -> anyhow::Result<()> {
        // Stores may ask for their own depth; everything else (fee splits, stores that
        // never chose) follows the platform's setting.
        let overrides = app::domain::store_settings::confirmation_overrides(&self.db).await?;
        for chain_tx in chain_txs::in_flight(&self.db).await? {
            let txid: mvs::tx::Txid = chain_tx.txid.parse()?;
            let required = chain_tx
                .point_system_id
                .and_then(|id| overrides.get(&id).copied())
                .unwrap_or(self.settings.required_confirmations);
            match self.chain.get_tx(&txid).await {
                Ok(info) => {
                    let depth = confirmations(tip, info.height);
                    if depth >= required {
                        chain_txs::mark_confirmed(&self.db, &chain_tx, info.height as i64).await?;
                        tracing::info!(txid = %chain_tx.txid, height = info.height, depth, required, "confirmed");
                    } else {
                        let height = (info.height > 0).then_some(info.height as i64);
                        chain_txs::record_height(&self.db, &chain_tx, height).await?;
                    }
                }
                // Gone from pool and chain (a reorganisation, an eviction, a node restart
                // without its pool): the stored bytes go out again.
                Err(e) if e.code() == Some(codes::TX_NOT_FOUND) => {
                    tracing::warn!(txid = %chain_tx.txid, "transaction disappeared; broadcasting it again");
                    chain_txs::record_height(&self.db, &chain_tx, None).await?;
                    match classify(self.chain.send_raw_tx(&chain_tx.raw_hex).await) {
                        BroadcastOutcome::Accepted | BroadcastOutcome::Unknown(_) => {}
                        BroadcastOutcome::Rejected(reason) => {
                            chain_txs::mark_rejected(&self.db, &chain_tx, &reason).await?
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(txid = %chain_tx.txid, error = %e, "cannot look the transaction up; will retry");
                    return Ok(());
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::confirmations;

    #[test]
    fn depth_counts_the_block_itself() {
        assert_eq!(confirmations(10, 0), 0, "unconfirmed");
        assert_eq!(confirmations(10, 10), 1);
        assert_eq!(confirmations(10, 8), 3);
        assert_eq!(
            confirmations(7, 8),
            0,
            "a height above the tip is a stale answer"
        );
    }
}

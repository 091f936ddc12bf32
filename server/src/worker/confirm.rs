//! Following broadcast transactions to the required depth, and noticing when one vanishes.

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

impl Worker {
    /// Confirms what is deep enough; rebroadcasts what the node no longer knows.
    pub(super) async fn follow_confirmations(&self) -> anyhow::Result<()> {
        let in_flight = chain_txs::in_flight(&self.db).await?;
        if in_flight.is_empty() {
            return Ok(());
        }
        let tip = self.chain.get_height().await?;
        for chain_tx in in_flight {
            let txid: mvs::tx::Txid = chain_tx.txid.parse()?;
            match self.chain.get_tx(&txid).await {
                Ok(info) => {
                    let depth = confirmations(tip, info.height);
                    if depth >= self.settings.required_confirmations {
                        chain_txs::mark_confirmed(&self.db, &chain_tx, info.height as i64).await?;
                        tracing::info!(txid = %chain_tx.txid, height = info.height, depth, "confirmed");
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
                        BroadcastOutcome::Rejected(reason) => chain_txs::mark_rejected(&self.db, &chain_tx, &reason).await?,
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
        assert_eq!(confirmations(7, 8), 0, "a height above the tip is a stale answer");
    }
}

//! Handing stored transactions to the node, and classifying its answer.

use mvs::rpc::RpcError;

use super::{chain_txs, Worker};

/// What the node's answer to `sendrawtx` means for a stored transaction.
#[derive(Debug, PartialEq, Eq)]
pub enum BroadcastOutcome {
    /// In the pool now, or it was already there or in a block.
    Accepted,
    /// The node refused it for good; the reason is the node's.
    Rejected(String),
    /// Timeout, connection refused, garbled answer: it may or may not have arrived.
    Unknown(String),
}

/// Classifies a `sendrawtx` result.
pub fn classify(result: Result<mvs::tx::Txid, RpcError>) -> BroadcastOutcome {
    match result {
        Ok(_) => BroadcastOutcome::Accepted,
        Err(e) if e.is_already_known() => BroadcastOutcome::Accepted,
        Err(e) if e.is_definitely_rejected() => BroadcastOutcome::Rejected(e.to_string()),
        Err(e) => BroadcastOutcome::Unknown(e.to_string()),
    }
}

impl Worker {
    /// Broadcasts every stored transaction that is due, oldest first. Stops at the first
    /// unknown outcome: later transactions may spend its outputs and would be refused.
    pub(super) async fn broadcast_due(&self) -> anyhow::Result<()> {
        for chain_tx in chain_txs::due_for_broadcast(&self.db).await? {
            match classify(self.chain.send_raw_tx(&chain_tx.raw_hex).await) {
                BroadcastOutcome::Accepted => {
                    tracing::info!(txid = %chain_tx.txid, purpose = %chain_tx.purpose, "broadcast");
                    chain_txs::mark_broadcast(&self.db, &chain_tx).await?;
                }
                BroadcastOutcome::Rejected(reason) => {
                    tracing::warn!(txid = %chain_tx.txid, %reason, "the node rejected a transaction");
                    chain_txs::mark_rejected(&self.db, &chain_tx, &reason).await?;
                }
                BroadcastOutcome::Unknown(error) => {
                    tracing::warn!(txid = %chain_tx.txid, %error, "broadcast outcome unknown; will retry");
                    chain_txs::schedule_retry(&self.db, &chain_tx, &error).await?;
                    break;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_answers_are_classified() {
        let txid: mvs::tx::Txid = "ab".repeat(32).parse().unwrap();
        assert_eq!(classify(Ok(txid)), BroadcastOutcome::Accepted);
        let rejected = RpcError::Rejected {
            code: mvs::rpc::codes::TX_VALIDATE_FAILED,
            message: "double spend".into(),
        };
        assert!(
            matches!(classify(Err(rejected)), BroadcastOutcome::Rejected(m) if m.contains("double spend"))
        );
        assert!(matches!(
            classify(Err(RpcError::Timeout)),
            BroadcastOutcome::Unknown(_)
        ));
    }
}

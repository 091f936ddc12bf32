//! Following broadcast transactions to the required depth (the store's own, else the
//! platform's), and noticing when one vanishes.

use std::collections::{hash_map::Entry, HashMap, HashSet};
use std::time::{Duration, Instant};

use mvs::rpc::{codes, BlockRef, BlockSummary};

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

/// How often transactions in flight are looked up while no block arrives.
const FOLLOW_UNCHANGED_TIP_EVERY: Duration = Duration::from_secs(10);

impl Worker {
    /// Finds confirmed transactions that are no longer in the block they were confirmed in
    /// (a reorganisation) and puts them back in flight; the next rounds confirm them again
    /// or broadcast them again.
    ///
    /// Nothing below the tip seen last time can have changed when the new tip descends
    /// from it: then a block header or two are enough. Otherwise every block holding a
    /// recently confirmed transaction is looked at, by its txids only (a block of batched
    /// transfers is megabytes of JSON with the transactions; the profile of a settlement
    /// showed the worker's JSON decoding beside the awards).
    pub(super) async fn follow_reorganisations(&self, tip: &BlockSummary) -> anyhow::Result<()> {
        let last = self.last_tip.lock().expect("not poisoned").clone();
        let unchanged = match &last {
            Some(last) => self.descends_from(tip, last).await,
            None => false,
        };
        if !unchanged && !self.confirmed_still_in_their_blocks(tip.number).await? {
            // Cannot tell now: look again next round rather than guess.
            return Ok(());
        }
        *self.last_tip.lock().expect("not poisoned") = Some((tip.number, tip.hash.clone()));
        Ok(())
    }

    /// Whether the block `last` (height, hash) is `tip` or one of its ancestors, walking
    /// back at most [`REORG_WINDOW`] headers; `false` when it cannot tell.
    async fn descends_from(&self, tip: &BlockSummary, last: &(u64, String)) -> bool {
        let (last_height, last_hash) = last;
        if tip.number < *last_height || tip.number - last_height > REORG_WINDOW {
            return false;
        }
        let (mut height, mut hash) = (tip.number, tip.hash.clone());
        let mut parent = tip.previous_block_hash.clone();
        while height > *last_height {
            if height - 1 == *last_height {
                // The parent's hash is in this header: no need to fetch the parent.
                return parent == *last_hash;
            }
            match self.chain.get_block_summary(BlockRef::Hash(parent)).await {
                Ok(block) => {
                    (height, hash) = (block.number, block.hash);
                    parent = block.previous_block_hash;
                }
                Err(_) => return false,
            }
        }
        hash == *last_hash
    }

    /// Puts back in flight the recently confirmed transactions the blocks at their heights
    /// no longer hold. `false` when the node could not be asked.
    async fn confirmed_still_in_their_blocks(&self, tip: u64) -> anyhow::Result<bool> {
        let recent =
            chain_txs::recently_confirmed(&self.db, tip.saturating_sub(REORG_WINDOW) as i64)
                .await?;
        let mut blocks: HashMap<i64, HashSet<String>> = HashMap::new();
        let mut undone = Vec::new();
        for (chain_tx, height) in recent {
            let txids = match blocks.entry(height) {
                Entry::Occupied(known) => known.into_mut(),
                Entry::Vacant(slot) => {
                    let txids = match self
                        .chain
                        .get_block_summary(BlockRef::Height(height as u64))
                        .await
                    {
                        Ok(block) => block.transactions.into_iter().collect(),
                        // Above the tip now: the block is gone.
                        Err(e) if e.code() == Some(codes::BAD_PARAMS) && height as u64 > tip => {
                            HashSet::new()
                        }
                        Err(_) => return Ok(false),
                    };
                    slot.insert(txids)
                }
            };
            if !txids.contains(&chain_tx.txid) {
                tracing::warn!(txid = %chain_tx.txid, height, "a confirmed transaction left its block (reorganisation)");
                undone.push(chain_tx);
            }
        }
        if !undone.is_empty() {
            chain_txs::mark_reorganised(&self.db, &undone).await?;
        }
        Ok(true)
    }

    /// Confirms what is deep enough; rebroadcasts what the node no longer knows.
    ///
    /// While the tip stays the same no transaction can get deeper, so the transactions in
    /// flight are looked up again only when a block arrived, or after
    /// [`FOLLOW_UNCHANGED_TIP_EVERY`] (to notice one the node dropped from its pool). One in
    /// the tip block needs no look-up: its height is the tip's.
    pub(super) async fn follow_confirmations(
        &self,
        tip_block: &BlockSummary,
    ) -> anyhow::Result<()> {
        let tip = tip_block.number;
        let followed = self.last_followed.lock().expect("not poisoned").clone();
        if followed.is_some_and(|(hash, at)| {
            hash == tip_block.hash && at.elapsed() < FOLLOW_UNCHANGED_TIP_EVERY
        }) {
            return Ok(());
        }
        let in_tip: HashSet<&str> = tip_block.transactions.iter().map(String::as_str).collect();
        // Stores may ask for their own depth; everything else (fee splits, stores that
        // never chose) follows the platform's setting.
        let overrides = app::domain::store_settings::confirmation_overrides(&self.db).await?;
        for chain_tx in chain_txs::in_flight(&self.db).await? {
            let txid: mvs::tx::Txid = chain_tx.txid.parse()?;
            let required = chain_tx
                .point_system_id
                .and_then(|id| overrides.get(&id).copied())
                .unwrap_or(self.settings.required_confirmations);
            // The block height holding it, 0 while in the pool.
            let found = if in_tip.contains(chain_tx.txid.as_str()) {
                Ok(tip)
            } else {
                self.chain.get_tx(&txid).await.map(|info| info.height)
            };
            match found {
                Ok(found) => {
                    let depth = confirmations(tip, found);
                    if depth >= required {
                        chain_txs::mark_confirmed(&self.db, &chain_tx, found as i64).await?;
                        tracing::info!(txid = %chain_tx.txid, height = found, depth, required, "confirmed");
                    } else {
                        let height = (found > 0).then_some(found as i64);
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
        *self.last_followed.lock().expect("not poisoned") =
            Some((tip_block.hash.clone(), Instant::now()));
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

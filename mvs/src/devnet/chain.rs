//! The block chain: blocks in order, the ledger they produce, the pool of pending
//! transactions, block production and invalidation (reorganisation).

use std::collections::HashMap;

use super::block::{merkle_root, Block, BlockHeader};
use super::mempool::Mempool;
use super::state::{Effects, Ledger, Overlay, PendingView, TxLocation};
use super::validate::{created_outputs, validate, ValidationOptions};
use crate::address::Address;
use crate::attachment::Attachment;
use crate::consensus::RuleError;
use crate::hash::Hash256;
use crate::network::Network;
use crate::script::Script;
use crate::tx::{Input, OutPoint, Output, Transaction, Txid, SEQUENCE_FINAL, TX_VERSION};

/// Most transactions per block; the rest wait for the next block.
pub const MAX_BLOCK_TRANSACTIONS: usize = 100_000;
const BLOCK_VERSION: u32 = 1;
const BLOCK_BITS: u32 = 0x207f_ffff;

/// Why a block could not be connected or invalidated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    /// No block with that hash on the chain.
    #[error("block {0} not found")]
    UnknownBlock(Hash256),
    /// Genesis holds the initial funds and cannot be removed.
    #[error("the genesis block cannot be invalidated")]
    Genesis,
    /// A block that does not extend the tip.
    #[error("block at height {0} does not extend the tip")]
    NotOnTip(u64),
    /// A block without a proper coinbase.
    #[error("block at height {0} has an invalid coinbase")]
    BadCoinbase(u64),
    /// A transaction in a block breaks a rule.
    #[error("block at height {height}: transaction {txid}: {error}")]
    InvalidTransaction {
        /// Height.
        height: u64,
        /// Offending transaction.
        txid: Txid,
        /// Why.
        error: RuleError,
    },
}

struct Staged {
    tx: Transaction,
    txid: Txid,
    effects: Effects,
}

/// A chain with its ledger and pool.
#[derive(Debug)]
pub struct Chain {
    network: Network,
    blocks: Vec<Block>,
    hashes: Vec<Hash256>,
    by_hash: HashMap<Hash256, u64>,
    ledger: Ledger,
    mempool: Mempool,
}

/// The coinbase of block `height`, paying `outputs`. The height in its script keeps
/// coinbase txids unique.
pub fn coinbase(height: u64, outputs: Vec<Output>) -> Transaction {
    Transaction {
        version: TX_VERSION,
        inputs: vec![Input {
            previous_output: OutPoint::NULL,
            script: Script::from_pushes(&[&height.to_le_bytes(), b"pointmint devnet"]),
            sequence: SEQUENCE_FINAL,
        }],
        outputs,
        lock_time: 0,
    }
}

/// The genesis block: pays `amount` satoshi to `address` (or nothing).
pub fn genesis_block(address: Option<&Address>, amount: u64, timestamp: u32) -> Block {
    let output = match address {
        Some(a) => Output {
            value: amount,
            script_pubkey: a.script_pubkey(),
            attachment: Attachment::etp(),
        },
        None => Output {
            value: 0,
            script_pubkey: Script::op_return(),
            attachment: Attachment::etp(),
        },
    };
    let cb = coinbase(0, vec![output]);
    Block {
        header: BlockHeader {
            version: BLOCK_VERSION,
            previous_block_hash: Hash256::ZERO,
            merkle_tree_hash: merkle_root(&[cb.txid()]),
            timestamp,
            bits: BLOCK_BITS,
            nonce: 0,
            number: 0,
        },
        transactions: vec![cb],
    }
}

impl Chain {
    /// A chain holding only `genesis`.
    pub fn new(network: Network, genesis: Block) -> Result<Chain, ChainError> {
        let mut chain = Chain {
            network,
            blocks: Vec::new(),
            hashes: Vec::new(),
            by_hash: HashMap::new(),
            ledger: Ledger::new(network),
            mempool: Mempool::new(),
        };
        chain.connect(genesis)?;
        Ok(chain)
    }

    /// The network.
    pub fn network(&self) -> Network {
        self.network
    }

    /// Height of the tip (genesis is 0).
    pub fn height(&self) -> u64 {
        self.blocks.len() as u64 - 1
    }

    /// Hash of the tip.
    pub fn tip_hash(&self) -> Hash256 {
        *self.hashes.last().expect("genesis exists")
    }

    /// Block at `height`.
    pub fn block_at(&self, height: u64) -> Option<(&Block, Hash256)> {
        let h = usize::try_from(height).ok()?;
        Some((self.blocks.get(h)?, self.hashes[h]))
    }

    /// Height of the block with `hash`.
    pub fn height_of(&self, hash: &Hash256) -> Option<u64> {
        self.by_hash.get(hash).copied()
    }

    /// Confirmed state.
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// Pending transactions.
    pub fn mempool(&self) -> &Mempool {
        &self.mempool
    }

    /// State including pending transactions.
    pub fn pending_view(&self) -> PendingView<'_> {
        self.mempool.view(&self.ledger)
    }

    /// A transaction and its height (0 while pending).
    pub fn find_tx(&self, txid: &Txid) -> Option<(&Transaction, u64)> {
        if let Some(loc) = self.ledger.tx_location(txid) {
            let block = &self.blocks[loc.height as usize];
            return Some((&block.transactions[loc.position as usize], loc.height));
        }
        self.mempool.get(txid).map(|tx| (tx, 0))
    }

    /// Validates a broadcast transaction fully and adds it to the pool.
    pub fn submit(&mut self, tx: Transaction) -> Result<Txid, RuleError> {
        self.mempool
            .add(&self.ledger, tx, self.network, ValidationOptions::BROADCAST)
    }

    /// Validates the transactions in order against the ledger, each seeing the ones before.
    /// With `skip_invalid` a failing transaction is left out; otherwise it fails the batch.
    fn stage(
        &self,
        txs: Vec<Transaction>,
        options: ValidationOptions,
        skip_invalid: bool,
    ) -> Result<Vec<Staged>, (Txid, RuleError)> {
        let mut overlay = Overlay::default();
        let mut staged = Vec::with_capacity(txs.len());
        for tx in txs {
            let txid = tx.txid();
            let view = PendingView {
                ledger: &self.ledger,
                overlay: &overlay,
            };
            match validate(&view, &tx, txid, self.network, options) {
                Ok(effects) => {
                    overlay.apply(&self.ledger, txid, &effects);
                    staged.push(Staged { tx, txid, effects });
                }
                Err(e) if skip_invalid => {
                    tracing::warn!(%txid, error = %e, "devnet: dropping pool transaction")
                }
                Err(e) => return Err((txid, e)),
            }
        }
        Ok(staged)
    }

    /// Appends a block whose transactions were staged against the current ledger.
    fn apply_block(
        &mut self,
        header: BlockHeader,
        coinbase: Transaction,
        staged: Vec<Staged>,
    ) -> &Block {
        let height = self.blocks.len() as u64;
        let cb_txid = coinbase.txid();
        let cb_effects = Effects {
            created: created_outputs(&coinbase, cb_txid),
            ..Default::default()
        };
        let location = |position: usize, tx: &Transaction| TxLocation {
            height,
            position: position as u32,
            outputs: tx.outputs.len() as u32,
        };
        self.ledger
            .apply(cb_txid, &cb_effects, location(0, &coinbase));
        let mut transactions = Vec::with_capacity(staged.len() + 1);
        transactions.push(coinbase);
        for (i, s) in staged.into_iter().enumerate() {
            self.ledger
                .apply(s.txid, &s.effects, location(i + 1, &s.tx));
            transactions.push(s.tx);
        }
        let block = Block {
            header,
            transactions,
        };
        let hash = block.hash();
        self.hashes.push(hash);
        self.by_hash.insert(hash, height);
        self.blocks.push(block);
        self.blocks.last().expect("just pushed")
    }

    /// Connects a stored block (replay). Signatures were checked when the block was
    /// produced, and the store's checksums guard its bytes, so they are not re-checked.
    pub fn connect(&mut self, block: Block) -> Result<(), ChainError> {
        let height = self.blocks.len() as u64;
        let parent = self.hashes.last().copied().unwrap_or(Hash256::ZERO);
        if block.header.previous_block_hash != parent || block.header.number != height {
            return Err(ChainError::NotOnTip(height));
        }
        let mut txs = block.transactions.into_iter();
        let coinbase = txs
            .next()
            .filter(Transaction::is_coinbase)
            .ok_or(ChainError::BadCoinbase(height))?;
        let staged = self
            .stage(txs.collect(), ValidationOptions::REAPPLY, false)
            .map_err(|(txid, error)| ChainError::InvalidTransaction {
                height,
                txid,
                error,
            })?;
        if height > 0 {
            let fees: u64 = staged.iter().map(|s| s.effects.fee).sum();
            if coinbase.total_output_value().is_none_or(|v| v > fees) {
                return Err(ChainError::BadCoinbase(height));
            }
        }
        self.apply_block(block.header, coinbase, staged);
        Ok(())
    }

    /// Produces a block from the pool (fees go to an unspendable coinbase output).
    pub fn mine(&mut self, timestamp: u32) -> &Block {
        let height = self.blocks.len() as u64;
        let mut entries = self.mempool.take_all();
        let rest = if entries.len() > MAX_BLOCK_TRANSACTIONS {
            entries.split_off(MAX_BLOCK_TRANSACTIONS)
        } else {
            Vec::new()
        };
        let staged = self
            .stage(
                entries.into_iter().map(|e| e.tx).collect(),
                ValidationOptions::REAPPLY,
                true,
            )
            .unwrap_or_default();
        let fees: u64 = staged.iter().map(|s| s.effects.fee).sum();
        let cb = coinbase(
            height,
            vec![Output {
                value: fees,
                script_pubkey: Script::op_return(),
                attachment: Attachment::etp(),
            }],
        );
        let mut txids = Vec::with_capacity(staged.len() + 1);
        txids.push(cb.txid());
        txids.extend(staged.iter().map(|s| s.txid));
        let previous = self.blocks.last().expect("genesis exists");
        let header = BlockHeader {
            version: BLOCK_VERSION,
            previous_block_hash: self.tip_hash(),
            merkle_tree_hash: merkle_root(&txids),
            timestamp: timestamp.max(previous.header.timestamp),
            bits: BLOCK_BITS,
            nonce: 0,
            number: height,
        };
        self.apply_block(header, cb, staged);
        if !rest.is_empty() {
            let (pool, _) = Mempool::rebuild(
                &self.ledger,
                rest.into_iter().map(|e| e.tx),
                self.network,
                ValidationOptions::REAPPLY,
            );
            self.mempool = pool;
        }
        self.blocks.last().expect("just mined")
    }

    /// Removes block `hash` and its descendants; their transactions (except coinbases)
    /// go back to the pool ahead of what was pending, each re-validated in full.
    /// Returns the removed blocks.
    pub fn invalidate(&mut self, hash: &Hash256) -> Result<Vec<Block>, ChainError> {
        let height = self
            .height_of(hash)
            .ok_or(ChainError::UnknownBlock(*hash))?;
        if height == 0 {
            return Err(ChainError::Genesis);
        }
        let mut kept = std::mem::take(&mut self.blocks);
        let removed = kept.split_off(height as usize);
        self.hashes.clear();
        self.by_hash.clear();
        self.ledger = Ledger::new(self.network);
        // Rebuilding from the kept blocks is O(chain), acceptable for a rare test operation.
        for block in kept {
            self.connect(block)
                .expect("blocks that were valid stay valid");
        }
        let pending = self.mempool.take_all();
        let returned = removed
            .iter()
            .flat_map(|b| b.transactions.iter().skip(1).cloned());
        let options = ValidationOptions {
            verify_signatures: true,
            broadcast_policy: false,
        };
        let (pool, rejected) = Mempool::rebuild(
            &self.ledger,
            returned.chain(pending.into_iter().map(|e| e.tx)),
            self.network,
            options,
        );
        for (txid, e) in rejected {
            tracing::info!(%txid, error = %e, "devnet: transaction not returned to the pool after invalidation");
        }
        self.mempool = pool;
        Ok(removed)
    }
}

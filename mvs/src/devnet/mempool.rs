//! Pending transactions, in arrival order, with the state changes they make on top of
//! the confirmed ledger (so a pending output can be spent by a later pending transaction).

use std::collections::HashMap;

use super::state::{Ledger, Overlay, PendingView};
use super::validate::{validate, ValidationOptions};
use crate::consensus::RuleError;
use crate::network::Network;
use crate::tx::{Transaction, Txid};

/// A pending transaction.
#[derive(Debug, Clone)]
pub struct PoolEntry {
    /// The transaction.
    pub tx: Transaction,
    /// Its id.
    pub txid: Txid,
    /// Fee it pays.
    pub fee: u64,
}

/// The memory pool.
#[derive(Debug, Default)]
pub struct Mempool {
    entries: Vec<PoolEntry>,
    index: HashMap<Txid, usize>,
    overlay: Overlay,
}

impl Mempool {
    /// An empty pool.
    pub fn new() -> Mempool {
        Mempool::default()
    }

    /// Validates `tx` against the ledger plus the pool and adds it.
    pub fn add(
        &mut self,
        ledger: &Ledger,
        tx: Transaction,
        network: Network,
        options: ValidationOptions,
    ) -> Result<Txid, RuleError> {
        let txid = tx.txid();
        let view = PendingView {
            ledger,
            overlay: &self.overlay,
        };
        let effects = validate(&view, &tx, txid, network, options)?;
        self.overlay.apply(ledger, txid, &effects);
        self.index.insert(txid, self.entries.len());
        self.entries.push(PoolEntry {
            tx,
            txid,
            fee: effects.fee,
        });
        Ok(txid)
    }

    /// A pool holding those of `txs` that are valid, in order, with the rejected ones.
    pub fn rebuild(
        ledger: &Ledger,
        txs: impl IntoIterator<Item = Transaction>,
        network: Network,
        options: ValidationOptions,
    ) -> (Mempool, Vec<(Txid, RuleError)>) {
        let mut pool = Mempool::new();
        let mut rejected = Vec::new();
        for tx in txs {
            let txid = tx.txid();
            if let Err(e) = pool.add(ledger, tx, network, options) {
                rejected.push((txid, e));
            }
        }
        (pool, rejected)
    }

    /// A pending transaction.
    pub fn get(&self, txid: &Txid) -> Option<&Transaction> {
        self.index.get(txid).map(|&i| &self.entries[i].tx)
    }

    /// Number of pending transactions.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Pending transactions in arrival order.
    pub fn entries(&self) -> &[PoolEntry] {
        &self.entries
    }

    /// Empties the pool, returning its entries in order.
    pub fn take_all(&mut self) -> Vec<PoolEntry> {
        let taken = std::mem::take(self);
        taken.entries
    }

    /// The ledger as pending transactions leave it.
    pub fn view<'a>(&'a self, ledger: &'a Ledger) -> PendingView<'a> {
        PendingView {
            ledger,
            overlay: &self.overlay,
        }
    }

    /// Pending changes.
    pub fn overlay(&self) -> &Overlay {
        &self.overlay
    }
}

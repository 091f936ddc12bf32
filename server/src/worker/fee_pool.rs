//! Keeping the fee wallet split into many small outputs, and warning when it runs low.
//!
//! Every transaction spends one fee output and returns its change as a new one. With a
//! single output, independent transactions (and several workers) would queue behind each
//! other's unconfirmed change; with a pool each finds an output of its own.

// The dashboard shows the same status, so it lives where the app crate can reach it.
pub use app::domain::fee_wallet::{status, FeeWalletStatus, LOW_BALANCE};
use mvs::{
    builder::EtpSplit,
    consensus::{AVATAR_REGISTER_FEE, COIN, MIN_TX_FEE, MST_ISSUE_FEE},
    Address,
};

use super::{
    chain_txs::{self, Purpose},
    selection::outpoint_key,
    send::spendables,
    Worker,
};

/// Value of one pool output: a thousand ordinary fees.
pub const POOL_OUTPUT: u64 = COIN / 10;
/// Pool size the worker tops up to.
pub const POOL_TARGET: usize = 32;
/// Kept whole in the large output so point systems can still be issued.
const ISSUE_RESERVE: u64 = MST_ISSUE_FEE + AVATAR_REGISTER_FEE + MIN_TX_FEE;

impl Worker {
    pub(super) async fn maintain_fee_pool(&self) -> anyhow::Result<()> {
        let reserved = chain_txs::Reservations::read(&self.db).await?;
        let utxos = self.chain.list_etp_utxos(&self.fee_wallet.address).await?;
        let balance: u64 = utxos.iter().map(|u| u.value).sum();
        if balance < LOW_BALANCE {
            self.warn_low_balance(balance);
        }
        let free: Vec<_> = utxos
            .iter()
            .filter(|u| !reserved.contains(&outpoint_key(&u.txid, u.index)))
            .collect();
        let pool = free.iter().filter(|u| u.value <= 2 * POOL_OUTPUT).count();
        if pool >= POOL_TARGET / 2 {
            return Ok(());
        }
        let wanted = POOL_TARGET - pool;
        let Some(largest) = free.iter().max_by_key(|u| u.value) else {
            return Ok(());
        };
        let needed = wanted as u64 * POOL_OUTPUT + MIN_TX_FEE + ISSUE_RESERVE;
        if largest.value < needed {
            return Ok(());
        }
        let fee_key = self
            .vault
            .private_key(&self.db, self.fee_wallet.key_id)
            .await?;
        let address = Address::parse(&self.fee_wallet.address)?;
        let split = EtpSplit {
            network: self.vault.network(),
            inputs: spendables(std::slice::from_ref(*largest), &fee_key)?,
            to: address,
            count: wanted,
            value: POOL_OUTPUT,
            change: address,
            fee: MIN_TX_FEE,
        }
        .build()?;
        let mut tx = self.db.begin_write().await?;
        match chain_txs::record_signed(&mut tx, &split, Purpose::FeeSplit, None, &reserved).await? {
            Some(_) => tx.commit().await?,
            // Another worker is spending that output (its split or its transfer wins), or
            // the list was too old.
            None => return Ok(()),
        }
        tracing::info!(txid = %split.txid(), outputs = wanted, "fee wallet split into a pool of small outputs");
        Ok(())
    }

    /// At most one warning a minute, so a low wallet is noticed without flooding the log.
    fn warn_low_balance(&self, balance: u64) {
        let mut last = self.last_low_balance_warning.lock().expect("not poisoned");
        if last.is_none_or(|at| at.elapsed() > std::time::Duration::from_secs(60)) {
            tracing::warn!(address = %self.fee_wallet.address, balance_satoshi = balance, "the fee wallet is low: fund it with ETP");
            *last = Some(std::time::Instant::now());
        }
    }
}

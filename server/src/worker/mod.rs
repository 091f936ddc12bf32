//! The worker: turns ledger operations into MST transactions, signs them with the
//! custodial keys, broadcasts them and follows them to confirmation.
//!
//! Each round: broadcast what is stored but not yet accepted (recovery after a crash or
//! an outage), follow what is in flight, build what is queued, broadcast it; a running
//! worker does the following and the sending in two loops side by side. Every
//! transaction is stored with its txid before it is broadcast, and its inputs are
//! reserved in the database, so any number of workers can run and a crash at any point
//! neither loses nor doubles a transfer.

pub mod broadcast;
pub mod chain_txs;
pub mod confirm;
mod customer_avatars;
mod deposits;
pub mod fee_pool;
pub mod fee_wallet;
mod issue;
pub mod process;
pub mod selection;
mod send;

use std::time::Duration;

use app::domain::{custody::KeyVault, db::Database};
use tokio::sync::watch;

pub use fee_wallet::FeeWallet;

/// How the worker behaves.
#[derive(Clone, Debug)]
pub struct WorkerSettings {
    /// Pause between rounds when there was nothing to do.
    pub poll_interval: Duration,
    /// Depth at which an operation counts as confirmed (DESIGN: 3 on the development chain).
    pub required_confirmations: u64,
    /// Bound on a batched transaction's outputs.
    pub max_outputs_per_tx: usize,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        Self {
            poll_interval: Duration::from_millis(500),
            required_confirmations: 3,
            max_outputs_per_tx: 500,
        }
    }
}

/// One worker; cheap to clone.
#[derive(Clone)]
pub struct Worker {
    db: Database,
    vault: KeyVault,
    chain: mvs::rpc::Client,
    fee_wallet: FeeWallet,
    settings: WorkerSettings,
    /// Height and hash of the chain tip when reorganisations were last looked for.
    last_tip: std::sync::Arc<std::sync::Mutex<Option<(u64, String)>>>,
    /// Hash of the chain tip when transactions in flight were last followed, and when.
    last_followed: std::sync::Arc<std::sync::Mutex<Option<(String, std::time::Instant)>>>,
    last_low_balance_warning: std::sync::Arc<std::sync::Mutex<Option<std::time::Instant>>>,
    /// Hash of the chain tip when credited deposits were last checked for reorganisations.
    last_deposit_tip: std::sync::Arc<std::sync::Mutex<Option<String>>>,
    /// A check of credited deposits that did not fit in one round: the tip hash it
    /// started at and the oldest deposit id checked so far (it goes on below that).
    deposit_reorg_sweep: std::sync::Arc<std::sync::Mutex<Option<(String, i64)>>>,
}

impl Worker {
    pub fn new(
        db: Database,
        vault: KeyVault,
        chain: mvs::rpc::Client,
        fee_wallet: FeeWallet,
        settings: WorkerSettings,
    ) -> Self {
        Self {
            db,
            vault,
            chain,
            fee_wallet,
            settings,
            last_tip: Default::default(),
            last_followed: Default::default(),
            last_low_balance_warning: Default::default(),
            last_deposit_tip: Default::default(),
            deposit_reorg_sweep: Default::default(),
        }
    }

    /// One round of work. Errors are about this round only; the next one starts afresh.
    /// `Ok(true)` when operations are still queued behind full transactions: the next
    /// round should start at once.
    pub async fn round(&self) -> anyhow::Result<bool> {
        self.follow_chain().await?;
        self.send().await
    }

    /// Everything but sending queued operations: what is stored goes out (recovery after a
    /// crash or an outage), what is in flight is followed to its depth or back out of a
    /// reorganised block, deposits are credited, and fee outputs, point systems and
    /// avatars are looked after.
    async fn follow_chain(&self) -> anyhow::Result<()> {
        self.broadcast_due().await?;
        // One look at the tip serves every step that follows the chain this round.
        let height = self.chain.get_height().await?;
        let tip = self
            .chain
            .get_block_summary(mvs::rpc::BlockRef::Height(height))
            .await?;
        self.follow_reorganisations(&tip).await?;
        // Before confirmations: a spend of a reorganised deposit's points must not confirm
        // again before the deposit does (the spender's confirmed balance would go negative).
        self.follow_deposit_reorganisations(&tip).await?;
        self.follow_confirmations(&tip).await?;
        self.scan_deposits(tip.number).await?;
        self.maintain_fee_pool().await?;
        self.issue_point_systems().await?;
        self.issue_more_supply().await?;
        self.register_customer_avatars().await
    }

    /// Signs queued operations into transactions and broadcasts them. `Ok(true)` when
    /// operations are still queued behind full transactions.
    async fn send(&self) -> anyhow::Result<bool> {
        let backlog = self.send_queued().await?;
        self.broadcast_due().await?;
        Ok(backlog)
    }

    /// Works until `stop` turns true, in two loops: one follows the chain, one sends.
    ///
    /// Why two: a block's confirmations are the worker's largest writes (every operation
    /// of every transaction in it, their balances and events), and in one loop the
    /// operations queued meanwhile waited for them before they were signed. Two loops
    /// are safe for the reason any number of workers are: inputs are reserved in the
    /// database, operations are claimed by state (and row locks on PostgreSQL), and each
    /// loop broadcasts in the order the transactions were stored.
    pub async fn run(self, stop: watch::Receiver<bool>) {
        tracing::info!(fee_wallet = %self.fee_wallet.address, "worker started");
        tokio::join!(
            self.repeat("following the chain", stop.clone(), || async {
                self.follow_chain().await.map(|()| false)
            }),
            self.repeat("sending", stop, || self.send()),
        );
        tracing::info!("worker stopped");
    }

    /// Runs `step` until `stop` turns true. Errors are about that step only: the next one
    /// starts afresh.
    async fn repeat<F, Fut>(&self, part: &str, mut stop: watch::Receiver<bool>, step: F)
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = anyhow::Result<bool>>,
    {
        loop {
            let backlog = match step().await {
                Ok(backlog) => backlog,
                Err(error) => {
                    // Node down, database busy: logged, retried next round, nothing lost.
                    tracing::warn!(part, error = format!("{error:#}"), "worker round failed");
                    false
                }
            };
            // The pause is the batch window: it lets operations gather into one
            // transaction. Behind a backlog they have gathered already, and waiting only
            // slowed settlement (a round sent at most 8 full transactions, then slept).
            if backlog {
                tokio::task::yield_now().await;
            } else {
                tokio::select! {
                    _ = tokio::time::sleep(self.settings.poll_interval) => {}
                    _ = stop.changed() => {}
                }
            }
            if *stop.borrow() {
                break;
            }
        }
    }

    /// Starts the worker as a task; the handle stops it and waits for the round in progress.
    pub fn spawn(self) -> WorkerHandle {
        let (stop, receiver) = watch::channel(false);
        let task = tokio::spawn(self.run(receiver));
        WorkerHandle { stop, task }
    }
}

/// A running worker task.
pub struct WorkerHandle {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl WorkerHandle {
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

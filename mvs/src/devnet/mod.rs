//! A development chain: a node answering the same JSON-RPC subset as mvsd on a loopback
//! port, validating every submitted transaction by the rules of [`crate::consensus`]
//! and [`validate`], with a pool, blocks on an interval and on `generate N`,
//! `invalidateblock` to simulate reorganisations, genesis funding, and a chain file so
//! a restart keeps history.
//!
//! ```no_run
//! # async fn demo() -> Result<(), mvs::devnet::DevnetError> {
//! let handle = mvs::devnet::spawn(mvs::devnet::DevnetConfig::default()).await?;
//! let client = mvs::rpc::Client::new(handle.rpc_url(), std::time::Duration::from_secs(5));
//! # let _ = client; handle.shutdown().await; Ok(()) }
//! ```

pub mod block;
pub mod chain;
pub mod mempool;
mod rpc_server;
pub mod state;
pub mod store;
pub mod validate;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::watch;
use tokio::task::JoinHandle;

use self::chain::{genesis_block, Chain, ChainError};
use self::store::{ChainStore, Record};
use crate::address::Address;
use crate::consensus::{RuleError, COIN};
use crate::hash::Hash256;
use crate::network::Network;
use crate::tx::{Transaction, Txid};

/// How to run the development chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevnetConfig {
    /// Where the JSON-RPC endpoint listens (port 0 picks a free port).
    pub listen: SocketAddr,
    /// Time between produced blocks; zero produces blocks only on `generate`.
    pub block_interval: Duration,
    /// Address funded by the genesis block (e.g. the platform's fee wallet).
    pub genesis_address: Option<String>,
    /// ETP (whole coins) paid to `genesis_address`.
    pub genesis_amount_etp: u64,
    /// Network of addresses and keys.
    pub network: Network,
    /// Directory holding the chain file; `None` keeps the chain in memory only.
    pub data_path: Option<PathBuf>,
}

impl Default for DevnetConfig {
    fn default() -> Self {
        DevnetConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8820)),
            block_interval: Duration::from_secs(2),
            genesis_address: None,
            genesis_amount_etp: 1_000_000,
            network: Network::Testnet,
            data_path: None,
        }
    }
}

/// Why the development chain could not start or act.
#[derive(Debug, thiserror::Error)]
pub enum DevnetError {
    /// A configuration value is unusable.
    #[error("invalid devnet configuration: {0}")]
    Config(String),
    /// The listener could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// Address asked for.
        addr: SocketAddr,
        /// Cause.
        source: std::io::Error,
    },
    /// Reading or writing the chain file failed.
    #[error("chain file: {0}")]
    Io(#[from] std::io::Error),
    /// The chain file holds blocks that do not form a valid chain.
    #[error("chain file is inconsistent: {0}")]
    CorruptStore(String),
    /// A chain operation failed.
    #[error(transparent)]
    Chain(#[from] ChainError),
}

struct Inner {
    chain: Chain,
    store: Option<ChainStore>,
}

/// The development chain itself, usable without HTTP.
pub struct Devnet {
    inner: Mutex<Inner>,
    network: Network,
}

fn unix_now() -> u32 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as u32)
        .unwrap_or(0)
}

impl Devnet {
    /// Opens the chain: replays the chain file if there is one, otherwise creates genesis.
    pub fn open(config: &DevnetConfig) -> Result<Devnet, DevnetError> {
        let genesis_address = config
            .genesis_address
            .as_deref()
            .map(|a| {
                Address::parse_for(a, config.network)
                    .map_err(|e| DevnetError::Config(format!("genesis address: {e}")))
            })
            .transpose()?;
        let amount = config
            .genesis_amount_etp
            .checked_mul(COIN)
            .ok_or_else(|| DevnetError::Config("genesis amount overflows".into()))?;

        let (mut store, records) = match &config.data_path {
            Some(dir) => {
                let (store, records) = ChainStore::open(dir)?;
                (Some(store), records)
            }
            None => (None, Vec::new()),
        };
        let mut records = records.into_iter();
        let chain = match records.next() {
            Some(Record::Block(genesis)) => {
                let mut chain = Chain::new(config.network, genesis)
                    .map_err(|e| DevnetError::CorruptStore(e.to_string()))?;
                for record in records {
                    match record {
                        Record::Block(b) => chain
                            .connect(b)
                            .map_err(|e| DevnetError::CorruptStore(e.to_string()))?,
                        Record::Invalidate(h) => {
                            chain
                                .invalidate(&h)
                                .map_err(|e| DevnetError::CorruptStore(e.to_string()))?;
                        }
                    }
                }
                chain
            }
            Some(Record::Invalidate(_)) => {
                return Err(DevnetError::CorruptStore(
                    "first record is not a block".into(),
                ))
            }
            None => {
                let genesis = genesis_block(genesis_address.as_ref(), amount, unix_now());
                if let Some(store) = store.as_mut() {
                    store.append(&Record::Block(genesis.clone()))?;
                }
                Chain::new(config.network, genesis)?
            }
        };
        Ok(Devnet {
            inner: Mutex::new(Inner { chain, store }),
            network: config.network,
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves consistent-enough state for a dev chain.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The network.
    pub fn network(&self) -> Network {
        self.network
    }

    /// Height of the tip.
    pub fn height(&self) -> u64 {
        self.lock().chain.height()
    }

    /// Validates and pools a transaction (what `sendrawtx` does).
    pub fn submit(&self, tx: Transaction) -> Result<Txid, RuleError> {
        self.lock().chain.submit(tx)
    }

    /// Produces `n` blocks now, returning their hashes.
    pub fn generate(&self, n: u32) -> Result<Vec<Hash256>, DevnetError> {
        let mut inner = self.lock();
        let mut hashes = Vec::with_capacity(n as usize);
        for _ in 0..n {
            let block = inner.chain.mine(unix_now()).clone();
            if let Some(store) = inner.store.as_mut() {
                store.append(&Record::Block(block.clone()))?;
            }
            hashes.push(block.hash());
        }
        Ok(hashes)
    }

    /// Removes block `hash` and its descendants, returning their transactions to the pool.
    pub fn invalidate_block(&self, hash: &Hash256) -> Result<(), DevnetError> {
        let mut inner = self.lock();
        inner.chain.invalidate(hash)?;
        if let Some(store) = inner.store.as_mut() {
            store.append(&Record::Invalidate(*hash))?;
        }
        Ok(())
    }

    /// Runs `f` with read access to the chain.
    pub fn with_chain<R>(&self, f: impl FnOnce(&Chain) -> R) -> R {
        f(&self.lock().chain)
    }
}

/// A running development chain. Dropping it without [`DevnetHandle::shutdown`] leaves
/// its tasks running until the runtime stops.
pub struct DevnetHandle {
    local_addr: SocketAddr,
    node: Arc<Devnet>,
    stop: watch::Sender<bool>,
    server: JoinHandle<()>,
    producer: Option<JoinHandle<()>>,
}

impl DevnetHandle {
    /// The bound address (the real port when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// `http://ADDR/rpc/v3`.
    pub fn rpc_url(&self) -> String {
        format!("http://{}/rpc/v3", self.local_addr)
    }

    /// The chain, for direct use without HTTP.
    pub fn node(&self) -> Arc<Devnet> {
        self.node.clone()
    }

    /// Stops block production and the server (in-flight requests finish first).
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        if let Some(producer) = self.producer {
            let _ = producer.await;
        }
        if tokio::time::timeout(Duration::from_secs(5), self.server)
            .await
            .is_err()
        {
            tracing::warn!("devnet: server did not stop within 5 s");
        }
    }
}

/// Opens the chain, binds the listener and starts serving (and producing blocks if the
/// interval is non-zero).
pub async fn spawn(config: DevnetConfig) -> Result<DevnetHandle, DevnetError> {
    let node = Arc::new(Devnet::open(&config)?);
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| DevnetError::Bind {
            addr: config.listen,
            source,
        })?;
    let local_addr = listener.local_addr()?;
    let (stop, stopped) = watch::channel(false);

    let mut server_stop = stopped.clone();
    let app = rpc_server::router(node.clone());
    let server = tokio::spawn(async move {
        let shutdown = async move {
            let _ = server_stop.wait_for(|s| *s).await;
        };
        if let Err(e) = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::error!(error = %e, "devnet: server failed");
        }
    });

    let producer = (!config.block_interval.is_zero()).then(|| {
        let node = node.clone();
        let mut stopped = stopped.clone();
        let interval = config.block_interval;
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(interval);
            ticker.tick().await; // the first tick is immediate
            loop {
                tokio::select! {
                    _ = ticker.tick() => {
                        // Block production validates and fsyncs: keep it off the async workers.
                        let node = node.clone();
                        match tokio::task::spawn_blocking(move || node.generate(1)).await {
                            Ok(Ok(_)) => {}
                            Ok(Err(e)) => tracing::error!(error = %e, "devnet: block production failed"),
                            Err(e) => tracing::error!(error = %e, "devnet: block production panicked"),
                        }
                    }
                    // The watch guard must not live across the select's await points.
                    _ = async { let _ = stopped.wait_for(|s| *s).await; } => break,
                }
            }
        })
    });
    tracing::info!(%local_addr, network = %config.network, "devnet: listening");
    Ok(DevnetHandle {
        local_addr,
        node,
        stop,
        server,
        producer,
    })
}

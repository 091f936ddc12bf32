//! The platform's master key and key vault, loaded once at start.

use anyhow::Context;
use app::domain::custody::{KeyVault, MasterKey};

use crate::config::{ChainSettings, Settings};

/// `POINTMINT_MASTER_KEY` (64 hex characters) if set, else DATA_DIR/master.key, created on
/// first start. Every process sharing a database must use the same key.
pub fn master_key(data_dir: &std::path::Path) -> anyhow::Result<MasterKey> {
    if let Ok(hex) = std::env::var("POINTMINT_MASTER_KEY") {
        return MasterKey::from_hex(&hex).context("POINTMINT_MASTER_KEY");
    }
    Ok(MasterKey::load_or_create(&data_dir.join("master.key"))?)
}

/// The vault of custodial keys. Addresses follow the chain: the embedded development
/// chain is a testnet; a remote node's network is configured (`MVS_NETWORK`).
pub fn vault(settings: &Settings, master: MasterKey) -> KeyVault {
    let network = match settings.chain {
        ChainSettings::Embedded { .. } => mvs::Network::Testnet,
        ChainSettings::Remote { network, .. } => network,
    };
    KeyVault::new(master, network)
}

//! The development chain's indexes: unspent outputs by outpoint and address, assets,
//! avatars and certificates. [`Ledger`] holds the confirmed state; [`Overlay`] holds
//! what pending transactions change on top of it. Both are updated from [`Effects`],
//! so applying a transaction never scans the chain.

use std::collections::{HashMap, HashSet};

use crate::address::Address;
use crate::attachment::{AssetDetail, CertType};
use crate::network::Network;
use crate::tx::{OutPoint, Output, Txid};

/// An unspent output and the height that confirmed it (0 while pending).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Coin {
    /// The output.
    pub output: Output,
    /// Confirmation height, 0 if pending.
    pub height: u64,
}

/// An issued asset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssetRecord {
    /// The detail.
    pub detail: AssetDetail,
    /// Issue transaction.
    pub txid: Txid,
    /// Issue height, 0 if pending.
    pub height: u64,
}

/// A registered avatar and where it currently lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AvatarRecord {
    /// Name as registered.
    pub symbol: String,
    /// Current address.
    pub address: String,
    /// The output carrying the avatar.
    pub outpoint: OutPoint,
    /// Height of that output, 0 if pending.
    pub height: u64,
}

/// A certificate and its holder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertRecord {
    /// Owner avatar.
    pub owner: String,
    /// Owner address.
    pub address: String,
    /// The output carrying the certificate.
    pub outpoint: OutPoint,
}

/// Certificates are unique per symbol (or domain) and type.
pub type CertKey = (String, CertType);

/// Where a confirmed transaction is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TxLocation {
    /// Block height.
    pub height: u64,
    /// Position in the block.
    pub position: u32,
    /// Number of outputs (tells "spent" from "never existed").
    pub outputs: u32,
}

/// What one valid transaction changes.
#[derive(Debug, Clone, Default)]
pub struct Effects {
    /// Outputs consumed.
    pub spent: Vec<OutPoint>,
    /// Outputs created (unspendable `OP_RETURN` outputs excluded).
    pub created: Vec<(OutPoint, Output)>,
    /// A newly issued asset.
    pub asset: Option<AssetDetail>,
    /// Avatars registered or moved, keyed by lower-case name.
    pub avatars: Vec<(String, AvatarRecord)>,
    /// Certificates created or moved.
    pub certs: Vec<(CertKey, CertRecord)>,
    /// Certificates consumed (a naming certificate used by its issue).
    pub certs_removed: Vec<CertKey>,
    /// A secondary issue: symbol and the supply it adds.
    pub supply_increase: Option<(String, u64)>,
    /// Fee paid.
    pub fee: u64,
}

/// Read access to chain state, confirmed or including pending transactions.
pub trait ChainView {
    /// An unspent output.
    fn coin(&self, outpoint: &OutPoint) -> Option<&Coin>;
    /// Whether the outpoint names an output that existed and has been spent.
    fn is_spent(&self, outpoint: &OutPoint) -> bool;
    /// Whether the transaction is already known.
    fn has_tx(&self, txid: &Txid) -> bool;
    /// An issued asset.
    fn asset(&self, symbol: &str) -> Option<&AssetRecord>;
    /// An avatar by lower-case name.
    fn avatar(&self, key: &str) -> Option<&AvatarRecord>;
    /// The lower-case name of the avatar bound to `address`.
    fn avatar_of_address(&self, address: &str) -> Option<&str>;
    /// A certificate.
    fn cert(&self, key: &CertKey) -> Option<&CertRecord>;
}

/// The confirmed state.
#[derive(Debug, Default)]
pub struct Ledger {
    pub(crate) network: Network,
    pub(crate) utxos: HashMap<OutPoint, Coin>,
    pub(crate) by_address: HashMap<Address, HashSet<OutPoint>>,
    pub(crate) assets: HashMap<String, AssetRecord>,
    pub(crate) avatars: HashMap<String, AvatarRecord>,
    pub(crate) avatar_by_address: HashMap<String, String>,
    pub(crate) certs: HashMap<CertKey, CertRecord>,
    pub(crate) txs: HashMap<Txid, TxLocation>,
}

impl Ledger {
    /// An empty ledger for `network`.
    pub fn new(network: Network) -> Ledger {
        Ledger {
            network,
            ..Default::default()
        }
    }

    /// Applies a confirmed transaction's effects.
    pub fn apply(&mut self, txid: Txid, effects: &Effects, location: TxLocation) {
        for op in &effects.spent {
            if let Some(coin) = self.utxos.remove(op) {
                if let Some(a) = Address::from_script(&coin.output.script_pubkey, self.network) {
                    if let Some(set) = self.by_address.get_mut(&a) {
                        set.remove(op);
                        if set.is_empty() {
                            self.by_address.remove(&a);
                        }
                    }
                }
            }
        }
        for (op, output) in &effects.created {
            if let Some(a) = Address::from_script(&output.script_pubkey, self.network) {
                self.by_address.entry(a).or_default().insert(*op);
            }
            self.utxos.insert(
                *op,
                Coin {
                    output: output.clone(),
                    height: location.height,
                },
            );
        }
        if let Some(detail) = &effects.asset {
            let record = AssetRecord {
                detail: detail.clone(),
                txid,
                height: location.height,
            };
            self.assets.insert(detail.symbol.clone(), record);
        }
        if let Some((symbol, volume)) = &effects.supply_increase {
            if let Some(record) = self.assets.get_mut(symbol) {
                record.detail.max_supply += volume;
            }
        }
        for (key, record) in &effects.avatars {
            if let Some(old) = self.avatars.get(key) {
                self.avatar_by_address.remove(&old.address);
            }
            self.avatar_by_address
                .insert(record.address.clone(), key.clone());
            self.avatars.insert(
                key.clone(),
                AvatarRecord {
                    height: location.height,
                    ..record.clone()
                },
            );
        }
        for key in &effects.certs_removed {
            self.certs.remove(key);
        }
        for (key, record) in &effects.certs {
            self.certs.insert(key.clone(), record.clone());
        }
        self.txs.insert(txid, location);
    }

    /// Outpoints of the unspent outputs paying `address`.
    pub fn outpoints_of(&self, address: &Address) -> impl Iterator<Item = &OutPoint> {
        self.by_address.get(address).into_iter().flatten()
    }

    /// Where a confirmed transaction is.
    pub fn tx_location(&self, txid: &Txid) -> Option<TxLocation> {
        self.txs.get(txid).copied()
    }
}

impl ChainView for Ledger {
    fn coin(&self, outpoint: &OutPoint) -> Option<&Coin> {
        self.utxos.get(outpoint)
    }
    fn is_spent(&self, outpoint: &OutPoint) -> bool {
        self.txs
            .get(&outpoint.txid)
            .is_some_and(|loc| outpoint.index < loc.outputs)
            && !self.utxos.contains_key(outpoint)
    }
    fn has_tx(&self, txid: &Txid) -> bool {
        self.txs.contains_key(txid)
    }
    fn asset(&self, symbol: &str) -> Option<&AssetRecord> {
        self.assets.get(symbol)
    }
    fn avatar(&self, key: &str) -> Option<&AvatarRecord> {
        self.avatars.get(key)
    }
    fn avatar_of_address(&self, address: &str) -> Option<&str> {
        self.avatar_by_address.get(address).map(String::as_str)
    }
    fn cert(&self, key: &CertKey) -> Option<&CertRecord> {
        self.certs.get(key)
    }
}

/// What pending transactions change on top of the ledger.
#[derive(Debug, Default)]
pub struct Overlay {
    pub(crate) spent: HashSet<OutPoint>,
    pub(crate) created: HashMap<OutPoint, Coin>,
    pub(crate) txs: HashSet<Txid>,
    pub(crate) assets: HashMap<String, AssetRecord>,
    pub(crate) avatars: HashMap<String, AvatarRecord>,
    /// `None`: the address lost its avatar to a pending transfer.
    pub(crate) avatar_by_address: HashMap<String, Option<String>>,
    /// `None`: consumed by a pending transaction.
    pub(crate) certs: HashMap<CertKey, Option<CertRecord>>,
}

impl Overlay {
    /// Applies a pending transaction's effects. `ledger` resolves previous avatar bindings.
    pub fn apply(&mut self, ledger: &Ledger, txid: Txid, effects: &Effects) {
        for op in &effects.spent {
            if self.created.remove(op).is_none() {
                self.spent.insert(*op);
            }
        }
        for (op, output) in &effects.created {
            self.created.insert(
                *op,
                Coin {
                    output: output.clone(),
                    height: 0,
                },
            );
        }
        if let Some(detail) = &effects.asset {
            let record = AssetRecord {
                detail: detail.clone(),
                txid,
                height: 0,
            };
            self.assets.insert(detail.symbol.clone(), record);
        }
        if let Some((symbol, volume)) = &effects.supply_increase {
            let current = self
                .assets
                .get(symbol)
                .or_else(|| ledger.assets.get(symbol))
                .cloned();
            if let Some(mut record) = current {
                record.detail.max_supply += volume;
                self.assets.insert(symbol.clone(), record);
            }
        }
        for (key, record) in &effects.avatars {
            let previous = self.avatars.get(key).or_else(|| ledger.avatars.get(key));
            if let Some(old) = previous {
                self.avatar_by_address.insert(old.address.clone(), None);
            }
            self.avatar_by_address
                .insert(record.address.clone(), Some(key.clone()));
            self.avatars.insert(key.clone(), record.clone());
        }
        for key in &effects.certs_removed {
            self.certs.insert(key.clone(), None);
        }
        for (key, record) in &effects.certs {
            self.certs.insert(key.clone(), Some(record.clone()));
        }
        self.txs.insert(txid);
    }
}

/// The ledger as pending transactions will leave it.
pub struct PendingView<'a> {
    /// Confirmed state.
    pub ledger: &'a Ledger,
    /// Pending changes.
    pub overlay: &'a Overlay,
}

impl ChainView for PendingView<'_> {
    fn coin(&self, outpoint: &OutPoint) -> Option<&Coin> {
        if self.overlay.spent.contains(outpoint) {
            return None;
        }
        self.overlay
            .created
            .get(outpoint)
            .or_else(|| self.ledger.utxos.get(outpoint))
    }
    fn is_spent(&self, outpoint: &OutPoint) -> bool {
        self.overlay.spent.contains(outpoint)
            || self.ledger.is_spent(outpoint)
            || (self.overlay.txs.contains(&outpoint.txid)
                && !self.overlay.created.contains_key(outpoint))
    }
    fn has_tx(&self, txid: &Txid) -> bool {
        self.overlay.txs.contains(txid) || self.ledger.has_tx(txid)
    }
    fn asset(&self, symbol: &str) -> Option<&AssetRecord> {
        self.overlay
            .assets
            .get(symbol)
            .or_else(|| self.ledger.asset(symbol))
    }
    fn avatar(&self, key: &str) -> Option<&AvatarRecord> {
        self.overlay
            .avatars
            .get(key)
            .or_else(|| self.ledger.avatar(key))
    }
    fn avatar_of_address(&self, address: &str) -> Option<&str> {
        match self.overlay.avatar_by_address.get(address) {
            Some(binding) => binding.as_deref(),
            None => self.ledger.avatar_of_address(address),
        }
    }
    fn cert(&self, key: &CertKey) -> Option<&CertRecord> {
        match self.overlay.certs.get(key) {
            Some(record) => record.as_ref(),
            None => self.ledger.cert(key),
        }
    }
}

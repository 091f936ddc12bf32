//! Result shapes of the RPC methods. The development chain serializes these same types,
//! so client and server cannot drift apart.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::address::Address;
use crate::attachment::Attachment;
use crate::tx::{OutPoint, Output, Txid};

/// `gettx` / `decoderawtx` with `{"json":true}`; also the entries of a block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TxInfo {
    /// Txid.
    pub hash: String,
    /// Block height, 0 while unconfirmed (and for `decoderawtx`).
    #[serde(default)]
    pub height: u64,
    /// Transaction version.
    pub version: u32,
    /// Inputs as mvsd prints them.
    pub inputs: Vec<Value>,
    /// Outputs as mvsd prints them (value, script, attachment, address).
    pub outputs: Vec<Value>,
    /// Lock time.
    pub lock_time: u32,
}

/// `getblock` with `{"json":true,"tx_json":true}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BlockInfo {
    /// Block hash.
    pub hash: String,
    /// Height (genesis is 0).
    pub number: u64,
    /// Parent hash.
    pub previous_block_hash: String,
    /// Merkle root of the txids.
    pub merkle_tree_hash: String,
    /// Unix time.
    pub timestamp: u32,
    /// Header version.
    pub version: u32,
    /// Difficulty bits.
    pub bits: String,
    /// Nonce.
    pub nonce: String,
    /// Number of transactions.
    pub transaction_count: u64,
    /// Transactions (full objects with `tx_json`).
    pub transactions: Vec<TxInfo>,
}

/// `getblock` with `{"json":true,"tx_json":false}`: the header fields a caller follows
/// the chain by, and the txids instead of whole transactions (a block of large batched
/// transfers is megabytes of JSON with them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BlockSummary {
    /// Block hash.
    pub hash: String,
    /// Height (genesis is 0).
    pub number: u64,
    /// Parent hash.
    pub previous_block_hash: String,
    /// Txids, in block order.
    pub transactions: Vec<String>,
}

/// `validateaddress`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AddressValidation {
    /// "p2pkh", "p2sh" or "unknown".
    pub address_type: String,
    /// Whether the address parses and has a known version.
    pub is_valid: bool,
    /// Whether it is a testnet address.
    pub testnet: bool,
    /// Human-readable verdict.
    pub message: String,
}

/// `getaddressetp` without `utxo`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EtpBalance {
    /// The address.
    pub address: String,
    /// ETP in confirmed unspent outputs.
    pub confirmed: u64,
    /// ETP spendable now: confirmed, minus what pending transactions spend, plus their outputs.
    pub unspent: u64,
    /// Locked ETP (always 0 here).
    pub frozen: u64,
}

/// One asset balance of `getaddressasset`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssetBalance {
    /// Symbol.
    pub symbol: String,
    /// Address.
    pub address: String,
    /// Quantity in confirmed unspent outputs.
    pub confirmed: u64,
    /// Quantity spendable now (pending spends and receipts applied).
    pub quantity: u64,
    /// Decimal places of the asset (0 if unknown).
    pub decimal_number: u8,
}

/// An unspent output (`getaddressetp`/`getaddressasset` with `{"utxo":true}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Utxo {
    /// Transaction holding the output.
    pub txid: String,
    /// Output index.
    pub index: u32,
    /// ETP satoshi.
    pub value: u64,
    /// Confirmation height, 0 if created by a pending transaction.
    pub height: u64,
    /// Owner address.
    pub address: String,
    /// Attachment as mvsd prints it.
    pub attachment: Value,
}

impl Utxo {
    /// The outpoint of this output.
    pub fn outpoint(&self) -> Option<OutPoint> {
        Some(OutPoint::new(self.txid.parse::<Txid>().ok()?, self.index))
    }

    /// The output itself, for signing and fee arithmetic (P2PKH and P2SH owners only).
    pub fn to_output(&self) -> Option<Output> {
        let address = Address::parse(&self.address).ok()?;
        let attachment: Attachment = crate::json::attachment_from_json(&self.attachment)?;
        Some(Output {
            value: self.value,
            script_pubkey: address.script_pubkey(),
            attachment,
        })
    }
}

/// A list of unspent outputs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UtxoList {
    /// The outputs.
    pub utxo: Vec<Utxo>,
}

/// `getasset`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssetInfo {
    /// Symbol.
    pub symbol: String,
    /// Supply.
    pub maximum_supply: u64,
    /// Decimal places.
    pub decimal_number: u8,
    /// Raw threshold byte.
    pub secondaryissue_threshold: u8,
    /// Issuer avatar.
    pub issuer: String,
    /// Address that received the supply.
    pub address: String,
    /// Description.
    pub description: String,
    /// Issue transaction.
    pub hash: String,
    /// Height of the issue, 0 while pending.
    pub height: u64,
}

/// `getdid`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DidInfo {
    /// Avatar name.
    pub symbol: String,
    /// Current address.
    pub address: String,
    /// Transaction of the current binding.
    pub hash: String,
    /// Height of that transaction, 0 while pending.
    pub height: u64,
}

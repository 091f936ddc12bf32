//! Metaverse (MVS) chain library: the project's Rust SDK for MVS.
//!
//! - [`keys`], [`address`]: secp256k1 keys, WIF, Base58Check addresses.
//! - [`tx`], [`attachment`], [`encoding`]: transactions and their exact wire format.
//! - [`sighash`], [`sign`]: the legacy SIGHASH_ALL digest, signing and verification.
//! - [`symbol`], [`consensus`], [`builder`]: symbol rules, the consensus checks the
//!   platform relies on, and builders for issue, transfer, burn and avatar registration.
//! - [`rpc`]: a JSON-RPC v3 client for an MVS node.
//! - [`devnet`]: a development chain answering the same JSON-RPC subset.
//!
//! Facts about the protocol are in `shared/mvs/PROTOCOL.md`.
#![warn(missing_docs)]

pub mod address;
pub mod attachment;
pub mod builder;
pub mod consensus;
pub mod devnet;
pub mod encoding;
pub mod hash;
pub mod json;
pub mod keys;
pub mod network;
pub mod rpc;
pub mod script;
pub mod sighash;
pub mod sign;
pub mod symbol;
pub mod tx;

pub use address::Address;
pub use network::Network;

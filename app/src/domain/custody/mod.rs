//! Custodial keys: the platform holds secp256k1 keys for customers, store treasuries and the
//! fee wallet, sealed at rest under one master key.

pub mod master_key;
pub mod vault;

pub use master_key::{MasterKey, MasterKeyError};
pub use vault::{KeyId, KeyPurpose, KeyVault, VaultError};

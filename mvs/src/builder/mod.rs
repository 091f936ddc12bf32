//! Builders for the transactions the platform makes: MST issue, MST transfer (awards,
//! redemptions, transfers, burns) and avatar registration. Each builder lays out the
//! outputs the way metaversejs does, signs every input and then checks the result
//! against [`crate::consensus::check_transaction`], so a built transaction is one the
//! node accepts as far as these rules go.

mod avatar;
mod issue;
mod secondary_issue;
mod split;
mod transfer;

pub use avatar::AvatarRegistration;
pub use issue::{DomainCertificate, MstIssue, SecondaryIssue};
pub use secondary_issue::MstSecondaryIssue;
pub use split::EtpSplit;
pub use transfer::MstTransfer;

use crate::address::Address;
use crate::consensus::{check_transaction, RuleError};
use crate::keys::PrivateKey;
use crate::network::Network;
use crate::sign::{sign_input, SignError};
use crate::symbol::SymbolError;
use crate::tx::{Input, OutPoint, Output, Transaction, TX_VERSION};

/// An unspent output together with the key that can spend it.
#[derive(Debug, Clone)]
pub struct Spendable {
    /// Where the output is.
    pub outpoint: OutPoint,
    /// The output itself (value, script, attachment), needed for signing and fee arithmetic.
    pub output: Output,
    /// The key owning the output's address.
    pub key: PrivateKey,
}

/// Where a transfer output goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// An address.
    Address(Address),
    /// An avatar, already resolved to its address (e.g. with `getdid`); the output
    /// names it with attachment version 207.
    Avatar {
        /// Avatar name.
        name: String,
        /// The avatar's current address.
        address: Address,
    },
    /// Destroyed: an `OP_RETURN` output.
    Burn,
}

/// One output of an MST transfer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    /// Where the quantity goes.
    pub destination: Destination,
    /// Base units.
    pub quantity: u64,
}

impl Recipient {
    /// `quantity` to `address`.
    pub fn address(address: Address, quantity: u64) -> Recipient {
        Recipient {
            destination: Destination::Address(address),
            quantity,
        }
    }
    /// `quantity` to avatar `name` whose address is `address`.
    pub fn avatar(name: impl Into<String>, address: Address, quantity: u64) -> Recipient {
        Recipient {
            destination: Destination::Avatar {
                name: name.into(),
                address,
            },
            quantity,
        }
    }
    /// `quantity` burned.
    pub fn burn(quantity: u64) -> Recipient {
        Recipient {
            destination: Destination::Burn,
            quantity,
        }
    }
}

/// Why a transaction could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    /// The asset symbol breaks a symbol rule.
    #[error("invalid symbol: {0}")]
    Symbol(#[from] SymbolError),
    /// A transfer with nobody to pay.
    #[error("no recipients")]
    NoRecipients,
    /// A recipient or supply of zero.
    #[error("quantity must be positive")]
    ZeroQuantity,
    /// An asset input that does not hold the transferred symbol.
    #[error("asset input {index} holds {found:?}, not {expected}")]
    WrongAssetInput {
        /// Position among the asset inputs.
        index: usize,
        /// Symbol transferred.
        expected: String,
        /// What the input holds.
        found: Option<String>,
    },
    /// A fee input carrying an asset, avatar or certificate (it would be lost).
    #[error("fee input {0} carries more than ETP")]
    FeeInputNotEtp(usize),
    /// Not enough of the asset in the asset inputs.
    #[error("insufficient asset: need {needed}, inputs hold {available}")]
    InsufficientAsset {
        /// Quantity needed.
        needed: u64,
        /// Quantity available.
        available: u64,
    },
    /// Not enough ETP for the fee and the ETP outputs.
    #[error("insufficient ETP: need {needed} satoshi, inputs hold {available}")]
    InsufficientEtp {
        /// ETP needed.
        needed: u64,
        /// ETP available.
        available: u64,
    },
    /// Fee below the minimum.
    #[error("fee {fee} is below the minimum {min} satoshi")]
    FeeTooLow {
        /// Fee asked for.
        fee: u64,
        /// Minimum.
        min: u64,
    },
    /// An amount overflows 64 bits.
    #[error("amount overflow")]
    Overflow,
    /// An address of the wrong network.
    #[error("address {0} is not on {1}")]
    WrongNetwork(Address, Network),
    /// Signing failed (e.g. a key that does not own its input).
    #[error("signing: {0}")]
    Sign(#[from] SignError),
    /// The built transaction breaks a consensus rule.
    #[error("consensus: {0}")]
    Rule(#[from] RuleError),
}

/// Sum of the ETP values of `inputs`.
fn sum_values(inputs: &[Spendable]) -> Result<u64, BuildError> {
    inputs
        .iter()
        .try_fold(0u64, |acc, s| acc.checked_add(s.output.value))
        .ok_or(BuildError::Overflow)
}

/// Requires fee inputs to carry nothing but ETP.
fn check_fee_inputs(inputs: &[Spendable]) -> Result<(), BuildError> {
    for (i, s) in inputs.iter().enumerate() {
        if s.output.attachment.body != crate::attachment::AttachmentBody::Etp {
            return Err(BuildError::FeeInputNotEtp(i));
        }
    }
    Ok(())
}

/// Requires `address` to belong to `network` (P2SH belongs to both).
fn check_network(address: &Address, network: Network) -> Result<(), BuildError> {
    match address.network() {
        Some(n) if n != network => Err(BuildError::WrongNetwork(*address, network)),
        _ => Ok(()),
    }
}

/// Assembles, signs and checks a transaction spending `spent` in order.
fn sign_and_check(
    spent: Vec<&Spendable>,
    outputs: Vec<Output>,
    network: Network,
) -> Result<Transaction, BuildError> {
    let mut tx = Transaction {
        version: TX_VERSION,
        inputs: spent.iter().map(|s| Input::unsigned(s.outpoint)).collect(),
        outputs,
        lock_time: 0,
    };
    for (i, s) in spent.iter().enumerate() {
        sign_input(&mut tx, i, &s.key, &s.output.script_pubkey)?;
    }
    let spent_outputs: Vec<&Output> = spent.iter().map(|s| &s.output).collect();
    check_transaction(&tx, &spent_outputs, network)?;
    Ok(tx)
}

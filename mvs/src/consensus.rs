//! The consensus rules of PROTOCOL.md that can be checked from a transaction and the
//! outputs it spends: shape, one symbol, at most one issue, asset conservation, fees.
//! Rules that need the chain's registries (does a symbol or avatar exist, who holds a
//! certificate) live in [`crate::devnet::validate`]; both report [`RuleError`].

use std::collections::HashSet;

use crate::address::Address;
use crate::attachment::{AttachmentBody, AvatarStatus};
use crate::network::Network;
use crate::sign::VerifyError;
use crate::symbol::{AvatarName, Symbol, SymbolError};
use crate::tx::{OutPoint, Output, Transaction, Txid};

/// Satoshi per ETP.
pub const COIN: u64 = 100_000_000;
/// Smallest fee of any transaction (0.0001 ETP).
pub const MIN_TX_FEE: u64 = 10_000;
/// Total cost of an MST issue.
pub const MST_ISSUE_FEE: u64 = 10 * COIN;
/// The most of the issue fee that may go to the developer-community address (80%).
pub const MAX_DEVELOPER_SHARE: u64 = MST_ISSUE_FEE / 100 * 80;
/// Cost of registering an avatar.
pub const AVATAR_REGISTER_FEE: u64 = COIN;
/// `sendrawtx` refuses transactions paying more than this (a guard against typos).
pub const MAX_BROADCAST_FEE: u64 = 100 * COIN;
/// Longest message attachment.
pub const MAX_MESSAGE_LEN: usize = 252;
/// Most decimal places of an MST.
pub const MAX_DECIMALS: u8 = 19;
/// Description must be shorter than this.
pub const MAX_DESCRIPTION_LEN: usize = 64;
/// Longest symbol + issuer + address + description of an issue.
pub const MAX_ASSET_DETAIL_TEXT: usize = 252;
/// Highest transaction version accepted.
pub const MAX_TX_VERSION: u32 = 4;

/// A broken consensus rule. The development chain maps each to a node error code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    /// Version 0 or above 4.
    #[error("transaction version {0} is not allowed")]
    BadVersion(u32),
    /// No inputs or no outputs.
    #[error("transaction has no {0}")]
    Empty(&'static str),
    /// An output spent twice by one transaction.
    #[error("input {0} is spent twice in the transaction")]
    DuplicateInput(OutPoint),
    /// A coinbase-style input outside a block's first transaction.
    #[error("null previous output outside a coinbase")]
    NullInput,
    /// Values overflow 64 bits.
    #[error("value overflow")]
    ValueOverflow,
    /// The caller passed the wrong number of spent outputs.
    #[error("{inputs} inputs but {prevouts} spent outputs")]
    PrevoutCountMismatch {
        /// Inputs.
        inputs: usize,
        /// Spent outputs given.
        prevouts: usize,
    },
    /// More than one MST symbol in one transaction.
    #[error("more than one asset symbol in one transaction: {0} and {1}")]
    MultipleSymbols(String, String),
    /// More than one issue output.
    #[error("more than one asset issue output")]
    MultipleIssues,
    /// An issue next to an output other than certificate, ETP or message.
    #[error("output {0} is not allowed alongside an asset issue")]
    OutputNotAllowedWithIssue(usize),
    /// An invalid MST symbol.
    #[error("invalid asset symbol {symbol:?}: {reason}")]
    BadSymbol {
        /// The symbol.
        symbol: String,
        /// Which rule.
        reason: SymbolError,
    },
    /// An invalid avatar name.
    #[error("invalid avatar name {name:?}: {reason}")]
    BadAvatarName {
        /// The name.
        name: String,
        /// Which rule.
        reason: SymbolError,
    },
    /// Decimals, supply or text lengths of an issue out of range.
    #[error("invalid asset detail: {0}")]
    BadAssetDetail(String),
    /// Message attachment too long.
    #[error("message of {0} bytes is too long (max {MAX_MESSAGE_LEN})")]
    MessageTooLong(usize),
    /// The address written in an attachment is not the output's address.
    #[error("output {0}: the attachment's address is not the output's address")]
    AttachmentAddressMismatch(usize),
    /// Asset quantity in differs from quantity out.
    #[error("asset {symbol}: {inputs} in, {outputs} out")]
    AssetNotConserved {
        /// Symbol.
        symbol: String,
        /// Quantity spent.
        inputs: u64,
        /// Quantity created by outputs.
        outputs: u64,
    },
    /// Outputs spend more ETP than the inputs hold.
    #[error("outputs of {outputs} satoshi exceed inputs of {inputs}")]
    EtpInsufficient {
        /// ETP in.
        inputs: u64,
        /// ETP out.
        outputs: u64,
    },
    /// Fee below the minimum for what the transaction does.
    #[error("fee {fee} is below the required {required} satoshi")]
    FeeTooLow {
        /// Fee paid.
        fee: u64,
        /// Fee required.
        required: u64,
    },
    /// Fee above what `sendrawtx` accepts.
    #[error("fee {fee} exceeds the maximum {max} satoshi")]
    FeeTooHigh {
        /// Fee paid.
        fee: u64,
        /// Maximum.
        max: u64,
    },
    /// A signature does not verify.
    #[error("signature: {0}")]
    Signature(#[from] VerifyError),
    /// An input refers to an output that does not exist.
    #[error("input not found: {0}")]
    InputNotFound(OutPoint),
    /// An input refers to an output already spent.
    #[error("double spend of input {0}")]
    DoubleSpend(OutPoint),
    /// The transaction is already in the pool or chain.
    #[error("transaction {0} already exists")]
    Duplicate(Txid),
    /// The symbol is already issued.
    #[error("asset symbol {0} already exists")]
    AssetExists(String),
    /// The avatar is already registered.
    #[error("avatar {0} already exists")]
    AvatarExists(String),
    /// The address already has an avatar.
    #[error("address {0} already has an avatar")]
    AddressHasAvatar(String),
    /// An avatar named in the transaction is not registered.
    #[error("avatar {0} not found")]
    AvatarNotFound(String),
    /// `to_did` or a certificate owner resolves to another address.
    #[error("output {output}: avatar {avatar} does not resolve to the output's address")]
    AvatarAddressMismatch {
        /// Output index.
        output: usize,
        /// Avatar name.
        avatar: String,
    },
    /// An avatar transfer not spending the avatar, or an avatar spent and not re-output.
    #[error(
        "avatar {0} is not carried correctly (spend it to transfer it, re-output it when spent)"
    )]
    AvatarNotOwned(String),
    /// A required certificate is missing.
    #[error("certificate {cert_type} for {symbol} is required")]
    CertificateMissing {
        /// Symbol or domain.
        symbol: String,
        /// "issue", "domain" or "naming".
        cert_type: &'static str,
    },
    /// A certificate output that the transaction has no right to create.
    #[error(
        "certificate {cert_type} for {symbol} is held by someone else or cannot be created here"
    )]
    CertificateNotOwned {
        /// Symbol or domain.
        symbol: String,
        /// "issue", "domain" or "naming".
        cert_type: &'static str,
    },
    /// A spent certificate that is not re-output.
    #[error("certificate {cert_type} for {symbol} is spent but not re-output")]
    CertificateNotConserved {
        /// Symbol or domain.
        symbol: String,
        /// "issue", "domain" or "naming".
        cert_type: &'static str,
    },
    /// A coinbase submitted as an ordinary transaction.
    #[error("coinbase transactions cannot be broadcast")]
    Coinbase,
    /// A secondary issue of a symbol nobody issued.
    #[error("asset {0} does not exist")]
    AssetNotFound(String),
    /// A secondary issue of an asset whose policy forbids it (threshold 0), or whose
    /// detail (decimals, threshold, issuer) differs from the original issue.
    #[error("asset {symbol}: secondary issue refused: {reason}")]
    SecondaryIssueRefused {
        /// Symbol.
        symbol: String,
        /// Which rule.
        reason: String,
    },
    /// The issuer does not hold the threshold share of the current supply in the
    /// transaction's asset inputs.
    #[error(
        "asset {symbol}: secondary issue needs {required} held by the issuer, inputs hold {held}"
    )]
    SecondaryIssueShareTooLow {
        /// Symbol.
        symbol: String,
        /// Quantity the inputs hold at the asset's address.
        held: u64,
        /// threshold% of the current supply, rounded up.
        required: u64,
    },
}

/// What [`check_transaction`] learned about a valid transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accounting {
    /// ETP spent.
    pub etp_in: u64,
    /// ETP created by outputs.
    pub etp_out: u64,
    /// `etp_in - etp_out`.
    pub fee: u64,
    /// The minimum fee for what the transaction does.
    pub required_fee: u64,
    /// The one MST symbol the transaction touches.
    pub symbol: Option<String>,
    /// Position of the issue output.
    pub issue_output: Option<usize>,
    /// Asset quantity spent.
    pub asset_in: u64,
    /// Asset quantity in outputs (an issue counts its whole supply).
    pub asset_out: u64,
    /// Whether the issue output is a secondary issue (more of an existing symbol).
    pub secondary_issue: bool,
}

/// Checks every rule that depends only on the transaction and the outputs it spends
/// (`spent[i]` for input `i`). Signatures are not checked here (see [`crate::sign`]).
pub fn check_transaction(
    tx: &Transaction,
    spent: &[&Output],
    network: Network,
) -> Result<Accounting, RuleError> {
    if tx.version == 0 || tx.version > MAX_TX_VERSION {
        return Err(RuleError::BadVersion(tx.version));
    }
    if tx.inputs.is_empty() {
        return Err(RuleError::Empty("inputs"));
    }
    if tx.outputs.is_empty() {
        return Err(RuleError::Empty("outputs"));
    }
    if spent.len() != tx.inputs.len() {
        return Err(RuleError::PrevoutCountMismatch {
            inputs: tx.inputs.len(),
            prevouts: spent.len(),
        });
    }
    let mut seen = HashSet::with_capacity(tx.inputs.len());
    for input in &tx.inputs {
        if input.previous_output.is_null() {
            return Err(RuleError::NullInput);
        }
        if !seen.insert(input.previous_output) {
            return Err(RuleError::DuplicateInput(input.previous_output));
        }
    }

    let etp_in = spent
        .iter()
        .try_fold(0u64, |acc, o| acc.checked_add(o.value))
        .ok_or(RuleError::ValueOverflow)?;
    let etp_out = tx.total_output_value().ok_or(RuleError::ValueOverflow)?;
    if etp_out > etp_in {
        return Err(RuleError::EtpInsufficient {
            inputs: etp_in,
            outputs: etp_out,
        });
    }

    let mut symbol: Option<String> = None;
    let mut note_symbol = |s: &str| -> Result<(), RuleError> {
        match &symbol {
            Some(existing) if existing != s => {
                Err(RuleError::MultipleSymbols(existing.clone(), s.to_string()))
            }
            Some(_) => Ok(()),
            None => {
                symbol = Some(s.to_string());
                Ok(())
            }
        }
    };
    let mut asset_in = 0u64;
    for o in spent {
        if let Some(s) = o.attachment.asset_symbol() {
            note_symbol(s)?;
            asset_in = asset_in
                .checked_add(o.attachment.asset_quantity())
                .ok_or(RuleError::ValueOverflow)?;
        }
    }

    let developer = developer_community_script(network);
    let mut issue_output = None;
    let mut asset_out = 0u64;
    let mut developer_paid = 0u64;
    let mut avatar_registrations = 0u64;
    for (i, o) in tx.outputs.iter().enumerate() {
        // Base58 encoding is costly: only done for attachments that name an address.
        let address_matches = |written: &str| {
            Address::from_script(&o.script_pubkey, network)
                .is_some_and(|a| a.to_string() == written)
        };
        match &o.attachment.body {
            AttachmentBody::Etp => {
                if o.script_pubkey == *developer {
                    developer_paid = developer_paid.saturating_add(o.value);
                }
            }
            AttachmentBody::AssetIssue(d) => {
                if issue_output.replace(i).is_some() {
                    return Err(RuleError::MultipleIssues);
                }
                Symbol::parse(&d.symbol).map_err(|reason| RuleError::BadSymbol {
                    symbol: d.symbol.clone(),
                    reason,
                })?;
                check_asset_detail(d)?;
                if !address_matches(&d.address) {
                    return Err(RuleError::AttachmentAddressMismatch(i));
                }
                note_symbol(&d.symbol)?;
                asset_out = asset_out
                    .checked_add(d.max_supply)
                    .ok_or(RuleError::ValueOverflow)?;
            }
            AttachmentBody::AssetTransfer(t) => {
                note_symbol(&t.symbol)?;
                asset_out = asset_out
                    .checked_add(t.quantity)
                    .ok_or(RuleError::ValueOverflow)?;
            }
            AttachmentBody::Message(m) => {
                if m.len() > MAX_MESSAGE_LEN {
                    return Err(RuleError::MessageTooLong(m.len()));
                }
            }
            AttachmentBody::Avatar(a) => {
                AvatarName::parse(&a.symbol).map_err(|reason| RuleError::BadAvatarName {
                    name: a.symbol.clone(),
                    reason,
                })?;
                if !address_matches(&a.address) {
                    return Err(RuleError::AttachmentAddressMismatch(i));
                }
                if a.status == AvatarStatus::Register {
                    avatar_registrations += 1;
                }
            }
            AttachmentBody::Certificate(c) => {
                if !address_matches(&c.address) {
                    return Err(RuleError::AttachmentAddressMismatch(i));
                }
            }
        }
    }
    let secondary_issue = issue_output.is_some_and(|i| {
        matches!(&tx.outputs[i].attachment.body, AttachmentBody::AssetIssue(d) if d.is_secondary_issue())
    });
    if let Some(issue) = issue_output {
        // An issue may only sit beside certificates, ETP and messages; a secondary issue
        // also re-outputs the issuer's share it spends to prove the threshold.
        for (i, o) in tx.outputs.iter().enumerate() {
            let allowed = match o.attachment.body {
                AttachmentBody::Etp
                | AttachmentBody::Message(_)
                | AttachmentBody::Certificate(_) => true,
                AttachmentBody::AssetTransfer(_) => secondary_issue,
                _ => false,
            };
            if i != issue && !allowed {
                return Err(RuleError::OutputNotAllowedWithIssue(i));
            }
        }
    }

    // Quantities are conserved. An issue creates its whole supply from nothing, so a
    // transaction issuing a symbol cannot also spend that symbol; a secondary issue
    // creates its volume and moves what it spends unchanged.
    let conserved = match issue_output {
        Some(i) if secondary_issue => {
            asset_in.checked_add(tx.outputs[i].attachment.asset_quantity()) == Some(asset_out)
        }
        Some(_) => asset_in == 0,
        None => asset_in == asset_out,
    };
    if !conserved {
        return Err(RuleError::AssetNotConserved {
            symbol: symbol.clone().unwrap_or_default(),
            inputs: asset_in,
            outputs: asset_out,
        });
    }

    let fee = etp_in - etp_out;
    // A secondary issue pays the ordinary fee (metaversejs checks exactly 10,000).
    let issue_part = if issue_output.is_some() && !secondary_issue {
        MST_ISSUE_FEE - developer_paid.min(MAX_DEVELOPER_SHARE)
    } else {
        0
    };
    let required_fee = (issue_part + avatar_registrations * AVATAR_REGISTER_FEE).max(MIN_TX_FEE);
    if fee < required_fee {
        return Err(RuleError::FeeTooLow {
            fee,
            required: required_fee,
        });
    }
    Ok(Accounting {
        etp_in,
        etp_out,
        fee,
        required_fee,
        symbol,
        issue_output,
        asset_in,
        asset_out,
        secondary_issue,
    })
}

/// The locking script of the network's developer-community address (parsed once).
fn developer_community_script(network: Network) -> &'static crate::script::Script {
    use std::sync::OnceLock;
    static MAINNET: OnceLock<crate::script::Script> = OnceLock::new();
    static TESTNET: OnceLock<crate::script::Script> = OnceLock::new();
    let cell = match network {
        Network::Mainnet => &MAINNET,
        Network::Testnet => &TESTNET,
    };
    cell.get_or_init(|| {
        Address::parse(network.developer_community_address())
            .expect("constant address")
            .script_pubkey()
    })
}

/// Range and length rules of an issue's asset detail.
pub fn check_asset_detail(d: &crate::attachment::AssetDetail) -> Result<(), RuleError> {
    if d.decimal_number > MAX_DECIMALS {
        return Err(RuleError::BadAssetDetail(format!(
            "{} decimals (max {MAX_DECIMALS})",
            d.decimal_number
        )));
    }
    if d.max_supply == 0 {
        return Err(RuleError::BadAssetDetail(
            "max supply must be positive".into(),
        ));
    }
    if d.description.len() >= MAX_DESCRIPTION_LEN {
        return Err(RuleError::BadAssetDetail(format!(
            "description of {} bytes (must be under {MAX_DESCRIPTION_LEN})",
            d.description.len()
        )));
    }
    let text = d.symbol.len() + d.issuer.len() + d.address.len() + d.description.len();
    if text > MAX_ASSET_DETAIL_TEXT {
        return Err(RuleError::BadAssetDetail(format!(
            "symbol, issuer, address and description take {text} bytes (max {MAX_ASSET_DETAIL_TEXT})"
        )));
    }
    let t = d.threshold();
    let valid = if d.is_secondary_issue() {
        needs_issue_certificate(t)
    } else {
        t <= 100 || t == crate::attachment::SECONDARY_ISSUE_FREE
    };
    if !valid {
        return Err(RuleError::BadAssetDetail(format!(
            "secondary issue threshold {}",
            d.secondaryissue_threshold
        )));
    }
    Ok(())
}

/// Whether an issue with this threshold byte must carry an issue certificate.
pub fn needs_issue_certificate(threshold: u8) -> bool {
    (1..=100).contains(&threshold) || threshold == crate::attachment::SECONDARY_ISSUE_FREE
}

//! Full validation of a transaction against chain state: the inputs exist and are
//! unspent, signatures hold, the stateless rules of [`crate::consensus`] pass, and the
//! registry rules hold (symbol and avatar uniqueness, certificates, avatar routing).

use std::collections::{HashMap, HashSet};

use super::state::{AvatarRecord, CertKey, CertRecord, ChainView, Effects};
use crate::address::Address;
use crate::attachment::{AttachmentBody, AvatarStatus, CertType};
use crate::consensus::{check_transaction, needs_issue_certificate, RuleError, MAX_BROADCAST_FEE};
use crate::network::Network;
use crate::sign::verify_transaction;
use crate::symbol::domain_of;
use crate::tx::{OutPoint, Output, Transaction, Txid};

/// How strict validation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValidationOptions {
    /// Check every input's signature (off only when replaying our own stored blocks
    /// or re-applying pool transactions that were already verified).
    pub verify_signatures: bool,
    /// Apply `sendrawtx`'s policy limits (maximum fee).
    pub broadcast_policy: bool,
}

impl ValidationOptions {
    /// A transaction arriving through `sendrawtx`.
    pub const BROADCAST: ValidationOptions = ValidationOptions {
        verify_signatures: true,
        broadcast_policy: true,
    };
    /// A transaction already verified once, re-applied to new state.
    pub const REAPPLY: ValidationOptions = ValidationOptions {
        verify_signatures: false,
        broadcast_policy: false,
    };
}

fn cert_type_name(t: CertType) -> &'static str {
    match t {
        CertType::Issue => "issue",
        CertType::Domain => "domain",
        CertType::Naming => "naming",
        CertType::Other(_) => "other",
    }
}

/// Validates `tx` (txid `txid`) against `view`, returning what it changes.
pub fn validate(
    view: &impl ChainView,
    tx: &Transaction,
    txid: Txid,
    network: Network,
    options: ValidationOptions,
) -> Result<Effects, RuleError> {
    if tx.is_coinbase() {
        return Err(RuleError::Coinbase);
    }
    if view.has_tx(&txid) {
        return Err(RuleError::Duplicate(txid));
    }
    let mut spent: Vec<(&OutPoint, &Output)> = Vec::with_capacity(tx.inputs.len());
    for input in &tx.inputs {
        let op = &input.previous_output;
        match view.coin(op) {
            Some(coin) => spent.push((op, &coin.output)),
            None if view.is_spent(op) => return Err(RuleError::DoubleSpend(*op)),
            None => return Err(RuleError::InputNotFound(*op)),
        }
    }
    let spent_outputs: Vec<&Output> = spent.iter().map(|(_, o)| *o).collect();
    let accounting = check_transaction(tx, &spent_outputs, network)?;
    if options.broadcast_policy && accounting.fee > MAX_BROADCAST_FEE {
        return Err(RuleError::FeeTooHigh {
            fee: accounting.fee,
            max: MAX_BROADCAST_FEE,
        });
    }
    if options.verify_signatures {
        verify_transaction(tx, &spent_outputs)?;
    }

    let output_address =
        |o: &Output| Address::from_script(&o.script_pubkey, network).map(|a| a.to_string());
    let resolve = |name: &str| -> Result<&AvatarRecord, RuleError> {
        view.avatar(&name.to_ascii_lowercase())
            .ok_or_else(|| RuleError::AvatarNotFound(name.to_string()))
    };
    let mut effects = Effects {
        fee: accounting.fee,
        ..Default::default()
    };

    // Version-207 routing: to_did must be the avatar living at the output's address.
    for (i, o) in tx.outputs.iter().enumerate() {
        if !o.attachment.has_dids() {
            continue;
        }
        if !o.attachment.to_did.is_empty() {
            let avatar = resolve(&o.attachment.to_did)?;
            if output_address(o).as_deref() != Some(avatar.address.as_str()) {
                return Err(RuleError::AvatarAddressMismatch {
                    output: i,
                    avatar: o.attachment.to_did.clone(),
                });
            }
        }
        if !o.attachment.from_did.is_empty() {
            resolve(&o.attachment.from_did)?;
        }
    }

    // Avatars: unique names, one per address, moved only by spending them.
    let mut spent_avatars: HashMap<String, String> = HashMap::new();
    let mut spent_certs: HashSet<CertKey> = HashSet::new();
    for (_, o) in &spent {
        match &o.attachment.body {
            AttachmentBody::Avatar(a) => {
                spent_avatars.insert(a.symbol.to_ascii_lowercase(), a.symbol.clone());
            }
            AttachmentBody::Certificate(c) => {
                spent_certs.insert((c.symbol.clone(), c.cert_type));
            }
            _ => {}
        }
    }
    let mut registered_here = HashSet::new();
    for (i, o) in tx.outputs.iter().enumerate() {
        let AttachmentBody::Avatar(a) = &o.attachment.body else {
            continue;
        };
        let key = a.symbol.to_ascii_lowercase();
        match a.status {
            AvatarStatus::Register => {
                if view.avatar(&key).is_some() || !registered_here.insert(key.clone()) {
                    return Err(RuleError::AvatarExists(a.symbol.clone()));
                }
                if view.avatar_of_address(&a.address).is_some() {
                    return Err(RuleError::AddressHasAvatar(a.address.clone()));
                }
            }
            AvatarStatus::Transfer => {
                if spent_avatars.remove(&key).is_none() {
                    return Err(RuleError::AvatarNotOwned(a.symbol.clone()));
                }
                if view.avatar_of_address(&a.address).is_some_and(|k| k != key) {
                    return Err(RuleError::AddressHasAvatar(a.address.clone()));
                }
            }
        }
        let outpoint = OutPoint::new(txid, i as u32);
        let record = AvatarRecord {
            symbol: a.symbol.clone(),
            address: a.address.clone(),
            outpoint,
            height: 0,
        };
        effects.avatars.push((key, record));
    }
    if let Some(name) = spent_avatars.into_values().next() {
        return Err(RuleError::AvatarNotOwned(name));
    }

    // Issue: a new symbol, an existing issuer, the domain held or auto-issued.
    let issue = accounting
        .issue_output
        .map(|i| match &tx.outputs[i].attachment.body {
            AttachmentBody::AssetIssue(d) => d,
            _ => unreachable!("issue_output points at an issue"),
        });
    let mut creatable: HashSet<CertKey> = HashSet::new();
    let mut required: Vec<CertKey> = Vec::new();
    if let Some(detail) = issue.filter(|d| d.is_secondary_issue()) {
        effects.supply_increase = Some(check_secondary_issue(
            view,
            detail,
            &spent,
            &spent_certs,
            network,
        )?);
        // The issue certificate is spent and must be re-output (checked below).
        required.push((detail.symbol.clone(), CertType::Issue));
    } else if let Some(detail) = issue {
        if view.asset(&detail.symbol).is_some() {
            return Err(RuleError::AssetExists(detail.symbol.clone()));
        }
        resolve(&detail.issuer)?;
        let domain_key: CertKey = (domain_of(&detail.symbol).to_string(), CertType::Domain);
        if view.cert(&domain_key).is_some() {
            let naming_key: CertKey = (detail.symbol.clone(), CertType::Naming);
            if !spent_certs.contains(&domain_key) && !spent_certs.contains(&naming_key) {
                return Err(RuleError::CertificateNotOwned {
                    symbol: domain_key.0,
                    cert_type: "domain",
                });
            }
        } else {
            creatable.insert(domain_key.clone());
            required.push(domain_key);
        }
        if needs_issue_certificate(detail.secondaryissue_threshold) {
            let issue_key: CertKey = (detail.symbol.clone(), CertType::Issue);
            creatable.insert(issue_key.clone());
            required.push(issue_key);
        }
        effects.asset = Some(detail.clone());
    }

    // Certificates: owned by an avatar living at the output's address; created only
    // by the issue that may create them, otherwise re-output after being spent.
    let mut output_certs = HashSet::new();
    for (i, o) in tx.outputs.iter().enumerate() {
        let AttachmentBody::Certificate(c) = &o.attachment.body else {
            continue;
        };
        let key: CertKey = (c.symbol.clone(), c.cert_type);
        let owner = resolve(&c.owner)?;
        if output_address(o).as_deref() != Some(owner.address.as_str()) {
            return Err(RuleError::AvatarAddressMismatch {
                output: i,
                avatar: c.owner.clone(),
            });
        }
        if !output_certs.insert(key.clone()) {
            return Err(RuleError::CertificateNotOwned {
                symbol: c.symbol.clone(),
                cert_type: cert_type_name(c.cert_type),
            });
        }
        if !spent_certs.remove(&key) && !creatable.contains(&key) {
            return Err(RuleError::CertificateNotOwned {
                symbol: c.symbol.clone(),
                cert_type: cert_type_name(c.cert_type),
            });
        }
        let record = CertRecord {
            owner: c.owner.clone(),
            address: c.address.clone(),
            outpoint: OutPoint::new(txid, i as u32),
        };
        effects.certs.push((key, record));
    }
    for key in required {
        if !output_certs.contains(&key) {
            return Err(RuleError::CertificateMissing {
                symbol: key.0,
                cert_type: cert_type_name(key.1),
            });
        }
    }
    for key in spent_certs {
        let consumed_by_issue =
            key.1 == CertType::Naming && issue.is_some_and(|d| d.symbol == key.0);
        if !consumed_by_issue {
            return Err(RuleError::CertificateNotConserved {
                symbol: key.0,
                cert_type: cert_type_name(key.1),
            });
        }
        effects.certs_removed.push(key);
    }

    effects.spent = tx.inputs.iter().map(|i| i.previous_output).collect();
    effects.created = created_outputs(tx, txid);
    Ok(effects)
}

/// The registry rules of a secondary issue (the node's `check_secondaryissue_transaction`):
/// the asset exists and its policy allows more supply; the detail repeats the original's
/// decimals, threshold and address; the issue certificate is spent; and the asset inputs
/// held at the asset's address cover threshold% of the current supply (rounded up;
/// threshold 127 needs no share). Returns the symbol and the volume added.
fn check_secondary_issue(
    view: &impl ChainView,
    detail: &crate::attachment::AssetDetail,
    spent: &[(&OutPoint, &Output)],
    spent_certs: &HashSet<CertKey>,
    network: Network,
) -> Result<(String, u64), RuleError> {
    let symbol = detail.symbol.clone();
    let record = view
        .asset(&symbol)
        .ok_or_else(|| RuleError::AssetNotFound(symbol.clone()))?;
    let original = &record.detail;
    let refused = |reason: &str| RuleError::SecondaryIssueRefused {
        symbol: symbol.clone(),
        reason: reason.to_string(),
    };
    let threshold = original.threshold();
    if !needs_issue_certificate(threshold) {
        return Err(refused("the asset's policy forbids secondary issue"));
    }
    if detail.threshold() != threshold || detail.decimal_number != original.decimal_number {
        return Err(refused(
            "decimals or threshold differ from the original issue",
        ));
    }
    if detail.address != original.address {
        return Err(refused("the new supply must go to the asset's address"));
    }
    if !spent_certs.contains(&(symbol.clone(), CertType::Issue)) {
        return Err(RuleError::CertificateMissing {
            symbol,
            cert_type: "issue",
        });
    }
    let supply = original.max_supply;
    if supply.checked_add(detail.max_supply).is_none() {
        return Err(RuleError::ValueOverflow);
    }
    if threshold != crate::attachment::SECONDARY_ISSUE_FREE {
        let held: u64 = spent
            .iter()
            .filter(|(_, o)| {
                o.attachment.asset_symbol() == Some(symbol.as_str())
                    && Address::from_script(&o.script_pubkey, network)
                        .is_some_and(|a| a.to_string() == original.address)
            })
            .map(|(_, o)| o.attachment.asset_quantity())
            .sum();
        let required = (supply as u128 * threshold as u128).div_ceil(100) as u64;
        if held < required {
            return Err(RuleError::SecondaryIssueShareTooLow {
                symbol,
                held,
                required,
            });
        }
    }
    Ok((symbol, detail.max_supply))
}

/// The spendable outputs a transaction creates (`OP_RETURN` outputs are unspendable).
pub fn created_outputs(tx: &Transaction, txid: Txid) -> Vec<(OutPoint, Output)> {
    tx.outputs
        .iter()
        .enumerate()
        .filter(|(_, o)| !o.script_pubkey.is_op_return())
        .map(|(i, o)| (OutPoint::new(txid, i as u32), o.clone()))
        .collect()
}

//! MST transfer: many recipients of one symbol, asset change back to the holder, the
//! fee paid from separate ETP inputs (the platform's fee wallet). Also burns.

use super::{
    check_fee_inputs, check_network, sign_and_check, sum_values, BuildError, Destination,
    Recipient, Spendable,
};
use crate::address::Address;
use crate::attachment::{AssetTransfer, Attachment, AttachmentBody};
use crate::consensus::MIN_TX_FEE;
use crate::network::Network;
use crate::script::Script;
use crate::tx::{Output, Transaction};

/// An MST transfer. Outputs are laid out as metaversejs does: recipients in order,
/// then the asset change (if any), then the ETP change (if any).
#[derive(Debug, Clone)]
pub struct MstTransfer {
    /// Network of every address involved.
    pub network: Network,
    /// The symbol moved (an existing asset).
    pub symbol: String,
    /// Outputs holding the symbol; spent first, in order.
    pub asset_inputs: Vec<Spendable>,
    /// Who receives how much.
    pub recipients: Vec<Recipient>,
    /// Where unsent asset goes back.
    pub asset_change: Address,
    /// Plain ETP outputs paying the fee; spent after the asset inputs.
    pub fee_inputs: Vec<Spendable>,
    /// Where unspent ETP goes back.
    pub fee_change: Address,
    /// Miner fee in satoshi (at least [`MIN_TX_FEE`]).
    pub fee: u64,
}

impl MstTransfer {
    /// Builds and signs the transaction.
    pub fn build(&self) -> Result<Transaction, BuildError> {
        if self.recipients.is_empty() {
            return Err(BuildError::NoRecipients);
        }
        if self.fee < MIN_TX_FEE {
            return Err(BuildError::FeeTooLow {
                fee: self.fee,
                min: MIN_TX_FEE,
            });
        }
        check_network(&self.asset_change, self.network)?;
        check_network(&self.fee_change, self.network)?;
        check_fee_inputs(&self.fee_inputs)?;

        let mut available = 0u64;
        for (index, input) in self.asset_inputs.iter().enumerate() {
            let found = input.output.attachment.asset_symbol();
            if found != Some(self.symbol.as_str()) {
                return Err(BuildError::WrongAssetInput {
                    index,
                    expected: self.symbol.clone(),
                    found: found.map(str::to_string),
                });
            }
            available = available
                .checked_add(input.output.attachment.asset_quantity())
                .ok_or(BuildError::Overflow)?;
        }
        let mut needed = 0u64;
        for r in &self.recipients {
            if r.quantity == 0 {
                return Err(BuildError::ZeroQuantity);
            }
            needed = needed.checked_add(r.quantity).ok_or(BuildError::Overflow)?;
        }
        if needed > available {
            return Err(BuildError::InsufficientAsset { needed, available });
        }

        let mut outputs = Vec::with_capacity(self.recipients.len() + 2);
        for r in &self.recipients {
            let body = AttachmentBody::AssetTransfer(AssetTransfer {
                symbol: self.symbol.clone(),
                quantity: r.quantity,
            });
            let (script, attachment) = match &r.destination {
                Destination::Address(a) => {
                    check_network(a, self.network)?;
                    (a.script_pubkey(), Attachment::plain(body))
                }
                Destination::Avatar { name, address } => {
                    check_network(address, self.network)?;
                    (
                        address.script_pubkey(),
                        Attachment::with_dids(body, name.clone(), ""),
                    )
                }
                Destination::Burn => (Script::op_return(), Attachment::plain(body)),
            };
            outputs.push(Output {
                value: 0,
                script_pubkey: script,
                attachment,
            });
        }
        if available > needed {
            outputs.push(Output {
                value: 0,
                script_pubkey: self.asset_change.script_pubkey(),
                attachment: Attachment::plain(AttachmentBody::AssetTransfer(AssetTransfer {
                    symbol: self.symbol.clone(),
                    quantity: available - needed,
                })),
            });
        }

        // ETP carried by asset outputs (normally 0) joins the fee inputs' ETP.
        let etp_in = sum_values(&self.asset_inputs)?
            .checked_add(sum_values(&self.fee_inputs)?)
            .ok_or(BuildError::Overflow)?;
        if etp_in < self.fee {
            return Err(BuildError::InsufficientEtp {
                needed: self.fee,
                available: etp_in,
            });
        }
        if etp_in > self.fee {
            outputs.push(Output {
                value: etp_in - self.fee,
                script_pubkey: self.fee_change.script_pubkey(),
                attachment: Attachment::etp(),
            });
        }

        let spent = self.asset_inputs.iter().chain(&self.fee_inputs).collect();
        sign_and_check(spent, outputs, self.network)
    }
}

//! Avatar (DID) registration.

use super::{check_fee_inputs, check_network, sign_and_check, sum_values, BuildError, Spendable};
use crate::address::Address;
use crate::attachment::{Attachment, AttachmentBody, AvatarBody, AvatarStatus};
use crate::consensus::AVATAR_REGISTER_FEE;
use crate::network::Network;
use crate::symbol::AvatarName;
use crate::tx::{Output, Transaction};

/// Registers avatar `name` bound to `address`, paying the 1 ETP fee from `fee_inputs`.
/// Outputs: the avatar output, then the ETP change.
#[derive(Debug, Clone)]
pub struct AvatarRegistration {
    /// Network of the addresses.
    pub network: Network,
    /// The avatar name.
    pub name: AvatarName,
    /// The address the avatar is bound to.
    pub address: Address,
    /// Plain ETP outputs paying the fee.
    pub fee_inputs: Vec<Spendable>,
    /// Where unspent ETP goes back.
    pub fee_change: Address,
}

impl AvatarRegistration {
    /// Builds and signs the transaction.
    pub fn build(&self) -> Result<Transaction, BuildError> {
        check_network(&self.address, self.network)?;
        check_network(&self.fee_change, self.network)?;
        check_fee_inputs(&self.fee_inputs)?;
        let mut outputs = vec![Output {
            value: 0,
            script_pubkey: self.address.script_pubkey(),
            attachment: Attachment::plain(AttachmentBody::Avatar(AvatarBody {
                status: AvatarStatus::Register,
                symbol: self.name.as_str().to_string(),
                address: self.address.to_string(),
            })),
        }];
        let available = sum_values(&self.fee_inputs)?;
        if available < AVATAR_REGISTER_FEE {
            return Err(BuildError::InsufficientEtp {
                needed: AVATAR_REGISTER_FEE,
                available,
            });
        }
        if available > AVATAR_REGISTER_FEE {
            outputs.push(Output {
                value: available - AVATAR_REGISTER_FEE,
                script_pubkey: self.fee_change.script_pubkey(),
                attachment: Attachment::etp(),
            });
        }
        sign_and_check(self.fee_inputs.iter().collect(), outputs, self.network)
    }
}

//! Splitting ETP into many equal outputs of one address (a fee wallet's pool), so that
//! independent transactions each find an output of their own instead of queueing on one
//! unconfirmed change output.

use super::{check_fee_inputs, check_network, sign_and_check, sum_values, BuildError, Spendable};
use crate::{
    address::Address,
    attachment::Attachment,
    consensus::MIN_TX_FEE,
    network::Network,
    tx::{Output, Transaction},
};

/// `count` outputs of `value` satoshi each to `to`, the rest (less the fee) to `change`.
#[derive(Debug, Clone)]
pub struct EtpSplit {
    /// Network of every address.
    pub network: Network,
    /// ETP outputs to split.
    pub inputs: Vec<Spendable>,
    /// Address receiving the new outputs.
    pub to: Address,
    /// How many outputs to create.
    pub count: usize,
    /// Satoshi in each new output.
    pub value: u64,
    /// Address receiving what is left.
    pub change: Address,
    /// Miner fee in satoshi.
    pub fee: u64,
}

impl EtpSplit {
    /// Signs the split; typed errors for a zero count or value, a low fee or too little ETP.
    pub fn build(&self) -> Result<Transaction, BuildError> {
        if self.count == 0 || self.value == 0 {
            return Err(BuildError::ZeroQuantity);
        }
        if self.fee < MIN_TX_FEE {
            return Err(BuildError::FeeTooLow {
                fee: self.fee,
                min: MIN_TX_FEE,
            });
        }
        check_network(&self.to, self.network)?;
        check_network(&self.change, self.network)?;
        check_fee_inputs(&self.inputs)?;
        let available = sum_values(&self.inputs)?;
        let needed = (self.count as u64)
            .checked_mul(self.value)
            .and_then(|v| v.checked_add(self.fee))
            .ok_or(BuildError::Overflow)?;
        if available < needed {
            return Err(BuildError::InsufficientEtp { needed, available });
        }
        let mut outputs: Vec<Output> = (0..self.count)
            .map(|_| Output {
                value: self.value,
                script_pubkey: self.to.script_pubkey(),
                attachment: Attachment::etp(),
            })
            .collect();
        if available > needed {
            outputs.push(Output {
                value: available - needed,
                script_pubkey: self.change.script_pubkey(),
                attachment: Attachment::etp(),
            });
        }
        sign_and_check(self.inputs.iter().collect(), outputs, self.network)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{keys::PrivateKey, tx::OutPoint};

    fn funded(key: &PrivateKey, value: u64) -> Spendable {
        Spendable {
            outpoint: OutPoint::new("11".repeat(32).parse().unwrap(), 0),
            output: Output {
                value,
                script_pubkey: key.address().script_pubkey(),
                attachment: Attachment::etp(),
            },
            key: key.clone(),
        }
    }

    #[test]
    fn splits_into_equal_outputs_with_change_and_verifies() {
        let key = PrivateKey::generate(Network::Testnet);
        let input = funded(&key, 1_000_000_000);
        let split = EtpSplit {
            network: Network::Testnet,
            inputs: vec![input.clone()],
            to: key.address(),
            count: 10,
            value: 10_000_000,
            change: key.address(),
            fee: MIN_TX_FEE,
        };
        let tx = split.build().unwrap();
        assert_eq!(tx.outputs.len(), 11);
        assert!(tx.outputs[..10].iter().all(|o| o.value == 10_000_000));
        assert_eq!(
            tx.outputs[10].value,
            1_000_000_000 - 100_000_000 - MIN_TX_FEE
        );
        crate::sign::verify_transaction(&tx, &[&input.output]).unwrap();
    }

    #[test]
    fn too_little_etp_or_a_low_fee_is_refused() {
        let key = PrivateKey::generate(Network::Testnet);
        let base = EtpSplit {
            network: Network::Testnet,
            inputs: vec![funded(&key, 50_000)],
            to: key.address(),
            count: 5,
            value: 10_000,
            change: key.address(),
            fee: MIN_TX_FEE,
        };
        assert!(matches!(
            base.build(),
            Err(BuildError::InsufficientEtp {
                needed: 60_000,
                available: 50_000
            })
        ));
        assert!(matches!(
            EtpSplit {
                fee: 1,
                ..base.clone()
            }
            .build(),
            Err(BuildError::FeeTooLow { .. })
        ));
        assert!(matches!(
            EtpSplit { count: 0, ..base }.build(),
            Err(BuildError::ZeroQuantity)
        ));
    }
}

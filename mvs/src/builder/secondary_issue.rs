//! MST secondary issue: more supply of an existing symbol, as the node's
//! `secondaryissue` command and metaversejs' `issueAsset(.., is_secondaryissue = true)`
//! lay it out. The issue output repeats the asset detail with the threshold byte flagged
//! (+128) and the added volume as `max_supply`; the issue certificate is spent and
//! re-output; the issuer's asset outputs are spent and re-output unchanged to prove it
//! holds the threshold share of the current supply. The fee is an ordinary one (no 10 ETP).
//! The new supply is plain P2PKH: the node's optional attenuation model (a lock on the
//! new volume) is not used by the platform.

use super::{check_fee_inputs, check_network, sign_and_check, sum_values, BuildError, Spendable};
use crate::address::Address;
use crate::attachment::{
    cert_status, AssetDetail, AssetTransfer, Attachment, AttachmentBody, CertType, Certificate,
    SECONDARY_ISSUE_FLAG,
};
use crate::consensus::{needs_issue_certificate, RuleError, MIN_TX_FEE};
use crate::network::Network;
use crate::symbol::{AvatarName, Symbol};
use crate::tx::{Output, Transaction};

/// A secondary issue of `symbol` to the asset's address `to`.
#[derive(Debug, Clone)]
pub struct MstSecondaryIssue {
    /// Network of every address.
    pub network: Network,
    /// The existing symbol.
    pub symbol: Symbol,
    /// Base units added to the supply, all paid to `to`.
    pub volume: u64,
    /// The asset's decimals (must equal the original issue's).
    pub decimals: u8,
    /// The asset's threshold byte (1..=100 or 127; must equal the original issue's).
    pub threshold: u8,
    /// The issuing avatar, owner of the issue certificate; it must resolve to `to`.
    pub issuer: AvatarName,
    /// The asset's address: receives the new supply, the certificate and the held share.
    pub to: Address,
    /// Description written into the issue output.
    pub description: String,
    /// The output holding the issue certificate of `symbol`.
    pub certificate: Spendable,
    /// Outputs of `symbol` held at `to`, spent and re-output as one transfer to `to`
    /// (at least threshold% of the current supply; may be empty when the threshold is 127).
    pub asset_inputs: Vec<Spendable>,
    /// Plain ETP outputs paying the fee.
    pub fee_inputs: Vec<Spendable>,
    /// Where unspent ETP goes back.
    pub fee_change: Address,
    /// Fee in satoshi (at least [`MIN_TX_FEE`]).
    pub fee: u64,
}

impl MstSecondaryIssue {
    /// Builds and signs the transaction.
    pub fn build(&self) -> Result<Transaction, BuildError> {
        if self.volume == 0 {
            return Err(BuildError::ZeroQuantity);
        }
        if self.fee < MIN_TX_FEE {
            return Err(BuildError::FeeTooLow {
                fee: self.fee,
                min: MIN_TX_FEE,
            });
        }
        if !needs_issue_certificate(self.threshold) {
            return Err(BuildError::Rule(RuleError::SecondaryIssueRefused {
                symbol: self.symbol.to_string(),
                reason: "the asset's policy forbids secondary issue".into(),
            }));
        }
        check_network(&self.to, self.network)?;
        check_network(&self.fee_change, self.network)?;
        check_fee_inputs(&self.fee_inputs)?;
        match &self.certificate.output.attachment.body {
            AttachmentBody::Certificate(c)
                if c.cert_type == CertType::Issue && c.symbol == self.symbol.as_str() => {}
            _ => {
                return Err(BuildError::Rule(RuleError::CertificateMissing {
                    symbol: self.symbol.to_string(),
                    cert_type: "issue",
                }))
            }
        }
        let mut held = 0u64;
        for (index, s) in self.asset_inputs.iter().enumerate() {
            let found = s.output.attachment.asset_symbol();
            if found != Some(self.symbol.as_str()) {
                return Err(BuildError::WrongAssetInput {
                    index,
                    expected: self.symbol.to_string(),
                    found: found.map(str::to_string),
                });
            }
            held = held
                .checked_add(s.output.attachment.asset_quantity())
                .ok_or(BuildError::Overflow)?;
        }

        let to_script = self.to.script_pubkey();
        let to_text = self.to.to_string();
        let issuer = self.issuer.as_str().to_string();
        let mut outputs = vec![
            Output {
                value: 0,
                script_pubkey: to_script.clone(),
                attachment: Attachment::plain(AttachmentBody::AssetIssue(AssetDetail {
                    symbol: self.symbol.to_string(),
                    max_supply: self.volume,
                    decimal_number: self.decimals,
                    secondaryissue_threshold: self.threshold | SECONDARY_ISSUE_FLAG,
                    reserved: [0, 0],
                    issuer: issuer.clone(),
                    address: to_text.clone(),
                    description: self.description.clone(),
                })),
            },
            Output {
                value: 0,
                script_pubkey: to_script.clone(),
                attachment: Attachment::with_dids(
                    AttachmentBody::Certificate(Certificate {
                        symbol: self.symbol.to_string(),
                        owner: issuer.clone(),
                        address: to_text,
                        cert_type: CertType::Issue,
                        status: cert_status::NORMAL,
                    }),
                    issuer,
                    "",
                ),
            },
        ];
        if held > 0 {
            outputs.push(Output {
                value: 0,
                script_pubkey: to_script,
                attachment: Attachment::plain(AttachmentBody::AssetTransfer(AssetTransfer {
                    symbol: self.symbol.to_string(),
                    quantity: held,
                })),
            });
        }

        // The certificate and asset outputs may carry ETP: it goes back as change.
        let carried = self
            .asset_inputs
            .iter()
            .map(|s| s.output.value)
            .try_fold(self.certificate.output.value, u64::checked_add)
            .ok_or(BuildError::Overflow)?;
        let available = sum_values(&self.fee_inputs)?
            .checked_add(carried)
            .ok_or(BuildError::Overflow)?;
        if available < self.fee {
            return Err(BuildError::InsufficientEtp {
                needed: self.fee,
                available,
            });
        }
        if available > self.fee {
            outputs.push(Output {
                value: available - self.fee,
                script_pubkey: self.fee_change.script_pubkey(),
                attachment: Attachment::etp(),
            });
        }
        let mut spent: Vec<&Spendable> = vec![&self.certificate];
        spent.extend(self.asset_inputs.iter());
        spent.extend(self.fee_inputs.iter());
        sign_and_check(spent, outputs, self.network)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consensus::check_transaction;
    use crate::hash::Hash256;
    use crate::keys::PrivateKey;
    use crate::tx::OutPoint;

    fn outpoint(n: u8) -> OutPoint {
        OutPoint::new(Hash256([n; 32]), 0)
    }

    fn spendable(key: &PrivateKey, n: u8, value: u64, body: AttachmentBody) -> Spendable {
        Spendable {
            outpoint: outpoint(n),
            output: Output {
                value,
                script_pubkey: key.address().script_pubkey(),
                attachment: Attachment::plain(body),
            },
            key: key.clone(),
        }
    }

    fn cert(key: &PrivateKey, symbol: &str, cert_type: CertType) -> Spendable {
        spendable(
            key,
            1,
            0,
            AttachmentBody::Certificate(Certificate {
                symbol: symbol.into(),
                owner: "shop".into(),
                address: key.address().to_string(),
                cert_type,
                status: cert_status::AUTO_ISSUE,
            }),
        )
    }

    fn held(key: &PrivateKey, n: u8, symbol: &str, quantity: u64) -> Spendable {
        spendable(
            key,
            n,
            0,
            AttachmentBody::AssetTransfer(AssetTransfer {
                symbol: symbol.into(),
                quantity,
            }),
        )
    }

    fn issue(shop: &PrivateKey, fee: &PrivateKey) -> MstSecondaryIssue {
        MstSecondaryIssue {
            network: Network::Testnet,
            symbol: Symbol::parse("SHOP.POINTS").unwrap(),
            volume: 5_000,
            decimals: 2,
            threshold: 51,
            issuer: AvatarName::parse("shop").unwrap(),
            to: shop.address(),
            description: "more points".into(),
            certificate: cert(shop, "SHOP.POINTS", CertType::Issue),
            asset_inputs: vec![
                held(shop, 2, "SHOP.POINTS", 600),
                held(shop, 3, "SHOP.POINTS", 400),
            ],
            fee_inputs: vec![spendable(fee, 9, 50_000, AttachmentBody::Etp)],
            fee_change: fee.address(),
            fee: MIN_TX_FEE,
        }
    }

    #[test]
    fn lays_out_flagged_issue_certificate_share_and_change() {
        let shop = PrivateKey::generate(Network::Testnet);
        let fee = PrivateKey::generate(Network::Testnet);
        let b = issue(&shop, &fee);
        let tx = b.build().unwrap();
        assert_eq!(tx.inputs.len(), 4);
        assert_eq!(tx.outputs.len(), 4);
        let AttachmentBody::AssetIssue(d) = &tx.outputs[0].attachment.body else {
            panic!("first output is the issue")
        };
        assert_eq!(d.secondaryissue_threshold, 51 + 128);
        assert!(d.is_secondary_issue());
        assert_eq!(d.threshold(), 51);
        assert_eq!(d.max_supply, 5_000);
        assert!(matches!(
            &tx.outputs[1].attachment.body,
            AttachmentBody::Certificate(c) if c.cert_type == CertType::Issue && c.status == cert_status::NORMAL
        ));
        assert_eq!(tx.outputs[1].attachment.to_did, "shop");
        assert_eq!(tx.outputs[2].attachment.asset_quantity(), 1_000);
        assert_eq!(tx.outputs[3].value, 40_000);
        let spent: Vec<&Output> = [&b.certificate]
            .into_iter()
            .chain(&b.asset_inputs)
            .chain(&b.fee_inputs)
            .map(|s| &s.output)
            .collect();
        let acc = check_transaction(&tx, &spent, Network::Testnet).unwrap();
        assert!(acc.secondary_issue);
        assert_eq!(
            (acc.asset_in, acc.asset_out, acc.fee),
            (1_000, 6_000, MIN_TX_FEE)
        );
        // The encoding survives a round trip with the flag.
        let again =
            <Transaction as crate::encoding::Decode>::decode(&crate::encoding::Encode::encode(&tx))
                .unwrap();
        assert_eq!(again, tx);
    }

    #[test]
    fn free_threshold_needs_no_share() {
        let shop = PrivateKey::generate(Network::Testnet);
        let fee = PrivateKey::generate(Network::Testnet);
        let mut b = issue(&shop, &fee);
        b.threshold = crate::attachment::SECONDARY_ISSUE_FREE;
        b.asset_inputs.clear();
        let tx = b.build().unwrap();
        assert_eq!(tx.outputs.len(), 3);
        let AttachmentBody::AssetIssue(d) = &tx.outputs[0].attachment.body else {
            panic!()
        };
        assert_eq!(d.secondaryissue_threshold, 255);
    }

    #[test]
    fn refuses_forbidden_policy_missing_certificate_and_foreign_asset() {
        let shop = PrivateKey::generate(Network::Testnet);
        let fee = PrivateKey::generate(Network::Testnet);
        let mut b = issue(&shop, &fee);
        b.threshold = 0;
        assert!(matches!(
            b.build(),
            Err(BuildError::Rule(RuleError::SecondaryIssueRefused { .. }))
        ));
        let mut b = issue(&shop, &fee);
        b.certificate = cert(&shop, "SHOP", CertType::Domain);
        assert!(matches!(
            b.build(),
            Err(BuildError::Rule(RuleError::CertificateMissing { .. }))
        ));
        let mut b = issue(&shop, &fee);
        b.asset_inputs.push(held(&shop, 4, "OTHER.POINTS", 1));
        assert!(matches!(
            b.build(),
            Err(BuildError::WrongAssetInput { index: 2, .. })
        ));
        let mut b = issue(&shop, &fee);
        b.volume = 0;
        assert_eq!(b.build(), Err(BuildError::ZeroQuantity));
    }

    #[test]
    fn an_unflagged_issue_beside_a_transfer_is_still_refused() {
        // The consensus exception for transfer outputs applies to secondary issues only.
        let shop = PrivateKey::generate(Network::Testnet);
        let fee = PrivateKey::generate(Network::Testnet);
        let b = issue(&shop, &fee);
        let mut tx = b.build().unwrap();
        if let AttachmentBody::AssetIssue(d) = &mut tx.outputs[0].attachment.body {
            d.secondaryissue_threshold = 51;
        }
        let spent: Vec<&Output> = [&b.certificate]
            .into_iter()
            .chain(&b.asset_inputs)
            .chain(&b.fee_inputs)
            .map(|s| &s.output)
            .collect();
        assert!(check_transaction(&tx, &spent, Network::Testnet).is_err());
    }
}

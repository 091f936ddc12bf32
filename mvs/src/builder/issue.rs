//! MST issue: the issue output, its certificates and the 10 ETP fee split between the
//! developer-community address and the miner.

use super::{check_fee_inputs, check_network, sign_and_check, sum_values, BuildError, Spendable};
use crate::address::Address;
use crate::attachment::{
    cert_status, AssetDetail, Attachment, AttachmentBody, CertType, Certificate,
    SECONDARY_ISSUE_FREE,
};
use crate::consensus::{needs_issue_certificate, MAX_DEVELOPER_SHARE, MST_ISSUE_FEE};
use crate::network::Network;
use crate::symbol::{AvatarName, Symbol};
use crate::tx::{Output, Transaction};

/// Who may issue more of the asset later.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecondaryIssue {
    /// Nobody: the supply is fixed (no issue certificate is created).
    Never,
    /// A holder of the issue certificate who also holds this percentage (1..=100) of the supply.
    Threshold(u8),
    /// The holder of the issue certificate, freely.
    Free,
}

impl SecondaryIssue {
    /// The threshold byte of the asset detail.
    pub fn threshold_byte(self) -> u8 {
        match self {
            SecondaryIssue::Never => 0,
            SecondaryIssue::Threshold(p) => p,
            SecondaryIssue::Free => SECONDARY_ISSUE_FREE,
        }
    }
}

/// How the issue deals with the symbol's domain certificate.
#[derive(Debug, Clone)]
pub enum DomainCertificate {
    /// Nobody holds the domain yet: create it for the issuer (status auto-issue).
    AutoIssue,
    /// The issuer holds the domain certificate in this output: spend it and re-output it.
    Spend(Box<Spendable>),
}

/// An MST issue. Outputs as metaversejs lays them out: issue output, issue certificate
/// (if secondary issue is allowed), domain certificate, developer-community share,
/// ETP change.
#[derive(Debug, Clone)]
pub struct MstIssue {
    /// Network of every address.
    pub network: Network,
    /// The new symbol.
    pub symbol: Symbol,
    /// Whole supply in base units, all paid to `to`.
    pub max_supply: u64,
    /// Decimal places (0..=19).
    pub decimals: u8,
    /// Secondary-issue policy.
    pub secondary_issue: SecondaryIssue,
    /// The issuing avatar; it must resolve to `to`.
    pub issuer: AvatarName,
    /// Receives the supply and the certificates (the issuer avatar's address).
    pub to: Address,
    /// Description (< 64 bytes).
    pub description: String,
    /// Domain certificate handling.
    pub domain_certificate: DomainCertificate,
    /// Plain ETP outputs paying the 10 ETP.
    pub fee_inputs: Vec<Spendable>,
    /// Where unspent ETP goes back.
    pub fee_change: Address,
    /// Part of the 10 ETP paid to the developer-community address (at most 8 ETP;
    /// metaversejs pays the full 8 ETP and leaves 2 ETP to the miner).
    pub developer_share: u64,
}

impl MstIssue {
    /// Builds and signs the transaction.
    pub fn build(&self) -> Result<Transaction, BuildError> {
        if self.max_supply == 0 {
            return Err(BuildError::ZeroQuantity);
        }
        check_network(&self.to, self.network)?;
        check_network(&self.fee_change, self.network)?;
        check_fee_inputs(&self.fee_inputs)?;
        let developer_share = self.developer_share.min(MAX_DEVELOPER_SHARE);

        let to_script = self.to.script_pubkey();
        let to_text = self.to.to_string();
        let issuer = self.issuer.as_str().to_string();
        let cert = |symbol: &str, cert_type: CertType, status: u8| Output {
            value: 0,
            script_pubkey: to_script.clone(),
            attachment: Attachment::with_dids(
                AttachmentBody::Certificate(Certificate {
                    symbol: symbol.to_string(),
                    owner: issuer.clone(),
                    address: to_text.clone(),
                    cert_type,
                    status,
                }),
                issuer.clone(),
                "",
            ),
        };

        let mut outputs = vec![Output {
            value: 0,
            script_pubkey: to_script.clone(),
            attachment: Attachment::plain(AttachmentBody::AssetIssue(AssetDetail {
                symbol: self.symbol.to_string(),
                max_supply: self.max_supply,
                decimal_number: self.decimals,
                secondaryissue_threshold: self.secondary_issue.threshold_byte(),
                reserved: [0, 0],
                issuer: issuer.clone(),
                address: to_text.clone(),
                description: self.description.clone(),
            })),
        }];
        if needs_issue_certificate(self.secondary_issue.threshold_byte()) {
            outputs.push(cert(
                self.symbol.as_str(),
                CertType::Issue,
                cert_status::AUTO_ISSUE,
            ));
        }
        let mut spent: Vec<&Spendable> = self.fee_inputs.iter().collect();
        match &self.domain_certificate {
            DomainCertificate::AutoIssue => outputs.push(cert(
                self.symbol.domain(),
                CertType::Domain,
                cert_status::AUTO_ISSUE,
            )),
            DomainCertificate::Spend(held) => {
                outputs.push(cert(
                    self.symbol.domain(),
                    CertType::Domain,
                    cert_status::NORMAL,
                ));
                spent.push(held.as_ref());
            }
        }
        if developer_share > 0 {
            let developer = Address::parse(self.network.developer_community_address())
                .expect("constant address");
            outputs.push(Output {
                value: developer_share,
                script_pubkey: developer.script_pubkey(),
                attachment: Attachment::etp(),
            });
        }

        let available = sum_values(&self.fee_inputs)?;
        if available < MST_ISSUE_FEE {
            return Err(BuildError::InsufficientEtp {
                needed: MST_ISSUE_FEE,
                available,
            });
        }
        if available > MST_ISSUE_FEE {
            outputs.push(Output {
                value: available - MST_ISSUE_FEE,
                script_pubkey: self.fee_change.script_pubkey(),
                attachment: Attachment::etp(),
            });
        }
        sign_and_check(spent, outputs, self.network)
    }
}

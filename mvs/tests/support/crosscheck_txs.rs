//! Transactions built by the crate's builders with fresh random keys, printed with their
//! spent outputs for `crosscheck/crosscheck.js` (shared by the example and the test).

use mvs::attachment::{cert_status, CertType, Certificate};
use mvs::attachment::{AssetTransfer, Attachment, AttachmentBody};
use mvs::builder::{
    AvatarRegistration, DomainCertificate, MstIssue, MstSecondaryIssue, MstTransfer, Recipient,
    SecondaryIssue, Spendable,
};
use mvs::consensus::{COIN, MAX_DEVELOPER_SHARE, MIN_TX_FEE};
use mvs::encoding::Encode;
use mvs::hash::Hash256;
use mvs::keys::PrivateKey;
use mvs::symbol::{AvatarName, Symbol};
use mvs::tx::{OutPoint, Output, Transaction};
use mvs::Network;
use serde_json::{json, Value};

fn random_outpoint() -> OutPoint {
    OutPoint::new(Hash256(rand::random()), rand::random::<u32>() % 8)
}

fn etp(key: &PrivateKey, value: u64) -> Spendable {
    Spendable {
        outpoint: random_outpoint(),
        output: Output {
            value,
            script_pubkey: key.address().script_pubkey(),
            attachment: Attachment::etp(),
        },
        key: key.clone(),
    }
}

fn asset(key: &PrivateKey, symbol: &str, quantity: u64) -> Spendable {
    Spendable {
        outpoint: random_outpoint(),
        output: Output {
            value: 0,
            script_pubkey: key.address().script_pubkey(),
            attachment: Attachment::plain(AttachmentBody::AssetTransfer(AssetTransfer {
                symbol: symbol.into(),
                quantity,
            })),
        },
        key: key.clone(),
    }
}

fn entry(name: &str, network: Network, tx: &Transaction, spent: &[&Spendable]) -> Value {
    let decoded = mvs::json::transaction_json(tx, network);
    json!({
        "name": name,
        "network": network.name(),
        "raw_hex": tx.encode_hex(),
        "txid": tx.txid().to_string(),
        "prevouts": spent.iter().map(|s| json!({
            "txid": s.outpoint.txid.to_string(),
            "index": s.outpoint.index,
            "address": s.key.address().to_string(),
            "value": s.output.value,
        })).collect::<Vec<_>>(),
        "expected_outputs": decoded["outputs"],
    })
}

/// Builds one transaction of every kind the platform makes, on both networks.
pub fn crosscheck_document() -> Value {
    let mut txs = Vec::new();
    for network in [Network::Testnet, Network::Mainnet] {
        let shop = PrivateKey::generate(network);
        let fee = PrivateKey::generate(network);
        let customers: Vec<PrivateKey> = (0..4).map(|_| PrivateKey::generate(network)).collect();

        let fee_in = etp(&fee, 25 * COIN);
        let issue = MstIssue {
            network,
            symbol: Symbol::parse("CROSS.CHECK").unwrap(),
            max_supply: 5_000_000,
            decimals: 3,
            secondary_issue: SecondaryIssue::Threshold(51),
            issuer: AvatarName::parse("cross-shop").unwrap(),
            to: shop.address(),
            description: "built by the mvs crate".into(),
            domain_certificate: DomainCertificate::AutoIssue,
            fee_inputs: vec![fee_in.clone()],
            fee_change: fee.address(),
            developer_share: MAX_DEVELOPER_SHARE,
        }
        .build()
        .unwrap();
        txs.push(entry("issue", network, &issue, &[&fee_in]));

        let fee_in = etp(&fee, 3 * COIN);
        let avatar = AvatarRegistration {
            network,
            name: AvatarName::parse("cross.customer").unwrap(),
            address: customers[0].address(),
            fee_inputs: vec![fee_in.clone()],
            fee_change: fee.address(),
        }
        .build()
        .unwrap();
        txs.push(entry("avatar_registration", network, &avatar, &[&fee_in]));

        let held = [
            asset(&shop, "CROSS.CHECK", 700),
            asset(&shop, "CROSS.CHECK", 300),
        ];
        let fees = [etp(&fee, 20_000), etp(&fee, 1_500_000)];
        let mut recipients: Vec<Recipient> = customers
            .iter()
            .enumerate()
            .map(|(i, c)| Recipient::address(c.address(), 10 + i as u64))
            .collect();
        recipients.push(Recipient::avatar(
            "cross.customer",
            customers[0].address(),
            5,
        ));
        let award = MstTransfer {
            network,
            symbol: "CROSS.CHECK".into(),
            asset_inputs: held.to_vec(),
            recipients,
            asset_change: shop.address(),
            fee_inputs: fees.to_vec(),
            fee_change: fee.address(),
            fee: MIN_TX_FEE,
        }
        .build()
        .unwrap();
        txs.push(entry(
            "batched_award_with_avatar",
            network,
            &award,
            &[&held[0], &held[1], &fees[0], &fees[1]],
        ));

        let held = asset(&customers[1], "CROSS.CHECK", 11);
        let fee_in = etp(&fee, 50_000);
        let burn = MstTransfer {
            network,
            symbol: "CROSS.CHECK".into(),
            asset_inputs: vec![held.clone()],
            recipients: vec![Recipient::burn(4)],
            asset_change: customers[1].address(),
            fee_inputs: vec![fee_in.clone()],
            fee_change: fee.address(),
            fee: 2 * MIN_TX_FEE,
        }
        .build()
        .unwrap();
        txs.push(entry("burn", network, &burn, &[&held, &fee_in]));

        // Secondary issue: flagged threshold byte (51 + 128, and 127 + 128 for a free
        // policy), the issue certificate re-output, the held share re-output.
        for (name, threshold, shares) in [
            ("secondary_issue", 51u8, vec![600u64, 400]),
            ("secondary_issue_free", 127u8, vec![]),
        ] {
            let cert = Spendable {
                outpoint: random_outpoint(),
                output: Output {
                    value: 0,
                    script_pubkey: shop.address().script_pubkey(),
                    attachment: Attachment::with_dids(
                        AttachmentBody::Certificate(Certificate {
                            symbol: "CROSS.CHECK".into(),
                            owner: "cross-shop".into(),
                            address: shop.address().to_string(),
                            cert_type: CertType::Issue,
                            status: cert_status::AUTO_ISSUE,
                        }),
                        "cross-shop",
                        "",
                    ),
                },
                key: shop.clone(),
            };
            let held: Vec<Spendable> = shares
                .iter()
                .map(|q| asset(&shop, "CROSS.CHECK", *q))
                .collect();
            let fee_in = etp(&fee, 70_000);
            let more = MstSecondaryIssue {
                network,
                symbol: Symbol::parse("CROSS.CHECK").unwrap(),
                volume: 2_500_000,
                decimals: 3,
                threshold,
                issuer: AvatarName::parse("cross-shop").unwrap(),
                to: shop.address(),
                description: "built by the mvs crate".into(),
                certificate: cert.clone(),
                asset_inputs: held.clone(),
                fee_inputs: vec![fee_in.clone()],
                fee_change: fee.address(),
                fee: MIN_TX_FEE,
            }
            .build()
            .unwrap();
            let mut spent: Vec<&Spendable> = vec![&cert];
            spent.extend(held.iter());
            spent.push(&fee_in);
            txs.push(entry(name, network, &more, &spent));
        }
    }
    json!({ "generator": "mvs crate", "transactions": txs })
}

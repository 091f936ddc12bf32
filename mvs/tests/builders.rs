//! Builder and consensus-rule errors: every bad request fails with a typed error.

use mvs::attachment::{AssetTransfer, Attachment, AttachmentBody};
use mvs::builder::{
    BuildError, DomainCertificate, MstIssue, MstTransfer, Recipient, SecondaryIssue, Spendable,
};
use mvs::consensus::{check_transaction, RuleError, MAX_DEVELOPER_SHARE, MIN_TX_FEE};
use mvs::hash::Hash256;
use mvs::keys::PrivateKey;
use mvs::symbol::{AvatarName, Symbol, SymbolError};
use mvs::tx::{OutPoint, Output};
use mvs::Network;

fn etp(key: &PrivateKey, n: u8, value: u64) -> Spendable {
    Spendable {
        outpoint: OutPoint::new(Hash256([n; 32]), 0),
        output: Output {
            value,
            script_pubkey: key.address().script_pubkey(),
            attachment: Attachment::etp(),
        },
        key: key.clone(),
    }
}

fn asset(key: &PrivateKey, n: u8, symbol: &str, quantity: u64) -> Spendable {
    Spendable {
        outpoint: OutPoint::new(Hash256([n; 32]), 1),
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

struct Fixture {
    holder: PrivateKey,
    fee: PrivateKey,
    customer: PrivateKey,
}

fn fixture() -> Fixture {
    Fixture {
        holder: PrivateKey::generate(Network::Testnet),
        fee: PrivateKey::generate(Network::Testnet),
        customer: PrivateKey::generate(Network::Testnet),
    }
}

fn transfer(f: &Fixture, held: u64, send: &[u64], fee_value: u64, fee: u64) -> MstTransfer {
    MstTransfer {
        network: Network::Testnet,
        symbol: "SHOP.POINTS".into(),
        asset_inputs: vec![asset(&f.holder, 1, "SHOP.POINTS", held)],
        recipients: send
            .iter()
            .map(|q| Recipient::address(f.customer.address(), *q))
            .collect(),
        asset_change: f.holder.address(),
        fee_inputs: vec![etp(&f.fee, 2, fee_value)],
        fee_change: f.fee.address(),
        fee,
    }
}

#[test]
fn transfer_conserves_quantity_and_pays_change() {
    let f = fixture();
    let tx = transfer(&f, 100, &[30, 20], 50_000, MIN_TX_FEE)
        .build()
        .unwrap();
    assert_eq!(tx.outputs.len(), 4);
    assert_eq!(tx.outputs[2].attachment.asset_quantity(), 50);
    assert_eq!(tx.outputs[3].value, 40_000);
    // Exact spend: no change outputs at all.
    let exact = transfer(&f, 50, &[30, 20], MIN_TX_FEE, MIN_TX_FEE)
        .build()
        .unwrap();
    assert_eq!(exact.outputs.len(), 2);
}

#[test]
fn transfer_errors_are_typed() {
    let f = fixture();
    assert_eq!(
        transfer(&f, 10, &[30], 50_000, MIN_TX_FEE).build(),
        Err(BuildError::InsufficientAsset {
            needed: 30,
            available: 10
        })
    );
    assert_eq!(
        transfer(&f, 100, &[30], 5_000, MIN_TX_FEE).build(),
        Err(BuildError::InsufficientEtp {
            needed: MIN_TX_FEE,
            available: 5_000
        })
    );
    assert_eq!(
        transfer(&f, 100, &[30], 50_000, 9_999).build(),
        Err(BuildError::FeeTooLow {
            fee: 9_999,
            min: MIN_TX_FEE
        })
    );
    assert_eq!(
        transfer(&f, 100, &[0], 50_000, MIN_TX_FEE).build(),
        Err(BuildError::ZeroQuantity)
    );
    assert_eq!(
        transfer(&f, 100, &[], 50_000, MIN_TX_FEE).build(),
        Err(BuildError::NoRecipients)
    );

    let mut other_symbol = transfer(&f, 100, &[30], 50_000, MIN_TX_FEE);
    other_symbol
        .asset_inputs
        .push(asset(&f.holder, 3, "OTHER.POINTS", 5));
    assert!(matches!(
        other_symbol.build(),
        Err(BuildError::WrongAssetInput { index: 1, .. })
    ));

    let mut wrong_key = transfer(&f, 100, &[30], 50_000, MIN_TX_FEE);
    wrong_key.fee_inputs[0].key = f.customer.clone();
    assert!(matches!(wrong_key.build(), Err(BuildError::Sign(_))));

    let mut mainnet_change = transfer(&f, 100, &[30], 50_000, MIN_TX_FEE);
    mainnet_change.asset_change = PrivateKey::generate(Network::Mainnet).address();
    assert!(matches!(
        mainnet_change.build(),
        Err(BuildError::WrongNetwork(..))
    ));
}

#[test]
fn burn_is_an_op_return_transfer() {
    let f = fixture();
    let mut t = transfer(&f, 100, &[], 50_000, MIN_TX_FEE);
    t.recipients = vec![Recipient::burn(25)];
    let tx = t.build().unwrap();
    assert!(tx.outputs[0].script_pubkey.is_op_return());
    assert_eq!(tx.outputs[0].attachment.asset_quantity(), 25);
    assert_eq!(tx.outputs[1].attachment.asset_quantity(), 75);
}

fn issue(
    f: &Fixture,
    symbol: &str,
    fee_value: u64,
    share: u64,
) -> Result<mvs::tx::Transaction, BuildError> {
    MstIssue {
        network: Network::Testnet,
        symbol: Symbol::parse(symbol)?,
        max_supply: 1_000,
        decimals: 0,
        secondary_issue: SecondaryIssue::Never,
        issuer: AvatarName::parse("shop.one").unwrap(),
        to: f.holder.address(),
        description: "points".into(),
        domain_certificate: DomainCertificate::AutoIssue,
        fee_inputs: vec![etp(&f.fee, 4, fee_value)],
        fee_change: f.fee.address(),
        developer_share: share,
    }
    .build()
}

#[test]
fn issue_rules() {
    let f = fixture();
    let tx = issue(
        &f,
        "SHOP.ONE",
        20 * mvs::consensus::COIN,
        MAX_DEVELOPER_SHARE,
    )
    .unwrap();
    // Threshold 0: no issue certificate, only the domain certificate.
    assert_eq!(tx.outputs.len(), 4);
    assert_eq!(
        issue(&f, "BASKET", 20 * mvs::consensus::COIN, 0),
        Err(BuildError::Symbol(SymbolError::ReservedWord("ASK")))
    );
    assert!(matches!(
        issue(&f, "SHOP.ONE", 5 * mvs::consensus::COIN, 0),
        Err(BuildError::InsufficientEtp { .. })
    ));
    // With no developer share the whole 10 ETP goes to the miner; still valid.
    assert!(issue(&f, "SHOP.ONE", 20 * mvs::consensus::COIN, 0).is_ok());
}

#[test]
fn consensus_rejects_inflation_two_symbols_and_low_issue_fee() {
    let f = fixture();
    let mut tx = transfer(&f, 100, &[30], 50_000, MIN_TX_FEE)
        .build()
        .unwrap();
    let spent_asset = asset(&f.holder, 1, "SHOP.POINTS", 100).output;
    let spent_fee = etp(&f.fee, 2, 50_000).output;
    let spent = [&spent_asset, &spent_fee];
    check_transaction(&tx, &spent, Network::Testnet).unwrap();

    let mut inflated = tx.clone();
    inflated.outputs[0].attachment =
        Attachment::plain(AttachmentBody::AssetTransfer(AssetTransfer {
            symbol: "SHOP.POINTS".into(),
            quantity: 31,
        }));
    assert!(matches!(
        check_transaction(&inflated, &spent, Network::Testnet),
        Err(RuleError::AssetNotConserved {
            inputs: 100,
            outputs: 101,
            ..
        })
    ));

    let mut two = tx.clone();
    two.outputs[0].attachment = Attachment::plain(AttachmentBody::AssetTransfer(AssetTransfer {
        symbol: "OTHER.X".into(),
        quantity: 30,
    }));
    assert!(matches!(
        check_transaction(&two, &spent, Network::Testnet),
        Err(RuleError::MultipleSymbols(..))
    ));

    tx.outputs[2].value = 45_000;
    assert_eq!(
        check_transaction(&tx, &spent, Network::Testnet),
        Err(RuleError::FeeTooLow {
            fee: 5_000,
            required: MIN_TX_FEE
        })
    );

    // An issue must leave at least 2 ETP (20% of 10 ETP) to the miner.
    let coin = mvs::consensus::COIN;
    let mut issue_tx = issue(&f, "SHOP.ONE", 20 * coin, MAX_DEVELOPER_SHARE).unwrap();
    let change = issue_tx.outputs.last_mut().unwrap();
    change.value += coin;
    let fee_spent = etp(&f.fee, 4, 20 * coin).output;
    assert_eq!(
        check_transaction(&issue_tx, &[&fee_spent], Network::Testnet),
        Err(RuleError::FeeTooLow {
            fee: coin,
            required: 2 * coin
        })
    );
}

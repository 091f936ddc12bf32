//! Secondary issue on the development chain over JSON-RPC: accepted when the policy
//! allows it, the issue certificate is spent and the issuer holds the threshold share;
//! refused otherwise; an accepted one grows the asset's supply.

use std::time::Duration;

use mvs::attachment::{AttachmentBody, CertType};
use mvs::builder::{
    AvatarRegistration, DomainCertificate, MstIssue, MstSecondaryIssue, MstTransfer, Recipient,
    SecondaryIssue, Spendable,
};
use mvs::consensus::{MAX_DEVELOPER_SHARE, MIN_TX_FEE};
use mvs::devnet::{spawn, DevnetConfig, DevnetHandle};
use mvs::encoding::Encode;
use mvs::keys::PrivateKey;
use mvs::rpc::{codes, Client, RpcError};
use mvs::symbol::{AvatarName, Symbol};
use mvs::tx::{OutPoint, Transaction};
use mvs::Network;

const SYMBOL: &str = "MORE.POINTS";

struct Net {
    handle: DevnetHandle,
    client: Client,
    fee: PrivateKey,
    shop: PrivateKey,
    alice: PrivateKey,
}

async fn start() -> Net {
    let fee = PrivateKey::generate(Network::Testnet);
    let handle = spawn(DevnetConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        block_interval: Duration::ZERO,
        genesis_address: Some(fee.address().to_string()),
        genesis_amount_etp: 1_000,
        network: Network::Testnet,
        data_path: None,
    })
    .await
    .unwrap();
    let client = Client::new(handle.rpc_url(), Duration::from_secs(10));
    Net {
        handle,
        client,
        fee,
        shop: PrivateKey::generate(Network::Testnet),
        alice: PrivateKey::generate(Network::Testnet),
    }
}

async fn utxos(n: &Net, key: &PrivateKey, symbol: Option<&str>) -> Vec<Spendable> {
    let address = key.address().to_string();
    let list = match symbol {
        Some(s) => n.client.list_asset_utxos(&address, s).await,
        None => n.client.list_etp_utxos(&address).await,
    }
    .unwrap();
    list.iter()
        .map(|u| Spendable {
            outpoint: u.outpoint().unwrap(),
            output: u.to_output().unwrap(),
            key: key.clone(),
        })
        .collect()
}

async fn send(n: &Net, tx: &Transaction) -> Result<mvs::tx::Txid, RpcError> {
    n.client.send_raw_tx(&tx.encode_hex()).await
}

/// Registers the shop's avatar and issues 1,000,000 of SYMBOL with `policy`, confirmed;
/// returns the issue transaction.
async fn issued(n: &Net, policy: SecondaryIssue) -> Transaction {
    let avatar = AvatarRegistration {
        network: Network::Testnet,
        name: AvatarName::parse("moreshop").unwrap(),
        address: n.shop.address(),
        fee_inputs: utxos(n, &n.fee, None).await,
        fee_change: n.fee.address(),
    }
    .build()
    .unwrap();
    send(n, &avatar).await.unwrap();
    let issue = MstIssue {
        network: Network::Testnet,
        symbol: Symbol::parse(SYMBOL).unwrap(),
        max_supply: 1_000_000,
        decimals: 2,
        secondary_issue: policy,
        issuer: AvatarName::parse("moreshop").unwrap(),
        to: n.shop.address(),
        description: "more".into(),
        domain_certificate: DomainCertificate::AutoIssue,
        fee_inputs: utxos(n, &n.fee, None).await,
        fee_change: n.fee.address(),
        developer_share: MAX_DEVELOPER_SHARE,
    }
    .build()
    .unwrap();
    send(n, &issue).await.unwrap();
    n.client.generate(1).await.unwrap();
    issue
}

/// The output of `tx` holding certificate `cert_type` of `symbol`, spendable by `key`.
fn cert_of(tx: &Transaction, symbol: &str, cert_type: CertType, key: &PrivateKey) -> Spendable {
    let (i, output) = tx
        .outputs
        .iter()
        .enumerate()
        .find(|(_, o)| {
            matches!(&o.attachment.body, AttachmentBody::Certificate(c) if c.symbol == symbol && c.cert_type == cert_type)
        })
        .expect("certificate output");
    Spendable {
        outpoint: OutPoint::new(tx.txid(), i as u32),
        output: output.clone(),
        key: key.clone(),
    }
}

async fn secondary(
    n: &Net,
    threshold: u8,
    certificate: Spendable,
    asset_inputs: Vec<Spendable>,
) -> MstSecondaryIssue {
    MstSecondaryIssue {
        network: Network::Testnet,
        symbol: Symbol::parse(SYMBOL).unwrap(),
        volume: 250_000,
        decimals: 2,
        threshold,
        issuer: AvatarName::parse("moreshop").unwrap(),
        to: n.shop.address(),
        description: "more".into(),
        certificate,
        asset_inputs,
        fee_inputs: utxos(n, &n.fee, None).await,
        fee_change: n.fee.address(),
        fee: MIN_TX_FEE,
    }
}

fn assert_refused(result: Result<mvs::tx::Txid, RpcError>, needle: &str) {
    match result {
        Err(e) => {
            assert!(e.is_definitely_rejected(), "{e}");
            assert_eq!(e.code(), Some(codes::TX_VALIDATE_FAILED), "{e}");
            assert!(
                e.to_string().contains(needle),
                "{e} should mention {needle:?}"
            );
        }
        Ok(txid) => panic!("secondary issue {txid} was accepted; expected {needle:?}"),
    }
}

#[tokio::test]
async fn threshold_policy_needs_the_certificate_and_the_share() {
    let n = start().await;
    let issue = issued(&n, SecondaryIssue::Threshold(60)).await;
    let cert = cert_of(&issue, SYMBOL, CertType::Issue, &n.shop);

    // Move 50% away: the shop holds less than the 60% it needs.
    let half = MstTransfer {
        network: Network::Testnet,
        symbol: SYMBOL.into(),
        asset_inputs: utxos(&n, &n.shop, Some(SYMBOL)).await,
        recipients: vec![Recipient::address(n.alice.address(), 500_000)],
        asset_change: n.shop.address(),
        fee_inputs: utxos(&n, &n.fee, None).await,
        fee_change: n.fee.address(),
        fee: MIN_TX_FEE,
    }
    .build()
    .unwrap();
    send(&n, &half).await.unwrap();
    n.client.generate(1).await.unwrap();
    let held = utxos(&n, &n.shop, Some(SYMBOL)).await;
    let short = secondary(&n, 60, cert.clone(), held.clone())
        .await
        .build()
        .unwrap();
    assert_refused(
        send(&n, &short).await,
        "needs 600000 held by the issuer, inputs hold 500000",
    );

    // Without the issue certificate: the domain certificate's output, presented to the
    // builder as if it were the issue certificate (a signature covers the spent script,
    // not its attachment), so only the node can tell.
    let mut domain = cert_of(&issue, "MORE", CertType::Domain, &n.shop);
    if let AttachmentBody::Certificate(c) = &mut domain.output.attachment.body {
        c.symbol = SYMBOL.into();
        c.cert_type = CertType::Issue;
    }
    let no_cert = secondary(&n, 60, domain, held.clone())
        .await
        .build()
        .unwrap();
    assert_refused(
        send(&n, &no_cert).await,
        "certificate issue for MORE.POINTS is required",
    );

    // Get 60% back, then it goes through and the supply grows.
    let back = MstTransfer {
        network: Network::Testnet,
        symbol: SYMBOL.into(),
        asset_inputs: utxos(&n, &n.alice, Some(SYMBOL)).await,
        recipients: vec![Recipient::address(n.shop.address(), 100_000)],
        asset_change: n.alice.address(),
        fee_inputs: utxos(&n, &n.fee, None).await,
        fee_change: n.fee.address(),
        fee: MIN_TX_FEE,
    }
    .build()
    .unwrap();
    send(&n, &back).await.unwrap();
    n.client.generate(1).await.unwrap();
    let held = utxos(&n, &n.shop, Some(SYMBOL)).await;
    let more = secondary(&n, 60, cert, held).await.build().unwrap();
    send(&n, &more).await.unwrap();
    assert_eq!(
        n.client.get_asset(SYMBOL).await.unwrap().maximum_supply,
        1_250_000,
        "the pool already counts the new supply"
    );
    n.client.generate(1).await.unwrap();
    let asset = n.client.get_asset(SYMBOL).await.unwrap();
    assert_eq!(asset.maximum_supply, 1_250_000);
    assert_eq!(
        asset.secondaryissue_threshold, 60,
        "the policy is unchanged"
    );
    let shop = n
        .client
        .get_address_asset(&n.shop.address().to_string(), Some(SYMBOL))
        .await
        .unwrap();
    assert_eq!(shop[0].confirmed, 600_000 + 250_000);

    // The certificate moved to the secondary issue: the old output is spent.
    let cert = cert_of(&more, SYMBOL, CertType::Issue, &n.shop);
    let stale = cert_of(&issue, SYMBOL, CertType::Issue, &n.shop);
    let again = secondary(&n, 60, stale, utxos(&n, &n.shop, Some(SYMBOL)).await)
        .await
        .build()
        .unwrap();
    assert!(
        send(&n, &again).await.is_err(),
        "the old certificate output is gone"
    );
    let again = secondary(&n, 60, cert, utxos(&n, &n.shop, Some(SYMBOL)).await)
        .await
        .build()
        .unwrap();
    send(&n, &again).await.unwrap();

    // A reorganisation takes the added supply back until the block is mined again.
    let hashes = n.client.generate(1).await.unwrap();
    assert_eq!(
        n.client.get_asset(SYMBOL).await.unwrap().maximum_supply,
        1_500_000
    );
    n.client.invalidate_block(&hashes[0]).await.unwrap();
    assert_eq!(n.client.get_tx(&again.txid()).await.unwrap().height, 0);
    n.client.generate(1).await.unwrap();
    assert_eq!(
        n.client.get_asset(SYMBOL).await.unwrap().maximum_supply,
        1_500_000
    );
    n.handle.shutdown().await;
}

#[tokio::test]
async fn forbidden_policy_is_refused() {
    let n = start().await;
    // Threshold 0 creates no issue certificate; a certificate-shaped input cannot be
    // made up either, so offer the domain certificate relabelled by a hand-built
    // transaction: the node must refuse on the policy before anything else.
    let issue = issued(&n, SecondaryIssue::Never).await;
    let domain = cert_of(&issue, "MORE", CertType::Domain, &n.shop);
    let mut b = secondary(
        &n,
        60,
        domain.clone(),
        utxos(&n, &n.shop, Some(SYMBOL)).await,
    )
    .await;
    // Pretend the certificate is the issue one so the builder signs; the chain holds
    // the real output (a domain certificate), so the node sees the truth.
    if let AttachmentBody::Certificate(c) = &mut b.certificate.output.attachment.body {
        c.symbol = SYMBOL.into();
        c.cert_type = CertType::Issue;
    }
    let tx = b.build().unwrap();
    assert_refused(send(&n, &tx).await, "forbids secondary issue");
    assert_eq!(
        n.client.get_asset(SYMBOL).await.unwrap().maximum_supply,
        1_000_000
    );
    n.handle.shutdown().await;
}

#[tokio::test]
async fn free_policy_needs_only_the_certificate() {
    let n = start().await;
    let issue = issued(&n, SecondaryIssue::Free).await;
    // Everything given away: a free policy needs no share.
    let all = MstTransfer {
        network: Network::Testnet,
        symbol: SYMBOL.into(),
        asset_inputs: utxos(&n, &n.shop, Some(SYMBOL)).await,
        recipients: vec![Recipient::address(n.alice.address(), 1_000_000)],
        asset_change: n.shop.address(),
        fee_inputs: utxos(&n, &n.fee, None).await,
        fee_change: n.fee.address(),
        fee: MIN_TX_FEE,
    }
    .build()
    .unwrap();
    send(&n, &all).await.unwrap();
    let cert = cert_of(&issue, SYMBOL, CertType::Issue, &n.shop);
    let more = secondary(&n, 127, cert, vec![]).await.build().unwrap();
    send(&n, &more).await.unwrap();
    n.client.generate(1).await.unwrap();
    assert_eq!(
        n.client.get_asset(SYMBOL).await.unwrap().maximum_supply,
        1_250_000
    );
    n.handle.shutdown().await;
}

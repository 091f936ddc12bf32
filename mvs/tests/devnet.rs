//! The development chain over its real JSON-RPC interface: a full issue/transfer flow,
//! every rejection the platform depends on, reorganisation and restart.

use std::time::Duration;

use mvs::builder::{
    AvatarRegistration, DomainCertificate, MstIssue, MstTransfer, Recipient, SecondaryIssue,
    Spendable,
};
use mvs::consensus::{COIN, MAX_DEVELOPER_SHARE, MIN_TX_FEE};
use mvs::devnet::{spawn, DevnetConfig, DevnetHandle};
use mvs::encoding::Encode;
use mvs::keys::PrivateKey;
use mvs::rpc::{codes, BlockRef, Client, RpcError};
use mvs::sign::sign_input;
use mvs::symbol::{AvatarName, Symbol};
use mvs::tx::{Output, Transaction};
use mvs::Network;

const SYMBOL: &str = "SHOP.POINTS";

struct Net {
    handle: DevnetHandle,
    client: Client,
    fee: PrivateKey,
    shop: PrivateKey,
    alice: PrivateKey,
}

async fn start_with(fee: PrivateKey, data: Option<std::path::PathBuf>) -> Net {
    let handle = spawn(DevnetConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        block_interval: Duration::ZERO,
        genesis_address: Some(fee.address().to_string()),
        genesis_amount_etp: 1_000,
        network: Network::Testnet,
        data_path: data,
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

async fn start() -> Net {
    start_with(PrivateKey::generate(Network::Testnet), None).await
}

async fn etp_inputs(client: &Client, key: &PrivateKey) -> Vec<Spendable> {
    client
        .list_etp_utxos(&key.address().to_string())
        .await
        .unwrap()
        .iter()
        .map(|u| Spendable {
            outpoint: u.outpoint().unwrap(),
            output: u.to_output().unwrap(),
            key: key.clone(),
        })
        .collect()
}

async fn asset_inputs(client: &Client, key: &PrivateKey) -> Vec<Spendable> {
    client
        .list_asset_utxos(&key.address().to_string(), SYMBOL)
        .await
        .unwrap()
        .iter()
        .map(|u| Spendable {
            outpoint: u.outpoint().unwrap(),
            output: u.to_output().unwrap(),
            key: key.clone(),
        })
        .collect()
}

async fn send(client: &Client, tx: &Transaction) -> Result<mvs::tx::Txid, RpcError> {
    client.send_raw_tx(&tx.encode_hex()).await
}

async fn register_avatar(n: &Net, name: &str, key: &PrivateKey) -> Transaction {
    AvatarRegistration {
        network: Network::Testnet,
        name: AvatarName::parse(name).unwrap(),
        address: key.address(),
        fee_inputs: etp_inputs(&n.client, &n.fee).await,
        fee_change: n.fee.address(),
    }
    .build()
    .unwrap()
}

async fn issue_tx(n: &Net, symbol: &str) -> Transaction {
    MstIssue {
        network: Network::Testnet,
        symbol: Symbol::parse(symbol).unwrap(),
        max_supply: 1_000_000,
        decimals: 2,
        secondary_issue: SecondaryIssue::Free,
        issuer: AvatarName::parse("shopavatar").unwrap(),
        to: n.shop.address(),
        description: "Shop loyalty points".into(),
        domain_certificate: DomainCertificate::AutoIssue,
        fee_inputs: etp_inputs(&n.client, &n.fee).await,
        fee_change: n.fee.address(),
        developer_share: MAX_DEVELOPER_SHARE,
    }
    .build()
    .unwrap()
}

async fn award_tx(n: &Net, quantities: &[u64]) -> Transaction {
    MstTransfer {
        network: Network::Testnet,
        symbol: SYMBOL.into(),
        asset_inputs: asset_inputs(&n.client, &n.shop).await,
        recipients: quantities
            .iter()
            .map(|q| Recipient::address(n.alice.address(), *q))
            .collect(),
        asset_change: n.shop.address(),
        fee_inputs: etp_inputs(&n.client, &n.fee).await,
        fee_change: n.fee.address(),
        fee: MIN_TX_FEE,
    }
    .build()
    .unwrap()
}

/// Registers the shop's avatar and issues SHOP.POINTS, confirmed.
async fn with_asset(n: &Net) {
    send(&n.client, &register_avatar(n, "shopavatar", &n.shop).await)
        .await
        .unwrap();
    // The issue spends the registration's pending change: chained pool transactions work.
    send(&n.client, &issue_tx(n, SYMBOL).await).await.unwrap();
    n.client.generate(1).await.unwrap();
}

fn assert_rejected(result: Result<mvs::tx::Txid, RpcError>, code: i64, needle: &str) {
    match result {
        Err(e @ RpcError::Rejected { .. }) => {
            assert!(e.is_definitely_rejected() && !e.is_outcome_unknown());
            assert_eq!(e.code(), Some(code), "{e}");
            assert!(
                e.to_string().to_lowercase().contains(needle),
                "{e} should mention {needle:?}"
            );
        }
        other => panic!("expected rejection {code} {needle:?}, got {other:?}"),
    }
}

#[tokio::test]
async fn issue_award_and_queries() {
    let n = start().await;
    assert_eq!(n.client.get_height().await.unwrap(), 0);
    let genesis = n
        .client
        .get_address_etp(&n.fee.address().to_string())
        .await
        .unwrap();
    assert_eq!(genesis.confirmed, 1_000 * COIN);

    with_asset(&n).await;
    assert_eq!(n.client.get_height().await.unwrap(), 1);
    let asset = n.client.get_asset(SYMBOL).await.unwrap();
    assert_eq!(
        (asset.maximum_supply, asset.decimal_number, asset.height),
        (1_000_000, 2, 1)
    );
    let did = n.client.get_did("shopavatar").await.unwrap();
    assert_eq!(did.address, n.shop.address().to_string());
    assert_eq!(
        n.client
            .get_did(&n.shop.address().to_string())
            .await
            .unwrap()
            .symbol,
        "shopavatar"
    );

    let award = award_tx(&n, &[100, 250]).await;
    let txid = send(&n.client, &award).await.unwrap();
    assert_eq!(txid, award.txid());
    assert_eq!(
        n.client.get_tx(&txid).await.unwrap().height,
        0,
        "unconfirmed height is 0"
    );
    let pending = n
        .client
        .get_address_asset(&n.alice.address().to_string(), Some(SYMBOL))
        .await
        .unwrap();
    assert_eq!((pending[0].confirmed, pending[0].quantity), (0, 350));

    let hashes = n.client.generate(2).await.unwrap();
    let info = n.client.get_tx(&txid).await.unwrap();
    assert_eq!(info.height, 2);
    assert_eq!(
        n.client.get_height().await.unwrap() - info.height + 1,
        2,
        "confirmations"
    );
    let block = n
        .client
        .get_block(BlockRef::Hash(hashes[0].clone()))
        .await
        .unwrap();
    assert_eq!(block.number, 2);
    assert!(block
        .transactions
        .iter()
        .any(|t| t.hash == txid.to_string()));
    assert_eq!(
        n.client.get_block(BlockRef::Height(2)).await.unwrap().hash,
        hashes[0]
    );
    // The summary of the same block: its header and txids, no transaction bodies.
    let summary = n
        .client
        .get_block_summary(BlockRef::Height(3))
        .await
        .unwrap();
    assert_eq!(
        (summary.number, summary.previous_block_hash.as_str()),
        (3, hashes[0].as_str())
    );
    assert_eq!(summary.hash, hashes[1]);
    let summary = n
        .client
        .get_block_summary(BlockRef::Hash(hashes[0].clone()))
        .await
        .unwrap();
    assert_eq!(
        summary.transactions,
        block
            .transactions
            .iter()
            .map(|t| t.hash.clone())
            .collect::<Vec<_>>()
    );
    assert!(summary.transactions.contains(&txid.to_string()));

    let alice = n
        .client
        .get_address_asset(&n.alice.address().to_string(), None)
        .await
        .unwrap();
    assert_eq!(
        (
            alice[0].symbol.as_str(),
            alice[0].confirmed,
            alice[0].quantity
        ),
        (SYMBOL, 350, 350)
    );
    let shop = n
        .client
        .get_address_asset(&n.shop.address().to_string(), Some(SYMBOL))
        .await
        .unwrap();
    assert_eq!(shop[0].confirmed, 1_000_000 - 350);
    assert_eq!(n.client.get_raw_tx(&txid).await.unwrap(), award);
    assert_eq!(
        n.client
            .decode_raw_tx(&award.encode_hex())
            .await
            .unwrap()
            .hash,
        txid.to_string()
    );

    let valid = n
        .client
        .validate_address(&n.alice.address().to_string())
        .await
        .unwrap();
    assert!(valid.is_valid && valid.testnet);
    let mainnet = n
        .client
        .validate_address(&PrivateKey::generate(Network::Mainnet).address().to_string())
        .await
        .unwrap();
    assert!(!mainnet.is_valid);
    // Already known counts as success for a broadcaster.
    let again = send(&n.client, &award).await.unwrap_err();
    assert!(again.is_already_known(), "{again}");
    n.handle.shutdown().await;
}

#[tokio::test]
async fn double_spend_is_rejected() {
    let n = start().await;
    with_asset(&n).await;
    let first = award_tx(&n, &[10]).await;
    // Same inputs, different recipient amounts: a conflicting spend.
    let mut second_builder = MstTransfer {
        network: Network::Testnet,
        symbol: SYMBOL.into(),
        asset_inputs: asset_inputs(&n.client, &n.shop).await,
        recipients: vec![Recipient::address(n.alice.address(), 11)],
        asset_change: n.shop.address(),
        fee_inputs: etp_inputs(&n.client, &n.fee).await,
        fee_change: n.fee.address(),
        fee: MIN_TX_FEE,
    };
    let second = second_builder.build().unwrap();
    send(&n.client, &first).await.unwrap();
    assert_rejected(
        send(&n.client, &second).await,
        codes::TX_VALIDATE_FAILED,
        "double spend",
    );
    n.client.generate(1).await.unwrap();
    // Still a double spend once the first is confirmed.
    second_builder.recipients = vec![Recipient::address(n.alice.address(), 12)];
    assert_rejected(
        send(&n.client, &second_builder.build().unwrap()).await,
        codes::TX_VALIDATE_FAILED,
        "double spend",
    );
    n.handle.shutdown().await;
}

/// Re-signs every input after the outputs were tampered with, so only the rule under test fails.
fn resign(tx: &mut Transaction, spent: &[(PrivateKey, Output)]) {
    for (i, (key, out)) in spent.iter().enumerate() {
        sign_input(tx, i, key, &out.script_pubkey).unwrap();
    }
}

#[tokio::test]
async fn asset_inflation_is_rejected() {
    let n = start().await;
    with_asset(&n).await;
    let assets = asset_inputs(&n.client, &n.shop).await;
    let fees = etp_inputs(&n.client, &n.fee).await;
    let mut tx = award_tx(&n, &[10]).await;
    // Pay alice 10 more than the inputs hold.
    if let mvs::attachment::AttachmentBody::AssetTransfer(t) = &mut tx.outputs[0].attachment.body {
        t.quantity += 10;
    }
    let spent: Vec<_> = assets
        .iter()
        .chain(&fees)
        .map(|s| (s.key.clone(), s.output.clone()))
        .collect();
    resign(&mut tx, &spent);
    assert_rejected(
        send(&n.client, &tx).await,
        codes::TX_VALIDATE_FAILED,
        "asset",
    );
    n.handle.shutdown().await;
}

#[tokio::test]
async fn wrong_signature_is_rejected() {
    let n = start().await;
    with_asset(&n).await;
    let mut tx = award_tx(&n, &[10]).await;
    // Changing an output after signing invalidates every signature.
    tx.outputs.last_mut().unwrap().value -= 1;
    assert_rejected(
        send(&n.client, &tx).await,
        codes::TX_VALIDATE_FAILED,
        "signature",
    );

    // A signature by a key that does not own the input.
    let mut stolen = award_tx(&n, &[10]).await;
    let thief = PrivateKey::generate(Network::Testnet);
    let fees = etp_inputs(&n.client, &n.fee).await;
    let mut fake = fees[0].output.clone();
    fake.script_pubkey = thief.address().script_pubkey();
    let last = stolen.inputs.len() - 1;
    sign_input(&mut stolen, last, &thief, &fake.script_pubkey).unwrap();
    assert_rejected(
        send(&n.client, &stolen).await,
        codes::TX_VALIDATE_FAILED,
        "signature",
    );
    n.handle.shutdown().await;
}

#[tokio::test]
async fn unknown_input_is_rejected() {
    let n = start().await;
    let mut inputs = etp_inputs(&n.client, &n.fee).await;
    inputs[0].outpoint.txid = mvs::hash::Hash256([7; 32]);
    let tx = AvatarRegistration {
        network: Network::Testnet,
        name: AvatarName::parse("ghost.one").unwrap(),
        address: n.alice.address(),
        fee_inputs: inputs,
        fee_change: n.fee.address(),
    }
    .build()
    .unwrap();
    assert_rejected(
        send(&n.client, &tx).await,
        codes::TX_VALIDATE_FAILED,
        "input not found",
    );
    n.handle.shutdown().await;
}

#[tokio::test]
async fn fee_below_minimum_is_rejected() {
    let n = start().await;
    let input = etp_inputs(&n.client, &n.fee).await.remove(0);
    let mut tx = Transaction {
        version: 4,
        inputs: vec![mvs::tx::Input::unsigned(input.outpoint)],
        outputs: vec![Output {
            value: input.output.value - (MIN_TX_FEE - 1),
            script_pubkey: n.alice.address().script_pubkey(),
            attachment: mvs::attachment::Attachment::etp(),
        }],
        lock_time: 0,
    };
    resign(&mut tx, &[(n.fee.clone(), input.output.clone())]);
    assert_rejected(send(&n.client, &tx).await, codes::TX_VALIDATE_FAILED, "fee");

    // An avatar registration must pay 1 ETP, not just the minimum fee.
    let mut cheap = register_avatar(&n, "cheap.one", &n.alice).await;
    cheap.outputs[1].value += COIN / 2;
    resign(&mut cheap, &[(n.fee.clone(), input.output.clone())]);
    assert_rejected(
        send(&n.client, &cheap).await,
        codes::TX_VALIDATE_FAILED,
        "fee",
    );
    n.handle.shutdown().await;
}

#[tokio::test]
async fn duplicate_symbol_and_avatar_are_rejected() {
    let n = start().await;
    with_asset(&n).await;
    assert_rejected(
        send(&n.client, &issue_tx(&n, SYMBOL).await).await,
        codes::SYMBOL_EXISTS,
        "already exists",
    );
    // Under the now-held SHOP domain nobody else may auto-issue the domain certificate.
    assert_rejected(
        send(&n.client, &issue_tx(&n, "SHOP.MORE").await).await,
        codes::TX_VALIDATE_FAILED,
        "domain",
    );
    // Avatar names are unique regardless of case.
    let dup = register_avatar(&n, "ShopAvatar", &n.alice).await;
    assert_rejected(
        send(&n.client, &dup).await,
        codes::AVATAR_EXISTS,
        "already exists",
    );
    // A pending issue also blocks the symbol.
    let other = issue_tx(&n, "NEWSHOP.X").await;
    send(&n.client, &other).await.unwrap();
    assert_rejected(
        send(&n.client, &issue_tx(&n, "NEWSHOP.X").await).await,
        codes::SYMBOL_EXISTS,
        "already exists",
    );
    n.handle.shutdown().await;
}

#[tokio::test]
async fn issuer_avatar_must_exist() {
    let n = start().await;
    assert_rejected(
        send(&n.client, &issue_tx(&n, SYMBOL).await).await,
        codes::AVATAR_NOT_FOUND,
        "shopavatar",
    );
    let e = n.client.get_did("nobody").await.unwrap_err();
    assert_eq!(e.code(), Some(codes::AVATAR_NOT_FOUND));
    n.handle.shutdown().await;
}

#[tokio::test]
async fn reorg_returns_transaction_to_the_pool() {
    let n = start().await;
    with_asset(&n).await;
    let award = award_tx(&n, &[5]).await;
    let txid = send(&n.client, &award).await.unwrap();
    let hashes = n.client.generate(1).await.unwrap();
    n.client.generate(1).await.unwrap();
    assert_eq!(n.client.get_tx(&txid).await.unwrap().height, 2);

    n.client.invalidate_block(&hashes[0]).await.unwrap();
    assert_eq!(n.client.get_height().await.unwrap(), 1);
    assert_eq!(
        n.client.get_tx(&txid).await.unwrap().height,
        0,
        "back in the pool"
    );
    let alice = n
        .client
        .get_address_asset(&n.alice.address().to_string(), Some(SYMBOL))
        .await
        .unwrap();
    assert_eq!((alice[0].confirmed, alice[0].quantity), (0, 5));

    n.client.generate(1).await.unwrap();
    assert_eq!(n.client.get_tx(&txid).await.unwrap().height, 2);
    let e = n
        .client
        .invalidate_block(&"00".repeat(32))
        .await
        .unwrap_err();
    assert!(e.is_definitely_rejected());
    n.handle.shutdown().await;
}

#[tokio::test]
async fn restart_keeps_history_and_balances() {
    let dir = tempfile::tempdir().unwrap();
    let fee = PrivateKey::generate(Network::Testnet);
    let n = start_with(fee.clone(), Some(dir.path().to_path_buf())).await;
    with_asset(&n).await;
    let txid = send(&n.client, &award_tx(&n, &[42]).await).await.unwrap();
    let hashes = n.client.generate(3).await.unwrap();
    n.client.invalidate_block(&hashes[2]).await.unwrap();
    let fee_balance = n
        .client
        .get_address_etp(&fee.address().to_string())
        .await
        .unwrap();
    let alice = n.alice.clone();
    n.handle.shutdown().await;

    let again = start_with(fee.clone(), Some(dir.path().to_path_buf())).await;
    assert_eq!(again.client.get_height().await.unwrap(), 3);
    assert_eq!(again.client.get_tx(&txid).await.unwrap().height, 2);
    assert_eq!(
        again
            .client
            .get_address_etp(&fee.address().to_string())
            .await
            .unwrap(),
        fee_balance
    );
    let a = again
        .client
        .get_address_asset(&alice.address().to_string(), Some(SYMBOL))
        .await
        .unwrap();
    assert_eq!(a[0].confirmed, 42);
    assert_eq!(again.client.get_asset(SYMBOL).await.unwrap().height, 1);
    again.handle.shutdown().await;
}

#[tokio::test]
async fn client_tells_rejection_from_unknown_outcome() {
    let n = start().await;
    let missing = n
        .client
        .get_tx(&mvs::hash::Hash256([1; 32]))
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Some(codes::TX_NOT_FOUND));
    let bad = n.client.call("nosuchmethod", vec![]).await.unwrap_err();
    assert_eq!(bad.code(), Some(codes::METHOD_NOT_FOUND));
    let url = n.handle.rpc_url();
    n.handle.shutdown().await;

    // Nobody listens any more: the outcome of a call is unknown, not a rejection.
    let gone = Client::new(url, Duration::from_secs(2))
        .get_height()
        .await
        .unwrap_err();
    assert!(
        gone.is_outcome_unknown() && !gone.is_definitely_rejected(),
        "{gone:?}"
    );

    // A server that accepts but never answers: timeout.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = silent.local_addr().unwrap();
    let _keep = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = silent.accept().await {
            held.push(s);
        }
    });
    let slow = Client::new(format!("http://{addr}/rpc/v3"), Duration::from_millis(300));
    assert_eq!(slow.get_height().await.unwrap_err(), RpcError::Timeout);
}

#[tokio::test]
async fn blocks_are_produced_on_the_interval() {
    let handle = spawn(DevnetConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        block_interval: Duration::from_millis(100),
        ..DevnetConfig::default()
    })
    .await
    .unwrap();
    let client = Client::new(handle.rpc_url(), Duration::from_secs(5));
    tokio::time::sleep(Duration::from_millis(550)).await;
    let height = client.get_height().await.unwrap();
    assert!(
        height >= 2,
        "height {height} after 550 ms at 100 ms per block"
    );
    handle.shutdown().await;
}

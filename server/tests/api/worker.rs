//! The worker against the real development chain: point systems issue, operations settle
//! exactly once, and the chain ends up holding what the ledger says.

use std::time::{Duration, Instant};

use app::domain::{
    custody::{KeyVault, MasterKey},
    db::Database,
    email::Email,
    ledger::{
        customers::{self, StoreCustomer},
        point_systems::{self, PointSystem, PointSystemSpec},
        submit::{submit, Destination, NewOperation},
        Amount, Balance, OperationKind,
    },
};
use mvs::symbol::{AvatarName, Symbol};

use crate::helpers::{fresh_database_url, spawn_app, spawn_app_with, test_settings, TestApp};

const SYMBOL: &str = "WORKER.POINTS";

struct Shop {
    app: TestApp,
    db: Database,
    vault: KeyVault,
    chain: mvs::rpc::Client,
    point_system: PointSystem,
}

/// A running app with a store whose point system the worker has issued on chain.
async fn shop_with_issued_points() -> Shop {
    shop_on(spawn_app().await).await
}

async fn shop_on(app: TestApp) -> Shop {
    let db = Database::connect(&app.database_url, 8).await.unwrap();
    // The same master key file the server created, so this test opens the same keys.
    let vault = KeyVault::new(
        MasterKey::load_or_create(&app.data_dir.join("master.key")).unwrap(),
        mvs::Network::Testnet,
    );
    let chain = mvs::rpc::Client::new(app.chain_url.clone().unwrap(), Duration::from_secs(10));
    let operator: i64 = sqlx::query_scalar(
        "INSERT INTO operators (email, password_hash, created_at) VALUES ('owner@example.com', 'x', 0) RETURNING id",
    )
    .fetch_one(db.pool())
    .await
    .unwrap();
    let store = app::domain::stores::create(&db, operator, "Worker Shop", "worker-shop")
        .await
        .unwrap();
    let spec = PointSystemSpec {
        symbol: Symbol::parse(SYMBOL).unwrap(),
        name: "Worker points".into(),
        description: "Points of the worker shop".into(),
        decimals: 0,
        max_supply: Amount::new(1_000_000).unwrap(),
        secondary_issue: 0,
        issuer_avatar: AvatarName::parse("worker-shop").unwrap(),
    };
    let registered = point_systems::register(&db, &vault, store.id, &spec)
        .await
        .unwrap();
    assert_eq!(registered.status, "pending");

    let point_system = wait_for("the point system to be issued and confirmed", || async {
        let ps = PointSystem::of_store(&db, store.id).await.unwrap().unwrap();
        (ps.status == "confirmed").then_some(ps)
    })
    .await;
    Shop {
        app,
        db,
        vault,
        chain,
        point_system,
    }
}

/// Polls `check` until it yields a value, for at most 60 s.
async fn wait_for<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

impl Shop {
    async fn customer(&self, name: &str) -> StoreCustomer {
        let email = Email::parse(&format!("{name}@example.com")).unwrap();
        customers::upsert(
            &self.db,
            &self.vault,
            self.point_system.store_id,
            name,
            &email,
            None,
        )
        .await
        .unwrap()
    }

    async fn submit(
        &self,
        kind: OperationKind,
        from_key_id: i64,
        to: Destination,
        amount: u64,
    ) -> i64 {
        let request = NewOperation {
            point_system_id: self.point_system.id,
            kind,
            amount: Amount::new(amount).unwrap(),
            from_key_id,
            to,
            actor: "test".into(),
            reason: None,
            idempotency_key: None,
        };
        submit(&self.db, request).await.unwrap().operation().id
    }

    fn treasury(&self) -> Destination {
        Destination::Custodial {
            key_id: self.point_system.treasury_key_id,
            address: self.point_system.treasury_address.clone(),
        }
    }

    async fn count(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sql)
            .fetch_one(self.db.pool())
            .await
            .unwrap()
    }

    async fn wait_until_settled(&self) {
        wait_for("every operation to be confirmed", || async {
            let open = self
                .count("SELECT COUNT(*) FROM operations WHERE state <> 'confirmed'")
                .await;
            (open == 0).then_some(())
        })
        .await;
    }

    /// What the chain shows at the address, against the ledger's confirmed balance.
    async fn assert_chain_matches_ledger(&self, key_id: i64, address: &str) {
        let ledger = Balance::fetch(&self.db, key_id, self.point_system.id)
            .await
            .unwrap();
        let on_chain = self
            .chain
            .get_address_asset(address, Some(SYMBOL))
            .await
            .unwrap();
        let chain_confirmed = on_chain.iter().map(|b| b.confirmed).sum::<u64>();
        assert_eq!(
            chain_confirmed, ledger.confirmed,
            "chain and ledger disagree for {address}"
        );
        assert_eq!(
            ledger.available, ledger.confirmed,
            "nothing is pending any more at {address}"
        );
    }
}

fn to(customer: &StoreCustomer) -> Destination {
    Destination::Custodial {
        key_id: customer.key_id,
        address: customer.address.clone(),
    }
}

#[tokio::test]
async fn awards_redemptions_and_transfers_confirm_and_the_chain_matches_the_ledger() {
    let shop = shop_with_issued_points().await;
    let treasury = shop.point_system.treasury_key_id;
    let asset = shop.chain.get_asset(SYMBOL).await.unwrap();
    assert_eq!(asset.maximum_supply, 1_000_000);
    assert_eq!(asset.address, shop.point_system.treasury_address);

    let alice = shop.customer("alice").await;
    let bob = shop.customer("bob").await;
    shop.submit(OperationKind::Award, treasury, to(&alice), 100)
        .await;
    shop.submit(OperationKind::Award, treasury, to(&bob), 50)
        .await;
    shop.wait_until_settled().await;

    shop.submit(OperationKind::Redeem, alice.key_id, shop.treasury(), 30)
        .await;
    shop.submit(OperationKind::Transfer, alice.key_id, to(&bob), 20)
        .await;
    shop.wait_until_settled().await;

    assert_eq!(
        Balance::fetch(&shop.db, alice.key_id, shop.point_system.id)
            .await
            .unwrap()
            .confirmed,
        50
    );
    assert_eq!(
        Balance::fetch(&shop.db, bob.key_id, shop.point_system.id)
            .await
            .unwrap()
            .confirmed,
        70
    );
    shop.assert_chain_matches_ledger(alice.key_id, &alice.address)
        .await;
    shop.assert_chain_matches_ledger(bob.key_id, &bob.address)
        .await;
    shop.assert_chain_matches_ledger(treasury, &shop.point_system.treasury_address)
        .await;

    // Reconciliation agrees, and notices a ledger that drifts from the chain.
    let report = server::reconcile::reconcile(&shop.db, &shop.chain)
        .await
        .unwrap();
    assert_eq!(
        (report.checked, report.differences.len()),
        (3, 0),
        "{report}"
    );
    sqlx::query("UPDATE balances SET confirmed = confirmed + 5, available = available + 5 WHERE key_id = $1")
        .bind(bob.key_id)
        .execute(shop.db.pool())
        .await
        .unwrap();
    let report = server::reconcile::reconcile(&shop.db, &shop.chain)
        .await
        .unwrap();
    let mismatches: Vec<_> = report.mismatches().collect();
    assert_eq!(mismatches.len(), 1, "{report}");
    assert_eq!(
        (
            mismatches[0].address.as_str(),
            mismatches[0].ledger_confirmed,
            mismatches[0].chain_confirmed
        ),
        (bob.address.as_str(), 75, 70)
    );
    sqlx::query("UPDATE balances SET confirmed = confirmed - 5, available = available - 5 WHERE key_id = $1")
        .bind(bob.key_id)
        .execute(shop.db.pool())
        .await
        .unwrap();

    // Every operation has its transaction and block; every event was written.
    assert_eq!(
        shop.count("SELECT COUNT(*) FROM operations WHERE txid IS NULL OR height IS NULL")
            .await,
        0
    );
    assert_eq!(
        shop.count("SELECT COUNT(*) FROM events WHERE event_type = 'operation.confirmed'")
            .await,
        4
    );
    assert_eq!(
        shop.count("SELECT COUNT(*) FROM events WHERE event_type = 'operation.broadcast'")
            .await,
        4
    );
    // A confirmed transaction's inputs stay reserved for a while (a worker may still hold
    // a list of unspent outputs read before they were spent); nothing else holds any.
    assert_eq!(
        shop.count(
            "SELECT COUNT(*) FROM reserved_outpoints r JOIN chain_txs t ON t.id = r.chain_tx_id \
             WHERE t.state <> 'confirmed'"
        )
        .await,
        0,
        "only confirmed transactions still reserve their inputs"
    );
    shop.app.stop().await;
}

/// A confirmed transaction's inputs stay reserved for ten minutes: a worker that read the
/// node's unspent outputs just before they were spent must not build on them (its
/// transaction would be refused as a double spend). Older reservations go.
#[tokio::test]
async fn confirmed_transactions_keep_their_inputs_reserved_for_a_while() {
    let shop = shop_with_issued_points().await;
    let treasury = shop.point_system.treasury_key_id;
    let alice = shop.customer("alice").await;
    let reserving_confirmed_txs = async || -> Vec<i64> {
        sqlx::query_scalar(
            "SELECT DISTINCT r.chain_tx_id FROM reserved_outpoints r \
             JOIN chain_txs t ON t.id = r.chain_tx_id WHERE t.state = 'confirmed'",
        )
        .fetch_all(shop.db.pool())
        .await
        .unwrap()
    };

    shop.submit(OperationKind::Award, treasury, to(&alice), 10)
        .await;
    shop.wait_until_settled().await;
    assert!(
        !reserving_confirmed_txs().await.is_empty(),
        "a transaction just confirmed still reserves its inputs"
    );

    // Ten minutes and a second later, the next confirmation forgets them.
    sqlx::query("UPDATE chain_txs SET updated_at = updated_at - 601 WHERE state = 'confirmed'")
        .execute(shop.db.pool())
        .await
        .unwrap();
    let last = shop
        .submit(OperationKind::Award, treasury, to(&alice), 5)
        .await;
    shop.wait_until_settled().await;
    let kept = reserving_confirmed_txs().await;
    let last_tx: i64 = sqlx::query_scalar("SELECT chain_tx_id FROM operations WHERE id = $1")
        .bind(last)
        .fetch_one(shop.db.pool())
        .await
        .unwrap();
    assert_eq!(
        kept,
        vec![last_tx],
        "only the newest transaction's inputs stay reserved"
    );
    shop.app.stop().await;
}

#[tokio::test]
async fn awards_within_a_batch_window_share_few_transactions() {
    let shop = shop_with_issued_points().await;
    let treasury = shop.point_system.treasury_key_id;
    let mut customers = Vec::new();
    for n in 0..40 {
        customers.push(shop.customer(&format!("c{n}")).await);
    }
    // Submitted one after another, well within one batch window, as a burst of API calls.
    for customer in &customers {
        shop.submit(OperationKind::Award, treasury, to(customer), 10)
            .await;
    }
    shop.wait_until_settled().await;

    let awards = shop
        .count("SELECT COUNT(*) FROM operations WHERE kind = 'award'")
        .await;
    let transactions = shop
        .count("SELECT COUNT(DISTINCT chain_tx_id) FROM operations WHERE kind = 'award'")
        .await;
    assert_eq!(awards, 40);
    assert!(
        transactions <= 5,
        "40 awards took {transactions} transactions"
    );
    for customer in &customers {
        shop.assert_chain_matches_ledger(customer.key_id, &customer.address)
            .await;
    }
    shop.app.stop().await;
}

/// Mines a block every 100 ms until told to pause; for a chain that mines only on demand.
struct Miner {
    paused: std::sync::Arc<std::sync::atomic::AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Miner {
    fn start(chain: mvs::rpc::Client) -> Miner {
        let paused = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = paused.clone();
        let task = tokio::spawn(async move {
            loop {
                if !flag.load(std::sync::atomic::Ordering::SeqCst) {
                    chain.generate(1).await.unwrap();
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
        Miner { paused, task }
    }

    fn pause(&self, paused: bool) {
        self.paused
            .store(paused, std::sync::atomic::Ordering::SeqCst);
    }
}

#[tokio::test]
async fn a_reorganisation_puts_confirmed_operations_back_in_flight_until_they_confirm_again() {
    let guard = tempfile::tempdir().unwrap();
    let data_dir = guard.path().to_path_buf();
    let mut settings = test_settings(data_dir.clone(), fresh_database_url(&data_dir).await);
    settings.chain = server::config::ChainSettings::Embedded {
        block_interval: Duration::ZERO,
    };
    let app = spawn_app_with(settings, guard).await;
    let miner = Miner::start(mvs::rpc::Client::new(
        app.chain_url.clone().unwrap(),
        Duration::from_secs(10),
    ));
    let shop = shop_on(app).await;
    let treasury = shop.point_system.treasury_key_id;
    let alice = shop.customer("alice").await;
    let award = shop
        .submit(OperationKind::Award, treasury, to(&alice), 100)
        .await;
    shop.wait_until_settled().await;
    shop.submit(OperationKind::Redeem, alice.key_id, shop.treasury(), 30)
        .await;
    shop.wait_until_settled().await;

    // Undo the award's block and every block after it; no new blocks for now.
    miner.pause(true);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let award_height: i64 = sqlx::query_scalar("SELECT height FROM operations WHERE id = $1")
        .bind(award)
        .fetch_one(shop.db.pool())
        .await
        .unwrap();
    let block = shop
        .chain
        .get_block(mvs::rpc::BlockRef::Height(award_height as u64))
        .await
        .unwrap();
    shop.chain.invalidate_block(&block.hash).await.unwrap();

    wait_for("both operations to be back in flight", || async {
        let open = shop
            .count("SELECT COUNT(*) FROM operations WHERE state = 'broadcast'")
            .await;
        (open == 2).then_some(())
    })
    .await;
    let during = Balance::fetch(&shop.db, alice.key_id, shop.point_system.id)
        .await
        .unwrap();
    assert_eq!(
        during,
        Balance {
            available: 70,
            pending_in: 100,
            confirmed: 0
        },
        "nothing is confirmed while out of the chain"
    );
    assert_eq!(
        shop.count("SELECT COUNT(*) FROM chain_txs WHERE reorgs = 1 AND purpose = 'transfer'")
            .await,
        2
    );

    // Mining resumes: the same transactions confirm again, and nothing is credited twice.
    miner.pause(false);
    shop.wait_until_settled().await;
    let after = Balance::fetch(&shop.db, alice.key_id, shop.point_system.id)
        .await
        .unwrap();
    assert_eq!(
        after,
        Balance {
            available: 70,
            pending_in: 0,
            confirmed: 70
        }
    );
    shop.assert_chain_matches_ledger(alice.key_id, &alice.address)
        .await;
    shop.assert_chain_matches_ledger(treasury, &shop.point_system.treasury_address)
        .await;
    miner.task.abort();
    shop.app.stop().await;
}

#[tokio::test]
async fn points_withdrawn_to_an_outside_address_and_sent_back_arrive_as_a_deposit() {
    use mvs::builder::{MstTransfer, Recipient, Spendable};

    let shop = shop_with_issued_points().await;
    let alice = shop.customer("alice").await;
    shop.submit(
        OperationKind::Award,
        shop.point_system.treasury_key_id,
        to(&alice),
        100,
    )
    .await;
    shop.wait_until_settled().await;

    // Alice withdraws 40 to a wallet of her own outside the platform.
    let outside = mvs::keys::PrivateKey::generate(mvs::Network::Testnet);
    let external = Destination::External {
        address: outside.address().to_string(),
        avatar: None,
    };
    shop.submit(OperationKind::Withdraw, alice.key_id, external, 40)
        .await;
    shop.wait_until_settled().await;
    let held: u64 = shop
        .chain
        .get_address_asset(&outside.address().to_string(), Some(SYMBOL))
        .await
        .unwrap()
        .iter()
        .map(|b| b.confirmed)
        .sum();
    assert_eq!(held, 40);

    // From that wallet she sends 25 back (the platform's fee wallet sponsors the fee, as
    // a friendly outsider would need ETP from somewhere).
    let spend = |utxos: Vec<mvs::rpc::Utxo>, key: &mvs::keys::PrivateKey| -> Vec<Spendable> {
        utxos
            .iter()
            .map(|u| Spendable {
                outpoint: u.outpoint().unwrap(),
                output: u.to_output().unwrap(),
                key: key.clone(),
            })
            .collect()
    };
    let fee_wallet = server::worker::FeeWallet::ensure(&shop.db, &shop.vault)
        .await
        .unwrap();
    let fee_key = shop
        .vault
        .private_key(&shop.db, fee_wallet.key_id)
        .await
        .unwrap();
    let mut fee_utxos = shop
        .chain
        .list_etp_utxos(&fee_wallet.address)
        .await
        .unwrap();
    fee_utxos.truncate(1);
    let back = MstTransfer {
        network: mvs::Network::Testnet,
        symbol: SYMBOL.into(),
        asset_inputs: spend(
            shop.chain
                .list_asset_utxos(&outside.address().to_string(), SYMBOL)
                .await
                .unwrap(),
            &outside,
        ),
        recipients: vec![Recipient::address(
            mvs::Address::parse(&alice.address).unwrap(),
            25,
        )],
        asset_change: outside.address(),
        fee_inputs: spend(fee_utxos, &fee_key),
        fee_change: mvs::Address::parse(&fee_wallet.address).unwrap(),
        fee: mvs::consensus::MIN_TX_FEE,
    }
    .build()
    .unwrap();
    use mvs::encoding::Encode;
    let txid = shop.chain.send_raw_tx(&back.encode_hex()).await.unwrap();

    let deposit = wait_for("the deposit to be credited", || async {
        sqlx::query_as::<_, (i64, String, String)>(
            "SELECT amount, state, txid FROM operations WHERE kind = 'deposit'",
        )
        .fetch_optional(shop.db.pool())
        .await
        .unwrap()
    })
    .await;
    assert_eq!(deposit, (25, "confirmed".to_owned(), txid.to_string()));
    assert_eq!(
        Balance::fetch(&shop.db, alice.key_id, shop.point_system.id)
            .await
            .unwrap(),
        Balance {
            available: 85,
            pending_in: 0,
            confirmed: 85
        }
    );
    shop.assert_chain_matches_ledger(alice.key_id, &alice.address)
        .await;
    // Read again later, the same block credits nothing twice.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        shop.count("SELECT COUNT(*) FROM operations WHERE kind = 'deposit'")
            .await,
        1
    );
    shop.app.stop().await;
}

#[tokio::test]
async fn the_fee_wallet_keeps_a_pool_of_small_outputs_and_reports_a_low_balance() {
    use server::worker::fee_pool::{status, POOL_OUTPUT, POOL_TARGET};

    let shop = shop_with_issued_points().await;
    let wallet = server::worker::FeeWallet::ensure(&shop.db, &shop.vault)
        .await
        .unwrap();
    let pool = wait_for("the fee wallet's pool", || async {
        let utxos = shop.chain.list_etp_utxos(&wallet.address).await.unwrap();
        let small = utxos.iter().filter(|u| u.value == POOL_OUTPUT).count();
        (small >= POOL_TARGET / 2).then_some(small)
    })
    .await;
    assert!(
        pool <= POOL_TARGET,
        "topped up to the target, not beyond: {pool}"
    );
    let funded = status(&shop.chain, &wallet.address).await.unwrap();
    assert!(!funded.low, "{funded:?}");
    assert!(
        funded.outputs > pool,
        "the large output stays for issuing point systems"
    );

    // Independent sends from different customers each find a pool output: all of them
    // go out at once instead of chaining on one change output.
    let treasury = shop.point_system.treasury_key_id;
    let mut customers = Vec::new();
    for n in 0..4 {
        let customer = shop.customer(&format!("p{n}")).await;
        shop.submit(OperationKind::Award, treasury, to(&customer), 10)
            .await;
        customers.push(customer);
    }
    shop.wait_until_settled().await;
    for customer in &customers {
        shop.submit(OperationKind::Redeem, customer.key_id, shop.treasury(), 5)
            .await;
    }
    shop.wait_until_settled().await;
    // No redemption spends another one's unconfirmed change. (A redemption built after an
    // earlier one was mined may spend its confirmed change: it waits on nothing. The
    // development chain mines its whole pool into each block, so a parent in an earlier
    // block than its child was confirmed when the child was built.)
    let raws: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT DISTINCT c.txid, c.raw_hex, c.height FROM chain_txs c JOIN operations o ON o.chain_tx_id = c.id WHERE o.kind = 'redeem'",
    )
    .fetch_all(shop.db.pool())
    .await
    .unwrap();
    assert_eq!(raws.len(), 4, "one transaction per sending customer");
    let redeem_heights: std::collections::HashMap<&str, i64> = raws
        .iter()
        .map(|(txid, _, height)| (txid.as_str(), *height))
        .collect();
    for (txid, raw, height) in &raws {
        let tx = <mvs::tx::Transaction as mvs::encoding::Decode>::decode_hex(raw).unwrap();
        let parents: Vec<String> = tx
            .inputs
            .iter()
            .map(|i| i.previous_output.txid.to_string())
            .collect();
        assert!(
            parents.iter().all(|p| redeem_heights
                .get(p.as_str())
                .is_none_or(|parent_height| parent_height < height)),
            "{txid} (height {height}) waits on another redemption: {parents:?} {redeem_heights:?}"
        );
    }

    let empty = status(
        &shop.chain,
        &mvs::keys::PrivateKey::generate(mvs::Network::Testnet)
            .address()
            .to_string(),
    )
    .await
    .unwrap();
    assert!(empty.low && empty.balance == 0 && empty.outputs == 0);
    shop.app.stop().await;
}

#[tokio::test]
async fn a_transaction_the_node_refuses_fails_its_operations_and_returns_their_points() {
    let guard = tempfile::tempdir().unwrap();
    let data_dir = guard.path().to_path_buf();
    let mut settings = test_settings(data_dir.clone(), fresh_database_url(&data_dir).await);
    settings.worker.enabled = false; // this test runs the worker's rounds itself
    let app = spawn_app_with(settings, guard).await;
    let db = Database::connect(&app.database_url, 4).await.unwrap();
    let vault = KeyVault::new(
        MasterKey::load_or_create(&app.data_dir.join("master.key")).unwrap(),
        mvs::Network::Testnet,
    );
    let chain = mvs::rpc::Client::new(app.chain_url.clone().unwrap(), Duration::from_secs(10));
    let fee_wallet = server::worker::FeeWallet::ensure(&db, &vault)
        .await
        .unwrap();
    let worker = server::worker::Worker::new(
        db.clone(),
        vault.clone(),
        chain.clone(),
        fee_wallet,
        Default::default(),
    );
    let registering = tokio::spawn(async move { shop_on(app).await });
    let shop = loop {
        worker.round().await.unwrap();
        if registering.is_finished() {
            break registering.await.unwrap();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let alice = shop.customer("alice").await;
    let award = shop
        .submit(
            OperationKind::Award,
            shop.point_system.treasury_key_id,
            to(&alice),
            100,
        )
        .await;

    // A stored transaction the node cannot accept: it spends outputs that do not exist here
    // (a metaversejs test vector from another chain).
    let vectors: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/mvs/vectors-testnet.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let vector = &vectors["transactions"][0];
    let chain_tx: i64 = sqlx::query_scalar(
        "INSERT INTO chain_txs (txid, raw_hex, purpose, point_system_id, state, created_at, updated_at) \
         VALUES ($1, $2, 'transfer', $3, 'signed', 0, 0) RETURNING id",
    )
    .bind(vector["txid"].as_str().unwrap())
    .bind(vector["raw_hex"].as_str().unwrap())
    .bind(shop.point_system.id)
    .fetch_one(shop.db.pool())
    .await
    .unwrap();
    sqlx::query("UPDATE operations SET state = 'signed', chain_tx_id = $1 WHERE id = $2")
        .bind(chain_tx)
        .bind(award)
        .execute(shop.db.pool())
        .await
        .unwrap();

    worker.round().await.unwrap();
    let (state, error): (String, String) =
        sqlx::query_as("SELECT state, error FROM operations WHERE id = $1")
            .bind(award)
            .fetch_one(shop.db.pool())
            .await
            .unwrap();
    assert_eq!(state, "failed");
    assert!(error.starts_with("rejected by the node"), "{error}");
    assert_eq!(
        Balance::fetch(&shop.db, alice.key_id, shop.point_system.id)
            .await
            .unwrap(),
        Balance::default()
    );
    let treasury = Balance::fetch(
        &shop.db,
        shop.point_system.treasury_key_id,
        shop.point_system.id,
    )
    .await
    .unwrap();
    assert_eq!(
        treasury.available, 1_000_000,
        "the reserved points are back"
    );
    let ps = PointSystem::of_store(&shop.db, shop.point_system.store_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        ps.status, "confirmed",
        "a refused transfer does not fail the point system"
    );
    shop.app.stop().await;
}

/// More lanes still inside their store's batch window than one round lists must not keep
/// a due lane waiting: the window is applied before the limit and the longest waiting
/// lanes come first. The waiting lanes are older (lower ids) so they would come first in
/// any natural order.
#[tokio::test]
async fn lanes_waiting_in_their_batch_window_do_not_starve_a_due_lane() {
    let app = spawn_app().await;
    let db = Database::connect(&app.database_url, 4).await.unwrap();
    let vault = KeyVault::new(
        MasterKey::load_or_create(&app.data_dir.join("master.key")).unwrap(),
        mvs::Network::Testnet,
    );
    let operator: i64 = sqlx::query_scalar(
        "INSERT INTO operators (email, password_hash, created_at) VALUES ('held@example.com', 'x', 0) RETURNING id",
    )
    .fetch_one(db.pool())
    .await
    .unwrap();
    let held = app::domain::stores::create(&db, operator, "Held Shop", "held-shop")
        .await
        .unwrap();
    sqlx::query("UPDATE stores SET batch_window_ms = 60000 WHERE id = $1")
        .bind(held.id)
        .execute(db.pool())
        .await
        .unwrap();
    let mut senders = Vec::new();
    for n in 0..=100 {
        let email = Email::parse(&format!("held{n}@example.com")).unwrap();
        let customer = customers::upsert(&db, &vault, held.id, &format!("held{n}"), &email, None)
            .await
            .unwrap();
        senders.push(customer);
    }
    // A point system the chain need not know: its lanes only ever wait.
    let treasury = senders.pop().unwrap();
    let held_points: i64 = sqlx::query_scalar(
        "INSERT INTO point_systems (store_id, symbol, name, description, decimals, max_supply, secondary_issue, \
           issuer_avatar, treasury_key_id, status, created_at) \
         VALUES ($1, 'HELD.POINTS', 'Held', 'held', 0, 1000, 0, 'held-shop', $2, 'confirmed', 0) RETURNING id",
    )
    .bind(held.id)
    .bind(treasury.key_id)
    .fetch_one(db.pool())
    .await
    .unwrap();
    let now = app::domain::clock::now();
    for sender in &senders {
        sqlx::query(
            "INSERT INTO operations (point_system_id, kind, amount, from_key_id, to_key_id, to_address, actor, \
               state, created_at, updated_at) \
             VALUES ($1, 'redeem', 1, $2, $3, $4, 'test', 'queued', $5, $5)",
        )
        .bind(held_points)
        .bind(sender.key_id)
        .bind(treasury.key_id)
        .bind(&treasury.address)
        .bind(now)
        .execute(db.pool())
        .await
        .unwrap();
    }
    db.close().await;

    let shop = shop_on(app).await;
    let alice = shop.customer("alice").await;
    let award = shop
        .submit(
            OperationKind::Award,
            shop.point_system.treasury_key_id,
            to(&alice),
            10,
        )
        .await;
    wait_for("the due lane's award to confirm", || async {
        let state: String = sqlx::query_scalar("SELECT state FROM operations WHERE id = $1")
            .bind(award)
            .fetch_one(shop.db.pool())
            .await
            .unwrap();
        (state == "confirmed").then_some(())
    })
    .await;
    assert_eq!(
        shop.count("SELECT COUNT(*) FROM operations WHERE state = 'queued'")
            .await,
        100,
        "the lanes inside their window still wait"
    );
    shop.app.stop().await;
}

/// One chain transaction carrying many operations (several to the same customer) settles
/// each of them exactly once: balances, states, blocks and one event per step each.
#[tokio::test]
async fn a_transaction_of_many_operations_settles_each_of_them_exactly_once() {
    let shop = shop_with_issued_points().await;
    let treasury = shop.point_system.treasury_key_id;
    let treasury_before = Balance::fetch(&shop.db, treasury, shop.point_system.id)
        .await
        .unwrap();
    // A window long enough for each phase's submissions to leave in one transaction.
    sqlx::query("UPDATE stores SET batch_window_ms = 4000 WHERE id = $1")
        .bind(shop.point_system.store_id)
        .execute(shop.db.pool())
        .await
        .unwrap();
    let mut customers = Vec::new();
    for n in 0..40 {
        customers.push(shop.customer(&format!("many{n}")).await);
    }
    let mut expected: Vec<u64> = (0..40).map(|n| 10 + n).collect();
    // (operation, from customer, to customer) by the store's external ids.
    let mut sent: Vec<(i64, Option<usize>, Option<usize>)> = Vec::new();
    let mut awarded = 0;
    for (n, customer) in customers.iter().enumerate() {
        let id = shop
            .submit(OperationKind::Award, treasury, to(customer), expected[n])
            .await;
        sent.push((id, None, Some(n)));
        awarded += expected[n];
    }
    let id = shop
        .submit(OperationKind::Award, treasury, to(&customers[0]), 5)
        .await;
    sent.push((id, None, Some(0)));
    expected[0] += 5;
    awarded += 5;
    shop.wait_until_settled().await;

    // Customer 0 redeems and transfers, twice to the same customer, in one transaction.
    let c0 = customers[0].key_id;
    let mut second = vec![
        (
            shop.submit(OperationKind::Redeem, c0, shop.treasury(), 3)
                .await,
            Some(0),
            None,
        ),
        (
            shop.submit(OperationKind::Transfer, c0, to(&customers[1]), 4)
                .await,
            Some(0),
            Some(1),
        ),
        (
            shop.submit(OperationKind::Transfer, c0, to(&customers[2]), 2)
                .await,
            Some(0),
            Some(2),
        ),
        (
            shop.submit(OperationKind::Transfer, c0, to(&customers[1]), 1)
                .await,
            Some(0),
            Some(1),
        ),
    ];
    expected[0] -= 10;
    expected[1] += 5;
    expected[2] += 2;
    shop.wait_until_settled().await;
    let first_ids: Vec<i64> = sent.iter().map(|s| s.0).collect();
    let second_ids: Vec<i64> = second.iter().map(|s| s.0).collect();
    sent.append(&mut second);

    for ids in [&first_ids, &second_ids] {
        let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
        assert_eq!(
            shop.count(&format!(
                "SELECT COUNT(DISTINCT chain_tx_id) FROM operations WHERE id IN ({list})"
            ))
            .await,
            1,
            "each phase's operations share one chain transaction"
        );
    }

    for (n, customer) in customers.iter().enumerate() {
        let balance = Balance::fetch(&shop.db, customer.key_id, shop.point_system.id)
            .await
            .unwrap();
        assert_eq!(
            balance,
            Balance {
                available: expected[n],
                pending_in: 0,
                confirmed: expected[n],
            },
            "customer {n}"
        );
    }
    let treasury_after = Balance::fetch(&shop.db, treasury, shop.point_system.id)
        .await
        .unwrap();
    assert_eq!(
        treasury_after,
        Balance {
            available: treasury_before.available - awarded + 3,
            pending_in: 0,
            confirmed: treasury_before.confirmed - awarded + 3,
        }
    );
    for customer in &customers[..3] {
        shop.assert_chain_matches_ledger(customer.key_id, &customer.address)
            .await;
    }
    shop.assert_chain_matches_ledger(treasury, &shop.point_system.treasury_address)
        .await;

    let mut heights = std::collections::HashMap::new();
    for (id, _, _) in &sent {
        let (state, txid, height, credited_at, chain_txid, chain_height, chain_state): (
            String,
            Option<String>,
            Option<i64>,
            Option<i64>,
            String,
            Option<i64>,
            String,
        ) = sqlx::query_as(
            "SELECT o.state, o.txid, o.height, o.credited_at, c.txid, c.height, c.state \
             FROM operations o JOIN chain_txs c ON c.id = o.chain_tx_id WHERE o.id = $1",
        )
        .bind(id)
        .fetch_one(shop.db.pool())
        .await
        .unwrap();
        assert_eq!(state, "confirmed", "operation {id}");
        assert_eq!(chain_state, "confirmed", "operation {id}");
        assert_eq!(txid.as_deref(), Some(chain_txid.as_str()), "operation {id}");
        assert!(chain_height.is_some(), "operation {id}");
        assert_eq!(height, chain_height, "operation {id}");
        assert!(credited_at.is_some(), "operation {id}");
        heights.insert(*id, (chain_txid, chain_height.unwrap()));
    }

    let events: Vec<(i64, String, String)> = sqlx::query_as(
        "SELECT id, event_type, data FROM events WHERE event_type LIKE 'operation.%' ORDER BY id",
    )
    .fetch_all(shop.db.pool())
    .await
    .unwrap();
    for event_type in ["operation.broadcast", "operation.confirmed"] {
        let of_type: Vec<serde_json::Value> = events
            .iter()
            .filter(|e| e.1 == event_type)
            .map(|e| serde_json::from_str(&e.2).unwrap())
            .collect();
        assert_eq!(of_type.len(), sent.len(), "{event_type}: one per operation");
        let operation_ids: Vec<i64> = of_type
            .iter()
            .map(|d| d["operation"]["id"].as_i64().unwrap())
            .collect();
        let mut in_order = operation_ids.clone();
        in_order.sort();
        assert_eq!(
            operation_ids, in_order,
            "{event_type}: events follow the operations' order"
        );
        let name = |side: Option<usize>| side.map(|n| format!("many{n}"));
        for (id, from, to) in &sent {
            let data = of_type
                .iter()
                .find(|d| d["operation"]["id"].as_i64() == Some(*id))
                .unwrap_or_else(|| panic!("{event_type} of operation {id}"));
            assert_eq!(
                data["from_customer"].as_str().map(str::to_owned),
                name(*from),
                "{event_type} of operation {id}"
            );
            assert_eq!(
                data["to_customer"].as_str().map(str::to_owned),
                name(*to),
                "{event_type} of operation {id}"
            );
            let (txid, height) = &heights[id];
            assert_eq!(data["operation"]["txid"].as_str(), Some(txid.as_str()));
            if event_type == "operation.confirmed" {
                assert_eq!(data["operation"]["state"], "confirmed");
                assert_eq!(data["operation"]["height"].as_i64(), Some(*height));
            } else {
                assert_eq!(data["operation"]["state"], "broadcast");
            }
        }
    }
    shop.app.stop().await;
}

//! Reorganisations of what the worker did not send itself: a deposit from outside and a
//! point system's issue. `invalidateblock` on the development chain takes their block
//! away; they go back to pending and confirm again when mining resumes, and the ledger
//! ends where the chain is.

use std::time::{Duration, Instant};

use app::domain::{
    custody::KeyVault,
    db::Database,
    email::Email,
    ledger::{
        customers::{self, StoreCustomer},
        point_systems::PointSystem,
        submit::{submit, Destination, NewOperation},
        Amount, Balance, LedgerError, OperationKind,
    },
};
use mvs::builder::{MstTransfer, Recipient, Spendable};

use crate::{
    api_support::{fixture_vault, store_with_points},
    helpers::{fresh_database_url, spawn_app_with, test_settings, TestApp},
};

/// Mines a block every 100 ms unless paused.
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
                    let _ = chain.generate(1).await;
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

struct World {
    app: TestApp,
    db: Database,
    vault: KeyVault,
    chain: mvs::rpc::Client,
    miner: Miner,
    point_system: PointSystem,
    symbol: String,
}

async fn world(slug: &str) -> World {
    let guard = tempfile::tempdir().unwrap();
    let data_dir = guard.path().to_path_buf();
    let mut settings = test_settings(data_dir.clone(), fresh_database_url(&data_dir).await);
    settings.chain = server::config::ChainSettings::Embedded {
        block_interval: Duration::ZERO,
    };
    let app = spawn_app_with(settings, guard).await;
    let chain = mvs::rpc::Client::new(app.chain_url.clone().unwrap(), Duration::from_secs(10));
    let miner = Miner::start(chain.clone());
    let db = Database::connect(&app.database_url, 4).await.unwrap();
    let vault = fixture_vault(&app);
    let point_system = if slug.ends_with("more") {
        store_with_free_secondary_issue(&db, &vault, slug).await
    } else {
        store_with_points(&db, &vault, slug, 1_000_000).await.1
    };
    World {
        symbol: point_system.symbol.clone(),
        app,
        db,
        vault,
        chain,
        miner,
        point_system,
    }
}

/// A store whose point system (1,000,000 of SLUG.POINTS) may issue more freely.
async fn store_with_free_secondary_issue(
    db: &Database,
    vault: &KeyVault,
    slug: &str,
) -> PointSystem {
    use app::domain::ledger::point_systems::{self, PointSystemSpec};
    let operator: i64 = sqlx::query_scalar(
        "INSERT INTO operators (email, password_hash, created_at) VALUES ($1, 'x', 0) RETURNING id",
    )
    .bind(format!("owner@{slug}.example"))
    .fetch_one(db.pool())
    .await
    .unwrap();
    let store = app::domain::stores::create(db, operator, slug, slug)
        .await
        .unwrap();
    let spec = PointSystemSpec {
        symbol: mvs::symbol::Symbol::parse(&format!("{}.POINTS", slug.to_uppercase())).unwrap(),
        name: format!("{slug} points"),
        description: "test points".into(),
        decimals: 0,
        max_supply: Amount::new(1_000_000).unwrap(),
        secondary_issue: 127,
        issuer_avatar: mvs::symbol::AvatarName::parse(slug).unwrap(),
    };
    point_systems::register(db, vault, store.id, &spec)
        .await
        .unwrap();
    wait_for("the point system to be issued", || async {
        PointSystem::of_store(db, store.id)
            .await
            .unwrap()
            .filter(|p| p.status == "confirmed")
    })
    .await
}

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

impl World {
    async fn count(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sql)
            .fetch_one(self.db.pool())
            .await
            .unwrap()
    }

    async fn settled(&self) {
        wait_for("every operation to settle", || async {
            (self
                .count("SELECT COUNT(*) FROM operations WHERE state IN ('queued', 'signed', 'broadcast')")
                .await
                == 0)
                .then_some(())
        })
        .await;
    }

    async fn queue(&self, kind: OperationKind, from: i64, to: Destination, amount: u64) {
        submit(
            &self.db,
            NewOperation {
                point_system_id: self.point_system.id,
                kind,
                amount: Amount::new(amount).unwrap(),
                from_key_id: from,
                to,
                actor: "test".into(),
                reason: None,
                idempotency_key: None,
            },
        )
        .await
        .unwrap();
    }

    async fn balance(&self, key_id: i64) -> Balance {
        Balance::fetch(&self.db, key_id, self.point_system.id)
            .await
            .unwrap()
    }

    async fn chain_confirmed(&self, address: &str) -> u64 {
        self.chain
            .get_address_asset(address, Some(&self.symbol))
            .await
            .unwrap()
            .iter()
            .map(|b| b.confirmed)
            .sum()
    }

    /// Stops mining and invalidates the block at `height` (and every block above it).
    async fn invalidate(&self, height: i64) {
        self.miner.pause(true);
        tokio::time::sleep(Duration::from_millis(300)).await;
        let block = self
            .chain
            .get_block(mvs::rpc::BlockRef::Height(height as u64))
            .await
            .unwrap();
        self.chain.invalidate_block(&block.hash).await.unwrap();
    }

    async fn stop(self) {
        self.miner.task.abort();
        self.db.close().await;
        self.app.stop().await;
    }
}

fn custodial(customer: &StoreCustomer) -> Destination {
    Destination::Custodial {
        key_id: customer.key_id,
        address: customer.address.clone(),
    }
}

/// Alice's points go out to her own outside wallet (40) and 25 come back as a deposit.
async fn deposit_from_outside(w: &World, alice: &StoreCustomer) -> i64 {
    send_deposit_from_outside(w, alice, None).await;
    wait_for("the deposit to be credited", || async {
        sqlx::query_scalar::<_, i64>(
            "SELECT id FROM operations WHERE kind = 'deposit' AND state = 'confirmed'",
        )
        .fetch_optional(w.db.pool())
        .await
        .unwrap()
    })
    .await
}

/// Alice receives 100, sends 40 out, and the outside address sends 25 back (the deposit);
/// the store asks for `store_depth` confirmations from the deposit on, when given.
async fn send_deposit_from_outside(w: &World, alice: &StoreCustomer, store_depth: Option<i64>) {
    let treasury = w.point_system.treasury_key_id;
    w.queue(OperationKind::Award, treasury, custodial(alice), 100)
        .await;
    w.settled().await;
    let outside = mvs::keys::PrivateKey::generate(mvs::Network::Testnet);
    w.queue(
        OperationKind::Withdraw,
        alice.key_id,
        Destination::External {
            address: outside.address().to_string(),
            avatar: None,
        },
        40,
    )
    .await;
    w.settled().await;
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
    let fee_wallet = server::worker::FeeWallet::ensure(&w.db, &w.vault)
        .await
        .unwrap();
    let fee_key = w.vault.private_key(&w.db, fee_wallet.key_id).await.unwrap();
    let mut fee_utxos = w.chain.list_etp_utxos(&fee_wallet.address).await.unwrap();
    fee_utxos.retain(|u| u.height > 0);
    fee_utxos.truncate(1);
    let back = MstTransfer {
        network: mvs::Network::Testnet,
        symbol: w.symbol.clone(),
        asset_inputs: spend(
            w.chain
                .list_asset_utxos(&outside.address().to_string(), &w.symbol)
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
    if let Some(depth) = store_depth {
        sqlx::query("UPDATE stores SET required_confirmations = $1 WHERE id = $2")
            .bind(depth)
            .bind(w.point_system.store_id)
            .execute(w.db.pool())
            .await
            .unwrap();
    }
    w.chain.send_raw_tx(&back.encode_hex()).await.unwrap();
}

#[tokio::test]
async fn a_reorganised_deposit_goes_back_to_pending_and_confirms_again() {
    let w = world("deporg").await;
    let alice = customers::upsert(
        &w.db,
        &w.vault,
        w.point_system.store_id,
        "alice",
        &Email::parse("alice@example.com").unwrap(),
        None,
    )
    .await
    .unwrap();
    let deposit = deposit_from_outside(&w, &alice).await;
    assert_eq!(
        w.balance(alice.key_id).await,
        Balance {
            available: 85,
            pending_in: 0,
            confirmed: 85
        }
    );

    let height: i64 = sqlx::query_scalar("SELECT height FROM operations WHERE id = $1")
        .bind(deposit)
        .fetch_one(w.db.pool())
        .await
        .unwrap();
    w.invalidate(height).await;
    wait_for("the deposit to be pending again", || async {
        let state: String = sqlx::query_scalar("SELECT state FROM operations WHERE id = $1")
            .bind(deposit)
            .fetch_one(w.db.pool())
            .await
            .unwrap();
        (state == "broadcast").then_some(())
    })
    .await;
    assert_eq!(
        w.balance(alice.key_id).await,
        Balance {
            available: 60,
            pending_in: 25,
            confirmed: 60
        },
        "not credited as confirmed, not spendable while out of the chain"
    );
    assert_eq!(w.chain_confirmed(&alice.address).await, 60);

    w.miner.pause(false);
    w.settled().await;
    assert_eq!(
        w.balance(alice.key_id).await,
        Balance {
            available: 85,
            pending_in: 0,
            confirmed: 85
        },
        "confirmed again, credited once"
    );
    assert_eq!(w.chain_confirmed(&alice.address).await, 85);
    assert_eq!(
        w.count("SELECT COUNT(*) FROM operations WHERE kind = 'deposit'")
            .await,
        1
    );
    let report = server::reconcile::reconcile(&w.db, &w.chain).await.unwrap();
    assert!(report.differences.is_empty(), "{report}");
    w.stop().await;
}

#[tokio::test]
async fn a_reorganised_issue_goes_back_to_broadcast_and_confirms_again() {
    let w = world("issorg").await;
    let treasury = w.point_system.treasury_key_id;
    let full = Balance {
        available: 1_000_000,
        pending_in: 0,
        confirmed: 1_000_000,
    };
    assert_eq!(w.balance(treasury).await, full);

    let height: i64 = sqlx::query_scalar("SELECT height FROM chain_txs WHERE purpose = 'issue'")
        .fetch_one(w.db.pool())
        .await
        .unwrap();
    w.invalidate(height).await;
    wait_for("the point system to be broadcast again", || async {
        PointSystem::of_store(&w.db, w.point_system.store_id)
            .await
            .unwrap()
            .filter(|p| p.status == "broadcast")
    })
    .await;
    assert_eq!(
        w.count("SELECT COUNT(*) FROM chain_txs WHERE purpose = 'issue' AND state = 'broadcast' AND reorgs = 1")
            .await,
        1
    );
    assert_eq!(
        w.balance(treasury).await,
        Balance {
            available: 1_000_000,
            pending_in: 0,
            confirmed: 0
        },
        "nothing is confirmed while the issue is out of the chain"
    );
    // No new operations until it is back.
    let alice = customers::upsert(
        &w.db,
        &w.vault,
        w.point_system.store_id,
        "alice",
        &Email::parse("alice@example.com").unwrap(),
        None,
    )
    .await
    .unwrap();
    let refused = submit(
        &w.db,
        NewOperation {
            point_system_id: w.point_system.id,
            kind: OperationKind::Award,
            amount: Amount::new(5).unwrap(),
            from_key_id: treasury,
            to: custodial(&alice),
            actor: "test".into(),
            reason: None,
            idempotency_key: None,
        },
    )
    .await;
    assert!(
        matches!(refused, Err(LedgerError::PointSystemNotReady)),
        "{refused:?}"
    );

    w.miner.pause(false);
    wait_for("the point system to be confirmed again", || async {
        PointSystem::of_store(&w.db, w.point_system.store_id)
            .await
            .unwrap()
            .filter(|p| p.status == "confirmed")
    })
    .await;
    assert_eq!(
        w.balance(treasury).await,
        full,
        "confirmed again, credited once"
    );
    assert_eq!(
        w.chain_confirmed(&w.point_system.treasury_address).await,
        1_000_000
    );
    assert_eq!(
        w.count("SELECT COUNT(*) FROM events WHERE event_type = 'point_system.confirmed'")
            .await,
        1,
        "announced once"
    );
    w.stop().await;
}

#[tokio::test]
async fn a_reorganised_secondary_issue_confirms_again_and_grows_the_supply_once() {
    use app::domain::ledger::secondary_issue::{self, NewSecondaryIssue};
    let w = world("reorgmore").await;
    let treasury = w.point_system.treasury_key_id;
    let op = secondary_issue::submit(
        &w.db,
        NewSecondaryIssue {
            point_system_id: w.point_system.id,
            amount: Amount::new(500).unwrap(),
            actor: "test".into(),
            reason: Some("reorg test".into()),
            idempotency_key: Some("more-1".into()),
        },
    )
    .await
    .unwrap();
    // The same request again is the same operation; the key with another amount is refused.
    let again = |amount: u64| {
        secondary_issue::submit(
            &w.db,
            NewSecondaryIssue {
                point_system_id: w.point_system.id,
                amount: Amount::new(amount).unwrap(),
                actor: "test".into(),
                reason: Some("reorg test".into()),
                idempotency_key: Some("more-1".into()),
            },
        )
    };
    assert_eq!(again(500).await.unwrap().id, op.id);
    assert!(matches!(
        again(501).await,
        Err(LedgerError::IdempotencyConflict)
    ));
    w.settled().await;
    let supply = || async {
        PointSystem::of_store(&w.db, w.point_system.store_id)
            .await
            .unwrap()
            .unwrap()
            .max_supply
    };
    assert_eq!(supply().await, 1_000_500);
    let height: i64 = sqlx::query_scalar("SELECT height FROM operations WHERE id = $1")
        .bind(op.id)
        .fetch_one(w.db.pool())
        .await
        .unwrap();
    w.invalidate(height).await;
    wait_for("the secondary issue to be back in flight", || async {
        let state: String = sqlx::query_scalar("SELECT state FROM operations WHERE id = $1")
            .bind(op.id)
            .fetch_one(w.db.pool())
            .await
            .unwrap();
        (state == "broadcast").then_some(())
    })
    .await;
    assert_eq!(
        w.balance(treasury).await,
        Balance {
            available: 1_000_500,
            pending_in: 0,
            confirmed: 1_000_000
        }
    );
    w.miner.pause(false);
    w.settled().await;
    assert_eq!(
        w.balance(treasury).await,
        Balance {
            available: 1_000_500,
            pending_in: 0,
            confirmed: 1_000_500
        }
    );
    assert_eq!(supply().await, 1_000_500, "the supply grew once");
    assert_eq!(
        w.chain.get_asset(&w.symbol).await.unwrap().maximum_supply,
        1_000_500
    );
    assert_eq!(
        w.chain_confirmed(&w.point_system.treasury_address).await,
        1_000_500
    );
    let report = server::reconcile::reconcile(&w.db, &w.chain).await.unwrap();
    assert!(report.differences.is_empty(), "{report}");
    w.stop().await;
}

#[tokio::test]
async fn a_reorganised_deposit_the_node_no_longer_knows_fails_without_a_negative_balance_and_revives_if_mined(
) {
    let w = world("depgone").await;
    let alice = customers::upsert(
        &w.db,
        &w.vault,
        w.point_system.store_id,
        "alice",
        &Email::parse("alice@example.com").unwrap(),
        None,
    )
    .await
    .unwrap();
    let deposit = deposit_from_outside(&w, &alice).await;
    let height: i64 = sqlx::query_scalar("SELECT height FROM operations WHERE id = $1")
        .bind(deposit)
        .fetch_one(w.db.pool())
        .await
        .unwrap();
    w.invalidate(height).await;
    wait_for("the deposit to be pending again", || async {
        let state: String = sqlx::query_scalar("SELECT state FROM operations WHERE id = $1")
            .bind(deposit)
            .fetch_one(w.db.pool())
            .await
            .unwrap();
        (state == "broadcast").then_some(())
    })
    .await;

    // The development chain returns invalidated transactions to its pool and keeps them
    // across restarts, so it cannot lose one the way a real node can (the sender spends
    // the same output elsewhere). Point the deposit at a transaction the node has never
    // seen instead: to the worker that is exactly a deposit whose transaction is gone.
    // Mining stays paused, so the real transaction stays unconfirmed in the pool.
    let deposit_txid: String = sqlx::query_scalar("SELECT txid FROM operations WHERE id = $1")
        .bind(deposit)
        .fetch_one(w.db.pool())
        .await
        .unwrap();
    sqlx::query("UPDATE operations SET txid = $1 WHERE id = $2")
        .bind("11".repeat(32))
        .bind(deposit)
        .execute(w.db.pool())
        .await
        .unwrap();
    let error = wait_for("the deposit to fail", || async {
        sqlx::query_scalar::<_, Option<String>>(
            "SELECT error FROM operations WHERE id = $1 AND state = 'failed'",
        )
        .bind(deposit)
        .fetch_optional(w.db.pool())
        .await
        .unwrap()
    })
    .await;
    assert_eq!(
        error.as_deref(),
        Some("the deposit's transaction left the chain")
    );
    assert_eq!(
        w.balance(alice.key_id).await,
        Balance {
            available: 60,
            pending_in: 0,
            confirmed: 60
        },
        "the 25 that did not arrive are gone; nothing went below zero"
    );
    assert_eq!(w.chain_confirmed(&alice.address).await, 60);

    // Should the transaction be mined after all, the deposit is credited again, once.
    sqlx::query("UPDATE operations SET txid = $1 WHERE id = $2")
        .bind(&deposit_txid)
        .bind(deposit)
        .execute(w.db.pool())
        .await
        .unwrap();
    w.miner.pause(false);
    w.settled().await;
    wait_for("the deposit to be credited again", || async {
        let state: String = sqlx::query_scalar("SELECT state FROM operations WHERE id = $1")
            .bind(deposit)
            .fetch_one(w.db.pool())
            .await
            .unwrap();
        (state == "confirmed").then_some(())
    })
    .await;
    assert_eq!(
        w.balance(alice.key_id).await,
        Balance {
            available: 85,
            pending_in: 0,
            confirmed: 85
        }
    );
    assert_eq!(w.chain_confirmed(&alice.address).await, 85);
    let report = server::reconcile::reconcile(&w.db, &w.chain).await.unwrap();
    assert!(report.differences.is_empty(), "{report}");
    w.stop().await;
}

#[tokio::test]
async fn a_reorganised_deposit_already_spent_holds_back_only_what_is_left_and_settles_again() {
    let w = world("depspent").await;
    let alice = customers::upsert(
        &w.db,
        &w.vault,
        w.point_system.store_id,
        "alice",
        &Email::parse("alice@example.com").unwrap(),
        None,
    )
    .await
    .unwrap();
    let deposit = deposit_from_outside(&w, &alice).await;
    // Alice spends 80 of her 85, the deposit's points among them.
    let treasury = Destination::Custodial {
        key_id: w.point_system.treasury_key_id,
        address: w.point_system.treasury_address.clone(),
    };
    w.queue(OperationKind::Redeem, alice.key_id, treasury, 80)
        .await;
    w.settled().await;
    assert_eq!(
        w.balance(alice.key_id).await,
        Balance {
            available: 5,
            pending_in: 0,
            confirmed: 5
        }
    );

    let height: i64 = sqlx::query_scalar("SELECT height FROM operations WHERE id = $1")
        .bind(deposit)
        .fetch_one(w.db.pool())
        .await
        .unwrap();
    w.invalidate(height).await;
    wait_for(
        "the deposit and the redemption to be pending again",
        || async {
            (w.count("SELECT COUNT(*) FROM operations WHERE state = 'broadcast'")
                .await
                == 2)
                .then_some(())
        },
    )
    .await;
    assert_eq!(
        w.balance(alice.key_id).await,
        Balance {
            available: 0,
            pending_in: 25,
            confirmed: 60
        },
        "only the 5 still available are held back; nothing goes below zero"
    );

    w.miner.pause(false);
    w.settled().await;
    assert_eq!(
        w.balance(alice.key_id).await,
        Balance {
            available: 5,
            pending_in: 0,
            confirmed: 5
        }
    );
    assert_eq!(w.chain_confirmed(&alice.address).await, 5);
    let report = server::reconcile::reconcile(&w.db, &w.chain).await.unwrap();
    assert!(report.differences.is_empty(), "{report}");
    w.stop().await;
}

/// More credited deposits in the reorganisation window than one round checks: every one
/// of them is still checked (newest first, the rest in the following rounds). Their
/// transactions are unknown to the node, as after a reorganisation that dropped them.
#[tokio::test]
async fn more_credited_deposits_than_one_round_checks_are_all_checked_for_reorganisations() {
    let w = world("depmany").await;
    let alice = customers::upsert(
        &w.db,
        &w.vault,
        w.point_system.store_id,
        "alice",
        &Email::parse("alice@example.com").unwrap(),
        None,
    )
    .await
    .unwrap();
    w.miner.pause(true);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let height = w.chain.get_height().await.unwrap() as i64;
    const DEPOSITS: i64 = 501;
    for n in 0..DEPOSITS {
        let txid = format!("{:064x}", 0xdead_0000_u64 + n as u64);
        sqlx::query(
            "INSERT INTO operations (point_system_id, kind, amount, to_key_id, to_address, actor, idempotency_key, \
               state, txid, height, credited_at, created_at, updated_at) \
             VALUES ($1, 'deposit', 1, $2, $3, 'chain', $4, 'confirmed', $5, $6, 1, 1, 1)",
        )
        .bind(w.point_system.id)
        .bind(alice.key_id)
        .bind(&alice.address)
        .bind(format!("deposit:{txid}:0"))
        .bind(&txid)
        .bind(height)
        .execute(w.db.pool())
        .await
        .unwrap();
    }
    sqlx::query(
        "INSERT INTO balances (key_id, point_system_id, available, pending_in, confirmed) VALUES ($1, $2, $3, 0, $3)",
    )
    .bind(alice.key_id)
    .bind(w.point_system.id)
    .bind(DEPOSITS)
    .execute(w.db.pool())
    .await
    .unwrap();
    // A new tip: the worker looks at credited deposits again.
    w.chain.generate(1).await.unwrap();

    wait_for("every credited deposit to be checked", || async {
        (w.count("SELECT COUNT(*) FROM operations WHERE kind = 'deposit' AND state = 'confirmed'")
            .await
            == 0)
            .then_some(())
    })
    .await;
    w.stop().await;
}

/// A store that asks for more confirmations than the platform: a deposit is pending (not
/// spendable) until its block is that deep, then confirmed and credited once.
#[tokio::test]
async fn a_deposit_confirms_at_its_stores_required_confirmations() {
    const STORE_DEPTH: i64 = 12;
    let w = world("depdeep").await;
    let alice = customers::upsert(
        &w.db,
        &w.vault,
        w.point_system.store_id,
        "alice",
        &Email::parse("alice@example.com").unwrap(),
        None,
    )
    .await
    .unwrap();
    send_deposit_from_outside(&w, &alice, Some(STORE_DEPTH)).await;
    let (deposit, state) = wait_for("the deposit to be seen", || async {
        sqlx::query_as::<_, (i64, String)>(
            "SELECT id, state FROM operations WHERE kind = 'deposit'",
        )
        .fetch_optional(w.db.pool())
        .await
        .unwrap()
    })
    .await;
    assert_eq!(
        state, "broadcast",
        "read at the platform's depth (2), pending for the store's"
    );
    assert_eq!(
        w.balance(alice.key_id).await,
        Balance {
            available: 60,
            pending_in: 25,
            confirmed: 60
        },
        "not spendable before the store's confirmations"
    );

    let height = wait_for("the deposit to confirm", || async {
        let (state, height): (String, Option<i64>) =
            sqlx::query_as("SELECT state, height FROM operations WHERE id = $1")
                .bind(deposit)
                .fetch_one(w.db.pool())
                .await
                .unwrap();
        height.filter(|_| state == "confirmed")
    })
    .await;
    let tip = w.chain.get_height().await.unwrap() as i64;
    assert!(
        tip - height + 1 >= STORE_DEPTH,
        "confirmed at {} confirmations, the store asks for {STORE_DEPTH}",
        tip - height + 1
    );
    assert_eq!(
        w.balance(alice.key_id).await,
        Balance {
            available: 85,
            pending_in: 0,
            confirmed: 85
        },
        "credited once"
    );
    let report = server::reconcile::reconcile(&w.db, &w.chain).await.unwrap();
    assert!(report.differences.is_empty(), "{report}");
    w.stop().await;
}

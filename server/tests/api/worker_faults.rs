//! The worker under faults: killed with SIGKILL at random points, and the chain node gone
//! for a while. Either way every operation confirms exactly once and the chain holds what
//! the ledger says.

use std::{
    collections::HashMap,
    path::Path,
    process::Stdio,
    time::{Duration, Instant},
};

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
use mvs::{
    devnet::{DevnetConfig, DevnetHandle},
    symbol::{AvatarName, Symbol},
};
use rand::{rngs::StdRng, Rng, SeedableRng};
use server::worker::FeeWallet;

use crate::helpers::fresh_database_url;

const SYMBOL: &str = "CRASH.POINTS";
const SUPPLY: u64 = 10_000_000;

/// A database with a store and a registered (not yet issued) point system, a funded fee
/// wallet, and a development chain.
struct World {
    dir: tempfile::TempDir,
    database_url: String,
    db: Database,
    vault: KeyVault,
    store_id: i64,
    devnet: Option<DevnetHandle>,
    devnet_addr: std::net::SocketAddr,
}

async fn world(persist_chain: bool) -> World {
    let dir = tempfile::tempdir().unwrap();
    let database_url = fresh_database_url(dir.path()).await;
    let db = Database::connect(&database_url, 8).await.unwrap();
    db.migrate().await.unwrap();
    let vault = KeyVault::new(
        MasterKey::load_or_create(&dir.path().join("master.key")).unwrap(),
        mvs::Network::Testnet,
    );
    let fee_wallet = FeeWallet::ensure(&db, &vault).await.unwrap();
    let devnet = start_devnet(
        "127.0.0.1:0".parse().unwrap(),
        &fee_wallet.address,
        persist_chain.then(|| dir.path().join("chain")),
    )
    .await;
    let devnet_addr = devnet.local_addr();

    let operator: i64 = sqlx::query_scalar(
        "INSERT INTO operators (email, password_hash, created_at) VALUES ('owner@example.com', 'x', 0) RETURNING id",
    )
    .fetch_one(db.pool())
    .await
    .unwrap();
    let store = app::domain::stores::create(&db, operator, "Crash Shop", "crash-shop")
        .await
        .unwrap();
    let spec = PointSystemSpec {
        symbol: Symbol::parse(SYMBOL).unwrap(),
        name: "Crash points".into(),
        description: "Points that survive crashes".into(),
        decimals: 0,
        max_supply: Amount::new(SUPPLY).unwrap(),
        secondary_issue: 0,
        issuer_avatar: AvatarName::parse("crash-shop").unwrap(),
    };
    point_systems::register(&db, &vault, store.id, &spec)
        .await
        .unwrap();
    World {
        dir,
        database_url,
        db,
        vault,
        store_id: store.id,
        devnet: Some(devnet),
        devnet_addr,
    }
}

async fn start_devnet(
    listen: std::net::SocketAddr,
    genesis: &str,
    data_path: Option<std::path::PathBuf>,
) -> DevnetHandle {
    mvs::devnet::spawn(DevnetConfig {
        listen,
        block_interval: Duration::from_millis(200),
        genesis_address: Some(genesis.to_owned()),
        genesis_amount_etp: 1_000_000,
        network: mvs::Network::Testnet,
        data_path,
    })
    .await
    .unwrap()
}

impl World {
    fn rpc_url(&self) -> String {
        format!("http://{}/rpc/v3", self.devnet_addr)
    }

    fn chain(&self) -> mvs::rpc::Client {
        mvs::rpc::Client::new(self.rpc_url(), Duration::from_secs(10))
    }

    /// `pointmint worker` as a separate process on this world's database and chain.
    fn spawn_worker(&self) -> tokio::process::Child {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_pointmint"))
            .arg("worker")
            .args(["--data-dir", path(self.dir.path())])
            .args(["--database-url", &self.database_url])
            .args(["--mvs-rpc-url", &self.rpc_url()])
            .args([
                "--mvs-network",
                "testnet",
                "--required-confirmations",
                "2",
                "--batch-window",
                "100ms",
            ])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("the pointmint binary starts")
    }

    async fn point_system(&self) -> PointSystem {
        PointSystem::of_store(&self.db, self.store_id)
            .await
            .unwrap()
            .unwrap()
    }

    async fn customers(&self, n: usize) -> Vec<StoreCustomer> {
        let mut all = Vec::new();
        for i in 0..n {
            let email = Email::parse(&format!("customer{i}@example.com")).unwrap();
            all.push(
                customers::upsert(
                    &self.db,
                    &self.vault,
                    self.store_id,
                    &format!("c{i}"),
                    &email,
                    None,
                )
                .await
                .unwrap(),
            );
        }
        all
    }

    async fn award(&self, ps: &PointSystem, to: &StoreCustomer, amount: u64) {
        let request = NewOperation {
            point_system_id: ps.id,
            kind: OperationKind::Award,
            amount: Amount::new(amount).unwrap(),
            from_key_id: ps.treasury_key_id,
            to: Destination::Custodial {
                key_id: to.key_id,
                address: to.address.clone(),
            },
            actor: "test".into(),
            reason: None,
            idempotency_key: None,
        };
        submit(&self.db, request).await.unwrap();
    }

    async fn count(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sql)
            .fetch_one(self.db.pool())
            .await
            .unwrap()
    }

    /// Every ledger figure against the chain: per customer, the treasury, and one
    /// on-chain output per operation.
    async fn assert_exactly_once(
        &self,
        ps: &PointSystem,
        expected: &HashMap<i64, u64>,
        customers: &[StoreCustomer],
    ) {
        let chain = self.chain();
        for customer in customers {
            let want = expected.get(&customer.key_id).copied().unwrap_or(0);
            let ledger = Balance::fetch(&self.db, customer.key_id, ps.id)
                .await
                .unwrap();
            let on_chain: u64 = chain
                .get_address_asset(&customer.address, Some(SYMBOL))
                .await
                .unwrap()
                .iter()
                .map(|b| b.confirmed)
                .sum();
            assert_eq!(
                (ledger.confirmed, on_chain),
                (want, want),
                "customer {}",
                customer.external_id
            );
        }
        let awarded: u64 = expected.values().sum();
        let treasury: u64 = chain
            .get_address_asset(&ps.treasury_address, Some(SYMBOL))
            .await
            .unwrap()
            .iter()
            .map(|b| b.confirmed)
            .sum();
        assert_eq!(
            treasury,
            SUPPLY - awarded,
            "nothing left the treasury twice"
        );

        // One output on chain for each operation, in the transaction the ledger names.
        let txids: Vec<String> = sqlx::query_scalar("SELECT DISTINCT txid FROM operations")
            .fetch_all(self.db.pool())
            .await
            .unwrap();
        let mut outputs_to_customers = 0;
        for txid in txids {
            let info = chain.get_tx(&txid.parse().unwrap()).await.unwrap();
            assert!(info.height > 0, "{txid} is in a block");
            outputs_to_customers += info
                .outputs
                .iter()
                .filter(|o| {
                    o["address"].as_str() != Some(ps.treasury_address.as_str())
                        && o["attachment"]["type"] == 2
                })
                .count();
        }
        let operations = self.count("SELECT COUNT(*) FROM operations").await;
        assert_eq!(outputs_to_customers as i64, operations);
    }
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

async fn wait_for(what: &str, limit: Duration, mut done: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_worker_killed_at_random_points_settles_every_operation_exactly_once() {
    let world = world(false).await;
    let customers = world.customers(50).await;
    let mut rng = StdRng::seed_from_u64(
        std::env::var("CRASH_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(7),
    );
    let mut expected: HashMap<i64, u64> = HashMap::new();
    let mut submitted = 0;
    let mut kills = 0;
    let mut kills_with_work_in_flight = 0;

    // Operations arrive while workers start and die: 1,000 awards over 20 kills.
    while submitted < 1_000 || kills < 20 {
        let mut worker = world.spawn_worker();
        let ps = world.point_system().await;
        if ps.status == "confirmed" {
            for _ in 0..50.min(1_000 - submitted) {
                let customer = &customers[rng.gen_range(0..customers.len())];
                let amount = rng.gen_range(1..=20);
                world.award(&ps, customer, amount).await;
                *expected.entry(customer.key_id).or_default() += amount;
                submitted += 1;
            }
        }
        tokio::time::sleep(Duration::from_millis(rng.gen_range(20..400))).await;
        if world
            .count("SELECT COUNT(*) FROM operations WHERE state <> 'confirmed'")
            .await
            > 0
        {
            kills_with_work_in_flight += 1;
        }
        worker.start_kill().unwrap(); // SIGKILL: no clean-up of any kind
        worker.wait().await.unwrap();
        kills += 1;
    }

    assert!(
        kills_with_work_in_flight >= 10,
        "only {kills_with_work_in_flight} kills hit unfinished work"
    );

    // One last worker finishes whatever the others left.
    let mut worker = world.spawn_worker();
    wait_for(
        "every operation to confirm",
        Duration::from_secs(120),
        async || {
            world
                .count("SELECT COUNT(*) FROM operations WHERE state <> 'confirmed'")
                .await
                == 0
        },
    )
    .await;
    worker.start_kill().unwrap();
    worker.wait().await.unwrap();

    assert_eq!(
        world
            .count("SELECT COUNT(*) FROM operations WHERE state = 'confirmed'")
            .await,
        1_000
    );
    let ps = world.point_system().await;
    world.assert_exactly_once(&ps, &expected, &customers).await;
    assert_eq!(
        world
            .count("SELECT COUNT(*) FROM chain_txs WHERE state = 'failed'")
            .await,
        0
    );

    // The operator's reconciliation command agrees: every balance matches the chain.
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_pointmint"))
        .args([
            "reconcile",
            "--data-dir",
            path(world.dir.path()),
            "--database-url",
            &world.database_url,
            "--mvs-rpc-url",
            &world.rpc_url(),
        ])
        .output()
        .await
        .unwrap();
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{printed}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        printed.contains("51 balances checked, 0 differ"),
        "{printed}"
    );
    world.devnet.unwrap().shutdown().await;
}

#[tokio::test]
async fn operations_wait_out_a_node_outage_and_then_confirm() {
    let mut world = world(true).await;
    let customers = world.customers(5).await;
    let mut worker = world.spawn_worker();
    wait_for(
        "the point system to confirm",
        Duration::from_secs(60),
        async || world.point_system().await.status == "confirmed",
    )
    .await;
    let ps = world.point_system().await;

    // The node goes away, with its chain saved to disk; operations keep arriving.
    world.devnet.take().unwrap().shutdown().await;
    let mut expected: HashMap<i64, u64> = HashMap::new();
    for (i, customer) in customers.iter().cycle().take(20).enumerate() {
        world.award(&ps, customer, i as u64 + 1).await;
        *expected.entry(customer.key_id).or_default() += i as u64 + 1;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        world
            .count("SELECT COUNT(*) FROM operations WHERE state IN ('failed', 'confirmed')")
            .await,
        0,
        "nothing fails while the node is away"
    );

    // The node returns on the same address with its chain (its pool is gone).
    let fee_wallet = FeeWallet::ensure(&world.db, &world.vault).await.unwrap();
    world.devnet = Some(
        start_devnet(
            world.devnet_addr,
            &fee_wallet.address,
            Some(world.dir.path().join("chain")),
        )
        .await,
    );
    wait_for(
        "every operation to confirm after the outage",
        Duration::from_secs(90),
        async || {
            world
                .count("SELECT COUNT(*) FROM operations WHERE state <> 'confirmed'")
                .await
                == 0
        },
    )
    .await;
    worker.start_kill().unwrap();
    worker.wait().await.unwrap();
    world.assert_exactly_once(&ps, &expected, &customers).await;
    world.devnet.take().unwrap().shutdown().await;
}

#[tokio::test]
async fn several_workers_at_once_share_the_work_and_double_nothing() {
    let world = world(false).await;
    let customers = world.customers(30).await;
    let mut workers: Vec<_> = (0..3).map(|_| world.spawn_worker()).collect();
    wait_for(
        "the point system to confirm",
        Duration::from_secs(60),
        async || world.point_system().await.status == "confirmed",
    )
    .await;
    let ps = world.point_system().await;
    let mut expected: HashMap<i64, u64> = HashMap::new();
    for i in 0..300u64 {
        let customer = &customers[(i as usize * 7) % customers.len()];
        world.award(&ps, customer, i % 9 + 1).await;
        *expected.entry(customer.key_id).or_default() += i % 9 + 1;
    }
    wait_for(
        "every operation to confirm",
        Duration::from_secs(120),
        async || {
            world
                .count("SELECT COUNT(*) FROM operations WHERE state <> 'confirmed'")
                .await
                == 0
        },
    )
    .await;
    for worker in &mut workers {
        worker.start_kill().unwrap();
        worker.wait().await.unwrap();
    }
    world.assert_exactly_once(&ps, &expected, &customers).await;
    assert_eq!(
        world
            .count("SELECT COUNT(*) FROM chain_txs WHERE state = 'failed'")
            .await,
        0,
        "no worker's transaction collided with another's"
    );
    assert_eq!(
        world
            .count("SELECT COUNT(*) FROM chain_txs WHERE purpose = 'issue'")
            .await,
        1,
        "the point system was issued once"
    );
}

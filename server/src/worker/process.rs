//! `pointmint worker`: the chain worker as a process of its own.

use std::time::Duration;

use anyhow::Context;
use app::domain::{custody::KeyVault, db::Database};

use super::{FeeWallet, Worker, WorkerSettings};
use crate::{cli::WorkerArgs, config, shutdown::shutdown_signal};

pub async fn run(args: WorkerArgs) -> anyhow::Result<()> {
    let url = config::database_url(&args.database);
    let db = Database::connect(&url, 8)
        .await
        .context("connecting to the database")?;
    db.migrate().await?;
    // The same master key as the web processes: from the environment or the data directory.
    let master = crate::custody::master_key(&args.database.data_dir)?;
    let vault = KeyVault::new(master, args.mvs_network.into());
    let fee_wallet = FeeWallet::ensure(&db, &vault).await?;
    let chain = mvs::rpc::Client::new(&args.mvs_rpc_url, Duration::from_secs(10));
    let settings = WorkerSettings {
        required_confirmations: args.required_confirmations,
        poll_interval: args.batch_window,
        ..Default::default()
    };
    println!(
        "pointmint worker: database {}, node {}",
        config::mask_url_secret(&url),
        config::mask_url_secret(&args.mvs_rpc_url)
    );
    println!("fee wallet {}", fee_wallet.address);
    let worker = Worker::new(db, vault, chain, fee_wallet, settings).spawn();
    shutdown_signal().await;
    worker.shutdown().await;
    Ok(())
}

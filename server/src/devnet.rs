//! `pointmint devnet`: the MVS development chain as a process of its own.

use crate::{cli::DevnetArgs, shutdown::shutdown_signal};

pub async fn run(args: DevnetArgs) -> anyhow::Result<()> {
    let config = mvs::devnet::DevnetConfig {
        listen: args.listen,
        block_interval: args.block_interval,
        genesis_address: args.genesis_address,
        genesis_amount_etp: args.genesis_amount,
        network: args.network.into(),
        data_path: args.data,
    };
    let devnet = mvs::devnet::spawn(config).await?;
    println!(
        "MVS development chain answering JSON-RPC at {}",
        devnet.rpc_url()
    );
    shutdown_signal().await;
    devnet.shutdown().await;
    Ok(())
}

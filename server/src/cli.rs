//! Command-line interface: `pointmint [serve|migrate|devnet]`.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "pointmint",
    version,
    about = "Loyalty points as MST tokens on the Metaverse chain"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web app and the worker (and the development chain unless --mvs-rpc-url is set). The default.
    Serve(ServeArgs),
    /// Apply database migrations and exit.
    Migrate(DatabaseArgs),
    /// Run the MVS development chain on its own.
    Devnet(DevnetArgs),
    /// Run only the chain worker (any number of these may share one PostgreSQL database).
    Worker(WorkerArgs),
    /// Compare every custodial balance with the chain and report differences.
    Reconcile(ReconcileArgs),
}

#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// Where pointmint keeps its files (SQLite database, outbox, master key, chain data).
    #[arg(long, env = "POINTMINT_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,

    /// `sqlite://PATH` or `postgres://USER:PASSWORD@HOST/DB`. Default: a SQLite file in the data directory.
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,

    /// Address the web server listens on.
    #[arg(long, env = "POINTMINT_ADDR", default_value = "127.0.0.1:3000")]
    pub addr: SocketAddr,

    /// JSON-RPC URL of an MVS node (e.g. http://127.0.0.1:8820/rpc/v3). Default: the embedded development chain.
    #[arg(long, env = "MVS_RPC_URL")]
    pub mvs_rpc_url: Option<String>,

    /// SMTP server for outgoing mail (smtp://, smtps:// or smtp://...?tls=required for STARTTLS). Default: .eml files in DATA_DIR/outbox.
    #[arg(long, env = "SMTP_URL")]
    pub smtp_url: Option<String>,

    /// Scheme, host and port people use to reach this server, for links in mails
    /// (e.g. https://points.example.com). Default: http://ADDR. `https://` also marks the session cookie Secure.
    #[arg(long, env = "POINTMINT_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Sender of outgoing mail, e.g. "Shop points <points@example.com>". Default: pointmint <no-reply@localhost>.
    #[arg(long, env = "POINTMINT_MAIL_FROM")]
    pub mail_from: Option<String>,

    /// Allow webhook endpoints on loopback and private networks (for development and tests).
    #[arg(long, env = "POINTMINT_WEBHOOK_ALLOW_PRIVATE", default_value_t = false)]
    pub webhook_allow_private: bool,

    /// Network of a remote node's addresses (with --mvs-rpc-url; the embedded chain is a testnet).
    #[arg(long, env = "MVS_NETWORK", value_enum, default_value = "mainnet")]
    pub mvs_network: NetworkArg,

    /// Do not run the chain worker in this process (run `pointmint worker` processes instead).
    #[arg(long, env = "POINTMINT_NO_WORKER", default_value_t = false)]
    pub no_worker: bool,

    /// Blocks on top of an operation's transaction before it counts as confirmed.
    #[arg(long, env = "POINTMINT_REQUIRED_CONFIRMATIONS", default_value_t = 3)]
    pub required_confirmations: u64,

    /// How long the worker collects queued operations into one batched transaction (e.g. 500ms).
    #[arg(long, env = "POINTMINT_BATCH_WINDOW", default_value = "500ms", value_parser = parse_duration)]
    pub batch_window: Duration,

    /// Directory holding the compiled browser assets (pkg/ with the wasm, JS and CSS).
    #[arg(long, env = "POINTMINT_SITE_ROOT", default_value = "target/site")]
    pub site_root: PathBuf,

    /// Block interval of the embedded development chain, e.g. 2s, 500ms; 0 mines only on demand.
    #[arg(long, env = "POINTMINT_DEVNET_BLOCK_INTERVAL", default_value = "2s", value_parser = parse_duration)]
    pub devnet_block_interval: Duration,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum NetworkArg {
    Testnet,
    Mainnet,
}

impl From<NetworkArg> for mvs::Network {
    fn from(network: NetworkArg) -> Self {
        match network {
            NetworkArg::Testnet => mvs::Network::Testnet,
            NetworkArg::Mainnet => mvs::Network::Mainnet,
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct ReconcileArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,

    /// JSON-RPC URL of the MVS node, e.g. http://127.0.0.1:8820/rpc/v3.
    #[arg(long, env = "MVS_RPC_URL")]
    pub mvs_rpc_url: String,
}

#[derive(Debug, Clone, Args)]
pub struct WorkerArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,

    /// JSON-RPC URL of the MVS node, e.g. http://127.0.0.1:8820/rpc/v3.
    #[arg(long, env = "MVS_RPC_URL")]
    pub mvs_rpc_url: String,

    /// Network of the node's addresses.
    #[arg(long, env = "MVS_NETWORK", value_enum, default_value = "mainnet")]
    pub mvs_network: NetworkArg,

    /// Blocks on top of an operation's transaction before it counts as confirmed.
    #[arg(long, env = "POINTMINT_REQUIRED_CONFIRMATIONS", default_value_t = 3)]
    pub required_confirmations: u64,

    /// How long the worker collects queued operations into one batched transaction.
    #[arg(long, env = "POINTMINT_BATCH_WINDOW", default_value = "500ms", value_parser = parse_duration)]
    pub batch_window: Duration,
}

#[derive(Debug, Clone, Args)]
pub struct DevnetArgs {
    /// Address the JSON-RPC server listens on.
    #[arg(long, default_value = "127.0.0.1:8820")]
    pub listen: SocketAddr,
    /// Time between blocks, e.g. 2s, 500ms; 0 mines only on `generate`.
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    pub block_interval: Duration,
    /// Address funded in the genesis block.
    #[arg(long)]
    pub genesis_address: Option<String>,
    /// ETP paid to the genesis address.
    #[arg(long, default_value_t = 1_000_000)]
    pub genesis_amount: u64,
    /// Address version used by the chain.
    #[arg(long, value_enum, default_value = "testnet")]
    pub network: NetworkArg,
    /// File the chain is persisted to (kept across restarts). Default: in memory only.
    #[arg(long)]
    pub data: Option<PathBuf>,
}

/// Parses `2s`, `500ms`, `1m` or a bare number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit() && c != '.') {
        Some(split) => text.split_at(split),
        None => (text, "s"),
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration like 2s or 500ms"))?;
    let seconds = match unit {
        "ms" => value / 1000.0,
        "s" => value,
        "m" => value * 60.0,
        _ => return Err(format!("unknown unit `{unit}` in `{text}`: use ms, s or m")),
    };
    Ok(Duration::from_secs_f64(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("2s").unwrap(), Duration::from_secs(2));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("0").unwrap(), Duration::ZERO);
        assert_eq!(parse_duration("1m").unwrap(), Duration::from_secs(60));
        assert!(parse_duration("2 weeks").is_err());
        assert!(parse_duration("fast").is_err());
    }
}

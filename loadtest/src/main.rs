//! pointmint-load: how fast pointmint is, against the limits of the machine.
//!
//! Starts `pointmint serve` on loopback on a fresh SQLite data directory and on a fresh
//! PostgreSQL database, and measures in one run: award API throughput and latency beside a
//! plain-sqlx insert baseline on the same database, settlement from API call to confirmation
//! on the 2 s development chain, dashboard render time, browser download sizes, and the
//! server's memory. Prints a Markdown report and writes it to `--out`. See BENCHMARKS.md.

mod load;
mod report;
mod server;
mod settle;
mod setup;

use std::{path::PathBuf, time::Duration};

use anyhow::Context;
use app::domain::db::Database;
use clap::Parser;

use crate::{
    report::{DatabaseRun, Level, Report},
    server::{RssSampler, Server, ServerConfig},
};

#[derive(Debug, Parser)]
#[command(
    name = "pointmint-load",
    about = "Benchmarks a pointmint server (see BENCHMARKS.md)"
)]
pub struct Args {
    /// The `pointmint` binary to start (a release build).
    #[arg(long, default_value = "target/release/pointmint")]
    server_bin: PathBuf,
    /// Compiled browser assets (from `scripts/build-site.sh --release`).
    #[arg(long, default_value = "target/site")]
    site_root: PathBuf,
    /// Scratch directory for the servers' data.
    #[arg(long, default_value = "target/bench")]
    work_dir: PathBuf,
    /// Where the Markdown report goes.
    #[arg(long, default_value = "target/bench/figures.md")]
    out: PathBuf,
    /// PostgreSQL server (no database name); the tool creates and drops its own database.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432")]
    postgres: String,
    /// Databases to measure.
    #[arg(long, value_delimiter = ',', default_value = "sqlite,postgres")]
    databases: Vec<String>,
    /// Concurrency levels of the award load (a platform serving many shops sees hundreds
    /// of concurrent API calls at its peaks).
    #[arg(long, value_delimiter = ',', default_value = "1,4,16,64,256")]
    levels: Vec<usize>,
    /// Awards (and baseline inserts) per concurrency level: enough that the worker's
    /// rounds (every 500 ms) fall inside each measurement, not by chance in some.
    #[arg(long, default_value_t = 10000)]
    requests: usize,
    /// Awards fired for the settlement measurement: several seconds of them, so the rate
    /// is not mostly the fixed tail after the last one (a batch window and a block).
    #[arg(long, default_value_t = 12000)]
    settle: usize,
    /// Customers the awards are spread over.
    #[arg(long, default_value_t = 500)]
    customers: usize,
    /// Requests per page for render times.
    #[arg(long, default_value_t = 50)]
    renders: usize,
    /// First loopback port for the servers.
    #[arg(long, default_value_t = 39170)]
    port: u16,
    /// The worker's batch window, as `pointmint serve --batch-window` takes it. A window
    /// longer than a level keeps the worker from signing and settling during it, to see
    /// what the worker's share of the machine costs the award path.
    #[arg(long, default_value = "500ms")]
    batch_window: String,
}

/// The server's pool size (server/src/startup.rs), used for the baseline pool too.
const SERVER_POOL: u32 = 16;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    sqlx::any::install_default_drivers();
    anyhow::ensure!(
        args.server_bin.exists(),
        "{} not found: build it with `cargo build --release -p server`",
        args.server_bin.display()
    );
    let mut report = Report::new(&args);
    report.raw_signatures_per_second = settle::raw_sign_rate(Duration::from_secs(2));
    for (n, name) in args.databases.iter().enumerate() {
        eprintln!("== {name}");
        let run = run_database(&args, name, args.port + n as u16)
            .await
            .with_context(|| format!("measuring on {name}"))?;
        report.runs.push(run);
    }
    report.assets = report::assets(&args.site_root);
    let markdown = report.markdown();
    println!("{markdown}");
    if let Some(dir) = args.out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&args.out, &markdown)?;
    eprintln!("written to {}", args.out.display());
    Ok(())
}

async fn run_database(args: &Args, name: &str, port: u16) -> anyhow::Result<DatabaseRun> {
    let data_dir = server::fresh_dir(&args.work_dir, name)?;
    let (url, pg_name) = match name {
        "sqlite" => (
            format!("sqlite://{}/pointmint.db", data_dir.display()),
            None,
        ),
        "postgres" => {
            let db_name = format!("pointmint_bench_{}", std::process::id());
            admin(
                &args.postgres,
                &format!("DROP DATABASE IF EXISTS {db_name}"),
            )
            .await?;
            admin(&args.postgres, &format!("CREATE DATABASE {db_name}")).await?;
            (format!("{}/{db_name}", args.postgres), Some(db_name))
        }
        other => anyhow::bail!("unknown database {other} (sqlite or postgres)"),
    };
    let result = measure(args, name, &url, &data_dir, port).await;
    if let Some(db_name) = pg_name {
        admin(
            &args.postgres,
            &format!("DROP DATABASE IF EXISTS {db_name} WITH (FORCE)"),
        )
        .await?;
    }
    result
}

async fn admin(server: &str, statement: &str) -> anyhow::Result<()> {
    use sqlx::{Connection, Executor};
    let mut conn = sqlx::AnyConnection::connect(&format!("{server}/postgres")).await?;
    conn.execute(statement).await?;
    conn.close().await?;
    Ok(())
}

async fn measure(
    args: &Args,
    name: &str,
    url: &str,
    data_dir: &std::path::Path,
    port: u16,
) -> anyhow::Result<DatabaseRun> {
    let server = Server::start(ServerConfig {
        binary: &args.server_bin,
        site_root: &args.site_root,
        data_dir,
        database_url: url,
        port,
        batch_window: &args.batch_window,
    })
    .await?;
    let rss = RssSampler::start(server.pid);
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(256)
        .build()?;
    let db = Database::connect(url, 4).await?;
    let fixture = setup::prepare(&db, data_dir, &client, &server.base, args.customers).await?;
    eprintln!(
        "   point system confirmed after {:.1} s",
        fixture.issue_seconds
    );
    let mut run = DatabaseRun::new(name);
    run.rss_idle_kib = server::proc_kib(server.pid, "VmRSS");

    for &concurrency in &args.levels {
        settle::wait_settled(&db).await?;
        rss.phase("baseline");
        let baseline = load::baseline(url, SERVER_POOL, args.requests, concurrency).await?;
        settle::wait_settled(&db).await?;
        rss.phase("awards");
        let awards = load::awards(
            client.clone(),
            server.base.clone(),
            fixture.api_key.clone(),
            fixture.customers.clone(),
            args.requests,
            concurrency,
        )
        .await;
        rss.phase("idle");
        let floor = load::http_floor(
            client.clone(),
            server.base.clone(),
            args.requests,
            concurrency,
        )
        .await;
        eprintln!(
            "   c={concurrency}: awards {:.0}/s, baseline {:.0}/s, empty requests {:.0}/s",
            awards.per_second(),
            baseline.per_second(),
            floor.per_second()
        );
        run.levels.push(Level {
            concurrency,
            awards,
            baseline,
            floor,
        });
    }
    run.rss_awards_kib = rss.median("awards");

    settle::wait_settled(&db).await?;
    rss.phase("settle");
    run.settlement =
        Some(settle::settlement(&db, &client, &server.base, &fixture, args.settle, 64).await?);
    rss.phase("idle");
    run.rss_settle_kib = rss.median("settle");

    let operator = fixture.cookie.as_str();
    let customer = fixture.wallet_cookie.as_str();
    for (label, path, cookie) in [
        ("dashboard (store list)", "/dashboard".to_owned(), operator),
        (
            "customers page",
            format!("/dashboard/stores/{}/customers", fixture.store_id),
            operator,
        ),
        (
            "operations page",
            format!("/dashboard/stores/{}/operations", fixture.store_id),
            operator,
        ),
        (
            "points page",
            format!("/dashboard/stores/{}/points", fixture.store_id),
            operator,
        ),
        ("wallet page (signed in)", "/wallet".to_owned(), customer),
        ("wallet page (signed out)", "/wallet".to_owned(), ""),
        ("public points page", "/points/BENCH.POINTS".to_owned(), ""),
    ] {
        let url = format!("{}{path}", server.base);
        let measured = load::render(&client, &url, cookie, args.renders).await?;
        run.renders.push((label.to_owned(), path, measured));
    }
    run.rss_peak_kib = server::proc_kib(server.pid, "VmHWM");
    db.close().await;
    server.stop().await;
    Ok(run)
}

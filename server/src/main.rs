use clap::Parser;
use server::{
    cli::{Cli, Command, ServeArgs},
    config::{self, Settings},
    startup::Application,
    telemetry,
};

/// The award profile spent about a tenth of the server's CPU in glibc's malloc and free
/// (requests, JSON, sqlx rows and the worker's batches are many small, short-lived
/// allocations across threads); mimalloc's per-thread free lists are cheaper for that.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    telemetry::init();
    let cli = Cli::parse();
    let command = cli.command.unwrap_or_else(|| {
        // `pointmint` alone means `pointmint serve` with flags taken from the environment.
        match Cli::parse_from(["pointmint", "serve"]).command {
            Some(command) => command,
            None => unreachable!("serve was given"),
        }
    });
    match command {
        Command::Serve(args) => serve(args).await,
        Command::Migrate(args) => {
            let url = config::database_url(&args);
            let db = app::domain::db::Database::connect(&url, 1).await?;
            db.migrate().await?;
            println!("migrations applied to {}", config::mask_url_secret(&url));
            Ok(())
        }
        Command::Devnet(args) => server::devnet::run(args).await,
        Command::Worker(args) => server::worker::process::run(args).await,
        Command::Reconcile(args) => server::reconcile::run(args).await,
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let settings = Settings::from_serve_args(args);
    println!(
        "pointmint {} starting with\n{settings}",
        env!("CARGO_PKG_VERSION")
    );
    let application = Application::build(settings).await?;
    println!("listening on http://{}", application.local_addr());
    application.run_until_stopped().await
}

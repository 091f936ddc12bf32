//! Builds the application from settings: database, chain node, router, listener.

use std::{
    future::Future,
    net::SocketAddr,
    sync::{Arc, LazyLock},
    time::Duration,
};

use anyhow::Context;
use app::{
    domain::{context::ServerContext, db::Database},
    shell, App,
};
use axum::{extract::FromRef, routing::get, Router};
use leptos::prelude::*;
use leptos_axum::{generate_route_list, AxumRouteListing, LeptosRoutes};
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;

use crate::{
    accounts,
    config::{ChainSettings, Settings},
    metrics::{self, Metrics},
    routes::health,
    shutdown::shutdown_signal,
    worker::{FeeWallet, Worker, WorkerHandle},
};

/// How long the chain client waits for a node's answer before calling the outcome unknown.
const CHAIN_RPC_TIMEOUT: Duration = Duration::from_secs(10);

/// Shared by every handler (the axum state).
#[derive(Clone)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub db: Database,
    pub chain: mvs::rpc::Client,
    pub metrics: Arc<Metrics>,
    /// Database, mail queue and public URL for server functions (also a Leptos context).
    pub server: ServerContext,
    /// What the REST API needs (vault, webhook secret sealer, chain client, webhook settings).
    pub api: crate::api::ApiState,
    /// The platform's confirmation depth and batch window, which stores without their own follow.
    pub policy: app::domain::store_settings::PlatformPolicy,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

/// A built, bound, not yet running server.
pub struct Application {
    listener: TcpListener,
    router: Router,
    state: AppState,
    devnet: Option<mvs::devnet::DevnetHandle>,
    /// Mail delivery and clean-up tasks, stopped with the server.
    background: Vec<tokio::task::JoinHandle<()>>,
    /// The chain worker, stopped after its round in progress.
    worker: Option<WorkerHandle>,
}

impl Application {
    /// Connects and migrates the database, starts (or reaches) the chain node and binds the
    /// listener. Port 0 in `settings.addr` picks a free port (tests use it).
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&settings.data_dir).with_context(|| {
            format!(
                "cannot create data directory {}",
                settings.data_dir.display()
            )
        })?;

        let db = Database::connect_lazy(&settings.database_url, 16)?;
        prepare_database(&db).await?;

        let master_key = crate::custody::master_key(&settings.data_dir)?;
        let vault = crate::custody::vault(&settings, master_key.clone());
        // The fee wallet must exist before the development chain starts: its genesis
        // block funds it. Without a database there is no wallet and no worker yet.
        let fee_wallet = match db.ping().await {
            Ok(()) => Some(FeeWallet::ensure(&db, &vault).await?),
            Err(_) => None,
        };

        let (chain_url, devnet) = match &settings.chain {
            ChainSettings::Remote { rpc_url, .. } => (rpc_url.clone(), None),
            ChainSettings::Embedded { block_interval } => {
                let genesis = fee_wallet.as_ref().map(|w| w.address.clone());
                let devnet = start_devnet(&settings, *block_interval, genesis).await?;
                (devnet.rpc_url(), Some(devnet))
            }
        };
        let chain = mvs::rpc::Client::new(&chain_url, CHAIN_RPC_TIMEOUT);
        let worker = match (&fee_wallet, settings.worker.enabled) {
            (Some(wallet), true) => Some(
                Worker::new(
                    db.clone(),
                    vault.clone(),
                    chain.clone(),
                    wallet.clone(),
                    settings.worker.settings.clone(),
                )
                .spawn(),
            ),
            _ => None,
        };

        let listener = TcpListener::bind(settings.addr)
            .await
            .with_context(|| format!("cannot listen on {}", settings.addr))?;
        let local_addr = listener.local_addr()?;

        let leptos_options = LeptosOptions::builder()
            .output_name("pointmint")
            .site_root(settings.site_root.display().to_string())
            .site_pkg_dir("pkg")
            .site_addr(local_addr)
            .build();
        let server = ServerContext::new(
            db.clone(),
            accounts::mail_queue(),
            &accounts::public_url(&settings, local_addr),
        );
        let mut background = accounts::spawn_background(
            &server,
            accounts::mail_transport(&settings)?,
            accounts::mail_from(&settings)?,
        );
        let api = crate::api::ApiState {
            db: db.clone(),
            vault,
            sealer: app::domain::webhooks::SecretSealer::new(master_key),
            chain: chain.clone(),
            webhooks: settings.webhooks.clone(),
            server: server.clone(),
            ledger: app::domain::ledger::writer::LedgerWriter::spawn(db.clone()),
            point_systems: Default::default(),
            lookups: Default::default(),
        };
        background.push(crate::webhooks::spawn(
            db.clone(),
            api.sealer.clone(),
            settings.webhooks.clone(),
        ));
        let state = AppState {
            leptos_options,
            db,
            chain,
            metrics: Arc::new(Metrics::new(settings_dialect(&settings))),
            server,
            api,
            policy: app::domain::store_settings::PlatformPolicy {
                required_confirmations: settings.worker.settings.required_confirmations,
                batch_window_ms: settings.worker.settings.poll_interval.as_millis() as u64,
            },
        };
        let router = router(state.clone());
        Ok(Self {
            listener,
            router,
            state,
            devnet,
            background,
            worker,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    pub fn port(&self) -> u16 {
        self.local_addr().port()
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// URL of the chain node this application talks to.
    pub fn chain_rpc_url(&self) -> Option<String> {
        self.devnet.as_ref().map(|d| d.rpc_url())
    }

    /// Serves until `shutdown` completes, then stops the embedded chain.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        // The peer address feeds the per-IP log-in rate limit.
        axum::serve(
            self.listener,
            self.router
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await?;
        for task in &self.background {
            task.abort();
        }
        if let Some(worker) = self.worker {
            worker.shutdown().await;
        }
        if let Some(devnet) = self.devnet {
            devnet.shutdown().await;
        }
        self.state.db.close().await;
        Ok(())
    }

    /// Serves until Ctrl-C or SIGTERM.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        self.run_until(shutdown_signal()).await
    }
}

fn settings_dialect(settings: &Settings) -> &'static str {
    app::domain::db::Dialect::from_url(&settings.database_url).map_or("unknown", |d| d.name())
}

/// Applies migrations now if the database answers; otherwise keeps trying in the
/// background so the server still starts and `/readyz` tells what is wrong.
async fn prepare_database(db: &Database) -> anyhow::Result<()> {
    match db.ping().await {
        Ok(()) => db.migrate().await.context("applying database migrations")?,
        Err(error) => {
            tracing::error!(%error, "database unreachable at start; migrations will run once it answers");
            let db = db.clone();
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    if db.ping().await.is_ok() {
                        match db.migrate().await {
                            Ok(()) => {
                                tracing::info!("database reachable again; migrations applied")
                            }
                            Err(error) => tracing::error!(%error, "applying migrations failed"),
                        }
                        break;
                    }
                }
            });
        }
    }
    Ok(())
}

async fn start_devnet(
    settings: &Settings,
    block_interval: Duration,
    genesis_address: Option<String>,
) -> anyhow::Result<mvs::devnet::DevnetHandle> {
    let config = mvs::devnet::DevnetConfig {
        listen: "127.0.0.1:0".parse().expect("literal address"),
        block_interval,
        genesis_address,
        data_path: Some(settings.data_dir.join("devnet")),
        ..Default::default()
    };
    let devnet = mvs::devnet::spawn(config)
        .await
        .context("starting the embedded development chain")?;
    tracing::info!(rpc_url = %devnet.rpc_url(), "embedded development chain started");
    Ok(devnet)
}

/// The application's page routes, listed once per process.
///
/// Listing them renders the app with resource loading switched off, and `leptos_server` keeps
/// that switch in one process-wide flag: a page served meanwhile by another router in the
/// process, whose `Resource` is first polled while the flag is up, waits forever
/// (leptos-rs/leptos#4773). The test binary runs many apps at once, and each built its own
/// list: now and then a page request never answered. Listed once, before any router exists,
/// the flag is never up while a page renders.
pub fn page_routes() -> Vec<AxumRouteListing> {
    static ROUTES: LazyLock<Vec<AxumRouteListing>> = LazyLock::new(|| generate_route_list(App));
    ROUTES.clone()
}

/// Every route of the application.
pub fn router(state: AppState) -> Router {
    let leptos_options = state.leptos_options.clone();
    let routes = page_routes();
    let context_state = state.clone();
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(metrics::export))
        .route(
            "/dashboard/stores/{id}/operations.csv",
            get(crate::routes::operations_csv::download),
        )
        .merge(crate::api::router(state.api.clone()))
        .leptos_routes_with_context(
            &state,
            routes,
            move || {
                provide_context(context_state.db.clone());
                provide_context(context_state.server.clone());
                // The custodial key vault, for server functions that create keys (point systems).
                provide_context(context_state.api.vault.clone());
                // The chain client, for pages that look at the chain (symbol taken, confirmations).
                provide_context(context_state.chain.clone());
                // Platform defaults, for pages that show a store's confirmations (n/N).
                provide_context(context_state.policy);
                // Sealer and target policy, for the dashboard's webhook endpoints.
                provide_context(app::domain::webhooks::WebhookContext {
                    sealer: context_state.api.sealer.clone(),
                    allow_private: context_state.api.webhooks.allow_private,
                });
            },
            move || shell(leptos_options.clone()),
        )
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(axum::middleware::from_fn_with_state(
            crate::csrf::PublicOrigin(state.server.public_url.clone()),
            crate::csrf::reject_cross_site,
        ))
        .layer(accounts::session_layer(&state.server))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track_http,
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

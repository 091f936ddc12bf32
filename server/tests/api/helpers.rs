//! `spawn_app()`: a real server on a free port with its own database, data directory and
//! development chain.

use std::{path::PathBuf, time::Duration};

use server::{
    config::{ChainSettings, Settings},
    startup::Application,
};
use sqlx::{Connection, Executor};
use tokio::sync::oneshot;

/// How long a test waits for one HTTP answer from the server it started. A request that
/// never answers then fails its test with the request's URL, instead of holding the whole
/// suite until CI's time limit (it happened while every app listed its own page routes:
/// see `server::startup::page_routes`).
pub const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// Which database the tests run against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TestDatabase {
    Sqlite,
    Postgres,
}

impl TestDatabase {
    pub fn from_env() -> Self {
        match std::env::var("POINTMINT_TEST_DATABASE").as_deref() {
            Ok("postgres") => TestDatabase::Postgres,
            Ok("sqlite") | Err(_) => TestDatabase::Sqlite,
            Ok(other) => panic!("POINTMINT_TEST_DATABASE must be sqlite or postgres, not {other}"),
        }
    }
}

fn postgres_admin_url() -> String {
    std::env::var("POINTMINT_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// Creates an empty database for one test and returns its URL.
pub async fn fresh_database_url(data_dir: &std::path::Path) -> String {
    match TestDatabase::from_env() {
        TestDatabase::Sqlite => format!("sqlite://{}", data_dir.join("pointmint.db").display()),
        TestDatabase::Postgres => {
            let admin_url = postgres_admin_url();
            let name = format!("pm_test_{:016x}", rand::random::<u64>());
            let mut admin = sqlx::PgConnection::connect(&admin_url)
                .await
                .unwrap_or_else(|e| {
                    panic!(
                        "PostgreSQL is required for this pass but unreachable at {admin_url}: {e}"
                    )
                });
            admin
                .execute(format!(r#"CREATE DATABASE "{name}""#).as_str())
                .await
                .expect("create test database");
            let (base, _) = admin_url.rsplit_once('/').expect("URL has a database path");
            format!("{base}/{name}")
        }
    }
}

/// A running application and what a test needs to talk to it.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub database_url: String,
    pub data_dir: PathBuf,
    /// JSON-RPC URL of the app's embedded development chain.
    pub chain_url: Option<String>,
    _data_dir_guard: tempfile::TempDir,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request reaches the server")
    }

    /// Stops the server and waits for it (and its chain) to finish.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = tokio::time::timeout(Duration::from_secs(10), server).await;
        }
    }
}

/// Settings for a test server: loopback, port 0, a temporary data directory.
pub fn test_settings(data_dir: PathBuf, database_url: String) -> Settings {
    Settings {
        addr: "127.0.0.1:0".parse().unwrap(),
        data_dir,
        database_url,
        chain: ChainSettings::Embedded {
            block_interval: Duration::from_millis(200),
        },
        smtp_url: None,
        site_root: PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target/site")),
        public_url: None,
        mail_from: None,
        // Test receivers listen on 127.0.0.1; retries run in milliseconds instead of seconds.
        webhooks: server::config::WebhookSettings {
            allow_private: true,
            schedule: app::domain::webhooks::schedule::WebhookSchedule {
                unit: Duration::from_millis(1),
            },
            poll_interval: Duration::from_millis(50),
        },
        // Blocks every 200 ms: two confirmations settle an operation in well under a second.
        worker: server::config::WorkerConfig {
            enabled: true,
            settings: server::worker::WorkerSettings {
                poll_interval: Duration::from_millis(100),
                required_confirmations: 2,
                ..Default::default()
            },
        },
    }
}

pub async fn spawn_app() -> TestApp {
    let guard = tempfile::tempdir().expect("temporary directory");
    let data_dir = guard.path().to_path_buf();
    let database_url = fresh_database_url(&data_dir).await;
    spawn_app_with(test_settings(data_dir, database_url), guard).await
}

pub async fn spawn_app_with(settings: Settings, guard: tempfile::TempDir) -> TestApp {
    server::telemetry::init();
    let database_url = settings.database_url.clone();
    let data_dir = settings.data_dir.clone();
    let application = Application::build(settings)
        .await
        .expect("application builds");
    let address = format!("http://{}", application.local_addr());
    let chain_url = application.chain_rpc_url();
    let (tx, rx) = oneshot::channel::<()>();
    let server = tokio::spawn(application.run_until(async move {
        let _ = rx.await;
    }));
    TestApp {
        address,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(REQUEST_TIMEOUT)
            .build()
            .unwrap(),
        database_url,
        data_dir,
        chain_url,
        _data_dir_guard: guard,
        shutdown: Some(tx),
        server: Some(server),
    }
}

/// Like [`spawn_app`], with settings adjusted first (e.g. `SMTP_URL`).
pub async fn spawn_app_configured(configure: impl FnOnce(&mut Settings)) -> TestApp {
    let guard = tempfile::tempdir().expect("temporary directory");
    let data_dir = guard.path().to_path_buf();
    let database_url = fresh_database_url(&data_dir).await;
    let mut settings = test_settings(data_dir, database_url);
    configure(&mut settings);
    spawn_app_with(settings, guard).await
}

//! The database handle: one body of SQL serving SQLite and PostgreSQL.
//!
//! All queries go through sqlx's `Any` driver with run-time checked SQL written in the
//! common subset of both dialects (`$1` placeholders, integer timestamps). The few places
//! where the dialects differ (locking clauses, upserts) ask [`Database::dialect`].

pub mod bound_sql;

use std::{
    path::{Path, PathBuf},
    str::FromStr,
    sync::Arc,
    time::Duration,
};

use sqlx::{
    any::{AnyConnectOptions, AnyPoolOptions},
    migrate::Migrator,
    AnyPool, ConnectOptions, Executor,
};
use tokio::sync::{Mutex, OwnedMutexGuard};

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("../migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("../migrations/postgres");

/// Which SQL dialect the connected database speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// Reads the dialect from a database URL's scheme.
    pub fn from_url(url: &str) -> Result<Self, DbError> {
        if url.starts_with("sqlite:") {
            Ok(Dialect::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Ok(Dialect::Postgres)
        } else {
            Err(DbError::UnsupportedUrl)
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Dialect::Sqlite => "sqlite",
            Dialect::Postgres => "postgres",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("DATABASE_URL must start with sqlite: or postgres:")]
    UnsupportedUrl,
    #[error("cannot create the database directory {path}: {source}")]
    CreateDir {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot connect to the database: {0}")]
    Connect(#[source] sqlx::Error),
    #[error("cannot apply migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// A pooled connection to the platform's database.
#[derive(Clone, Debug)]
pub struct Database {
    pool: AnyPool,
    dialect: Dialect,
    /// SQLite's one writer at a time, queued in the process (see [`Database::write_turn`]).
    write_turns: Arc<Mutex<()>>,
    /// The SQLite database's file (`None`: PostgreSQL, or SQLite in memory).
    sqlite_file: Option<Arc<Path>>,
}

/// A transaction from [`Database::begin_write`]: use it as the connection (`&mut *tx`),
/// end it with [`WriteTx::commit`] or [`WriteTx::rollback`]; dropped, it rolls back.
#[derive(Debug)]
pub struct WriteTx {
    tx: sqlx::Transaction<'static, sqlx::Any>,
    // After `tx`: fields drop in order, so the turn passes on once the transaction ended.
    _turn: Option<OwnedMutexGuard<()>>,
}

impl WriteTx {
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await
    }

    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        self.tx.rollback().await
    }
}

impl std::ops::Deref for WriteTx {
    type Target = sqlx::AnyConnection;

    fn deref(&self) -> &Self::Target {
        &self.tx
    }
}

impl std::ops::DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.tx
    }
}

impl Database {
    /// Connects (creating a SQLite file and its directory when missing).
    ///
    /// The pool connects lazily, so a server can start and report "not ready" while
    /// the database is unreachable instead of refusing to start.
    #[tracing::instrument(skip_all, fields(dialect))]
    pub fn connect_lazy(url: &str, max_connections: u32) -> Result<Self, DbError> {
        sqlx::any::install_default_drivers();
        let dialect = Dialect::from_url(url)?;
        tracing::Span::current().record("dialect", dialect.name());
        if dialect == Dialect::Sqlite {
            ensure_sqlite_dir(url)?;
        }
        let options = AnyConnectOptions::from_str(&with_sqlite_create_mode(url, dialect))
            .map_err(DbError::Connect)?
            .log_statements(log::LevelFilter::Trace)
            .log_slow_statements(log::LevelFilter::Warn, Duration::from_millis(500));
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(5))
            // sqlx pings every connection it hands out by default: one more round trip (or
            // SQLite thread hop) per acquire, the biggest single cost of a short request in
            // the award profile. A connection that died is found by the statement that uses
            // it instead: that request fails, sqlx drops the connection, later ones reconnect.
            .test_before_acquire(false)
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if dialect == Dialect::Sqlite {
                        // WAL lets readers run beside the single writer; NORMAL sync is
                        // durable in WAL mode except for the last commits on power loss.
                        conn.execute(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                             PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;",
                        )
                        .await?;
                    }
                    Ok(())
                })
            })
            .connect_lazy_with(options);
        Ok(Self {
            pool,
            dialect,
            write_turns: Arc::new(Mutex::new(())),
            sqlite_file: match dialect {
                Dialect::Sqlite => sqlite_file(url).map(Arc::from),
                Dialect::Postgres => None,
            },
        })
    }

    /// Connects and waits for the first connection to succeed.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, DbError> {
        let db = Self::connect_lazy(url, max_connections)?;
        db.ping().await.map_err(DbError::Connect)?;
        Ok(db)
    }

    /// Applies the migrations of this database's dialect.
    #[tracing::instrument(skip(self), fields(dialect = self.dialect.name()))]
    pub async fn migrate(&self) -> Result<(), DbError> {
        let migrator = match self.dialect {
            Dialect::Sqlite => &SQLITE_MIGRATIONS,
            Dialect::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator.run(&self.pool).await?;
        Ok(())
    }

    /// A cheap round trip, for readiness checks.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
    }

    /// Begins a transaction that will write.
    ///
    /// On SQLite it takes the write lock up front (`BEGIN IMMEDIATE`): a deferred transaction
    /// that reads first and writes later fails with SQLITE_BUSY, without waiting, when another
    /// writer got in between. It waits for its [`write_turn`](Self::write_turn) first.
    pub async fn begin_write(&self) -> Result<WriteTx, sqlx::Error> {
        let turn = self.write_turn().await;
        let tx = match self.dialect {
            Dialect::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Dialect::Postgres => self.pool.begin().await?,
        };
        Ok(WriteTx { tx, _turn: turn })
    }

    /// On SQLite, the turn of one write transaction of this process; `None` on PostgreSQL,
    /// whose writers lock rows, not the database.
    ///
    /// Why: SQLite lets one writer in at a time, and one that finds the lock taken sleeps in
    /// SQLite's busy handler in growing steps (1, 2, 5 ... 100 ms) instead of being woken
    /// when the lock is free. Under load (the award API, the worker and the webhook fan-out
    /// writing at once) those sleeps were most of the p99 latency and left the CPUs idle.
    /// Writers of this process now wait here in order and are woken at once; the busy
    /// handler remains for other processes (`pointmint migrate`, a second server).
    pub async fn write_turn(&self) -> Option<OwnedMutexGuard<()>> {
        match self.dialect {
            Dialect::Sqlite => Some(self.write_turns.clone().lock_owned().await),
            Dialect::Postgres => None,
        }
    }

    /// Runs `work` in a write transaction: committed when it succeeds, rolled back when
    /// it fails, so a refusal changes nothing.
    pub async fn write<T, E>(
        &self,
        work: impl AsyncFnOnce(&mut sqlx::AnyConnection) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<sqlx::Error>,
    {
        let mut tx = self.begin_write().await?;
        match work(&mut tx).await {
            Ok(value) => {
                tx.commit().await?;
                Ok(value)
            }
            Err(error) => {
                tx.rollback().await?;
                Err(error)
            }
        }
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// The SQLite database's file, for a connection of its own outside the pool.
    pub fn sqlite_file(&self) -> Option<&Path> {
        self.sqlite_file.as_deref()
    }

    pub async fn close(&self) {
        self.pool.close().await
    }
}

/// The file a SQLite URL names; `None` for an in-memory database.
fn sqlite_file(url: &str) -> Option<PathBuf> {
    let rest = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    let (path, options) = rest.split_once('?').unwrap_or((rest, ""));
    let in_memory = path.is_empty()
        || path == ":memory:"
        || options.split('&').any(|option| option == "mode=memory");
    (!in_memory).then(|| PathBuf::from(path))
}

/// Makes sure the directory that will hold a SQLite file exists.
fn ensure_sqlite_dir(url: &str) -> Result<(), DbError> {
    let Some(path) = sqlite_file(url) else {
        return Ok(());
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| DbError::CreateDir {
            path: dir.display().to_string(),
            source,
        })?;
    }
    Ok(())
}

/// SQLite refuses to create a missing file unless asked to (`mode=rwc`).
fn with_sqlite_create_mode(url: &str, dialect: Dialect) -> String {
    if dialect != Dialect::Sqlite || url.contains("mode=") {
        return url.to_owned();
    }
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}mode=rwc")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dialect_follows_the_scheme() {
        assert_eq!(
            Dialect::from_url("sqlite://data/x.db").unwrap(),
            Dialect::Sqlite
        );
        assert_eq!(
            Dialect::from_url("postgres://u@h/db").unwrap(),
            Dialect::Postgres
        );
        assert_eq!(
            Dialect::from_url("postgresql://u@h/db").unwrap(),
            Dialect::Postgres
        );
        assert!(matches!(
            Dialect::from_url("mysql://u@h/db"),
            Err(DbError::UnsupportedUrl)
        ));
    }

    #[test]
    fn sqlite_urls_name_their_file_unless_in_memory() {
        assert_eq!(
            sqlite_file("sqlite://data/x.db?mode=rwc"),
            Some(PathBuf::from("data/x.db"))
        );
        assert_eq!(sqlite_file("sqlite:x.db"), Some(PathBuf::from("x.db")));
        assert_eq!(sqlite_file("sqlite::memory:"), None);
        assert_eq!(sqlite_file("sqlite://x.db?mode=memory"), None);
    }

    #[test]
    fn sqlite_urls_get_create_mode_once() {
        assert_eq!(
            with_sqlite_create_mode("sqlite://a.db", Dialect::Sqlite),
            "sqlite://a.db?mode=rwc"
        );
        assert_eq!(
            with_sqlite_create_mode("sqlite://a.db?x=1", Dialect::Sqlite),
            "sqlite://a.db?x=1&mode=rwc"
        );
        assert_eq!(
            with_sqlite_create_mode("sqlite://a.db?mode=ro", Dialect::Sqlite),
            "sqlite://a.db?mode=ro"
        );
        assert_eq!(
            with_sqlite_create_mode("postgres://h/db", Dialect::Postgres),
            "postgres://h/db"
        );
    }
}

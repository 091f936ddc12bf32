//! The connection the ledger writer keeps between batches, and on SQLite the checkpoints
//! of the write-ahead log its commits fill.
//!
//! Why keep one: SQLite drops a connection's whole page cache whenever another connection
//! wrote, and the pool hands its connections out in turn, so every bulk write on a pooled
//! connection read its pages (balances, every operations index) again. A connection used
//! for nothing but ledger writes finds them in its cache, and no batch waits for the pool.
//!
//! Why checkpoint here: by default the commit that takes SQLite's log past 1,000 pages
//! copies the log into the database file itself, before its caller hears back; an award
//! writes about a dozen pages, so one award in eighty waited milliseconds for that copy
//! (the p99 at low concurrency). The writer's connection leaves that to a passive
//! checkpoint on another connection, which runs beside the writes without blocking them.

use std::{
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use sqlx::{pool::PoolConnection, Any, AnyConnection};

use crate::domain::db::{Database, Dialect};

/// How often the writer's log is checkpointed while it writes.
const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(100);
/// SQLite's own threshold (pages), restored before the connection goes back to the pool.
const SQLITE_DEFAULT_AUTOCHECKPOINT: u32 = 1000;

#[derive(Default)]
pub(super) struct WriterConnection {
    conn: Option<PoolConnection<Any>>,
    last_checkpoint: Option<Instant>,
    checkpoint_running: Arc<AtomicBool>,
}

impl WriterConnection {
    /// The kept connection, or a new one from the pool.
    pub(super) async fn get(&mut self, db: &Database) -> Result<&mut AnyConnection, sqlx::Error> {
        if self.conn.is_none() {
            let mut conn = db.pool().acquire().await?;
            if db.dialect() == Dialect::Sqlite {
                sqlx::query("PRAGMA wal_autocheckpoint = 0")
                    .execute(&mut *conn)
                    .await?;
            }
            self.conn = Some(conn);
        }
        Ok(self.conn.as_deref_mut().expect("just set"))
    }

    pub(super) fn is_kept(&self) -> bool {
        self.conn.is_some()
    }

    /// Gives the connection back to the pool (the writer is idle), as the pool made it.
    pub(super) async fn release(&mut self, db: &Database) {
        let Some(mut conn) = self.conn.take() else {
            return;
        };
        if db.dialect() == Dialect::Sqlite {
            let restored = sqlx::query(&format!(
                "PRAGMA wal_autocheckpoint = {SQLITE_DEFAULT_AUTOCHECKPOINT}"
            ))
            .execute(&mut *conn)
            .await;
            if restored.is_err() {
                let _ = conn.close().await;
            }
        }
    }

    /// A connection whose transaction state is unknown is closed, never reused.
    pub(super) async fn discard(&mut self) {
        if let Some(conn) = self.conn.take() {
            let _ = conn.close().await;
        }
    }

    /// After a batch: on SQLite, starts a passive checkpoint on another connection when
    /// none ran for [`CHECKPOINT_INTERVAL`] and none is running.
    pub(super) fn after_batch(&mut self, db: &Database) {
        if db.dialect() != Dialect::Sqlite
            || self
                .last_checkpoint
                .is_some_and(|at| at.elapsed() < CHECKPOINT_INTERVAL)
            || self.checkpoint_running.swap(true, Ordering::AcqRel)
        {
            return;
        }
        self.last_checkpoint = Some(Instant::now());
        let (db, running) = (db.clone(), self.checkpoint_running.clone());
        tokio::spawn(async move {
            if let Err(error) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                .execute(db.pool())
                .await
            {
                tracing::warn!(%error, "checkpointing the ledger writer's log failed");
            }
            running.store(false, Ordering::Release);
        });
    }
}

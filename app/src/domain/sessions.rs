//! Sessions in the platform database (a `tower_sessions::SessionStore`), so several server
//! processes share them and logging out anywhere ends the session everywhere.
//!
//! The primary key is the SHA-256 of the session id: the table alone lets nobody take over
//! a session. The signed-in operator is copied into its own column so that a password
//! change can end that operator's other sessions.

use async_trait::async_trait;
use sha2::{Digest, Sha256};
use sqlx::Row;
use tower_sessions::{
    cookie::time::OffsetDateTime,
    session::{Id, Record},
    session_store::{self, SessionStore},
};

use crate::domain::{clock, db::Database};

/// The session key holding the signed-in operator's id.
pub const OPERATOR_ID_KEY: &str = "operator_id";

#[derive(Clone, Debug)]
pub struct DbSessionStore {
    db: Database,
}

impl DbSessionStore {
    pub fn new(db: Database) -> Self {
        Self { db }
    }

    /// Deletes expired sessions; the server calls it periodically.
    #[tracing::instrument(skip(self))]
    pub async fn delete_expired(&self) -> Result<u64, sqlx::Error> {
        let done = sqlx::query("DELETE FROM sessions WHERE expiry_date <= $1")
            .bind(clock::now())
            .execute(self.db.pool())
            .await?;
        Ok(done.rows_affected())
    }
}

/// The stored key of a session id.
pub fn storage_key(id: &Id) -> String {
    hex::encode(Sha256::digest(id.to_string().as_bytes()))
}

fn backend(error: impl std::fmt::Display) -> session_store::Error {
    session_store::Error::Backend(error.to_string())
}

fn encode(record: &Record) -> session_store::Result<(Vec<u8>, Option<i64>)> {
    let data = serde_json::to_vec(&record.data)
        .map_err(|e| session_store::Error::Encode(e.to_string()))?;
    let operator_id = record.data.get(OPERATOR_ID_KEY).and_then(|v| v.as_i64());
    Ok((data, operator_id))
}

#[async_trait]
impl SessionStore for DbSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        let (data, operator_id) = encode(record)?;
        // A fresh random 128-bit id practically never collides, but if it does, draw again
        // rather than overwrite someone else's session.
        loop {
            let inserted = sqlx::query(
                "INSERT INTO sessions (id, data, expiry_date, operator_id) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING",
            )
            .bind(storage_key(&record.id))
            .bind(data.clone())
            .bind(record.expiry_date.unix_timestamp())
            .bind(operator_id)
            .execute(self.db.pool())
            .await
            .map_err(backend)?;
            if inserted.rows_affected() == 1 {
                return Ok(());
            }
            record.id = Id::default();
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let (data, operator_id) = encode(record)?;
        sqlx::query(
            "INSERT INTO sessions (id, data, expiry_date, operator_id) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (id) DO UPDATE SET data = excluded.data, expiry_date = excluded.expiry_date, operator_id = excluded.operator_id",
        )
        .bind(storage_key(&record.id))
        .bind(data)
        .bind(record.expiry_date.unix_timestamp())
        .bind(operator_id)
        .execute(self.db.pool())
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let row = sqlx::query(
            "SELECT data, expiry_date FROM sessions WHERE id = $1 AND expiry_date > $2",
        )
        .bind(storage_key(id))
        .bind(clock::now())
        .fetch_optional(self.db.pool())
        .await
        .map_err(backend)?;
        let Some(row) = row else { return Ok(None) };
        let data: Vec<u8> = row.try_get("data").map_err(backend)?;
        let expiry: i64 = row.try_get("expiry_date").map_err(backend)?;
        Ok(Some(Record {
            id: *id,
            data: serde_json::from_slice(&data)
                .map_err(|e| session_store::Error::Decode(e.to_string()))?,
            expiry_date: OffsetDateTime::from_unix_timestamp(expiry)
                .map_err(|e| session_store::Error::Decode(e.to_string()))?,
        }))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        sqlx::query("DELETE FROM sessions WHERE id = $1")
            .bind(storage_key(id))
            .execute(self.db.pool())
            .await
            .map_err(backend)?;
        Ok(())
    }
}

/// Ends every session of an operator except `keep` (the one changing the password).
#[tracing::instrument(skip(conn, keep))]
pub async fn end_operator_sessions(
    conn: &mut sqlx::AnyConnection,
    operator_id: i64,
    keep: Option<&Id>,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM sessions WHERE operator_id = $1 AND id <> $2")
        .bind(operator_id)
        .bind(keep.map(storage_key).unwrap_or_default())
        .execute(conn)
        .await?;
    Ok(())
}

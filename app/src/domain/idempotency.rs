//! Idempotency-Key records of REST API writes: the same key with the same request gets the
//! same answer (status and body) for 24 hours; with another request, a refusal.
//!
//! Ledger writes also pass the key to the ledger (`operations.idempotency_key`), so two
//! concurrent first attempts still create one operation; this table makes the *answer*
//! replayable for every kind of write.

use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::domain::{clock, db::Database};

/// How long an answer is replayed.
pub const RETENTION_SECS: i64 = 24 * 3600;

/// An `Idempotency-Key` header value: 1 to 255 visible ASCII characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(text: &str) -> Option<Self> {
        let ok =
            !text.is_empty() && text.len() <= 255 && text.bytes().all(|b| b.is_ascii_graphic());
        ok.then(|| Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What a write is, for comparing a retry with the original: method, path and body.
pub fn request_hash(method: &str, path: &str, body: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(method.as_bytes());
    hasher.update([0]);
    hasher.update(path.as_bytes());
    hasher.update([0]);
    hasher.update(body);
    hex::encode(hasher.finalize())
}

/// A stored answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredResponse {
    pub status: u16,
    pub body: String,
}

/// What to do with a write that carries a key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// First time (or expired): do the work, then [`remember`] the answer.
    New,
    /// Seen with the same request: answer this again.
    Replay(StoredResponse),
    /// Seen with a different request.
    Conflict,
}

/// Looks the key up for a store.
pub async fn lookup(
    db: &Database,
    store_id: i64,
    key: &IdempotencyKey,
    hash: &str,
) -> Result<Lookup, sqlx::Error> {
    let row = sqlx::query(
        "SELECT request_hash, status_code, response_body FROM idempotency_records \
         WHERE store_id = $1 AND idem_key = $2 AND created_at > $3",
    )
    .bind(store_id)
    .bind(&key.0)
    .bind(clock::now() - RETENTION_SECS)
    .fetch_optional(db.pool())
    .await?;
    let Some(row) = row else {
        return Ok(Lookup::New);
    };
    let stored_hash: String = row.try_get(0)?;
    if stored_hash != hash {
        return Ok(Lookup::Conflict);
    }
    Ok(Lookup::Replay(StoredResponse {
        status: row.try_get::<i64, _>(1)? as u16,
        body: row.try_get(2)?,
    }))
}

/// Stores the answer of a first attempt. If a concurrent attempt stored one first, that
/// one wins and is returned, so both callers answer alike.
pub async fn remember(
    db: &Database,
    store_id: i64,
    key: &IdempotencyKey,
    hash: &str,
    response: &StoredResponse,
) -> Result<Lookup, sqlx::Error> {
    let now = clock::now();
    let mut tx = db.begin_write().await?;
    // An expired record under the same key makes room for the new one.
    sqlx::query("DELETE FROM idempotency_records WHERE store_id = $1 AND idem_key = $2 AND created_at <= $3")
        .bind(store_id)
        .bind(&key.0)
        .bind(now - RETENTION_SECS)
        .execute(&mut *tx)
        .await?;
    let inserted = sqlx::query(
        "INSERT INTO idempotency_records (store_id, idem_key, request_hash, status_code, response_body, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (store_id, idem_key) DO NOTHING",
    )
    .bind(store_id)
    .bind(&key.0)
    .bind(hash)
    .bind(i64::from(response.status))
    .bind(&response.body)
    .bind(now)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    tx.commit().await?;
    if inserted == 1 {
        return Ok(Lookup::New);
    }
    lookup(db, store_id, key, hash).await
}

/// Deletes records past their replay window.
pub async fn delete_expired(db: &Database) -> Result<u64, sqlx::Error> {
    Ok(
        sqlx::query("DELETE FROM idempotency_records WHERE created_at <= $1")
            .bind(clock::now() - RETENTION_SECS)
            .execute(db.pool())
            .await?
            .rows_affected(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_visible_ascii_of_bounded_length() {
        assert!(IdempotencyKey::parse("order-1001-paid").is_some());
        assert!(IdempotencyKey::parse("").is_none());
        assert!(IdempotencyKey::parse("has space").is_none());
        assert!(IdempotencyKey::parse(&"k".repeat(256)).is_none());
    }

    #[test]
    fn the_hash_separates_method_path_and_body() {
        assert_ne!(
            request_hash("POST", "/a", b"{}"),
            request_hash("POST", "/a", b"{ }")
        );
        assert_ne!(
            request_hash("POST", "/a", b"{}"),
            request_hash("PUT", "/a", b"{}")
        );
        assert_eq!(
            request_hash("POST", "/a", b"{}"),
            request_hash("POST", "/a", b"{}")
        );
    }
}

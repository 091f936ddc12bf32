//! Store API keys for the REST API: created (shown once), listed, revoked, authenticated.
//!
//! A key is `pm_live_` + 32 random base62 characters. Only its SHA-256 is stored, so the
//! table opens nothing; `prefix` (the first characters) tells keys apart in lists.

use std::fmt;

use rand::{distributions::Alphanumeric, Rng};
use sha2::{Digest, Sha256};
use sqlx::{any::AnyRow, Row};

use crate::domain::{
    clock,
    db::Database,
    ledger::customers::{self, StoreCustomer},
};

const KEY_PREFIX: &str = "pm_live_";
const RANDOM_LEN: usize = 32;
/// Characters of the key kept for display: `pm_live_` plus four random ones.
const DISPLAY_LEN: usize = KEY_PREFIX.len() + 4;
/// `last_used_at` is written at most this often per key, so authentication stays a read.
const LAST_USED_GRANULARITY_SECS: i64 = 60;

/// What a key may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    PointsRead,
    PointsWrite,
    WebhooksManage,
}

impl Scope {
    pub const ALL: [Scope; 3] = [Scope::PointsRead, Scope::PointsWrite, Scope::WebhooksManage];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::PointsRead => "points:read",
            Scope::PointsWrite => "points:write",
            Scope::WebhooksManage => "webhooks:manage",
        }
    }

    pub fn parse(text: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|s| s.as_str() == text.trim())
    }
}

/// A non-empty set of scopes, stored space-separated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scopes(Vec<Scope>);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiKeyError {
    #[error("unknown scope {0:?}; use points:read, points:write or webhooks:manage")]
    UnknownScope(String),
    #[error("choose at least one scope")]
    NoScopes,
    #[error("give the key a name (1 to 80 characters)")]
    InvalidName,
    #[error("API key not found")]
    NotFound,
    #[error("database error")]
    Database(String),
}

impl From<sqlx::Error> for ApiKeyError {
    fn from(error: sqlx::Error) -> Self {
        tracing::error!(%error, "API key query failed");
        ApiKeyError::Database(error.to_string())
    }
}

impl Scopes {
    pub fn new(scopes: impl IntoIterator<Item = Scope>) -> Result<Self, ApiKeyError> {
        let mut list: Vec<Scope> = scopes.into_iter().collect();
        list.sort();
        list.dedup();
        if list.is_empty() {
            return Err(ApiKeyError::NoScopes);
        }
        Ok(Self(list))
    }

    /// Parses `points:read points:write` (spaces or commas).
    pub fn parse(text: &str) -> Result<Self, ApiKeyError> {
        let scopes = text
            .split([' ', ','])
            .filter(|s| !s.is_empty())
            .map(|s| Scope::parse(s).ok_or_else(|| ApiKeyError::UnknownScope(s.to_owned())))
            .collect::<Result<Vec<_>, _>>()?;
        Self::new(scopes)
    }

    pub fn contains(&self, scope: Scope) -> bool {
        self.0.contains(&scope)
    }

    pub fn iter(&self) -> impl Iterator<Item = Scope> + '_ {
        self.0.iter().copied()
    }
}

impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.0.iter().map(|s| s.as_str()).collect();
        f.write_str(&names.join(" "))
    }
}

/// A key's name as the operator typed it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyName(String);

impl KeyName {
    pub fn parse(text: &str) -> Result<Self, ApiKeyError> {
        let text = text.trim();
        if text.is_empty() || text.chars().count() > 80 {
            return Err(ApiKeyError::InvalidName);
        }
        Ok(Self(text.to_owned()))
    }
}

/// The secret key, only ever in memory. `Debug` hides it so it cannot reach a log by accident.
pub struct PlainKey(String);

impl PlainKey {
    fn generate() -> Self {
        let random: String = rand::rngs::OsRng
            .sample_iter(&Alphanumeric)
            .take(RANDOM_LEN)
            .map(char::from)
            .collect();
        Self(format!("{KEY_PREFIX}{random}"))
    }

    /// Shown to the operator exactly once, right after creation.
    pub fn reveal(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PlainKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PlainKey(redacted)")
    }
}

fn hash(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// A key as listed (never the secret).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiKeyInfo {
    pub id: i64,
    pub store_id: i64,
    pub name: String,
    pub prefix: String,
    pub scopes: Scopes,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

const COLUMNS: &str = "id, store_id, name, prefix, scopes, created_at, last_used_at, revoked_at";

impl ApiKeyInfo {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        let scopes: String = row.try_get("scopes")?;
        Ok(Self {
            id: row.try_get("id")?,
            store_id: row.try_get("store_id")?,
            name: row.try_get("name")?,
            prefix: row.try_get("prefix")?,
            scopes: Scopes::parse(&scopes).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
            created_at: row.try_get("created_at")?,
            last_used_at: row.try_get("last_used_at")?,
            revoked_at: row.try_get("revoked_at")?,
        })
    }
}

/// Creates a key for a store; the plain key is returned once and never stored.
#[tracing::instrument(skip(db, name, scopes))]
pub async fn create(
    db: &Database,
    store_id: i64,
    name: &KeyName,
    scopes: &Scopes,
    created_by: Option<i64>,
) -> Result<(ApiKeyInfo, PlainKey), ApiKeyError> {
    let key = PlainKey::generate();
    let row = sqlx::query(&format!(
        "INSERT INTO api_keys (store_id, name, prefix, key_hash, scopes, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {COLUMNS}"
    ))
    .bind(store_id)
    .bind(&name.0)
    .bind(&key.0[..DISPLAY_LEN])
    .bind(hash(&key.0))
    .bind(scopes.to_string())
    .bind(created_by)
    .bind(clock::now())
    .fetch_one(db.pool())
    .await?;
    Ok((ApiKeyInfo::from_row(&row)?, key))
}

/// Every key of a store, newest first, revoked ones included (marked).
pub async fn list(db: &Database, store_id: i64) -> Result<Vec<ApiKeyInfo>, ApiKeyError> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM api_keys WHERE store_id = $1 ORDER BY id DESC"
    ))
    .bind(store_id)
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .iter()
        .map(ApiKeyInfo::from_row)
        .collect::<Result<_, _>>()?)
}

/// Revokes a key of the store; another store's key is not found. Revoking twice is fine.
#[tracing::instrument(skip(db))]
pub async fn revoke(db: &Database, store_id: i64, key_id: i64) -> Result<(), ApiKeyError> {
    let found = sqlx::query(
        "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2 AND store_id = $3",
    )
    .bind(clock::now())
    .bind(key_id)
    .bind(store_id)
    .execute(db.pool())
    .await?
    .rows_affected();
    if found == 0 {
        return Err(ApiKeyError::NotFound);
    }
    Ok(())
}

/// The store and scopes a presented key grants, or `None` for an unknown or revoked key.
#[tracing::instrument(skip_all)]
pub async fn authenticate(
    db: &Database,
    presented: &str,
) -> Result<Option<ApiKeyInfo>, ApiKeyError> {
    if !well_formed(presented) {
        return Ok(None);
    }
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL"
    ))
    .bind(hash(presented))
    .fetch_optional(db.pool())
    .await?;
    let Some(info) = row.as_ref().map(ApiKeyInfo::from_row).transpose()? else {
        return Ok(None);
    };
    record_use(db, &info).await;
    Ok(Some(info))
}

/// [`authenticate`], and in the same query the customer the key's store knows as
/// `external_id` (`None` inside when it has none): the API's write endpoints need both,
/// and one query is one round trip (one SQLite thread hop) less per award.
#[tracing::instrument(skip_all)]
pub async fn authenticate_with_customer(
    db: &Database,
    presented: &str,
    external_id: &str,
) -> Result<Option<(ApiKeyInfo, Option<StoreCustomer>)>, ApiKeyError> {
    if !well_formed(presented) {
        return Ok(None);
    }
    let row = sqlx::query(&format!(
        "SELECT {}, {} FROM api_keys k \
         LEFT JOIN store_customers sc ON sc.store_id = k.store_id AND sc.external_id = $2 \
         LEFT JOIN customers c ON c.id = sc.customer_id \
         LEFT JOIN custody_keys ck ON ck.id = c.key_id \
         WHERE k.key_hash = $1 AND k.revoked_at IS NULL",
        qualified_columns("k"),
        customers::JOINED_COLUMNS
    ))
    .bind(hash(presented))
    .bind(external_id)
    .fetch_optional(db.pool())
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let info = ApiKeyInfo::from_row(&row)?;
    let customer = customers::from_joined_row(&row)?;
    record_use(db, &info).await;
    Ok(Some((info, customer)))
}

/// What a presented key is known by (its SHA-256, as stored), or `None` when it cannot be
/// a key at all. Caches of keys hold this, never the key.
pub fn key_hash(presented: &str) -> Option<String> {
    well_formed(presented).then(|| hash(presented))
}

fn well_formed(presented: &str) -> bool {
    presented.starts_with(KEY_PREFIX) && presented.len() == KEY_PREFIX.len() + RANDOM_LEN
}

/// [`COLUMNS`] of the table aliased `alias`.
fn qualified_columns(alias: &str) -> String {
    COLUMNS
        .split(", ")
        .map(|column| format!("{alias}.{column}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Whether a key last noted as used at `last_used_at` is due to be noted again at `now`
/// (at most once a minute per key).
pub fn use_due(last_used_at: Option<i64>, now: i64) -> bool {
    last_used_at.is_none_or(|t| now - t >= LAST_USED_GRANULARITY_SECS)
}

/// Notes when a key was last used, at most once a minute per key (`info.last_used_at`
/// says when it was last noted).
pub async fn record_use(db: &Database, info: &ApiKeyInfo) {
    let now = clock::now();
    if !use_due(info.last_used_at, now) {
        return;
    }
    // Best effort: a failed bookkeeping write must not refuse a valid request.
    if let Err(error) = sqlx::query("UPDATE api_keys SET last_used_at = $1 WHERE id = $2")
        .bind(now)
        .bind(info.id)
        .execute(db.pool())
        .await
    {
        tracing::warn!(%error, key_id = info.id, "recording API key use failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_have_the_documented_shape_and_hide_in_debug() {
        let key = PlainKey::generate();
        assert!(key.reveal().starts_with("pm_live_"));
        assert_eq!(key.reveal().len(), KEY_PREFIX.len() + RANDOM_LEN);
        assert!(key.reveal()[KEY_PREFIX.len()..]
            .chars()
            .all(|c| c.is_ascii_alphanumeric()));
        assert_eq!(format!("{key:?}"), "PlainKey(redacted)");
        assert_ne!(PlainKey::generate().reveal(), key.reveal());
    }

    #[test]
    fn scopes_parse_strictly() {
        let scopes = Scopes::parse("points:write, points:read points:read").unwrap();
        assert_eq!(scopes.to_string(), "points:read points:write");
        assert!(!scopes.contains(Scope::WebhooksManage));
        assert_eq!(Scopes::parse(""), Err(ApiKeyError::NoScopes));
        assert_eq!(
            Scopes::parse("points:admin"),
            Err(ApiKeyError::UnknownScope("points:admin".into()))
        );
    }
}

//! Point systems: one MST per store, issued to the store's treasury address.

use mvs::symbol::{AvatarName, Symbol};
use sqlx::{any::AnyRow, Row};

use super::{balances, Amount, LedgerError};
use crate::domain::{
    clock,
    custody::{KeyPurpose, KeyVault},
    db::Database,
    events::{self, EventType},
};

/// What a store asks for when it registers its points.
#[derive(Clone, Debug)]
pub struct PointSystemSpec {
    pub symbol: Symbol,
    pub name: String,
    pub description: String,
    pub decimals: u8,
    pub max_supply: Amount,
    /// MVS secondary-issue threshold byte: 0 none, 1..=100 percent, 127 free.
    pub secondary_issue: u8,
    pub issuer_avatar: AvatarName,
}

/// A registered point system.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PointSystem {
    pub id: i64,
    pub store_id: i64,
    pub symbol: String,
    pub name: String,
    pub description: String,
    pub decimals: u8,
    pub max_supply: u64,
    pub secondary_issue: u8,
    pub issuer_avatar: String,
    pub treasury_key_id: i64,
    pub treasury_address: String,
    /// pending -> broadcast -> confirmed
    pub status: String,
    pub issue_txid: Option<String>,
}

const SELECT: &str =
    "SELECT p.id, p.store_id, p.symbol, p.name, p.description, p.decimals, p.max_supply, \
     p.secondary_issue, p.issuer_avatar, p.treasury_key_id, k.address, p.status, p.issue_txid \
     FROM point_systems p JOIN custody_keys k ON k.id = p.treasury_key_id";

impl PointSystem {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            id: row.try_get(0)?,
            store_id: row.try_get(1)?,
            symbol: row.try_get(2)?,
            name: row.try_get(3)?,
            description: row.try_get(4)?,
            decimals: row.try_get::<i64, _>(5)? as u8,
            max_supply: row.try_get::<i64, _>(6)? as u64,
            secondary_issue: row.try_get::<i64, _>(7)? as u8,
            issuer_avatar: row.try_get(8)?,
            treasury_key_id: row.try_get(9)?,
            treasury_address: row.try_get(10)?,
            status: row.try_get(11)?,
            issue_txid: row.try_get(12)?,
        })
    }

    /// The point system of a store, if it has one.
    pub async fn of_store(
        db: &Database,
        store_id: i64,
    ) -> Result<Option<PointSystem>, LedgerError> {
        let row = sqlx::query(&format!("{SELECT} WHERE p.store_id = $1"))
            .bind(store_id)
            .fetch_optional(db.pool())
            .await?;
        Ok(row.as_ref().map(PointSystem::from_row).transpose()?)
    }
}

/// Registers a store's point system with a fresh treasury key; the worker issues it on chain.
#[tracing::instrument(skip(db, vault, spec), fields(symbol = spec.symbol.as_str()))]
pub async fn register(
    db: &Database,
    vault: &KeyVault,
    store_id: i64,
    spec: &PointSystemSpec,
) -> Result<PointSystem, LedgerError> {
    let mut tx = db.begin_write().await?;
    let exists: Option<i64> =
        sqlx::query_scalar("SELECT id FROM point_systems WHERE store_id = $1")
            .bind(store_id)
            .fetch_optional(&mut *tx)
            .await?;
    if exists.is_some() {
        return Err(LedgerError::PointSystemExists);
    }
    let taken: Option<i64> = sqlx::query_scalar("SELECT id FROM point_systems WHERE symbol = $1")
        .bind(spec.symbol.as_str())
        .fetch_optional(&mut *tx)
        .await?;
    if taken.is_some() {
        return Err(LedgerError::SymbolTaken(spec.symbol.as_str().to_owned()));
    }
    let treasury = vault.create_key(&mut tx, KeyPurpose::Treasury).await?;
    let id: i64 = sqlx::query(
        "INSERT INTO point_systems (store_id, symbol, name, description, decimals, max_supply, secondary_issue, \
           issuer_avatar, treasury_key_id, status, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending', $10) RETURNING id",
    )
    .bind(store_id)
    .bind(spec.symbol.as_str())
    .bind(&spec.name)
    .bind(&spec.description)
    .bind(i64::from(spec.decimals))
    .bind(spec.max_supply.as_i64())
    .bind(i64::from(spec.secondary_issue))
    .bind(spec.issuer_avatar.as_str())
    .bind(treasury.id)
    .bind(clock::now())
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => LedgerError::SymbolTaken(spec.symbol.as_str().to_owned()),
        _ => LedgerError::Database(e),
    })?
    .get(0);
    let row = sqlx::query(&format!("{SELECT} WHERE p.id = $1"))
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
    let point_system = PointSystem::from_row(&row)?;
    tx.commit().await?;
    Ok(point_system)
}

/// The issue transaction is confirmed: the whole supply sits in the treasury.
#[tracing::instrument(skip(db))]
pub async fn mark_issue_confirmed(
    db: &Database,
    point_system_id: i64,
    txid: &str,
) -> Result<(), LedgerError> {
    db.write(async |tx| mark_issue_confirmed_in(tx, point_system_id, txid).await)
        .await
}

/// [`mark_issue_confirmed`] inside the caller's transaction. The first confirmation
/// credits the issued supply to the treasury; a confirmation after a reorganisation took
/// the issue out of the chain only restores the treasury's confirmed balance (its points
/// stayed spendable: what it sent meanwhile was reorganised with it and confirms again).
pub async fn mark_issue_confirmed_in(
    tx: &mut sqlx::AnyConnection,
    point_system_id: i64,
    txid: &str,
) -> Result<(), LedgerError> {
    let credited_before: Option<i64> =
        sqlx::query_scalar("SELECT issue_credited_at FROM point_systems WHERE id = $1")
            .bind(point_system_id)
            .fetch_optional(&mut *tx)
            .await?
            .flatten();
    let row = sqlx::query(
        "UPDATE point_systems SET status = 'confirmed', issue_txid = $1, \
           issue_credited_at = COALESCE(issue_credited_at, $3) \
         WHERE id = $2 AND status <> 'confirmed' RETURNING treasury_key_id, max_supply, store_id, symbol",
    )
    .bind(txid)
    .bind(point_system_id)
    .bind(clock::now())
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else {
        return Err(LedgerError::InvalidTransition(
            point_system_id,
            "confirmed",
            "confirmed",
        ));
    };
    let (treasury, supply): (i64, i64) = (row.try_get(0)?, row.try_get(1)?);
    let (store_id, symbol): (i64, String) = (row.try_get(2)?, row.try_get(3)?);
    if credited_before.is_some() {
        let issued = issued_by_the_issue(tx, point_system_id, supply).await?;
        balances::add(tx, treasury, point_system_id, 0, 0, issued).await?;
        return Ok(());
    }
    balances::add(tx, treasury, point_system_id, supply, 0, supply).await?;
    let data = serde_json::json!({
        "point_system": { "id": point_system_id, "symbol": symbol, "max_supply": supply, "issue_txid": txid }
    });
    events::emit(tx, store_id, EventType::PointSystemConfirmed, &data).await?;
    Ok(())
}

/// A reorganisation took the issue out of the chain: the point system is broadcast again
/// (no new operations until it confirms again) and the treasury's confirmed balance loses
/// the issued supply; `available` stays, as for any reorganised incoming transfer.
pub async fn unconfirm_issue_in(
    tx: &mut sqlx::AnyConnection,
    point_system_id: i64,
) -> Result<(), LedgerError> {
    let row = sqlx::query(
        "UPDATE point_systems SET status = 'broadcast' WHERE id = $1 AND status = 'confirmed' \
         RETURNING treasury_key_id, max_supply",
    )
    .bind(point_system_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else { return Ok(()) };
    let (treasury, supply): (i64, i64) = (row.try_get(0)?, row.try_get(1)?);
    let issued = issued_by_the_issue(tx, point_system_id, supply).await?;
    let confirmed: i64 = sqlx::query_scalar(
        "SELECT COALESCE(MAX(confirmed), 0) FROM balances WHERE key_id = $1 AND point_system_id = $2",
    )
    .bind(treasury)
    .bind(point_system_id)
    .fetch_one(&mut *tx)
    .await?;
    // Descendants (awards, secondary issues) left the chain with it and were unconfirmed
    // first, so the whole supply is back; the clamp only keeps the CHECK satisfied.
    balances::add(tx, treasury, point_system_id, 0, 0, -issued.min(confirmed)).await?;
    Ok(())
}

/// The supply the original issue created: today's supply minus confirmed secondary issues.
async fn issued_by_the_issue(
    tx: &mut sqlx::AnyConnection,
    point_system_id: i64,
    supply: i64,
) -> Result<i64, sqlx::Error> {
    let more: i64 = sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM operations \
         WHERE point_system_id = $1 AND kind = 'secondary_issue' AND credited_at IS NOT NULL",
    )
    .bind(point_system_id)
    .fetch_one(&mut *tx)
    .await?;
    Ok(supply - more)
}

/// The node refused the issue after it had confirmed once (a reorganisation took it out
/// and its rebroadcast was refused) and the caller failed the point system: the treasury
/// loses the supply the issue credited, as much of it as is still `available` (never
/// more, so no balance goes negative; its confirmed part left with [`unconfirm_issue_in`]).
/// What the treasury had already sent cannot be taken back here: the shortfall is added
/// to the point system's error and logged for an operator. Does nothing for an issue that
/// never confirmed, and runs once (`issue_credited_at` is cleared).
pub async fn take_back_failed_issue_in(
    tx: &mut sqlx::AnyConnection,
    point_system_id: i64,
) -> Result<(), LedgerError> {
    let row = sqlx::query(
        "UPDATE point_systems SET issue_credited_at = NULL \
         WHERE id = $1 AND status = 'failed' AND issue_credited_at IS NOT NULL \
         RETURNING treasury_key_id, max_supply, issue_error",
    )
    .bind(point_system_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else { return Ok(()) };
    let (treasury, supply): (i64, i64) = (row.try_get(0)?, row.try_get(1)?);
    let error: Option<String> = row.try_get(2)?;
    let issued = issued_by_the_issue(tx, point_system_id, supply).await?;
    let available: i64 = sqlx::query_scalar(
        "SELECT COALESCE(MAX(available), 0) FROM balances WHERE key_id = $1 AND point_system_id = $2",
    )
    .bind(treasury)
    .bind(point_system_id)
    .fetch_one(&mut *tx)
    .await?;
    let taken = available.clamp(0, issued.max(0));
    if taken > 0 {
        balances::add(tx, treasury, point_system_id, -taken, 0, 0).await?;
    }
    let spent = issued - taken;
    if spent > 0 {
        tracing::error!(
            point_system_id,
            spent,
            "a failed issue's points had been credited and partly sent: balances exceed the chain"
        );
        let reason = format!(
            "{}; {spent} of the issued points had already been sent from the treasury and could not be taken back",
            error.as_deref().unwrap_or("the issue failed")
        );
        sqlx::query("UPDATE point_systems SET issue_error = $1 WHERE id = $2")
            .bind(reason)
            .bind(point_system_id)
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}

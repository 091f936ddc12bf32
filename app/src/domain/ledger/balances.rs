//! Balances per custodial address and point system, and the only statements that change them.

use sqlx::{AnyConnection, Row};

use super::{Amount, LedgerError};
use crate::domain::db::Database;

/// Points one address holds of one point system.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Balance {
    /// May be spent now: confirmed and pending incoming... minus pending outgoing.
    pub available: u64,
    /// On its way in, not yet confirmed on chain.
    pub pending_in: u64,
    /// What the chain shows for the address at the required confirmations.
    pub confirmed: u64,
}

impl Balance {
    pub async fn fetch(
        db: &Database,
        key_id: i64,
        point_system_id: i64,
    ) -> Result<Balance, sqlx::Error> {
        let row = sqlx::query(
            "SELECT available, pending_in, confirmed FROM balances WHERE key_id = $1 AND point_system_id = $2",
        )
        .bind(key_id)
        .bind(point_system_id)
        .fetch_optional(db.pool())
        .await?;
        Ok(row.map_or_else(Balance::default, |row| Balance {
            available: row.get::<i64, _>(0) as u64,
            pending_in: row.get::<i64, _>(1) as u64,
            confirmed: row.get::<i64, _>(2) as u64,
        }))
    }
}

/// Takes `amount` out of what an address may spend, or refuses without changing anything.
///
/// The check and the subtraction are one statement, so concurrent spenders cannot both
/// pass the check: the database serialises the row update.
pub(crate) async fn debit_available(
    conn: &mut AnyConnection,
    key_id: i64,
    point_system_id: i64,
    amount: Amount,
) -> Result<(), LedgerError> {
    let updated = sqlx::query(
        "UPDATE balances SET available = available - $1 \
         WHERE key_id = $2 AND point_system_id = $3 AND available >= $1",
    )
    .bind(amount.as_i64())
    .bind(key_id)
    .bind(point_system_id)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if updated == 1 {
        return Ok(());
    }
    let available: Option<i64> = sqlx::query_scalar(
        "SELECT available FROM balances WHERE key_id = $1 AND point_system_id = $2",
    )
    .bind(key_id)
    .bind(point_system_id)
    .fetch_optional(&mut *conn)
    .await?;
    Err(LedgerError::InsufficientBalance {
        available: available.unwrap_or(0) as u64,
        requested: amount.units(),
    })
}

/// Adds signed deltas to a balance row.
///
/// Increases may create the row (upsert). A decrease needs the row to exist already: it
/// is a plain UPDATE, because SQLite checks the CHECK constraints of an upsert's proposed
/// row (with the negative delta) before it turns the insert into an update.
pub async fn add(
    conn: &mut AnyConnection,
    key_id: i64,
    point_system_id: i64,
    available: i64,
    pending_in: i64,
    confirmed: i64,
) -> Result<(), sqlx::Error> {
    let sql = if available >= 0 && pending_in >= 0 && confirmed >= 0 {
        // ON CONFLICT ... DO UPDATE reads the same on SQLite and PostgreSQL.
        "INSERT INTO balances (key_id, point_system_id, available, pending_in, confirmed) \
         VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (key_id, point_system_id) DO UPDATE SET \
           available = balances.available + excluded.available, \
           pending_in = balances.pending_in + excluded.pending_in, \
           confirmed = balances.confirmed + excluded.confirmed"
    } else {
        "UPDATE balances SET available = available + $3, pending_in = pending_in + $4, \
           confirmed = confirmed + $5 WHERE key_id = $1 AND point_system_id = $2"
    };
    let updated = sqlx::query(sql)
        .bind(key_id)
        .bind(point_system_id)
        .bind(available)
        .bind(pending_in)
        .bind(confirmed)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    if updated != 1 {
        return Err(sqlx::Error::RowNotFound);
    }
    Ok(())
}

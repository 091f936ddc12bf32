//! Balances per custodial address and point system, and the only statements that change them.

use sqlx::{AnyConnection, Row};

use super::{Amount, LedgerError};
use crate::domain::db::{bound_sql::BoundSql, Database};

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

/// Rows per multi-row statement: five bind parameters a row stays well under the limits
/// (SQLite 32766, PostgreSQL 65535).
const ROWS_PER_STATEMENT: usize = 2000;

/// Signed deltas to many balance rows, summed per row and applied like [`add`] with a
/// constant number of statements (per [`ROWS_PER_STATEMENT`] rows) instead of one per
/// change: settling a chain transaction of hundreds of operations held the write lock for
/// a round trip per balance change.
///
/// Summing is safe where each column of a row moves in one direction across the changes
/// summed (as across the operations of one chain transaction): then the CHECKs (no
/// negative balance) pass on the sum exactly when they pass change by change.
#[derive(Debug, Default)]
pub(crate) struct Deltas(std::collections::BTreeMap<(i64, i64), [i64; 3]>);

impl Deltas {
    pub(crate) fn add(
        &mut self,
        key_id: i64,
        point_system_id: i64,
        available: i64,
        pending_in: i64,
        confirmed: i64,
    ) {
        let row = self.0.entry((key_id, point_system_id)).or_default();
        row[0] += available;
        row[1] += pending_in;
        row[2] += confirmed;
    }

    /// Increases may create their rows (one multi-row upsert); rows with a decrease must
    /// exist (one `UPDATE ... FROM (VALUES ...)`), as in [`add`].
    pub(crate) async fn apply(self, conn: &mut AnyConnection) -> Result<(), sqlx::Error> {
        let (increases, decreases): (Vec<_>, Vec<_>) = self
            .0
            .into_iter()
            .partition(|(_, deltas)| deltas.iter().all(|d| *d >= 0));
        for chunk in decreases.chunks(ROWS_PER_STATEMENT) {
            let mut sql = BoundSql::for_connection(conn);
            // Typed, so PostgreSQL need not guess the VALUES' column types (SQLite reads the
            // same CASTs); VALUES columns are called column1.. in both.
            let values = values_rows(&mut sql, chunk, |p| format!("CAST({p} AS BIGINT)"));
            sql.push(&format!(
                "UPDATE balances SET available = balances.available + d.column3, \
                   pending_in = balances.pending_in + d.column4, \
                   confirmed = balances.confirmed + d.column5 \
                 FROM (VALUES {values}) AS d \
                 WHERE balances.key_id = d.column1 AND balances.point_system_id = d.column2"
            ));
            check_all_changed(execute(conn, &mut sql).await?, chunk.len())?;
        }
        for chunk in increases.chunks(ROWS_PER_STATEMENT) {
            let mut sql = BoundSql::for_connection(conn);
            let values = values_rows(&mut sql, chunk, |p| p);
            sql.push(&format!(
                "INSERT INTO balances (key_id, point_system_id, available, pending_in, confirmed) \
                 VALUES {values} \
                 ON CONFLICT (key_id, point_system_id) DO UPDATE SET \
                   available = balances.available + excluded.available, \
                   pending_in = balances.pending_in + excluded.pending_in, \
                   confirmed = balances.confirmed + excluded.confirmed"
            ));
            check_all_changed(execute(conn, &mut sql).await?, chunk.len())?;
        }
        Ok(())
    }
}

/// The VALUES rows of `rows` (key, point system and the three deltas), bound in `sql`;
/// each placeholder written as `cell` makes it.
fn values_rows(
    sql: &mut BoundSql,
    rows: &[((i64, i64), [i64; 3])],
    cell: impl Fn(String) -> String,
) -> String {
    rows.iter()
        .map(
            |((key_id, point_system_id), [available, pending_in, confirmed])| {
                let cells = [
                    *key_id,
                    *point_system_id,
                    *available,
                    *pending_in,
                    *confirmed,
                ]
                .into_iter()
                .map(|value| cell(sql.bind(value)))
                .collect::<Vec<_>>()
                .join(", ");
                format!("({cells})")
            },
        )
        .collect::<Vec<_>>()
        .join(", ")
}

async fn execute(conn: &mut AnyConnection, sql: &mut BoundSql) -> Result<u64, sqlx::Error> {
    // The text changes with the number of rows: not worth a prepared-statement cache slot.
    Ok(sql
        .query()
        .persistent(false)
        .execute(&mut *conn)
        .await?
        .rows_affected())
}

fn check_all_changed(changed: u64, rows: usize) -> Result<(), sqlx::Error> {
    if changed != rows as u64 {
        return Err(sqlx::Error::RowNotFound);
    }
    Ok(())
}

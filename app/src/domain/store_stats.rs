//! What a store's overview counts: points issued, redeemed and outstanding, in total and
//! per day.
//!
//! What counts: only **confirmed** operations of the store's point system (queued or
//! broadcast ones may still fail or be reorganised away), and only by their kind, as the
//! names say:
//! - "issued": awards, and crediting adjustments (from the treasury to a customer);
//! - "redeemed": redemptions, and debiting adjustments (from a customer into the treasury).
//!
//! Adjustments count on both sides because they are the store correcting what it gave a
//! customer (a mistaken award taken back, a goodwill credit): leaving them out would make
//! "outstanding" drift from what the store's own operations put in customers' hands.
//! Everything else changes neither figure, even when it touches the treasury: a secondary
//! issue (new supply into the treasury, not points given back), a deposit from outside, a
//! customer's transfer to the treasury's address, transfers between customers, withdrawals.
//! "Outstanding" is issued minus redeemed since the start: what the store has given out and
//! not taken back.
//! A day is a UTC calendar day of the operation's creation (when the store gave or took the
//! points), so a day's figures do not move when a block arrives late.

use std::collections::BTreeMap;

use sqlx::Row;

use crate::{domain::db::Database, errors::AppError};

pub const SECONDS_PER_DAY: i64 = 86_400;

/// One UTC day's figures.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Day {
    /// Days since 1970-01-01.
    pub day: i64,
    pub issued: u64,
    pub redeemed: u64,
    /// Held by customers at the end of the day.
    pub outstanding: u64,
}

/// Totals since the start.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    pub issued: u64,
    pub redeemed: u64,
    pub outstanding: u64,
    pub customers: u64,
}

/// Confirmed issued and redeemed points per day with any movement, since the start.
async fn sums_per_day(db: &Database, store_id: i64) -> Result<BTreeMap<i64, (u64, u64)>, AppError> {
    // CAST: PostgreSQL's SUM of BIGINT is NUMERIC, which the Any driver does not decode.
    let rows = sqlx::query(
        "SELECT o.created_at / 86400, \
           CAST(SUM(CASE WHEN o.kind IN ('award', 'adjust') AND o.from_key_id = p.treasury_key_id \
                         THEN o.amount ELSE 0 END) AS BIGINT), \
           CAST(SUM(CASE WHEN o.kind IN ('redeem', 'adjust') AND o.to_key_id = p.treasury_key_id \
                         THEN o.amount ELSE 0 END) AS BIGINT) \
         FROM operations o JOIN point_systems p ON p.id = o.point_system_id \
         WHERE p.store_id = $1 AND o.state = 'confirmed' \
         GROUP BY o.created_at / 86400",
    )
    .bind(store_id)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get::<i64, _>(0)?,
                (
                    r.try_get::<i64, _>(1)? as u64,
                    r.try_get::<i64, _>(2)? as u64,
                ),
            ))
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(AppError::from)
}

/// The `days` days up to and including `today` (days since the epoch), oldest first, every
/// day present (zeros on quiet days), with outstanding carried over from before the range.
pub fn series(sums: &BTreeMap<i64, (u64, u64)>, today: i64, days: i64) -> Vec<Day> {
    let first = today - days + 1;
    let mut outstanding: u64 = sums
        .range(..first)
        .map(|(_, (i, r))| *i as i128 - *r as i128)
        .sum::<i128>()
        .max(0) as u64;
    (first..=today)
        .map(|day| {
            let (issued, redeemed) = sums.get(&day).copied().unwrap_or_default();
            outstanding = (outstanding as i128 + issued as i128 - redeemed as i128).max(0) as u64;
            Day {
                day,
                issued,
                redeemed,
                outstanding,
            }
        })
        .collect()
}

/// The last `days` UTC days of the store (ending today) and its totals.
#[tracing::instrument(skip(db))]
pub async fn overview(
    db: &Database,
    store_id: i64,
    now: i64,
    days: i64,
) -> Result<(Totals, Vec<Day>), AppError> {
    let sums = sums_per_day(db, store_id).await?;
    let issued: u64 = sums.values().map(|(i, _)| i).sum();
    let redeemed: u64 = sums.values().map(|(_, r)| r).sum();
    let customers: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM store_customers WHERE store_id = $1")
            .bind(store_id)
            .fetch_one(db.pool())
            .await?;
    let totals = Totals {
        issued,
        redeemed,
        outstanding: issued.saturating_sub(redeemed),
        customers: customers as u64,
    };
    Ok((totals, series(&sums, now.div_euclid(SECONDS_PER_DAY), days)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_day_is_present_and_outstanding_carries_over() {
        let sums = BTreeMap::from([(5, (100, 0)), (9, (20, 30)), (10, (0, 10))]);
        let days = series(&sums, 10, 3);
        assert_eq!(
            days,
            vec![
                Day {
                    day: 8,
                    issued: 0,
                    redeemed: 0,
                    outstanding: 100
                },
                Day {
                    day: 9,
                    issued: 20,
                    redeemed: 30,
                    outstanding: 90
                },
                Day {
                    day: 10,
                    issued: 0,
                    redeemed: 10,
                    outstanding: 80
                },
            ]
        );
        assert_eq!(
            series(&BTreeMap::new(), 10, 2)
                .iter()
                .map(|d| d.outstanding)
                .sum::<u64>(),
            0
        );
    }
}

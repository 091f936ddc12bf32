//! A store's policies: how deep its transactions must be before they count, how long the
//! worker collects its queued operations into one transaction, and how many points an
//! order earns by default.
//!
//! Each input is parsed into a bounded type once, at the edge; the rest of the code (the
//! worker, the pages) only sees values that are already valid. `None` for confirmations or
//! batch window means "the platform's setting", so a store that never chose follows it.

use std::collections::HashMap;

use sqlx::Row;

use crate::{domain::db::Database, errors::AppError};

/// Blocks on top of and including the one holding a store's transaction: 1 to 1000.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Confirmations(u64);

impl Confirmations {
    pub const MAX: u64 = 1000;

    /// Empty text keeps the platform's setting (`None`).
    pub fn parse(text: &str) -> Result<Option<Self>, AppError> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(None);
        }
        match text.parse::<u64>() {
            Ok(n) if (1..=Self::MAX).contains(&n) => Ok(Some(Self(n))),
            _ => Err(AppError::InvalidConfirmations),
        }
    }

    pub fn get(self) -> u64 {
        self.0
    }
}

/// How long a store's first queued operation waits for others before they are batched,
/// in milliseconds: 0 to 60 000.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct BatchWindow(u64);

impl BatchWindow {
    pub const MAX_MS: u64 = 60_000;

    /// Empty text keeps the platform's setting (`None`).
    pub fn parse(text: &str) -> Result<Option<Self>, AppError> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(None);
        }
        match text.parse::<u64>() {
            Ok(ms) if ms <= Self::MAX_MS => Ok(Some(Self(ms))),
            _ => Err(AppError::InvalidBatchWindow),
        }
    }

    pub fn millis(self) -> u64 {
        self.0
    }
}

/// Points per currency unit, kept exactly in thousandths (`1.5` is 1500): more than 0,
/// at most 1 000 000, at most three decimal places.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct EarnRate(u64);

impl EarnRate {
    pub const MAX_MILLI: u64 = 1_000_000_000;
    /// One point per currency unit.
    pub const DEFAULT: EarnRate = EarnRate(1000);

    pub fn parse(text: &str) -> Result<Self, AppError> {
        let milli = parse_decimal(text, 3).ok_or(AppError::InvalidEarnRate)?;
        if milli == 0 || milli > Self::MAX_MILLI {
            return Err(AppError::InvalidEarnRate);
        }
        Ok(Self(milli))
    }

    /// From the stored column; a value outside the bounds is a broken database.
    pub fn from_milli(milli: u64) -> Result<Self, AppError> {
        if milli == 0 || milli > Self::MAX_MILLI {
            tracing::error!(milli, "stored earn rate out of bounds");
            return Err(AppError::Internal);
        }
        Ok(Self(milli))
    }

    pub fn milli(self) -> u64 {
        self.0
    }

    /// Whole points an order of `total` earns, rounded down (a customer never gets a
    /// fraction of a point the store did not promise).
    pub fn points_for(self, total: OrderTotal) -> u64 {
        let points = u128::from(total.0) * u128::from(self.0) / 100_000;
        u64::try_from(points).unwrap_or(u64::MAX)
    }
}

impl std::fmt::Display for EarnRate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (whole, fraction) = (self.0 / 1000, self.0 % 1000);
        if fraction == 0 {
            write!(f, "{whole}")
        } else {
            let digits = format!("{fraction:03}");
            write!(f, "{whole}.{}", digits.trim_end_matches('0'))
        }
    }
}

/// An order's total in hundredths of the currency unit (`12.50` is 1250), more than 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrderTotal(u64);

impl OrderTotal {
    pub fn parse(text: &str) -> Result<Self, AppError> {
        match parse_decimal(text, 2) {
            Some(cents) if cents > 0 && cents <= 1_000_000_000_000 => Ok(Self(cents)),
            _ => Err(AppError::InvalidOrderTotal),
        }
    }
}

/// `text` as an integer count of 10^-`places` units: digits, an optional point (or comma)
/// and at most `places` decimals. No sign, no exponent.
fn parse_decimal(text: &str, places: u32) -> Option<u64> {
    let text = text.trim();
    let (whole, fraction) = match text.split_once(['.', ',']) {
        Some((w, f)) => (w, f),
        None => (text, ""),
    };
    let digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    if (whole.is_empty() && fraction.is_empty())
        || !digits(whole)
        || !digits(fraction)
        || fraction.len() > places as usize
        || whole.len() > 15
    {
        return None;
    }
    let whole: u64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let fraction: u64 = if fraction.is_empty() {
        0
    } else {
        fraction.parse::<u64>().ok()? * 10u64.pow(places - fraction.len() as u32)
    };
    whole.checked_mul(10u64.pow(places))?.checked_add(fraction)
}

/// A store's settings as stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoreSettings {
    pub required_confirmations: Option<Confirmations>,
    pub batch_window: Option<BatchWindow>,
    pub earn_rate: EarnRate,
}

/// The platform's settings, which stores without their own follow. The server provides
/// them to every request (from the worker settings).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlatformPolicy {
    pub required_confirmations: u64,
    pub batch_window_ms: u64,
}

impl PlatformPolicy {
    /// The policy of the current request.
    pub fn current() -> Result<Self, AppError> {
        leptos::prelude::use_context::<Self>().ok_or_else(|| {
            tracing::error!("PlatformPolicy was not provided to this request");
            AppError::Internal
        })
    }
}

impl StoreSettings {
    /// Confirmations this store's operations need: its own or the platform's.
    pub fn confirmations_needed(&self, platform: PlatformPolicy) -> u64 {
        self.required_confirmations
            .map_or(platform.required_confirmations, Confirmations::get)
    }
}

/// A store's settings.
#[tracing::instrument(skip(db))]
pub async fn load(db: &Database, store_id: i64) -> Result<StoreSettings, AppError> {
    let row = sqlx::query(
        "SELECT required_confirmations, batch_window_ms, earn_rate_milli FROM stores WHERE id = $1",
    )
    .bind(store_id)
    .fetch_optional(db.pool())
    .await?
    .ok_or(AppError::NotFound)?;
    let confirmations: Option<i64> = row.try_get(0)?;
    let window: Option<i64> = row.try_get(1)?;
    let earn: i64 = row.try_get(2)?;
    Ok(StoreSettings {
        // The CHECK constraints keep these in bounds.
        required_confirmations: confirmations.map(|n| Confirmations(n as u64)),
        batch_window: window.map(|ms| BatchWindow(ms as u64)),
        earn_rate: EarnRate::from_milli(earn as u64)?,
    })
}

/// Replaces a store's settings.
#[tracing::instrument(skip(db))]
pub async fn save(db: &Database, store_id: i64, settings: &StoreSettings) -> Result<(), AppError> {
    let mut tx = db.begin_write().await?;
    sqlx::query(
        "UPDATE stores SET required_confirmations = $1, batch_window_ms = $2, earn_rate_milli = $3 WHERE id = $4",
    )
    .bind(settings.required_confirmations.map(|c| c.get() as i64))
    .bind(settings.batch_window.map(|w| w.millis() as i64))
    .bind(settings.earn_rate.milli() as i64)
    .bind(store_id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Point systems whose store chose its own confirmation depth, with that depth (the worker
/// asks once per round; every other point system follows the platform).
pub async fn confirmation_overrides(db: &Database) -> Result<HashMap<i64, u64>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT p.id, s.required_confirmations FROM point_systems p JOIN stores s ON s.id = p.store_id \
         WHERE s.required_confirmations IS NOT NULL",
    )
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get::<i64, _>(0)?, r.try_get::<i64, _>(1)? as u64)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confirmations_are_bounded_and_empty_means_platform() {
        assert_eq!(Confirmations::parse(" "), Ok(None));
        assert_eq!(Confirmations::parse("6").unwrap().unwrap().get(), 6);
        assert_eq!(Confirmations::parse("1000").unwrap().unwrap().get(), 1000);
        for bad in ["0", "1001", "-1", "2.5", "x"] {
            assert_eq!(
                Confirmations::parse(bad),
                Err(AppError::InvalidConfirmations),
                "{bad}"
            );
        }
    }

    #[test]
    fn batch_windows_are_bounded() {
        assert_eq!(BatchWindow::parse(""), Ok(None));
        assert_eq!(BatchWindow::parse("0").unwrap().unwrap().millis(), 0);
        assert_eq!(
            BatchWindow::parse("60000").unwrap().unwrap().millis(),
            60_000
        );
        for bad in ["60001", "-5", "1e3", "ms"] {
            assert_eq!(
                BatchWindow::parse(bad),
                Err(AppError::InvalidBatchWindow),
                "{bad}"
            );
        }
    }

    #[test]
    fn earn_rates_are_exact_decimals() {
        assert_eq!(EarnRate::parse("1.5").unwrap().milli(), 1500);
        assert_eq!(EarnRate::parse("0,25").unwrap().milli(), 250);
        assert_eq!(EarnRate::parse(".001").unwrap().milli(), 1);
        assert_eq!(EarnRate::parse("10").unwrap().to_string(), "10");
        assert_eq!(EarnRate::parse("2.50").unwrap().to_string(), "2.5");
        assert_eq!(EarnRate::parse("0.125").unwrap().to_string(), "0.125");
        for bad in [
            "0",
            "0.000",
            "0.0001",
            "-1",
            "1e2",
            "",
            "1000000.001",
            "abc",
            "1.2.3",
        ] {
            assert_eq!(
                EarnRate::parse(bad),
                Err(AppError::InvalidEarnRate),
                "{bad}"
            );
        }
    }

    #[test]
    fn orders_earn_whole_points_rounded_down() {
        let rate = EarnRate::parse("1.5").unwrap();
        assert_eq!(rate.points_for(OrderTotal::parse("12.50").unwrap()), 18);
        assert_eq!(rate.points_for(OrderTotal::parse("10").unwrap()), 15);
        assert_eq!(
            EarnRate::DEFAULT.points_for(OrderTotal::parse("0.99").unwrap()),
            0
        );
        assert_eq!(OrderTotal::parse("0"), Err(AppError::InvalidOrderTotal));
        assert_eq!(OrderTotal::parse("1.234"), Err(AppError::InvalidOrderTotal));
    }
}

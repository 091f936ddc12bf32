//! End-to-end settlement: awards fired over HTTP, followed in the database until the
//! worker has confirmed every one on the development chain; and the machine's raw
//! secp256k1 signing rate for comparison.

use std::time::{Duration, Instant};

use anyhow::bail;
use app::domain::db::Database;
use sha2::{Digest, Sha256};

use crate::{load, setup::Fixture};

#[derive(Clone, Debug, Default)]
pub struct Settlement {
    pub operations: usize,
    pub submit: load::LoadResult,
    /// From the first call until the last operation was confirmed.
    pub confirmed_after: Option<Duration>,
    pub confirmed: usize,
    /// From the first call until no operation of the batch was queued (all signed).
    pub signed_after: Option<Duration>,
    /// From the first signed operation to the last one.
    pub signing_window: Option<Duration>,
    pub transactions: i64,
    pub blocks: i64,
}

impl Settlement {
    pub fn confirmed_per_second(&self) -> Option<f64> {
        self.confirmed_after
            .map(|d| self.operations as f64 / d.as_secs_f64())
    }

    pub fn signed_per_second(&self) -> Option<f64> {
        self.signing_window
            .filter(|d| !d.is_zero())
            .map(|d| self.operations as f64 / d.as_secs_f64())
    }
}

/// Waits until the server's background work is done: the worker has settled every
/// operation (none queued, signed or broadcast) and the outbox holds no unsent mail. So
/// each measurement starts on a quiet server: the worker's broadcasts, confirmations and
/// webhook fan-out of the previous measurement's operations, or the welcome mails of the
/// set-up's customers (two writes each), would otherwise run into it, on either side.
pub async fn wait_settled(db: &Database) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let open: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM operations WHERE state IN ('queued', 'signed', 'broadcast')",
        )
        .fetch_one(db.pool())
        .await?;
        let unsent: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM mail_outbox WHERE sent_at IS NULL")
                .fetch_one(db.pool())
                .await?;
        if open == 0 && unsent == 0 {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("{open} operations still open and {unsent} mails unsent after 300 s");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

pub async fn settlement(
    db: &Database,
    client: &reqwest::Client,
    base: &str,
    fixture: &Fixture,
    operations: usize,
    concurrency: usize,
) -> anyhow::Result<Settlement> {
    let after: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM operations")
        .fetch_one(db.pool())
        .await?;
    let start = Instant::now();
    let firing = tokio::spawn(load::awards(
        client.clone(),
        base.to_owned(),
        fixture.api_key.clone(),
        fixture.customers.clone(),
        operations,
        concurrency,
    ));
    let mut out = Settlement {
        operations,
        ..Default::default()
    };
    let mut first_signed: Option<Duration> = None;
    let deadline = start + Duration::from_secs(600);
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT state, COUNT(*) FROM operations WHERE id > $1 GROUP BY state")
                .bind(after)
                .fetch_all(db.pool())
                .await?;
        let count = |s: &str| rows.iter().find(|r| r.0 == s).map_or(0, |r| r.1);
        let total: i64 = rows.iter().map(|r| r.1).sum();
        let queued = count("queued");
        let confirmed = count("confirmed");
        let now = start.elapsed();
        if first_signed.is_none() && total > queued {
            first_signed = Some(now);
        }
        if out.signed_after.is_none() && total == operations as i64 && queued == 0 {
            out.signed_after = Some(now);
            out.signing_window = first_signed.map(|f| now.saturating_sub(f));
        }
        out.confirmed = confirmed as usize;
        if confirmed == operations as i64 {
            out.confirmed_after = Some(now);
            break;
        }
        if Instant::now() > deadline {
            eprintln!(
                "   settlement: gave up after 600 s with {confirmed} of {operations} confirmed"
            );
            break;
        }
    }
    out.submit = firing.await?;
    let (transactions, blocks): (i64, i64) = sqlx::query_as(
        "SELECT COUNT(DISTINCT o.chain_tx_id), COUNT(DISTINCT c.height) \
         FROM operations o JOIN chain_txs c ON c.id = o.chain_tx_id WHERE o.id > $1",
    )
    .bind(after)
    .fetch_one(db.pool())
    .await?;
    out.transactions = transactions;
    out.blocks = blocks;
    Ok(out)
}

/// ECDSA signatures per second on one core: `mvs`'s signing of a 32-byte digest.
pub fn raw_sign_rate(budget: Duration) -> f64 {
    let key = mvs::keys::PrivateKey::generate(mvs::Network::Testnet);
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < budget {
        let digest: [u8; 32] = Sha256::digest(n.to_le_bytes()).into();
        std::hint::black_box(key.sign_digest(&digest));
        n += 1;
    }
    n as f64 / start.elapsed().as_secs_f64()
}

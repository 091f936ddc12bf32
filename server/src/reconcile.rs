//! Reconciliation: every custodial address's confirmed balance in the ledger, against
//! what the chain shows for it.

use std::fmt;

use anyhow::Context;
use app::domain::db::Database;
use sqlx::Row;

/// One address and point system whose figures disagree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Difference {
    pub address: String,
    pub symbol: String,
    pub ledger_confirmed: u64,
    pub chain_confirmed: u64,
    /// Operations of this address are still in flight: the difference may be settling
    /// (the chain counts a block at once, the ledger waits for the required depth).
    pub settling: bool,
}

/// The outcome of one reconciliation run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub checked: usize,
    pub differences: Vec<Difference>,
}

impl Report {
    /// Differences that no in-flight operation explains.
    pub fn mismatches(&self) -> impl Iterator<Item = &Difference> {
        self.differences.iter().filter(|d| !d.settling)
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} balances checked, {} differ",
            self.checked,
            self.differences.len()
        )?;
        for d in &self.differences {
            writeln!(
                f,
                "  {} {}: ledger {} chain {}{}",
                d.address,
                d.symbol,
                d.ledger_confirmed,
                d.chain_confirmed,
                if d.settling {
                    " (operations in flight)"
                } else {
                    " MISMATCH"
                }
            )?;
        }
        Ok(())
    }
}

/// Compares every balance of every issued point system with the chain.
#[tracing::instrument(skip_all)]
pub async fn reconcile(db: &Database, chain: &mvs::rpc::Client) -> anyhow::Result<Report> {
    let rows = sqlx::query(
        "SELECT k.address, p.symbol, b.confirmed, \
           (SELECT COUNT(*) FROM operations o WHERE o.point_system_id = b.point_system_id \
              AND o.state IN ('queued', 'signed', 'broadcast') \
              AND (o.from_key_id = b.key_id OR o.to_key_id = b.key_id)) \
         FROM balances b JOIN custody_keys k ON k.id = b.key_id JOIN point_systems p ON p.id = b.point_system_id \
         WHERE p.status = 'confirmed' ORDER BY p.symbol, k.address",
    )
    .fetch_all(db.pool())
    .await?;
    let mut report = Report::default();
    for row in rows {
        let address: String = row.try_get(0)?;
        let symbol: String = row.try_get(1)?;
        let ledger_confirmed = row.try_get::<i64, _>(2)? as u64;
        let in_flight: i64 = row.try_get(3)?;
        let chain_confirmed: u64 = chain
            .get_address_asset(&address, Some(&symbol))
            .await
            .with_context(|| format!("asking the node for {address}"))?
            .iter()
            .map(|b| b.confirmed)
            .sum();
        report.checked += 1;
        if chain_confirmed != ledger_confirmed {
            report.differences.push(Difference {
                address,
                symbol,
                ledger_confirmed,
                chain_confirmed,
                settling: in_flight > 0,
            });
        }
    }
    Ok(report)
}

/// `pointmint reconcile`: prints the report; exits non-zero on a mismatch.
pub async fn run(args: crate::cli::ReconcileArgs) -> anyhow::Result<()> {
    let url = crate::config::database_url(&args.database);
    let db = Database::connect(&url, 2)
        .await
        .context("connecting to the database")?;
    let chain = mvs::rpc::Client::new(&args.mvs_rpc_url, std::time::Duration::from_secs(10));
    let report = reconcile(&db, &chain).await?;
    print!("{report}");
    let mismatches = report.mismatches().count();
    if mismatches > 0 {
        anyhow::bail!("{mismatches} balances disagree with the chain");
    }
    Ok(())
}

//! A store's overview: totals, points issued, redeemed and outstanding per day over the last
//! 30 days, and the platform fee wallet's state. Any member of the store may read it.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::{
    errors::AppError,
    models::{OperatorView, StoreSummary},
};

#[cfg(feature = "ssr")]
use crate::{
    domain::{clock, context::ServerContext, fee_wallet, membership::require_member, store_stats},
    models::Role,
    server_fns::{auth, respond::answer},
};

/// Days the charts cover, ending today (UTC).
pub const CHART_DAYS: i64 = 30;

/// One UTC day of the charts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayView {
    /// Days since 1970-01-01.
    pub day: i64,
    pub issued: u64,
    pub redeemed: u64,
    pub outstanding: u64,
}

/// What the fee wallet panel shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FeeWalletPanel {
    /// The node answered.
    Known {
        address: String,
        /// In ETP, with eight decimals.
        balance_etp: String,
        outputs: usize,
        low: bool,
        /// The threshold below which the wallet counts as low, in ETP.
        low_below_etp: String,
    },
    /// The wallet has not been created yet (no database at start).
    Missing,
    /// The chain node did not answer in time.
    NodeUnreachable,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreOverviewView {
    pub me: OperatorView,
    pub store: StoreSummary,
    /// The point system's symbol, if the store has one.
    pub symbol: Option<String>,
    pub issued: u64,
    pub redeemed: u64,
    pub outstanding: u64,
    pub customers: u64,
    /// The last [`CHART_DAYS`] days, oldest first.
    pub days: Vec<DayView>,
    pub fee_wallet: FeeWalletPanel,
}

/// Satoshi as ETP with eight decimals.
#[cfg(feature = "ssr")]
fn etp(satoshi: u64) -> String {
    let coin = mvs::consensus::COIN;
    format!("{}.{:08}", satoshi / coin, satoshi % coin)
}

/// The fee wallet panel: never fails the page (an unreachable node is shown as such).
#[cfg(feature = "ssr")]
async fn fee_wallet_panel(ctx: &ServerContext) -> Result<FeeWalletPanel, AppError> {
    let Some((_, address)) = fee_wallet::find(&ctx.db).await? else {
        return Ok(FeeWalletPanel::Missing);
    };
    let Some(chain) = use_context::<mvs::rpc::Client>() else {
        return Ok(FeeWalletPanel::NodeUnreachable);
    };
    let status = tokio::time::timeout(
        crate::server_fns::points::CHAIN_WAIT,
        fee_wallet::status(&chain, &address),
    )
    .await;
    Ok(match status {
        Ok(Ok(s)) => FeeWalletPanel::Known {
            address: s.address,
            balance_etp: etp(s.balance),
            outputs: s.outputs,
            low: s.low,
            low_below_etp: etp(fee_wallet::LOW_BALANCE),
        },
        Ok(Err(error)) => {
            tracing::warn!(%error, "fee wallet status unavailable");
            FeeWalletPanel::NodeUnreachable
        }
        Err(_) => {
            tracing::warn!("fee wallet status: the node did not answer in time");
            FeeWalletPanel::NodeUnreachable
        }
    })
}

/// The store's overview.
#[server(prefix = "/fn", endpoint = "store_overview")]
pub async fn store_overview(store_id: i64) -> Result<StoreOverviewView, AppError> {
    answer(
        async {
            let ctx = ServerContext::get()?;
            let operator = auth::require_operator(&ctx).await?;
            let store = require_member(&ctx.db, operator.id, store_id, Role::Staff).await?;
            let (totals, days) =
                store_stats::overview(&ctx.db, store.id, clock::now(), CHART_DAYS).await?;
            let symbol: Option<String> =
                sqlx::query_scalar("SELECT symbol FROM point_systems WHERE store_id = $1")
                    .bind(store.id)
                    .fetch_optional(ctx.db.pool())
                    .await?;
            Ok(StoreOverviewView {
                me: OperatorView {
                    id: operator.id,
                    email: operator.email.to_string(),
                },
                store,
                symbol,
                issued: totals.issued,
                redeemed: totals.redeemed,
                outstanding: totals.outstanding,
                customers: totals.customers,
                days: days
                    .into_iter()
                    .map(|d| DayView {
                        day: d.day,
                        issued: d.issued,
                        redeemed: d.redeemed,
                        outstanding: d.outstanding,
                    })
                    .collect(),
                fee_wallet: fee_wallet_panel(&ctx).await?,
            })
        }
        .await,
    )
}
